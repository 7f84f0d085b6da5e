"""``reproduce conventions``: the cubes task under the two noise conventions and the two noise modes, at matched flip rates.

Label noise can be drawn in two conventions (``--noise uniform``: replace by a uniform label, so a
binary label flips with probability p/2; ``--noise flip``: flip with probability p) and in two
modes (``--noise-mode fresh``: a new draw at every step, the paper's; ``fixed``: a training set
corrupted once and kept, the noisy-label literature's). On the cubes task of Figs. 5-6
(:data:`fastnoise.reproduce.cube_task.CUBES`, h = 1/60, 3e5 steps, 4 replicas) with its smaller
training set, n = 1000 (:data:`CONV_N`: where label noise lowered the test error most; n = 2000
would double the run time), each convention and mode runs at the flip rates :data:`CONV_RATES`
(uniform at p = 2 r, flip at p = r). The summary says whether the conventions agree once their rates are
matched, and whether fresh noise regularises differently from a fixed corrupted set.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine import run
from ..files import atomic_write_text
from ..io import concat_results, write_results
from ..plotting import save_figure
from .cube_task import CUBES, CUBES_N
from .output import write_table

__all__ = ["CONV_CELLS", "CONV_N", "CONV_RATES", "conventions"]

#: Training-set sizes: the cubes task's smaller one (``conventions(out, ns=CUBES_N)`` runs both).
CONV_N: tuple[int, ...] = (CUBES_N[0],)

#: Flip rates r compared (the fraction of labels the noise changes): p = 2 r uniform, p = r flip.
CONV_RATES: tuple[float, ...] = (0.05, 0.1, 0.25)
#: The (noise, noise_mode) cells run at every rate.
CONV_CELLS: tuple[tuple[str, str], ...] = (("uniform", "fresh"), ("flip", "fresh"), ("uniform", "fixed"), ("flip", "fixed"))
_METRICS = ("error_test", "error_train", "active_mean", "norm_1", "norm_2")


def _p_for(noise: str, rate: float) -> float:
    """The noise parameter p that changes a binary label with probability ``rate`` under ``noise``."""
    return 2.0 * rate if noise == "uniform" else rate


def _diff(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """mean(a) - mean(b) and 2 standard errors of that difference (NaN with fewer than 2 values each)."""
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) if min(len(a), len(b)) > 1 else float("nan")
    return float(a.mean() - b.mean()), 2 * se


def _findings(end: pd.DataFrame, ns: tuple[int, ...], rates: tuple[float, ...]) -> dict[str, Any]:
    """Per n and rate: uniform against flip within each mode, then fresh against fixed (both conventions pooled)."""
    out: dict[str, Any] = {}
    beyond = {"fresh": 0, "fixed": 0}
    compared = {"fresh": 0, "fixed": 0}
    for n in ns:
        e = end[end.n_train == n]
        base = e[e.p == 0.0]
        lines = []
        for r in rates:
            cell = e[e.rate == r]
            parts = []
            for mode in ("fresh", "fixed"):
                m = cell[cell.noise_mode == mode]
                d, two_se = _diff(m[m.noise == "uniform"].error_test, m[m.noise == "flip"].error_test)
                if np.isfinite(two_se):
                    compared[mode] += 1
                    beyond[mode] += bool(abs(d) > two_se)
                parts.append(f"{mode}: uniform - flip {100 * d:+.2f} pts (2 s.e. {100 * two_se:.2f})")
            fresh, fixed = cell[cell.noise_mode == "fresh"], cell[cell.noise_mode == "fixed"]
            diffs = {col: _diff(fresh[col], fixed[col]) for col in ("error_test", "error_train", "active_mean")}
            dt, st = diffs["error_test"]
            verdict = "lower" if dt < -st else "higher" if dt > st else "no different (within 2 s.e.)"
            lines.append(
                f"r={r:g}: test error p=0 {100 * base.error_test.mean():.2f} %, fresh {100 * fresh.error_test.mean():.2f} %, "
                f"fixed {100 * fixed.error_test.mean():.2f} % (fresh - fixed {100 * dt:+.2f} pts, 2 s.e. {100 * st:.2f}: "
                f"fresh {verdict}); training error (clean labels) fresh - fixed {100 * diffs['error_train'][0]:+.2f} pts "
                f"(2 s.e. {100 * diffs['error_train'][1]:.2f}); active neurons fresh {fresh.active_mean.mean():.1f}, "
                f"fixed {fixed.active_mean.mean():.1f}, p=0 {base.active_mean.mean():.1f}; " + "; ".join(parts)
            )
        out[f"n={n}"] = lines
    out["uniform vs flip at matched rates, test error differing by more than 2 s.e."] = (
        f"fresh: {beyond['fresh']} of {compared['fresh']} cells, fixed: {beyond['fixed']} of {compared['fixed']} "
        "(about 1 in 20 by chance; fixed mode: the corrupted set is drawn once per run and shared by its replicas, "
        "so their spread omits the variance of the corruption, whose realised rate is the flip_rate column)"
    )
    return out


def _plot(end: pd.DataFrame, out: Path, ns: tuple[int, ...], title: str, width: int) -> list[Path]:
    """Per n: test error, training error (clean labels) and active neurons against the flip rate, one line per cell."""
    import matplotlib.pyplot as plt

    panels = (
        ("error_test", "test error"),
        ("error_train", "training error (clean labels)"),
        ("active_mean", f"active neurons (of {width})"),
    )
    fig, axes = plt.subplots(len(ns), len(panels), figsize=(5 * len(panels), 3.9 * len(ns)), squeeze=False)
    style = {"fresh": "-", "fixed": "--"}
    for i, n in enumerate(ns):
        e = end[end.n_train == n]
        base = e[e.p == 0.0]
        for ax, (col, label) in zip(axes[i], panels, strict=True):
            for j, (noise, mode) in enumerate(CONV_CELLS):
                g = pd.concat([base, e[(e.noise == noise) & (e.noise_mode == mode) & (e.p > 0)]])
                s = g.groupby("rate")[col].agg(["median", "min", "max"])
                ax.errorbar(
                    s.index + 0.002 * (j - 1.5),
                    s["median"],
                    yerr=[s["median"] - s["min"], s["max"] - s["median"]],
                    fmt="o" + style[mode],
                    color=f"C{j % 2}" if mode == "fresh" else f"C{2 + j % 2}",
                    capsize=2,
                    label=f"{noise}, {mode}",
                )
            ax.set_xlabel("flip rate r (uniform: p = 2r; flip: p = r)")
            ax.set_ylabel(label)
            ax.set_title(f"n = {n}", fontsize=10)
            ax.legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, out, "conventions", ("png", "pdf"))


def conventions(out: Path, quick: bool = False, seed: int = 0, ns: tuple[int, ...] = CONV_N) -> dict[str, Any]:
    """The cubes task under uniform / flip noise x fresh / fixed mode, at matched flip rates.

    For each training-set size n and flip rate r in :data:`CONV_RATES`, the four cells of
    :data:`CONV_CELLS` (uniform at p = 2r, flip at p = r), plus the clean run p = 0 (the same for
    every cell). Rate index i uses seed ``seed + i`` in every cell (the clean run ``seed``), so
    the cells of one rate start from the same weights. Writes ``conventions.parquet`` (every run;
    ``rate`` and the applied flip rate of the metadata, ``flip_rate``, as columns),
    ``summary.parquet`` / ``summary.md`` (means at the end) and ``conventions.png`` / ``.pdf``.

    Parameters
    ----------
    out : Path
        The experiment's folder.
    quick : bool
        The sizes of ``cubes --quick`` (width 50, n = 500, 4e4 steps, 2 replicas) at r in {0.1, 0.25}.
    seed : int
        Root seed.
    ns : tuple of int
        Training-set sizes of the full run (quick: 500).

    Returns
    -------
    dict
        ``figures``, ``table`` (means at the end by n, noise, mode and rate), the findings per n,
        how many matched (uniform, flip) pairs differ beyond 2 s.e., ``summary`` (the files written).
    """
    params: dict[str, Any] = dict(CUBES, lr=1 / 60)
    rates: tuple[float, ...]
    if quick:
        rates, steps, R, ns = (0.1, 0.25), 40_000, 2, (500,)
        params.update(width=50, n_test=1000)
    else:
        rates, steps, R = CONV_RATES, 300_000, 4
    frames = []
    for n in ns:
        cells = [("uniform", "fresh", 0.0, 0.0, seed)]
        cells += [(noise, mode, r, _p_for(noise, r), seed + 1 + i) for i, r in enumerate(rates) for noise, mode in CONV_CELLS]
        for noise, mode, r, p, s in cells:
            df = run(p=p, noise=noise, noise_mode=mode, n_train=n, steps=steps, records=20, replicas=R, seed=s, **params).table
            frames.append(df.assign(rate=r))
    data = concat_results(frames)
    regimes = data.attrs.get("regimes") or {}
    data["flip_rate"] = data.config_id.map(lambda cid: (regimes.get(cid) or {}).get("flip_rate", np.nan)).astype(float)
    write_table(data, out, "conventions")
    end = data[data.step == steps]
    table = end.groupby(["n_train", "noise", "noise_mode", "rate"])[[*_METRICS, "flip_rate"]].mean()
    title = (
        f"cubes (square among {params['d'] - params['cube_dims']} distractors), width {params['width']}, cross-entropy, "
        f"h = 1/60, {steps:.0e} steps, {R} replicas: noise conventions at matched flip rates (median, bars min-max)"
    )
    figs = _plot(end, out, ns, title, int(params["width"]))
    meta = {"steps": steps, "replicas": R, "seed": seed, "rates": list(rates), "n_train": list(ns)}
    summary_path = write_results(table.reset_index(), out / "summary.parquet", overwrite=True, extra={"experiment": meta})
    findings = _findings(end, ns, rates)
    md_rows = [
        "| n | noise | mode | r | " + " | ".join([*_METRICS, "flip_rate"]) + " |",
        "|---|---|---|---|" + "---|" * (len(_METRICS) + 1),
    ]
    md_rows += [
        f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:g} | " + " | ".join(f"{v:.4g}" for v in row[4:]) + " |"
        for row in table.reset_index().itertuples(index=False)
    ]
    text = "\n\n".join(
        [
            "# Noise conventions at matched flip rates (`fastnoise reproduce conventions`)",
            title + f"; seed {seed}. Means over replicas at the end of training; `flip_rate`: the applied rate "
            "(fixed mode: the realised fraction of the corrupted training set). "
            "The p = 0 run is listed as uniform, fresh, r = 0.",
            "\n".join(md_rows),
            "\n".join(f"- {k}: " + ("\n  - " + "\n  - ".join(v) if isinstance(v, list) else str(v)) for k, v in findings.items()),
        ]
    )
    md = atomic_write_text(out / "summary.md", text + "\n")
    return {"figures": figs, "table": table, **findings, "summary": f"{summary_path}, {md}"}
