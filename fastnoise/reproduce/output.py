"""Where an experiment's tables go: Parquet under its folder, written atomically by :func:`fastnoise.io.write_results`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import write_results

__all__ = ["write_table"]


def write_table(df: pd.DataFrame, folder: Path, stem: str) -> Path:
    """Write ``df`` to ``folder/stem.parquet`` (replacing it) with the run's provenance.

    Parameters
    ----------
    df : DataFrame
        A run table (its ``attrs`` carry the configuration).
    folder : Path
        The experiment's folder (created if missing).
    stem : str
        The file name without ``.parquet``.

    Returns
    -------
    Path
        The file written.
    """
    return write_results(df, folder / f"{stem}.parquet", overwrite=True)
