"""The single neuron's exact one-step expectations under label noise, x ~ N(0, I_d): closed forms (hinge), quadrature (logistic).

The state enters through three order parameters: the overlap ``a = V_1`` with the target direction
e_1 (the clean label is sign(x_1)), the norm ``r`` of the weights' part orthogonal to e_1, and the
bias ``b`` (0 without one). With u = x_1, g = the input's coordinate along the orthogonal part,
z = a u + r g + b = N(x) and c = sign(u), one SGD step moves V by h y s x~, where s = 1{y z <= 0}
(hinge) or s = sigmoid(-y z) (logistic) and y = c with probability 1 - p/2, -c with probability
p/2 (docs/model.md 1.7). Everything a step does to the order parameters, in expectation, is then
one of five Gaussian integrals (:class:`Moments`):

- ``ys_u`` = E[y s u]: the drift of the overlap a;
- ``ys_wx`` = E[y s (a u + r g)]: half the first-order drift of the weights' squared norm;
- ``ys`` = E[y s]: the drift of the bias;
- ``s2_x`` = E[s^2 |x|^2] (x without the bias coordinate): the second-moment term of |V_w|^2;
- ``s2`` = E[s^2]: the second-moment term of b^2.

Hinge: exact closed forms. In the rotated coordinates zeta = (a u + r g)/n, eta (n = sqrt(a^2 + r^2)),
every integral is a moment of a standard bivariate normal over a quadrant {X > 0, Y > k}, given by
Owen's T function and Phi, phi (:func:`quadrant_moments`; E[s g^2] by Stein's identity, which keeps
it free of cancellation when r << n). Logistic: the integral over eta is closed (Phi, phi); the one
over zeta is a composite 8-point Gauss-Legendre rule on panels matched to the integrand's three
scales (1, 1/n for the sigmoid, r/|a| for the label's edge), split where the hinge integrand jumps;
:func:`quadrature_error` estimates its error by comparing with the rule on panels of half the width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._scipy import expit, ndtr, owens_t

__all__ = [
    "Moments",
    "clean_error",
    "closed_form",
    "hinge_moments",
    "logistic_moments",
    "moments",
    "quadrant_moments",
    "quadrature_error",
]

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))
#: Quadrature range in zeta: the standard normal density beyond 9 is below 1e-17.
_ZETA_MAX = 9.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_TINY = 1e-300


def _phi(x: np.ndarray | float) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / _SQRT_2PI


@dataclass(frozen=True)
class Moments:
    """The five one-step expectations of the neuron (see the module docstring), each per unit h or h^2 (floats or arrays)."""

    ys_u: Any
    ys_wx: Any
    ys: Any
    s2_x: Any
    s2: Any

    def as_array(self) -> np.ndarray:
        """The five values in the order of the fields (one row per field for arrays of states)."""
        return np.array([self.ys_u, self.ys_wx, self.ys, self.s2_x, self.s2], dtype=float)


def quadrant_moments(k: Any, rho: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Moments of a standard bivariate normal (X, Y), correlation rho, over the quadrant {X > 0, Y > k}.

    Parameters
    ----------
    k : float or ndarray
        The threshold of Y.
    rho : float or ndarray
        The correlation, in [-1, 1].

    Returns
    -------
    (P, E[X; Q], E[Y; Q], E[X^2; Q])
        With s = sqrt(1 - rho^2): P = Phi(-k)/2 + T(k, rho/s) (Owen's T);
        E[X; Q] = phi(0) Phi(-k/s) + rho phi(k) Phi(rho k/s);
        E[Y; Q] = phi(k) Phi(rho k/s) + rho phi(0) Phi(-k/s);
        E[X^2; Q] = P + rho^2 k phi(k) Phi(rho k/s) + rho s phi(k) phi(rho k/s)
        (integration by parts of the conditional law Y | X ~ N(rho X, s^2)).
    """
    k, rho = np.asarray(k, float), np.asarray(rho, float)
    s = np.maximum(np.sqrt(np.maximum(1.0 - rho * rho, 0.0)), 1e-15)
    P = 0.5 * ndtr(-k) + owens_t(k, rho / s)
    a0 = ndtr(-k / s)
    ak = ndtr(rho * k / s)
    pk = _phi(k)
    ex = a0 / _SQRT_2PI + rho * pk * ak
    ey = pk * ak + rho * a0 / _SQRT_2PI
    ex2 = P + rho * rho * k * pk * ak + rho * s * pk * _phi(rho * k / s)
    return P, ex, ey, ex2


def _geometry(a: Any, r: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N = |V_w| (kept positive), and the rotation's cos and sin (a/n, r/n)."""
    a, r = np.asarray(a, float), np.maximum(np.asarray(r, float), 0.0)
    n = np.maximum(np.hypot(a, r), _TINY)
    return n, a / n, r / n


def _label_weights(p: float) -> tuple[float, float]:
    """P(y = clean label) = 1 - p/2 and P(y = -clean label) = p/2."""
    return 1.0 - 0.5 * p, 0.5 * p


def hinge_moments(a: Any, r: Any, b: Any, p: float, d: int) -> Moments:
    """The hinge neuron's five one-step expectations, in closed form (elementwise over arrays of states).

    Parameters
    ----------
    a, r, b : float or ndarray
        Overlap with e_1, norm of the orthogonal part (>= 0), bias.
    p : float
        Label noise: the label is replaced by a uniform draw with probability p, so it is flipped
        with probability p/2 (pass twice the flip rate for other conventions; p in [0, 2]).
    d : int
        Input dimension (>= 2).

    Returns
    -------
    Moments
        Each a sum over the four regions (sign u, sign z) of :func:`quadrant_moments`, weighted by
        the label's law: with y = c the step happens where c z <= 0, with y = -c where c z >= 0
        (the boundary z = 0 has probability 0 for n > 0).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    n, rho0, _ = _geometry(a, r)
    rr = np.maximum(np.asarray(r, float), 0.0)
    kappa, eps = _label_weights(p)
    # Stein's identity: E[1{cu>0} 1{sigma z>0} (g^2 - 1)] = -sigma phi(b/n) (r/n^2) [b (r/n) Phi(c u0/t) + a c phi(u0/t)]
    arg = -a * b / (n * np.maximum(rr, _TINY))  # u0 / t, with u0 = -a b / n^2 and t = r / n
    pb = _phi(b / n)
    out = [np.zeros(np.broadcast(a, rr, b).shape) for _ in range(5)]
    for c in (1.0, -1.0):
        for sigma in (1.0, -1.0):
            P, ex, ey, ex2 = quadrant_moments(-sigma * b / n, c * sigma * rho0)
            eg2 = P - sigma * pb * (rr / n**2) * (b * (rr / n) * ndtr(c * arg) + a * c * _phi(arg))
            wy, ws = (c * kappa, kappa) if sigma == -c else (-c * eps, eps)
            for i, term in enumerate((wy * c * ex, wy * n * sigma * ey, wy * P, ws * (ex2 + eg2 + (d - 2) * P), ws * P)):
                out[i] = out[i] + term
    return Moments(*out)


def _panel_edges(n: float, rho0: float, tau0: float, zeta0: float, refine: int) -> np.ndarray:
    """Panel edges in zeta on [-9, 9]: spacing 1/2 everywhere, finer where the sigmoid and the label edge vary."""
    L = _ZETA_MAX
    f = 0.5 / 2**refine
    parts = [np.linspace(-L, L, int(round(2 * L / f)) + 1), [0.0]]
    if -L < zeta0 < L:
        parts.append([zeta0])
    if n > 1.0:  # sigmoid(n zeta + b) varies on the scale 1/n around zeta0
        w = f / n
        lo, hi = max(-L, zeta0 - 40.0 / n), min(L, zeta0 + 40.0 / n)
        if hi > lo:
            parts.append(np.linspace(lo, hi, int(np.ceil((hi - lo) / w)) + 1))
    edge = tau0 / max(abs(rho0), _TINY)  # Phi(rho0 zeta / tau0) varies on this scale around 0
    if 0.0 < edge < 1.0:  # edge = 0 (r = 0): the label's edge is the jump at 0, already a panel edge
        w = f * edge
        hi = min(L, 10.0 * edge)
        parts.append(np.linspace(-hi, hi, int(np.ceil(2 * hi / w)) + 1))
    return np.unique(np.concatenate([np.asarray(q, float) for q in parts]))


def _zeta_rule(n: float, rho0: float, tau0: float, zeta0: float, refine: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the composite Gauss-Legendre rule in zeta."""
    e = _panel_edges(n, rho0, tau0, zeta0, refine)
    mid, half = 0.5 * (e[1:] + e[:-1]), 0.5 * (e[1:] - e[:-1])
    x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel()
    return x, w


def _quadrature(a: float, r: float, b: float, p: float, d: int, loss: str, refine: int) -> np.ndarray:
    """The five expectations by the zeta rule, the eta integral in closed form (any loss; hinge: a check)."""
    n_, rho_, tau_ = _geometry(a, r)
    n, rho0, tau0 = float(n_), float(rho_), float(tau_)
    kappa, eps = _label_weights(p)
    zeta, w = _zeta_rule(n, rho0, tau0, -b / n, refine)
    w = w * _phi(zeta)
    z = n * zeta + b
    # c = +1 iff eta > t; beyond |t| = 40 phi(t) is 0 and Phi(t) is 0 or 1 in double precision (and r = 0 gives inf)
    t = np.clip(-rho0 * zeta / max(tau0, _TINY), -40.0, 40.0)
    pt, Pp = _phi(t), ndtr(-t)
    cases = ((1.0, Pp, pt, Pp + t * pt), (-1.0, 1.0 - Pp, -pt, (1.0 - Pp) - t * pt))
    out = np.zeros(5)
    for c, P, eeta, eeta2 in cases:
        if loss == "hinge":
            own, other = (c * z <= 0).astype(float), (c * z >= 0).astype(float)
        else:
            own, other = expit(-c * z), expit(c * z)
        ey = c * (kappa * own - eps * other)  # E_y[y s | c, z]
        es2 = kappa * own**2 + eps * other**2 if loss == "logistic" else kappa * own + eps * other
        out += [
            np.sum(w * ey * (rho0 * zeta * P + tau0 * eeta)),
            n * np.sum(w * ey * zeta * P),
            np.sum(w * ey * P),
            np.sum(w * es2 * (zeta**2 * P + eeta2 + (d - 2) * P)),
            np.sum(w * es2 * P),
        ]
    return out


def logistic_moments(a: float, r: float, b: float, p: float, d: int, refine: int = 0) -> Moments:
    """The logistic neuron's five one-step expectations, by the 1-D quadrature of the module docstring.

    Parameters
    ----------
    a, r, b, p, d
        As in :func:`hinge_moments`.
    refine : int
        Halve the panels this many times (for :func:`quadrature_error`).

    Returns
    -------
    Moments
    """
    return Moments(*(float(v) for v in _quadrature(a, r, b, p, d, "logistic", refine)))


def closed_form(loss: str) -> bool:
    """Whether the expectations of ``loss`` are in closed form (the hinge), not by quadrature (the logistic)."""
    return loss == "hinge"


def moments(loss: str, a: Any, r: Any, b: Any, p: float, d: int) -> Moments:
    """The neuron's one-step expectations for ``loss`` ("hinge" or "logistic"), elementwise over arrays of states."""
    if closed_form(loss):
        return hinge_moments(a, r, b, p, d)
    a, r, b = (np.asarray(x, float) for x in (a, r, b))
    if a.ndim == 0:
        return logistic_moments(float(a), float(r), float(b), p, d)
    rows = np.array([_quadrature(ai, ri, bi, p, d, "logistic", 0) for ai, ri, bi in np.broadcast(a, r, b)])
    return Moments(*(rows[:, i].reshape(np.broadcast(a, r, b).shape) for i in range(5)))


def quadrature_error(loss: str, a: float, r: float, b: float, p: float, d: int) -> float:
    """An estimate of the quadrature's error at this state: the largest change of the five values when the panels halve.

    Zero for the hinge loss (closed forms). Gauss-Legendre converges geometrically on these analytic
    integrands, so the coarse rule's error is of the order of its distance to the finer one.
    """
    if loss == "hinge":
        return 0.0
    coarse = _quadrature(a, r, b, p, d, loss, 0)
    fine = _quadrature(a, r, b, p, d, loss, 1)
    return float(np.max(np.abs(coarse - fine)))


def clean_error(a: Any, r: Any, b: Any) -> np.ndarray:
    """P(c N(x) <= 0): the test error on clean labels c = sign(x_1), in closed form (:func:`quadrant_moments`)."""
    n, rho0, _ = _geometry(a, r)
    b = np.asarray(b, float)
    return np.asarray(quadrant_moments(b / n, -rho0)[0] + quadrant_moments(-b / n, -rho0)[0])
