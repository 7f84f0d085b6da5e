"""The paper's theorems, as numbers: their closed-form predictions and scaling laws (docs/model.md section 2).

Not the mean-field flow: that is :mod:`fastnoise.meanfield` (``fastnoise meanfield``, formerly
``fastnoise theory``). Here are the theorems' own predictions, which the checks compare runs with.

This module stands alone: it imports only numpy and never the engine or the kernels, so that a
check compares two independent computations. Constants marked *mean-field* are our derivations
(documented below), not the paper's; the theorems themselves give only orders of magnitude, and
the checks assert the theorems' exponents, reporting the constants.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

#: Loss constants of Theorem 2: m is the jump of L' at 0 (hinge) or L''(0) (cross-entropy);
#: M = sup L'. For the hinge loss max(0, -z) and the logistic loss log(1 + e^-z).
LOSS_M = {"hinge": 1.0, "logistic": 0.25}
LOSS_SUP = {"hinge": 1.0, "logistic": 1.0}

#: Theorem 2's exponents. Hinge: plateau ~ d*h, time ~ |V0|/h. Cross-entropy: plateau ~ d*sqrt(h),
#: time bound ~ |V0| / (m d h^(3/2)).
HINGE_PLATEAU_EXPONENT_H = 1.0
HINGE_PLATEAU_EXPONENT_D = 1.0
HINGE_TIME_EXPONENT_H = -1.0
HINGE_TIME_EXPONENT_V0 = 1.0
LOGISTIC_PLATEAU_EXPONENT_H = 0.5


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0), elementwise."""
    return np.maximum(z, 0.0)


# --------------------------------------------------------------------------- Theorem 1


def step_norm_change(h: float, y: float, inner: float, grad_sq: float) -> float:
    """||W + h*y*G||^2 - ||W||^2 = 2*h*y*<W, G> + h^2 * ||G||^2 (any layer W, gradient G)."""
    return 2.0 * h * y * inner + h * h * grad_sq


def critical_lr(y: float, inner: float, grad_sq: float) -> float:
    """h0 = -2*y*<W, G> / ||G||^2: the layer's norm decreases for 0 < h < h0 (inf if G = 0).

    Positive only when y*<W, G> < 0; for a positively homogeneous network <W, G> = N(x), so on a
    misclassified sample every layer has h0 > 0 (Theorem 1).
    """
    if grad_sq == 0.0:
        return math.inf
    return -2.0 * y * inner / grad_sq


def neuron_expansion(V: np.ndarray, x: np.ndarray, y: float, h: float) -> float:
    """The neuron's hinge step on a misclassified sample: 2*h*y*V.x + h^2*||x||^2 (the slides)."""
    return step_norm_change(h, y, float(V @ x), float(x @ x))


def twolayer_expansion(M: np.ndarray, V: np.ndarray, x: np.ndarray, y: float, h: float) -> tuple[float, float]:
    """The slides' expansion for N(x) = V.ReLU(M x), hinge step on a misclassified sample.

    Returns (change of ||M||_F^2, change of ||V||^2):
    ``2*h*y*V.ReLU(Mx) + h^2 * sum_{i fires} v_i^2 * ||x||^2`` and
    ``2*h*y*V.ReLU(Mx) + h^2 * ||ReLU(Mx)||^2`` (a unit fires when M_i.x >= 0).
    """
    pre = M @ x
    a = relu(pre)
    n = float(V @ a)
    fires = pre >= 0
    dM = step_norm_change(h, y, n, float(np.sum(V[fires] ** 2) * (x @ x)))
    dV = step_norm_change(h, y, n, float(a @ a))
    return dM, dV


def hidden_first_order_with_output_bias(n_out: float, b2: float, y: float, h: float) -> float:
    """With an output bias B2, the hidden layer's first-order term is 2*h*y*(N(x) - B2).

    It can be positive on a misclassified sample (y*N(x) < 0): the theorem's homogeneity fails.
    """
    return 2.0 * h * y * (n_out - b2)


# --------------------------------------------------------------------------- Theorem 2


def neuron_plateau_bound(d: int, h: float, loss: str) -> float:
    """Theorem 2's plateau order: d*h*max(M^2/m, 1) (hinge) or d*sqrt(h)*max(M^2/m, 1) (cross-entropy)."""
    c = max(LOSS_SUP[loss] ** 2 / LOSS_M[loss], 1.0)
    return d * h * c if loss == "hinge" else d * math.sqrt(h) * c


def neuron_time_bound(v0: float, d: int, h: float, loss: str) -> float:
    """Theorem 2's time order: |V0|/(m*h) (hinge) or |V0|/(m*d*h^(3/2)) (cross-entropy)."""
    m = LOSS_M[loss]
    return v0 / (m * h) if loss == "hinge" else v0 / (m * d * h**1.5)


def neuron_hinge_plateau(d: int, h: float) -> float:
    """Mean-field plateau of the hinge neuron under pure noise, x ~ N(0, I_d), no bias.

    A step updates with probability 1/2 and then y*V.x = -|V.x|, so
    E[d||V||^2] = -h*E|V.x| + h^2*d/2 = -h*||V||*sqrt(2/pi) + h^2*d/2, zero at
    ||V|| = sqrt(pi/8) * d * h  (our derivation; the theorem gives O(d*h)).
    """
    return math.sqrt(math.pi / 8.0) * d * h


def neuron_hinge_time(v0: float, h: float) -> float:
    """Mean-field time for the hinge neuron's norm to fall from v0 to ~0.

    Far above the plateau d||V||/dt = -h/sqrt(2*pi) (from the drift above): a linear descent
    taking sqrt(2*pi)*v0/h steps (our derivation; the theorem gives O(|V0|/(m*h))).
    """
    return math.sqrt(2.0 * math.pi) * v0 / h


def neuron_logistic_plateau(d: int, h: float) -> float:
    """Mean-field plateau of the cross-entropy neuron under pure noise near V = 0.

    E_y[y*sigmoid(-y*z)] = -tanh(z/2)/2 ~ -z/4, so E[d||V||^2] ~ -h*||V||^2/2 + h^2*d/4, zero at
    ||V|| = sqrt(h*d/2): exponent 1/2 in h, as the theorem says (our derivation of the constant).
    """
    return math.sqrt(h * d / 2.0)


def neuron_batch_plateau(d: int, h: float, b: int, loss: str = "hinge") -> float:
    """Plateau of the single neuron under pure noise with minibatches of b samples (``--batch b``).

    x ~ N(0, I_d), no bias, y ~ U{-1, +1} independent of x; one step is
    V' = V + (h/b) * sum_i u_i, with u_i the single-sample update of sample i at V (§1.8 of
    docs/model.md). For b = 1 this is :func:`neuron_hinge_plateau` (hinge) and
    :func:`neuron_logistic_plateau` (cross-entropy).

    **Hinge** (u = y x when y V.x <= 0, else 0). Given V, let z = y V.x ~ N(0, |V|^2). Per sample:
    E[V.u] = E[z 1(z <= 0)] = -|V|/sqrt(2 pi); E|u|^2 = E[|x|^2 1(z <= 0)] = d/2 (the component of x
    along V gives 1/2, the d - 1 others (d - 1)/2, independent of z); E[u] = -(V/|V|)/sqrt(2 pi), so
    |E u|^2 = 1/(2 pi). The b samples are independent given V, so
    E|sum u_i|^2 = b d/2 + b (b - 1)/(2 pi), and

        E[|V'|^2 - |V|^2 | V] = -h sqrt(2/pi) |V| + h^2 (d/(2b) + (b - 1)/(2 pi b)).

    The drift is that of one sample (the mean of b updates has the mean of one); only the second
    moment changes: its noise part d/2 is divided by b, and the square of the batch's mean, which a
    single sample does not have, adds (1 - 1/b)/(2 pi). Averaging over the stationary law
    (E|V'|^2 = E|V|^2) gives the plateau exactly, for the stationary mean of |V| (the drift is
    linear in |V|, so no mean-field closure is needed; b = 1 recovers sqrt(pi/8) d h):

        E|V| = h sqrt(pi/2) (d/(2b) + (b - 1)/(2 pi b)) = sqrt(pi/8) d h / b + (1 - 1/b) h / sqrt(8 pi).

    So the hinge plateau scales like **1/b**, not 1/sqrt(b): the restoring drift is first order in
    |V| and the noise second order in h, so the level is (noise variance) / (drift coefficient),
    and the variance is what the batch divides. The second term flattens the law once b is of
    order pi d (local log-log slope -(A - B) / (A + B (b - 1)) with A = sqrt(pi/8) d h,
    B = h/sqrt(8 pi); -(1 - 1/(pi d)) at b = 1); as b -> infinity the plateau tends to
    h/sqrt(8 pi), full-batch descent's deterministic steps of length h/sqrt(2 pi) around 0.

    **Cross-entropy** (u = y sigma(-y V.x) x at every step). With s = V.x ~ N(0, |V|^2),
    E_y[y sigma(-y s)] = -tanh(s/2)/2 = -s/4 + s^3/48 - ... and
    E_y[sigma(-y s)^2] = 1/4 + tanh(s/2)^2/4 = 1/4 + s^2/16 - ..., so
    E[V.u] = -|V|^2/4 + |V|^4/16, E|u|^2 = d/4 + (d + 2)|V|^2/16 and |E u|^2 = |V|^2/16 + O(|V|^4):

        E[|V'|^2 - |V|^2 | V] = -h |V|^2/2 + h |V|^4/8 + h^2 d/(4b) + h^2 |V|^2 ((d + 2)/b + 1 - 1/b)/16.

    The drift is quadratic in |V|, so the plateau is the square root of (variance / drift
    coefficient): to leading order |V|^2 = h d/(2b), |V| = sqrt(h d/(2b)), exponent **-1/2** in b
    (mean-field: |V| concentrates in high d and is taken at the root of the mean drift). The next
    order gives |V|^2 = (h d/(2b)) (1 + h d/(4b) + O(h)), i.e. a relative correction of about
    h d/(8b) to the level, largest at b = 1, which steepens the measured slope slightly; the
    returned value is the leading order.

    Parameters
    ----------
    d : int
        Input dimension.
    h : float
        Learning rate.
    b : int
        Samples averaged per step (>= 1).
    loss : {"hinge", "logistic"}
        The neuron's loss.

    Returns
    -------
    float
        The predicted plateau of |V| (hinge: the exact stationary mean; cross-entropy: the
        small-h mean-field level).
    """
    if b < 1:
        raise ValueError(f"b must be >= 1, got {b}")
    if loss == "hinge":
        return h * math.sqrt(math.pi / 2.0) * (d / (2.0 * b) + (b - 1) / (2.0 * math.pi * b))
    if loss == "logistic":
        return math.sqrt(h * d / (2.0 * b))
    raise ValueError(f"loss must be hinge or logistic, got {loss!r}")


def deep_gradients(Ws: list[np.ndarray], x: np.ndarray, alpha: float) -> tuple[float, list[np.ndarray]]:
    """Plain reference: N(x) and dN/dW_l for a deep (leaky) ReLU net without bias.

    ``Ws[l]`` maps layer l to l+1; the last is a row vector. A unit's derivative at 0 is 1
    (it "fires" when its input is >= 0, as in the slides' two-layer rule).
    """
    acts = [x]
    zs = []
    a = x
    for W in Ws[:-1]:
        z = W @ a
        zs.append(z)
        a = np.where(z >= 0, z, alpha * z)
        acts.append(a)
    n = float(Ws[-1] @ a)
    grads: list[np.ndarray] = [np.zeros_like(W) for W in Ws]
    delta = np.ones(1)
    grads[-1] = np.outer(delta, acts[-1]).reshape(Ws[-1].shape)
    back = Ws[-1].reshape(1, -1).T @ delta
    for layer in range(len(Ws) - 2, -1, -1):
        back = back * np.where(zs[layer] >= 0, 1.0, alpha)
        grads[layer] = np.outer(back, acts[layer])
        back = Ws[layer].T @ back
    return n, grads


# --------------------------------------------------------------------------- The Boolean hypercube
#
# x in {-1, +1}^d with independent Rad(q) bits, P(x_i = +1) = q (docs/model.md, "The Boolean
# hypercube"); a character is chi_S(x) = prod_{i in S} x_i. Exact identities, and the Fourier
# coefficients of the targets on uniform inputs (q = 1/2), where the characters are orthonormal.


def rad_mean(q: float) -> float:
    """E[x_i] = 2q - 1 for a Rad(q) bit (P(x_i = +1) = q)."""
    return 2 * q - 1  # integer constants: exact with fractions.Fraction (the tests enumerate exactly)


def character_mean(q: float, k: int) -> float:
    """E[chi_S] = (2q - 1)^k for |S| = k independent Rad(q) bits (1 for the empty set)."""
    return rad_mean(q) ** k


def mixture_character_mean(q: float, k: int, mix: float, mix_bias: float) -> float:
    """E[chi_S], |S| = k, under the mixture: w.p. ``mix`` every bit Rad(``mix_bias``), else Rad(q).

    m (2 q_s - 1)^k + (1 - m) (2 q - 1)^k: the bits are independent given the component (not
    across it: the mixture correlates them, E[x_i x_j] != E[x_i] E[x_j] unless q_s = q or m in {0, 1}).
    """
    return mix * character_mean(mix_bias, k) + (1 - mix) * character_mean(q, k)


def character_correlation(q: float, S: set[int] | frozenset[int], T: set[int] | frozenset[int]) -> float:
    """E[chi_S chi_T] = (2q - 1)^|S xor T| under Rad(q) bits (x_i^2 = 1, so chi_S chi_T = chi_(S xor T)).

    On uniform inputs (q = 1/2) this is 1 if S = T and 0 otherwise: a parity on k >= 2 bits has
    E[y] = 0 and E[y x_j] = 0 for every bit j, and no correlation with any character of a
    proper subset of its support (no linear, nor any lower-order, signal). On biased inputs
    chi_S correlates with x_j (j in S) as (2q - 1)^(k-1).
    """
    return character_mean(q, len(set(S) ^ set(T)))


def majority_coefficient(k: int, j: int) -> float:
    """The Fourier coefficient of Maj_k = sign(x_1 + ... + x_k) on a set of j of its k bits (k odd), uniform inputs.

    O'Donnell, *Analysis of Boolean Functions*, Thm. 5.19: 0 for j even; for j odd
    (-1)^((j-1)/2) C((k-1)/2, (j-1)/2) / C(k-1, j-1) * 2^(1-k) C(k-1, (k-1)/2).
    Maj_3: 1/2 on each bit and -1/2 on all three.
    """
    if k % 2 == 0 or not 0 <= j <= k:
        raise ValueError(f"need k odd and 0 <= j <= k, got k={k}, j={j}")
    if j % 2 == 0:
        return 0.0
    h, i = (k - 1) // 2, (j - 1) // 2
    c = Fraction(math.comb(h, i), math.comb(k - 1, j - 1)) * Fraction(math.comb(k - 1, h), 2 ** (k - 1))
    return float((-1) ** i * c)  # a multiple of 2^-k: exact in floating point for k < 1000


def staircase_first_coefficient(k: int) -> float:
    """E[f(x) x_s1] on uniform inputs for the staircase f = sign(x_s1 + x_s1 x_s2 + ... + x_s1...x_sk), ties to x_s1.

    f = x_s1 g with g = sign(1 + z_2 + ... + z_k), ties to +1, where z_j = x_s2...x_sj are k - 1
    independent uniform signs; so the coefficient is E[g] = 1 - 2 P(Z <= -2) for Z a sum of k - 1
    uniform signs: 1, 1, 1/2, 3/4, 3/8, 5/8 for k = 1 ... 6, falling to 0 like 1/sqrt(k) (P(Z = 0)
    for k - 1 even, 2 P(Z = -1) for k - 1 odd).
    """
    if k < 1:
        raise ValueError(f"need k >= 1, got {k}")
    m = k - 1
    below = sum(math.comb(m, i) for i in range(m + 1) if 2 * i - m <= -2)  # i of the m signs are +1
    return 1.0 - below / 2.0 ** (m - 1)  # a multiple of 2^-(k-1): exact


def threshold_parity_correlation(k: int) -> float:
    """The largest |E[chi_S(x) f(x)]| over thresholds f = sign(sum_(i in S) x_i - t), uniform inputs, |S| = k.

    2 C(k-1, floor((k-1)/2)) / 2^k: 1 for k = 1, 1/2 for k = 2 and 3 (for k = 3, -Maj_3), 3/8 for
    k = 4 and 5. For k <= 4 it is the largest over *every* halfspace of {-1, +1}^d (tested by
    enumeration: a halfspace restricted to S, the other bits fixed, is a halfspace of S). So a
    single neuron *could* reach the error (1 - c)/2 on a parity (1/4 for k = 3); SGD does not find
    it: for k >= 2 the parity has no Fourier weight of degree <= 1 (:func:`character_correlation`),
    and the samples are not linearly separable, so the neuron's hinge loss E[max(0, -y w.x)] (convex,
    positively homogeneous, positive at every w != 0) has its only minimum at w = 0, where the weights
    hover (the check ``parity``).
    """
    if k < 1:
        raise ValueError(f"need k >= 1, got {k}")
    return math.comb(k - 1, (k - 1) // 2) / 2.0 ** (k - 1)  # exact
