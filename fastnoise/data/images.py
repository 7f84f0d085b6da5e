"""Image data sets for the simulator: :func:`load` MNIST or Fashion-MNIST verified and offline, and shape them for a run.

:func:`load` reads the cached copy (checksums verified on every load, see :mod:`fastnoise.data.cache`),
an IDX folder (:mod:`fastnoise.data.idx`), or the Debian folder; a missing or corrupt data set raises
a one-line :class:`DatasetError` saying how to get it. :func:`scale_pixels` and :func:`binary_labels`
turn the uint8 arrays into the simulator's inputs and labels; :func:`image_sets` builds a run's sets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import sources
from .base import DATASETS, DatasetError, ImageDataset
from .cache import _check_pinned, _load_cache, cache_paths, default_cache_dir
from .idx import _IDX_STEMS, _is_idx_folder, load_idx_folder
from .sources import _how_to_get

__all__ = ["DATASETS", "DatasetError", "ImageDataset", "binary_labels", "load", "scale_pixels"]


def load(name: str, path: str | os.PathLike[str] | None = None) -> ImageDataset:
    """Load MNIST or Fashion-MNIST, verified, with no network access.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        The data set.
    path : str or os.PathLike, optional
        An IDX folder (the four standard files, read directly) or a cache folder holding
        ``NAME.npz`` (as written by ``fetch(name, cache_dir=path)``). Default: the cache
        (:func:`default_cache_dir`) for ``"mnist"``, ``/usr/share/datasets/fashion-mnist/``
        (Debian's ``dataset-fashion-mnist``) for ``"fashion-mnist"``.

    Returns
    -------
    ImageDataset
        uint8 images ``(n, 784)`` and labels ``(n,)``, read-only.

    Raises
    ------
    DatasetError
        Unknown name; the data set is missing (the message says how to get it); or it is corrupt
        (checksum mismatch, truncated or malformed file; the message says to re-fetch or reinstall).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (expected an IDX folder or a cache folder holding {name}.npz)")
        if any(p.exists() for p in cache_paths(name, folder)):
            return _load_cache(name, folder)
        if _is_idx_folder(folder):
            return load_idx_folder(folder, name=name)
        raise DatasetError(f"{folder} holds neither the IDX files ({_IDX_STEMS['x_train']}[.gz], ...) nor {name}.npz")
    if name == "fashion-mnist":
        fashion = sources.FASHION_MNIST_DIR  # looked up at call time: tests point it elsewhere
        if not _is_idx_folder(fashion):
            raise DatasetError(f"fashion-mnist not found in {fashion}: {_how_to_get(name)}")
        reinstall = "reinstall it with `apt-get install --reinstall dataset-fashion-mnist`"
        try:
            ds = load_idx_folder(fashion, name=name)
        except DatasetError as exc:
            raise DatasetError(f"{exc}; {reinstall}") from None
        try:
            _check_pinned(name, ds.sha256, str(fashion))
        except DatasetError as exc:
            raise DatasetError(f"{exc}; {reinstall}") from None
        return ds
    folder = default_cache_dir()
    try:
        return _load_cache(name, folder)
    except FileNotFoundError:
        raise DatasetError(f"{name} is not in the cache {folder}: {_how_to_get(name)}") from None


# --------------------------------------------------------------------------------------------------
# Preparing arrays for training

_TASKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "parity": lambda y: np.where(y % 2 == 0, 1.0, -1.0),
}


def binary_labels(y: np.ndarray, task: str = "parity") -> np.ndarray:
    """Turn class labels into the simulator's labels in {-1, +1}.

    Parameters
    ----------
    y : numpy.ndarray
        Integer class labels (e.g. ``ImageDataset.y_train``).
    task : {"parity"}
        ``"parity"``: +1 for even digits (0, 2, 4, 6, 8), -1 for odd.

    Returns
    -------
    numpy.ndarray
        float64 of the same shape, each entry -1.0 or +1.0.

    Raises
    ------
    ValueError
        Unknown task, or labels that are not integers.
    """
    if task not in _TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(_TASKS)}")
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got {y.dtype}")
    return _TASKS[task](y).astype(np.float64)


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float64 in [0, 1] (``x / 255``).

    Parameters
    ----------
    x : numpy.ndarray
        Pixels 0..255 (e.g. ``ImageDataset.x_train``).

    Returns
    -------
    numpy.ndarray
        float64, same shape, C-contiguous.
    """
    return np.asarray(x, dtype=np.float64) / 255.0
