"""The tasks: each one module that owns an input law, its clean target, and the sets they imply.

A :class:`~fastnoise.tasks.base.Task` draws inputs and labels twice, in two forms that must agree:
in the kernels, one fresh sample per step (its :class:`~fastnoise._kernels.parts.SamplerKernel`),
and in numpy, the sets drawn once per run (training set with ``--n-train``, probe set, test set).
Its tests draw both from the same stream. Built in: ``gaussian`` (x ~ N(0, I_d), target
sign(x_1)), ``basis`` (x uniform on the standard basis), ``cube`` (x uniform on [-1, 1]^d, +1
inside a centred cube holding half the mass), and the image sets ``mnist`` and
``fashion-mnist`` (a fixed training set; label +1 for even classes). A new task is one module
defining a Task, registered with :func:`register_task` (see docs/extending.md).
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Task

__all__ = ["Task", "get_task", "register_task", "registered_tasks", "task_names"]

_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Add ``task`` to the vocabulary (``RunConfig(data=task.name)``); returns it.

    Raises
    ------
    ValueError
        Another task already has that name, or it is not a valid name.
    """
    if not task.name or not task.name.replace("-", "_").isidentifier():
        raise ValueError(f"a task's name must be an identifier (dashes allowed), got {task.name!r}")
    if task.name in _TASKS and _TASKS[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is registered already")
    _TASKS[task.name] = task
    return task


def registered_tasks() -> tuple[Task, ...]:
    """Every registered task, built-in ones first."""
    return tuple(_TASKS.values())


def task_names() -> tuple[str, ...]:
    """The names ``--data`` accepts."""
    return tuple(_TASKS)


def get_task(name: str) -> Task:
    """The task named ``name``.

    Raises
    ------
    ConfigError
        No task has that name (``--data``).
    """
    task = _TASKS.get(name) if isinstance(name, str) else None
    if task is None:
        raise ConfigError("data", f"must be one of {', '.join(_TASKS)}; got {name!r}")
    return task


def _builtin() -> None:
    from . import basis, cube, gaussian, images

    for t in (gaussian.TASK, basis.TASK, cube.TASK, images.MNIST, images.FASHION_MNIST):
        register_task(t)


_builtin()
