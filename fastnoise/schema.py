"""The table's columns, their types and meaning, and the schema version.

One row per (replica, checkpoint). The base columns are the same for every model: a metric that
does not apply (``norm_2`` of a neuron, errors under pure noise without a training set) is null.
Deep nets (``model="mlp"``) add per-layer columns: ``norm_l``, ``log10_norm_l``, ``bias_norm_l``
for layers 3..L and ``active_mean_l``, ``active_min_l``, ``dead_l`` for every hidden layer
(:func:`metric_names`). Schema 2 added those and the ``widths``, ``activation``, ``leak`` columns;
schema 3 made every :class:`~fastnoise.config.RunConfig` field a column (:data:`PARAMS`: a table
of many runs, concatenated, keeps each row's configuration) and added ``config_id``
(:func:`config_id`), which names the configuration of a row; a file's metadata maps each id it
holds to its full configuration (:mod:`fastnoise.io`). Files of older schemas read unchanged
(they lack the new columns). Schema 4 added the training-regime fields (``noise``,
``noise_mode``, ``label_smoothing``, ``batch``, ``weight_decay``, ``sampling``) as columns.
A run with a schedule of input laws (a curriculum, :meth:`fastnoise.tasks.Task.schedule`) has a
``stage`` column after ``step`` (:data:`STAGE`); other runs' tables do not.
Schema 5 added a task's own metric columns after the model's (:meth:`fastnoise.tasks.Task.extra_metrics`):
hypercube runs' progress measures ``target_corr``, ``mass_support``, ``mass_off`` and
``fourier_<bits>`` (:data:`TASK_METRICS`; no other run has them). (The hypercube task's fields,
``target``, ``support`` ..., became columns of every table with the task itself, still in schema 4.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from ._kernels.columns import BASE_NAMES
from ._kernels.columns import metric_names as _layout_names
from .config import RunConfig, get_task
from .models import model_of
from .schedule import stage_column

SCHEMA_VERSION = 5

#: Base metric columns, in the kernels' order, with their meaning (docs/table.md).
METRICS: dict[str, str] = {
    "norm_1": "Frobenius norm of the first weight layer (the neuron's V), bias included",
    "norm_2": "norm of the output layer (V and b2; ten classes: the 10 x width V and b) of a two-layer net",
    "log10_norm_1": "log10 of norm_1, exact even below 1e-308 (renormalised runs)",
    "log10_norm_2": "log10 of norm_2",
    "bias_norm_1": "norm of the first layer's bias part (B1, or the neuron's bias)",
    "bias_norm_2": "|b2|, the output bias",
    "updates": "steps since the previous checkpoint on which the rule applied an update: hinge, the "
    "misclassified ones (y*N(x) <= 0); logistic, every step (its scale h*y*sigmoid(-y*N(x)) is never 0 "
    "in practice, though a step where no unit fires moves nothing)",
    "active_mean": "typical number of active neurons: mean over the probe set of #{i: M_i.x > 0}",
    "active_min": "least number of active neurons over the probe set",
    "dead": "neurons that fire on no probe input",
    "error_train": "fraction of the training set (clean labels) with y*N(x) <= 0 (ten classes: argmax of the scores != label)",
    "error_test": "fraction of the test set with y*N(x) <= 0 (ten classes: argmax of the scores != label)",
}

#: Per-layer metric columns of deep nets, ``{l}`` the layer (1-based; output layer L).
LAYER_METRICS: dict[str, str] = {
    "norm_{l}": "Frobenius norm of weight layer l (bias column included); norm_1, norm_2 are the base columns",
    "log10_norm_{l}": "log10 of norm_l, exact even below 1e-308 (renormalised runs)",
    "bias_norm_{l}": "norm of layer l's bias part (the output layer's: |b|)",
    "active_mean_{l}": "hidden layer l: mean over the probe set of the number of its units with pre-activation > 0",
    "active_min_{l}": "hidden layer l: least number of active units over the probe set",
    "dead_{l}": "hidden layer l: units whose pre-activation is <= 0 on every probe input",
}
assert tuple(METRICS) == BASE_NAMES

#: The column of runs with a curriculum, and its meaning (docs/table.md).
STAGE = (
    "stage",
    "the curriculum's stage (1-based) in effect for the last step before the checkpoint (step 0: 1); "
    "only in the tables of runs with a curriculum",
)
#: A task's own metric columns, after the model's: hypercube runs' progress measures ("hidden
#: progress", arXiv 2207.08799), computed in the kernels at each checkpoint (``_kernels/progress.py``)
#: at true scale (renormalised runs: scaled back by exact powers of two). ``{bits}``: the 1-based
#: bits of a subset T of the support, in support order, joined by "_" (docs/table.md).
TASK_METRICS: dict[str, str] = {
    "target_corr": "mean over the probe set of y(x)*N(x), y the clean target",
    "mass_support": "root-mean-square of the first layer's weights over (units) x (support coordinates), bias excluded",
    "mass_off": "root-mean-square of the first layer's weights over (units) x (the other input coordinates; NaN if none)",
    "fourier_{bits}": "mean over the probe set of N(x)*chi_T(x), chi_T the product of x_i over T: every non-empty "
    "subset T of the support when k <= 4 (by degree, then lexicographic in support positions), else the support only",
}

#: Parameter columns repeated on every row (schema 2's, in their order).
_PARAMS_2 = (
    "model",
    "loss",
    "bias",
    "train",
    "data",
    "d",
    "width",
    "widths",
    "activation",
    "leak",
    "lr",
    "p",
    "n_train",
    "init",
    "seed",
)
#: Every RunConfig field is a column: schema 2's, then the rest in declaration order.
PARAMS = (*_PARAMS_2, *(f.name for f in dataclasses.fields(RunConfig) if not f.name.startswith("_") and f.name not in _PARAMS_2))
ID_CHARS = 16


def config_id(cfg: RunConfig) -> str:
    """A configuration's id: sha256 of its canonical JSON (:meth:`RunConfig.identity`), first 16 hex digits."""
    text = json.dumps(cfg.identity(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:ID_CHARS]


def param_column(name: str, value: Any, n: int) -> Any:
    """A constant column for parameter ``name``, typed by the field's annotation (never by the value).

    So every table has the same Arrow type for it, even where the value is None: ``int`` int64,
    ``int | None`` nullable Int64, floats float64 (None as NaN), ``str`` object, anything else a
    nullable string (JSON for non-strings).
    """
    kind = str(_FIELDS[name].type).replace(" ", "")
    if kind == "bool":
        return np.full(n, bool(value))
    if kind == "int":
        return np.full(n, value, dtype=np.int64)
    if kind == "int|None":
        return pd.array([value] * n, dtype="Int64")
    if kind in ("float", "float|None"):
        return np.full(n, np.nan if value is None else float(value))
    if kind == "str":
        return np.full(n, value, dtype=object)
    text = value if (value is None or isinstance(value, str)) else json.dumps(value, sort_keys=True)
    return pd.array([text] * n, dtype=pd.StringDtype())


_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def _is_count(name: str) -> bool:
    return name == "updates" or name.startswith(("active_min", "dead"))


def metric_names(cfg: RunConfig) -> list[str]:
    """The metric columns of a run's table, in the kernels' order: the model's, then its task's own.

    The task's: :meth:`~fastnoise.tasks.Task.extra_metrics` (a hypercube run's progress measures,
    :data:`TASK_METRICS`); none for the other built-in tasks.
    """
    return _layout_names(cfg.depth, model_of(cfg).deep) + get_task(cfg.data).extra_metrics(cfg)


def frame_from_arrays(cfg: RunConfig, points: np.ndarray, out: np.ndarray) -> pd.DataFrame:
    """Tidy DataFrame from the kernels' ``out[replica, checkpoint, metric]``."""
    from .tasks import get_task  # here: the tasks load the kernels (Numba), which importing the schema must not

    R, C, _ = out.shape
    cols: dict[str, object] = {
        "replica": np.repeat(np.arange(R, dtype=np.int64), C),
        "step": np.tile(points.astype(np.int64), R),
    }
    sched = get_task(cfg.data).schedule(cfg)
    if sched is not None:
        cols[STAGE[0]] = np.tile(stage_column([start for start, _ in sched], points), R)
    flat = out.reshape(R * C, -1)
    for m, name in enumerate(metric_names(cfg)):
        v = flat[:, m]
        if _is_count(name):
            counts = pd.array(np.where(np.isnan(v), 0, v).astype(np.int64), dtype="Int64")
            counts[np.isnan(v)] = pd.NA
            cols[name] = counts
        else:
            cols[name] = v
    n = R * C
    net = model_of(cfg).hidden
    cols.update(
        model=np.full(n, cfg.model, dtype=object),
        loss=np.full(n, cfg.loss, dtype=object),
        bias=np.full(n, cfg.bias),
        train=np.full(n, cfg.train, dtype=object),
        data=np.full(n, cfg.data, dtype=object),
        d=np.full(n, cfg.d, dtype=np.int64),
        width=pd.array([cfg.hidden_widths[0] if net else None] * n, dtype="Int64"),
        widths=pd.array([",".join(str(w) for w in cfg.hidden_widths) if net else None] * n, dtype="string"),
        activation=pd.array([cfg.activation if net else None] * n, dtype="string"),
        leak=pd.array([cfg.leak] * n, dtype="Float64"),
        lr=np.full(n, cfg.lr),
        p=np.full(n, cfg.p),
        n_train=pd.array([cfg.n_train] * n, dtype="Int64"),
        init=np.full(n, cfg.init, dtype=object),
        seed=np.full(n, cfg.seed, dtype=np.int64),
    )
    for name in PARAMS[len(_PARAMS_2) :]:
        cols[name] = param_column(name, getattr(cfg, name), n)
    cid = config_id(cfg)
    cols["config_id"] = np.full(n, cid, dtype=object)
    df = pd.DataFrame(cols)
    df.attrs["config"] = cfg.to_dict()
    df.attrs["configs"] = {cid: cfg.to_dict()}
    return df
