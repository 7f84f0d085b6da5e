"""Minibatches (``--batch b``): the pure-noise single neuron's plateau against b, against ``theory.neuron_batch_plateau``.

The hinge neuron's plateau is predicted exactly (the stationary mean of |V|: 1/b with a finite-d
flattening), the cross-entropy neuron's to leading order in h (1/sqrt(b)). The check measures the
plateau per replica for b in {1, 2, 4, 16}, judges the log-log slope against b and each level
against the prediction with tolerances derived from the replicas' spread (sigma / sqrt(R)), and
draws ``batch-neuron.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis, theory
from ..engine import run
from ..plotting import save_figure
from .result import CheckResult

__all__ = ["BATCHES", "K_SE", "check_batch_neuron"]

#: The minibatch sizes of the check.
BATCHES: tuple[int, ...] = (1, 2, 4, 16)

#: Tolerances are K_SE standard errors of the replicas' mean (sigma / sqrt(R)).
K_SE = 4.0


def _series(mode: str) -> list[dict[str, Any]]:
    """The (loss, d, h) series, each run at every b, with their run length and initial norm.

    Runs start at |V0| = 1, above every plateau here; the last third of the run, after the descent
    (hinge: sqrt(2 pi)/h = 250 steps at h = 0.01) and many relaxation times (hinge: about
    (pi/2) d / b steps; cross-entropy: 4/h), is averaged.
    """
    if mode == "quick":
        return [
            dict(loss="hinge", d=10, lr=0.01, steps=6_000),
            dict(loss="logistic", d=30, lr=0.01, steps=8_000),
        ]
    return [
        dict(loss="hinge", d=10, lr=0.01, steps=40_000),
        dict(loss="hinge", d=30, lr=0.01, steps=40_000),
        dict(loss="hinge", d=100, lr=0.01, steps=40_000),
        dict(loss="logistic", d=30, lr=0.01, steps=40_000),
        dict(loss="logistic", d=30, lr=0.003, steps=120_000),
    ]


def _measure(mode: str, seed: int) -> pd.DataFrame:
    """Per series, b and replica: the plateau (mean |V| over the last third of the run) and the prediction."""
    R = 16 if mode == "quick" else 64
    out = []
    i = 0
    for s in _series(mode):
        for b in BATCHES:
            df = run(
                model="neuron",
                loss=s["loss"],
                d=s["d"],
                lr=s["lr"],
                p=1.0,
                batch=b,
                init_norm=1.0,
                steps=s["steps"],
                records=100,
                record_spacing="linear",
                replicas=R,
                seed=seed + i,
            ).table
            i += 1
            plateau = analysis.plateau_level(df, "norm_1")
            pred = theory.neuron_batch_plateau(s["d"], s["lr"], b, s["loss"])
            for r, v in zip(plateau.index, plateau.to_numpy(float), strict=True):
                out.append(dict(loss=s["loss"], d=s["d"], lr=s["lr"], batch=b, replica=int(r), plateau=float(v), predicted=pred))
    return pd.DataFrame(out)


def _series_key(key: Any) -> tuple[str, int, float]:
    """A ``groupby(["loss", "d", "lr"])`` key as typed values."""
    loss, d, h = key
    return str(loss), int(d), float(h)


def _model_allowance(loss: str, d: int, h: float) -> float:
    """The slope error the prediction itself may carry: 0 for the hinge (exact), the O(h d/b) term for cross-entropy.

    Cross-entropy: the level's relative correction is about h d/(8 b) (theory's docstring); its
    log-log slope over :data:`BATCHES` is the allowance.
    """
    if loss == "hinge":
        return 0.0
    slope, _, _ = analysis.loglog_fit(list(BATCHES), [1.0 + h * d / (8.0 * b) for b in BATCHES])
    return abs(slope)


def _judge(data: pd.DataFrame) -> CheckResult:
    """Per series: the slope against b (asserted), each b's level (asserted for the hinge), the naive laws (reported)."""
    res = CheckResult("batch-neuron", "Single neuron, pure noise, minibatches of b samples: plateau vs b")
    for key, g in data.groupby(["loss", "d", "lr"], sort=False):
        loss, d, h = _series_key(key)
        R = g.replica.nunique()
        slope, sem, _ = analysis.replica_slopes(g[["replica", "batch", "plateau"]], "batch", "plateau")
        pred_slope = analysis.loglog_fit(list(BATCHES), [theory.neuron_batch_plateau(d, h, b, loss) for b in BATCHES])[0]
        allow = _model_allowance(loss, d, h)
        tol = K_SE * sem + allow
        law = "exact stationary mean" if loss == "hinge" else "mean-field, small h d/b"
        setting = f"{loss}, d={d}, h={h:g}, b in {{{', '.join(map(str, BATCHES))}}} ({R} replicas)"
        res.add(
            f"plateau vs b, {setting}",
            f"log-log slope {pred_slope:+.3f} (theory.neuron_batch_plateau, {law})",
            f"{slope:+.4f} +- {sem:.4f} (s.e. over replicas)",
            f"+- {K_SE:g} s.e. = {K_SE * sem:.4f}" + (f" + model {allow:.4f}" if allow else ""),
            bool(np.isfinite(slope) and abs(slope - pred_slope) <= tol),
        )
        naive = {"1/b": -1.0, "1/sqrt(b)": -0.5}
        res.add(
            f"naive laws, {loss}, d={d}, h={h:g}",
            ", ".join(f"{k}: slope {v:+g}" for k, v in naive.items()),
            ", ".join(f"{k}: {abs(slope - v) / sem:.1f} s.e. away" for k, v in naive.items()),
            "reported",
            None,
        )
        for b, gb in g.groupby("batch"):
            pred = float(gb.predicted.iloc[0])
            ratio = gb.plateau / pred
            m = float(ratio.mean())
            se = float(ratio.std(ddof=1) / math.sqrt(len(ratio)))
            res.add(
                f"plateau level, {loss}, d={d}, h={h:g}, b={b}",
                f"{pred:.5g} ({law})",
                f"{m * pred:.5g}, ratio {m:.4f} +- {se:.4f}",
                f"ratio 1 +- {K_SE:g} s.e. = {K_SE * se:.4f}" if loss == "hinge" else "reported",
                bool(abs(m - 1.0) <= K_SE * se) if loss == "hinge" else None,
            )
    res.data = data
    return res


def plot_batch(data: pd.DataFrame, folder: Path) -> Path:
    """``batch-neuron.png``: the plateau against b per series (replica band, prediction, naive laws) and measured / predicted.

    Parameters
    ----------
    data : DataFrame
        The check's measurements (``loss``, ``d``, ``lr``, ``batch``, ``replica``, ``plateau``, ``predicted``).
    folder : Path
        Where to save.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    bs = np.array(BATCHES, float)
    fine = np.geomspace(bs[0], bs[-1], 50)
    for i, (key, g) in enumerate(data.groupby(["loss", "d", "lr"], sort=False)):
        loss, d, h = _series_key(key)
        c = f"C{i}"
        q = g.groupby("batch").plateau.quantile(np.array([0.1, 0.5, 0.9])).unstack()
        axes[0].fill_between(q.index, q[0.1], q[0.9], color=c, alpha=0.25, lw=0)
        axes[0].plot(q.index, q[0.5], "o", color=c, label=f"{loss}, d={d}, h={h:g}: measured")
        axes[0].plot(fine, [theory.neuron_batch_plateau(d, h, b, loss) for b in fine], "-", color=c, lw=1, label="prediction")
        top = float(q[0.5].iloc[0])
        axes[0].plot(bs, top * bs**-1.0, "--", color="0.5", lw=0.8, label="1/b, 1/sqrt(b) from b = 1" if i == 0 else None)
        axes[0].plot(bs, top * bs**-0.5, ":", color="0.5", lw=0.8)
        r = (g.plateau / g.predicted).groupby(g.batch).agg(["mean", "std", "count"])
        axes[1].errorbar(
            r.index,
            r["mean"],
            K_SE * r["std"] / np.sqrt(r["count"]),
            fmt="o-",
            color=c,
            capsize=3,
            label=f"{loss}, d={d}, h={h:g}",
        )
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("samples per step b")
    axes[0].set_ylabel("plateau of |V| (last third, per replica)")
    axes[0].set_title("plateau vs b (band: replicas 10-90 %)")
    axes[0].legend(fontsize=6)
    axes[1].axhline(1.0, color="k", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("samples per step b")
    axes[1].set_ylabel("measured / predicted plateau")
    axes[1].set_title(f"ratio, mean +- {K_SE:g} s.e. over replicas")
    axes[1].legend(fontsize=7)
    fig.suptitle("single neuron learning pure noise with minibatches, x ~ N(0, I_d)")
    return save_figure(fig, folder, "batch-neuron")[0]


def check_batch_neuron(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Minibatches: the pure-noise neuron's plateau against b (:func:`fastnoise.theory.neuron_batch_plateau`).

    For each series (loss, d, h) and b in :data:`BATCHES`, R replicas (16 quick, 64 full) run
    from |V0| = 1; the plateau is each replica's mean |V| over the last third of the run. Asserted:
    the mean over replicas of the per-replica log-log slope against b lies within K_SE = 4 of its
    standard errors (sigma / sqrt(R)) of the prediction's slope over the same b (for cross-entropy
    plus the slope of its neglected O(h d/b) term); for the hinge, where the prediction is exact,
    each b's measured / predicted ratio lies within 4 standard errors of 1. The naive laws (1/b,
    1/sqrt(b)) are reported as distances in standard errors.

    Parameters
    ----------
    mode : {"quick", "full"}
        Quick: hinge d = 10 and cross-entropy d = 30 at h = 0.01, 16 replicas (a few seconds).
        Full: hinge d = 10, 30, 100; cross-entropy d = 30 at h = 0.01 and 0.003; 64 replicas.
    seed : int
        Root seed; run ``i`` (series by series, b by b) uses ``seed + i``.

    Returns
    -------
    CheckResult
        Per series a slope row, a reported row of the naive laws and a row per b; ``plot`` draws
        ``batch-neuron.png``.
    """
    data = _measure(mode, seed)
    res = _judge(data)
    res.plot = lambda folder: plot_batch(data, folder)
    return res
