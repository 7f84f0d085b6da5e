"""Run configuration: one frozen dataclass, validated on construction.

Every rule gives a one-line message naming the parameter, the value and what is allowed; the CLI
shows the same message with the option's spelling (``--lr``). Defaults marked [ours] are this
project's choices where the paper is silent (see README).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

MODELS = ("neuron", "twolayer", "mlp")
NETWORKS = ("twolayer", "mlp")
ACTIVATIONS = ("relu", "leaky")
DEFAULT_LEAK = 0.01
LOSSES = ("hinge", "logistic")
TRAINS = ("all", "hidden")
DATA = ("gaussian", "basis", "cube", "mnist", "fashion-mnist")
IMAGE_DATA = ("mnist", "fashion-mnist")
IMAGE_PIXELS = 784
INITS = ("uniform", "gaussian", "fanin")
SPACINGS = ("log", "linear")
MAX_STEPS = 2**62


class ConfigError(ValueError):
    """A configuration value outside its allowed range; ``option`` names the parameter."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option} {message}")
        self.option = option
        self.message = message

    def cli_message(self) -> str:
        """The same message with the CLI spelling of the option (``--n-train``)."""
        return f"--{self.option.replace('_', '-')} {self.message}"


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, f"must be one of {', '.join(allowed)}; got {value!r}")


def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(name, f"must be {rng}, got {value}")


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
    for n in items:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000_000:
            raise ConfigError("widths", f"must be integers between 1 and 10000000, got {value!r}")
    if len(items) > 64:
        raise ConfigError("widths", f"must have at most 64 hidden layers, got {len(items)}")
    return tuple(int(n) for n in items)


def _parse_train(value: Any, model: str, depth: int) -> str:
    """``all``, ``hidden``, or (mlp) a list of 1-based layers, normalised to ``"1,3"`` (``"1+3"`` is
    the same list, for sweep grids where commas separate values); every layer is ``all``."""
    if value in TRAINS:
        return str(value)
    allowed = f"all, hidden{' or a list of layers 1..' + str(depth) + ' such as 1,3' if model == 'mlp' else ''}"
    if model != "mlp" or not isinstance(value, str):
        raise ConfigError("train", f"must be one of {allowed}; got {value!r}")
    try:
        layers = sorted({int(t) for t in value.replace("+", ",").split(",")})
    except ValueError:
        raise ConfigError("train", f"must be one of {allowed}; got {value!r}") from None
    if not layers or layers[0] < 1 or layers[-1] > depth:
        raise ConfigError("train", f"must be one of {allowed}; got {value!r}")
    if layers == list(range(1, depth + 1)):
        return "all"
    return ",".join(str(t) for t in layers)


@dataclass(frozen=True)
class RunConfig:
    """One simulation: model, loss, data, label noise, schedule and seed.

    Parameters
    ----------
    model : {"neuron", "twolayer", "mlp"}
        Single neuron ``V.x``, two-layer ReLU net ``V.ReLU(M x)``, or a deep net ``W_L phi(... phi(W_1 x))``
        with hidden widths ``widths`` (a one-hidden-layer mlp is the two-layer net, bit for bit).
    loss : {"hinge", "logistic"}
        Hinge (update only when ``y N(x) <= 0``) or cross-entropy (every step).
    bias : bool
        Bias on the neuron / on both layers of the network.
    train : {"all", "hidden"} or str
        Train every layer, or every layer but the output one with ``V = (1,..,1,-1,..,-1)`` (the last
        hidden width even); for an mlp also a list of 1-based layers such as ``"1,3"`` (layer L is
        the output layer; the others keep their initial weights).
    data : {"gaussian", "basis", "cube", "mnist", "fashion-mnist"}
        Input law: N(0, I_d), uniform on the standard basis, uniform on [-1, 1]^d; or an image
        data set (pixels scaled to [0, 1], label +1 for even digits / classes, -1 for odd).
    d : int or None
        Input dimension; None means 30, or 784 for image data.
    width : int
        Hidden units of the two-layer net (ignored by the neuron; an mlp without ``widths`` has one
        hidden layer of this width).
    widths : tuple of int, str or None
        Hidden layer widths of an mlp, e.g. ``(64, 32, 16)``, ``"64,32,16"`` or ``"64x32x16"`` (the
        spelling for sweep grids, where commas separate values); depth >= 1.
    activation : {"relu", "leaky"}
        Hidden units of an mlp: ReLU, or leaky ReLU with slope ``leak`` below 0.
    leak : float or None
        Slope of leaky units below 0, in (0, 1]; only with ``activation="leaky"`` (None means 0.01).
    lr : float or None
        Learning rate h; None means 1/d**2 for the neuron (Fig. 1) and 1/d for the net (Figs. 2-3).
    p : float
        Label noise: each step, with probability p, the label is replaced by a uniform draw.
    n_train : int or None
        Size of a fixed training set sampled uniformly by SGD; None draws fresh samples (image
        data: None uses the whole training split, a number its first ``n_train`` images).
    data_path : str or None
        Image data: a folder of IDX files to read instead of the cached copy.
    classes : {2, 10}
        2: a binary task with labels +-1 (for images: even vs odd). 10: the ten image classes,
        with a C-output two-layer net (multiclass hinge or softmax cross-entropy); label noise
        then draws from all ten classes.
    eval_size : int
        ``error_train`` is measured on the first ``eval_size`` training samples (all if fewer).
    n_test : int
        Size of the test set for ``error_test`` (basis data: the d basis vectors).
    probe_size : int
        Size of the fixed probe set for active neurons (basis data: the d basis vectors).
    cube_dims : int
        K, the coordinates that decide the cube label.
    init : {"uniform", "gaussian", "fanin"}
        Weight law: U[-a, a], N(0, a**2), or U[-a/sqrt(fan_in), a/sqrt(fan_in)] per layer, with
        a = ``init_scale``; biases start at 0.
    init_scale : float or None
        a above; None means sqrt(3) for uniform and fanin (unit variance [note]) and 1 for gaussian.
    init_norm : float or None
        If given, each trained layer's initial weights are rescaled to this Frobenius norm.
    steps : int
        SGD steps per replica.
    records : int
        Checkpoints per replica (at most; always step 0 and the last step).
    record_spacing : {"log", "linear"}
        Spacing of the checkpoints.
    replicas : int
        Independent replicas, each with its own random stream.
    seed : int
        Root of every random stream of the run.
    """

    model: str = "neuron"
    loss: str = "hinge"
    bias: bool = False
    train: str = "all"
    data: str = "gaussian"
    d: int | None = None
    width: int = 100
    widths: tuple[int, ...] | None = None
    activation: str = "relu"
    leak: float | None = None
    lr: float | None = None
    p: float = 1.0
    n_train: int | None = None
    data_path: str | None = None
    classes: int = 2
    eval_size: int = 10_000
    n_test: int = 1000
    probe_size: int = 1000
    cube_dims: int = 2
    init: str = "uniform"
    init_scale: float | None = None
    init_norm: float | None = None
    steps: int = 1_000_000
    records: int = 100
    record_spacing: str = "log"
    replicas: int = 8
    seed: int = 0
    _resolved: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_choice("model", self.model, MODELS)
        _check_choice("loss", self.loss, LOSSES)
        if not isinstance(self.bias, bool):
            raise ConfigError("bias", f"must be true or false, got {self.bias!r}")
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("data", self.data, DATA)
        _check_choice("init", self.init, INITS)
        _check_choice("record_spacing", self.record_spacing, SPACINGS)
        image = self.data in IMAGE_DATA
        d = self.d if self.d is not None else (IMAGE_PIXELS if image else 30)
        _check_int("d", d, 1, 1_000_000)
        if image and d != IMAGE_PIXELS:
            raise ConfigError("d", f"must be {IMAGE_PIXELS} (28 x 28 pixels) with --data {self.data}, got {d}")
        if self.data_path is not None and not image:
            raise ConfigError("data_path", f"applies only to image data (mnist, fashion-mnist), got --data {self.data}")
        object.__setattr__(self, "d", d)
        if isinstance(self.classes, bool) or self.classes not in (2, 10):
            raise ConfigError("classes", f"must be 2 or 10, got {self.classes!r}")
        if self.classes == 10:
            if not image:
                raise ConfigError("classes", f"10 needs image data (--data mnist or fashion-mnist), got --data {self.data}")
            if self.model != "twolayer" or self.train != "all":
                raise ConfigError(
                    "classes", f"10 needs --model twolayer --train all, got --model {self.model} --train {self.train}"
                )
        _check_int("width", self.width, 1, 10_000_000)
        widths = _parse_widths(self.widths)
        if widths is not None and self.model != "mlp":
            raise ConfigError("widths", f"applies only to --model mlp, got model {self.model!r}")
        object.__setattr__(self, "widths", widths)
        if self.activation != "relu" and self.model != "mlp":
            raise ConfigError(
                "activation", f"{self.activation} needs --model mlp (the two-layer net is ReLU), got model {self.model!r}"
            )
        if self.activation == "leaky":
            leak = _check_float("leak", DEFAULT_LEAK if self.leak is None else self.leak)
            if not 0.0 < leak <= 1.0:
                raise ConfigError("leak", f"must be in (0, 1], got {leak}")
            object.__setattr__(self, "leak", leak)
        elif self.leak is not None:
            raise ConfigError("leak", f"applies only with --activation leaky, got --activation {self.activation}")
        object.__setattr__(self, "train", _parse_train(self.train, self.model, self.depth))
        if self.train == "hidden":
            last = self.hidden_widths[-1] if self.model != "neuron" else 0
            if self.model == "neuron":
                raise ConfigError("train", f"hidden needs --model twolayer or mlp, got model {self.model!r}")
            if last % 2:
                name = "width" if self.model == "twolayer" or self.widths is None else "widths"
                raise ConfigError(
                    name, f"must be even in the last hidden layer with --train hidden (half +1, half -1), got {last}"
                )
        lr = 1.0 / self.d**2 if (self.lr is None and self.model == "neuron") else self.lr
        lr = 1.0 / self.d if lr is None else lr
        lr = _check_float("lr", lr)
        if lr <= 0:
            raise ConfigError("lr", f"must be > 0, got {lr}")
        p = _check_float("p", self.p)
        if not 0.0 <= p <= 1.0:
            raise ConfigError("p", f"must be in [0, 1], got {p}")
        if self.n_train is not None:
            _check_int("n_train", self.n_train, 1, 2**31 - 1)
        _check_int("n_test", self.n_test, 1, 2**31 - 1)
        _check_int("eval_size", self.eval_size, 1, 2**31 - 1)
        _check_int("probe_size", self.probe_size, 1, 2**31 - 1)
        _check_int("cube_dims", self.cube_dims, 1, self.d if self.data == "cube" else None)
        a = self.init_scale
        if a is None:
            a = 1.0 if self.init == "gaussian" else math.sqrt(3.0)
        a = _check_float("init_scale", a)
        if a <= 0:
            raise ConfigError("init_scale", f"must be > 0, got {a}")
        if self.init_norm is not None:
            nrm = _check_float("init_norm", self.init_norm)
            if nrm <= 0:
                raise ConfigError("init_norm", f"must be > 0, got {nrm}")
            object.__setattr__(self, "init_norm", nrm)
        _check_int("steps", self.steps, 1, MAX_STEPS)
        _check_int("records", self.records, 2, 10_000_000)
        _check_int("replicas", self.replicas, 1, 1_000_000)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "init_scale", a)
        object.__setattr__(self, "_resolved", True)

    @property
    def din(self) -> int:
        """Input coordinates seen by the first layer (d, plus 1 with a bias)."""
        return self.d + int(self.bias)

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """Widths of the hidden layers: ``(width,)`` for the two-layer net, ``()`` for the neuron."""
        if self.model == "neuron":
            return ()
        if self.model == "mlp" and self.widths is not None:
            return self.widths
        return (self.width,)

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
        return self.p < 1.0 or self.n_train is not None or self.data in IMAGE_DATA

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
        parts = [self.model, self.loss, "bias" if self.bias else "nobias"]
        if self.model == "twolayer":
            parts += [f"w{self.width}", f"train-{self.train}"]
        elif self.model == "mlp":
            act = "relu" if self.activation == "relu" else f"leaky{self.leak:g}"
            parts += ["w" + "x".join(str(n) for n in self.hidden_widths), act, f"train-{self.train.replace(',', '.')}"]
        parts += [self.data, f"d{self.d}", f"lr{self.lr:.4g}", f"p{self.p:g}"]
        if self.n_train is not None:
            parts.append(f"n{self.n_train}")
        if self.classes != 2:
            parts.append(f"C{self.classes}")
        parts += [f"steps{self.steps}", f"R{self.replicas}", f"seed{self.seed}"]
        return "_".join(parts) + ".parquet"
