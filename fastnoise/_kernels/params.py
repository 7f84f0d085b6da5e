"""What a kernel is told about a run: typed, named fields instead of integer-indexed vectors.

- :class:`Params`: the run's scalars and small shape arrays, read as ``P.lr``, ``P.din``. A
  NamedTuple is passed by value and its field types are part of the compiled signature, so a
  misspelt field is a typing error when the kernel compiles, never a silent wrong slot.
- :class:`Spec`: the options that change the shape of the step loop (loss, input law,
  activation, sparse inputs). They are not read at run time: :func:`.driver.build` compiles one
  specialised copy of a model's loop per spec, with these values as compile-time constants.
- :class:`Data`: the arrays drawn once per run, shared read-only by every replica.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .common import RENORM_BELOW, UNDERFLOW_PRODUCT


class Params(NamedTuple):
    """Run parameters as the kernels see them (one type for every model; each reads its fields).

    d, din : input dimension, and the first layer's inputs (d + 1 with a bias).
    lr, p : learning rate h and label-noise rate.
    cube_k, cube_c : cube data, the label's coordinates and the cube's half-width.
    bias, errors, renorm : a bias on every layer; error columns filled; exact renormalisation on.
    train_v : two-layer nets, the output layer is trained.
    k, kp : two-layer nets, hidden width and its padded size.
    classes : outputs of the ten-class net (2 for binary tasks).
    depth : weight layers L (1 neuron, 2 two-layer net, L for an mlp).
    leak : slope of leaky units below 0.
    smooth : label smoothing e: targets (1 - e) onehot + e/C (0.0: none; see :func:`.common.targets`).
    batch : samples averaged per step (Spec.batch: more than one).
    decay : weight decay l (Spec.decay: l > 0).
    renorm_below, underflow_product : the two-layer net's range thresholds (see :mod:`.common`):
    float64's by default, float32's for a float32 net.
    bit_q53, mix, mix_q53, target : hypercube data (:mod:`.boolean`): P(x_i = +1) as a 53-bit
    integer, the fraction of mixture inputs and their P(x_i = +1), the target's code.

    Scalars only: an array field would be reference-counted at every call that takes Params
    (the deep nets' per-layer sizes travel in their layer table, see ``layout.G_DIMS``).
    """

    d: int
    din: int
    lr: float
    p: float
    cube_k: int
    cube_c: float
    bias: bool
    errors: bool
    renorm: bool
    train_v: bool
    k: int
    kp: int
    classes: int
    depth: int
    leak: float
    smooth: float = 0.0
    batch: int = 1
    decay: float = 0.0
    renorm_below: float = RENORM_BELOW
    underflow_product: float = UNDERFLOW_PRODUCT
    bit_q53: int = 0
    mix: float = 0.0
    mix_q53: int = 0
    target: int = 0


class Spec(NamedTuple):
    """Compile-time options of one specialised kernel (codes from :mod:`.common` / :mod:`.draws`; parts by name).

    How the templates read each field: :data:`BINDINGS`.

    ``noise`` (``UNIFORM`` or ``FLIP``), ``smooth`` (label smoothing on), ``batch`` (more than
    one sample per step), ``decay`` (weight decay on) and ``epochs`` (shuffled passes over the
    training set) default to the paper's rule, whose step loop is the one compiled before they
    existed. ``metrics`` names the part that records the task's own columns at a checkpoint
    (:class:`.parts.MetricsKernel`; the hypercube's progress measures), ``""`` for none: a run
    without it compiles exactly the kernels it compiled before the field existed.
    """

    loss: str  # the run's loss (a parts.LossKernel's name)
    sampler: str  # the run's input law (a parts.SamplerKernel's name)
    act: int
    sparse: bool
    noise: int = 0
    smooth: bool = False
    batch: bool = False
    decay: bool = False
    epochs: bool = False
    metrics: str = ""  # the task's own columns (a parts.MetricsKernel's name; "": none)


#: How :func:`.driver.build` binds a spec into the templates, declared once: every name a template
#: may read -> where its value comes from. A Spec field: a compile-time constant. ``loss.<attr>``,
#: ``sampler.<attr>`` or ``metrics.<attr>``: an attribute of the run's part (:mod:`.parts`) named by
#: that field, a constant (``LOSS_CONDITIONAL``), or a template bound like the model's roles
#: (``LOSS_SCALE``; a run without a metrics part binds no ``TASK_RECORD``).
#: A template's compiled copy is named after the values of those it reads (a part by its name).
BINDINGS: dict[str, str] = {
    "ACT": "act",
    "SPARSE": "sparse",
    "NOISE": "noise",
    "SMOOTH": "smooth",
    "BATCH": "batch",
    "DECAY": "decay",
    "EPOCHS": "epochs",
    "LOSS_SCALE": "loss.scale",
    "LOSS_CLASSES": "loss.classes",
    "LOSS_CONDITIONAL": "loss.conditional",
    "DRAW": "sampler.draw",
    "LANE_DRAW": "sampler.lane_draw",
    "ONEHOT": "sampler.onehot",
    "TASK_RECORD": "metrics.record",
}
assert {src.partition(".")[0] for src in BINDINGS.values()} == set(Spec._fields), "every Spec field is bound"


_NO_INTS = np.zeros(0, np.int64)
_NO_REALS = np.zeros(0)


class Data(NamedTuple):
    """Sets drawn once per run: training (sampled by SGD), error evaluation, probe, test; the task's arrays.

    ``task_ints``, ``task_reals``: what the task's sampler reads besides :class:`Params` (the
    hypercube's support and truth table; empty for the other tasks).
    """

    Xtr: np.ndarray
    Ytr: np.ndarray
    Xev: np.ndarray
    Yev: np.ndarray
    Xpr: np.ndarray
    Xte: np.ndarray
    Yte: np.ndarray
    task_ints: np.ndarray = _NO_INTS
    task_reals: np.ndarray = _NO_REALS
