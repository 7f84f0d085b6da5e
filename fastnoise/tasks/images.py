"""The image data sets (MNIST, Fashion-MNIST): a fixed training split, a probe set from it, the test split.

Pixels are scaled to [0, 1]; the label is +1 for even classes and -1 for odd ones, or, with
``--classes 10``, the class index. Loading, caching and hash checks are :mod:`fastnoise.data`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from .base import Task

if TYPE_CHECKING:
    from ..config import RunConfig

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

    def check(self, cfg: RunConfig, d: int) -> None:
        super().check(cfg, d)
        if d != PIXELS:
            raise ConfigError("d", f"must be {PIXELS} (28 x 28 pixels) with --data {self.name}, got {d}")

    def sets(self, cfg: RunConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The training split (or its first ``n_train`` images), ``probe_size`` of its images, the test split."""
        from ..data.images import image_sets

        return image_sets(cfg, rng)

    def footprint(self, cfg: RunConfig) -> dict[str, int]:
        n_train = min(cfg.n_train or _IMAGE_TRAIN, _IMAGE_TRAIN)
        # the split is read whole (uint8) then the used part converted to float64
        train = _IMAGE_TRAIN * PIXELS + n_train * (PIXELS + 1) * _F8
        probe = cfg.probe_size * PIXELS * _F8
        test = _IMAGE_TEST * (PIXELS + 1) * _F8
        return {"train": train, "probe": probe, "test": test}


MNIST = Images("mnist", "MNIST digits, +1 for even digits")
FASHION_MNIST = Images("fashion-mnist", "Fashion-MNIST, +1 for even classes")
