"""Theorem 5 (step size and sparsification): the zero coordinates of ReLU(M e_i) against h, hidden layer only."""

from __future__ import annotations

import math
from typing import cast

import pandas as pd

from ..engine import run
from . import plots
from .result import CheckResult

__all__ = ["check_sparsify"]

_D = 10


def _measure(mode: str, seed: int) -> pd.DataFrame:
    """Per k, step size and replica: the mean and largest zero fraction of ReLU(M e_i) at the end."""
    quick = mode == "quick"
    ks = [100, 1000, 10000] if quick else [100, 1000, 10000, 100000]
    per_input = 1000 if quick else 2000
    R = 4 if quick else 8
    recs = []
    for k in ks:
        for label, h in (("1/(4k)", 1 / (4 * k)), ("1/k", 1 / k), ("1/2", 0.5), ("1", 1.0), ("2", 2.0)):
            steps = _D * per_input
            df = run(
                model="twolayer",
                train="hidden",
                width=2 * k,
                d=_D,
                data="basis",
                init_scale=1.0,
                lr=h,
                p=1.0,
                steps=steps,
                records=2,
                replicas=R,
                seed=seed,
            ).table
            last = df[df.step == steps]
            for _, row in last.iterrows():
                recs.append(
                    dict(
                        k=k,
                        h_label=label,
                        h=h,
                        replica=int(row.replica),
                        zero_frac_mean=1 - row.active_mean / (2 * k),
                        zero_frac_max=1 - row.active_min / (2 * k),
                        all_zero=row.active_mean == 0,
                        none_zero=row.active_min > 0,
                    )
                )
    return pd.DataFrame(recs)


def _judge(data: pd.DataFrame) -> CheckResult:
    """Rows per k and h: all zero for h >= 1, none zero and at most about half zero for h <= 1/k."""
    res = CheckResult("sparsify", "Step size and sparsification (Theorem 5)")
    for key, gk in data.groupby("k"):
        k = cast(int, key)  # the width parameter: an integer column
        for label, g in gk.groupby("h_label", sort=False):
            h = g.h.iloc[0]
            if h >= 1:
                res.add(
                    f"k={k}, h={label}",
                    "every ReLU(M e_i) = 0",
                    f"{int(g.all_zero.sum())}/{len(g)} replicas all zero",
                    "all replicas",
                    bool(g.all_zero.all()),
                )
            elif h <= 1 / k:
                tol = 0.5 + 3 / math.sqrt(2 * k)
                res.add(
                    f"k={k}, h={label}",
                    "no ReLU(M e_i) = 0",
                    f"{int(g.none_zero.sum())}/{len(g)} replicas with none zero",
                    "all replicas",
                    bool(g.none_zero.all()),
                )
                res.add(
                    f"k={k}, h={label}",
                    "zero coordinates of ReLU(M e_i) <= k + o(k) of 2k",
                    f"max fraction {g.zero_frac_max.max():.4f}, mean {g.zero_frac_mean.mean():.4f}",
                    f"<= 1/2 + 3/sqrt(2k) = {tol:.4f}",
                    g.zero_frac_max.max() <= tol,
                )
            else:
                res.add(
                    f"k={k}, h={label}",
                    "between the regimes (not covered)",
                    f"zero fraction {g.zero_frac_mean.mean():.3f}, "
                    f"an all-zero input in {int((g.zero_frac_max == 1).sum())}/{len(g)} replicas",
                    "reported",
                    None,
                )
    trend = data[data.h_label == "1/k"].groupby("k").zero_frac_mean.mean()
    res.add(
        "h = 1/k, mean zero fraction vs k",
        "tends to at most 1/2",
        ", ".join(f"k={k}: {v:.4f}" for k, v in trend.items()),
        "reported",
        None,
    )
    res.data = data
    return res


def check_sparsify(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 5: step size and sparsification (hidden layer only, V = +-1, basis inputs, hinge).

    Width 2k, M ~ U[-1, 1], pure noise on e_1..e_d (d = 10), 1000 (quick) or 2000 (full) steps
    per input. (Each input's hidden pattern settles within a few hundred steps: its updates move
    all units of one sign together, so N(e_i) soon oscillates about 0 and nothing more dies.)
    h >= 1: every ReLU(M e_i) = 0 in every replica. h <= 1/k: no ReLU(M e_i) is 0, and the
    fraction of its zero coordinates is at most 1/2 + 3/sqrt(2k) (4 binomial standard
    deviations of the initial half, plus room for the units that die while N(e_i) settles; o(1)).
    The mean zero fraction is shown against k to show the trend; h = 1/2 is reported.

    Parameters
    ----------
    mode : {"quick", "full"}
        k up to 1e4 with 4 replicas, or up to 1e5 with 8.
    seed : int
        Seed of the runs.

    Returns
    -------
    CheckResult
        Rows per k and step size, and the trend in k; ``plot`` draws ``sparsify.png``.
    """
    data = _measure(mode, seed)
    res = _judge(data)
    res.plot = lambda folder: plots.plot_sparsify(data, folder)
    return res
