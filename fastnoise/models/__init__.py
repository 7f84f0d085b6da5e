"""The models: each one module that answers everything the rest of the package asks of it.

A model (:class:`~fastnoise.models.base.Model`) owns its configuration rules, hidden widths and
default step size, initial weights, the packing of its weights into the kernels' arrays (the
layout :class:`fastnoise._kernels.layout.Geometry` asks it for), its metric columns, file-name
and summary fragments, and its compiled kernel. The infrastructure (config, engine, layout,
schema, footprint, the CLI, sweeps) asks the model object and never compares a model's name.

Built in: ``neuron``, ``twolayer`` (whose ten-class form, ``--classes 10``, is the model
``tenclass``) and ``mlp``. A new model is one module defining a :class:`Model` subclass, registered
with :func:`register_model` (see docs/extending.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import Model

if TYPE_CHECKING:
    from ..config import RunConfig

__all__ = ["Model", "get_model", "model_names", "model_of", "register_model", "registered_models"]

_MODELS: dict[str, Model] = {}


def register_model(model: Model) -> Model:
    """Add ``model`` to the vocabulary (``RunConfig(model=model.name)``); returns it.

    Raises
    ------
    ValueError
        Another model already has that name.
    """
    if not model.name.isidentifier():
        raise ValueError(f"a model's name must be an identifier (it names compiled kernels), got {model.name!r}")
    if model.name in _MODELS and _MODELS[model.name] is not model:
        raise ValueError(f"a model named {model.name!r} is registered already")
    _MODELS[model.name] = model
    return model


def registered_models() -> tuple[Model, ...]:
    """Every registered model, built-in ones first."""
    return tuple(_MODELS.values())


def model_names(*, selectable: bool = True) -> tuple[str, ...]:
    """The names ``--model`` accepts (``selectable=False``: every model, forms such as ``tenclass`` too)."""
    return tuple(m.name for m in _MODELS.values() if m.selectable or not selectable)


def get_model(name: str) -> Model:
    """The model named ``name``.

    Raises
    ------
    ConfigError
        No model has that name (``--model``: the message lists the allowed ones).
    """
    m = _MODELS.get(name) if isinstance(name, str) else None
    if m is None or not m.selectable:
        raise ConfigError("model", f"must be one of {', '.join(model_names())}; got {name!r}")
    return m


def model_of(cfg: RunConfig) -> Model:
    """The model that runs ``cfg``: the configured one, or the form it takes for this configuration (ten classes)."""
    return get_model(cfg.model).form(cfg)


def _builtin() -> None:
    from . import mlp, neuron, tenclass, twolayer

    for m in (neuron.MODEL, twolayer.MODEL, tenclass.MODEL, mlp.MODEL):
        register_model(m)


_builtin()
