"""What a mean-field flow will cost, before it is integrated, and which flows are out of reach.

:func:`estimate` answers in well under a second: the seconds of one field evaluation, timed here on
this machine, times the field evaluations expected from the field's properties (the rule below).
``fastnoise meanfield`` refuses a flow the estimate puts out of reach (:attr:`Cost.refused`) unless
told to go on (``--force``), and shows the estimate as its first notice.

**Seconds per evaluation** (:func:`seconds_per_evaluation`): the flow's right-hand side at its
initial state, evaluated twice (the first call warms the caches up), the faster call kept. A net's
field over more than 2^15 points is timed over 2^15 and scaled linearly (its cost is linear in the
points beyond the caches: 2^13 -> 2^15 points took 48 -> 120 ms at width 100, 144 -> 476 ms at
width 300).

**Evaluations per integration**, from the field's properties (measured with RK45 at rtol 1e-5,
the nets' default, and Radau at 1e-8, the neuron's, on an Intel Xeon with 2 cores shared with other
work; counts of evaluations do not depend on the machine, only their seconds do):

- *a net with a continuous loss* (the logistic; the field over a fixed point set is piecewise
  smooth): ``100 + 0.075 k din tau`` (k units, din inputs with the bias). The integration is stiff
  and its step shrinks as 1/(k d): late rates of 17, 60, 155 evaluations per unit of tau at
  k = 30 and d = 10, 30, 60; 23, 60, 200 at d = 30 and k = 10, 30, 100 (0.057 to 0.086 k d);
  Fig. 2(a) (k = 100, d = 30) took 1682 evaluations to tau = 20, 8630 to 54.6; Fig. 3 (k = 120
  with bias) 3818 to tau = 30.
- *a net with a discontinuous loss* (:attr:`fastnoise.losses.Loss.discontinuous`, the hinge:
  the field jumps wherever a point's output N(x) crosses 0): ``100 + 500 tau`` while the flow
  follows the field (160 to 570 per unit of tau measured, k = 4 to 100), and **out of reach past
  tau_slide = 0.6 sqrt(k) min(1, sqrt(30 / d))**: there the flow starts sliding along the field's
  discontinuities and RK45's step collapses (tens of thousands of evaluations per unit of tau: at
  d = 30, 57,000 evaluations from tau = 2.0 to 2.24 at k = 10, 19,700 from 6 to 7.07 at k = 30).
  The onset was measured at tau ~ 1.1 (k = 2), 1.6 (k = 4), 2.2 (k = 10; 2.6 and 3.2 with other
  seeds), 6.5 (k = 30) at d = 30, none up to tau = 10 at k = 100 (5708 evaluations); 2.1, 1.8,
  1.1 at k = 10 and d = 10, 60, 120; 1.1 and 0.7 at k = 4 and d = 60, 120; none to tau = 10 at
  k = 30, d = 10. tau_slide is below every onset seen (0.6 is 10 % under the tightest ratio,
  k = 10 and d = 10); the onset moved little with p, h, the bias or the points.
- *the neuron* (expectations in closed form or by quadrature: a smooth field): ``2000 + 500
  log10(1 + tau)`` per flow (Radau's steps grow on the plateau: 310 to 3,330 evaluations per flow at d = 30
  for tau = 11 to 1.1e7), plus ``3 tau`` when the bias's variance is driven by a difference quotient
  of quadratures (logistic with bias: at d = 30, 7,200, 37,000 and 288,000 evaluations per flow
  to tau = 1.1e3, 1.1e4 and 1.1e5).

Every integration (flows, times the scramblings of a net's rule) costs the same.

**Refused** (:attr:`Cost.refused`): a discontinuous field past tau_slide, or an estimate above
``BUDGET_SECONDS``. The largest ``--horizon`` the rule accepts is :attr:`Cost.feasible_step`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RunConfig
from ..losses import get_loss
from ..weights import initial_weights
from .flow import _TwoLayerSystem, neuron_rhs
from .table import _FLOWS, _schedule, flip_parameter, flow_count, unsupported
from .twolayer import TwoLayerField

__all__ = ["BUDGET_SECONDS", "Cost", "estimate", "seconds_per_evaluation"]

#: Flows estimated to take longer than this (one hour) are refused: a figure's flow takes minutes.
BUDGET_SECONDS = 3600.0
#: The largest rule timed as is; beyond, the time is scaled from a rule of this many points (log2).
_TIMED_POINTS = 15
#: Smooth nets: evaluations per integration = _NET_START + _NET_RATE * k * din * tau.
_NET_START, _NET_RATE = 100.0, 0.075
#: Discontinuous nets: evaluations per integration = _NET_START + _JUMP_RATE * tau, up to tau_slide.
_JUMP_RATE = 500.0
#: tau_slide = _SLIDE * sqrt(k) * min(1, sqrt(_SLIDE_D / d)).
_SLIDE, _SLIDE_D = 0.6, 30.0
#: The neuron: evaluations per flow = _NEURON_START + _NEURON_LOG * log10(1 + tau) (+ _NEURON_SLOPE * tau).
_NEURON_START, _NEURON_LOG, _NEURON_SLOPE = 2000.0, 500.0, 3.0


@dataclass(frozen=True)
class Cost:
    """The estimated cost of a flow (:func:`estimate`) and whether it is out of reach.

    Attributes
    ----------
    integrations : int
        Integrations (flows, times the scramblings of a net's rule).
    flows : int
        Flows (replicas' starting points).
    scrambled : bool
        The field is taken over a quasi-Monte Carlo rule (a net), one integration per scrambling.
    tau : float
        Where each ends (h times the horizon step).
    h : float
        The step size (tau = h * step).
    steps : int
        The horizon step.
    seconds_per_evaluation : float
        Timed on this machine.
    discontinuous : bool
        The field is discontinuous (a discontinuous loss averaged over a point set).
    tau_slide : float
        Past it a discontinuous field's flow slides along the jumps (inf for a continuous field).
    """

    integrations: int
    flows: int
    scrambled: bool
    tau: float
    h: float
    steps: int
    seconds_per_evaluation: float
    discontinuous: bool
    tau_slide: float
    _per_integration: Any

    def evaluations(self, tau: float | None = None) -> float:
        """Expected field evaluations of all the integrations to ``tau`` (default: to the horizon)."""
        return self.integrations * float(self._per_integration(self.tau if tau is None else tau))

    def seconds(self, tau: float | None = None) -> float:
        """Expected seconds to ``tau`` (default: to the horizon)."""
        return self.evaluations(tau) * self.seconds_per_evaluation

    def _within(self, tau: float) -> bool:
        return tau <= self.tau_slide and self.seconds(tau) <= BUDGET_SECONDS

    @property
    def sliding(self) -> bool:
        """The horizon is past tau_slide."""
        return self.tau > self.tau_slide

    @property
    def refused(self) -> bool:
        """Past tau_slide, or above ``BUDGET_SECONDS``."""
        return not self._within(self.tau)

    @property
    def feasible_step(self) -> int:
        """The largest horizon step (at most the horizon) the rule accepts; 0 if none."""
        if self._within(self.tau):
            return self.steps
        if not self._within(self.h):
            return 0
        lo, hi = 1, self.steps  # _within(lo * h) holds, _within(hi * h) does not (both grow with tau)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self._within(mid * self.h) else (lo, mid)
        return lo


def estimate(
    cfg: RunConfig,
    *,
    flows: int | None = None,
    points: int = 13,
    scramblings: int = 2,
    horizon: int | None = None,
    second_moment: bool = True,
) -> Cost:
    """The cost of :func:`fastnoise.meanfield.theory` with these arguments, by the rule of the module docstring.

    Parameters
    ----------
    cfg, flows, points, scramblings, horizon, second_moment
        As :func:`fastnoise.meanfield.theory` takes them.

    Returns
    -------
    Cost

    Raises
    ------
    ValueError
        A configuration the flow does not cover.
    """
    why = unsupported(cfg)
    if why is not None:
        raise ValueError(f"--{why[0]}: {why[1]}")
    assert cfg.lr is not None and cfg.d is not None
    h, d = float(cfg.lr), int(cfg.d)
    steps, taus = _schedule(cfg, horizon)
    kind = _FLOWS[cfg.model]
    n_flows = flow_count(cfg, flows)
    n = n_flows * (scramblings if kind.scrambled else 1)
    per_eval = seconds_per_evaluation(cfg, points=points, second_moment=second_moment)
    discontinuous = kind.scrambled and get_loss(cfg.loss).discontinuous
    tau_slide = math.inf
    if kind.scrambled:
        k = int(cfg.hidden_widths[0])
        din = d + int(cfg.bias)
        if discontinuous:
            tau_slide = _SLIDE * math.sqrt(k) * min(1.0, math.sqrt(_SLIDE_D / d))

            def per_integration(tau: float) -> float:
                return _NET_START + _JUMP_RATE * tau
        else:

            def per_integration(tau: float) -> float:
                return _NET_START + _NET_RATE * k * din * tau
    else:
        slope = _NEURON_SLOPE if (cfg.bias and not _closed_form_slope(cfg)) else 0.0

        def per_integration(tau: float) -> float:
            return _NEURON_START + _NEURON_LOG * math.log10(1.0 + tau) + slope * tau

    return Cost(
        n, n_flows, kind.scrambled, float(taus[-1]), h, int(steps[-1]), per_eval, discontinuous, tau_slide, per_integration
    )


def _closed_form_slope(cfg: RunConfig) -> bool:
    """Whether the neuron's field is in closed form (the bias's slope then exact to rounding), not by quadrature."""
    from .neuron import closed_form

    return closed_form(cfg.loss)


def seconds_per_evaluation(cfg: RunConfig, *, points: int = 13, second_moment: bool = True) -> float:
    """Seconds of one evaluation of the flow's field at replica 0's initial weights, timed here (see the module docstring)."""
    assert cfg.lr is not None and cfg.d is not None
    h, d = float(cfg.lr), int(cfg.d)
    w = initial_weights(cfg, 0)
    p = flip_parameter(cfg)
    scale = 1.0
    if _FLOWS[cfg.model].scrambled:
        m = min(points, _TIMED_POINTS)
        scale = 2.0 ** (points - m)
        fld = TwoLayerField(d, cfg.bias, cfg.loss, p, m=m, seed=cfg.seed * 1000)
        system = _TwoLayerSystem(fld, np.asarray(w["M"], float), np.asarray(w["V"], float), 0.0, h, second_moment)
        rhs, y0 = system.rhs, system.y0
    else:
        V = np.asarray(w["V"], float)
        rhs = neuron_rhs(cfg.loss, p, d, h, cfg.bias, second_moment)
        y0 = np.array([V[0], float(np.sum(V[1:d] ** 2)), V[d] if cfg.bias else 0.0, 0.0])
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        rhs(0.0, y0)
        best = min(best, time.perf_counter() - t0)
    return best * scale
