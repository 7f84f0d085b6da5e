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

from . import mlp, neuron, tenclass, twolayer
from .base import Model, get_model, model_names, model_of, register_model, registered_models

__all__ = ["Model", "get_model", "model_names", "model_of", "register_model", "registered_models"]


for m in (neuron.MODEL, twolayer.MODEL, tenclass.MODEL, mlp.MODEL):
    register_model(m)
