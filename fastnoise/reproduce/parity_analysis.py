"""The measures of ``reproduce parity``, computed from its run tables.

- :func:`learn_times`: each replica's time to learn (the first checkpoint with test error below a
  level), NaN and ``censored`` when it never gets there within its run;
- :func:`exponent`: time ~ d^alpha from the medians over replicas (least squares in log-log),
  with a bootstrap interval over replicas;
- :func:`learn_forget`: per replica of a noisy run, whether it learns, the fraction of the late
  checkpoints (the last half of the run) at which it is learned, how many times it forgets (a
  test error below :data:`LEARNED` followed, before the next such, by one above :data:`FORGOTTEN`),
  and the late medians of the norms and active neurons;
- :func:`fraction_learned_by`: the fraction of replicas learned by given step budgets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["FORGOTTEN", "LEARNED", "MECHANISM", "exponent", "fraction_learned_by", "learn_forget", "learn_times", "quantiles"]

#: Test error below which a replica counts as having learned the parity.
LEARNED = 0.05
#: Test error above which a replica that had learned counts as having forgotten (chance is 50 %).
FORGOTTEN = 0.40
#: The slides' mechanism, read beside the errors: both layers' norms and the active neurons.
MECHANISM: tuple[str, ...] = ("norm_1", "norm_2", "active_mean", "dead")


def learn_times(df: pd.DataFrame, by: Sequence[str], level: float = LEARNED) -> pd.DataFrame:
    """Each replica's first checkpoint step with ``error_test < level``.

    Parameters
    ----------
    df : DataFrame
        Run rows with ``replica``, ``step``, ``error_test`` and the columns ``by``.
    by : sequence of str
        The columns that tell the runs apart (``["k", "d"]``).
    level : float
        The test error below which a replica has learned.

    Returns
    -------
    DataFrame
        One row per run and replica: ``by``, ``replica``, ``t_learn`` (NaN when never),
        ``budget`` (the run's last step) and ``censored``.
    """
    rows = []
    for key, g in df.sort_values("step").groupby([*by, "replica"], sort=True):
        below = g.step[g.error_test < level]
        t = float(below.iloc[0]) if len(below) else math.nan
        rows.append((*key, t, int(g.step.max()), not len(below)))
    return pd.DataFrame(rows, columns=[*by, "replica", "t_learn", "budget", "censored"])


def quantiles(t: np.ndarray, qs: Sequence[float] = (0.1, 0.5, 0.9)) -> list[float]:
    """Quantiles of times to learn with the censored ones as +inf (an observed order statistic, no interpolation)."""
    x = np.where(np.isfinite(t), t, np.inf)
    return [float(np.quantile(x, q, method="inverted_cdf")) for q in qs]


def exponent(times: pd.DataFrame, x: str = "d", boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """Fit time ~ x^alpha to the median time to learn at each ``x`` (censored replicas count as +inf).

    Parameters
    ----------
    times : DataFrame
        :func:`learn_times` rows of one series (one k): ``x``, ``t_learn``.
    x : str
        The column along which to fit.
    boot : int
        Bootstrap resamples of the replicas at each ``x`` (the median recomputed, the fit redone).
    seed : int
        The bootstrap's seed.

    Returns
    -------
    dict
        ``alpha``, ``log10_c`` (time = 10^log10_c x^alpha), ``alpha_lo`` and ``alpha_hi`` (the
        bootstrap's 2.5 and 97.5 % points), ``points`` (the x with a finite median, which the fit
        uses) and ``boot_dropped`` (the fraction of resamples in which some median was censored
        and its x left out of that resample's fit).
    """
    t_all = times.t_learn.to_numpy(float)
    x_all = times[x].to_numpy(float)
    groups = [(v, np.where(np.isfinite(t_all), t_all, np.inf)[x_all == v]) for v in np.unique(x_all)]
    xs = np.array([v for v, _ in groups])
    med = np.array([np.median(t) for _, t in groups])
    keep = np.isfinite(med)
    if keep.sum() < 2:
        return dict(
            alpha=math.nan, log10_c=math.nan, alpha_lo=math.nan, alpha_hi=math.nan, points=int(keep.sum()), boot_dropped=0.0
        )
    alpha, c = np.polyfit(np.log10(xs[keep]), np.log10(med[keep]), 1)
    rng = np.random.default_rng(seed)
    alphas, dropped = [], 0
    for _ in range(boot):
        m = np.array([np.median(rng.choice(t, size=len(t), replace=True)) for _, t in groups])
        ok = keep & np.isfinite(m)
        dropped += int(ok.sum() < keep.sum())
        if ok.sum() >= 2:
            alphas.append(np.polyfit(np.log10(xs[ok]), np.log10(m[ok]), 1)[0])
    lo, hi = np.quantile(alphas, [0.025, 0.975]) if alphas else (math.nan, math.nan)
    return dict(
        alpha=float(alpha),
        log10_c=float(c),
        alpha_lo=float(lo),
        alpha_hi=float(hi),
        points=int(keep.sum()),
        boot_dropped=dropped / boot,
    )


def _forgets(errors: np.ndarray, learned: float, forgotten: float) -> int:
    """How many times a learned state (error < ``learned``) is followed by error > ``forgotten`` before learning again."""
    count, state = 0, False
    for e in errors:
        if e < learned:
            state = True
        elif e > forgotten and state:
            count += 1
            state = False
    return count


def learn_forget(df: pd.DataFrame, by: Sequence[str], learned: float = LEARNED, forgotten: float = FORGOTTEN) -> pd.DataFrame:
    """Per run and replica: learned at all, when first, how long it stays learned late, how often it forgets.

    Parameters
    ----------
    df : DataFrame
        Run rows (``replica``, ``step``, ``lr``, ``error_test`` and :data:`MECHANISM`) with the columns ``by``.
    by : sequence of str
        The columns that tell the runs apart.
    learned, forgotten : float
        The test errors that define learned (below) and forgotten (above).

    Returns
    -------
    DataFrame
        ``by``, ``replica``, ``learned`` (bool), ``tau_first`` (h times the first learned step;
        NaN if never), ``late_learned`` (the fraction of checkpoints in the last half of the run
        below ``learned``), ``forgets``, ``tau`` (h times the run's steps), and the medians over
        the last half of each :data:`MECHANISM` column (``<col>_late``).
    """
    rows = []
    for key, g in df.sort_values("step").groupby([*by, "replica"], sort=True):
        e = g.error_test.to_numpy(float)
        h, steps = float(g.lr.iloc[0]), int(g.step.max())
        late = g[g.step >= steps / 2]
        below = np.flatnonzero(e < learned)
        row = dict(zip([*by, "replica"], key, strict=True))
        row.update(
            learned=bool(len(below)),
            tau_first=h * float(g.step.iloc[below[0]]) if len(below) else math.nan,
            late_learned=float((late.error_test < learned).mean()),
            forgets=_forgets(e, learned, forgotten),
            tau=h * steps,
        )
        row.update({f"{c}_late": float(late[c].median()) for c in MECHANISM})
        rows.append(row)
    return pd.DataFrame(rows)


def fraction_learned_by(times: pd.DataFrame, by: Sequence[str], budgets: Sequence[int]) -> pd.DataFrame:
    """The fraction of replicas of each run with ``t_learn <= b`` for each budget ``b`` (a column ``by_<b>``)."""
    rows = []
    for key, g in times.groupby(list(by), sort=False):
        t = g.t_learn.to_numpy(float)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({f"by_{b:g}": float((t <= b).mean()) for b in budgets})  # NaN (censored) compares False
        rows.append(row)
    return pd.DataFrame(rows)
