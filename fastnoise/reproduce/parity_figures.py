"""The four figures of ``reproduce parity``, drawn from its run tables and the measures of :mod:`.parity_analysis`.

Curves are medians over replicas with a 10-90 % band (:func:`fastnoise.plotting.band`); legends
sit outside the data (below the panels) or where the curves leave room.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..plotting import band, save_figure
from .parity_analysis import FORGOTTEN, LEARNED, quantiles

__all__ = ["curriculum_figure", "init_figure", "noise_figure", "scaling_figure"]

_FORMATS = ("png", "pdf")


def _thresholds(ax: Any) -> None:
    ax.axhline(LEARNED, color="0.5", lw=0.8, ls=":")
    ax.axhline(0.5, color="0.8", lw=0.8, ls="-")


def scaling_figure(df: pd.DataFrame, times: pd.DataFrame, fits: pd.DataFrame, out: Path) -> list[Path]:
    """(a): time to learn against d per k (median, 10-90 % bars, the fit), and the test error of the middle k against steps."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    ax = axes[0]
    for i, (k, g) in enumerate(times.groupby("k")):
        color = f"C{i}"
        ds = np.array(sorted(g.d.unique()), float)
        q = np.array([quantiles(g[g.d == d].t_learn.to_numpy(float)) for d in ds])
        budget = float(g.budget.max())
        lo, mid, hi = q[:, 0], q[:, 1], np.minimum(q[:, 2], budget)
        fin = np.isfinite(mid)
        ax.errorbar(ds[fin], mid[fin], yerr=[mid[fin] - lo[fin], hi[fin] - mid[fin]], fmt="o", color=color, capsize=3)
        if (~fin).any():
            ax.plot(ds[~fin], np.full((~fin).sum(), budget), "^", color=color, mfc="none", label=f"k = {k}: median censored")
        f = fits[fits.k == k].iloc[0]
        if np.isfinite(f.alpha):
            xx = np.linspace(ds.min(), ds.max(), 50)
            label = f"k = {k}: time ~ d^{f.alpha:.2f} [{f.alpha_lo:.2f}, {f.alpha_hi:.2f}]"
            ax.plot(xx, 10**f.log10_c * xx**f.alpha, color=color, ls="--", label=label)
    ax.set(xscale="log", yscale="log", xlabel="input dimension d", ylabel=f"steps to test error < {LEARNED:.0%}")
    ax.set_xticks(sorted(times.d.unique()), [str(d) for d in sorted(times.d.unique())])
    ax.minorticks_off()
    ax.set_title(
        "time to learn a k-sparse parity: median, 10-90 % over replicas,\nfit on the medians (95 % bootstrap)", fontsize=10
    )
    ax.legend(fontsize="small", loc="upper left")
    ax = axes[1]
    ks = sorted(df.k.unique())
    k = ks[len(ks) // 2]
    sub = df[(df.k == k) & (df.step > 0)]
    for i, (d, g) in enumerate(sub.groupby("d")):
        band(ax, g, "error_test", f"d = {d}", f"C{i}")
    _thresholds(ax)
    ax.set(xscale="log", xlabel="SGD steps", ylabel="test error", ylim=(-0.01, 0.6))
    ax.set_title(f"k = {k}: test error against steps (median, 10-90 %)", fontsize=10)
    ax.legend(fontsize="small", loc="lower left")
    first = df.iloc[0]
    fig.suptitle(f"(a) Time to learn a k-parity against d (width {first.width}, bias, hinge, h = {first.lr:g}, p = {first.p:g})")
    return save_figure(fig, out, "parity_scaling", _FORMATS)


def _heat(ax: Any, cells: pd.DataFrame, col: str, title: str, fmt: str, vmax: float | None = None) -> None:
    grid = cells.pivot(index="p", columns="lr", values=col).sort_index(ascending=False)
    im = ax.imshow(grid.to_numpy(float), cmap="viridis", aspect="auto", vmin=0.0, vmax=vmax)
    ax.set_xticks(range(grid.shape[1]), [f"{h:g}" for h in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{p:g}" for p in grid.index])
    ax.set(xlabel="step h", ylabel="label noise p (uniform)")
    ax.set_title(title, fontsize=10)
    top = np.nanmax(grid.to_numpy(float)) if vmax is None else vmax
    for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8, color="w" if v < 0.6 * top else "k")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)


def noise_figure(df: pd.DataFrame, cells: pd.DataFrame, out: Path) -> list[Path]:
    """(b): the p x h cells (learned, late learned, forgets), the prototype's cell, and the mechanism against tau at one h."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 4, figsize=(20, 9))
    grid = cells[cells.part == "grid"]
    _heat(axes[0, 0], grid, "learned", f"fraction of replicas ever below {LEARNED:.0%} test error", ".2f", 1.0)
    _heat(axes[0, 1], grid, "late_learned", "fraction of the last half's checkpoints\nbelow 5 % (mean over replicas)", ".2f", 1.0)
    top = max(1.0, float(grid.forgets.max()))
    _heat(axes[0, 2], grid, "forgets", f"forgettings per replica (< {LEARNED:.0%}, then > {FORGOTTEN:.0%})", ".1f", top)
    ax = axes[0, 3]
    proto = df[df.part == "prototype"]
    if len(proto):
        p0, h0 = float(proto.p.iloc[0]), float(proto.lr.iloc[0])
        for i, (conv, g) in enumerate(proto.groupby("convention")):
            r0 = g[g.replica == 0].sort_values("step")
            flip = p0 / 2 if conv == "uniform" else p0
            ax.plot(r0.step, r0.error_test, color=f"C{i + 3}", lw=0.8, label=f"--noise {conv}, p = {p0:g} (flip rate {flip:g})")
        _thresholds(ax)
        ax.set(xlabel="SGD steps", ylabel="test error (replica 0)", ylim=(-0.01, 0.9))
        d, k = int(proto.d.iloc[0]), proto.support.iloc[0]
        ax.set_title(f"the prototype's cell (h = {h0:g}, d = {d}, k = {k}):\none replica per noise convention", fontsize=10)
        ax.legend(fontsize="small", loc="upper right")
    else:
        ax.set_axis_off()
    hs = sorted(df[df.part == "grid"].lr.unique())
    h = 0.05 if 0.05 in hs else hs[len(hs) // 2]
    sub = df[(df.part == "grid") & (df.lr == h)].assign(tau=lambda t: t.step * t.lr)
    width = int(sub.width.iloc[0])
    panels = (("norm_1", "first layer |M| (biases included)"), ("norm_2", "output layer |V| (and its bias)"),
              ("active_mean", f"active neurons per input (of {width})"), ("dead", f"dead neurons (of {width})"))  # fmt: skip
    for ax, (col, what) in zip(axes[1], panels, strict=True):
        for i, (p, g) in enumerate(sub.groupby("p")):
            band(ax, g, col, f"p = {p:g}", f"C{i}", x="tau")
        ax.set(xlabel="tau = h t", ylabel=what)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_title(f"{what} at h = {h:g}", fontsize=10)
    axes[1, 0].legend(fontsize="small", loc="best")
    d, k = int(sub.d.iloc[0]), sub.support.iloc[0]
    fig.suptitle(
        f"(b) Label noise against the step h: d = {d}, k = {k}, width {width}, bias, hinge; every run to the same tau = h t"
    )
    return save_figure(fig, out, "parity_noise", _FORMATS)


def curriculum_figure(df: pd.DataFrame, out: Path) -> list[Path]:
    """(c): test error on uniform inputs, and the first layer's weight on the support against the rest, per arm and (d, k)."""
    import matplotlib.pyplot as plt

    settings = [(int(d), int(k)) for d, k in df[["d", "k"]].drop_duplicates().to_numpy().tolist()]
    n = len(settings)
    fig, axes = plt.subplots(2, n, figsize=(max(11.0, 6.5 * n), 9), squeeze=False)
    for col, (d, k) in enumerate(settings):
        sub = df[(df.d == d) & (df.k == k) & (df.step > 0)].assign(ratio=lambda t: t.mass_support / t.mass_off)
        for i, (arm, g) in enumerate(sub.groupby("arm", sort=False)):
            band(axes[0, col], g, "error_test", str(arm), f"C{i}")
            band(axes[1, col], g, "ratio", str(arm), f"C{i}")
            n1 = int(g.switch.iloc[0])
            for ax in axes[:, col]:
                if n1:
                    ax.axvline(n1, color=f"C{i}", ls=":", lw=1)
        ax = axes[0, col]
        _thresholds(ax)
        ax.set(xscale="log", xlabel="SGD steps (dotted: end of the biased stage)", ylabel="test error (uniform inputs)")
        ax.set_ylim(-0.01, 1.0)
        ax.set_title(f"d = {d}, k = {k}: test error (median, 10-90 %)", fontsize=10)
        ax.legend(fontsize="small", loc="upper right", ncol=2)
        ax = axes[1, col]
        ax.set(xscale="log", yscale="log", xlabel="SGD steps", ylabel="rms first-layer weight: support / other bits")
        ax.set_title(f"d = {d}, k = {k}: mass_support / mass_off (median, 10-90 %)", fontsize=10)
    first = df.iloc[0]
    fig.suptitle(
        "(c) Curriculum: biased inputs Rad(q) first, then uniform, against uniform only "
        f"(width {first.width}, bias, hinge, h = {first.lr:g})"
    )
    return save_figure(fig, out, "parity_curriculum", _FORMATS)


def init_figure(df: pd.DataFrame, out: Path) -> list[Path]:
    """(d): test error against steps per initialisation, one panel per k."""
    import matplotlib.pyplot as plt

    ks = sorted(df.k.unique(), reverse=True)
    fig, axes = plt.subplots(1, len(ks), figsize=(max(11.0, 6.5 * len(ks)), 5.6), squeeze=False)
    d = int(df.d.iloc[0])
    for ax, k in zip(axes[0], ks, strict=True):
        sub = df[(df.k == k) & (df.step > 0)]
        for i, (arm, g) in enumerate(sub.groupby("arm", sort=False)):
            band(ax, g, "error_test", str(arm), f"C{i}", linestyle="-" if str(arm).startswith("rademacher") else "--")
        _thresholds(ax)
        ax.set(xscale="log", xlabel="SGD steps", ylabel="test error", ylim=(-0.01, 0.9))
        ax.set_title(f"d = {d}, parity of {k} bits", fontsize=10)
    axes[0, 0].legend(fontsize="small", loc="upper center", ncol=2)
    width, h = int(df.width.iloc[0]), float(df.lr.iloc[0])
    fig.suptitle(f"(d) Initialisation on almost-full parities (width {width}, bias, hinge, h = {h:g}): median, 10-90 %")
    return save_figure(fig, out, "parity_init", _FORMATS)
