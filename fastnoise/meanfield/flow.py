"""The h -> 0 flows in tau = h t, integrated by ``scipy.integrate``'s solvers: the neuron's order parameters, the nets' weights.

Both flows move each quantity by its exact expected one-step change divided by h, evaluated at the
flow's own state (the mean-field closure), and keep the O(h) second-moment term that sets plateaus:

**Neuron** (:func:`neuron_flow`): state (a, q, b, vb) with a the overlap with e_1, q = |V_w|^2 - a^2
(the weights' energy off the target direction, r = sqrt q), b the mean bias and vb = Var b:

    da/dtau = E[y s u],   dq/dtau = 2 (E[y s w.x] - a E[y s u]) + h E[s^2 |x|^2],
    db/dtau = E[y s],     dvb/dtau = 2 (dE[y s]/db) vb + h E[s^2]

(:mod:`fastnoise.meanfield.neuron`). The overlap and the bias are first moments (exact: no h term);
|V_w|^2 = a^2 + q is a second moment whose one-step change is exact, and since the law of a step
depends on the weights only through (a, r, b), the drift acting on q is the true one, noise
included: the noise a step adds goes into q (the d - 1 directions off the target hold nearly all
of it) and is damped there by the same drift. The bias's noise is one direction: its variance is
a linear-noise (van Kampen) variance, injected at h E[s^2] and damped by the slope of its drift.

**Two-layer** (:func:`twolayer_flow`): the mean weights (W_i, B_i, v_i, b2) and the variances of
the output weights, eta_i = Var v_i (and, reported only, Var b2 and Var B_i). With the moments of
:mod:`fastnoise.meanfield.twolayer`,

    dW_i/dtau = GW_i + eta_i DW_i + (h/2) SW_i W_i / |W_i|^2,   dB_i/dtau = GB_i + eta_i DB_i,
    dv_i/dtau = Gv_i,   d eta_i/dtau = 2 Dv_i eta_i + h Sv_i,   db2/dtau = Gb2.

The hidden rows keep their noise along their own direction (its energy h SW_i per unit tau, so
|W_i|^2 follows its exact expected one-step change). The output weights' noise is a linear-noise
(van Kampen) variance per unit, injected at h Sv_i and damped by the diagonal of the drift's
Jacobian, 2 Dv_i = 2 E[e' ReLU_i^2]; its covariance with the hidden row enters the row's mean drift
as eta_i DW_i, the second-order term of E[v_i e 1_i x] in the noise of v_i. Terms with e'' and the
noise correlations between units are left out, and the hidden biases' variance Var B_i is only
injected (h SB_i per unit tau), not damped by the slope of its drift: an excess of order h tau SB_i
in E|M|^2, a suspect for the first layer's small negative bias in ``check --only meanfield``.
With these terms the closure makes every unit's
balance D_i = |M_i|^2 - E[v_i^2] move exactly as it does in expectation, dD_i/dtau = h (SW_i + SB_i
- Sv_i), and without the h terms (gradient flow) it conserves |M_i|^2 - v_i^2 (:func:`balance`): from
the usual initialisation (|M_i|^2 ~ d >> v_i^2) gradient flow cannot make the first layer vanish. The
O(h) terms are the mechanism: the noise put into v_i and damped again by the drift takes that much
from |M_i|^2 (the term eta_i DW_i), not a correction to drop. For the hinge net without bias the
field is homogeneous of degree 1 in the weights, so the flow is integrated for the weights'
direction and the log of their scale, reaching norms like 1e-500 as the renormalised runs do.

Integration. The neuron's flows use Radau (implicit): on the plateau the overlap relaxes at a rate
~ 1/|V| while the norm barely moves. The nets' default in :func:`fastnoise.meanfield.theory` (and so
in ``fastnoise meanfield`` and the figures) is RK45 at rtol 1e-5: their field over a fixed
point set is piecewise smooth (it jumps by O(1/points) wherever a unit's firing boundary crosses a
point), which defeats tight tolerances, and it is stiff once the output's fast modes (rates of order
k |W_i|^2 / 4 per unit of tau) meet a slow drift, which caps RK45's step. BDF with the Gauss-Newton
part of the Jacobian (:meth:`TwoLayerField.drift_jacobian`) is available (``method="BDF"``) but was
slower on every setting tried; the full Fig. 3 horizon (tau ~ 2e5 at width 120) is out of reach of
both at the cost of one field evaluation (~0.1 s), so figures integrate the nets to a stated horizon.
The tests compare each flow with an independent integration (another method, tighter tolerance).
Both flows step through :func:`fastnoise.meanfield.integrate.solve` (``solve_ivp``'s loop, the same
numbers), which reports progress to a :class:`~fastnoise.meanfield.integrate.Monitor` and stops when
it asks, keeping the checkpoints reached (``reached`` in the paths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import neuron as nm
from .integrate import Monitor, solve
from .twolayer import TwoLayerField, active_mean

__all__ = ["NeuronPath", "TwoLayerPath", "balance", "neuron_flow", "neuron_rhs", "twolayer_flow"]

_LN10 = math.log(10.0)


# --------------------------------------------------------------------------- neuron


@dataclass
class NeuronPath:
    """Neuron flows (one row per starting point) at the requested times: order parameters, clean error, integrator's record.

    A flow stopped early (:class:`~fastnoise.meanfield.integrate.Monitor`) holds its first
    ``reached[i]`` times, NaN after them.
    """

    tau: np.ndarray
    a: np.ndarray
    q: np.ndarray
    b: np.ndarray
    vb: np.ndarray
    error: np.ndarray
    nfev: int
    quadrature_error: float
    reached: np.ndarray

    @property
    def b2(self) -> np.ndarray:
        """E[b^2] = b^2 + Var b."""
        return self.b**2 + np.maximum(self.vb, 0.0)

    @property
    def norm(self) -> np.ndarray:
        """|V| (bias included): sqrt(a^2 + q + E[b^2])."""
        return np.sqrt(self.a**2 + np.maximum(self.q, 0.0) + self.b2)


def neuron_rhs(loss: str, p: float, d: int, h: float, bias: bool, second_moment: bool = True) -> Any:
    """The neuron's flow f(tau, y), y the states (a, q, b, Var b) of any number of flows one after another.

    ``second_moment=False`` drops the O(h) terms (gradient flow). The slope dE[y s]/db is a central
    difference of the expectations (relative step 1e-5, an error far below the integrator's).
    """
    hh = h if second_moment else 0.0

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        a, q, b, vb = y.reshape(-1, 4).T
        r = np.sqrt(np.maximum(q, 0.0))
        n = len(a)
        if bias and hh:  # the state and its two bias neighbours, in one call
            db = 1e-5 * np.maximum(1.0, np.hypot(a, r))
            m3 = nm.moments(loss, np.tile(a, 3), np.tile(r, 3), np.concatenate([b, b + db, b - db]), p, d)
            m = nm.Moments(*(np.asarray(v)[:n] for v in m3.as_array()))
            slope = (np.asarray(m3.ys)[n : 2 * n] - np.asarray(m3.ys)[2 * n :]) / (2 * db)
        else:
            m, slope = nm.moments(loss, a, r, b, p, d), np.zeros(n)
        out = np.zeros((n, 4))
        out[:, 0] = m.ys_u
        out[:, 1] = 2.0 * (m.ys_wx - a * m.ys_u) + hh * m.s2_x
        if bias:
            out[:, 2] = m.ys
            out[:, 3] = 2.0 * slope * vb + hh * m.s2
        return out.ravel()

    return rhs


def neuron_flow(
    V0: np.ndarray,
    taus: np.ndarray,
    *,
    loss: str,
    p: float,
    h: float,
    bias: bool,
    second_moment: bool = True,
    method: str = "Radau",
    rtol: float = 1e-8,
    atol: float = 1e-12,
    monitor: Monitor | None = None,
) -> NeuronPath:
    """Integrate the neuron's flow from each row of ``V0`` (d weights, then the bias with ``bias``).

    Parameters
    ----------
    V0 : ndarray, shape (R, din) or (din,)
        Initial weights (as :func:`fastnoise.weights.initial_weights` draws them), one flow per row.
    taus : ndarray
        Increasing times h * step at which to report (the first is 0).
    loss, p, h, bias
        The run's rule, label noise, step size and bias.
    second_moment : bool
        Keep the O(h) second-moment terms (False: plain gradient flow).
    method, rtol, atol
        The integrator (``solve_ivp``'s method: the default Radau is implicit, for the plateau, where
        the overlap relaxes at a rate ~ 1/|V| while the norm barely moves) and its tolerances. Each
        flow is solved on its own.
    monitor : Monitor, optional
        Told of the integration's progress; when it asks to stop, the flow under way keeps the
        times it passed and the later flows are not started (``reached`` 0).

    Returns
    -------
    NeuronPath
        Arrays of shape (R, len(taus)); also the largest quadrature error bound
        (:func:`fastnoise.meanfield.neuron.quadrature_error`) over the reported states.
    """
    V0 = np.atleast_2d(np.asarray(V0, float))
    d = V0.shape[1] - int(bias)
    if d < 2:
        raise ValueError(f"the mean-field flow needs d >= 2, got d = {d}")
    R = V0.shape[0]
    b0 = V0[:, d] if bias else np.zeros(R)
    y0 = np.stack([V0[:, 0], np.sum(V0[:, 1:d] ** 2, axis=1), b0, np.zeros(R)], axis=1)
    rhs = neuron_rhs(loss, p, d, h, bias, second_moment)
    # One solve per flow: each has its own stiff stretch (reaching the plateau), which a stacked
    # system would have to resolve for all of them at once.
    taus = np.asarray(taus, float)
    Y = np.full((R, 4, len(taus)), np.nan)
    reached = np.zeros(R, np.int64)
    nfev = 0
    for i in range(R):
        if monitor is not None and monitor.signum:
            break
        sol = solve(rhs, y0[i], taus, method, rtol, atol, monitor=monitor)
        Y[i, :, : len(sol.t)], reached[i] = sol.y, len(sol.t)
        nfev += sol.nfev
    a, q, b, vb = Y.transpose(1, 0, 2)
    r = np.sqrt(np.maximum(q, 0.0))
    error = np.full(a.shape, np.nan)
    done = np.arange(len(taus))[None, :] < reached[:, None]
    error[done] = nm.clean_error(a[done], r[done], b[done])
    qerr = 0.0
    if loss != "hinge":
        qerr = max(
            (nm.quadrature_error(loss, ai, ri, bi, p, d) for ai, ri, bi in zip(a[done], r[done], b[done], strict=True)),
            default=0.0,
        )
    return NeuronPath(taus, a, q, b, vb, error, nfev, qerr, reached)


# --------------------------------------------------------------------------- two-layer


@dataclass
class TwoLayerPath:
    """One two-layer flow at the requested times: per-checkpoint metrics and the final weights.

    A flow stopped early (:class:`~fastnoise.meanfield.integrate.Monitor`) holds the first times
    only (``complete`` false); ``final`` is then the state at the last of them (empty if none).
    """

    tau: np.ndarray
    log10_norm_1: np.ndarray
    log10_norm_2: np.ndarray
    bias_norm_1: np.ndarray
    bias_norm_2: np.ndarray
    active_mean: np.ndarray
    error: np.ndarray
    balance: np.ndarray  # (checkpoints, k): |M_i|^2 - v_i^2 at true scale (NaN once it under- or overflows)
    nfev: int
    njev: int
    final: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    @property
    def norm_1(self) -> np.ndarray:
        """|M| (bias column included)."""
        return np.power(10.0, self.log10_norm_1)

    @property
    def norm_2(self) -> np.ndarray:
        """|(V, b2)|."""
        return np.power(10.0, self.log10_norm_2)


def balance(M: np.ndarray, v: np.ndarray) -> np.ndarray:
    """|M_i|^2 - v_i^2 per hidden unit (bias column included): conserved by the first-order flow."""
    return np.sum(M * M, axis=1) - v * v


class _TwoLayerSystem:
    """The two-layer flow's state vector, right-hand side and Jacobian (see the module docstring).

    State: M (k x din, row-major), v (k), eta = Var v (k); with a bias b2, Var b2, Var B_i (k);
    for the homogeneous hinge net without bias, the log of the weights' scale last.
    """

    def __init__(self, fld: TwoLayerField, M0: np.ndarray, v0: np.ndarray, b20: float, h: float, second_moment: bool) -> None:
        self.f, self.h = fld, (h if second_moment else 0.0)
        self.k, self.din = M0.shape
        self.bias = fld.bias
        self.homogeneous = fld.loss == "hinge" and not fld.bias
        k = self.k
        self.nM = k * self.din
        parts: list[Any] = [M0.ravel(), v0, np.zeros(k)]
        if self.bias:
            parts += [[b20], [0.0], np.zeros(k)]
        if self.homogeneous:
            parts.append([0.0])
        self.y0 = np.concatenate([np.asarray(q, float) for q in parts])

    def unpack(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, np.ndarray]:
        """(M, v, eta, b2, Var b2, Var B) in stored units (true scale times exp(-ell) when homogeneous)."""
        k, nM = self.k, self.nM
        M = y[:nM].reshape(k, self.din)
        v, eta = y[nM : nM + k], y[nM + k : nM + 2 * k]
        if not self.bias:
            return M, v, eta, 0.0, 0.0, np.zeros(k)
        o = nM + 2 * k
        return M, v, eta, float(y[o]), float(y[o + 1]), y[o + 2 : o + 2 + k]

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        d, h = self.f.d, self.h
        M, v, eta, b2, zeta, _ = self.unpack(y)
        m = self.f.moments(M, v, b2)
        W = M[:, :d]
        w2 = np.maximum(np.sum(W * W, axis=1), 1e-300)
        dM = np.empty_like(M)
        dM[:, :d] = m.GW + eta[:, None] * m.DW + (0.5 * h * m.SW / w2)[:, None] * W
        if self.bias:
            dM[:, d] = m.GB + eta * m.DB
        dv = m.Gv
        deta = 2.0 * m.Dv * eta + h * m.Sv
        if self.homogeneous:
            # The field is homogeneous of degree 1 in (M, v) (eta of degree 2): integrate the direction and ell.
            size = float(np.sum(M * M) + np.sum(v * v) + np.sum(eta))
            lam = float(np.sum(M * dM) + np.sum(v * dv) + 0.5 * np.sum(deta)) / size
            return np.concatenate([(dM - lam * M).ravel(), dv - lam * v, deta - 2.0 * lam * eta, [lam]])
        out = [dM.ravel(), dv, deta]
        if self.bias:
            out += [[m.Gb2], [2.0 * m.Db2 * zeta + h * m.Sb2], h * m.SB]
        return np.concatenate([np.asarray(q, float) for q in out])

    def jac(self, t: float, y: np.ndarray) -> np.ndarray:
        """An approximate Jacobian for implicit steps: the drift's Gauss-Newton part, and eta's damping."""
        k, nM = self.k, self.nM
        M, v, eta, b2, _, _ = self.unpack(y)
        J0 = self.f.drift_jacobian(M, v, b2)  # coordinates (M, v[, b2])
        J = np.zeros((len(y), len(y)))
        mv = nM + k
        J[:mv, :mv] = J0[:mv, :mv]
        if self.bias:
            o = nM + 2 * k
            J[:mv, o] = J0[:mv, mv]
            J[o, :mv] = J0[mv, :mv]
            J[o, o] = J0[mv, mv]
        m = self.f.moments(M, v, b2)
        J[np.arange(mv, mv + k), np.arange(mv, mv + k)] = 2.0 * m.Dv
        return J

    def metrics(self, y: np.ndarray) -> dict[str, Any]:
        """Norms (log10, true scale), bias norms, active units, clean error and balance of one state."""
        d = self.f.d
        M, v, eta, b2, zeta, varB = self.unpack(y)
        ell = float(y[-1]) if self.homogeneous else 0.0
        eta, zeta, varB = np.maximum(eta, 0.0), max(zeta, 0.0), np.maximum(varB, 0.0)
        B2 = M[:, d] ** 2 + varB if self.bias else np.zeros(self.k)
        n1 = float(np.sum(M[:, :d] ** 2) + np.sum(B2))
        n2 = float(np.sum(v * v) + np.sum(eta) + b2 * b2 + zeta)
        scale = math.exp(2 * ell) if abs(ell) < 300 else math.nan
        return dict(
            log10_norm_1=0.5 * math.log10(max(n1, 1e-300)) + ell / _LN10,
            log10_norm_2=0.5 * math.log10(max(n2, 1e-300)) + ell / _LN10,
            bias_norm_1=math.sqrt(float(np.sum(B2))) if self.bias else math.nan,
            bias_norm_2=math.sqrt(b2 * b2 + zeta) if self.bias else math.nan,
            active_mean=active_mean(M, self.bias),
            error=self.f.clean_error(M, v, b2),
            balance=(np.sum(M[:, :d] ** 2, axis=1) + B2 - v * v - eta) * scale,
        )


def twolayer_flow(
    fld: TwoLayerField,
    M0: np.ndarray,
    v0: np.ndarray,
    taus: np.ndarray,
    *,
    h: float,
    b20: float = 0.0,
    second_moment: bool = True,
    method: str = "BDF",
    rtol: float = 1e-5,
    atol: float = 1e-9,
    monitor: Monitor | None = None,
) -> TwoLayerPath:
    """Integrate the two-layer flow from (M0, v0, b20) over the field's point set.

    Parameters
    ----------
    fld : TwoLayerField
        The expectations (its d, bias, loss and p are the run's).
    M0, v0, b20
        Initial weights (as :func:`fastnoise.weights.initial_weights` draws them).
    taus : ndarray
        Increasing times h * step at which to report (the first is 0).
    h : float
        The step size (the second-moment terms' factor).
    second_moment : bool
        Keep the O(h) terms (False: plain gradient flow, which conserves :func:`balance`).
    method, rtol, atol
        ``solve_ivp``'s method and tolerances; implicit methods get :meth:`_TwoLayerSystem.jac`.
    monitor : Monitor, optional
        Told of the integration's progress; when it asks to stop, the path holds the times passed.

    Returns
    -------
    TwoLayerPath
    """
    sys_ = _TwoLayerSystem(fld, np.asarray(M0, float), np.asarray(v0, float), float(b20), h, second_moment)
    implicit = method in ("BDF", "Radau", "LSODA")
    sol = solve(sys_.rhs, sys_.y0, taus, method, rtol, atol, jac=sys_.jac if implicit else None, monitor=monitor)
    rows = [sys_.metrics(sol.y[:, j]) for j in range(sol.y.shape[1])]
    final: dict[str, Any] = {}
    if rows:
        M, v, eta, b2, _, _ = sys_.unpack(sol.y[:, -1])
        ell = float(sol.y[-1, -1]) if sys_.homogeneous else 0.0
        final = {"M": M, "V": v, "eta": eta, "b2": b2, "log_scale": ell}
    return TwoLayerPath(
        tau=sol.t,
        log10_norm_1=np.array([r["log10_norm_1"] for r in rows]),
        log10_norm_2=np.array([r["log10_norm_2"] for r in rows]),
        bias_norm_1=np.array([r["bias_norm_1"] for r in rows]),
        bias_norm_2=np.array([r["bias_norm_2"] for r in rows]),
        active_mean=np.array([r["active_mean"] for r in rows]),
        error=np.array([r["error"] for r in rows]),
        balance=np.array([r["balance"] for r in rows]).reshape(len(rows), sys_.k),
        nfev=int(sol.nfev),
        njev=int(sol.njev),
        final=final,
        complete=sol.complete,
    )
