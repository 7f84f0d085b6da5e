"""``reproduce l2-vs-noise``: label noise against explicit L2 regularisation (weight decay) on MNIST, cross-entropy.

The talk's claim that label noise regularises implicitly, "which explains why networks perform
similarly with and without L2 regularisation", asked of the MNIST setting of Figs. 7-8
(:data:`fastnoise.reproduce.mnist_task.MNIST`, its cross-entropy regime h = 0.01, two epochs, two
replicas): label noise p in :data:`L2_P` crossed with weight decay l in :data:`L2_DECAY`. At the
end of training: test error, the norm of each layer and the typical number of active neurons;
the summary says whether noise shrinks the norms as weight decay does, and whether it
sparsifies the hidden layer where weight decay does not.
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
from .mnist_task import MNIST, MNIST10_REGIMES, MNIST_REGIMES
from .output import write_table

__all__ = ["L2_DECAY", "L2_P", "L2_METRICS", "l2_vs_noise"]

#: Label noise rates (§1.7's uniform replacement: a binary label changes with probability p/2).
L2_P: tuple[float, ...] = (0.0, 0.2, 0.5)
#: Weight decay l: every step adds h * l * W (the gradient of (l/2)|W|^2), docs/model.md §1.8.
L2_DECAY: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2)
#: The end-of-training measurements compared: test error, each layer's norm, active neurons per input.
L2_METRICS: tuple[str, ...] = ("error_test", "error_train", "norm_1", "norm_2", "active_mean")


def _sizes(quick: bool) -> tuple[dict[str, Any], int, int, tuple[float, ...], tuple[float, ...], int]:
    """(parameter overrides, epochs, replicas, p values, l values, records): the MNIST setting, or a quick version.

    Quick: the sizes of ``mnist --quick`` (width 32, 3000 training images, one epoch), 2 replicas,
    the grid's corners p in {0, 0.5} x l in {0, 1e-2} and 3 checkpoints (each evaluates the
    10,000 test images).
    """
    if quick:
        return (
            dict(width=32, n_train=3000, eval_size=2000, probe_size=200),
            1,
            2,
            (L2_P[0], L2_P[-1]),
            (L2_DECAY[0], L2_DECAY[-1]),
            3,
        )
    return {}, 2, 2, L2_P, L2_DECAY, 8


def _effect(end: pd.DataFrame, col: str, ref: tuple[float, float], other: tuple[float, float]) -> dict[str, float]:
    """Mean of ``col`` at ``other`` (p, l) against ``ref``: ratio, difference and 2 standard errors of the difference."""
    a = end[(end.p == ref[0]) & (end.weight_decay == ref[1])][col]
    b = end[(end.p == other[0]) & (end.weight_decay == other[1])][col]
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) if min(len(a), len(b)) > 1 else float("nan")
    return {
        "ref": float(a.mean()),
        "value": float(b.mean()),
        "ratio": float(b.mean() / a.mean()),
        "diff": float(b.mean() - a.mean()),
        "2se": 2 * se,
    }


def _beyond(e: dict[str, float], sign: int) -> bool:
    """Whether the change has the sign ``sign`` and exceeds 2 standard errors (False when they are unknown)."""
    return bool(np.isfinite(e["2se"]) and sign * e["diff"] > e["2se"])


def _findings(end: pd.DataFrame) -> dict[str, Any]:
    """The questions of the issue, answered from the end-of-training rows (means over replicas, 2 s.e.).

    Noise: the largest p at l = 0; decay: the largest l at p = 0; both: the two together; each
    against p = 0, l = 0.
    """
    base = (0.0, 0.0)
    noise = (float(end.p.max()), 0.0)
    decay = (0.0, float(end.weight_decay.max()))
    both = (noise[0], decay[1])
    out: dict[str, Any] = {}
    eff = {
        (name, col): _effect(end, col, base, cell)
        for name, cell in (("noise", noise), ("decay", decay), ("both", both))
        for col in L2_METRICS
    }
    for name, cell in (("noise", noise), ("decay", decay), ("both", both)):
        label = f"p={cell[0]:g}, l={cell[1]:g}"
        parts = [
            f"{col} {eff[name, col]['ref']:.4g} -> {eff[name, col]['value']:.4g} (x{eff[name, col]['ratio']:.3f})"
            for col in L2_METRICS
        ]
        out[f"{name} ({label}) vs p=0, l=0"] = "; ".join(parts)
    for layer in ("norm_1", "norm_2"):
        out[f"noise shrinks {layer}"] = _beyond(eff["noise", layer], -1)
        out[f"decay shrinks {layer}"] = _beyond(eff["decay", layer], -1)
    out["noise sparsifies (fewer active neurons)"] = _beyond(eff["noise", "active_mean"], -1)
    out["decay sparsifies (fewer active neurons)"] = _beyond(eff["decay", "active_mean"], -1)
    out["criterion"] = "a change counts when the means over replicas differ by more than 2 standard errors of the difference"
    return out


def _plot(
    end: pd.DataFrame, out: Path, stem: str, title: str, width: int, ps: tuple[float, ...], decays: tuple[float, ...]
) -> list[Path]:
    """Four panels against weight decay (equally spaced, labelled), one line per p: median and min-max over replicas."""
    import matplotlib.pyplot as plt

    panels = (
        ("error_test", "test error"),
        ("norm_1", "|M|_F (hidden layer)"),
        ("norm_2", "|V| (output layer)"),
        ("active_mean", f"active neurons per input (of {width})"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 4))
    xs = np.arange(len(decays))
    for ax, (col, label) in zip(axes, panels, strict=True):
        for j, p in enumerate(ps):
            g = end[end.p == p].groupby("weight_decay")[col].agg(["median", "min", "max"]).reindex(list(decays))
            ax.errorbar(
                xs + 0.04 * (j - 1),
                g["median"],
                yerr=[g["median"] - g["min"], g["max"] - g["median"]],
                fmt="o-",
                color=f"C{j}",
                capsize=3,
                label=f"label noise p = {p:g}",
            )
        ax.set_xticks(xs, [f"{lam:g}" for lam in decays])
        ax.set_xlabel("weight decay l")
        ax.set_ylabel(label)
        if col.startswith("norm"):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, out, stem, ("png", "pdf"))


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| p | l | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for row in table.reset_index().itertuples(index=False):
        lines.append(f"| {row[0]:g} | {row[1]:g} | " + " | ".join(f"{v:.4g}" for v in row[2:]) + " |")
    return "\n".join(lines)


def l2_vs_noise(
    out: Path,
    quick: bool = False,
    seed: int = 0,
    classes: int = 2,
    ps: tuple[float, ...] | None = None,
    decays: tuple[float, ...] | None = None,
) -> dict[str, Any]:
    """Label noise p against weight decay l on MNIST with cross-entropy: errors, per-layer norms, active neurons.

    The MNIST setting of Figs. 7-8 (:data:`~fastnoise.reproduce.mnist_task.MNIST`: width 256, no
    bias, fan-in init, two epochs of per-sample SGD over the 60,000 training images, 2 replicas) in
    its cross-entropy regime (h = 0.01; ten classes: softmax cross-entropy, noise from all ten
    classes), for every (p, l) in :data:`L2_P` x :data:`L2_DECAY`. All cells share the seed, so
    the replicas start from the same weights in every cell. Writes ``l2-vs-noise.parquet`` (every
    run, every row with its configuration), ``summary.parquet`` / ``summary.md`` (medians at the
    end) and the figure ``l2-vs-noise.png`` / ``.pdf`` (``l2-vs-noise10`` for ten classes).

    Parameters
    ----------
    out : Path
        The experiment's folder.
    quick : bool
        Width 32, 3000 training images, one epoch (as ``mnist --quick``), 2 replicas, the grid's
        four corners: for tests.
    seed : int
        Seed of every cell.
    classes : {2, 10}
        Even vs odd, or the ten digits.
    ps, decays : tuple of float, optional
        Run only these p and l (each must include 0; default: the whole grid, or its corners
        when quick).

    Returns
    -------
    dict
        ``figures``, ``table`` (medians at the end by p and l), the findings (see :func:`_findings`),
        ``summary`` (the files written).
    """
    overrides, epochs, R, grid_p, grid_l, records = _sizes(quick)
    ps = grid_p if ps is None else tuple(ps)
    decays = grid_l if decays is None else tuple(decays)
    if 0.0 not in ps or 0.0 not in decays:
        raise ValueError(f"ps and decays must include 0 (the reference cell), got {ps} and {decays}")
    loss, h = (MNIST_REGIMES if classes == 2 else MNIST10_REGIMES)[0]
    assert loss == "logistic", "the experiment uses the MNIST setting's cross-entropy regime"
    params: dict[str, Any] = dict(MNIST, classes=classes, **overrides)
    n_train = params.get("n_train") or 60_000
    steps = epochs * n_train
    stem = "l2-vs-noise" if classes == 2 else "l2-vs-noise10"
    frames = []
    for p in ps:
        for lam in decays:
            frames.append(
                run(
                    loss=loss,
                    lr=h,
                    p=p,
                    weight_decay=lam,
                    steps=steps,
                    records=records,
                    record_spacing="linear",
                    replicas=R,
                    seed=seed,
                    **params,
                ).table
            )
    data = concat_results(frames)
    write_table(data, out, stem)
    end = data[data.step == steps]
    table = end.groupby(["p", "weight_decay"])[list(L2_METRICS)].median()
    task = "even vs odd" if classes == 2 else "ten classes"
    title = (
        f"MNIST {task}, cross-entropy, h = {h:g}, width {params['width']}, {epochs} epoch(s), {R} replicas: "
        "label noise p vs weight decay l (median, bars min-max)"
    )
    figs = _plot(end, out, stem, title, int(params["width"]), ps, decays)
    meta = {"steps": steps, "replicas": R, "seed": seed, "classes": classes, "lr": h, "p": list(ps), "weight_decay": list(decays)}
    summary_path = write_results(table.reset_index(), out / "summary.parquet", overwrite=True, extra={"experiment": meta})
    findings = _findings(end)
    text = "\n\n".join(
        [
            f"# Label noise vs weight decay (`fastnoise reproduce {stem}`)",
            title + f"; {steps} steps, seed {seed}. Medians over replicas at the end of training.",
            _markdown(table),
            "\n".join(f"- {k}: {v}" for k, v in findings.items()),
        ]
    )
    md = atomic_write_text(out / "summary.md", text + "\n")
    return {"figures": figs, "table": table, **findings, "summary": f"{summary_path}, {md}"}
