"""A replica's initial weights (the model's law, from the replica's own stream) and the trained-weight masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rng
from .config import RunConfig
from .models import model_of
from .models.base import draw_weights

__all__ = ["initial_weights", "trained_ones"]


def initial_weights(cfg: RunConfig, replica: int) -> dict[str, np.ndarray | float]:
    """Replica ``replica``'s initial weights, from its own stream; biases start at 0.

    Neuron: ``{"V": (din,)}``. Two-layer: ``{"M": (width, din), "V": (width,), "b2": float}``;
    with ``train="hidden"``, ``V = (1,..,1,-1,..,-1)``. Ten classes: ``{"M", "V": (10, width),
    "b": (10,)}``. Mlp: ``{"W1": (n_1, d [+1]), ..., "WL": (1, n_{L-1} [+1])}``, bias last column.
    (Each model's :meth:`~fastnoise.models.Model.initial_weights`.)
    """
    draw, rescale = draw_weights(cfg, _rng.init_rng(cfg.seed, replica))
    return model_of(cfg).initial_weights(cfg, draw, rescale)


def trained_ones(cfg: RunConfig, w: dict[str, Any]) -> dict[str, Any]:
    """``w``'s layout with 1.0 on every trained weight (biases included) and 0.0 on the fixed ones."""
    model = model_of(cfg)
    out: dict[str, Any] = {}
    for name, value in w.items():
        on = model.trained(cfg, name)
        out[name] = np.full(np.shape(value), 1.0 if on else 0.0) if np.ndim(value) else (1.0 if on else 0.0)
    return out
