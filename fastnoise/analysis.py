"""pandas helpers for fastnoise tables: load, aggregate over replicas, plateaus, log-log slopes.

The figures and ``fastnoise check`` use these same functions.

Examples
--------
>>> import fastnoise
>>> from fastnoise import analysis
>>> df = fastnoise.simulate(steps=100_000, replicas=4)
>>> summary = analysis.aggregate(df, "norm_1")            # median, quantiles, mean, sem by step
>>> level = analysis.plateau_level(df, "norm_1")          # per replica, last third of the run
>>> t = analysis.time_to_reach(df, "norm_1", 2 * level)   # per replica, first step at or below
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from .io import read_results

__all__ = ["load", "aggregate", "plateau_level", "time_to_reach", "loglog_fit", "replica_slopes"]


def load(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one table, or every ``*.parquet`` table below a folder (concatenated).

    Files whose name starts with ``.`` or ``_`` (temporary or bookkeeping files) are skipped.
    """
    path = Path(path)
    if path.is_file():
        return read_results(path)
    files = sorted(
        p for p in path.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not files:
        raise FileNotFoundError(f"no .parquet tables below {path}")
    frames = [read_results(f) for f in files]
    for f in frames:
        f.attrs = {}
    return pd.concat(frames, ignore_index=True)


def aggregate(
    df: pd.DataFrame, columns: str | Sequence[str], by: str | Sequence[str] = "step", quantiles: tuple[float, float] = (0.1, 0.9)
) -> pd.DataFrame:
    """Statistics over replicas: median, the two quantiles, mean and standard error of the mean.

    Returns a frame indexed by ``by`` with columns ``(column, stat)``.
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    g = df.groupby(by if isinstance(by, str) else list(by))[cols]
    lo, hi = quantiles
    parts = {
        "median": g.median(),
        f"q{lo:g}": g.quantile(lo),
        f"q{hi:g}": g.quantile(hi),
        "mean": g.mean(),
        "sem": g.sem(),
        "n": g.count(),
    }
    out = pd.concat(parts, axis=1)
    return out.swaplevel(0, 1, axis=1).sort_index(axis=1, level=0, sort_remaining=False)


def plateau_level(df: pd.DataFrame, column: str, tail: float = 1 / 3) -> pd.Series:
    """Per replica: the mean of ``column`` over the checkpoints in the last ``tail`` of the run."""
    last = df.step.max()
    sel = df[df.step >= (1 - tail) * last]
    return sel.groupby("replica")[column].mean()


def time_to_reach(df: pd.DataFrame, column: str, level: float | pd.Series) -> pd.Series:
    """Per replica: the first checkpoint step at which ``column <= level`` (NaN if never).

    ``level`` is one number or a Series indexed by replica.
    """
    out = {}
    for r, g in df.sort_values("step").groupby("replica"):
        lv = level[r] if isinstance(level, pd.Series) else level
        hit = g.step[g[column] <= lv]
        out[r] = float(hit.iloc[0]) if len(hit) else np.nan
    return pd.Series(out, name=f"time_to_{column}")


def loglog_fit(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float, float]:
    """Least-squares fit of log10(y) = slope * log10(x) + intercept; returns (slope, intercept, stderr).

    Points with a non-positive or non-finite coordinate are left out; with fewer than 2 left the
    result is NaN. The standard error is the usual OLS one (NaN with fewer than 3 points).
    """
    xa = np.asarray(x, float)
    ya = np.asarray(y, float)
    keep = (xa > 0) & (ya > 0) & np.isfinite(xa) & np.isfinite(ya)  # zeros and NaN have no logarithm
    lx = np.log10(xa[keep])
    ly = np.log10(ya[keep])
    if lx.size < 2:
        return float("nan"), float("nan"), float("nan")
    slope, intercept = np.polyfit(lx, ly, 1)
    if lx.size < 3:
        return float(slope), float(intercept), float("nan")
    resid = ly - (slope * lx + intercept)
    se = np.sqrt(np.sum(resid**2) / (lx.size - 2) / np.sum((lx - lx.mean()) ** 2))
    return float(slope), float(intercept), float(se)


def replica_slopes(table: pd.DataFrame, x: str, y: str) -> tuple[float, float, pd.Series]:
    """Log-log slope of ``y`` against ``x`` fitted separately for each replica.

    ``table`` has one row per (replica, x). Returns (mean slope, standard error over replicas,
    the per-replica slopes); replicas are independent, so the spread of their slopes is the
    error bar.
    """
    per_replica = table.dropna(subset=[y]).groupby("replica")
    # pandas-stubs 3.1 lack apply's ``include_groups`` (pandas >= 2.2) and take it for an argument of the lambda.
    slopes = per_replica.apply(lambda g: loglog_fit(g[x], g[y])[0], include_groups=False)  # type: ignore[call-overload]
    sem = float(slopes.std(ddof=1) / np.sqrt(len(slopes))) if len(slopes) > 1 else float("nan")
    return float(slopes.mean()), sem, slopes
