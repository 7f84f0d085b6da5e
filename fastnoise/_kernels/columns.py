"""The metric columns of the kernels' output, in their order (plain Python: no Numba, no numpy).

``out[replica, checkpoint, metric]``: the base columns (:data:`BASE_NAMES`) for every model, then
a deep net's per-layer columns (:func:`metric_names`).
"""

from __future__ import annotations

(
    M_NORM1,
    M_NORM2,
    M_LOG1,
    M_LOG2,
    M_BIAS1,
    M_BIAS2,
    M_UPDATES,
    M_ACT_MEAN,
    M_ACT_MIN,
    M_DEAD,
    M_ERR_TRAIN,
    M_ERR_TEST,
) = range(12)
N_BASE = 12
BASE_NAMES = (
    "norm_1",
    "norm_2",
    "log10_norm_1",
    "log10_norm_2",
    "bias_norm_1",
    "bias_norm_2",
    "updates",
    "active_mean",
    "active_min",
    "dead",
    "error_train",
    "error_test",
)


def col_norm(l):
    """Column of ``norm_l`` (layers count from 1)."""
    if l <= 2:
        return M_NORM1 if l == 1 else M_NORM2
    return N_BASE + 3 * (l - 3)


def col_log(l):
    """Column of ``log10_norm_l``."""
    if l <= 2:
        return M_LOG1 if l == 1 else M_LOG2
    return N_BASE + 3 * (l - 3) + 1


def col_bias(l):
    """Column of ``bias_norm_l``."""
    if l <= 2:
        return M_BIAS1 if l == 1 else M_BIAS2
    return N_BASE + 3 * (l - 3) + 2


def col_active(depth, l):
    """Column of ``active_mean_l`` of an mlp with ``depth`` weight layers (min: +1, dead: +2)."""
    return N_BASE + 3 * max(depth - 2, 0) + 3 * (l - 1)


def metric_names(depth: int, per_layer_active: bool) -> list[str]:
    """Metric column names, in the kernels' order, of a model with ``depth`` weight layers."""
    names = list(BASE_NAMES)
    for l in range(3, depth + 1):
        names += [f"norm_{l}", f"log10_norm_{l}", f"bias_norm_{l}"]
    if per_layer_active:
        for l in range(1, depth):
            names += [f"active_mean_{l}", f"active_min_{l}", f"dead_{l}"]
    assert names[col_norm(depth)] == f"norm_{depth}" and names[col_bias(depth)] == f"bias_norm_{depth}"
    if per_layer_active:
        assert names[col_active(depth, depth - 1) + 2] == f"dead_{depth - 1}"
    return names
