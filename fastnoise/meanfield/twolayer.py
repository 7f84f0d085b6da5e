"""The two-layer ReLU net's one-step expectations over x ~ N(0, I_d): a fixed randomised quasi-Monte Carlo rule.

For N(x) = V.ReLU(M x~) + b2 (x~ = x, or (x, 1) with a bias; docs/model.md 1.3), one SGD step moves,
with s = 1{y N <= 0} (hinge) or sigmoid(-y N) (logistic) and unit i firing when M_i.x~ >= 0,

    M_i by h y s v_i 1_i x~,    v_i by h y s ReLU(M_i.x~),    b2 by h y s (with a bias).

Averaged over the label (y = c = sign(x_1) with probability 1 - p/2, -c with p/2) these factors are
e(x) = E_y[y s] and w2(x) = E_y[s^2] (for p = 1: hinge -sign(N)/2 and 1/2, logistic -tanh(N/2)/2 and
(sigmoid(N)^2 + sigmoid(-N)^2)/2). :class:`Moments` holds the exact expectations over x of the
first moments (the drift) and of the squared increments per unit (the second-moment terms):

    GW_i = v_i E[e 1_i x],  GB_i = v_i E[e 1_i],  Gv_i = E[e ReLU_i],  Gb2 = E[e],
    SW_i = v_i^2 E[w2 1_i |x|^2],  SB_i = v_i^2 E[w2 1_i],  Sv_i = E[w2 ReLU_i^2],  Sb2 = E[w2].

The flow's fluctuation terms (:mod:`fastnoise.meanfield.flow`) also need the derivative of e
in N, e'(N) = -sigmoid(N) sigmoid(-N) for the logistic loss at every p, and -delta(N) for the hinge
(approximated by a Gaussian kernel of width ``kernel`` times the spread of N over the points):

    DW_i = E[e' ReLU_i 1_i x],  DB_i = E[e' ReLU_i 1_i],  Dv_i = E[e' ReLU_i^2],  Db2 = E[e'].

No closed form exists for k > 2 units (sign N couples them all), so :class:`TwoLayerField` evaluates
them on one fixed set of scrambled Sobol points mapped to N(0, I_d) (``scipy.stats.qmc``): the flow is
then the exact flow of that point set's empirical law. Its error is measured, not assumed: independent
scramblings give independent estimates whose spread estimates it. What is closed: the typical number
of active units, sum_i Phi(B_i / |W_i|) (:func:`active_mean`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._scipy import expit, ndtr, ndtri, sobol

__all__ = ["Moments", "TwoLayerField", "active_mean", "sobol_gaussian"]

#: Points per block of the sums (bounds the temporary n x k arrays).
_BLOCK = 8192


def sobol_gaussian(d: int, m: int, seed: int) -> np.ndarray:
    """2^m scrambled Sobol points in [0, 1)^d (Owen scrambling, seed ``seed``) mapped to N(0, I_d) by Phi^-1."""
    u = sobol(d, np.random.default_rng(seed)).random_base2(m)
    return ndtri(np.clip(u, 1e-16, 1.0 - 1e-16))


def active_mean(M: np.ndarray, bias: bool) -> float:
    """E_x #{i : M_i.x~ > 0} = sum_i Phi(B_i / |W_i|) for x ~ N(0, I_d), exactly (k/2 without a bias)."""
    W = M[:, :-1] if bias else M
    nrm = np.sqrt(np.sum(W * W, axis=1))
    if not bias:
        return float(np.sum(nrm > 0) / 2.0)
    B = M[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(nrm > 0, B / np.where(nrm > 0, nrm, 1.0), np.where(B > 0, np.inf, -np.inf))
    return float(np.sum(ndtr(z)))


@dataclass
class Moments:
    """The expectations of the module docstring (arrays over the k units; scalars for b2), plus N's scale."""

    GW: np.ndarray
    GB: np.ndarray
    Gv: np.ndarray
    Gb2: float
    SW: np.ndarray
    SB: np.ndarray
    Sv: np.ndarray
    Sb2: float
    DW: np.ndarray
    DB: np.ndarray
    Dv: np.ndarray
    Db2: float


class TwoLayerField:
    """The expected one-step moments of a two-layer net, over one scrambled Sobol rule of 2^m points.

    Parameters
    ----------
    d : int
        Input dimension.
    bias : bool
        Whether x is extended by 1 and b2 is trained.
    loss : {"hinge", "logistic"}
        The rule.
    p : float
        Label noise: replaced by a uniform draw with probability p, i.e. flipped with probability p/2
        (pass twice the flip rate for other conventions); the clean label is sign(x_1).
    m : int
        log2 of the number of points.
    seed : int
        The scrambling's seed: different seeds give independent randomisations of the rule.
    kernel : float
        Hinge only: the width of the Gaussian kernel standing for delta(N), relative to the
        root-mean-square of N over the points.
    """

    def __init__(self, d: int, bias: bool, loss: str, p: float, m: int = 14, seed: int = 0, kernel: float = 0.05) -> None:
        self.d, self.bias, self.loss, self.p, self.kernel = d, bias, loss, p, kernel
        self.X = sobol_gaussian(d, m, seed)
        self.n = self.X.shape[0]
        self.x2 = np.sum(self.X * self.X, axis=1)
        self.c = np.where(self.X[:, 0] > 0, 1.0, -1.0)
        self.kappa, self.eps = 1.0 - 0.5 * p, 0.5 * p

    def _labels(self, N: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E = E_y[y s] and w2 = E_y[s^2] at each point, from N(x) and the clean label c."""
        if self.loss == "hinge":
            own, other = (c * N <= 0).astype(float), (c * N >= 0).astype(float)
            return c * (self.kappa * own - self.eps * other), self.kappa * own + self.eps * other
        own, other = expit(-c * N), expit(c * N)
        return c * (self.kappa * own - self.eps * other), self.kappa * own * own + self.eps * other * other

    def _forward(self, M: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pre-activations (n x k) of the points ``X``."""
        if self.bias:
            return X @ M[:, :-1].T + M[:, -1], X
        return X @ M.T, X

    def moments(self, M: np.ndarray, v: np.ndarray, b2: float) -> Moments:
        """The expectations of the module docstring at weights (M, v, b2), over the rule's points.

        Parameters
        ----------
        M : ndarray, shape (k, d [+1])
            Hidden weights, the bias last with ``bias``.
        v : ndarray, shape (k,)
            Output weights.
        b2 : float
            Output bias (0 without one).

        Returns
        -------
        Moments
        """
        k, d = M.shape[0], self.d
        sums = np.zeros(2 * k * d + 8 * k + 4)
        gw, dw, rest = sums[: k * d].reshape(k, d), sums[k * d : 2 * k * d].reshape(k, d), sums[2 * k * d :]
        width = self._kernel_width(M, v, b2) if self.loss == "hinge" else 0.0
        for lo in range(0, self.n, _BLOCK):
            X, x2, c = self.X[lo : lo + _BLOCK], self.x2[lo : lo + _BLOCK], self.c[lo : lo + _BLOCK]
            pre, _ = self._forward(M, X)
            fire = (pre >= 0).astype(float)
            act = np.maximum(pre, 0.0)
            N = act @ v + b2
            e, w2 = self._labels(N, c)
            de = self._slope(N, width)
            fe = fire * e[:, None]
            ad = act * de[:, None]
            act2 = act * act
            gw += fe.T @ X
            dw += ad.T @ X
            rest[0:k] += fe.sum(axis=0)
            rest[k : 2 * k] += e @ act
            rest[2 * k : 3 * k] += (w2 * x2) @ fire
            rest[3 * k : 4 * k] += w2 @ fire
            rest[4 * k : 5 * k] += w2 @ act2
            rest[5 * k : 6 * k] += ad.sum(axis=0)
            rest[6 * k : 7 * k] += de @ act2
            rest[8 * k] += e.sum()
            rest[8 * k + 1] += w2.sum()
            rest[8 * k + 2] += de.sum()
        sums /= self.n
        v2 = v * v
        return Moments(
            GW=v[:, None] * gw,
            GB=v * rest[0:k],
            Gv=rest[k : 2 * k].copy(),
            Gb2=float(rest[8 * k]),
            SW=v2 * rest[2 * k : 3 * k],
            SB=v2 * rest[3 * k : 4 * k],
            Sv=rest[4 * k : 5 * k].copy(),
            Sb2=float(rest[8 * k + 1]),
            DW=dw.copy(),
            DB=rest[5 * k : 6 * k].copy(),
            Dv=rest[6 * k : 7 * k].copy(),
            Db2=float(rest[8 * k + 2]),
        )

    def _kernel_width(self, M: np.ndarray, v: np.ndarray, b2: float) -> float:
        """The hinge's delta-kernel width: ``kernel`` times the root-mean-square of N on the first block."""
        pre, _ = self._forward(M, self.X[:_BLOCK])
        N = np.maximum(pre, 0.0) @ v + b2
        return self.kernel * max(float(np.sqrt(np.mean(N * N))), 1e-300)

    def _slope(self, N: np.ndarray, width: float) -> np.ndarray:
        """e'(N): -sigmoid(N) sigmoid(-N) (logistic, any p), or minus a Gaussian kernel of ``width`` (hinge)."""
        if self.loss == "hinge":
            return -np.exp(-0.5 * (N / width) ** 2) / (width * np.sqrt(2.0 * np.pi))
        s = expit(N)
        return -s * (1.0 - s)

    def drift_jacobian(self, M: np.ndarray, v: np.ndarray, b2: float, points: int = 2048) -> np.ndarray:
        """The Gauss-Newton part of the drift's Jacobian, E[e'(N) grad N grad N^T], on the rule's first points.

        For the logistic loss e'(N) = -sigmoid(N) sigmoid(-N) for every p; for the hinge it is 0 almost
        everywhere (the matrix is then 0). Coordinates: M (row-major), v, then b2 with a bias. An implicit
        integrator needs only an approximation of the Jacobian (its step is checked by its error estimate),
        and this one holds the stiff directions: the network output's fast modes.
        """
        X = self.X[:points]
        pre, _ = self._forward(M, X)
        fire = (pre >= 0).astype(float)
        act = np.maximum(pre, 0.0)
        N = act @ v + b2
        k, din = M.shape
        cols = [((fire * v)[:, :, None] * (np.concatenate([X, np.ones((len(X), 1))], 1) if self.bias else X)[:, None, :])]
        G = np.concatenate([cols[0].reshape(len(X), k * din), act] + ([np.ones((len(X), 1))] if self.bias else []), axis=1)
        if self.loss == "hinge":
            return np.zeros((G.shape[1], G.shape[1]))
        s = expit(N)
        wgt = -(s * (1.0 - s)) / len(X)
        return (G * wgt[:, None]).T @ G

    def clean_error(self, M: np.ndarray, v: np.ndarray, b2: float) -> float:
        """P(c N(x) <= 0) on clean labels c = sign(x_1), over the rule's points."""
        wrong = 0.0
        for lo in range(0, self.n, _BLOCK):
            pre, _ = self._forward(M, self.X[lo : lo + _BLOCK])
            N = np.maximum(pre, 0.0) @ v + b2
            wrong += float(np.sum(self.c[lo : lo + _BLOCK] * N <= 0))
        return wrong / self.n
