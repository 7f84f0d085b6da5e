"""``reproduce dying``: where the mean field holds and where it was not reached, the dying-ReLU phase of Fig. 3.

Fig. 3's nets (d = 30, width 120, cross-entropy, bias, pure noise) lose their active neurons over
~1e8 steps. Is that a fluctuation the mean-field flow omits, or an O(h) effect the flow keeps? The
flow of the full size is out of reach (:mod:`fastnoise.meanfield.flow`: stiff, ~0.1 s per field
evaluation, tau ~ 1e4 to the half point), so the question is asked twice:

- **reduced size** (:data:`SMALL`: d = 10, width 20, the same rule), where the flow is cheap: the
  time tau = h t to half the typical number of active neurons, in every simulated replica and in
  the flows started from replicas' own initial weights, at the step sizes :data:`SMALL_H` over the
  same tau horizon; and the active neurons and first-layer norm at the end;
- **Fig. 3's size** (:data:`FIG3`), simulations only, at h = 1/900 and 1/1800 (:data:`FIG3_H`):
  the time to half. If dying is an O(h) effect of the second-moment terms, tau_half grows like 1/h
  (the steps like 1/h^2) at both sizes.

Half-times are interpolated in log tau between the two checkpoints around the first crossing of
half the starting value (the checkpoints are log-spaced; a replica that never crosses gives NaN).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..engine import run
from ..files import atomic_write_text
from ..io import concat_results, write_results
from ..meanfield import theory
from ..plotting import band, flow_line, save_figure

__all__ = ["FIG3", "FIG3_H", "SMALL", "SMALL_H", "dying", "half_time"]

#: The reduced net: Fig. 3's rule at a size whose flow costs minutes.
SMALL: dict[str, Any] = dict(model="twolayer", loss="logistic", bias=True, width=20, d=10, p=1.0)
#: Step sizes of the reduced net, all run to the same tau = :data:`SMALL_TAU`.
SMALL_H: tuple[float, ...] = (0.01, 0.005, 0.0025)
SMALL_TAU = 4000.0
#: Fig. 3's net, as ``reproduce fig3`` runs it (h as in :data:`FIG3_H`).
FIG3: dict[str, Any] = dict(model="twolayer", loss="logistic", bias=True, width=120, d=30, p=1.0)
#: Fig. 3's step size and half of it, with the steps each runs (past the half point).
FIG3_H: tuple[tuple[float, int], ...] = ((1 / 900, 30_000_000), (1 / 1800, 60_000_000))


def half_time(g: pd.DataFrame, col: str = "active_mean") -> float:
    """The step at which ``col`` first falls to half its value at step 0, interpolated in log step; NaN if never.

    Parameters
    ----------
    g : DataFrame
        One replica's (or one flow's) rows, any order, with ``step`` and ``col``.
    col : str
        The decaying metric.
    """
    g = g.sort_values("step")
    s, v = g.step.to_numpy(float), g[col].to_numpy(float)
    target = v[0] / 2.0
    below = np.flatnonzero(v <= target)
    if len(below) == 0:
        return math.nan
    j = int(below[0])
    if j == 0 or s[j - 1] <= 0:
        return float(s[j])
    frac = (v[j - 1] - target) / (v[j - 1] - v[j])
    return float(math.exp(math.log(s[j - 1]) + frac * (math.log(s[j]) - math.log(s[j - 1]))))


def _halves(df: pd.DataFrame, h: float) -> np.ndarray:
    """tau_half per replica of a table."""
    return np.array([half_time(g) * h for _, g in df.groupby("replica")])


def _mean_se(x: np.ndarray) -> tuple[float, float, int]:
    """Mean and standard error over the finite values, and their number."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, 0
    se = float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(np.mean(x)), se, len(x)


def _fmt(mean: float, se: float, n: int) -> str:
    if n == 0:
        return "not reached"
    return f"{mean:.4g}" + ("" if not math.isfinite(se) else f" +- {se:.2g}") + f" (n={n})"


def dying(out: Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Time to half the active neurons, flow against simulations (reduced size) and simulations at Fig. 3's size.

    Parameters
    ----------
    out : Path
        The experiment's folder.
    quick : bool
        For tests: the reduced net at h in {0.04, 0.02} to tau = 600, 3 replicas and one flow over 2^9
        points; Fig. 3's size at 2e5 steps and 2 replicas (no half point is reached there).
    seed : int
        Root seed.

    Returns
    -------
    dict
        The rows of ``summary.md`` (``small`` and ``fig3``, one entry per h), the figures and files.
    """
    import matplotlib.pyplot as plt

    hs: tuple[float, ...] = (0.04, 0.02)
    tau, R, flows, points = 600.0, 3, 1, 9
    fig3_runs: tuple[tuple[float, int], ...] = ((1 / 900, 200_000),)
    fig3_R = 2
    if not quick:
        hs, tau, R, flows, points, fig3_runs, fig3_R = SMALL_H, SMALL_TAU, 8, 2, 11, FIG3_H, 4
    small_rows: list[dict[str, Any]] = []
    sims, ths = [], []
    for h in hs:
        cfg = RunConfig(**SMALL, lr=h, steps=int(round(tau / h)), records=80, replicas=R, seed=seed)
        sim = run(cfg).table
        res = theory(cfg, flows=flows, points=points, scramblings=1)
        th = res.table
        sims.append(sim)
        ths.append(th)
        end_s, end_f = sim[sim.step == cfg.steps], th[th.step == cfg.steps]
        small_rows.append(
            dict(
                h=h,
                steps=cfg.steps,
                replicas=R,
                flows=flows,
                tau_half_sim=_mean_se(_halves(sim, h)),
                tau_half_flow=_mean_se(_halves(th, h)),
                active_end_sim=float(end_s.active_mean.mean()),
                active_end_flow=float(end_f.active_mean.mean()),
                norm_1_end_sim=float(end_s.norm_1.mean()),
                norm_1_end_flow=float(end_f.norm_1.mean()),
                flow_seconds=float(res.info["seconds"]),
            )
        )
    write_results(concat_results(sims), out / "small_runs.parquet", overwrite=True)
    write_results(concat_results(ths), out / "small_meanfield.parquet", overwrite=True, extra={"meanfield": res.info})
    big_rows: list[dict[str, Any]] = []
    bigs = []
    for h, steps in fig3_runs:
        cfg = RunConfig(**FIG3, lr=h, steps=steps, records=120, replicas=fig3_R, seed=seed)
        df = run(cfg).table
        bigs.append(df)
        end = df[df.step == steps]
        big_rows.append(
            dict(
                h=h,
                steps=steps,
                replicas=fig3_R,
                tau_half_sim=_mean_se(_halves(df, h)),
                active_end=float(end.active_mean.mean()),
                norm_1_end=float(end.norm_1.mean()),
            )
        )
    write_results(concat_results(bigs), out / "fig3_runs.parquet", overwrite=True)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (h, sim, th) in enumerate(zip(hs, sims, ths, strict=True)):
        color = f"C{i}"
        s = sim[sim.step > 0].assign(tau=sim.step * h)
        band(axes[0], s, "active_mean", f"h = {h:g}: simulations ({R})", color, x="tau")
        flow_line(axes[0], th.assign(tau=th.step * h), "active_mean", color, f"h = {h:g}: flow", x="tau")
    axes[0].set(xscale="log", xlabel="tau = h t", ylabel="typical active neurons (of 20)")
    axes[0].set_title("reduced net (d = 10, width 20): simulations and mean-field flow (dotted)", fontsize=10)
    axes[0].legend(fontsize="small")
    for i, ((h, _), df) in enumerate(zip(fig3_runs, bigs, strict=True)):
        d = df[df.step > 0].assign(tau=df.step * h)
        band(axes[1], d, "active_mean", f"h = 1/{round(1 / h)} ({fig3_R} replicas)", f"C{i + 3}", x="tau")
    axes[1].set(xscale="log", xlabel="tau = h t", ylabel="typical active neurons (of 120)")
    axes[1].set_title("Fig. 3's net (d = 30, width 120): simulations (its flow is out of reach)", fontsize=10)
    axes[1].legend(fontsize="small")
    fig.suptitle("Dying ReLUs under pure noise, cross-entropy with bias: time to half the active neurons")
    figs = save_figure(fig, out, "dying", ("png", "pdf"))

    lines = [
        "# Time to half the active neurons: mean-field flow against simulations",
        "",
        f"Reduced net (d = 10, width 20, cross-entropy, bias, pure noise), {R} replicas, {flows} flow(s) from replicas' "
        f"initial weights over 2^{points} quasi-Monte Carlo points, to tau = {tau:g}; tau_half interpolated in log tau "
        "(mean +- s.e. over replicas):",
        "",
        "| h | steps | tau_half simulations | tau_half flow | active at end: sim / flow | first-layer norm at end: sim / flow |",
        "|---|---|---|---|---|---|",
    ]
    for r in small_rows:
        lines.append(
            f"| {r['h']:g} | {r['steps']:.3g} | {_fmt(*r['tau_half_sim'])} | {_fmt(*r['tau_half_flow'])} | "
            f"{r['active_end_sim']:.3g} / {r['active_end_flow']:.3g} | {r['norm_1_end_sim']:.4g} / {r['norm_1_end_flow']:.4g} |"
        )
    lines += [
        "",
        f"Fig. 3's net (d = 30, width 120), simulations, {fig3_R} replicas:",
        "",
        "| h | steps | tau_half simulations | active at end | first-layer norm at end |",
        "|---|---|---|---|---|",
    ]
    for r in big_rows:
        half = _fmt(*r["tau_half_sim"])
        lines.append(f"| 1/{round(1 / r['h'])} | {r['steps']:.3g} | {half} | {r['active_end']:.3g} | {r['norm_1_end']:.4g} |")
    finite = [(r["h"], r["tau_half_sim"][0]) for r in big_rows if math.isfinite(r["tau_half_sim"][0])]
    exponent = math.nan
    if len(finite) >= 2:
        (h0, t0), (h1, t1) = finite[0], finite[-1]
        exponent = math.log(t1 / t0) / math.log(h1 / h0)
        lines += ["", f"tau_half ~ h^{exponent:.2f} between h = 1/{round(1 / h0)} and 1/{round(1 / h1)} (an O(h) effect: -1)."]
    md = atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")

    def flat(rows: list[dict[str, Any]]) -> pd.DataFrame:
        out_rows = []
        for r in rows:
            o = {}
            for k, v in r.items():
                if isinstance(v, tuple):
                    o[k], o[k + "_se"], o[k + "_n"] = v
                else:
                    o[k] = v
            out_rows.append(o)
        return pd.DataFrame(out_rows)

    table = pd.concat([flat(small_rows).assign(net="reduced"), flat(big_rows).assign(net="fig3")], ignore_index=True)
    summary_path = write_results(table, out / "summary.parquet", overwrite=True)
    return {
        "small": {f"h={r['h']:g}": {k: v for k, v in r.items() if k != "h"} for r in small_rows},
        "fig3": {f"h=1/{round(1 / r['h'])}": {k: v for k, v in r.items() if k != "h"} for r in big_rows},
        "fig3_exponent": exponent,
        "figures": figs,
        "summary": [summary_path, md],
    }
