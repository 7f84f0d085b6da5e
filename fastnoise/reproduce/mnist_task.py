"""Figs. 7-8 of the slides: MNIST (even vs odd, or ten classes) under label noise p."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import run
from ..io import concat_results
from ..plotting import band, save_figure
from .output import write_table

__all__ = ["MNIST", "MNIST10_REGIMES", "MNIST_P", "MNIST_REGIMES", "mnist"]

#: Our defaults for MNIST (the slides give none): even vs odd digits, pixels in [0, 1], a
#: two-layer net of width 256 without bias, weights U[-sqrt 3, sqrt 3] / sqrt(fan-in), two
#: epochs of per-sample SGD (samples drawn uniformly with replacement), p on a grid. Three
#: (loss, h) regimes: cross-entropy and hinge at h = 0.01, and hinge at h = 0.001.
MNIST: dict[str, Any] = dict(
    model="twolayer", data="mnist", width=256, init="fanin", bias=False, eval_size=10_000, probe_size=1000
)
MNIST_P: tuple[float, ...] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9)
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

    params: dict[str, Any] = dict(MNIST, data=data, data_path=data_path, classes=classes)
    regimes = MNIST_REGIMES if classes == 2 else MNIST10_REGIMES
    ps: tuple[float, ...]
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
    data_df = concat_results(frames)
    write_table(data_df, out, "mnist" if classes == 2 else "mnist10")
    end = data_df[data_df.step == steps]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for j, (regime, g) in enumerate(end.groupby("regime", sort=False)):
        band(axes[0], g, "error_test", f"{regime}: test", f"C{j}", x="p")
        agg = g.groupby("p").error_train.median()
        axes[0].plot(agg.index, agg.values, "--", color=f"C{j}", label=f"{regime}: training (clean labels)")
        band(axes[1], g, "active_mean", str(regime), f"C{j}", x="p")
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
