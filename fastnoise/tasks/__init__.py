"""The tasks: each one module that owns an input law, its clean target, and the sets they imply.

A :class:`~fastnoise.tasks.base.Task` draws inputs and labels twice, in two forms that must agree:
in the kernels, one fresh sample per step (its :class:`~fastnoise._kernels.parts.SamplerKernel`),
and in numpy, the sets drawn once per run (training set with ``--n-train``, probe set, test set).
Its tests draw both from the same stream. Built in: ``gaussian`` (x ~ N(0, I_d), target
sign(x_1)), ``basis`` (x uniform on the standard basis), ``cube`` (x uniform on [-1, 1]^d, +1
inside a centred cube holding half the mass), ``hypercube`` (x in {-1, +1}^d with Rad(q) bits;
a parity, staircase, majority or junta of a support), and the image sets ``mnist`` and
``fashion-mnist`` (a fixed training set; label +1 for even classes). A new task is one module
defining a Task, registered with :func:`register_task` (see docs/extending.md).
"""

from __future__ import annotations

from . import basis, cube, gaussian, hypercube, images
from .base import Task, get_task, register_task, registered_tasks, task_names

__all__ = ["Task", "get_task", "register_task", "registered_tasks", "task_names"]


for t in (gaussian.TASK, basis.TASK, cube.TASK, hypercube.TASK, images.MNIST, images.FASHION_MNIST):
    register_task(t)
