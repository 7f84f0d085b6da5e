"""The slides' experiments (figures 1, 2, 3, 5-6 and 7-8), one function each, and their questions
asked of deep nets (``deep``).

Each experiment runs the engine, writes its tables under ``results/<name>/`` (Parquet, one file
per run configuration) and draws its figure there as PNG and PDF, with replicas shown as a
median and a 10-90 % band. ``quick=True`` shrinks each to well under a minute (for tests); the
default sizes are the paper's where known (paper.md section 3), otherwise ours, stated in
:data:`EXPERIMENTS`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .engine import SimulationError, run
from .io import write_results
from .plotting import band, save_figure


@dataclass(frozen=True)
class Experiment:
    """A reproducible figure: what it shows, its parameters, and its expected run time."""

    name: str
    figure: str
    description: str
    parameters: str
    minutes_full: float
    run: Callable[..., dict[str, Any]]


def _write(df: pd.DataFrame, folder: Path, stem: str) -> Path:
    return write_results(df, folder / f"{stem}.parquet", overwrite=True)


# --------------------------------------------------------------------------- fig 1


def fig1(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fig. 1: single neuron, hinge, pure noise, x ~ N(0, I_30), h = 1/d^2: the norm decays to a plateau."""
    import matplotlib.pyplot as plt

    steps, R = (100_000, 4) if quick else (1_000_000, 32)
    df = run(model="neuron", loss="hinge", d=30, p=1.0, steps=steps, records=200, replicas=R, seed=seed).table
    _write(df, out, "fig1")
    fig, ax = plt.subplots(figsize=(6, 4))
    band(ax, df[df.step > 0], "norm_1", f"median of {R} replicas (band: 10-90 %)", "C0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("||V||")
    ax.set_title("Fig. 1: single neuron learning noise, d = 30, h = 1/d²")
    ax.legend()
    figs = save_figure(fig, out, "fig1", ("png", "pdf"))
    last = df[df.step == steps].norm_1
    return {"figures": figs, "norm_start": float(df[df.step == 0].norm_1.median()), "norm_end": float(last.median())}


# --------------------------------------------------------------------------- fig 2


def fig2(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fig. 2: two-layer net without bias, pure noise, d = 30, h = 1/d: (a) cross-entropy (b) hinge."""
    import matplotlib.pyplot as plt

    steps, R = (100_000, 4) if quick else (10_000_000, 8)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    summary: dict[str, Any] = {}
    for ax, (panel, loss) in zip(axes, (("a", "logistic"), ("b", "hinge")), strict=True):
        df = run(model="twolayer", loss=loss, width=100, d=30, p=1.0, steps=steps, records=150, replicas=R, seed=seed).table
        _write(df, out, f"fig2{panel}_{loss}")
        d = df[df.step > 0]
        for col, label, color in (("log10_norm_1", "first layer ||M||", "C0"), ("log10_norm_2", "output layer ||V||", "C1")):
            agg = d.groupby("step")[col].quantile([0.1, 0.5, 0.9]).unstack()
            ax.fill_between(agg.index, agg[0.1], agg[0.9], color=color, alpha=0.25, lw=0)
            ax.plot(agg.index, agg[0.5], color=color, label=label)
        if loss == "logistic":  # a transient then a plateau; the hinge net's geometric decay is a line on linear steps
            ax.set_xscale("log")
        ax.set_xlabel("SGD step")
        ax.set_ylabel("log10 of the Frobenius norm")
        ax.set_title(f"({panel}) {'cross entropy' if loss == 'logistic' else 'hinge'} loss")
        ax.legend()
        end = df[df.step == steps]
        summary[loss] = {
            "log10_norm_1_end": float(end.log10_norm_1.median()),
            "log10_norm_2_end": float(end.log10_norm_2.median()),
        }
    fig.suptitle(f"Fig. 2: two-layer net without bias learning noise, d = 30, width 100, h = 1/d ({R} replicas)")
    summary["figures"] = save_figure(fig, out, "fig2", ("png", "pdf"))
    return summary


# --------------------------------------------------------------------------- fig 3


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
    _write(df, out, "fig3")
    d = df[df.step > 0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    band(axes[0], d, "norm_1", "first layer (with biases)", "C0")
    band(axes[0], d, "norm_2", "output layer", "C1")
    band(axes[0], d, "bias_norm_1", "hidden biases alone", "C2")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("Frobenius norm")
    axes[0].set_title("(a) norm evolution")
    axes[0].legend()
    band(axes[1], d, "active_mean", "typical active neurons", "C3")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("SGD step")
    axes[1].set_ylabel("active neurons (mean over 1000 probe inputs)")
    axes[1].set_title("(b) number of active neurons")
    axes[1].legend()
    fig.suptitle(f"Fig. 3: with bias, learning noise: d = 30, width 120, cross-entropy, h = {lr:.3g} ({R} replicas)")
    figs = save_figure(fig, out, "fig3", ("png", "pdf"))
    start, end = df[df.step == 0], df[df.step == steps]
    biases = [float(w["M"][:, -1].mean()) for w in r.weights]
    return {
        "figures": figs,
        "active_start": float(start.active_mean.median()),
        "active_end": float(end.active_mean.median()),
        "norm_1_start": float(start.norm_1.median()),
        "norm_1_end": float(end.norm_1.median()),
        "mean_hidden_bias_end": float(np.mean(biases)),
    }


# --------------------------------------------------------------------------- cubes (figs 5-6)

#: Our defaults for the cubes task (the slides give only d = 60 and h = 1/d): a square (K = 2)
#: among 58 distractor coordinates, a finite training set, a wide two-layer net with bias, weights
#: U[-sqrt 3, sqrt 3] / sqrt(fan-in). Found by examples/explore_cubes.py and a follow-up: label
#: noise lowers the test error when the training set is small for the net (n = 1000, width 800),
#: and raises it once n = 2000; both are run and shown.
CUBES = dict(model="twolayer", loss="logistic", bias=True, data="cube", d=60, cube_dims=2, width=800, init="fanin", n_test=5000)
CUBES_P = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CUBES_N = (1000, 2000)


def cubes(out: Path, quick: bool = False, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    """Figs. 5-6: learning a square in 60 dimensions with label noise p.

    Plots test error, training error on the clean labels and typical active neurons against p
    (at the end of training) for each training-set size, and the test error against steps for a
    few p. Reports, for each size, whether some p > 0 beats p = 0 by more than the replicas'
    spread: the difference of mean test errors exceeds 2 standard errors of that difference.
    """
    import matplotlib.pyplot as plt

    params = dict(CUBES, lr=1 / 60, **overrides)
    if quick:
        ps, steps, R, ns = (0.0, 0.3, 0.6), 40_000, 2, (500,)
        params.update(width=50, n_test=1000)
    else:
        ps, steps, R, ns = CUBES_P, 300_000, 4, CUBES_N
    frames = []
    for n in ns:
        for i, p in enumerate(ps):
            frames.append(run(p=p, n_train=n, steps=steps, records=40, replicas=R, seed=seed + i, **params).table)
    data = pd.concat(frames, ignore_index=True)
    data.attrs = {"config": frames[0].attrs["config"]}
    _write(data, out, "cubes")
    end = data[data.step == steps]
    summary: dict[str, Any] = {}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for j, n in enumerate(ns):
        e = end[end.n_train == n]
        band(axes[0], e, "error_test", f"n = {n}: test", f"C{j}", x="p")
        tr = e.groupby("p").error_train.median()
        axes[0].plot(tr.index, tr.values, "--", color=f"C{j}", label=f"n = {n}: training (clean labels)")
        band(axes[1], e, "active_mean", f"n = {n}", f"C{j}", x="p")
        m = e.groupby("p").error_test.agg(["mean", "var", "count"])
        best = float(m["mean"].idxmin())
        gain = float(m.loc[0.0, "mean"] - m.loc[best, "mean"])
        se = (
            math.sqrt(m.loc[0.0, "var"] / m.loc[0.0, "count"] + m.loc[best, "var"] / m.loc[best, "count"])
            if R > 1
            else float("nan")
        )
        act = e.groupby("p").active_mean.median()
        summary[f"n={n}"] = {
            "error_test_p0": float(m.loc[0.0, "mean"]),
            "best_p": best,
            "error_test_best": float(m.loc[best, "mean"]),
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


# --------------------------------------------------------------------------- mnist (figs 7-8)

#: Our defaults for MNIST (the slides give none): even vs odd digits, pixels in [0, 1], a
#: two-layer net of width 256 without bias, weights U[-sqrt 3, sqrt 3] / sqrt(fan-in), two
#: epochs of per-sample SGD (samples drawn uniformly with replacement), p on a grid. Three
#: (loss, h) regimes: cross-entropy and hinge at h = 0.01, and hinge at h = 0.001.
MNIST = dict(model="twolayer", data="mnist", width=256, init="fanin", bias=False, eval_size=10_000, probe_size=1000)
MNIST_P = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9)
MNIST_REGIMES = (("logistic", 0.01), ("hinge", 0.01), ("hinge", 0.001))


#: Ten classes (multiclass hinge and softmax cross-entropy; noise draws from all ten classes).
MNIST10_REGIMES = (("logistic", 0.01), ("hinge", 0.001), ("hinge", 0.0001))


def mnist(
    out: Path, quick: bool = False, seed: int = 0, data: str = "mnist", data_path: str | None = None, classes: int = 2
) -> dict[str, Any]:
    """Figs. 7-8: MNIST under label noise p: test and training error, active neurons.

    ``classes=2``: even vs odd; ``classes=10``: the ten digits. Needs the data set
    (``fastnoise data fetch mnist``, or ``data_path``: a folder of IDX files).
    """
    import matplotlib.pyplot as plt

    params = dict(MNIST, data=data, data_path=data_path, classes=classes)
    regimes = MNIST_REGIMES if classes == 2 else MNIST10_REGIMES
    if quick:
        ps, epochs, R = (0.0, 0.5, 0.9), 1, 1
        params.update(width=32, n_train=3000, eval_size=2000, probe_size=200)
        n_train = 3000
    else:
        ps, epochs, R = MNIST_P, 2, 2
        n_train = 60_000
    steps = epochs * n_train
    frames = []
    for loss, h in regimes:
        for i, p in enumerate(ps):
            df = run(
                loss=loss, lr=h, p=p, steps=steps, records=8, record_spacing="linear", replicas=R, seed=seed + i, **params
            ).table
            frames.append(df.assign(regime=f"{'cross-entropy' if loss == 'logistic' else 'hinge'}, h={h:g}"))
    data_df = pd.concat(frames, ignore_index=True)
    data_df.attrs = {"config": frames[0].attrs.get("config", {})}
    _write(data_df, out, "mnist" if classes == 2 else "mnist10")
    end = data_df[data_df.step == steps]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for j, (regime, g) in enumerate(end.groupby("regime", sort=False)):
        band(axes[0], g, "error_test", f"{regime}: test", f"C{j}", x="p")
        agg = g.groupby("p").error_train.median()
        axes[0].plot(agg.index, agg.values, "--", color=f"C{j}", label=f"{regime}: training (clean labels)")
        band(axes[1], g, "active_mean", regime, f"C{j}", x="p")
    axes[0].set_xlabel("label noise p")
    axes[0].set_ylabel("classification error")
    axes[0].set_title("Fig. 7: test and training error")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("label noise p")
    axes[1].set_ylabel(f"active neurons per input (of {params['width']})")
    axes[1].set_title("Fig. 8: typical number of active neurons")
    axes[1].legend(fontsize=7)
    task = "even vs odd" if classes == 2 else "ten classes"
    fig.suptitle(f"{data}, {task}, width {params['width']}, {epochs} epoch(s) of per-sample SGD, {R} replica(s)")
    figs = save_figure(fig, out, "mnist" if classes == 2 else "mnist10", ("png", "pdf"))
    table = end.groupby(["regime", "p"])[["error_test", "error_train", "active_mean"]].median()
    return {"figures": figs, "table": table}


# --------------------------------------------------------------------------- deep nets (the slides' questions)

#: Our setting for deep nets (the slides ask only of two-layer nets): pure noise, x ~ N(0, I_30),
#: h = 1/d, ReLU, hidden layers of width 120, every layer trained. Weights are fan-in scaled,
#: U[-sqrt 3, sqrt 3] / sqrt(fan-in) [ours]: with the slides' U[-sqrt 3, sqrt 3] the output of a
#: width-120 net grows ~sqrt(60) per hidden layer and h = 1/d is unstable from three weight layers
#: on (the weights overflow within ~100 steps); ``deep`` measures that too (``uniform_probe``).
DEEP = dict(model="mlp", data="gaussian", d=30, p=1.0, init="fanin")
DEEP_WIDTHS = ((120,), (120, 120), (120, 120, 120))
DEEP_VARIANTS = ((False, "hinge"), (False, "logistic"), (True, "hinge"), (True, "logistic"))


def _setting(widths: tuple[int, ...], bias: bool, loss: str) -> str:
    return f"L{len(widths) + 1}_{'bias' if bias else 'nobias'}_{loss}"


def _first_below_half(med: pd.Series) -> int | None:
    """First step at which a median-over-replicas series falls below half its step-0 value."""
    below = med[med < 0.5 * med.iloc[0]]
    return int(below.index[0]) if len(below) else None


def _deep_rows(df: pd.DataFrame, weights: list[dict[str, Any]], widths: tuple[int, ...], bias: bool, loss: str) -> list[dict]:
    """Summary rows of one setting, one per weight layer (medians over replicas)."""
    L, steps = len(widths) + 1, int(df.step.max())
    med = df.groupby("step").median(numeric_only=True)
    start, end = med.loc[0], med.loc[steps]
    rows = []
    for l in range(1, L + 1):
        hidden = l < L
        half = _first_below_half(med[f"active_mean_{l}"]) if hidden else None
        rows.append(
            {
                "setting": _setting(widths, bias, loss),
                "L": L,
                "bias": bias,
                "loss": loss,
                "layer": l,
                "kind": "hidden" if hidden else "output",
                "norm_start": float(start[f"norm_{l}"]),
                "norm_end": float(end[f"norm_{l}"]),
                "ratio": float(end[f"norm_{l}"] / start[f"norm_{l}"]),
                "log10_ratio": float(end[f"log10_norm_{l}"] - start[f"log10_norm_{l}"]),
                "mean_bias_end": float(np.mean([w[f"W{l}"][:, -1].mean() for w in weights])) if bias else math.nan,
                "active_start": float(start[f"active_mean_{l}"]) if hidden else math.nan,
                "active_end": float(end[f"active_mean_{l}"]) if hidden else math.nan,
                "dead_end": float(end[f"dead_{l}"]) if hidden else math.nan,
                "half_active_step": half,
            }
        )
    most = min(rows, key=lambda r: r["log10_ratio"])
    fell = str(most["layer"]) if most["log10_ratio"] < 0 else "none"
    halves = [(r["half_active_step"], r["layer"]) for r in rows if r["half_active_step"] is not None]
    first = str(min(halves)[1]) if halves else "none"
    for r in rows:
        r["layer_fell_most"] = fell
        r["first_layer_below_half_active"] = first
    return rows


def _uniform_probe(steps: int, seed: int) -> pd.DataFrame:
    """The same 12 settings with the slides' U[-sqrt 3, sqrt 3] weights, briefly: do they stay finite?"""
    rows = []
    for widths in DEEP_WIDTHS:
        for bias, loss in DEEP_VARIANTS:
            params = dict(DEEP, init="uniform", widths=widths, bias=bias, loss=loss)
            row: dict[str, Any] = {"setting": _setting(widths, bias, loss), "L": len(widths) + 1, "bias": bias, "loss": loss}
            try:
                df = run(steps=steps, records=8, replicas=2, seed=seed, **params).table
            except SimulationError as exc:
                hit = re.search(r"at step (\d+)", str(exc))
                row.update(finite=False, nonfinite_step=int(hit.group(1)) if hit else None, max_log10_growth=math.nan)
            else:
                L = len(widths) + 1
                med = df.groupby("step").median(numeric_only=True)
                growth = max(float(med[f"log10_norm_{l}"].iloc[-1] - med[f"log10_norm_{l}"].iloc[0]) for l in range(1, L + 1))
                row.update(finite=True, nonfinite_step=None, max_log10_growth=growth)
            rows.append(row)
    out = pd.DataFrame(rows)
    out["nonfinite_step"] = out["nonfinite_step"].astype("Int64")
    return out


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _markdown(table: pd.DataFrame, cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in table[cols].itertuples(index=False)]
    return "\n".join(lines)


def _write_text(text: str, path: Path) -> Path:
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(text)
    tmp.replace(path)
    return path


def deep(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """The slides' pure-noise questions asked of deep ReLU nets: do the layers' norms decay, do
    neurons die, and in which layer first?

    12 settings: 2, 3 and 4 weight layers (hidden widths 120), with and without bias, hinge and
    logistic loss; d = 30, h = 1/d, p = 1, Gaussian inputs, fan-in scaled weights (see
    :data:`DEEP`). Writes one table per setting, ``summary.parquet`` and ``summary.md`` (per
    setting and layer: medians over replicas of the norms at the start and end, the ratio, the
    active units and dead units at the end, the first step at which a hidden layer's median
    active units fall below half their start), ``uniform_probe.parquet`` (the same settings with
    U[-sqrt 3, sqrt 3] weights for a few steps), and the figure ``deep.png`` / ``.pdf``.
    """
    import matplotlib.pyplot as plt

    steps, R, records, probe_steps = (400, 2, 12, 100) if quick else (300_000, 4, 60, 2_000)
    rows: list[dict] = []
    ncol = len(DEEP_VARIANTS) + 2  # a norm panel per variant, then active units for hinge and logistic
    fig, axes = plt.subplots(len(DEEP_WIDTHS), ncol, figsize=(4.2 * ncol, 3.8 * len(DEEP_WIDTHS)), sharex=True, squeeze=False)
    for i, widths in enumerate(DEEP_WIDTHS):
        L = len(widths) + 1
        for j, (bias, loss) in enumerate(DEEP_VARIANTS):
            r = run(widths=widths, bias=bias, loss=loss, steps=steps, records=records, replicas=R, seed=seed, **DEEP)
            df = r.table
            _write(df, out, f"deep_{_setting(widths, bias, loss)}")
            rows += _deep_rows(df, r.weights, widths, bias, loss)
            d = df[df.step > 0]
            lname = "cross-entropy" if loss == "logistic" else "hinge"
            ax = axes[i, j]
            for l in range(1, L + 1):
                band(ax, d, f"log10_norm_{l}", f"layer {l}" + (" (output)" if l == L else ""), f"C{l - 1}")
            ax.set_xscale("log")
            ax.set_ylabel("log10 Frobenius norm")
            ax.set_title(f"L = {L}, {'bias' if bias else 'no bias'}, {lname}: norms", fontsize=10)
            if j == 0:  # the same layers in every norm panel of the row
                ax.legend(fontsize=7)
            ax = axes[i, len(DEEP_VARIANTS) + (loss == "logistic")]
            for l in range(1, L):  # with bias: median and band; without: the median, dashed
                if bias:
                    band(ax, d, f"active_mean_{l}", f"hidden layer {l}, bias", f"C{l - 1}")
                else:
                    med = d.groupby("step")[f"active_mean_{l}"].median()
                    ax.plot(med.index, med.values, "--", color=f"C{l - 1}", lw=1, label=f"hidden layer {l}, no bias")
            ax.set_xscale("log")
            ax.set_ylim(0, widths[0] * 0.55)
            ax.set_ylabel(f"active units of {widths[0]} (probe mean)")
            ax.set_title(f"L = {L}, {lname}: active units", fontsize=10)
            ax.legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("SGD step")
    fig.suptitle(
        f"Deep ReLU nets learning pure noise: d = 30, hidden width 120, h = 1/d, fan-in init, "
        f"{steps:.3g} steps, median of {R} replicas (band: 10-90 %)"
    )
    figs = save_figure(fig, out, "deep", ("png", "pdf"))
    table = pd.DataFrame(rows)
    table["half_active_step"] = table["half_active_step"].astype("Int64")
    meta = {"steps": steps, "replicas": R, "records": records, "seed": seed, "widths": [list(w) for w in DEEP_WIDTHS], **DEEP}
    write_results(table, out / "summary.parquet", overwrite=True, extra={"experiment": meta})
    probe = _uniform_probe(probe_steps, seed)
    write_results(probe, out / "uniform_probe.parquet", overwrite=True, extra={"experiment": {**meta, "steps": probe_steps}})
    per_setting = table.groupby("setting", sort=False)[["layer_fell_most", "first_layer_below_half_active"]].first()
    text = "\n\n".join(
        [
            "# Deep ReLU nets learning pure noise (`fastnoise reproduce deep`)",
            f"d = 30, hidden width 120, h = 1/d, p = 1, x ~ N(0, I), ReLU, fan-in init U[-sqrt 3, sqrt 3]/sqrt(fan-in), "
            f"every layer trained; {steps} steps, {R} replicas, seed {seed}. Medians over replicas; L weight layers "
            "(layer L is the one-unit output layer). `ratio` = final / initial median norm; `log10_ratio` from the "
            "log10 norms; `active` = mean over 1000 probe inputs of the units with pre-activation > 0 (of 120); "
            "`dead` = units silent on every probe input; `half_active_step` = first recorded step at which the median "
            "active count falls below half its start; `mean_bias_end` = mean over units and replicas of the layer's "
            "bias at the end.",
            _markdown(
                table,
                [
                    "setting",
                    "layer",
                    "kind",
                    "norm_start",
                    "norm_end",
                    "ratio",
                    "log10_ratio",
                    "mean_bias_end",
                    "active_start",
                    "active_end",
                    "dead_end",
                    "half_active_step",
                ],
            ),
            "Per setting: the layer whose norm fell most (smallest log10 ratio; `none`: no norm fell) and the hidden "
            "layer whose median active count first fell below half its start (`none`: no hidden layer did).",
            _markdown(per_setting.reset_index(), ["setting", "layer_fell_most", "first_layer_below_half_active"]),
            f"The slides' weights U[-sqrt 3, sqrt 3] (no fan-in scaling), same settings, {probe_steps} steps, 2 replicas: "
            "`nonfinite_step` = step at which a replica's output or weights overflowed (the run stops); "
            "`max_log10_growth` = largest change of a layer's median log10 norm over a finite run.",
            _markdown(probe, ["setting", "finite", "nonfinite_step", "max_log10_growth"]),
        ]
    )
    md = _write_text(text + "\n", out / "summary.md")
    compact = table.set_index(["setting", "layer"])[
        ["norm_start", "norm_end", "ratio", "active_end", "dead_end", "half_active_step"]
    ]
    return {
        "figures": figs,
        "table": compact,
        "first_layer_below_half_active": per_setting.first_layer_below_half_active.to_dict(),
        "layer_fell_most": per_setting.layer_fell_most.to_dict(),
        "uniform_init_nonfinite": {
            s: (int(v) if pd.notna(v) else None) for s, v in zip(probe.setting, probe.nonfinite_step, strict=True)
        },
        "summary": f"{out / 'summary.parquet'}, {md}",
    }


# --------------------------------------------------------------------------- registry


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "fig1",
            "Fig. 1",
            "single neuron, norm vs steps under pure noise",
            "neuron, hinge, d=30, h=1/d^2, x~N(0,I), 1e6 steps, 32 replicas",
            0.2,
            fig1,
        ),
        Experiment(
            "fig2",
            "Fig. 2",
            "two-layer net without bias, norms vs steps, (a) cross-entropy (b) hinge",
            "width 100 [ours], d=30, h=1/d, 1e7 steps, 8 replicas",
            1.5,
            fig2,
        ),
        Experiment(
            "fig3",
            "Fig. 3",
            "two-layer net with bias: norms and active neurons vs steps (dying ReLUs)",
            "width 120, d=30, cross-entropy, h=1/900, U[-sqrt3,sqrt3], 2e8 steps, 4 replicas [note]",
            4.0,
            fig3,
        ),
        Experiment(
            "cubes",
            "Figs. 5-6",
            "learning a square in d=60 with label noise p: errors and active neurons vs p",
            "K=2 of d=60, n=1000 and 2000, width 800, bias, fan-in init, cross-entropy, h=1/60, 3e5 steps, p=0..0.9, "
            "4 replicas [ours]",
            3.0,
            cubes,
        ),
        Experiment(
            "mnist",
            "Figs. 7-8",
            "MNIST even vs odd under label noise p: errors and active neurons vs p",
            "width 256, no bias, fan-in init, 2 epochs; (cross-entropy, h=0.01), (hinge, 0.01), (hinge, 0.001); p=0..0.9; "
            "2 replicas [ours]; needs `fastnoise data fetch mnist`",
            6.0,
            mnist,
        ),
        Experiment(
            "mnist10",
            "Figs. 7-8",
            "MNIST, ten classes, under label noise p (noise from all ten classes): errors and active neurons vs p",
            "as mnist, 10 outputs; (softmax cross-entropy, h=0.01), (multiclass hinge, 0.001), (multiclass hinge, 0.0001) [ours]",
            8.0,
            lambda out, quick=False, seed=0: mnist(out, quick=quick, seed=seed, classes=10),
        ),
        Experiment(
            "deep",
            "[ours]",
            "the pure-noise questions for deep nets: per-layer norms and active units, 2-4 weight layers",
            "mlp, hidden width 120, depth 2/3/4, bias or not, hinge and cross-entropy, d=30, h=1/d, x~N(0,I), "
            "fan-in init, 3e5 steps, 4 replicas [ours]",
            2.5,
            deep,
        ),
    )
}


def run_experiment(name: str, out_root: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run one experiment into ``out_root/name`` and return its summary (with ``seconds``)."""
    t0 = time.perf_counter()
    summary = EXPERIMENTS[name].run(out_root / name, quick=quick, seed=seed)
    summary["seconds"] = time.perf_counter() - t0
    return summary


def plot_table(df: pd.DataFrame, path: Path) -> list[Path]:
    """Draw norms, active neurons and errors against steps from any ``fastnoise run`` table."""
    import matplotlib.pyplot as plt

    d = df[df.step > 0]
    panels = [c for c in ("norm", "active_mean", "error") if c == "norm" or d[c if c != "error" else "error_test"].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "norm":
            for col, label, color in (("log10_norm_1", "first layer", "C0"), ("log10_norm_2", "output layer", "C1")):
                if d[col].notna().any():
                    band(ax, d, col, label, color)
            ax.set_ylabel("log10 Frobenius norm")
        elif panel == "active_mean":
            band(ax, d, "active_mean", "typical active neurons", "C2")
            ax.set_ylabel("active neurons (probe set)")
        else:
            for col, label, color in (("error_test", "test", "C3"), ("error_train", "training (clean labels)", "C4")):
                if d[col].notna().any():
                    band(ax, d, col, label, color)
            ax.set_ylabel("classification error")
        ax.set_xscale("log")
        ax.set_xlabel("SGD step")
        ax.legend()
    cfg = df.attrs.get("config", {})
    fig.suptitle(", ".join(f"{k}={cfg[k]}" for k in ("model", "loss", "bias", "data", "d", "width", "lr", "p") if k in cfg))
    return save_figure(fig, path.parent, path.stem, ("png", "pdf"))


__all__ = ["EXPERIMENTS", "Experiment", "run_experiment", "plot_table", "fig1", "fig2", "fig3", "cubes", "mnist", "deep"]
