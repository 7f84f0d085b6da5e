"""``reproduce parity``'s report: its measures, figures and ``summary.md``, all from the run tables under its folder.

:func:`report` reads ``parity_<part>.parquet`` (the parts present), computes the measures of
:mod:`.parity_analysis`, writes them as ``summary_<part>.parquet``, draws one figure per part
(:mod:`.parity_figures`) and writes ``summary.md``: every number in it is computed here from the
tables, so rerunning :func:`report` on a committed folder regenerates the same text.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ..files import atomic_write_text
from ..io import read_results, write_results
from .parity_analysis import FORGOTTEN, LEARNED, MECHANISM, exponent, fraction_learned_by, learn_forget, learn_times, quantiles
from .parity_figures import curriculum_figure, init_figure, noise_figure, scaling_figure

__all__ = ["report"]

PARTS = ("scaling", "noise", "curriculum", "init")
#: The columns of (b)'s tables after the cell's own.
_MEASURES = ("learned", "tau first learned (median of those that learn)", "late learned", "forgets / replica",
             "‖M‖ late", "‖V‖ late", "active late", "dead late")  # fmt: skip
_PCT = f"{100 * LEARNED:g} %"


def _steps(t: float) -> str:
    """A step count for the text: 12,345 or 'never' (+inf, NaN)."""
    return "never" if not np.isfinite(t) else f"{t:,.0f}"


def _records(df: pd.DataFrame) -> list[Any]:
    """The rows of ``df`` as namespaces (``r.column``)."""
    return [SimpleNamespace(**{str(k): v for k, v in r.items()}) for r in df.to_dict("records")]


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*names: str) -> list[str]:
    return [_row(*names), _row(*("---" for _ in names))]


def _spearman(a: pd.Series, b: pd.Series) -> str:
    """Spearman's rank correlation as text ('undefined' when either side is constant)."""
    if a.nunique() < 2 or b.nunique() < 2:
        return "undefined (constant)"
    return f"{a.corr(b, method='spearman'):+.2f}"


def _resolution(df: pd.DataFrame, above: int = 100) -> float:
    """The largest relative gap between consecutive checkpoints past step ``above`` (log spacing: the time's resolution)."""
    s = np.sort(df.step.unique().astype(float))
    s = s[s >= above]
    return float(np.max(s[1:] / s[:-1]) - 1.0) if len(s) > 1 else math.nan


def _scaling(df: pd.DataFrame, out: Path, res: dict[str, Any]) -> list[str]:
    times = learn_times(df, ["k", "d"])
    boot = 200 if df.attrs.get("quick") else 2000
    fits = pd.DataFrame([{"k": k, **exponent(g, boot=boot)} for k, g in times.groupby("k")])
    rows = []
    for (k, d), g in times.groupby(["k", "d"]):
        lo, mid, hi = quantiles(g.t_learn.to_numpy(float))
        rows.append(
            dict(
                k=k, d=d, replicas=len(g), median=mid, q10=lo, q90=hi, censored=int(g.censored.sum()), budget=int(g.budget.max())
            )
        )
    table = pd.DataFrame(rows)
    write_results(table.merge(fits, on="k"), out / "summary_scaling.parquet", overwrite=True)
    write_results(times, out / "times_scaling.parquet", overwrite=True)
    res["figures"] += scaling_figure(df, times, fits, out)
    first = df.iloc[0]
    lines = [
        "## (a) Time to learn against d and k",
        "",
        f"Width {first.width}, h = {first.lr:g}, init {first.init} U[-a/sqrt(d), a/sqrt(d)] with a = {first.init_scale:g}, "
        f"p = {first.p:g}. "
        f"Time to learn: the first checkpoint with test error < {_PCT}; checkpoints log-spaced, at most "
        f"{100 * _resolution(df):.1f} % apart from step 100 on (the time is known to that, from above). "
        "Censored: replicas that did not learn within the budget, counted as +inf in the medians.",
        "",
        *_header("k", "d", "replicas", "budget (steps)", "median steps to learn", "10 %", "90 %", "censored"),
    ]
    for r in _records(table):
        lines.append(_row(r.k, r.d, r.replicas, f"{r.budget:,}", _steps(r.median), _steps(r.q10), _steps(r.q90), r.censored))
    lines += [
        "",
        "Fit of log10(median time) = log10 c + alpha log10 d over the d with a finite median "
        f"(95 % bootstrap over replicas, {boot} resamples):",
        "",
    ]
    for f in _records(fits):
        lines.append(
            f"- k = {f.k}: alpha = {f.alpha:.2f} [{f.alpha_lo:.2f}, {f.alpha_hi:.2f}], c = {10**f.log10_c:.3g}, "
            f"over {f.points} values of d"
            + (f" ({100 * f.boot_dropped:.0f} % of resamples had a censored median)" if f.boot_dropped else "")
        )
    n_cens = int(table.censored.sum())
    lines.append(f"- censored replicas: {n_cens} of {len(times)}" + ("" if not n_cens else " (rows above)"))
    res["scaling"] = {
        f"k={f.k}": {"alpha": round(f.alpha, 3), "alpha_95": (round(f.alpha_lo, 3), round(f.alpha_hi, 3))} for f in _records(fits)
    }
    return lines


def _noise(df: pd.DataFrame, out: Path, res: dict[str, Any]) -> list[str]:
    per = learn_forget(df, ["part", "convention", "p", "lr"])
    agg = {"learned": "mean", "tau_first": "median", "late_learned": "mean", "forgets": "mean", "tau": "first"}
    agg.update({f"{c}_late": "median" for c in MECHANISM})
    cells = per.groupby(["part", "convention", "p", "lr"], sort=False).agg(agg).reset_index()
    cells["replicas"] = per.groupby(["part", "convention", "p", "lr"], sort=False).size().to_numpy()
    cells["forgets_per_1000_tau"] = 1000 * cells.forgets / cells.tau
    write_results(cells, out / "summary_noise.parquet", overwrite=True)
    write_results(per, out / "replicas_noise.parquet", overwrite=True)
    res["figures"] += noise_figure(df, cells, out)
    grid = cells[cells.part == "grid"]
    g0 = df[df.part == "grid"]
    records = int(g0.groupby(["p", "lr", "replica"]).size().max())
    tau = float(grid.tau.iloc[0])
    lines = [
        "## (b) Label noise against the step h",
        "",
        f"d = {int(g0.d.iloc[0])}, k = {g0.support.iloc[0]}, width {int(g0.width.iloc[0])}, bias, hinge, "
        f"init {g0.init.iloc[0]} (a = {g0.init_scale.iloc[0]:g}); noise `--noise {g0.noise.iloc[0]}` (the paper's: "
        "a label is redrawn uniformly with probability p, so it flips with probability p/2). Every run lasts "
        f"tau = h t = {tau:g} (steps = tau/h), {records} checkpoints equally spaced in tau (every {tau / (records - 1):g}), "
        f"{int(grid.replicas.iloc[0])} replicas. Per replica: *learned* = some checkpoint below {_PCT} test error; "
        f"*late learned* = the fraction of checkpoints in the last half of the run below {_PCT}; *forgets* = how many times "
        f"a test error below {_PCT} is followed, before the next one below {_PCT}, by one above {FORGOTTEN:.0%} "
        "(at the checkpoints' resolution: faster swings are not seen). "
        "Mechanism: medians over the last half of the run, then over replicas.",
        "",
        *_header("p", "h", "steps", *_MEASURES),
    ]

    def measures(r: Any) -> list[str]:
        return [
            f"{r.learned:.2f}", "never" if not np.isfinite(r.tau_first) else f"{r.tau_first:.0f}", f"{r.late_learned:.2f}",
            f"{r.forgets:.1f}", f"{r.norm_1_late:.3g}", f"{r.norm_2_late:.3g}", f"{r.active_mean_late:.3g}", f"{r.dead_late:.0f}",
        ]  # fmt: skip

    for r in _records(grid):
        lines.append(_row(f"{r.p:g}", f"{r.lr:g}", f"{r.tau / r.lr:,.0f}", *measures(r)))
    n = len(grid)
    stays = grid[grid.late_learned >= 0.9]
    lines += [
        "",
        f"- cells in which every replica learns: {int((grid.learned == 1).sum())} of {n}; "
        f"in which none does: {int((grid.learned == 0).sum())}",
        f"- cells that stay learned (late learned >= 0.9): {len(stays)} of {n}: "
        + (", ".join(f"(p={r.p:g}, h={r.lr:g})" for r in _records(stays)) or "none"),
        "- the step h with the largest late-learned fraction, per p: "
        + "; ".join(
            f"p={p:g}: h={g.lr.to_numpy()[int(np.argmax(g.late_learned.to_numpy()))]:g} ({g.late_learned.max():.2f})"
            for p, g in grid.groupby("p")
        ),
        f"- rank correlation over the {n} cells of the late-learned fraction with the dead neurons: "
        f"{_spearman(grid.late_learned, grid.dead_late)}, with the active neurons: "
        f"{_spearman(grid.late_learned, grid.active_mean_late)}, with ‖V‖: {_spearman(grid.late_learned, grid.norm_2_late)}",
    ]
    proto = cells[cells.part == "prototype"]
    if len(proto):
        p0 = proto.iloc[0]
        lines += [
            "",
            f"The prototype's cell (p = {p0.p:g}, h = {p0.lr:g}, {p0.tau / p0.lr:,.0f} steps) under both conventions: "
            f'its "p = {p0.p:g}" is ambiguous between a label redrawn with probability {p0.p:g} (`--noise uniform`, '
            f"flip rate {p0.p / 2:g}) and flipped with probability {p0.p:g} (`--noise flip`).",
            "",
            *_header("noise", "flip rate", *_MEASURES),
        ]
        for r in _records(proto):
            rate = r.p / 2 if r.convention == "uniform" else r.p
            lines.append(_row(f"`{r.convention}`", f"{rate:g}", *measures(r)))
    res["noise"] = {
        "cells_all_learn": int((grid.learned == 1).sum()),
        "cells_stay_learned": len(stays),
        "cells": n,
    }
    return lines


def _curriculum(df: pd.DataFrame, out: Path, res: dict[str, Any]) -> list[str]:
    times = learn_times(df, ["d", "k", "arm", "q", "switch"])
    T = int(times.budget.max())
    budgets = [T // 10, 3 * T // 10, T]
    frac = fraction_learned_by(times, ["d", "k", "arm"], budgets)
    rows = []
    for (d, k, arm), g in df.groupby(["d", "k", "arm"], sort=False):
        t = times[(times.d == d) & (times.k == k) & (times.arm == arm)]
        lo, mid, hi = quantiles(t.t_learn.to_numpy(float))
        errs = {f"error_at_{b}": float(g[g.step == g[g.step <= b].step.max()].error_test.median()) for b in budgets}
        rows.append(dict(d=d, k=k, arm=arm, replicas=len(t), median=mid, q10=lo, q90=hi, censored=int(t.censored.sum()), **errs))
    table = pd.DataFrame(rows).merge(frac, on=["d", "k", "arm"])
    write_results(table, out / "summary_curriculum.parquet", overwrite=True)
    res["figures"] += curriculum_figure(df, out)
    staged = "stage" in df.columns
    lines = [
        "## (c) Curriculum: biased inputs first, then uniform",
        "",
        f"Width {int(df.width.iloc[0])}, bias, hinge, h = {df.lr.iloc[0]:g}, p = {df.p.iloc[0]:g}, {T:,} steps in every arm "
        "(the biased stage counts "
        "in them), the test set uniform in every arm; time to learn as in (a). Arms: `--curriculum bit-bias=q:N1,bit-bias=0.5` "
        "(Rad(q) inputs, P(x_i = +1) = q, for the first N1 steps) and uniform inputs only.",
        "",
    ]
    if not staged:
        lines += [
            "**These runs' engine had no curricula** (the tables have no `stage` column): every arm ran on uniform inputs.",
            "",
        ]
    b_names = [f"learned by {b:,}" for b in budgets]
    lines += _header("d", "k", "arm", "median steps to learn", "10 %", "90 %", "censored", *b_names,
                     *(f"median test error at {b:,}" for b in budgets))  # fmt: skip
    for r in _records(table):
        fr = [f"{getattr(r, f'by_{b:g}'):.2f}" for b in budgets]
        er = [f"{getattr(r, f'error_at_{b}'):.3f}" for b in budgets]
        lines.append(_row(r.d, r.k, r.arm, _steps(r.median), _steps(r.q10), _steps(r.q90), r.censored, *fr, *er))
    lines.append("")
    res["curriculum"] = {}
    for (d, k), g in table.groupby(["d", "k"], sort=False):
        base = g[g.arm == "uniform only"]
        if base.empty:
            continue
        b = float(base["median"].iloc[0])
        for r in _records(g[g.arm != "uniform only"]):
            ratio = b / r.median if np.isfinite(r.median) and np.isfinite(b) else math.nan
            lines.append(
                f"- d = {d}, k = {k}, {r.arm}: median time to learn x{ratio:.2f} faster than uniform only "
                f"({_steps(r.median)} vs {_steps(b)})"
            )
            res["curriculum"][f"d={d},k={k},{r.arm}"] = round(ratio, 3)
    lines += [
        "",
        "The first layer's weight on the parity's bits against the others (`mass_support / mass_off`, median over "
        "replicas) at the end of each biased stage, and in the uniform-only runs at the same step:",
        "",
    ]
    for (d, k, arm, n1), g in df[df.switch > 0].groupby(["d", "k", "arm", "switch"], sort=False):
        at = g[g.step <= n1].step.max()
        uni = df[(df.d == d) & (df.k == k) & (df.switch == 0) & (df.step == at)]
        ratio_arm = float((g[g.step == at].mass_support / g[g.step == at].mass_off).median())
        ratio_uni = float((uni.mass_support / uni.mass_off).median())
        lines.append(f"- d = {d}, k = {k}, {arm}: {ratio_arm:.2f} at step {at:,}; uniform only {ratio_uni:.2f}")
    return lines


def _init(df: pd.DataFrame, out: Path, res: dict[str, Any]) -> list[str]:
    times = learn_times(df, ["k", "arm"])
    last = df[df.step == df.step.max()]
    rows = []
    for (k, arm), g in df.groupby(["k", "arm"], sort=False):
        t = times[(times.k == k) & (times.arm == arm)]
        end = last[(last.k == k) & (last.arm == arm)].error_test
        best = g.groupby("replica").error_test.min()
        _, mid, _ = quantiles(t.t_learn.to_numpy(float))
        rows.append(dict(k=k, arm=arm, replicas=len(t), learned=float((~t.censored).mean()), median=mid,
                         best=float(best.median()), end=float(end.median()), end_q10=float(end.quantile(0.1)),
                         end_q90=float(end.quantile(0.9))))  # fmt: skip
    table = pd.DataFrame(rows)
    write_results(table, out / "summary_init.parquet", overwrite=True)
    res["figures"] += init_figure(df, out)
    first = df.iloc[0]
    d = int(first.d)
    lines = [
        "## (d) Initialisation on almost-full parities",
        "",
        f"d = {d}, width {first.width}, bias, hinge, h = {first.lr:g}, {int(df.step.max()):,} steps, p = 0, test set of "
        f"{first.n_test} inputs. Rademacher: every weight +-a, a = 1/sqrt(d) = {1 / math.sqrt(d):.3g} (both layers), plus "
        "sigma a N(0, 1) with `--init-sigma sigma`; Gaussian N(0, a^2) and fan-in uniform U[-sqrt(3) a, sqrt(3) a] "
        "have the same variance.",
        "",
        *_header(
            "k",
            "init",
            "replicas",
            f"learned (< {_PCT})",
            "median steps to learn",
            "median best test error",
            "median final test error",
            "10-90 %",
        ),  # fmt: skip
    ]
    for r in _records(table):
        lines.append(_row(r.k, r.arm, r.replicas, f"{r.learned:.2f}", _steps(r.median), f"{r.best:.3f}", f"{r.end:.3f}",
                          f"{r.end_q10:.3f}-{r.end_q90:.3f}"))  # fmt: skip
    rad = table[table.arm == table.arm.iloc[0]]
    t_med = float(rad["median"].min())
    cover = [(t, 1.0 - math.exp(-t / 2**d)) for t in (t_med, float(df.step.max()))]
    lines += [
        "",
        f"The cube has 2^{d} = {2**d:,} points, and t fresh samples cover about 1 - exp(-t / 2^d) of them: "
        + ", ".join(f"{100 * c:.1f} % by step {t:,.0f}" for t, c in cover)
        + f" (the first: the fastest median time to learn of `{table.arm.iloc[0]}`). A late fall of the test error can "
        "owe something to test inputs already seen in training; one within the first few percent cannot.",
    ]
    res["init"] = {f"k={r.k},{r.arm}": round(r.end, 4) for r in _records(table)}
    return lines


def report(out: Path) -> dict[str, Any]:
    """Measures, figures and ``summary.md`` of the parts whose tables are under ``out``.

    Parameters
    ----------
    out : Path
        The experiment's folder, holding ``parity_<part>.parquet`` for some parts.

    Returns
    -------
    dict
        Headline numbers per part, ``seconds`` per part (as the runs measured them), ``figures`` and ``summary``.
    """
    res: dict[str, Any] = {"figures": []}
    tables = {p: read_results(out / f"parity_{p}.parquet") for p in PARTS if (out / f"parity_{p}.parquet").exists()}
    seconds = {p: float(t.attrs.get("seconds", math.nan)) for p, t in tables.items()}
    cpu = next((t.attrs["cpu"] for t in tables.values() if t.attrs.get("cpu")), "unknown")
    threads = next((t.attrs["threads"] for t in tables.values() if t.attrs.get("threads")), "?")
    quick = any(t.attrs.get("quick") for t in tables.values())
    seed = next((t.attrs["root_seed"] for t in tables.values() if "root_seed" in t.attrs), "?")
    lines = [
        "# Learning parities with per-sample SGD (`fastnoise reproduce parity`)" + (" -- quick sizes" if quick else ""),
        "",
        "Two-layer ReLU nets with biases, hinge loss (the perceptron rule: a step only when y N(x) <= 0), fresh inputs on "
        "{-1, +1}^d labelled by the parity of the first k bits; test errors on clean labels. "
        f"Root seed {seed}. Wall time per part: "
        + ", ".join(f"{p} {s:.0f} s" for p, s in seconds.items())
        + f" (at most {threads} thread(s) per run, on {cpu}).",
        "",
    ]
    for name, fn in (("scaling", _scaling), ("noise", _noise), ("curriculum", _curriculum), ("init", _init)):
        if name in tables:
            lines += fn(tables[name], out, res) + [""]
    md = atomic_write_text(out / "summary.md", "\n".join(lines))
    res["seconds"] = seconds
    res["summary"] = [md]
    return res
