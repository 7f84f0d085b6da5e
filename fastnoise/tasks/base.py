"""What a task answers: the base class of every task (see :mod:`fastnoise.tasks`)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..fields import RunFields
from ..options import OPTION
from ..registry import Registry

__all__ = ["Task", "get_task", "register_task", "registered_tasks", "task_names"]

_F8 = 8

#: The kernels' package, relative to this one (a renamed copy of the package, as bench/paired.py loads
#: one, finds its own kernels).
_KERNELS = __name__.rsplit(".", 2)[0] + "._kernels"


class Task:
    """An input law with its clean target; subclasses override :meth:`inputs` and :meth:`target`.

    Attributes
    ----------
    name : str
        ``--data``.
    sampler_module, sampler_name : str
        Where the task's compiled sampler lives (a :class:`~fastnoise._kernels.parts.SamplerKernel`:
        the module, absolute or relative to ``fastnoise._kernels``, and the name in it), imported on
        first use. Runs with a training set draw its rows instead (the built-in ``rows`` sampler).
    dataset : bool
        The task is a fixed data set (images): it always has a training set, its own input size, and
        a test set to measure errors on.
    sparse : bool
        Inputs are mostly zeros (images): the kernels skip the zero coordinates.
    fixed_sets : bool
        The probe and test sets are fixed inputs (:meth:`fixed_inputs`: the basis), not draws.
    owns : tuple of str
        Run options only this task reads (the hypercube's ``target``, ``support``, ...): with any
        other task they must keep their defaults.
    metrics_module, metrics_name : str
        Where the compiled record of the task's own columns lives (a
        :class:`~fastnoise._kernels.parts.MetricsKernel`, as ``sampler_module``), for a task whose
        :meth:`extra_metrics` names any; empty otherwise.
    help : str
        One line for documentation.
    """

    name: str = ""
    sampler_module: str = ""
    sampler_name: str = ""
    dataset: bool = False
    sparse: bool = False
    fixed_sets: bool = False
    owns: tuple[str, ...] = ()
    metrics_module: str = ""
    metrics_name: str = ""
    help: str = ""

    def __repr__(self) -> str:
        """``<model name>``."""
        return f"<task {self.name}>"

    # ------------------------------------------------------------------ configuration
    def default_d(self) -> int:
        """The input dimension when ``--d`` is not given."""
        return 30

    def check(self, cfg: RunFields, d: int) -> None:
        """The rules the task adds, given the resolved input dimension ``d`` (``data_path`` needs a data set)."""
        if cfg.data_path is not None and not self.dataset:
            able = ", ".join(t.name for t in registered_tasks() if t.dataset)
            raise ConfigError("data_path", f"applies only to image data ({able}), got --data {self.name}")
        for name, owner in _owners().items():
            if name not in self.owns and getattr(cfg, name) != OPTION[name].default:
                raise ConfigError(name, f"applies only to --data {owner}, got --data {self.name}")

    def resolve(self, cfg: RunFields) -> dict[str, Any]:
        """The task's options in canonical spelling (after :meth:`check`): ``{"support": "3"}``; none by default."""
        return {}

    def max_cube_dims(self, d: int) -> int | None:
        """The largest ``--cube-dims`` the task allows (None: the option's own bound)."""
        return None

    def applies(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether run parameter ``name`` means anything for this task (a figure's labels name only those that do).

        ``params`` are the configuration's other parameters (a table row's columns). The default:
        ``data_path`` and ``classes`` apply to a data set (``dataset``), ``cube_dims`` to no
        task (the cube task overrides it); every other parameter applies.
        """
        if name in ("data_path", "classes"):
            return self.dataset
        return name != "cube_dims" and (name in self.owns or name not in _owners())

    def filename_parts(self, cfg: RunFields) -> list[str]:
        """Words the task adds to a run's default file name after ``--data`` (its own options); none by default."""
        return []

    def kernel_params(self, cfg: RunFields) -> dict[str, Any]:
        """Fields of the kernels' :class:`~fastnoise._kernels.params.Params` this task sets (read by its sampler)."""
        return {}

    def schedule(self, cfg: RunFields) -> tuple[tuple[int, dict[str, Any]], ...] | None:
        """The run's schedule of input laws (a curriculum), or None: one law, the run's own, throughout (the default).

        Returns
        -------
        tuple of (int, dict) or None
            One ``(start, overrides)`` per stage, in order: from ``start`` steps done on (the
            first stage from 0, the starts increasing and below ``cfg.steps``), the fresh samples
            are drawn with these fields of :meth:`kernel_params` replaced. The training, probe
            and test sets keep the run's own law. A run with a schedule, even of one stage, has a
            ``stage`` column (docs/table.md).
        """
        return None

    def kernel_arrays(self, cfg: RunFields) -> tuple[np.ndarray, np.ndarray]:
        """The kernels' ``Data.task_ints`` (int64) and ``Data.task_reals`` (float64) its sampler reads; empty by default."""
        return np.zeros(0, np.int64), np.zeros(0)

    def extra_metrics(self, cfg: RunFields) -> list[str]:
        """The task's own metric columns, after the model's in a run's table (none by default).

        A task that names any records them with :meth:`metrics_kernel` at every checkpoint; the
        table's schema (``fastnoise.schema.metric_names``) and the kernels' output array
        append them to the model's columns.
        """
        return []

    # ------------------------------------------------------------------ kernels
    def sampler(self) -> Any:
        """The compiled sampler of fresh samples (:class:`~fastnoise._kernels.parts.SamplerKernel`), named as the task.

        A task defined outside the package may override this to return its SamplerKernel directly.
        """
        if not self.sampler_module:
            raise ValueError(f"task {self.name} has no sampler of fresh samples: it trains on its data set")
        return getattr(importlib.import_module(self.sampler_module, _KERNELS), self.sampler_name)

    def metrics_kernel(self) -> Any:
        """The compiled record of :meth:`extra_metrics` (:class:`~fastnoise._kernels.parts.MetricsKernel`), or None.

        A task defined outside the package may override this to return its MetricsKernel directly.
        """
        if not self.metrics_module:
            return None
        return getattr(importlib.import_module(self.metrics_module, _KERNELS), self.metrics_name)

    # ------------------------------------------------------------------ numpy sets
    def inputs(self, n: int, d: int, rng: np.random.Generator, cfg: RunFields) -> np.ndarray:
        """``n`` inputs from the law, drawn in numpy from ``rng`` (the run's data stream)."""
        raise NotImplementedError

    def target(self, X: np.ndarray, cfg: RunFields) -> np.ndarray:
        """The clean labels (+1.0 or -1.0) of the inputs ``X``."""
        raise NotImplementedError

    def fixed_inputs(self, cfg: RunFields) -> np.ndarray | None:
        """Inputs that are the probe and test sets themselves (the basis), or None to draw them."""
        return None

    def sets(self, cfg: RunFields, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """A run's sets: training (only with ``n_train``), probe and test, with clean labels.

        Probe and test sets are :meth:`fixed_inputs` if the task has them, otherwise ``probe_size``
        and ``n_test`` draws from the input law, drawn in the order probe, train, test. Without
        ``n_train`` the training set is empty (the kernels draw fresh samples); without ``errors``
        so is the test set.

        Returns
        -------
        tuple of numpy.ndarray
            ``(Xtr, Ytr, Xpr, Xte, Yte)``.
        """
        d = cfg.d
        assert d is not None, "RunFields resolves d on construction"
        fixed = self.fixed_inputs(cfg) if self.fixed_sets else None
        Xpr = fixed if fixed is not None else self.inputs(cfg.probe_size, d, rng, cfg)
        if cfg.n_train is not None:
            Xtr = self.inputs(cfg.n_train, d, rng, cfg)
            Ytr = self.target(Xtr, cfg)
        else:
            Xtr, Ytr = np.zeros((0, d)), np.zeros(0)
        if not cfg.errors:
            Xte, Yte = np.zeros((0, d)), np.zeros(0)
        else:
            Xte = fixed if fixed is not None else self.inputs(cfg.n_test, d, rng, cfg)
            Yte = self.target(Xte, cfg)
        return Xtr, Ytr, Xpr, Xte, Yte

    def footprint(self, cfg: RunFields) -> dict[str, int]:
        """Bytes of the run's training, probe and test sets (upper estimates, for :mod:`fastnoise.footprint`)."""
        assert cfg.d is not None
        d = cfg.d
        train = (cfg.n_train or 0) * (d + 1) * _F8
        if self.fixed_sets:
            probe = test = d * (d + 1) * _F8
        else:
            probe = cfg.probe_size * d * _F8
            test = cfg.n_test * (d + 1) * _F8 if cfg.errors else 0
        return {"train": train, "probe": probe, "test": test}


# --------------------------------------------------------------------------- the registry
_TASKS: Registry[Task] = Registry("task", "data", dashes=True)


def _owners() -> dict[str, str]:
    """Each option some task owns (:attr:`Task.owns`) -> that task's name."""
    return {name: t.name for t in registered_tasks() for name in t.owns}


def register_task(task: Task) -> Task:
    """Add ``task`` to the vocabulary (``RunConfig(data=task.name)``); returns it.

    Raises
    ------
    ValueError
        Its name is not an identifier (dashes allowed), or another task already has it.
    """
    return _TASKS.register(task)


def registered_tasks() -> tuple[Task, ...]:
    """Every registered task, built-in ones first."""
    return _TASKS.entries()


def task_names() -> tuple[str, ...]:
    """The names ``--data`` accepts."""
    return _TASKS.names()


def get_task(name: str) -> Task:
    """The task named ``name``.

    Raises
    ------
    ConfigError
        No task has that name (``--data``).
    """
    return _TASKS.get(name)
