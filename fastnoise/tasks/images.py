"""The image data sets (MNIST, Fashion-MNIST): a fixed training split, a probe set from it, the test split.

Pixels are scaled to [0, 1]; the label is +1 for even classes and -1 for odd ones, or, with
``--classes 10``, the class index. Loading, caching and hash checks are :mod:`fastnoise.data`'s.
"""

from __future__ import annotations

import numpy as np

from ..data.images import binary_labels, load, scale_pixels
from ..errors import ConfigError
from ..fields import RunFields
from .base import Task

PIXELS = 784
_IMAGE_TRAIN, _IMAGE_TEST, _F8 = 60_000, 10_000, 8


class Images(Task):
    """An image data set: d = 784 (28 x 28), sparse inputs, a training set always (SGD samples its rows)."""

    dataset = True
    sparse = True

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help

    def default_d(self) -> int:
        return PIXELS

    def check(self, cfg: RunFields, d: int) -> None:
        super().check(cfg, d)
        if d != PIXELS:
            raise ConfigError("d", f"must be {PIXELS} (28 x 28 pixels) with --data {self.name}, got {d}")

    def sets(self, cfg: RunFields, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """A run's image sets: the training split (or its first ``n_train`` images), a probe set, the test split.

        The probe set is ``probe_size`` training images drawn once from ``rng`` (without replacement,
        kept in order). Pixels are scaled to [0, 1]; labels are +1 for even classes and -1 for odd
        ones, or, with ``classes > 2``, the class indices stored as floats. ``data_path`` names the
        data set's folder (default: the cache; see :func:`fastnoise.data.load`).

        Raises
        ------
        DatasetError
            The data set is missing or corrupt.
        """
        ds = load(self.name, cfg.data_path)
        n = ds.x_train.shape[0] if cfg.n_train is None else min(cfg.n_train, ds.x_train.shape[0])
        Xtr = scale_pixels(ds.x_train[:n])
        Ytr = binary_labels(ds.y_train[:n])
        Xpr = Xtr[np.sort(rng.choice(n, size=min(cfg.probe_size, n), replace=False))]
        Xte = scale_pixels(ds.x_test)
        Yte = binary_labels(ds.y_test)
        if cfg.classes > 2:  # class indices, stored as floats
            Ytr = ds.y_train[:n].astype(np.float64)
            Yte = ds.y_test.astype(np.float64)
        return Xtr, Ytr, Xpr, Xte, Yte

    def footprint(self, cfg: RunFields) -> dict[str, int]:
        n_train = min(cfg.n_train or _IMAGE_TRAIN, _IMAGE_TRAIN)
        # the split is read whole (uint8) then the used part converted to float64
        train = _IMAGE_TRAIN * PIXELS + n_train * (PIXELS + 1) * _F8
        probe = cfg.probe_size * PIXELS * _F8
        test = _IMAGE_TEST * (PIXELS + 1) * _F8
        return {"train": train, "probe": probe, "test": test}


MNIST = Images("mnist", "MNIST digits, +1 for even digits")
FASHION_MNIST = Images("fashion-mnist", "Fashion-MNIST, +1 for even classes")
