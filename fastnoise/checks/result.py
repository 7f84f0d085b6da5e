"""The result model of the theorem checks: report rows, a check's result, and the shared judging helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import analysis

__all__ = ["EPS", "CheckResult", "Row"]

EPS = np.finfo(np.float64).eps


@dataclass
class Row:
    """One line of a check's report. ``passed`` is None for what is reported but not asserted."""

    check: str
    setting: str
    prediction: str
    measured: str
    tolerance: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        """The row's verdict as the report prints it: ``pass``, ``FAIL`` or ``report``."""
        return {True: "pass", False: "FAIL", None: "report"}[self.passed]


@dataclass
class CheckResult:
    """A check's rows, its measurements, and a function drawing its plot into a folder."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    plot: Callable[[Path], Path] | None = None

    @property
    def passed(self) -> bool:
        """Whether no row failed (rows that are only reported do not count)."""
        return all(r.passed is not False for r in self.rows)

    def add(self, setting: str, prediction: str, measured: str, tolerance: str, passed: bool | None) -> None:
        """Append a row to the report.

        Parameters
        ----------
        setting : str
            The parameters the row is about (``k=100, h=1/k``).
        prediction : str
            What the theory says.
        measured : str
            What the runs gave.
        tolerance : str
            How close counts as agreeing.
        passed : bool or None
            The verdict (any truthy value counts as ``True``); None for a row that is only reported.
        """
        self.rows.append(Row(self.name, setting, prediction, measured, tolerance, None if passed is None else bool(passed)))

    def failures(self) -> str:
        """The failed rows, each saying what was expected and what was measured."""
        return "\n".join(
            f"{r.check} [{r.setting}]: expected {r.prediction} ({r.tolerance}), measured {r.measured}"
            for r in self.rows
            if r.passed is False
        )


def _slope_row(res: CheckResult, data: pd.DataFrame, axis: str, y: str, expected: float, what: str, tol: float = 0.1) -> float:
    """Add a row asserting the log-log slope of ``y`` against ``axis`` (mean over replicas); returns the slope."""
    sub = data[data.axis == axis]
    slope, sem, _ = analysis.replica_slopes(sub, axis, y)
    xs = sorted(sub[axis].unique())
    ok = abs(slope - expected) <= tol and np.isfinite(slope)
    res.add(
        f"{what} vs {axis}, {axis} in [{xs[0]:g}, {xs[-1]:g}] ({len(xs)} points, {sub.replica.nunique()} replicas)",
        f"log-log slope {expected:+g}",
        f"{slope:+.3f} +- {sem:.3f} (s.e. over replicas)",
        f"+- {tol}",
        ok,
    )
    return slope
