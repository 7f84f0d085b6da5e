"""The slides' figures 1-3: a single neuron and two-layer nets (without, then with bias) learning pure noise.

Each figure draws the mean-field flow (:func:`fastnoise.meanfield.theory`, started from the runs'
own initial weights) dotted over the replica bands, and writes it beside the runs' tables
(``*_meanfield.parquet``). The neuron's flow covers the whole run; the nets' flows are integrated to
the horizons :data:`NET_FLOW_TAU` (in tau = h t), their cost (~0.1 s per field evaluation at width
100-120, ~100 evaluations per unit of tau once stiff, thousands for the hinge) putting the runs'
full length out of reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..engine import run
from ..meanfield import theory
from ..plotting import band, flow_line, save_figure
from .output import write_table

__all__ = ["NET_FLOW_TAU", "fig1", "fig2", "fig3"]

#: How far (in tau = h t) the nets' flows are integrated, per loss: (full size, quick). The hinge
#: net's flow over a fixed point set slides along the field's discontinuities once N ~ 0 (from
#: tau ~ 2 at width 100), where an explicit integrator needs ~5000 field evaluations per unit of tau.
NET_FLOW_TAU = {"logistic": (20.0, 5.0), "hinge": (2.0, 1.0)}


def _net_flow(df: Any, quick: bool, out: Path, stem: str) -> Any:
    """The flow of a net's run from its replica 0, to the horizon (:data:`NET_FLOW_TAU`), written beside it."""
    cfg = run_config(df)
    horizon = int(NET_FLOW_TAU[cfg.loss][1 if quick else 0] / cfg.lr)
    th = theory(cfg, flows=1, points=10 if quick else 12, scramblings=1 if quick else 2, horizon=horizon).table
    write_table(th, out, f"{stem}_meanfield")
    return th


def run_config(df: Any) -> Any:
    """The RunConfig of a one-configuration run table."""
    from ..config import RunConfig

    return RunConfig.from_dict(df.attrs["config"])


def fig1(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fig. 1: single neuron, hinge, pure noise, x ~ N(0, I_30), h = 1/d^2: the norm decays to a plateau."""
    import matplotlib.pyplot as plt

    steps, R = (100_000, 4) if quick else (1_000_000, 32)
    df = run(model="neuron", loss="hinge", d=30, p=1.0, steps=steps, records=200, replicas=R, seed=seed).table
    write_table(df, out, "fig1")
    flows = 2 if quick else 8
    th = theory(run_config(df), flows=flows).table
    write_table(th, out, "fig1_meanfield")
    fig, ax = plt.subplots(figsize=(6, 4))
    band(ax, df[df.step > 0], "norm_1", f"median of {R} replicas (band: 10-90 %)", "C0")
    flow_line(ax, th, "norm_1", "k", f"mean-field flow (mean of {flows}, from their initial weights)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("||V||")
    ax.set_title("Fig. 1: single neuron learning noise, d = 30, h = 1/d²")
    ax.legend()
    figs = save_figure(fig, out, "fig1", ("png", "pdf"))
    last = df[df.step == steps].norm_1
    return {
        "figures": figs,
        "norm_start": float(df[df.step == 0].norm_1.median()),
        "norm_end": float(last.median()),
        "norm_end_mean": float(last.mean()),
        "norm_end_sem": float(last.std(ddof=1) / np.sqrt(len(last))),
        "flow_norm_end": float(th[th.step == steps].norm_1.mean()),
    }


def fig2(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fig. 2: two-layer net without bias, pure noise, d = 30, h = 1/d: (a) cross-entropy (b) hinge."""
    import matplotlib.pyplot as plt

    steps, R = (100_000, 4) if quick else (10_000_000, 8)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    summary: dict[str, Any] = {}
    for ax, (panel, loss) in zip(axes, (("a", "logistic"), ("b", "hinge")), strict=True):
        df = run(model="twolayer", loss=loss, width=100, d=30, p=1.0, steps=steps, records=150, replicas=R, seed=seed).table
        write_table(df, out, f"fig2{panel}_{loss}")
        th = _net_flow(df, quick, out, f"fig2{panel}_{loss}")
        d = df[df.step > 0]
        for col, label, color in (("log10_norm_1", "first layer ||M||", "C0"), ("log10_norm_2", "output layer ||V||", "C1")):
            agg = d.groupby("step")[col].quantile(np.array([0.1, 0.5, 0.9])).unstack()
            ax.fill_between(agg.index, agg[0.1], agg[0.9], color=color, alpha=0.25, lw=0)
            ax.plot(agg.index, agg[0.5], color=color, label=label)
            flow_line(ax, th, col, "k" if color == "C0" else "0.45", f"{label.split()[0]} layer: mean-field flow (replica 0)")
        if loss == "logistic":  # a transient then a plateau; the hinge net's geometric decay is a line on linear steps
            ax.set_xscale("log")
        ax.set_xlabel("SGD step")
        ax.set_ylabel("log10 of the Frobenius norm")
        ax.set_title(f"({panel}) {'cross entropy' if loss == 'logistic' else 'hinge'} loss")
        ax.legend()
        end = df[df.step == steps]
        at = th.step.max()
        summary[loss] = {
            "log10_norm_1_end": float(end.log10_norm_1.median()),
            "log10_norm_2_end": float(end.log10_norm_2.median()),
            "flow_horizon_step": int(at),
            "flow_log10_norm_1": float(th[th.step == at].log10_norm_1.mean()),
            "sim0_log10_norm_1": float(df[(df.step == at) & (df.replica == 0)].log10_norm_1.mean()),
            "flow_log10_norm_2": float(th[th.step == at].log10_norm_2.mean()),
            "sim0_log10_norm_2": float(df[(df.step == at) & (df.replica == 0)].log10_norm_2.mean()),
        }
    taus = " and ".join(f"{NET_FLOW_TAU[loss][1 if quick else 0]:g}" for loss in ("logistic", "hinge"))
    fig.suptitle(
        f"Fig. 2: two-layer net without bias learning noise, d = 30, width 100, h = 1/d ({R} replicas; flows to h t = {taus})"
    )
    summary["figures"] = save_figure(fig, out, "fig2", ("png", "pdf"))
    return summary


def fig3(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fig. 3: two-layer net with bias, pure noise: (a) norms (b) active neurons.

    Full: the paper's setting [note]: d = 30, width 120, cross-entropy, h = 1/900, U[-sqrt 3, sqrt 3],
    2e8 steps. Quick: the slides' h = 1/d for 2e5 steps.
    """
    import matplotlib.pyplot as plt

    if quick:
        steps, R, lr = 200_000, 4, 1 / 30
    else:
        steps, R, lr = 200_000_000, 4, 1 / 900
    r = run(
        model="twolayer",
        loss="logistic",
        bias=True,
        width=120,
        d=30,
        lr=lr,
        p=1.0,
        steps=steps,
        records=150,
        replicas=R,
        seed=seed,
    )
    df = r.table
    write_table(df, out, "fig3")
    th = _net_flow(df, quick, out, "fig3")
    d = df[df.step > 0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    band(axes[0], d, "norm_1", "first layer (with biases)", "C0")
    band(axes[0], d, "norm_2", "output layer", "C1")
    band(axes[0], d, "bias_norm_1", "hidden biases alone", "C2")
    for col, color in (("norm_1", "C0"), ("norm_2", "C1"), ("bias_norm_1", "C2")):
        flow_line(axes[0], th, col, color, "_nolegend_")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("Frobenius norm")
    axes[0].set_title("(a) norm evolution")
    axes[0].legend()
    band(axes[1], d, "active_mean", "typical active neurons", "C3")
    flow_line(axes[1], th, "active_mean", "C3", "mean-field flow (replica 0, dotted in both panels)")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("SGD step")
    axes[1].set_ylabel("active neurons (mean over 1000 probe inputs)")
    axes[1].set_title("(b) number of active neurons")
    axes[1].legend()
    tau = NET_FLOW_TAU["logistic"][1 if quick else 0]
    fig.suptitle(
        f"Fig. 3: with bias, learning noise: d = 30, width 120, cross-entropy, h = {lr:.3g} ({R} replicas; flow to h t = {tau:g})"
    )
    figs = save_figure(fig, out, "fig3", ("png", "pdf"))
    start, end = df[df.step == 0], df[df.step == steps]
    biases = [float(np.asarray(w["M"])[:, -1].mean()) for w in r.weights]  # M: (width, d + 1), biases last
    return {
        "figures": figs,
        "active_start": float(start.active_mean.median()),
        "active_end": float(end.active_mean.median()),
        "norm_1_start": float(start.norm_1.median()),
        "norm_1_end": float(end.norm_1.median()),
        "mean_hidden_bias_end": float(np.mean(biases)),
        "flow_horizon_step": int(th.step.max()),
        "flow_active_at_horizon": float(th[th.step == th.step.max()].active_mean.mean()),
        "sim_active_at_horizon": float(df[df.step == th.step.max()].active_mean.median()),
    }
