"""Figure helpers shared by the checks, the experiments and ``fastnoise plot``: replica bands, run figures, atomic saving.

:func:`runs_figure` draws any run table (one configuration, or several: a sweep folder) as
norms, active neurons and errors against steps, one median band per configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analysis import ID_COLUMNS, config_key, parameter_columns, varying_parameters
from .files import atomic_write

__all__ = [
    "MAX_CONFIGS",
    "applies",
    "band",
    "config_labels",
    "flow_line",
    "plot_runs",
    "runs_figure",
    "save_figure",
    "wrap_items",
]

#: The most configurations :func:`runs_figure` draws in one figure (each is a line per panel).
MAX_CONFIGS = 12
#: The parameters a run figure's title names (those shared by every configuration drawn that apply to its model and task).
_TITLE_KEYS = ("model", "loss", "bias", "data", "classes", "d", "width", "widths", "activation", "leak", "lr", "p")
#: Panel -> (column, what it is, its colour in a one-configuration figure), and the y label. The
#: norm panel's lines are the table's weight layers (:func:`_panel_lines`).
_PANELS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "active_mean": (("active_mean", "typical active neurons", "C2"),),
    "error": (("error_test", "test", "C3"), ("error_train", "training (clean labels)", "C4")),
}
_YLABELS = {"norm": "log10 Frobenius norm", "active_mean": "active neurons (probe set)", "error": "classification error"}
#: Line style of a panel's first, second and third kind of line when colours stand for configurations.
_STYLES: tuple[Any, ...] = ("-", "--", "-.")
#: Colours of the layers between the first and the output one in a one-configuration figure.
_MIDDLE_COLORS = ("C5", "C6", "C7", "C8", "C9")
#: Fraction of the figure's width that a title or the legend row may take.
_FILL = 0.94


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


def _params(df: pd.DataFrame) -> dict[str, Any]:
    """The run parameters of ``df``'s first row (a configuration's), completed by the table's metadata (``attrs["config"]``)."""
    row = {c: _scalar(df[c].iloc[0]) for c in parameter_columns(df)} if len(df) else {}
    return {**(df.attrs.get("config") or {}), **row}


def applies(name: str, params: Mapping[str, Any]) -> bool:
    """Whether parameter ``name`` means anything for the configuration ``params``: its model and its task are asked.

    Parameters
    ----------
    name : str
        A run parameter (``width``) or any other column (which applies).
    params : mapping
        The configuration's parameters (a table row's columns); ``model`` and ``data`` name the
        model (:meth:`fastnoise.models.Model.applies`) and the task (:meth:`fastnoise.tasks.Task.applies`).
        A model or task this process does not know (or none named) does not rule anything out.

    Returns
    -------
    bool
        False for ``width`` of a single neuron, ``leak`` of ReLU units, ``cube_dims`` of Gaussian
        inputs, ...; True otherwise.
    """
    from .errors import ConfigError
    from .models import get_model
    from .tasks import get_task

    model, data = params.get("model"), params.get("data")
    try:
        if model is not None and not get_model(str(model)).applies(name, params):
            return False
    except ConfigError:  # a model of an extension this process has not imported
        pass
    try:
        if data is not None and not get_task(str(data)).applies(name, params):
            return False
    except ConfigError:
        pass
    return True


def config_labels(df: pd.DataFrame, key: Sequence[str]) -> list[str]:
    """One label per group of ``df.groupby(key, dropna=False)``, in its order: ``p=0.2, width=100``.

    A label names only the parameters that apply to its configuration (:func:`applies`: no
    ``width`` for a single neuron), and an id column of ``key`` (``config_id``, ``cell``) only when
    the parameters leave two labels the same (two neurons that differ only in ``width``, which
    they ignore).
    """
    cols = list(key)
    if not cols:
        return []
    fmt = {c: _formatter(df[c]) for c in cols}
    full, short, ids = [], [], []
    for k, g in df.groupby(cols, dropna=False, sort=True):
        params = _params(g)
        items = [(c, f"{c}={fmt[c](v)}") for c, v in zip(cols, k, strict=True)]
        full.append(", ".join(text for _, text in items))
        short.append(", ".join(text for c, text in items if c not in ID_COLUMNS and applies(c, params)))
        ids.append(", ".join(text for c, text in items if c in ID_COLUMNS))
    with_ids = [", ".join(t for t in (s, i) if t) for s, i in zip(short, ids, strict=True)]
    out = []
    for s, w, f in zip(short, with_ids, full, strict=True):
        out.append(s if s and short.count(s) == 1 else w if w and with_ids.count(w) == 1 else f)
    return out


def _title_items(df: pd.DataFrame, configs: list[dict[str, Any]]) -> list[str]:
    """One configuration: its parameters that apply to it; several: those they share that apply to one of them at least."""
    if len(configs) == 1:
        params = configs[0]
        keys = [k for k in _TITLE_KEYS if k in params and applies(k, params)]
        return [f"{k}={_formatter(pd.Series([params[k]], dtype=object))(params[k])}" for k in keys]
    varying = set(varying_parameters(df))
    shared = [k for k in _TITLE_KEYS if k in df.columns and k not in varying and any(applies(k, p) for p in configs)]
    return [*(f"{k}={_formatter(df[k])(df[k].iloc[0])}" for k in shared), f"{len(configs)} configurations"]


def _text_width(text: str, fontsize: float) -> float:
    """The width in inches of the widest line of ``text`` at ``fontsize`` points (the default font, as matplotlib sets it)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=fontsize)
    return max(text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0] for line in text.split("\n")) / 72


def _shorten(text: str, width: float, fontsize: float) -> str:
    """``text``, cut and ended with ``...`` if it is wider than ``width`` inches."""
    if _text_width(text, fontsize) <= width:
        return text
    while len(text) > 1 and _text_width(text + "...", fontsize) > width:
        text = text[:-1]
    return text + "..."


def wrap_items(items: Sequence[str], width: float, fontsize: float) -> str:
    """``items`` joined by ``", "`` in lines no wider than ``width`` inches at ``fontsize`` points.

    Lines break between items; an item wider than a line on its own is shortened (``...``).

    Parameters
    ----------
    items : sequence of str
        The parts, such as ``"p=0.5"``.
    width : float
        The widest a line may be, in inches.
    fontsize : float
        The text's size in points (matplotlib's default font).

    Returns
    -------
    str
        The lines, joined by newlines.
    """
    lines: list[str] = []
    line = ""
    for item in items:
        item = _shorten(item, width, fontsize)
        trial = f"{line}, {item}" if line else item
        if line and _text_width(trial + ",", fontsize) > width:
            lines.append(line + ",")
            line = item
        else:
            line = trial
    return "\n".join([*lines, line])


def _layer_name(layer: int, depth: int) -> str:
    """``first layer``, ``layer 2``, ..., ``output layer`` (a single neuron's one layer is its first)."""
    if layer == 1:
        return "first layer"
    return "output layer" if layer == depth else f"layer {layer}"


def _panel_lines(panel: str, d: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """The lines of ``panel`` that ``d`` has data for: ``(column, what, kind, colour)``.

    The norm panel has one line per weight layer of the table (``log10_norm_1`` ... up to the
    deepest layer with data): ``first layer``, ``layer 2``, ..., ``output layer``. ``kind`` names
    what a line style stands for when colours stand for configurations (``middle layers``).
    """
    if panel != "norm":
        deep = "active_mean_2" in d.columns and d["active_mean_2"].notna().any()  # several hidden layers: say which
        return [
            (c, f"{what} (hidden layer 1)" if deep and c == "active_mean" else what, what, color)
            for c, what, color in _PANELS[panel]
            if c in d.columns and d[c].notna().any()
        ]
    depth = 0
    while f"log10_norm_{depth + 1}" in d.columns and d[f"log10_norm_{depth + 1}"].notna().any():
        depth += 1
    out = []
    for l in range(1, depth + 1):
        what = _layer_name(l, depth)
        color = "C0" if l == 1 else "C1" if l == depth else _MIDDLE_COLORS[(l - 2) % len(_MIDDLE_COLORS)]
        out.append((f"log10_norm_{l}", what, what if what in ("first layer", "output layer") else "middle layers", color))
    return out


def _legend_layout(labels: list[str], width: float, fontsize: float) -> tuple[list[str], int, float]:
    """Labels for a legend row ``width`` inches wide: wrapped to fit, the number of columns, and the legend's height in inches.

    Entries fill columns top to bottom (as matplotlib places them); each column is as wide as its
    widest label plus the handle, the columns are spaced by matplotlib's defaults; a row is as tall
    as its label of most lines, plus matplotlib's spacing between rows.
    """
    em = fontsize / 72
    handle, spacing = 2.8 * em, 2.0 * em  # handlelength + handletextpad; columnspacing
    wrapped = [wrap_items(label.split(", "), width - handle, fontsize) for label in labels]
    widths = [_text_width(label, fontsize) for label in wrapped]
    lines_of = [label.count("\n") + 1 for label in wrapped]
    n = len(wrapped)
    for ncol in range(n, 0, -1):
        rows = -(-n // ncol)
        columns = [range(j * rows, min((j + 1) * rows, n)) for j in range(-(-n // rows))]
        total = sum(max(widths[i] for i in col) + handle for col in columns) + spacing * (len(columns) - 1)
        if total <= width or ncol == 1:
            lines = sum(max(lines_of[i] for i in range(r, n, rows)) for r in range(rows))
            return wrapped, len(columns), (1.2 * lines + 0.5 * rows) * em + 0.3
    raise AssertionError("unreachable")


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
        One configuration: a colour per quantity (each weight layer's norm, active neurons,
        errors), titled with the run's parameters. Several: a colour per configuration, labelled
        in a legend below the panels with the parameters that differ (``p=0.2, width=100``), a
        line style per quantity, titled with the parameters shared by all. Titles and labels name
        only the parameters that apply to the configuration's model and task (:func:`applies`),
        and break into lines (or are shortened) to stay inside the figure.

    Raises
    ------
    ValueError
        More than ``max_configs`` configurations.
    """
    import matplotlib.pyplot as plt
    from matplotlib import rcParams
    from matplotlib.colors import to_hex
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D

    key = config_key(df)
    d = df[df.step > 0]
    groups = list(d.groupby(key, dropna=False, sort=True)) if key else []
    n_configs = len(groups) if key else 1
    if n_configs > max_configs:
        raise ValueError(
            f"the table holds {n_configs} configurations (they differ in {', '.join(key)}); at most {max_configs} are drawn"
        )
    colors = [f"C{i}" if n_configs <= 10 else to_hex(plt.get_cmap("tab20")(i)) for i in range(n_configs)]
    panels = [c for c in ("norm", "active_mean", "error") if c == "norm" or _panel_lines(c, d)]
    width = 5.5 * len(panels)
    small = FontProperties(size="small").get_size_in_points()
    if not key:
        fig, axes = plt.subplots(1, len(panels), figsize=(width, 4), squeeze=False)
        row = list(axes[0])
    else:  # a row of panels over one legend naming the configurations (a colour each)
        labels, ncol, legend_height = _legend_layout(config_labels(d, key), _FILL * width, small)
        fig = plt.figure(figsize=(width, 4 + legend_height))
        grid = fig.add_gridspec(2, len(panels), height_ratios=[4, legend_height])
        row = [fig.add_subplot(grid[0, i]) for i in range(len(panels))]
        legend_ax = fig.add_subplot(grid[1, :])
        legend_ax.axis("off")
        handles = [Line2D([], [], color=c) for c in colors]
        legend_ax.legend(handles, labels, loc="center", ncol=ncol, frameon=False, fontsize="small")
    for ax, panel in zip(row, panels, strict=True):
        lines_drawn = _panel_lines(panel, d)
        kinds = list(dict.fromkeys(kind for _, _, kind, _ in lines_drawn))  # a line style each
        if not key:
            for col, what, _, color in lines_drawn:
                band(ax, d, col, what, color)
                if theory is not None:
                    flow_line(ax, theory, col, color, f"{what}: mean-field flow")
        else:
            for (_, g), label, color in zip(groups, labels, colors, strict=True):
                for n, (col, _, kind, _) in enumerate(_panel_lines(panel, g)):
                    band(ax, g, col, label if n == 0 else "_nolegend_", color, linestyle=_STYLES[kinds.index(kind)])
                    if theory is not None and "config_id" in g.columns:
                        flow_line(ax, theory[theory.config_id.isin(g.config_id.unique())], col, color, "_nolegend_")
        ax.set_ylabel(_YLABELS[panel])
        ax.set_xscale("log")
        ax.set_xlabel("SGD step")
        if not key:
            ax.legend()
        elif len(kinds) > 1:  # the key to the line styles
            styles = [Line2D([], [], color="0.4", linestyle=_STYLES[j]) for j in range(len(kinds))]
            names = list(kinds)
            if theory is not None:
                styles.append(Line2D([], [], color="0.4", linestyle=":", lw=2.2))
                names.append("mean-field flow")
            ax.legend(styles, names, fontsize="small")
        elif theory is not None:
            ax.legend([Line2D([], [], color="0.4", linestyle=":", lw=2.2)], ["mean-field flow"], fontsize="small")
    configs = [_params(g) for _, g in groups] if key else [_params(df)]
    title_size = FontProperties(size=rcParams["figure.titlesize"]).get_size_in_points()
    fig.suptitle(wrap_items(_title_items(df, configs), _FILL * width, title_size))
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
