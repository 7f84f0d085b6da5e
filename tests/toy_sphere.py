"""A toy task, added from outside the package: x uniform on the unit sphere S^(d-1), clean target sign(x_1).

The whole task is this file (docs/extending.md uses it as the example): the kernels' sampler
(a plain function the engine compiles into the step loop) and the numpy drawer of the same law,
registered through ``fastnoise.register_task``. Importing it registers the task ``sphere``.
"""

from __future__ import annotations

import math

import numpy as np

from fastnoise import Task, register_task
from fastnoise._kernels.draws import draw_gaussian
from fastnoise._kernels.parts import SamplerKernel
from fastnoise.fields import RunFields


def sphere_draw(P, D, st, ri, x):
    """x[:d] = g / |g| for g ~ N(0, I_d) (uniform on the sphere); clean label sign(x_1) = sign(g_1)."""
    clean, st = draw_gaussian(x, P.d, st)
    s = 0.0
    for i in range(P.d):
        s += x[i] * x[i]
    r = 1.0 / math.sqrt(s)
    for i in range(P.d):
        x[i] *= r
    return -1, clean, st


class Sphere(Task):
    """``data="sphere"``: inputs uniform on the unit sphere, target sign(x_1)."""

    name = "sphere"
    help = "x uniform on the unit sphere, target sign(x_1)"

    def sampler(self) -> SamplerKernel:
        return SamplerKernel("sphere", sphere_draw)

    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        g = rng.standard_normal((n, d))
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        return np.where(X[:, 0] > 0.0, 1.0, -1.0)


TASK = register_task(Sphere())
