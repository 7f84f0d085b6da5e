"""What a model answers: the base class of every model (see :mod:`fastnoise.models`).

A model subclasses :class:`Model`, sets its name and kernel, and overrides what differs from the
defaults here (which describe a net with hidden layers). Every method takes the resolved
:class:`~fastnoise.config.RunFields` or the kernels' :class:`~fastnoise._kernels.layout.Geometry`;
none of them runs a kernel. The kernel itself is imported on first use (:meth:`Model.kernel`), so
that asking a model its rules (the CLI, the mean field) does not load Numba.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..fields import RunFields
from ..registry import Registry

if TYPE_CHECKING:
    from .._kernels.layout import Geometry

__all__ = ["Draw", "Model", "Rescale", "get_model", "model_names", "model_of", "register_model", "registered_models"]

#: ``draw(shape)``: initial weights of that shape from the run's initial law (``--init``, ``--init-scale``).
Draw = Callable[[tuple[int, ...]], np.ndarray]
#: ``rescale(w)``: ``w`` scaled to norm ``--init-norm`` (unchanged without it).
Rescale = Callable[[np.ndarray], np.ndarray]

#: The kernels' package, relative to this one (a renamed copy of the package, as bench/paired.py loads
#: one, finds its own kernels).
_KERNELS = __name__.rsplit(".", 2)[0] + "._kernels"


def models_with(attribute: str) -> str:
    """The selectable models with a true ``attribute``, as an option would name them (``twolayer or mlp``)."""
    return " or ".join(m.name for m in registered_models() if m.selectable and getattr(m, attribute))


class Model:
    """A model: its rules, weights, layout, columns and kernel. Subclasses override what differs.

    Attributes
    ----------
    name : str
        The model's name (``--model``; an identifier: it names compiled kernels).
    kernel_module : str
        The module (absolute, or relative to ``fastnoise._kernels``) whose ``MODEL`` is the compiled
        model (:class:`fastnoise._kernels.driver.Model`).
    selectable : bool
        Named by ``--model`` (False for a form another model takes, such as the ten-class net).
    hidden : bool
        Has hidden layers (``--train hidden`` applies; width columns are filled).
    layered : bool
        Takes several hidden layers (``--widths``), an activation and lists of trained layers.
    classes : tuple of int
        The class counts it can learn (``--classes``).
    dtypes : tuple of str
        The weight types it runs in (``--dtype``).
    deep : bool
        Its tables carry per-layer columns (:func:`fastnoise._kernels.layout.metric_names`).
    streams : bool
        Its weights stream through the cache: replicas' blocks are kept apart (``layout.REPLICA_GAP``).
    """

    name: str = ""
    kernel_module: str = ""
    selectable: bool = True
    hidden: bool = True
    layered: bool = False
    classes: tuple[int, ...] = (2,)
    dtypes: tuple[str, ...] = ("float64",)  # (a tuple of any length: a subclass may narrow it)
    deep: bool = False
    streams: bool = True

    def __repr__(self) -> str:
        """``<model name>``."""
        return f"<model {self.name}>"

    # ------------------------------------------------------------------ kernel
    def kernel(self) -> Any:
        """The compiled model (:class:`fastnoise._kernels.driver.Model`), imported on first use."""
        return importlib.import_module(self.kernel_module, _KERNELS).MODEL

    def form(self, cfg: RunFields) -> Model:
        """The model that runs ``cfg`` (itself; the two-layer net with ten classes: the ten-class net)."""
        return self

    # ------------------------------------------------------------------ configuration
    def hidden_widths(self, cfg: RunFields) -> tuple[int, ...]:
        """Widths of the hidden layers (``()`` for a model without)."""
        return (cfg.width,)

    def default_lr(self, d: int) -> float:
        """The step size when ``--lr`` is not given: 1/d."""
        return 1.0 / d

    def check_shape(self, cfg: RunFields) -> None:
        """Rules on the options that shape the model (``widths``, ``activation``), before ``train`` is read."""
        if cfg.widths is not None and not self.layered:
            raise ConfigError("widths", f"applies only to --model {models_with('layered')}, got model {self.name!r}")
        if cfg.activation != "relu" and not self.layered:
            raise ConfigError(
                "activation",
                f"{cfg.activation} needs --model {models_with('layered')} (the two-layer net is ReLU), got model {self.name!r}",
            )

    def parse_train(self, value: Any, depth: int) -> str:
        """``all``, ``hidden``, or (a layered model) a list of 1-based layers, normalised to ``"1,3"``.

        ``"1+3"`` is the same list (for sweep grids, where commas separate values); every layer is ``all``.
        """
        if value in ("all", "hidden"):
            return str(value)
        allowed = f"all, hidden{' or a list of layers 1..' + str(depth) + ' such as 1,3' if self.layered else ''}"
        if not self.layered or not isinstance(value, str):
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

    def check_train(self, cfg: RunFields) -> None:
        """Rules on ``train`` once parsed: ``hidden`` needs hidden layers, the last one of even width."""
        if cfg.train != "hidden":
            return
        if not self.hidden:
            raise ConfigError("train", f"hidden needs --model {models_with('hidden')}, got model {self.name!r}")
        last = self.hidden_widths(cfg)[-1]
        if last % 2:
            name = "widths" if self.layered and cfg.widths is not None else "width"
            raise ConfigError(name, f"must be even in the last hidden layer with --train hidden (half +1, half -1), got {last}")

    def check_classes(self, cfg: RunFields, image: bool) -> None:
        """Rules on ``classes``: more than two need image data, a model that learns them, and every layer trained."""
        if cfg.classes == 2:
            return
        if not image:
            raise ConfigError("classes", f"{cfg.classes} needs image data (--data mnist or fashion-mnist), got --data {cfg.data}")
        if cfg.classes not in self.classes or cfg.train != "all":
            able = " or ".join(m.name for m in registered_models() if m.selectable and cfg.classes in m.classes)
            raise ConfigError(
                "classes", f"{cfg.classes} needs --model {able} --train all, got --model {self.name} --train {cfg.train}"
            )

    def check_dtype(self, cfg: RunFields) -> None:
        """Rules on ``dtype``: the weight types this model (in this form) runs in."""
        if cfg.dtype in self.form(cfg).dtypes:
            return
        able = " or ".join(m.name for m in registered_models() if m.selectable and cfg.dtype in m.dtypes)
        what = f"--model {self.name}" + (f" --classes {cfg.classes}" if cfg.classes != 2 else "")
        raise ConfigError("dtype", f"{cfg.dtype} needs --model {able} with two classes (wide layers), got {what}")

    def rescaling_exact(self, cfg: RunFields, homogeneous_loss: bool) -> bool:
        """Whether scaling all weights by one factor maps trajectories to trajectories (see ``engine``).

        The default (a net): a homogeneous loss (the hinge), no bias, every layer trained. A deep net
        is then L-homogeneous and its kernel rescales the step with the weights (``_kernels/mlp.py``).
        """
        return homogeneous_loss and not cfg.bias and cfg.train == "all"

    # ------------------------------------------------------------------ weights
    def initial_weights(self, cfg: RunFields, draw: Draw, rescale: Rescale) -> dict[str, np.ndarray | float]:
        """One replica's initial weights from the run's initial law (biases start at 0)."""
        raise NotImplementedError

    def trained(self, cfg: RunFields, name: str) -> bool:
        """Whether the weight array ``name`` (a key of :meth:`initial_weights`) is trained."""
        return name == "M" or cfg.train == "all"

    # ------------------------------------------------------------------ layout (asked by Geometry)
    def depth(self, widths: tuple[int, ...]) -> int:
        """Weight layers L for these hidden widths."""
        return len(widths) + 1

    def blocks(self, geo: Geometry) -> dict[str, tuple[int, ...]]:
        """One replica's block of each per-replica array (``W`` or ``Wm``, ``Wv``; scratch ``S``), unpadded."""
        raise NotImplementedError

    def pack(self, geo: Geometry, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Every replica's weight arrays and scratch buffer in the kernels' layout."""
        raise NotImplementedError

    def unpack(self, geo: Geometry, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        """Each replica's weights at true scale (stored weights are ``2**log2`` times larger)."""
        raise NotImplementedError

    def step_ns(self, geo: Geometry) -> float:
        """A step's rough cost in nanoseconds (sizes the kernel calls so that progress moves)."""
        macs = geo.din * geo.kps[0] + sum(int(geo.dims[l]) * int(geo.kps[l]) for l in range(1, geo.depth - 1))
        return 60.0 + 0.15 * macs

    # ------------------------------------------------------------------ tables and messages
    def filename_parts(self, cfg: RunFields) -> list[str]:
        """The model's fragments of a run's default file name (after model, loss, bias)."""
        return [f"w{cfg.width}", f"train-{cfg.train}"]

    def describe(self, cfg: RunFields) -> str:
        """The model's part of a one-line summary (after ``model/loss/bias``)."""
        return f", width {cfg.width}, train {cfg.train}"

    def summary_columns(self, cfg: RunFields) -> list[str]:
        """The columns a finished run's summary reports (step 0 -> last step)."""
        return [f"norm_{l}" for l in range(1, cfg.depth + 1)] + ["active_mean", "error_test"]

    def width_option(self, cfg: RunFields) -> str:
        """The option that sets the hidden widths (named when a run's weights do not fit in memory)."""
        return "width"

    def applies(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether run parameter ``name`` means anything for this model (a figure's labels name only those that do).

        Parameters
        ----------
        name : str
            A run option (:data:`fastnoise.options.OPTIONS`) or any other column; only the model's
            own parameters can be answered False.
        params : mapping
            The configuration's other parameters (a table row's columns, or
            ``RunConfig.to_dict()``); a missing one counts as not given.

        Returns
        -------
        bool
            The default, from ``hidden`` and ``layered``: ``width`` and ``train`` apply to a
            model with hidden layers, except ``width`` to a layered one (``widths`` names its layers,
            the first one too); ``widths`` and ``activation`` to a layered model, ``leak`` to a
            layered one with leaky units; ``classes`` and ``dtype`` when the model takes more than one
            value of them; every other parameter applies.
        """
        if name == "width":
            return self.hidden and not self.layered
        if name == "train":
            return self.hidden
        if name in ("widths", "activation"):
            return self.layered
        if name == "leak":
            return self.layered and params.get("activation") == "leaky"
        if name == "classes":
            return len(self.classes) > 1
        if name == "dtype":
            return len(self.dtypes) > 1
        return True


def draw_weights(cfg: RunFields, rng: np.random.Generator) -> tuple[Draw, Rescale]:
    """The run's initial law as ``(draw, rescale)``: ``--init``, ``--init-scale``, ``--init-sigma``, ``--init-norm``."""
    a = cfg.init_scale
    assert a is not None, "RunFields resolves init_scale on construction"

    def law(shape: tuple[int, ...]) -> tuple[np.ndarray, float]:
        if cfg.init == "gaussian":
            return a * rng.standard_normal(shape), a
        if cfg.init == "rademacher":
            return a * (2.0 * rng.integers(0, 2, size=shape) - 1.0), a
        b = a / math.sqrt(shape[-1]) if cfg.init == "fanin" else a  # fan-in: the inputs of one unit
        return rng.uniform(-b, b, size=shape), b

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        w, scale = law(shape)
        if cfg.init_sigma > 0.0:  # arXiv 2412.04910's perturbation; none by default (no draw, streams unchanged)
            w = w + cfg.init_sigma * scale * rng.standard_normal(shape)
        return w

    def rescale(w: np.ndarray) -> np.ndarray:
        if cfg.init_norm is None:
            return w
        nrm = np.linalg.norm(w)
        return w * (cfg.init_norm / nrm) if nrm > 0 else w

    return draw, rescale


def first_layer(cfg: RunFields, draw: Draw, rescale: Rescale) -> np.ndarray:
    """A two-layer net's M, (width, d [+1]), from the initial law; the bias column starts at 0."""
    assert cfg.d is not None
    M = np.zeros((cfg.width, cfg.din))
    M[:, : cfg.d] = rescale(draw((cfg.width, cfg.d)))
    return M


def fixed_output(k: int) -> np.ndarray:
    """The fixed output layer of ``--train hidden``: (1, ..., 1, -1, ..., -1) over ``k`` (even) units."""
    return np.concatenate([np.ones(k // 2), -np.ones(k // 2)])


# --------------------------------------------------------------------------- the registry
_MODELS: Registry[Model] = Registry("model", "model", listed=lambda m: m.selectable)


def register_model(model: Model) -> Model:
    """Add ``model`` to the vocabulary (``RunConfig(model=model.name)``); returns it.

    Raises
    ------
    ValueError
        Its name is not an identifier, or another model already has it.
    """
    return _MODELS.register(model)


def registered_models() -> tuple[Model, ...]:
    """Every registered model (forms such as the ten-class net too), built-in ones first."""
    return _MODELS.entries()


def model_names(*, selectable: bool = True) -> tuple[str, ...]:
    """The names ``--model`` accepts (``selectable=False``: every model, forms such as ``multiclass`` too)."""
    return _MODELS.names() if selectable else tuple(m.name for m in _MODELS.entries())


def get_model(name: str) -> Model:
    """The model named ``name``.

    Raises
    ------
    ConfigError
        No model ``--model`` accepts has that name (the message lists the allowed ones).
    """
    return _MODELS.get(name)


def model_of(cfg: RunFields) -> Model:
    """The model that runs ``cfg``: the configured one, or the form it takes for this configuration (ten classes)."""
    return get_model(cfg.model).form(cfg)
