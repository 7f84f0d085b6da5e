"""The two-layer ReLU net N(x) = V.ReLU(M x) + b2 (the slides' Fig. 2 and 3) with two classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..fields import RunFields
from .base import Draw, Model, Rescale, first_layer, fixed_output
from .tenclass import MODEL as TENCLASS

if TYPE_CHECKING:
    from .._kernels.layout import Geometry


class TwoLayer(Model):
    """``--model twolayer``: weights ``{"M": (width, d [+1]), "V": (width,), "b2": float}``.

    With ``--classes 10`` it takes the form :data:`fastnoise.models.tenclass.MODEL`. float32
    weights are its own (wide layers: half the memory traffic).
    """

    name = "twolayer"
    kernel_module = ".twolayer"
    classes: tuple[int, ...] = (2, 10)
    dtypes: tuple[str, ...] = ("float64", "float32")

    def form(self, cfg: RunFields) -> Model:
        """The ten-class net for ``classes > 2``, else the two-layer net."""
        return TENCLASS if cfg.classes > 2 else self

    def initial_weights(self, cfg: RunFields, draw: Draw, rescale: Rescale) -> dict[str, np.ndarray | float]:
        M = first_layer(cfg, draw, rescale)
        V = fixed_output(cfg.width) if cfg.train == "hidden" else rescale(draw((cfg.width,)))
        return {"M": M, "V": V, "b2": 0.0}

    def blocks(self, geo: Geometry) -> dict[str, tuple[int, ...]]:
        from .._kernels.layout import net_scratch

        return {"Wm": (geo.din, geo.kp), "Wv": (geo.kp + 1,), "S": (net_scratch(geo.din, geo.kp, geo.classes)[-1],)}

    def pack(self, geo: Geometry, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        R, din, k, kp = len(weights), geo.din, geo.widths[0], geo.kp
        Wm, Wv = geo.zeros(R, "Wm"), geo.zeros(R, "Wv")  # rows din...: the gap between replicas
        for r, w in enumerate(weights):
            Wm[r, :din, :k] = w["M"].T
            Wv[r, :k] = w["V"]
            Wv[r, kp] = w["b2"]
        S = geo.zeros(R, "S")
        if geo.bias:
            S[:, geo.d] = 1.0
        return (Wm, Wv), S

    def unpack(self, geo: Geometry, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        Wm, Wv = arrays[:2]
        din, k, kp = geo.din, geo.widths[0], geo.kp
        out: list[dict[str, Any]] = []
        for r in range(Wm.shape[0]):
            s = geo.scale(log2[r])
            M, V = (np.asarray(a, dtype=np.float64) for a in (Wm[r, :din, :k].T, Wv[r, :k]))  # float32 nets too
            out.append({"M": M * s, "V": V * s, "b2": float(Wv[r, kp]) * s})
        return out


MODEL = TwoLayer()
