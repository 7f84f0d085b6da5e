"""Figs. 5-6 of the slides: learning a square among distractor coordinates of a cube, under label noise p."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

from ..engine import run
from ..io import concat_results
from ..plotting import band, save_figure
from .output import write_table

__all__ = ["CUBES", "CUBES_N", "CUBES_P", "cubes"]

#: Our defaults for the cubes task (the slides give only d = 60 and h = 1/d): a square (K = 2)
#: among 58 distractor coordinates, a finite training set, a wide two-layer net with bias, weights
#: U[-sqrt 3, sqrt 3] / sqrt(fan-in). Found by examples/explore_cubes.py and a follow-up: label
#: noise lowers the test error when the training set is small for the net (n = 1000, width 800),
#: and raises it once n = 2000; both are run and shown.
CUBES: dict[str, Any] = dict(
    model="twolayer", loss="logistic", bias=True, data="cube", d=60, cube_dims=2, width=800, init="fanin", n_test=5000
)
CUBES_P: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CUBES_N: tuple[int, ...] = (1000, 2000)


def cubes(out: Path, quick: bool = False, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """Figs. 5-6: learning a square in 60 dimensions with label noise p.

    Plots test error, training error on the clean labels and typical active neurons against p
    (at the end of training) for each training-set size, and the test error against steps for a
    few p. Reports, for each size, whether some p > 0 beats p = 0 by more than the replicas'
    spread: the difference of mean test errors exceeds 2 standard errors of that difference.
    """
    import matplotlib.pyplot as plt

    params: dict[str, Any] = dict(CUBES, lr=1 / 60, **overrides)
    ps: tuple[float, ...]
    ns: tuple[int, ...]
    if quick:
        ps, steps, R, ns = (0.0, 0.3, 0.6), 40_000, 2, (500,)
        params.update(width=50, n_test=1000)
    else:
        ps, steps, R, ns = CUBES_P, 300_000, 4, CUBES_N
    frames = []
    for n in ns:
        for i, p in enumerate(ps):
            frames.append(run(p=p, n_train=n, steps=steps, records=40, replicas=R, seed=seed + i, **params).table)
    data = concat_results(frames)
    write_table(data, out, "cubes")
    end = data[data.step == steps]
    summary: dict[str, Any] = {}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for j, n in enumerate(ns):
        e = end[end.n_train == n]
        band(axes[0], e, "error_test", f"n = {n}: test", f"C{j}", x="p")
        tr = e.groupby("p").error_train.median()
        axes[0].plot(tr.index, tr.values, "--", color=f"C{j}", label=f"n = {n}: training (clean labels)")
        band(axes[1], e, "active_mean", f"n = {n}", f"C{j}", x="p")
        m = e.groupby("p").error_test.agg(["mean", "var", "count"])  # indexed by p
        mean, var, count = m["mean"], m["var"], m["count"]
        best = float(cast(float, mean.idxmin()))
        gain = float(mean.loc[0.0] - mean.loc[best])
        se = math.sqrt(var.loc[0.0] / count.loc[0.0] + var.loc[best] / count.loc[best]) if R > 1 else float("nan")
        act = e.groupby("p").active_mean.median()
        summary[f"n={n}"] = {
            "error_test_p0": float(mean.loc[0.0]),
            "best_p": best,
            "error_test_best": float(mean.loc[best]),
            "gain": gain,
            "gain_2se": 2 * se,
            "noise_helps": bool(best > 0 and gain > 2 * se),
            "active_p0": float(act.loc[0.0]),
            "active_p0.5": float(act.loc[0.5]) if 0.5 in act.index else float("nan"),
        }
    axes[0].set_xlabel("label noise p")
    axes[0].set_ylabel("classification error")
    axes[0].set_title("(a) errors at the end of training")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("label noise p")
    axes[1].set_ylabel(f"active neurons per input (of {params['width']})")
    axes[1].set_title("(b) sparsity of the hidden layer")
    axes[1].legend(fontsize=8)
    sub0 = data[(data.n_train == ns[0]) & (data.step > 0)]
    for j, p in enumerate(ps[:: max(1, len(ps) // 4)]):
        band(axes[2], sub0[sub0.p == p], "error_test", f"p = {p:g}", f"C{j}")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("SGD step")
    axes[2].set_ylabel("test error")
    axes[2].set_title(f"(c) test error during training, n = {ns[0]}")
    axes[2].legend(fontsize=8)
    fig.suptitle(
        f"Figs. 5-6: a square among {params['d'] - params['cube_dims']} distractors (d = {params['d']}), "
        f"width {params['width']}, "
        f"cross-entropy, h = 1/60, {steps:.0e} steps, {R} replicas"
    )
    summary["figures"] = save_figure(fig, out, "cubes", ("png", "pdf"))
    return summary
