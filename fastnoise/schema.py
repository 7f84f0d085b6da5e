"""The table's columns, their types and meaning, and the schema version.

One row per (replica, checkpoint). The same columns for every model: a metric that does not
apply (``norm_2`` of a neuron, errors under pure noise without a training set) is null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import RunConfig

SCHEMA_VERSION = 1

#: Metric columns, in the kernels' order, with their meaning (README's schema table).
METRICS: dict[str, str] = {
    "norm_1": "Frobenius norm of the first weight layer (the neuron's V), bias included",
    "norm_2": "norm of the output layer (V and b2; ten classes: the 10 x width V and b) of a two-layer net",
    "log10_norm_1": "log10 of norm_1, exact even below 1e-308 (renormalised runs)",
    "log10_norm_2": "log10 of norm_2",
    "bias_norm_1": "norm of the first layer's bias part (B1, or the neuron's bias)",
    "bias_norm_2": "|b2|, the output bias",
    "updates": "steps since the previous checkpoint on which the rule applied an update: hinge, the "
    "misclassified ones (y*N(x) <= 0); logistic, every step (its scale h*y*sigmoid(-y*N(x)) is never 0 "
    "in practice, though a step where no unit fires moves nothing)",
    "active_mean": "typical number of active neurons: mean over the probe set of #{i: M_i.x > 0}",
    "active_min": "least number of active neurons over the probe set",
    "dead": "neurons that fire on no probe input",
    "error_train": "fraction of the training set (clean labels) with y*N(x) <= 0 (ten classes: argmax of the scores != label)",
    "error_test": "fraction of the test set with y*N(x) <= 0 (ten classes: argmax of the scores != label)",
}

#: Parameter columns repeated on every row.
PARAMS = ("model", "loss", "bias", "train", "data", "d", "width", "lr", "p", "n_train", "init", "seed")

_INT_METRICS = ("updates", "active_min", "dead")


def frame_from_arrays(cfg: RunConfig, points: np.ndarray, out: np.ndarray) -> pd.DataFrame:
    """Tidy DataFrame from the kernels' ``out[replica, checkpoint, metric]``."""
    R, C, _ = out.shape
    cols: dict[str, object] = {
        "replica": np.repeat(np.arange(R, dtype=np.int64), C),
        "step": np.tile(points.astype(np.int64), R),
    }
    flat = out.reshape(R * C, -1)
    for m, name in enumerate(METRICS):
        v = flat[:, m]
        if name in _INT_METRICS:
            cols[name] = pd.array(np.where(np.isnan(v), 0, v).astype(np.int64), dtype="Int64")
            cols[name][np.isnan(v)] = pd.NA
        else:
            cols[name] = v
    n = R * C
    net = cfg.model == "twolayer"
    cols.update(
        model=np.full(n, cfg.model, dtype=object),
        loss=np.full(n, cfg.loss, dtype=object),
        bias=np.full(n, cfg.bias),
        train=np.full(n, cfg.train, dtype=object),
        data=np.full(n, cfg.data, dtype=object),
        d=np.full(n, cfg.d, dtype=np.int64),
        width=pd.array([cfg.width if net else None] * n, dtype="Int64"),
        lr=np.full(n, cfg.lr),
        p=np.full(n, cfg.p),
        n_train=pd.array([cfg.n_train] * n, dtype="Int64"),
        init=np.full(n, cfg.init, dtype=object),
        seed=np.full(n, cfg.seed, dtype=np.int64),
    )
    df = pd.DataFrame(cols)
    df.attrs["config"] = cfg.to_dict()
    return df
