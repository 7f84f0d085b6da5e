"""The single neuron N(x) = V.x (the slides' Fig. 1): no hidden layer, one weight vector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..fields import RunFields
from .base import Draw, Model, Rescale

if TYPE_CHECKING:
    from .._kernels.layout import Geometry


class Neuron(Model):
    """``--model neuron``: weights ``{"V": (d [+1],)}`` (the bias last), default step 1/d^2."""

    name = "neuron"
    kernel_module = ".neuron"
    hidden = False
    streams = False  # one replica's row stays in L1: no gap between replicas

    def hidden_widths(self, cfg: RunFields) -> tuple[int, ...]:
        return ()

    def default_lr(self, d: int) -> float:
        """The slides' step for the neuron: 1/d^2."""
        return 1.0 / d**2

    def rescaling_exact(self, cfg: RunFields, homogeneous_loss: bool) -> bool:
        """Never: the neuron's runs do not renormalise (its norm does not underflow)."""
        return False

    def initial_weights(self, cfg: RunFields, draw: Draw, rescale: Rescale) -> dict[str, np.ndarray | float]:
        assert cfg.d is not None
        V = np.zeros(cfg.din)
        V[: cfg.d] = rescale(draw((cfg.d,)))
        return {"V": V}

    def trained(self, cfg: RunFields, name: str) -> bool:
        return True

    def depth(self, widths: tuple[int, ...]) -> int:
        return 1

    def blocks(self, geo: Geometry) -> dict[str, tuple[int, ...]]:
        from .._kernels.layout import padded

        return {"W": (geo.din,), "S": (padded(geo.din),)}

    def pack(self, geo: Geometry, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        R, din = len(weights), geo.din
        W = geo.zeros(R, "W")
        for r, w in enumerate(weights):
            W[r, :din] = w["V"]
        S = geo.zeros(R, "S")
        if geo.bias:
            S[:, geo.d] = 1.0
        return (W,), S

    def unpack(self, geo: Geometry, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        return [{"V": arrays[0][r, : geo.din] * geo.scale(log2[r])} for r in range(arrays[0].shape[0])]

    def step_ns(self, geo: Geometry) -> float:
        return 60.0

    def filename_parts(self, cfg: RunFields) -> list[str]:
        return []

    def describe(self, cfg: RunFields) -> str:
        return ""

    def summary_columns(self, cfg: RunFields) -> list[str]:
        return ["norm_1", "error_test"]


MODEL = Neuron()
