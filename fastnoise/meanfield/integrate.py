"""The flows' integration loop: ``solve_ivp``'s, step by step, reporting progress and stoppable between steps.

:func:`solve` is ``scipy.integrate.solve_ivp`` with ``t_eval`` written out (the same solver, the same
steps, the same dense output at the same times: the same numbers), so that between two steps it can
say how far it got (:class:`Monitor`) and stop when asked, keeping the states of the checkpoints
it passed. A stop is asked from a signal handler (:meth:`Monitor.request_stop`, through
:func:`fastnoise.stopping.stop_on_signals`); the next field evaluation then abandons the step under
way, so the flow stops within one evaluation (~0.1 s for a net of width 100 over 2^13 points).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._scipy import ode_solver

__all__ = ["Monitor", "Solution", "solve"]


class Monitor:
    """How far the flows of one table have got, and a request to stop them (from a signal handler).

    Parameters
    ----------
    report : callable, optional
        ``report(monitor)``, called after every field evaluation and every accepted step (it should
        be cheap, and decide itself how often to show anything). It must not raise.

    Attributes
    ----------
    solves : int
        Integrations in all (flows, times scramblings for a net), each from tau = 0 to ``tau_end``.
    finished : int
        Integrations finished.
    tau_end : float
        Where each integration ends.
    tau : float
        Where the integration under way has got to (its last accepted step).
    nfev : int
        Field evaluations so far, all integrations together.
    signum : int
        The signal a stop was requested with (0: none).
    """

    def __init__(self, report: Callable[[Monitor], None] | None = None) -> None:
        self.report = report
        self.solves = 1
        self.finished = 0
        self.tau_end = 0.0
        self.tau = 0.0
        self.nfev = 0
        self.signum = 0

    def plan(self, solves: int, tau_end: float) -> None:
        """The work ahead: ``solves`` integrations to ``tau_end`` each."""
        self.solves, self.tau_end, self.finished, self.tau = solves, float(tau_end), 0, 0.0

    @property
    def fraction(self) -> float:
        """The part of all the integrations' time done, in [0, 1]."""
        if self.tau_end <= 0.0:
            return 1.0
        return min(1.0, (self.finished + min(self.tau / self.tau_end, 1.0)) / max(self.solves, 1))

    def request_stop(self, signum: int) -> bool:
        """Stop at the next field evaluation, keeping the checkpoints reached; False if a stop was asked already."""
        if self.signum:
            return False
        self.signum = signum
        return True

    def _show(self) -> None:
        if self.report is not None:
            self.report(self)


class _Halt(Exception):
    """Raised in the field when a stop was requested: the step under way is abandoned."""


@dataclass
class Solution:
    """An integration's states at the times it reached.

    ``t`` holds the first ``len(t)`` of the requested times (all of them unless stopped); ``y`` is
    (states, len(t)); ``complete`` says whether it reached the last time.
    """

    t: np.ndarray
    y: np.ndarray
    nfev: int
    njev: int
    complete: bool


def solve(
    rhs: Any,
    y0: np.ndarray,
    taus: np.ndarray,
    method: str,
    rtol: float,
    atol: float,
    jac: Any = None,
    monitor: Monitor | None = None,
) -> Solution:
    """Integrate ``dy/dtau = rhs(tau, y)`` from 0 to ``taus[-1]``, dense at ``taus`` (increasing, the first 0).

    Parameters
    ----------
    rhs, y0
        The field and the initial state.
    taus : ndarray
        The report times.
    method, rtol, atol, jac
        ``solve_ivp``'s method name, tolerances and (implicit methods) Jacobian.
    monitor : Monitor, optional
        Told of every evaluation and step; a stop it requests ends the integration at the last
        accepted step (the solution then holds the times passed so far).

    Returns
    -------
    Solution

    Raises
    ------
    RuntimeError
        The integrator failed (its step size underflowed).
    """
    mon = monitor if monitor is not None else Monitor()

    def field(t: float, y: np.ndarray) -> np.ndarray:
        if mon.signum:
            raise _Halt
        out = rhs(t, y)
        mon.nfev += 1
        mon._show()
        return out

    taus = np.asarray(taus, float)
    mon.tau = 0.0
    ts: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    nfev = njev = 0
    done = 0  # report times passed
    solver: Any = None
    try:
        kw: dict[str, Any] = {} if jac is None else {"jac": jac}
        solver = ode_solver(method)(field, 0.0, np.asarray(y0, float), float(taus[-1]), rtol=rtol, atol=atol, **kw)
        while solver.status == "running":
            message = solver.step()
            if solver.status == "failed":
                raise RuntimeError(f"the mean-field integration failed at tau = {solver.t:.4g}: {message}")
            passed = int(np.searchsorted(taus, solver.t, side="right"))
            if passed > done:
                ts.append(taus[done:passed])
                ys.append(solver.dense_output()(taus[done:passed]))
                done = passed
            mon.tau = float(solver.t)
            mon._show()
    except _Halt:
        pass
    if solver is not None:
        nfev, njev = int(solver.nfev), int(solver.njev)
    complete = done == len(taus)
    if complete:
        mon.finished += 1
        mon.tau = 0.0
    t = np.concatenate(ts) if ts else taus[:0]
    y = np.hstack(ys) if ys else np.zeros((len(y0), 0))
    return Solution(t, y, nfev, njev, complete)
