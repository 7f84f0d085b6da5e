"""Figure helpers shared by the checks, the experiments and ``fastnoise plot``: replica bands, run figures, atomic saving.

:func:`runs_figure` draws any run table (one configuration, or several: a sweep folder) as
norms, active neurons and errors against steps, one median band per configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analysis import config_key, varying_parameters
from .files import atomic_write

__all__ = ["MAX_CONFIGS", "band", "config_labels", "flow_line", "plot_runs", "runs_figure", "save_figure"]

#: The most configurations :func:`runs_figure` draws in one figure (each is a line per panel).
MAX_CONFIGS = 12
#: The parameters a run figure's title names (those shared by every configuration drawn).
_TITLE_KEYS = ("model", "loss", "bias", "data", "d", "width", "lr", "p")
#: Panel -> (column, what it is, its colour in a one-configuration figure), and the y label.
_PANELS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "norm": (("log10_norm_1", "first layer", "C0"), ("log10_norm_2", "output layer", "C1")),
    "active_mean": (("active_mean", "typical active neurons", "C2"),),
    "error": (("error_test", "test", "C3"), ("error_train", "training (clean labels)", "C4")),
}
_YLABELS = {"norm": "log10 Frobenius norm", "active_mean": "active neurons (probe set)", "error": "classification error"}
#: Line style of a panel's first and second column when colours stand for configurations.
_STYLES: tuple[Any, ...] = ("-", "--")


def band(ax: Any, df: pd.DataFrame, col: str, label: str, color: str, x: str = "step", linestyle: str = "-") -> None:
    """Plot the median of ``col`` over replicas against ``x``, with a 10-90 % band.

    Every row of ``df`` at one ``x`` counts as a replica: give it one configuration.
    """
    agg = df.groupby(x)[col].quantile(np.array([0.1, 0.5, 0.9])).unstack()
    ax.fill_between(agg.index, agg[0.1], agg[0.9], color=color, alpha=0.25, lw=0)
    ax.plot(agg.index, agg[0.5], color=color, label=label, linestyle=linestyle)


def flow_line(
    ax: Any, theory: pd.DataFrame, col: str, color: str, label: str = "mean-field flow", x: str = "step", linestyle: str = ":"
) -> None:
    """Overlay a mean-field table's curve (``fastnoise meanfield``): the mean of ``col`` over its flows against ``x``.

    Drawn thick and dotted over a replica band of the same colour; rows at step 0 and nulls are skipped.
    """
    if col not in theory.columns:  # no flow at all (``plot --theory`` found none to compute)
        return
    t = theory[(theory[x] > 0) & theory[col].notna()]
    if t.empty:
        return
    mean = t.groupby(x)[col].mean()
    ax.plot(mean.index, mean.to_numpy(), color=color, linestyle=linestyle, lw=2.2, label=label)


def _scalar(value: Any) -> Any:
    """A table cell as a Python value (``None`` for a null)."""
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _formatter(values: pd.Series) -> Callable[[Any], str]:
    """Text for the values of one parameter: floats with the fewest digits (4 at least) that keep them apart."""

    def text(value: Any, digits: int) -> str:
        v = _scalar(value)
        if v is None:
            return "none"
        if isinstance(v, float):
            return f"{v:.{digits}g}"
        return str(v)

    distinct = [_scalar(v) for v in values.drop_duplicates()]
    for digits in (4, 6, 8, 12, 17):
        if len({text(v, digits) for v in distinct}) == len(distinct):
            break
    return lambda v: text(v, digits)


def config_labels(df: pd.DataFrame, key: Sequence[str]) -> list[str]:
    """One label per group of ``df.groupby(key, dropna=False)``, in its order: ``p=0.2, width=100``."""
    cols = list(key)
    if not cols:
        return []
    fmt = {c: _formatter(df[c]) for c in cols}
    return [
        ", ".join(f"{c}={fmt[c](v)}" for c, v in zip(cols, k, strict=True)) for k, _ in df.groupby(cols, dropna=False, sort=True)
    ]


def _title(df: pd.DataFrame, n_configs: int) -> str:
    """One configuration: its parameters (from the table's metadata if it has them); several: the shared ones."""
    if n_configs == 1:
        cfg = df.attrs.get("config") or {k: _scalar(df[k].iloc[0]) for k in _TITLE_KEYS if k in df.columns}
        return ", ".join(f"{k}={cfg[k]}" for k in _TITLE_KEYS if k in cfg)
    varying = set(varying_parameters(df))
    shared = [k for k in _TITLE_KEYS if k in df.columns and k not in varying]
    return ", ".join([*(f"{k}={_formatter(df[k])(df[k].iloc[0])}" for k in shared), f"{n_configs} configurations"])


def runs_figure(df: pd.DataFrame, max_configs: int = MAX_CONFIGS, theory: pd.DataFrame | None = None) -> Any:
    """Norms, active neurons and errors against steps: one median band (10-90 %) per configuration.

    Parameters
    ----------
    df : pandas.DataFrame
        A table written by ``fastnoise run``, or several (a sweep folder read by
        :func:`fastnoise.analysis.load`). Configurations are told apart by
        :func:`fastnoise.analysis.config_key`.
    max_configs : int
        Refuse a table with more configurations than this.
    theory : pandas.DataFrame, optional
        Mean-field tables (``fastnoise meanfield``, ``source = "meanfield"``) of the same configurations:
        each configuration's flow is drawn dotted over its band (matched by ``config_id``).

    Returns
    -------
    matplotlib.figure.Figure
        One configuration: a colour per quantity, titled with the run's parameters. Several: a
        colour per configuration, labelled in each panel's legend with the parameters that differ
        (``p=0.2, width=100``), a line style per quantity, titled with the parameters shared by all.

    Raises
    ------
    ValueError
        More than ``max_configs`` configurations.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D

    key = config_key(df)
    d = df[df.step > 0]
    groups = list(d.groupby(key, dropna=False, sort=True)) if key else []
    n_configs = len(groups) if key else 1
    if n_configs > max_configs:
        raise ValueError(
            f"the table holds {n_configs} configurations (they differ in {', '.join(key)}); at most {max_configs} are drawn"
        )
    labels = config_labels(d, key) if key else []
    colors = [f"C{i}" if n_configs <= 10 else to_hex(plt.get_cmap("tab20")(i)) for i in range(n_configs)]
    panels = [c for c in ("norm", "active_mean", "error") if c == "norm" or d[c if c != "error" else "error_test"].notna().any()]
    if not key:
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        row = list(axes[0])
    else:  # a row of panels over one legend naming the configurations (a colour each)
        width = 5.5 * len(panels)
        fits = max(1, int(width / (0.065 * max(len(t) for t in labels) + 0.8)))  # labels side by side in the width
        rows = -(-n_configs // fits)
        ncol = -(-n_configs // rows)  # as many labels on each row
        legend_height = 0.25 * rows + 0.3
        fig = plt.figure(figsize=(width, 4 + legend_height))
        grid = fig.add_gridspec(2, len(panels), height_ratios=[4, legend_height])
        row = [fig.add_subplot(grid[0, i]) for i in range(len(panels))]
        legend_ax = fig.add_subplot(grid[1, :])
        legend_ax.axis("off")
        handles = [Line2D([], [], color=c) for c in colors]
        legend_ax.legend(handles, labels, loc="center", ncol=ncol, frameon=False, fontsize="small")
    for ax, panel in zip(row, panels, strict=True):
        lines = [line for line in _PANELS[panel] if d[line[0]].notna().any()]
        if not key:
            for col, what, color in lines:
                band(ax, d, col, what, color)
                if theory is not None:
                    flow_line(ax, theory, col, color, f"{what}: mean-field flow")
        else:
            for (_, g), label, color in zip(groups, labels, colors, strict=True):
                present = [(j, col) for j, (col, _, _) in enumerate(lines) if g[col].notna().any()]
                for n, (j, col) in enumerate(present):
                    band(ax, g, col, label if n == 0 else "_nolegend_", color, linestyle=_STYLES[j])
                    if theory is not None and "config_id" in g.columns:
                        flow_line(ax, theory[theory.config_id.isin(g.config_id.unique())], col, color, "_nolegend_")
        ax.set_ylabel(_YLABELS[panel])
        ax.set_xscale("log")
        ax.set_xlabel("SGD step")
        if not key:
            ax.legend()
        elif len(lines) > 1:  # the key to the line styles
            styles = [Line2D([], [], color="0.4", linestyle=_STYLES[j]) for j in range(len(lines))]
            names = [what for _, what, _ in lines]
            if theory is not None:
                styles.append(Line2D([], [], color="0.4", linestyle=":", lw=2.2))
                names.append("mean-field flow")
            ax.legend(styles, names, fontsize="small")
        elif theory is not None:
            ax.legend([Line2D([], [], color="0.4", linestyle=":", lw=2.2)], ["mean-field flow"], fontsize="small")
    fig.suptitle(_title(df, n_configs))
    return fig


def plot_runs(df: pd.DataFrame, path: Path, max_configs: int = MAX_CONFIGS, theory: pd.DataFrame | None = None) -> list[Path]:
    """Draw :func:`runs_figure` (``theory`` overlaid) and save it as ``path`` (PNG) and a PDF beside it; returns both paths."""
    return save_figure(runs_figure(df, max_configs, theory=theory), path.parent, path.stem, ("png", "pdf"))


def save_figure(fig: Any, folder: Path, name: str, formats: Sequence[str] = ("png",), dpi: int = 120) -> list[Path]:
    """Save ``fig`` as ``folder/name.<format>`` for each format, atomically, and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (closed on return, also on failure).
    folder : Path
        Created if missing.
    name : str
        The file stem.
    formats : sequence of str
        Matplotlib format names, each also the file's extension (``"png"``, ``"pdf"``).
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of Path
        The files written, one per format. Each is written through
        :func:`fastnoise.files.atomic_write`: complete under its name or absent.
    """
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = []
    try:
        for ext in formats:
            path = folder / f"{name}.{ext}"
            with atomic_write(path, "wb") as f:
                fig.savefig(f, format=ext, dpi=dpi)
            paths.append(path)
    finally:
        plt.close(fig)
    return paths
