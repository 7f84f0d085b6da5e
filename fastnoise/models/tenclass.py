"""The ten-class net N(x) = V.ReLU(M x) + b, V in R^(10 x width): the form ``--model twolayer --classes 10`` takes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..fields import RunFields
from .base import Draw, Model, Rescale, first_layer

if TYPE_CHECKING:
    from .._kernels.layout import Geometry


class TenClass(Model):
    """The C-class two-layer net: weights ``{"M": (width, d [+1]), "V": (C, width), "b": (C,)}``; float64 only."""

    name = "multiclass"  # the compiled kernel's name (and its on-disk cache's)
    kernel_module = ".multiclass"
    selectable = False
    classes: tuple[int, ...] = (10,)

    def form(self, cfg: RunFields) -> TenClass:
        return self

    def rescaling_exact(self, cfg: RunFields, homogeneous_loss: bool) -> bool:
        """Never: the ten-class net does not renormalise."""
        return False

    def initial_weights(self, cfg: RunFields, draw: Draw, rescale: Rescale) -> dict[str, np.ndarray | float]:
        M = first_layer(cfg, draw, rescale)
        return {"M": M, "V": rescale(draw((cfg.classes, cfg.width))), "b": np.zeros(cfg.classes)}

    def blocks(self, geo: Geometry) -> dict[str, tuple[int, ...]]:
        from .._kernels.layout import net_scratch

        C, kp = geo.classes, geo.kp
        return {"Wm": (geo.din, kp), "Wv": (C * kp + C,), "S": (net_scratch(geo.din, kp, C)[-1],)}

    def pack(self, geo: Geometry, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        R, din, k, kp, C = len(weights), geo.din, geo.widths[0], geo.kp, geo.classes
        Wm, Wv = geo.zeros(R, "Wm"), geo.zeros(R, "Wv")
        for r, w in enumerate(weights):
            Wm[r, :din, :k] = w["M"].T
            Wv[r, : C * kp].reshape(C, kp)[:, :k] = w["V"]
            Wv[r, C * kp : C * kp + C] = w["b"]
        S = geo.zeros(R, "S")
        if geo.bias:
            S[:, geo.d] = 1.0
        return (Wm, Wv), S

    def unpack(self, geo: Geometry, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        Wm, Wv = arrays[:2]
        din, k, kp, C = geo.din, geo.widths[0], geo.kp, geo.classes
        out: list[dict[str, Any]] = []
        for r in range(Wm.shape[0]):
            s = geo.scale(log2[r])
            V = Wv[r, : C * kp].reshape(C, kp)[:, :k] * s
            out.append({"M": Wm[r, :din, :k].T * s, "V": V, "b": Wv[r, C * kp : C * kp + C] * s})
        return out


MODEL = TenClass()
