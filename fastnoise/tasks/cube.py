"""Inputs uniform on [-1, 1]^d; +1 inside the centred cube of the first K coordinates that holds half the mass.

The half-width is c = (1/2)^(1/K) (``--cube-dims K``), so the clean labels are balanced (docs/model.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..fields import RunFields
from .base import Task


def cube_halfwidth(k: int) -> float:
    """(1/2)**(1/K): the centred cube that holds half of [-1, 1]^K."""
    return 0.5 ** (1.0 / k)


class Cube(Task):
    """``--data cube``: ``--cube-dims K`` (at most d) coordinates decide the label."""

    name = "cube"
    sampler_module = ".samplers"
    sampler_name = "CUBE_SAMPLER"
    help = "x uniform on [-1, 1]^d, +1 inside a centred cube of K coordinates"

    def max_cube_dims(self, d: int) -> int | None:
        return d

    def applies(self, name: str, params: Mapping[str, Any]) -> bool:
        return name == "cube_dims" or super().applies(name, params)

    def kernel_params(self, cfg: RunFields) -> dict[str, Any]:
        return {"cube_k": cfg.cube_dims, "cube_c": cube_halfwidth(cfg.cube_dims)}

    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(n, d))

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        c = cube_halfwidth(cfg.cube_dims)
        inside = np.all(np.abs(X[:, : cfg.cube_dims]) <= c, axis=1)
        return np.where(inside, 1.0, -1.0)


TASK = Cube()
