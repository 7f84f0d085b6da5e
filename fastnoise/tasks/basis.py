"""Inputs uniform on the standard basis e_1, ..., e_d; target +1 on the first ceil(d/2) [ours]."""

from __future__ import annotations

import numpy as np

from ..fields import RunFields
from .base import Task


class Basis(Task):
    """``--data basis``: the probe and test sets are the d basis vectors themselves; the kernels take the one-hot path."""

    name = "basis"
    sampler_module = ".samplers"
    sampler_name = "BASIS_SAMPLER"
    fixed_sets = True
    help = "x uniform on the standard basis, target +1 on the first ceil(d/2)"

    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        return np.eye(d)[rng.integers(0, d, size=n)]

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        j = np.argmax(X, axis=1)
        return np.where(2 * j < cfg.d, 1.0, -1.0)

    def fixed_inputs(self, cfg: RunFields) -> np.ndarray:
        assert cfg.d is not None
        return np.eye(cfg.d)


TASK = Basis()
