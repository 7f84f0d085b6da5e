"""pandas helpers for fastnoise tables: load, aggregate over replicas, plateaus, log-log slopes.

The figures and ``fastnoise check`` use these same functions. A table may hold several
configurations (a sweep folder, or runs concatenated): every helper then works per configuration
and labels its result with the parameters that differ (:func:`config_key`); it never averages
different configurations together. On a table of one configuration the results are indexed as
they always were (by step, or by replica).

Examples
--------
>>> import fastnoise
>>> import pandas as pd
>>> from fastnoise import analysis
>>> df = fastnoise.simulate(steps=100_000, replicas=4)
>>> summary = analysis.aggregate(df, "norm_1")            # median, quantiles, mean, sem by step
>>> level = analysis.plateau_level(df, "norm_1")          # per replica, last third of the run
>>> t = analysis.time_to_reach(df, "norm_1", 2 * level)   # per replica, first step at or below
>>> both = pd.concat([df, fastnoise.simulate(steps=100_000, replicas=4, p=0.5)])
>>> analysis.config_key(both)                             # ['p']: what tells the configurations apart
>>> analysis.plateau_level(both, "norm_1")                # indexed by (p, replica)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .io import read_results
from .options import OPTION

__all__ = [
    "ID_COLUMNS",
    "load",
    "parameter_columns",
    "varying_parameters",
    "config_key",
    "configs",
    "select",
    "aggregate",
    "plateau_level",
    "time_to_reach",
    "loglog_fit",
    "replica_slopes",
    "config_slopes",
]

#: Columns that name one configuration exactly when a table has them: ``config_id`` (a run's
#: configuration) and ``cell`` (a sweep fragment's cell id).
ID_COLUMNS = ("config_id", "cell")
#: The column that tells a mean-field table's rows (``fastnoise meanfield``) from a simulation's.
SOURCE_COLUMN = "source"


def load(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one table, or every ``*.parquet`` table below a folder (concatenated).

    Files whose name starts with ``.`` or ``_`` (temporary or bookkeeping files) are skipped.
    A folder named ``key=value`` (a sweep partitioned on ``key``) gives its tables the column
    ``key`` (text) unless they have it.
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
    for file, f in zip(files, frames, strict=True):
        f.attrs = {}
        for part in file.relative_to(path).parts[:-1]:
            key, sep, value = part.partition("=")
            if sep and key and key not in f.columns:
                f[key] = value
    return pd.concat(frames, ignore_index=True)


def parameter_columns(df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` that describe a run's configuration.

    They are the :class:`~fastnoise.config.RunConfig` fields that are columns of the table (in
    the declaration's order), then ``source`` (a mean-field table's rows say ``meanfield``: a flow
    is never pooled with the simulations of its configuration) and ``config_id`` and ``cell``
    (:data:`ID_COLUMNS`) if present.
    """
    extra = [c for c in (SOURCE_COLUMN,) if c in df.columns]
    return [c for c in OPTION if c in df.columns] + extra + [c for c in ID_COLUMNS if c in df.columns]


def _varies(s: pd.Series) -> bool:
    """Whether ``s`` takes more than one value, a null counting as a value."""
    null = s.isna()
    if null.any():
        return not null.all()
    try:
        return bool(s.nunique() > 1)
    except TypeError:  # unhashable values (lists)
        return bool(s.astype(str).nunique() > 1)


def varying_parameters(df: pd.DataFrame) -> list[str]:
    """The parameter columns (:func:`parameter_columns`) whose value differs between rows.

    A null counts as a value: a column that is null in some rows and 7 in others varies.

    Parameters
    ----------
    df : pandas.DataFrame
        A run table, several concatenated, or a sweep folder read by :func:`load`.

    Returns
    -------
    list of str
        In :func:`parameter_columns`' order; empty for a table of one configuration.
    """
    return [c for c in parameter_columns(df) if _varies(df[c])]


def _function_of(df: pd.DataFrame, key: list[str], col: str) -> bool:
    """Whether ``col`` takes a single value (nulls included) for each value of ``key``."""
    if not key:
        return not _varies(df[col])
    return bool((df.groupby(key, dropna=False, sort=False)[col].nunique(dropna=False) <= 1).all())


def config_key(df: pd.DataFrame) -> list[str]:
    """The columns whose values identify one configuration of ``df``: group by them to separate configurations.

    These are the varying parameters (:func:`varying_parameters`) other than the id columns,
    plus ``config_id`` / ``cell`` when they vary and the parameters alone do not tell their values
    apart (two cells that differ only in a parameter the table lacks). With an id column the key
    therefore identifies each configuration exactly.

    Returns
    -------
    list of str
        Empty for a table of one configuration.
    """
    varying = varying_parameters(df)
    key = [c for c in varying if c not in ID_COLUMNS]
    for c in ID_COLUMNS:
        if c in varying and not _function_of(df, key, c):
            key.append(c)
    return key


def configs(df: pd.DataFrame) -> pd.DataFrame:
    """The configurations in ``df``: one row per configuration, one column per :func:`config_key` column.

    A table of one configuration gives one row and no column.
    """
    key = config_key(df)
    if not key:
        return pd.DataFrame(index=pd.RangeIndex(1))
    return df[key].drop_duplicates().reset_index(drop=True)


def _matches(s: pd.Series, value: Any) -> npt.NDArray[np.bool_]:
    """Rows of ``s`` equal to ``value`` (``None``: null rows; a tuple for ``widths``: its text ``64,32``)."""
    if value is None:
        return s.isna().to_numpy(bool)
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value)
    try:
        eq = s == value
    except TypeError:  # a type the column cannot compare with: no row matches
        return np.zeros(len(s), bool)
    return eq.fillna(False).to_numpy(bool)


def select(df: pd.DataFrame, conditions: Mapping[str, Any] | None = None, **columns: Any) -> pd.DataFrame:
    """The rows of ``df`` whose columns have the given values.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.
    conditions : mapping, optional
        Column name -> value; a list of values means any of them; ``None`` matches a null.
    **columns
        More conditions, as keywords (``select(df, p=0.5, lr=[1e-3, 1e-2])``).

    Returns
    -------
    pandas.DataFrame
        The rows meeting every condition (possibly none).

    Raises
    ------
    KeyError
        A condition names a column that ``df`` does not have.
    """
    wanted = {**(conditions or {}), **columns}
    mask = np.ones(len(df), bool)
    for col, want in wanted.items():
        if col not in df.columns:
            raise KeyError(f"{col!r} is not a column of the table")
        values = list(want) if isinstance(want, list | set | frozenset) else [want]
        hit = np.zeros(len(df), bool)
        for v in values:
            hit |= _matches(df[col], v)
        mask &= hit
    return df[mask]


def aggregate(
    df: pd.DataFrame, columns: str | Sequence[str], by: str | Sequence[str] = "step", quantiles: tuple[float, float] = (0.1, 0.9)
) -> pd.DataFrame:
    """Statistics over replicas: median, the two quantiles, mean and standard error of the mean.

    Returns a frame indexed by ``by`` with columns ``(column, stat)``; when ``df`` holds several
    configurations, indexed by the :func:`config_key` columns (those not in ``by``) and then ``by``,
    each configuration on its own.
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    by_cols = [by] if isinstance(by, str) else list(by)
    key = [c for c in config_key(df) if c not in by_cols]
    grouped_by: Any = [*key, *by_cols] if key else (by if isinstance(by, str) else list(by))
    g = df.groupby(grouped_by, dropna=not key)[cols]  # a null parameter is a configuration of its own
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
    """Per replica: the mean of ``column`` over the checkpoints in the last ``tail`` of the run.

    Indexed by replica; when ``df`` holds several configurations, by the :func:`config_key` columns
    and replica, each configuration's tail measured on its own last step.
    """
    key = config_key(df)
    if not key:
        last = df.step.max()
        sel = df[df.step >= (1 - tail) * last]
        return sel.groupby("replica")[column].mean()
    last_of_config = df.groupby(key, dropna=False)["step"].transform("max")
    sel = df[df.step >= (1 - tail) * last_of_config]
    return sel.groupby([*key, "replica"], dropna=False)[column].mean()


def time_to_reach(df: pd.DataFrame, column: str, level: float | pd.Series) -> pd.Series:
    """Per replica: the first checkpoint step at which ``column <= level`` (NaN if never).

    ``level`` is one number or a Series indexed like the result: by replica, or, when ``df``
    holds several configurations, by the :func:`config_key` columns and replica (as
    :func:`plateau_level` returns it).

    Raises
    ------
    ValueError
        ``df`` holds several configurations and ``level`` is a Series not indexed by them.
    """
    key = config_key(df)
    if not key:
        out = {}
        for r, g in df.sort_values("step").groupby("replica"):
            lv = level[r] if isinstance(level, pd.Series) else level
            hit = g.step[g[column] <= lv]
            out[r] = float(hit.iloc[0]) if len(hit) else np.nan
        return pd.Series(out, name=f"time_to_{column}")
    names = [*key, "replica"]
    if isinstance(level, pd.Series) and list(level.index.names) != names:
        raise ValueError(
            f"the table holds {len(configs(df))} configurations (they differ in {', '.join(key)}); "
            f"level must be one number or a Series indexed by ({', '.join(names)}), as plateau_level returns it; "
            f"got one indexed by ({', '.join(str(n) for n in level.index.names)})"
        )
    grouped = df.sort_values("step").groupby(names, dropna=False)
    groups = list(grouped)
    index = grouped.size().index  # the groups' keys in iteration order, typed as plateau_level's index
    levels = level.reindex(index).to_numpy(float) if isinstance(level, pd.Series) else np.full(len(groups), float(level))
    times = []
    for (_, g), lv in zip(groups, levels, strict=True):
        hit = g.step[g[column] <= lv]
        times.append(float(hit.iloc[0]) if len(hit) else np.nan)
    return pd.Series(times, index=index, name=f"time_to_{column}")


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


def _series_key(table: pd.DataFrame, x: str) -> list[str]:
    """The parameters that split ``table`` into separate series along ``x``.

    The varying parameters other than ``x``, the id columns (each point along ``x`` is its own
    configuration) and those that follow from ``x`` (one value per value of ``x``, such as a run
    length chosen from the step size).
    """
    return [c for c in varying_parameters(table) if c != x and c not in ID_COLUMNS and not _function_of(table, [x], c)]


def _check_one_row_per_point(table: pd.DataFrame, key: list[str], x: str) -> None:
    """Refuse a table with several rows for one (series, replica, x): fitting them would pool configurations."""
    dup = table.duplicated([*key, "replica", x], keep=False)
    if dup.any():
        row = table[dup].iloc[0]
        where = ", ".join(f"{c}={row[c]}" for c in [*key, "replica", x])
        raise ValueError(
            f"the table has {int(dup.sum())} rows that share (replica, {x}) within a series (e.g. {where}); "
            f"give one row per (replica, {x}): select one configuration or step first"
        )


def _slopes(table: pd.DataFrame, x: str, y: str) -> pd.Series:
    per_replica = table.groupby("replica")
    # pandas-stubs 3.1 lack apply's ``include_groups`` (pandas >= 2.2) and take it for an argument of the lambda.
    return per_replica.apply(lambda g: loglog_fit(g[x], g[y])[0], include_groups=False)  # type: ignore[call-overload]


def _mean_sem(slopes: pd.Series) -> tuple[float, float]:
    sem = float(slopes.std(ddof=1) / np.sqrt(len(slopes))) if len(slopes) > 1 else float("nan")
    return float(slopes.mean()), sem


def replica_slopes(table: pd.DataFrame, x: str, y: str) -> tuple[float, float, pd.Series]:
    """Log-log slope of ``y`` against ``x`` fitted separately for each replica.

    ``table`` has one row per (replica, x). Returns (mean slope, standard error over replicas,
    the per-replica slopes); replicas are independent, so the spread of their slopes is the
    error bar. Parameters that follow from ``x`` (one value per ``x``) may vary; a table holding
    several series (another parameter varies too) is refused: use :func:`config_slopes`.

    Raises
    ------
    ValueError
        Several series, or several rows for one (replica, x).
    """
    data = table.dropna(subset=[y])
    key = _series_key(data, x)
    if key:
        raise ValueError(
            f"the table holds several series along {x} (they differ in {', '.join(key)}); "
            "select one (analysis.select) or use analysis.config_slopes for one slope per series"
        )
    _check_one_row_per_point(data, [], x)
    slopes = _slopes(data, x, y)
    mean, sem = _mean_sem(slopes)
    return mean, sem, slopes


def config_slopes(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """:func:`replica_slopes` for each series of ``table``: one row per value of the other varying parameters.

    Returns
    -------
    pandas.DataFrame
        Columns ``slope`` (mean over replicas), ``sem`` and ``n`` (replicas), indexed by the
        parameters that vary other than ``x`` and those following from it (one row, index 0,
        for a single series).
    """
    data = table.dropna(subset=[y])
    key = _series_key(data, x)
    _check_one_row_per_point(data, key, x)
    rows = []
    for g in [data] if not key else [g for _, g in data.groupby(key, dropna=False)]:
        slopes = _slopes(g, x, y)
        mean, sem = _mean_sem(slopes)
        rows.append({**{c: g[c].iloc[0] for c in key}, "slope": mean, "sem": sem, "n": len(slopes)})
    out = pd.DataFrame(rows)
    return out.set_index(key) if key else out
