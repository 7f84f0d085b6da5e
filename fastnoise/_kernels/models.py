"""The registry of models: name -> :class:`.driver.Model`. A new model is one module plus one line here."""

from __future__ import annotations

from . import mlp, multiclass, neuron, twolayer
from .driver import Model

MODELS: dict[str, Model] = {
    "neuron": neuron.MODEL,
    "twolayer": twolayer.MODEL,
    "multiclass": multiclass.MODEL,
    "mlp": mlp.MODEL,
}
