"""Run configuration: one frozen dataclass, validated on construction.

Every field is declared once, in :data:`fastnoise.options.OPTIONS` (kind, default, range,
help); the defaults below and the docstring's Parameters section come from it. Every rule gives
a one-line message naming the parameter, the value and what is allowed; the CLI shows the same
message with the option's spelling (``--lr``). Defaults marked [ours] are this project's choices
where the paper is silent (see docs/model.md, section 9).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .options import (  # noqa: F401  (MAX_STEPS: re-exported)
    ACTIVATIONS,
    DEFAULT_LEAK,
    DTYPES,
    INITS,
    MAX_STEPS,
    NOISE_MODES,
    NOISES,
    OPTION,
    OPTIONS,
    SAMPLINGS,
    SPACINGS,
    coerce,
    parameters_doc,
)

__all__ = ["ConfigError", "RunConfig"]

_D = {o.name: o.default for o in OPTIONS}
#: Options added after ids were defined: absent from :meth:`RunConfig.identity` at their defaults.
REGIME_FIELDS = ("noise", "noise_mode", "label_smoothing", "batch", "weight_decay", "sampling", "dtype")
#: Options added with the Boolean hypercube: likewise absent from ids at their defaults.
LATER_FIELDS = ("init_sigma", "target", "support", "truth_table", "bit_bias", "mix", "mix_bias", "curriculum")


def get_model(name: str) -> Any:
    """:func:`fastnoise.models.get_model` (imported on first use: the vocabulary loads numpy; the CLI's start-up does not)."""
    from .models import get_model as get

    return get(name)


def get_task(name: str) -> Any:
    """:func:`fastnoise.tasks.get_task` (imported on first use, as :func:`get_model`)."""
    from .tasks import get_task as get

    return get(name)


def get_loss(name: str) -> Any:
    """:func:`fastnoise.losses.get_loss` (imported on first use, as :func:`get_model`)."""
    from .losses import get_loss as get

    return get(name)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, f"must be one of {', '.join(allowed)}; got {value!r}")


def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(name, f"must be {rng}, got {value}")


def _check_count(name: str, value: Any, hi: int | None = None) -> None:
    """An integer in the declared range of option ``name`` (``hi`` overrides the declared upper bound)."""
    opt = OPTION[name]
    assert opt.lo is not None
    _check_int(name, value, int(opt.lo), hi if hi is not None else (None if opt.hi is None else int(opt.hi)))


def _check_range(name: str, value: float) -> None:
    """A number in the declared range of option ``name`` (message: ``must be > 0, got -1.0``)."""
    opt = OPTION[name]
    assert opt.lo is not None
    above = value > opt.lo if opt.lo_open else value >= opt.lo
    if not above or (opt.hi is not None and value > opt.hi):
        raise ConfigError(name, f"must be {opt.range_text()}, got {value}")


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(name, f"must be finite, got {value}")
    return value


def _parse_widths(value: Any) -> tuple[int, ...] | None:
    """``None``, ``"64,32,16"`` or a sequence of ints, as a tuple of ints (each >= 1)."""
    if value is None:
        return None
    items: list[Any]
    if isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, str):
        items = [t.strip() for t in value.replace("x", ",").split(",")]
        try:
            items = [int(t) for t in items]
        except ValueError:
            raise ConfigError("widths", f"must be a list of integers such as 64,32,16 (or 64x32x16), got {value!r}") from None
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ConfigError("widths", f"must be a list of integers such as 64,32,16, got {value!r}")
    if not items:
        raise ConfigError("widths", "must name at least one hidden layer, got none")
    lo, hi = OPTION["widths"].lo, OPTION["widths"].hi
    assert lo is not None and hi is not None
    for n in items:
        if isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi:
            raise ConfigError("widths", f"must be integers between {lo} and {hi}, got {value!r}")
    if len(items) > 64:
        raise ConfigError("widths", f"must have at most 64 hidden layers, got {len(items)}")
    return tuple(int(n) for n in items)


@dataclass(frozen=True)
class RunConfig:
    """One simulation: model, loss, data, label noise, schedule and seed.

    Each field is declared in :data:`fastnoise.options.OPTIONS`; whole floats for counts are
    accepted (``steps=1e6`` is ``steps=1000000``). The Parameters section is generated from it.
    """

    model: str = _D["model"]
    loss: str = _D["loss"]
    bias: bool = _D["bias"]
    train: str = _D["train"]
    data: str = _D["data"]
    d: int | None = _D["d"]
    width: int = _D["width"]
    widths: tuple[int, ...] | None = _D["widths"]
    activation: str = _D["activation"]
    leak: float | None = _D["leak"]
    lr: float | None = _D["lr"]
    p: float = _D["p"]
    n_train: int | None = _D["n_train"]
    data_path: str | None = _D["data_path"]
    classes: int = _D["classes"]
    eval_size: int = _D["eval_size"]
    n_test: int = _D["n_test"]
    probe_size: int = _D["probe_size"]
    cube_dims: int = _D["cube_dims"]
    init: str = _D["init"]
    init_scale: float | None = _D["init_scale"]
    init_norm: float | None = _D["init_norm"]
    steps: int = _D["steps"]
    records: int = _D["records"]
    record_spacing: str = _D["record_spacing"]
    replicas: int = _D["replicas"]
    seed: int = _D["seed"]
    noise: str = _D["noise"]
    noise_mode: str = _D["noise_mode"]
    label_smoothing: float = _D["label_smoothing"]
    batch: int = _D["batch"]
    weight_decay: float = _D["weight_decay"]
    sampling: str = _D["sampling"]
    dtype: str = _D["dtype"]
    init_sigma: float = _D["init_sigma"]
    target: str = _D["target"]
    support: str = _D["support"]
    truth_table: str | None = _D["truth_table"]
    bit_bias: float = _D["bit_bias"]
    mix: float = _D["mix"]
    mix_bias: float = _D["mix_bias"]
    curriculum: str | None = _D["curriculum"]
    _resolved: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Coerce whole-number floats of counts, resolve the defaults that depend on others, validate."""
        for opt in OPTIONS:  # whole floats for counts (steps=1e6) are ints from here on
            value = getattr(self, opt.name)
            fixed = coerce(opt.name, value)
            if fixed is not value:
                object.__setattr__(self, opt.name, fixed)
        model = get_model(self.model)
        get_loss(self.loss)
        if not isinstance(self.bias, bool):
            raise ConfigError("bias", f"must be true or false, got {self.bias!r}")
        _check_choice("activation", self.activation, ACTIVATIONS)
        task = get_task(self.data)
        _check_choice("init", self.init, INITS)
        _check_choice("record_spacing", self.record_spacing, SPACINGS)
        d = self.d if self.d is not None else task.default_d()
        _check_count("d", d)
        task.check(self, d)
        object.__setattr__(self, "d", d)
        for name, value in task.resolve(self).items():  # the task's canonical spelling of its options
            object.__setattr__(self, name, value)
        if isinstance(self.classes, bool) or self.classes not in OPTION["classes"].choices:
            raise ConfigError("classes", f"must be {' or '.join(map(str, OPTION['classes'].choices))}, got {self.classes!r}")
        model.check_classes(self, task.dataset)
        _check_count("width", self.width)
        object.__setattr__(self, "widths", _parse_widths(self.widths))
        model.check_shape(self)
        if self.activation == "leaky":
            leak = _check_float("leak", DEFAULT_LEAK if self.leak is None else self.leak)
            _check_range("leak", leak)
            object.__setattr__(self, "leak", leak)
        elif self.leak is not None:
            raise ConfigError("leak", f"applies only with --activation leaky, got --activation {self.activation}")
        object.__setattr__(self, "train", model.parse_train(self.train, self.depth))
        model.check_train(self)
        lr = model.default_lr(d) if self.lr is None else self.lr
        lr = _check_float("lr", lr)
        _check_range("lr", lr)
        p = _check_float("p", self.p)
        _check_range("p", p)
        if self.n_train is not None:
            _check_count("n_train", self.n_train)
        _check_count("n_test", self.n_test)
        _check_count("eval_size", self.eval_size)
        _check_count("probe_size", self.probe_size)
        _check_count("cube_dims", self.cube_dims, task.max_cube_dims(d))
        a = self.init_scale
        if a is None:
            a = 1.0 if self.init in ("gaussian", "rademacher") else math.sqrt(3.0)
        a = _check_float("init_scale", a)
        _check_range("init_scale", a)
        sigma = _check_float("init_sigma", self.init_sigma)
        _check_range("init_sigma", sigma)
        object.__setattr__(self, "init_sigma", sigma)
        if self.init_norm is not None:
            nrm = _check_float("init_norm", self.init_norm)
            _check_range("init_norm", nrm)
            object.__setattr__(self, "init_norm", nrm)
        _check_count("steps", self.steps)
        _check_count("records", self.records)
        _check_count("replicas", self.replicas)
        _check_count("seed", self.seed)
        self._check_regime(task.dataset)
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "init_scale", a)
        object.__setattr__(self, "_resolved", True)

    def _check_regime(self, image: bool) -> None:
        """The training-regime options, alone and together (noise convention, mode, smoothing, batch, decay, sampling)."""
        _check_choice("noise", self.noise, NOISES)
        _check_choice("noise_mode", self.noise_mode, NOISE_MODES)
        _check_choice("sampling", self.sampling, SAMPLINGS)
        trainset = self.n_train is not None or image
        if self.noise_mode == "fixed" and not trainset:
            raise ConfigError(
                "noise_mode", "fixed needs a training set (--n-train N, or image data); fresh samples have no fixed labels"
            )
        if self.sampling == "epochs" and not trainset:
            raise ConfigError("sampling", "epochs needs a training set (--n-train N, or image data)")
        e = _check_float("label_smoothing", self.label_smoothing)
        _check_range("label_smoothing", e)
        get_loss(self.loss).check(self)
        if e >= 1.0:
            raise ConfigError("label_smoothing", f"must be below 1 (e = 1 leaves no label), got {e:g}")
        object.__setattr__(self, "label_smoothing", e)
        _check_count("batch", self.batch)
        lam = _check_float("weight_decay", self.weight_decay)
        _check_range("weight_decay", lam)
        object.__setattr__(self, "weight_decay", lam)
        _check_choice("dtype", self.dtype, DTYPES)
        get_model(self.model).check_dtype(self)

    def identity(self) -> dict[str, Any]:
        """:meth:`to_dict` without the training-regime fields at their defaults: what names a run.

        Ids (``config_id``, sweep cell ids) hash this, so that the runs of earlier versions, which
        had none of these options, keep their ids.
        """
        out = self.to_dict()
        for name in (*REGIME_FIELDS, *LATER_FIELDS):
            if out[name] == _D[name]:
                del out[name]
        return out

    @property
    def din(self) -> int:
        """Input coordinates seen by the first layer (d, plus 1 with a bias)."""
        assert self.d is not None  # resolved on construction
        return self.d + int(self.bias)

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """Widths of the hidden layers: ``(width,)`` for the two-layer net, ``()`` for the neuron (the model's)."""
        return get_model(self.model).hidden_widths(self)

    @property
    def depth(self) -> int:
        """Weight layers L: 1 for the neuron, 2 for the two-layer net, hidden layers + 1 for an mlp."""
        return len(self.hidden_widths) + 1

    @property
    def trained_layers(self) -> tuple[int, ...]:
        """The trained layers, 1-based (layer ``depth`` is the output layer)."""
        if self.train == "all":
            return tuple(range(1, self.depth + 1))
        if self.train == "hidden":
            return tuple(range(1, self.depth))
        return tuple(int(t) for t in self.train.split(","))

    @property
    def errors(self) -> bool:
        """Whether error columns are computed: labelled data (p < 1), a training set, or images."""
        return self.p < 1.0 or self.n_train is not None or get_task(self.data).dataset

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every parameter (JSON-ready: ``widths`` as a list)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}
        if out["widths"] is not None:
            out["widths"] = list(out["widths"])
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(unknown[0], f"is not a run parameter (allowed: {', '.join(sorted(names))})")
        return cls(**values)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some parameters changed (and validated)."""
        return RunConfig.from_dict({**self.to_dict(), **changes})

    def default_filename(self) -> str:
        """A file name that spells the run's parameters."""
        parts = [self.model, self.loss, "bias" if self.bias else "nobias", *get_model(self.model).filename_parts(self)]
        parts += [self.data, *get_task(self.data).filename_parts(self), f"d{self.d}", f"lr{self.lr:.4g}", f"p{self.p:g}"]
        if self.n_train is not None:
            parts.append(f"n{self.n_train}")
        if self.classes != 2:
            parts.append(f"C{self.classes}")
        if self.dtype != "float64":
            parts.append(self.dtype)
        parts += [f"steps{self.steps}", f"R{self.replicas}", f"seed{self.seed}"]
        return "_".join(parts) + ".parquet"


RunConfig.__doc__ = f"{(RunConfig.__doc__ or '').rstrip()}\n\n{parameters_doc()}    "
_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(RunConfig) if not f.name.startswith("_"))
if _FIELD_NAMES != tuple(OPTION):  # one declaration: every field an option, in the same order
    raise RuntimeError(f"RunConfig fields {_FIELD_NAMES} differ from fastnoise.options.OPTIONS {tuple(OPTION)}")
