"""Figure helpers shared by the checks and the experiments: replica bands and atomic saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import atomic_write

__all__ = ["band", "save_figure"]


def band(ax: Any, df: pd.DataFrame, col: str, label: str, color: str, x: str = "step") -> None:
    """Plot the median of ``col`` over replicas against ``x``, with a 10-90 % band."""
    agg = df.groupby(x)[col].quantile(np.array([0.1, 0.5, 0.9])).unstack()
    ax.fill_between(agg.index, agg[0.1], agg[0.9], color=color, alpha=0.25, lw=0)
    ax.plot(agg.index, agg[0.5], color=color, label=label)


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
