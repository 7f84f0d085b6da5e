"""Gaussian inputs x ~ N(0, I_d) with the clean target sign(x_1) [ours: the paper's theorems are about pure noise]."""

from __future__ import annotations

import numpy as np

from ..fields import RunFields
from .base import Task


class Gaussian(Task):
    """``--data gaussian``: the kernels draw with a 256-layer ziggurat (numpy's constants), numpy with ``standard_normal``."""

    name = "gaussian"
    sampler_module = ".samplers"
    sampler_name = "GAUSSIAN_SAMPLER"
    help = "x ~ N(0, I_d), target sign(x_1)"

    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        return rng.standard_normal((n, d))

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        return np.where(X[:, 0] > 0.0, 1.0, -1.0)


TASK = Gaussian()
