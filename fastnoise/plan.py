"""A run's plan, built once: what a configuration implies, from its model to its checkpoints.

The model, task and loss it names, its array geometry, compiled-kernel spec, kernel parameters
(one set per stage of a curriculum) and checkpoints; its data sets and initial weights, drawn on
first use.

:func:`plan` is the one place a configuration becomes what the kernels read. The engine, the
memory estimate (:mod:`fastnoise.footprint`), checkpoints and the test probes take a
:class:`RunPlan` (or the functions below, which are its parts) instead of re-deriving them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ._kernels import common as kc
from ._kernels import driver
from ._kernels.draws import FLIP, UNIFORM
from ._kernels.layout import Geometry
from ._kernels.params import Data, Params, Spec
from ._kernels.samplers import BASIS_SAMPLER, CUBE_SAMPLER, GAUSSIAN_SAMPLER, ROWS_SAMPLER
from .config import RunConfig
from .losses import Loss, get_loss
from .models import Model, model_of
from .schedule import checkpoints
from .sets import datasets
from .tasks import Task, get_task
from .weights import initial_weights

__all__ = [
    "RunPlan",
    "geometry",
    "kernel_params",
    "kernel_spec",
    "kernels",
    "plan",
    "rescaling_exact",
    "sampler",
    "stage_params",
]


def geometry(cfg: RunConfig) -> Geometry:
    """The shapes of a run's arrays (see :mod:`fastnoise._kernels.layout`; the packing is the model's).

    Minibatches and weight decay copy and rescale every replica's weight arrays whole at each step
    (``state.regime_arrays``), so their runs have no spread after the weight matrix (``layout.SPREAD``).
    """
    spread = cfg.batch == 1 and cfg.weight_decay == 0.0
    extra = len(get_task(cfg.data).extra_metrics(cfg))
    return Geometry(
        model_of(cfg),
        cfg.d,
        cfg.bias,
        cfg.hidden_widths,
        cfg.classes,
        cfg.trained_layers,
        np.dtype(cfg.dtype),
        spread=spread,
        extra_metrics=extra,
    )


def _trainset(cfg: RunConfig, task: Task) -> bool:
    """Whether SGD samples the rows of a training set (``--n-train``, or a data set) rather than fresh draws."""
    return cfg.n_train is not None or task.dataset


#: The package's own samplers, by name (a probe's spec may name one other than the run's: ``probes.apply_step``).
_BUILTIN_SAMPLERS = {s.name: s for s in (GAUSSIAN_SAMPLER, BASIS_SAMPLER, CUBE_SAMPLER, ROWS_SAMPLER)}


def sampler(cfg: RunConfig) -> Any:
    """The run's compiled sampler (:class:`~fastnoise._kernels.parts.SamplerKernel`): its task's, or a training set's rows."""
    task = get_task(cfg.data)
    return ROWS_SAMPLER if _trainset(cfg, task) else task.sampler()


def kernel_spec(cfg: RunConfig) -> Spec:
    """The compile-time options of a run's kernel: loss, input law (its sampler), activation, sparse inputs, regime.

    And the task's own columns: its metrics part, if :meth:`~fastnoise.tasks.Task.extra_metrics` names any.
    """
    task = get_task(cfg.data)
    return Spec(
        loss=get_loss(cfg.loss).kernel().name,
        sampler=sampler(cfg).name,
        act=kc.LEAKY if cfg.activation == "leaky" else kc.RELU,
        sparse=task.sparse,
        noise=FLIP if cfg.noise == "flip" else UNIFORM,
        smooth=cfg.label_smoothing > 0.0 and cfg.classes == 2,  # C classes: the targets are parameters
        batch=cfg.batch > 1,
        decay=cfg.weight_decay > 0.0,
        epochs=cfg.sampling == "epochs",
        metrics=task.metrics_kernel().name if task.extra_metrics(cfg) else "",
    )


def rescaling_exact(cfg: RunConfig) -> bool:
    """Whether scaling all weights by one factor maps trajectories to trajectories.

    True for the two-layer hinge net without bias training both layers: every update scales
    with the weights and the sign of N(x) is unchanged. Then the engine renormalises by powers
    of two (exact) and carries the scale, so runs never underflow. A depth-L mlp (hinge, no bias,
    every layer trained) is L-homogeneous: weights c*W follow the image of (W, h) only with the
    step h * c**(2 - L), so its kernel rescales the step with the weights (see ``_kernels/mlp.py``).
    The model and the loss decide (:meth:`fastnoise.models.Model.rescaling_exact`, ``Loss.homogeneous``).
    """
    if cfg.weight_decay > 0.0:  # (l/2)|W|^2 breaks the homogeneity
        return False
    return model_of(cfg).rescaling_exact(cfg, get_loss(cfg.loss).homogeneous)


def kernel_params(cfg: RunConfig, renormalize: bool = True, geo: Geometry | None = None) -> Params:
    """The run's parameters as the kernels read them."""
    geo = geometry(cfg) if geo is None else geo
    hidden = cfg.hidden_widths
    assert cfg.lr is not None and cfg.d is not None, "RunConfig resolves lr and d on construction"
    task = get_task(cfg.data)
    extra: dict[str, Any] = dict(cube_k=cfg.cube_dims, cube_c=0.0)
    extra.update(task.kernel_params(cfg))
    if cfg.dtype == "float32":
        extra.update(renorm_below=kc.RENORM_BELOW_F32, underflow_product=kc.UNDERFLOW_PRODUCT_F32)
    return Params(
        d=cfg.d,
        din=cfg.din,
        lr=float(cfg.lr),
        p=0.0 if cfg.noise_mode == "fixed" else float(cfg.p),  # fixed: the training labels carry the noise
        bias=cfg.bias,
        errors=cfg.errors,
        renorm=renormalize and rescaling_exact(cfg),
        train_v=cfg.train == "all",
        k=hidden[-1] if hidden else 1,
        kp=geo.kp,
        classes=cfg.classes,
        depth=geo.depth,
        leak=float(cfg.leak) if cfg.leak is not None else 0.0,
        smooth=float(cfg.label_smoothing),
        batch=int(cfg.batch),
        decay=float(cfg.weight_decay),
        **extra,
    )


def stage_params(cfg: RunConfig, params: Params) -> tuple[tuple[int, Params], ...]:
    """Each stage's first step (steps done before it) and kernel parameters: ``((0, params),)`` without a schedule.

    The stages are the task's (:meth:`fastnoise.tasks.Task.schedule`, a curriculum): ``params``
    with the stage's fields replaced, each of the type it has in ``params`` (so every stage's
    Params has the same Numba type and the compiled driver runs them all).

    Raises
    ------
    ValueError
        A stage sets a field that :class:`~fastnoise._kernels.params.Params` does not have (a task's bug).
    """
    sched = get_task(cfg.data).schedule(cfg)
    if sched is None:
        return ((0, params),)
    out = []
    for start, fields in sched:
        unknown = sorted(set(fields) - set(Params._fields))
        if unknown:
            raise ValueError(f"task {cfg.data}: a stage sets {', '.join(unknown)}, which are not kernel parameters")
        out.append((int(start), params._replace(**{k: type(getattr(params, k))(v) for k, v in fields.items()})))
    return tuple(out)


def kernels(cfg: RunConfig, spec: Spec | None = None) -> driver.Kernels:
    """The compiled kernels of a run (built once per model and spec, then cached).

    ``spec`` replaces the run's own (a probe's dense input: ``sampler="gaussian"``); its loss and
    sampler must be the run's or, for the sampler, a built-in one.
    """
    spec = kernel_spec(cfg) if spec is None else spec
    part = sampler(cfg)
    if part.name != spec.sampler:
        part = _BUILTIN_SAMPLERS[spec.sampler]
    metrics = get_task(cfg.data).metrics_kernel() if spec.metrics else None
    return driver.build(model_of(cfg).kernel(), spec, get_loss(cfg.loss).kernel(), part, metrics)


@dataclass
class RunPlan:
    """Everything a run's configuration implies, computed once (see the module docstring).

    ``data`` and ``weights`` (every replica's initial weights, packed) are drawn on first use:
    the memory estimate reads the geometry before anything large is allocated.
    """

    cfg: RunConfig
    model: Model
    task: Task
    loss: Loss
    geometry: Geometry
    spec: Spec
    params: Params
    points: np.ndarray
    stages: tuple[tuple[int, Params], ...]  # (first step, kernel parameters) of each stage: stage_params()
    _kernels: driver.Kernels | None = field(default=None, repr=False)

    @cached_property
    def data(self) -> Data:
        """The sets drawn once per run (:func:`fastnoise.sets.datasets`)."""
        return datasets(self.cfg)

    def packed(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Every replica's initial weights in the kernels' layout, and the scratch (new arrays at each call)."""
        return self.geometry.pack([initial_weights(self.cfg, r) for r in range(self.cfg.replicas)])

    def kernels(self) -> driver.Kernels:
        """The compiled kernels (compiled or loaded from the on-disk cache on first use), by :func:`kernels`.

        (Through the module's :func:`kernels`, looked up at call time: the theorem checks' tests
        replace it to hand every run a deliberately faulty step, ``tests/faults.py``.)
        """
        if self._kernels is None:
            self._kernels = kernels(self.cfg, self.spec)
        return self._kernels


def plan(cfg: RunConfig, renormalize: bool = True) -> RunPlan:
    """The plan of the run ``cfg`` (``renormalize=False``: no exact renormalisation, for tests)."""
    geo = geometry(cfg)
    params = kernel_params(cfg, renormalize, geo)
    return RunPlan(
        cfg=cfg,
        model=model_of(cfg),
        task=get_task(cfg.data),
        loss=get_loss(cfg.loss),
        geometry=geo,
        spec=kernel_spec(cfg),
        params=params,
        points=checkpoints(cfg.steps, cfg.records, cfg.record_spacing),
        stages=stage_params(cfg, params),
    )
