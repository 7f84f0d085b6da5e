"""The theorem checks' figures: each draws measurements a check has already made (and judged) into a PNG.

Nothing here decides a verdict; every function takes a check's data and a folder and returns the
path of the figure it saved (:func:`fastnoise.plotting.save_figure`). Matplotlib is imported only
when a figure is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis
from ..plotting import band, save_figure

__all__ = ["plot_flow", "plot_l2", "plot_neuron", "plot_norms", "plot_parity", "plot_sparsify"]


def plot_l2(df: pd.DataFrame, curve: dict[str, Any], folder: Path, tol: float) -> Path:
    """Theorem 1's figure, ``l2.png``: the per-step error histogram and one sample's norm changes against h / h0.

    Parameters
    ----------
    df : DataFrame
        The check's measurements (``err`` per step, ``kind``, ``arch``, ``case``).
    curve : dict
        ``u``, ``predicted`` and ``measured`` of :func:`fastnoise.checks.l2.example_curve`.
    folder : Path
        Where to save.
    tol : float
        The asserted tolerance, drawn as a line.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    e = df[df.kind != "euler"].err.clip(lower=1e-20)
    axes[0].hist(np.log10(e), bins=40)
    axes[0].axvline(np.log10(tol), color="k", ls="--", label="tolerance (64 ulp)")
    axes[0].set_xlabel("log10 |measured - expansion| / |W|^2")
    axes[0].set_ylabel("steps")
    axes[0].set_title("per-step norm change vs the expansion")
    axes[0].legend()
    ex = df.query("arch == 'twolayer' and kind == 'below'").case.iloc[0]
    us, pred, meas = curve["u"], curve["predicted"], curve["measured"]
    axes[1].plot(us, pred[:, 0], "C0-", label="|M|^2 expansion")
    axes[1].plot(us, pred[:, 1], "C1-", label="|V|^2 expansion")
    axes[1].plot(us, meas[:, 0], "C0o", ms=3, label="|M|^2 engine step")
    axes[1].plot(us, meas[:, 1], "C1o", ms=3, label="|V|^2 engine step")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].axvline(1, color="k", ls="--", lw=0.8)
    axes[1].set_xlabel("h / h0")
    axes[1].set_ylabel("change of squared norm")
    axes[1].set_title(f"one misclassified sample (example {ex})")
    axes[1].legend(fontsize=8)
    return save_figure(fig, folder, "l2")[0]


def plot_flow(data: pd.DataFrame, folder: Path) -> Path:
    """The corollary's figure, ``flow.png``: each interval's rise of |W|^2 over its allowance, against steps.

    Parameters
    ----------
    data : DataFrame
        The check's intervals (``setting``, ``layer``, ``step``, ``rise``, ``allowance``).
    folder : Path
        Where to save.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (key, g) in enumerate(data.groupby(["setting", "layer"], sort=False)):
        ax.plot(g.step, g.rise / g.allowance, ".", ms=2, color=f"C{i}", label=f"{key[0]}: {key[1]}")
    ax.axhline(1.0, color="k", ls="--", label="allowance (3x expected h^2 term)")
    ax.set_xlabel("step")
    ax.set_ylabel("rise of |W|^2 over an interval / allowance")
    ax.set_title("Corollary: no rise beyond the second-order term (homogeneous nets)")
    ax.legend(fontsize=7, markerscale=4)
    return save_figure(fig, folder, "flow")[0]


def plot_neuron(data: pd.DataFrame, folder: Path, name: str, loss: str) -> Path:
    """Theorem 2's figure: plateau and time against each grid axis, replica bands, fit and the theorem's slope.

    Parameters
    ----------
    data : DataFrame
        The check's grid runs (``axis``, ``h``, ``d``, ``v0``, ``plateau``, ``time`` per replica).
    folder : Path
        Where to save.
    name : str
        File stem (``hinge-neuron`` or ``logistic-neuron``).
    loss : {"hinge", "logistic"}
        Which theorem's exponents to draw (the hinge has four panels, cross-entropy two).

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    panels = [("h", "plateau"), ("h", "time")] + ([("d", "plateau"), ("v0", "time")] if loss == "hinge" else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    expected = {
        ("hinge", "h", "plateau"): 1.0,
        ("hinge", "d", "plateau"): 1.0,
        ("hinge", "h", "time"): -1.0,
        ("hinge", "v0", "time"): 1.0,
        ("logistic", "h", "plateau"): 0.5,
        ("logistic", "h", "time"): -1.5,
    }
    for ax, (axis, y) in zip(np.atleast_1d(axes), panels, strict=True):
        sub = data[data.axis == axis]
        stats = sub.groupby(axis)[y].quantile(np.array([0.1, 0.5, 0.9])).unstack()
        xs = stats.index.to_numpy(float)
        ax.fill_between(xs, stats[0.1], stats[0.9], alpha=0.3, label="replicas 10-90 %")
        ax.plot(xs, stats[0.5], "o", label="median")
        slope, icpt, _ = analysis.loglog_fit(xs, stats[0.5])
        ax.plot(xs, 10**icpt * xs**slope, "-", label=f"fit, slope {slope:+.2f}")
        e = expected[(loss, axis, y)]
        gm = np.exp(np.mean(np.log(stats[0.5])))
        gx = np.exp(np.mean(np.log(xs)))
        ax.plot(
            xs,
            gm * (xs / gx) ** e,
            "k--",
            label=f"theorem, slope {e:+g}" + (" (bound)" if (loss, y) == ("logistic", "time") else ""),
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel({"h": "learning rate h", "d": "dimension d", "v0": "|V0|"}[axis])
        ax.set_ylabel({"plateau": "plateau norm", "time": "steps to reach the plateau"}[y])
        ax.legend(fontsize=7)
    fig.suptitle(f"single neuron, {loss}, pure noise, x ~ N(0, I_d)")
    return save_figure(fig, folder, name)[0]


def plot_norms(frames: dict[str, pd.DataFrame], folder: Path, name: str, title: str) -> Path:
    """Figs. 2 and 3 of the checks: both layers' median norms and the typical active neurons against steps.

    Parameters
    ----------
    frames : dict of str to DataFrame
        One run table per setting (its label in the legend).
    folder : Path
        Where to save.
    name : str
        File stem (``nobias`` or ``bias``).
    title : str
        The figure's title.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (label, df) in enumerate(frames.items()):
        df = df[df.step > 0]
        for col, ls in (("log10_norm_1", "-"), ("log10_norm_2", ":")):
            agg = df.groupby("step")[col].quantile(np.array([0.1, 0.5, 0.9])).unstack()
            axes[0].plot(
                agg.index,
                10 ** agg[0.5] if agg[0.5].min() > -300 else agg[0.5],
                ls,
                color=f"C{i}",
                label=f"{label}: {'first' if col.endswith('1') else 'output'} layer",
            )
        band(axes[1], df, "active_mean", label, f"C{i}")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("Frobenius norm (median over replicas)")
    axes[0].legend(fontsize=7)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("typical active neurons (probe set)")
    axes[1].legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, folder, name)[0]


def plot_sparsify(data: pd.DataFrame, folder: Path) -> Path:
    """Theorem 5's figure, ``sparsify.png``: the mean zero fraction of ReLU(M e_i) against k, per step size.

    Parameters
    ----------
    data : DataFrame
        The check's measurements (``k``, ``h_label``, ``zero_frac_mean`` per replica).
    folder : Path
        Where to save.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, g) in enumerate(data.groupby("h_label", sort=False)):
        s = g.groupby("k").zero_frac_mean.agg(["median", "min", "max"])
        ax.fill_between(s.index, s["min"], s["max"], color=f"C{i}", alpha=0.25)
        ax.plot(s.index, s["median"], "o-", color=f"C{i}", label=f"h = {label}")
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="1/2")
    ax.set_xscale("log")
    ax.set_xlabel("k (width 2k)")
    ax.set_ylabel("fraction of zero coordinates of ReLU(M e_i)")
    ax.set_title("sparsification: hidden layer only, basis inputs, pure noise, hinge")
    ax.legend(fontsize=8)
    return save_figure(fig, folder, "sparsify")[0]


def plot_parity(data: pd.DataFrame, hits: pd.DataFrame, folder: Path, learned: float, chance: float) -> Path:
    """The parity check's figure, ``parity.png``: the neuron's test error, the net's, and the net's time against d.

    Parameters
    ----------
    data : DataFrame
        The check's measurements (``part``, ``loss``, ``k``, ``d``, ``h``, ``run``, ``step``, ``error_test``).
    hits : DataFrame
        Per ``d`` and ``run``: the first step with test error at most ``learned`` (``time``).
    folder : Path
        Where to save.
    learned : float
        The test error counted as learned, drawn as a line.
    chance : float
        The neuron's margin around 1/2, drawn as a band.

    Returns
    -------
    Path
        The PNG written.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    neuron, net = data[data.part == "neuron"], data[data.part == "twolayer"]
    labels = []
    for i, ((loss, k, h), g) in enumerate(neuron.groupby(["loss", "k", "h"], sort=False)):
        e = g.groupby("run").error_test.mean()
        axes[0].errorbar(i, e.mean(), yerr=4 * e.std(ddof=1) / np.sqrt(e.size), fmt="o", color=f"C{0 if loss == 'hinge' else 1}")
        labels.append(f"{str(loss)[:5]} k={k} h={h:g}")
    axes[0].axhspan(0.5 - chance, 0.5 + chance, color="k", alpha=0.1, label=f"1/2 +- {chance:g}")
    axes[0].axhline(0.5, color="k", ls="--", lw=0.8)
    axes[0].set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    axes[0].set_ylabel("mean test error +- 4 s.e. over runs")
    axes[0].set_title("single neuron with bias, d = 30")
    axes[0].legend(fontsize=7)
    for i, (d, g) in enumerate(net[net.step > 0].groupby("d")):
        band(axes[1], g, "error_test", f"d = {d}", f"C{i}")
    axes[1].axhline(learned, color="k", ls="--", lw=0.8, label=f"learned ({learned:g})")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("test error (replicas' median, 10-90 %)")
    axes[1].set_title("two-layer, width 100, bias")
    axes[1].legend(fontsize=7)
    finite = hits[np.isfinite(hits.time)]
    axes[2].plot(finite.d, finite.time, ".", alpha=0.4, label="replicas")
    med = hits.groupby("d").time.median()
    axes[2].plot(med.index, med.to_numpy(), "o", label="median")
    slope, icpt, _ = analysis.loglog_fit(finite.d, finite.time)
    xs = np.asarray(med.index, float)
    axes[2].plot(xs, 10**icpt * xs**slope, "-", label=f"fit, exponent {slope:.2f}")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("dimension d")
    axes[2].set_ylabel(f"steps to test error <= {learned:g}")
    axes[2].legend(fontsize=7)
    fig.suptitle("sparse parity on {-1, +1}^d, no noise")
    fig.tight_layout()
    return save_figure(fig, folder, "parity")[0]
