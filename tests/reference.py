"""Plain-NumPy reference of the SGD rules and metrics: the executable spec.

Written from ``shared/reference/paper.md`` section 1 and the metric definitions in
:mod:`fastnoise.schema`, never from the kernels. It is slow and obvious on purpose: one sample
at a time, whole-array NumPy expressions, no scratch buffers, no padding, no rescaling.

The randomness is not re-implemented: the caller passes the samples the kernels train on
(``fastnoise.engine.sample_stream``), the initial weights (``fastnoise.engine.initial_weights``)
and the data sets drawn once per run (``fastnoise.engine.datasets``). Everything computed from
them (forward pass, decisions, updates, norms, active counts, errors) is done here.

Rules (paper.md section 1), labels y in {-1, +1}, learning rate h, inputs x extended by a constant
1 when the model has a bias:

- neuron, hinge: if ``y * (V.x) <= 0`` then ``V += h*y*x``;
- neuron, logistic: ``V += h*y*sigmoid(-y*V.x)*x`` at every step;
- two-layer ``N(x) = V.ReLU(M x) + b2``: with the values *before* the step and
  ``s = 1`` (hinge, only when ``y*N(x) <= 0``) or ``s = sigmoid(-y*N(x))`` (logistic, every step):
  ``V += h*y*s*ReLU(M x)``, ``b2 += h*y*s`` (bias only) and ``M_i += h*y*s*v_i*x`` for each unit
  with ``M_i.x >= 0``; with ``train="hidden"`` V and b2 stay fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Metrics a network row has and a neuron row lacks (null in neuron rows).
NETWORK_ONLY = ("norm_2", "log10_norm_2", "bias_norm_2", "active_mean", "active_min", "dead")


def sigmoid(z: float) -> float:
    """The logistic function 1 / (1 + e^(-z)), written to avoid overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    return np.exp(z) / (1.0 + np.exp(z))


def extend(X: np.ndarray, bias: bool) -> np.ndarray:
    """Inputs as the first layer sees them: a constant 1 appended to each row with a bias."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if not bias:
        return X
    return np.hstack([X, np.ones((X.shape[0], 1))])


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


# --------------------------------------------------------------------------- models


def neuron_output(V: np.ndarray, X: np.ndarray) -> np.ndarray:
    """V.x for every row of the (extended) inputs X."""
    return X @ V


def net_output(M: np.ndarray, V: np.ndarray, b2: float, X: np.ndarray) -> np.ndarray:
    """N(x) = V.ReLU(M x) + b2 for every row of the (extended) inputs X."""
    return relu(X @ M.T) @ V + b2


def neuron_step(V: np.ndarray, x: np.ndarray, y: float, loss: str, h: float) -> tuple[np.ndarray, bool]:
    """One SGD step of the neuron on the extended input x; returns (new V, counted as an update)."""
    out = float(V @ x)
    if loss == "hinge":
        if y * out <= 0:
            return V + h * y * x, True
        return V, False
    s = sigmoid(-y * out)
    return V + h * y * s * x, bool(h * y * s != 0)


def net_step(
    M: np.ndarray, V: np.ndarray, b2: float, x: np.ndarray, y: float, loss: str, h: float, bias: bool, train: str
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """One SGD step of the two-layer net on the extended input x.

    Returns (M, V, b2, counted): ``counted`` says whether the rule applied an update (the schema's
    ``updates``): hinge, the misclassified steps (``y*N(x) <= 0``); logistic, every step whose
    scale ``h*y*sigmoid(-y*N(x))`` is non-zero, even when no unit fires and nothing moves.
    """
    pre = M @ x  # values before the step, used by both layers
    out = float(relu(pre) @ V + b2)
    if loss == "hinge":
        if y * out > 0:
            return M, V, b2, False
        s = 1.0
    else:
        s = sigmoid(-y * out)
    fires = pre >= 0
    dM = h * y * s * np.outer(np.where(fires, V, 0.0), x)
    if train == "all":
        dV = h * y * s * relu(pre)
        db2 = h * y * s if bias else 0.0
    else:
        dV = np.zeros_like(V)
        db2 = 0.0
    counted = True if loss == "hinge" else bool(h * y * s != 0)
    return M + dM, V + dV, b2 + db2, counted


# --------------------------------------------------------------------------- metrics


def _log10(v: float) -> float:
    return float(np.log10(v)) if v > 0 else -np.inf


def error_rate(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples with y * N(x) <= 0 (a tie is an error); NaN for an empty set."""
    if labels.size == 0:
        return np.nan
    return float(np.mean(labels * outputs <= 0))


def neuron_metrics(V: np.ndarray, cfg: Any, data: Any) -> dict[str, float]:
    """The schema's metrics for a neuron (network-only ones NaN)."""
    m = {name: np.nan for name in ("norm_1", "log10_norm_1", "bias_norm_1", "error_train", "error_test", *NETWORK_ONLY)}
    m["norm_1"] = float(np.linalg.norm(V))
    m["log10_norm_1"] = _log10(m["norm_1"])
    if cfg.bias:
        m["bias_norm_1"] = abs(float(V[-1]))
    if cfg.errors:
        m["error_train"] = error_rate(neuron_output(V, extend(data.Xtr, cfg.bias)), data.Ytr)
        m["error_test"] = error_rate(neuron_output(V, extend(data.Xte, cfg.bias)), data.Yte)
    return m


def net_metrics(M: np.ndarray, V: np.ndarray, b2: float, cfg: Any, data: Any) -> dict[str, float]:
    """The schema's metrics for a two-layer net."""
    m: dict[str, float] = {}
    m["norm_1"] = float(np.linalg.norm(M))  # Frobenius, bias column included
    m["norm_2"] = float(np.linalg.norm(np.append(V, b2)))
    m["log10_norm_1"] = _log10(m["norm_1"])
    m["log10_norm_2"] = _log10(m["norm_2"])
    m["bias_norm_1"] = float(np.linalg.norm(M[:, -1])) if cfg.bias else np.nan
    m["bias_norm_2"] = abs(float(b2)) if cfg.bias else np.nan
    active = extend(data.Xpr, cfg.bias) @ M.T > 0  # (probe, unit): strictly positive
    per_input = active.sum(axis=1)
    m["active_mean"] = float(per_input.mean())
    m["active_min"] = float(per_input.min())
    m["dead"] = float(np.sum(~active.any(axis=0)))
    m["error_train"] = m["error_test"] = np.nan
    if cfg.errors:
        m["error_train"] = error_rate(net_output(M, V, b2, extend(data.Xtr, cfg.bias)), data.Ytr)
        m["error_test"] = error_rate(net_output(M, V, b2, extend(data.Xte, cfg.bias)), data.Yte)
    return m


# --------------------------------------------------------------------------- runs


def simulate_replica(
    cfg: Any, init: dict[str, Any], xs: np.ndarray, ys: np.ndarray, data: Any, points: Sequence[int]
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train one replica on the samples ``(xs, ys)`` and record metrics at the steps ``points``.

    ``points`` must be sorted, start at 0 and end at ``len(xs)``; ``updates`` at a checkpoint counts
    the updating steps since the previous checkpoint (0 at step 0). Returns the metric rows and the
    final weights (same dict layout as ``init``).
    """
    points = [int(p) for p in points]
    assert points[0] == 0 and points[-1] == len(xs) == len(ys)
    Xs = extend(xs, cfg.bias)
    h, loss = cfg.lr, cfg.loss
    neuron = cfg.model == "neuron"
    if neuron:
        V = np.array(init["V"], dtype=np.float64)
    else:
        M = np.array(init["M"], dtype=np.float64)
        V = np.array(init["V"], dtype=np.float64)
        b2 = float(init["b2"])
    rows: list[dict[str, float]] = []
    updates = 0
    t = 0
    for point in points:
        while t < point:
            if neuron:
                V, counted = neuron_step(V, Xs[t], ys[t], loss, h)
            else:
                M, V, b2, counted = net_step(M, V, b2, Xs[t], ys[t], loss, h, cfg.bias, cfg.train)
            updates += counted
            t += 1
        row = neuron_metrics(V, cfg, data) if neuron else net_metrics(M, V, b2, cfg, data)
        row["updates"] = float(updates)
        updates = 0
        rows.append(row)
    final = {"V": V} if neuron else {"M": M, "V": V, "b2": b2}
    return rows, final


# --------------------------------------------------------------------------- ten classes


def multiclass_step(
    M: np.ndarray, V: np.ndarray, b: np.ndarray, x: np.ndarray, y: int, loss: str, h: float, bias: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """One SGD step of the C-output net s = V.ReLU(M x) + b on the extended input x, label y.

    Multiclass hinge: with c* the highest-scoring wrong class (the first if tied), update only if
    s[c*] >= s[y]: the output rows y and c* move by +-h*ReLU(Mx), their biases by +-h, and each
    firing unit's M_i by h*(V[y,i] - V[c*,i])*x. Softmax cross-entropy: e = onehot(y) - softmax(s),
    V += h*outer(e, ReLU(Mx)), b += h*e, M_i += h*(e.V[:, i])*x for firing units, every step.
    All with the values before the step.
    """
    pre = M @ x
    a = relu(pre)
    s = V @ a + b
    C = len(b)
    if loss == "hinge":
        wrong = [c for c in range(C) if c != y]
        rival = max(wrong, key=lambda c: (s[c], -c))
        if s[rival] < s[y]:
            return M, V, b, False
        e = np.zeros(C)
        e[y], e[rival] = 1.0, -1.0
    else:
        z = np.exp(s - s.max())
        e = -z / z.sum()
        e[y] += 1.0
    fires = pre >= 0
    dM = h * np.outer(np.where(fires, e @ V, 0.0), x)
    dV = h * np.outer(e, a)
    db = h * e if bias else np.zeros(C)
    return M + dM, V + dV, b + db, True


def multiclass_errors(M: np.ndarray, V: np.ndarray, b: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """Fraction of rows whose first highest-scoring class differs from the label."""
    if len(Y) == 0:
        return np.nan
    s = relu(X @ M.T) @ V.T + b
    return float(np.mean(np.argmax(s, axis=1) != Y.astype(int)))
