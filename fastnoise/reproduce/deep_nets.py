"""The slides' pure-noise questions asked of deep ReLU nets: per-layer norms, dying units, and which layer first."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine import SimulationError, run
from ..files import atomic_write_text
from ..io import write_results
from ..plotting import band, save_figure
from .output import write_table

__all__ = ["DEEP", "DEEP_VARIANTS", "DEEP_WIDTHS", "deep"]

#: Our setting for deep nets (the slides ask only of two-layer nets): pure noise, x ~ N(0, I_30),
#: h = 1/d, ReLU, hidden layers of width 120, every layer trained. Weights are fan-in scaled,
#: U[-sqrt 3, sqrt 3] / sqrt(fan-in) [ours]: with the slides' U[-sqrt 3, sqrt 3] the output of a
#: width-120 net grows ~sqrt(60) per hidden layer and h = 1/d is unstable from three weight layers
#: on (the weights overflow within ~100 steps); ``deep`` measures that too (``uniform_probe``).
DEEP: dict[str, Any] = dict(model="mlp", data="gaussian", d=30, p=1.0, init="fanin")
DEEP_WIDTHS: tuple[tuple[int, ...], ...] = ((120,), (120, 120), (120, 120, 120))
DEEP_VARIANTS = ((False, "hinge"), (False, "logistic"), (True, "hinge"), (True, "logistic"))


def _setting(widths: tuple[int, ...], bias: bool, loss: str) -> str:
    return f"L{len(widths) + 1}_{'bias' if bias else 'nobias'}_{loss}"


def _first_below_half(med: pd.Series) -> int | None:
    """First step at which a median-over-replicas series falls below half its step-0 value."""
    below = med[med < 0.5 * med.iloc[0]]
    return int(below.index[0]) if len(below) else None


def _deep_rows(
    df: pd.DataFrame, weights: list[dict[str, Any]], widths: tuple[int, ...], bias: bool, loss: str
) -> list[dict[str, Any]]:
    """Summary rows of one setting, one per weight layer (medians over replicas)."""
    L, steps = len(widths) + 1, int(df.step.max())
    med = df.groupby("step").median(numeric_only=True)
    start, end = med.loc[0], med.loc[steps]
    assert isinstance(start, pd.Series) and isinstance(end, pd.Series), "one row per step"
    rows: list[dict[str, Any]] = []
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
    """The same 12 settings with the slides' U[-sqrt 3, sqrt 3] weights, run briefly: whether they stay finite."""
    rows = []
    for widths in DEEP_WIDTHS:
        for bias, loss in DEEP_VARIANTS:
            params: dict[str, Any] = dict(DEEP, init="uniform", widths=widths, bias=bias, loss=loss)
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


def deep(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """The slides' pure-noise questions asked of deep ReLU nets: norm decay, dying neurons, and which layer first.

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
    rows: list[dict[str, Any]] = []
    ncol = len(DEEP_VARIANTS) + 2  # a norm panel per variant, then active units for hinge and logistic
    fig, axes = plt.subplots(len(DEEP_WIDTHS), ncol, figsize=(4.2 * ncol, 3.8 * len(DEEP_WIDTHS)), sharex=True, squeeze=False)
    for i, widths in enumerate(DEEP_WIDTHS):
        L = len(widths) + 1
        for j, (bias, loss) in enumerate(DEEP_VARIANTS):
            r = run(widths=widths, bias=bias, loss=loss, steps=steps, records=records, replicas=R, seed=seed, **DEEP)
            df = r.table
            write_table(df, out, f"deep_{_setting(widths, bias, loss)}")
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
    md = atomic_write_text(out / "summary.md", text + "\n")
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
