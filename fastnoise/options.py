"""The run options, declared once: each RunConfig field's kind, default, allowed values and help.

:data:`OPTIONS` is the one table that :class:`fastnoise.config.RunConfig` (its defaults, the
ranges it enforces and its docstring's Parameters section), ``fastnoise run`` (its options),
sweep specs and the generated ``docs/cli.md`` all read. Two conversions go with it, shared by
every caller so that they cannot drift: :func:`parse` turns command-line text (``--steps 1e6``,
``--set steps=1e6``, ``--grid lr=1e-3,1e-2``) into a value, and :func:`coerce` normalises a
typed value (Python, TOML): a whole float for a count (``steps=1e6``) becomes an int.

Validation stays in :class:`~fastnoise.config.RunConfig` (some rules join several fields); this
module imports nothing from the package.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from .declare import GROUPS, KINDS, Option

__all__ = [
    "ACTIVATIONS",
    "DATA",
    "DEFAULT_LEAK",
    "GROUPS",
    "INITS",
    "KINDS",
    "LOSSES",
    "MAX_STEPS",
    "MODELS",
    "NOISES",
    "NOISE_MODES",
    "SAMPLINGS",
    "TARGETS",
    "OPTION",
    "OPTIONS",
    "SPACINGS",
    "TRAINS",
    "Option",
    "coerce",
    "parameters_doc",
    "parse",
    "parse_count",
]

MODELS = ("neuron", "twolayer", "mlp")
LOSSES = ("hinge", "logistic")
TRAINS = ("all", "hidden")
DATA = ("gaussian", "basis", "cube", "hypercube", "mnist", "fashion-mnist")
ACTIVATIONS = ("relu", "leaky")
INITS = ("uniform", "gaussian", "fanin", "rademacher")
TARGETS = ("parity", "staircase", "majority", "junta")
SPACINGS = ("log", "linear")
NOISES = ("uniform", "flip")
NOISE_MODES = ("fresh", "fixed")
SAMPLINGS = ("replace", "epochs")
DTYPES = ("float64", "float32")
DEFAULT_LEAK = 0.01
MAX_STEPS = 2**62
_INT32 = 2**31 - 1

OPTIONS: tuple[Option, ...] = (
    Option(
        "model", "choice", "neuron",
        "Single neuron, two-layer ReLU net, or a deep net (mlp, hidden widths --widths)",
        "Single neuron ``V.x``, two-layer ReLU net ``V.ReLU(M x)``, or a deep net ``W_L phi(... phi(W_1 x))`` "
        "with hidden widths ``widths`` (a one-hidden-layer mlp is the two-layer net, bit for bit).",
        choices=MODELS, group="model",
    ),
    Option(
        "loss", "choice", "hinge",
        "Hinge (perceptron rule) or cross-entropy",
        "Hinge (update only when ``y N(x) <= 0``) or cross-entropy (every step).",
        choices=LOSSES, group="training regime",
    ),
    Option(
        "bias", "flag", False,
        "Bias on the neuron / on every layer",
        "Bias on the neuron / on every layer of the network.", group="model",
    ),
    Option(
        "train", "text", "all",
        "all layers; hidden (every layer but the output, fixed to +-1); mlp: a list of layers such as 1,3",
        "Train every layer, or every layer but the output one with ``V = (1,..,1,-1,..,-1)`` (the last "
        "hidden width even); for an mlp also a list of 1-based layers such as ``\"1,3\"`` (layer L is "
        "the output layer; the others keep their initial weights).",
        doc_type='{"all", "hidden"} or str', group="model",
    ),
    Option(
        "data", "choice", "gaussian",
        "Input law: N(0, I_d), standard basis, [-1, 1]^d, {-1, +1}^d (hypercube), or an image set (mnist, fashion-mnist)",
        "Input law: N(0, I_d), uniform on the standard basis, uniform on [-1, 1]^d, the Boolean "
        "hypercube {-1, +1}^d (``bit_bias``, ``target``, ``support``); or an image "
        "data set (pixels scaled to [0, 1], label +1 for even digits / classes, -1 for odd).",
        choices=DATA, group="task and data",
    ),
    Option(
        "d", "count", None,
        "Input dimension",
        "Input dimension; None means 30, or 784 for image data.",
        lo=1, hi=1_000_000, optional=True, default_text="30; 784 for image data", group="task and data",
    ),
    Option(
        "width", "count", 100,
        "Hidden units (two-layer, and an mlp without --widths)",
        "Hidden units of the two-layer net (ignored by the neuron; an mlp without ``widths`` has one "
        "hidden layer of this width).",
        lo=1, hi=10_000_000, group="model",
    ),
    Option(
        "widths", "widths", None,
        "mlp: hidden layer widths, e.g. 64,32,16 or 64x32x16",
        "Hidden layer widths of an mlp, e.g. ``(64, 32, 16)``, ``\"64,32,16\"`` or ``\"64x32x16\"`` (the "
        "spelling for sweep grids, where commas separate values); 1 to 64 layers of 1 to 10000000 units.",
        lo=1, hi=10_000_000, optional=True, default_text="--width", doc_type="tuple of int, str or None", group="model",
    ),
    Option(
        "activation", "choice", "relu",
        "mlp: ReLU or leaky-ReLU units",
        "Hidden units of an mlp: ReLU, or leaky ReLU with slope ``leak`` below 0.",
        choices=ACTIVATIONS, group="model",
    ),
    Option(
        "leak", "float", None,
        "mlp, --activation leaky: slope below 0",
        f"Slope of leaky units below 0, in (0, 1]; only with ``activation=\"leaky\"`` (None means {DEFAULT_LEAK}).",
        lo=0.0, hi=1.0, lo_open=True, optional=True, default_text=f"{DEFAULT_LEAK}", group="model",
    ),
    Option(
        "lr", "float", None,
        "Learning rate h",
        "Learning rate h; None means 1/d**2 for the neuron (Fig. 1) and 1/d for the networks (Figs. 2-3).",
        lo=0.0, lo_open=True, optional=True, default_text="1/d^2 neuron, 1/d networks", group="training regime",
    ),
    Option(
        "p", "float", 1.0,
        "Label noise rate: relabel uniformly with probability p (1 = pure noise)",
        "Label noise: each step, with probability p, the label is replaced by a uniform draw.",
        lo=0.0, hi=1.0, group="label noise",
    ),
    Option(
        "n_train", "count", None,
        "Fixed training set of this size",
        "Size of a fixed training set sampled uniformly by SGD; None draws fresh samples (image "
        "data: None uses the whole training split, a number its first ``n_train`` images).", group="task and data",
        lo=1, hi=_INT32, optional=True, default_text="fresh samples each step; image data: the whole training split",
    ),
    Option(
        "data_path", "text", None,
        "Image data: a folder of IDX files instead of the cached copy",
        "Image data: a folder of IDX files to read instead of the cached copy.",
        optional=True, group="task and data",
    ),
    Option(
        "classes", "choice", 2,
        "Image data: even vs odd (2) or the ten classes (10, a 10-output net)",
        "2: a binary task with labels +-1 (for images: even vs odd). 10: the ten image classes, "
        "with a C-output two-layer net (multiclass hinge or softmax cross-entropy); label noise "
        "then draws from all ten classes.",
        choices=(2, 10), group="task and data",
    ),
    Option(
        "eval_size", "count", 10_000,
        "Training samples on which error_train is measured",
        "``error_train`` is measured on the first ``eval_size`` training samples (all if fewer).",
        lo=1, hi=_INT32, group="recording",
    ),
    Option(
        "n_test", "count", 1000,
        "Test set size (labelled runs)",
        "Size of the test set for ``error_test`` (basis data: the d basis vectors).",
        lo=1, hi=_INT32, group="recording",
    ),
    Option(
        "probe_size", "count", 1000,
        "Probe inputs for active neurons (basis: e_1..e_d)",
        "Size of the fixed probe set for active neurons (basis data: the d basis vectors).",
        lo=1, hi=_INT32, group="recording",
    ),
    Option(
        "cube_dims", "count", 2,
        "K: coordinates that decide the cube label (at most d)",
        "K, the coordinates that decide the cube label (at most d with cube data).",
        lo=1, hi=1_000_000, group="task and data",  # hi: d's own; a larger K would not fit the kernels' integers
    ),
    Option(
        "init", "choice", "uniform",
        "Weight law U[-a, a], N(0, a^2), U[-a, a]/sqrt(fan-in) per layer (fanin), or +-a (rademacher); biases start at 0",
        "Weight law: U[-a, a], N(0, a**2), U[-a/sqrt(fan_in), a/sqrt(fan_in)] per layer, or +-a with "
        "equal probability (rademacher), with a = ``init_scale``; biases start at 0.",
        choices=INITS, group="model",
    ),
    Option(
        "init_scale", "float", None,
        "a",
        "a above; None means sqrt(3) for uniform and fanin (unit variance [note]) and 1 for gaussian and rademacher.",
        lo=0.0, lo_open=True, optional=True, default_text="sqrt(3) uniform and fanin, 1 gaussian and rademacher", group="model",
    ),
    Option(
        "init_norm", "float", None,
        "Rescale each trained layer's initial weights to this norm",
        "If given, each trained layer's initial weights are rescaled to this Frobenius norm.",
        lo=0.0, lo_open=True, optional=True, group="model",
    ),
    Option(
        "steps", "count", 1_000_000,
        "SGD steps per replica (1e6 notation accepted)",
        "SGD steps per replica.",
        lo=1, hi=MAX_STEPS, group="training regime",
    ),
    Option(
        "records", "count", 100,
        "Checkpoints per replica (at most; 0 and the last step always)",
        "Checkpoints per replica (at most; always step 0 and the last step).",
        lo=2, hi=10_000_000, group="recording",
    ),
    Option(
        "record_spacing", "choice", "log",
        "Checkpoint spacing",
        "Spacing of the checkpoints.",
        choices=SPACINGS, group="recording",
    ),
    Option(
        "replicas", "count", 8,
        "Independent replicas, run in parallel",
        "Independent replicas, each with its own random stream.",
        lo=1, hi=1_000_000, group="execution",
    ),
    Option(
        "seed", "count", 0,
        "Root of all random streams",
        "Root of every random stream of the run.",
        lo=0, hi=2**63 - 1, group="execution",
    ),
    # Training regimes of the wider literature (each default is the paper's rule, bit for bit).
    Option(
        "noise", "choice", "uniform",
        "Noise convention: uniform relabels from all labels (flip rate p/2 for two classes), flip from the others (rate p)",
        "How a noisy label is drawn: ``uniform`` replaces it by a uniform draw from all labels "
        "(two classes: a flip with probability p/2; C classes: p(C-1)/C), ``flip`` by a uniform "
        "draw from the other labels (a flip with probability p).",
        choices=NOISES, group="label noise",
    ),
    Option(
        "noise_mode", "choice", "fresh",
        "fresh: new noise at every step (the paper); fixed: each training example's noisy label drawn once",
        "``fresh`` draws the noise anew at every step (the paper); ``fixed`` corrupts each example "
        "of the training set once, before training, and keeps its label for the whole run (needs "
        "a training set: ``n_train`` or image data).",
        choices=NOISE_MODES, group="label noise",
    ),
    Option(
        "label_smoothing", "float", 0.0,
        "Logistic/softmax targets (1 - e) onehot + e/C",
        "Label smoothing e of the logistic and softmax losses: targets (1 - e) * onehot + e / C "
        "(an error with the hinge loss).",
        lo=0.0, hi=1.0, group="training regime",
    ),
    Option(
        "batch", "count", 1,
        "Samples per step: the b per-sample updates at the same weights, averaged",
        "Minibatch size b: each step averages the b per-sample updates computed at the same "
        "weights (hinge: a sample contributes only if misclassified; the divisor is b either "
        "way); ``steps`` counts updates, so a run sees ``steps * batch`` samples.",
        lo=1, hi=65_536, group="training regime",
    ),
    Option(
        "weight_decay", "float", 0.0,
        "L2 penalty l: every step adds the gradient of (l/2)|W|^2 over the trained weights",
        "L2 regularisation l: every step (also a hinge step without update) adds the gradient "
        "of (l/2) * ||W||**2 over all trained weights, biases included.",
        lo=0.0, group="training regime",
    ),
    Option(
        "sampling", "choice", "replace",
        "Training sets: draw with replacement, or shuffled passes (epochs)",
        "How SGD draws from a training set: ``replace``, uniformly with replacement (the "
        "paper); ``epochs``, shuffled passes without replacement, a new permutation per epoch "
        "from the replica's stream (needs a training set).",
        choices=SAMPLINGS, group="training regime",
    ),
    Option(
        "dtype", "choice", "float64",
        "Weights' floating-point type: float64, or float32 for wide two-layer nets (half the bytes, twice the SIMD lanes)",
        "Floating-point type of the weights and the step's arithmetic: ``float64`` (every table of "
        "earlier versions), or ``float32`` for the two-layer binary net (half the memory traffic and "
        "twice the lanes per vector; inputs rounded to float32, norms and metrics still computed in "
        "float64; exact renormalisation below 2**-32 and the underflow stop below 2**-100, float32's "
        "range). float32 runs agree with float64 ones to float32 rounding until a hinge decision "
        "falls within that rounding of 0; see docs/simulates.md, \"float32\".",
        choices=DTYPES, group="model",
    ),
    # The Boolean hypercube (--data hypercube) and initialisations of its literature (docs/model.md).
    Option(
        "init_sigma", "float", 0.0,
        "Gaussian perturbation of the initial weights: each gets + sigma * s * N(0, 1), s the law's scale",
        "Gaussian perturbation of the initial weights: each weight gets ``sigma * s * g`` added, g "
        "~ N(0, 1) and s the law's scale (a, or a/sqrt(fan_in) for fanin); 0 means none. With "
        "``init=\"rademacher\"`` this is the perturbed form of arXiv 2412.04910.",
        lo=0.0, group="model",
    ),
    Option(
        "target", "choice", "parity",
        "Hypercube: the clean target on the support (junta: --truth-table)",
        "Hypercube data: the clean label, a function of the support bits: their product (parity), "
        "the sign of x_s1 + x_s1 x_s2 + ... + x_s1...x_sk (staircase), the sign of their sum "
        "(majority; ties of either go to x_s1), or a truth table (junta, ``truth_table``).",
        choices=TARGETS, group="task and data",
    ),
    Option(
        "support", "text", "3",
        "Hypercube: the target's bits, k for the first k or a list such as 1,5,9 (1-based)",
        "Hypercube data: the bits the target reads, 1-based: ``\"k\"`` for the first k, or a list "
        "``\"1,5,9\"`` (in the staircase's and the truth table's order; a single bit j is "
        "``\"j,\"``).",
        group="task and data",
    ),
    Option(
        "truth_table", "text", None,
        "Hypercube, --target junta: 2^k signs (+-, or 10), entry sum_i 2^(i-1) [x_si = +1]",
        "Hypercube data with ``target=\"junta\"``: the label of each of the 2**k sign patterns of "
        "the support, a string of ``+``/``-`` (or ``1``/``0``); entry j (0-based) is the pattern "
        "with x_si = +1 exactly where bit i - 1 of j is 1 (the first support bit is the lowest).",
        optional=True, group="task and data",
    ),
    Option(
        "bit_bias", "float", 0.5,
        "Hypercube: q = P(x_i = +1) of every bit (0.5: uniform)",
        "Hypercube data: each bit is +1 with probability q and -1 otherwise, independently "
        "(Rad(q); E[x_i] = 2q - 1); 0.5 is the uniform law.",
        lo=0.0, hi=1.0, lo_open=True, group="task and data",
    ),
    Option(
        "mix", "float", 0.0,
        "Hypercube: the fraction of sparse inputs, drawn from Rad(--mix-bias) instead",
        "Hypercube data: each input is, with probability ``mix``, drawn from Rad(``mix_bias``) "
        "(sparse inputs: few -1 bits) instead of Rad(``bit_bias``): the mixed inputs of arXiv "
        "2306.16921.",
        lo=0.0, hi=1.0, group="task and data",
    ),
    Option(
        "mix_bias", "float", 0.9,
        "Hypercube: q of the sparse inputs of --mix",
        "Hypercube data: P(x_i = +1) of the sparse part of the mixture (``mix``) [ours].",
        lo=0.0, hi=1.0, lo_open=True, group="task and data",
    ),
    Option(
        "curriculum", "text", None,
        "Hypercube: stages of input laws, e.g. bit-bias=0.9:2e5,bit-bias=0.5 (the last runs to the end)",
        "Hypercube data: a schedule of input laws within the run, stages separated by commas (or "
        "``|``, which a sweep's ``--grid`` needs), each ``key=value[;key=value]:steps`` with keys "
        "``bit-bias``, ``mix`` and ``mix-bias`` (unset keys take the run's values); the last stage "
        "needs no length and runs to the end. Fresh samples only: the probe and test sets keep the "
        "run's own law; the table gains a ``stage`` column (docs/running.md, \"Curricula\").",
        optional=True, group="task and data",
    ),
)  # fmt: skip

#: The options by name.
OPTION: dict[str, Option] = {o.name: o for o in OPTIONS}


def _check_table() -> None:
    """Guard against a malformed declaration (checked once, at import)."""
    if len(OPTION) != len(OPTIONS):
        raise RuntimeError("fastnoise.options: an option is declared twice")
    for o in OPTIONS:
        if o.kind not in KINDS or not o.help or not o.doc or o.help.endswith("."):
            raise RuntimeError(f"fastnoise.options: option {o.name!r} is malformed")
        if (o.kind == "choice") != bool(o.choices) or (o.default is None) != o.optional:
            raise RuntimeError(f"fastnoise.options: option {o.name!r} is malformed")
        if o.group not in GROUPS:
            raise RuntimeError(f"fastnoise.options: option {o.name!r} has group {o.group!r}, not one of {', '.join(GROUPS)}")


_check_table()


def parse_count(text: str) -> int:
    """A count from text: ``"1000"``, or a whole number in float notation such as ``"1e6"``.

    Raises
    ------
    ValueError
        ``'abc' is not an integer`` or ``'1.5' is not a whole number``.
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        f = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"{text!r} is not a whole number")
    return int(f)


def parse(name: str, text: str) -> Any:
    """The value of option ``name`` written as text (a CLI option, ``--set`` or a ``--grid`` value).

    Counts accept ``1e6``; floats anything ``float()`` reads; flags ``true`` / ``false``; choices
    among ints (``classes``) their digits; strings may be quoted. Ranges and allowed choices are
    left to :class:`~fastnoise.config.RunConfig`, which knows the other fields.

    Parameters
    ----------
    name : str
        An option of :data:`OPTIONS`.
    text : str
        The value as written.

    Returns
    -------
    int, float, bool or str

    Raises
    ------
    KeyError
        ``name`` is not an option.
    ValueError
        Text that is not of the option's kind; the message names the text.
    """
    opt = OPTION[name]
    t = text.strip()
    if opt.kind == "flag":
        if t.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return t.lower() == "true"
    if opt.integer:
        return parse_count(t)
    if opt.kind == "float":
        try:
            return float(t)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid float.") from None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return t


def coerce(name: str, value: Any) -> Any:
    """A typed value of option ``name`` in canonical form: a whole finite float for an integer option becomes an int.

    ``steps=1e5`` is then ``steps=100000`` (same configuration, same hash); ``1.5``, ``True`` and
    values of other types are returned unchanged for RunConfig to reject. Names that are not
    options are returned unchanged too.
    """
    opt = OPTION.get(name)
    if opt is not None and opt.integer and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if name == "train" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # train = 1 in TOML or the API is the list "1", as --set train=1 is
    if name == "widths" and isinstance(value, list | tuple):
        return tuple(int(w) if isinstance(w, float) and math.isfinite(w) and w.is_integer() else w for w in value)
    return value


def parameters_doc(indent: str = "    ", width: int = 100) -> str:
    """The numpydoc ``Parameters`` section of every option (for RunConfig's docstring)."""
    lines = [f"{indent}Parameters", f"{indent}----------"]
    for o in OPTIONS:
        lines.append(f"{indent}{o.name} : {o.type_doc()}")
        lines += textwrap.wrap(
            o.doc, width, initial_indent=indent * 2, subsequent_indent=indent * 2, break_long_words=False, break_on_hyphens=False
        )
    return "\n".join(lines) + "\n"
