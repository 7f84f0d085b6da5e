"""Deep ReLU (or leaky-ReLU) nets N(x) = W_L phi(W_{L-1} ... phi(W_1 x)) with any number of hidden layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..fields import RunFields
from .base import Draw, Model, Rescale, fixed_output

if TYPE_CHECKING:
    from .._kernels.layout import Geometry


class Mlp(Model):
    """``--model mlp``: weights ``{"W1": (n_1, d [+1]), ..., "WL": (1, n_{L-1} [+1])}``, the bias last column.

    Hidden widths ``--widths`` (default: one layer of ``--width``: then it is the two-layer net bit
    for bit), ``--activation`` relu or leaky, ``--train`` all, hidden or a list of layers.
    """

    name = "mlp"
    kernel_module = ".mlp"
    layered = True
    deep = True

    def hidden_widths(self, cfg: RunFields) -> tuple[int, ...]:
        return cfg.widths if cfg.widths is not None else (cfg.width,)

    def initial_weights(self, cfg: RunFields, draw: Draw, rescale: Rescale) -> dict[str, np.ndarray | float]:
        """Layers drawn in order W1, W2, ..., output: with one hidden layer, the two-layer net's draws."""
        assert cfg.d is not None, "RunFields resolves d on construction"
        dims = [cfg.d, *self.hidden_widths(cfg)]
        b = int(cfg.bias)
        out: dict[str, np.ndarray | float] = {}
        for l in range(1, len(dims)):
            W = np.zeros((dims[l], dims[l - 1] + b))
            W[:, : dims[l - 1]] = rescale(draw((dims[l], dims[l - 1])))
            out[f"W{l}"] = W
        k = dims[-1]
        last = np.zeros((1, k + b))
        last[0, :k] = fixed_output(k) if cfg.train == "hidden" else rescale(draw((k,)))
        out[f"W{len(dims)}"] = last
        return out

    def trained(self, cfg: RunFields, name: str) -> bool:
        return int(name[1:]) in cfg.trained_layers

    def blocks(self, geo: Geometry) -> dict[str, tuple[int, ...]]:
        from .._kernels.layout import LINE, MLP_ROWS, padded

        cols = max(padded(geo.din), geo.kpmax + LINE)
        return {"Wm": (geo.rows_total, geo.kpmax), "Wv": (geo.kp + 1,), "S": (1 + MLP_ROWS * (geo.depth - 1), cols)}

    def pack(self, geo: Geometry, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        from .._kernels.layout import R_ACT, mlp_row

        R, L, b = len(weights), geo.depth, int(geo.bias)
        Wm, Wv = geo.zeros(R, "Wm"), geo.zeros(R, "Wv")  # last rows of Wm: the gap
        kpo = geo.kp
        for r, w in enumerate(weights):
            for l in range(1, L):
                n_in, n_out, o = int(geo.dims[l - 1]), int(geo.dims[l]), int(geo.roff[l - 1])
                Wm[r, o : o + n_in + b, :n_out] = w[f"W{l}"].T
            out = w[f"W{L}"]
            Wv[r, : out.shape[1] - b] = out[0, : out.shape[1] - b]
            Wv[r, kpo] = out[0, -1] if b else 0.0
        S = geo.zeros(R, "S")
        if geo.bias:
            S[:, 0, geo.d] = 1.0
            for l in range(1, L):
                S[:, mlp_row(l, R_ACT), int(geo.dims[l])] = 1.0  # the constant input of layer l + 1
        return (Wm, Wv, geo.layer_table()), S

    def unpack(self, geo: Geometry, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        Wm, Wv = arrays[:2]
        L, b = geo.depth, int(geo.bias)
        out: list[dict[str, Any]] = []
        for r in range(Wm.shape[0]):
            s = geo.scale(log2[r])
            w: dict[str, Any] = {}
            for l in range(1, L):
                n_in, n_out, o = int(geo.dims[l - 1]), int(geo.dims[l]), int(geo.roff[l - 1])
                w[f"W{l}"] = Wm[r, o : o + n_in + b, :n_out].T * s
            n = int(geo.dims[L - 1])
            last = Wv[r, :n] if not b else np.append(Wv[r, :n], Wv[r, geo.kp])
            w[f"W{L}"] = last[None, :] * s
            out.append(w)
        return out

    def filename_parts(self, cfg: RunFields) -> list[str]:
        act = "relu" if cfg.activation == "relu" else f"leaky{cfg.leak:g}"
        return ["w" + "x".join(str(n) for n in cfg.hidden_widths), act, f"train-{cfg.train.replace(',', '.')}"]

    def describe(self, cfg: RunFields) -> str:
        act = cfg.activation if cfg.activation == "relu" else f"leaky {cfg.leak:g}"
        return f", widths {','.join(map(str, cfg.hidden_widths))}, {act}, train {cfg.train}"

    def summary_columns(self, cfg: RunFields) -> list[str]:
        return super().summary_columns(cfg) + [f"active_mean_{l}" for l in range(2, cfg.depth)]

    def width_option(self, cfg: RunFields) -> str:
        return "widths"


MODEL = Mlp()
