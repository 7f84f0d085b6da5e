"""Plain-NumPy reference of the SGD rules and metrics: the executable spec.

Written from the update rules of ``docs/model.md`` section 1 and the metric definitions in
:mod:`fastnoise.schema`, never from the kernels. It is slow and obvious on purpose: one sample
at a time, whole-array NumPy expressions, no scratch buffers, no padding, no rescaling.

The randomness is not re-implemented: the caller passes the samples the kernels train on
(``fastnoise.engine.sample_stream``), the initial weights (``fastnoise.engine.initial_weights``)
and the data sets drawn once per run (``fastnoise.engine.datasets``). Everything computed from
them (forward pass, decisions, updates, norms, active counts, errors) is done here.

Rules (docs/model.md section 1), labels y in {-1, +1}, learning rate h, inputs x extended by a constant
1 when the model has a bias:

- neuron, hinge: if ``y * (V.x) <= 0`` then ``V += h*y*x``;
- neuron, logistic: ``V += h*y*sigmoid(-y*V.x)*x`` at every step;
- two-layer ``N(x) = V.ReLU(M x) + b2``: with the values *before* the step and
  ``s = 1`` (hinge, only when ``y*N(x) <= 0``) or ``s = sigmoid(-y*N(x))`` (logistic, every step):
  ``V += h*y*s*ReLU(M x)``, ``b2 += h*y*s`` (bias only) and ``M_i += h*y*s*v_i*x`` for each unit
  with ``M_i.x >= 0``; with ``train="hidden"`` V and b2 stay fixed.
- mlp, L weight layers ``W_1..W_L`` (``W_L`` the 1-row output layer; with a bias each layer's bias
  is its last column): ``a_0 = x``, ``z_l = W_l a_(l-1)``, ``a_l = phi(z_l)`` extended by 1 with a
  bias (l < L), ``N(x) = W_L a_(L-1)``; ``phi(z) = z`` for ``z > 0``, else 0 (relu) or ``leak*z``
  (leaky). With the values before the step and ``s`` as for the two-layer net:
  ``delta_L = h*y*s``, ``delta_l = phi'(z_l) * (W_(l+1)[:, :n_l]^T delta_(l+1))`` (the bias column
  carries nothing back) with ``phi'(z) = 1`` for ``z >= 0`` (the unit fires), else 0 or ``leak``;
  ``W_l += outer(delta_l, a_(l-1))`` for the trained layers only (``train``: "all", "hidden" = every
  layer but the output, or 1-based layer numbers such as "1,3"). With L = 2 and relu this is the
  two-layer rule with ``W_1 = M`` and ``W_2 = [V, b2]``.
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


def activate(z: np.ndarray, activation: str, leak: float) -> np.ndarray:
    """phi(z): z where z > 0, elsewhere 0 (relu) or leak*z (leaky)."""
    return np.where(z > 0, z, 0.0 if activation == "relu" else leak * z)


def slope(z: np.ndarray, activation: str, leak: float) -> np.ndarray:
    """phi'(z) as the update uses it: 1 where z >= 0 (the unit fires), elsewhere 0 (relu) or leak."""
    return np.where(z >= 0, 1.0, 0.0 if activation == "relu" else leak)


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


def trained_layers(train: str, L: int) -> frozenset[int]:
    """The 1-based numbers of the layers an mlp with L weight layers trains (layer L: the output)."""
    if train == "all":
        return frozenset(range(1, L + 1))
    if train == "hidden":
        return frozenset(range(1, L))
    layers = frozenset(int(part) for part in train.split(","))
    assert all(1 <= l <= L for l in layers), (train, L)
    return layers


def mlp_layers(weights: dict[str, Any]) -> list[np.ndarray]:
    """``{"W1": ..., "WL": ...}`` as the list ``[W_1, ..., W_L]`` of 2-D float64 copies."""
    L = len(weights)
    return [np.array(weights[f"W{l}"], dtype=np.float64, ndmin=2) for l in range(1, L + 1)]


def mlp_weights(Ws: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Inverse of :func:`mlp_layers`."""
    return {f"W{l}": W for l, W in enumerate(Ws, start=1)}


def mlp_forward(
    Ws: Sequence[np.ndarray], X: np.ndarray, bias: bool, activation: str, leak: float
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Forward pass of every row of the (extended) inputs X.

    Returns ``(zs, acts, out)``: ``zs[l-1]`` the pre-activations z_l of hidden layer l (rows: inputs),
    ``acts[l]`` the input a_l of layer l+1 (extended by 1 with a bias; ``acts[0]`` is X), and the
    outputs N(x).
    """
    a = np.atleast_2d(X)
    zs, acts = [], [a]
    for W in Ws[:-1]:
        z = a @ W.T
        a = extend(activate(z, activation, leak), bias)
        zs.append(z)
        acts.append(a)
    return zs, acts, a @ Ws[-1][0]


def mlp_output(Ws: Sequence[np.ndarray], X: np.ndarray, bias: bool, activation: str, leak: float) -> np.ndarray:
    """N(x) for every row of the (extended) inputs X."""
    return mlp_forward(Ws, X, bias, activation, leak)[2]


def mlp_step(
    Ws: Sequence[np.ndarray],
    x: np.ndarray,
    y: float,
    loss: str,
    h: float,
    bias: bool,
    activation: str,
    leak: float,
    train: str,
) -> tuple[list[np.ndarray], bool]:
    """One SGD step of the mlp on the extended input x; returns (new layers, counted).

    Every quantity (z_l, a_l, N(x), the deltas) comes from the layers before the step; an untrained
    layer stays as it is but still carries delta back. ``counted`` as in :func:`net_step`.
    """
    L = len(Ws)
    zs, acts, out = mlp_forward(Ws, x, bias, activation, leak)
    out = float(out[0])
    if loss == "hinge":
        if y * out > 0:
            return list(Ws), False
        s = 1.0
    else:
        s = sigmoid(-y * out)
    trained = trained_layers(train, L)
    new = list(Ws)
    delta = np.array([h * y * s])  # delta_L: one output unit
    for l in range(L, 0, -1):
        if l in trained:
            new[l - 1] = Ws[l - 1] + np.outer(delta, acts[l - 1][0])
        if l > 1:
            n = Ws[l - 2].shape[0]  # units of layer l-1: W_l's columns before its bias column
            delta = slope(zs[l - 2][0], activation, leak) * (Ws[l - 1][:, :n].T @ delta)
    counted = True if loss == "hinge" else bool(h * y * s != 0)
    return new, counted


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


def mlp_metric_names(L: int) -> list[str]:
    """The metric columns of an mlp run with L weight layers (L - 1 hidden layers)."""
    names = ["updates", "error_train", "error_test", "active_mean", "active_min", "dead"]
    for l in range(1, L + 1):
        names += [f"norm_{l}", f"log10_norm_{l}", f"bias_norm_{l}"]
    for l in range(1, L):
        names += [f"active_mean_{l}", f"active_min_{l}", f"dead_{l}"]
    return names


def mlp_metrics(Ws: Sequence[np.ndarray], cfg: Any, data: Any) -> dict[str, float]:
    """The metrics of an mlp (all of :func:`mlp_metric_names` but ``updates``).

    Per layer: Frobenius norm (bias column included), its log10, the bias column's norm (NaN without
    bias). Per hidden layer, over the probe set: #{i: z_l[i] > 0} (strictly positive) per input, its
    mean and least value, and the units with z_l <= 0 on every probe input; unsuffixed: layer 1's.
    ``error_train`` on ``data.Xev``, the first ``eval_size`` training samples.
    """
    m: dict[str, float] = {}
    for l, W in enumerate(Ws, start=1):
        m[f"norm_{l}"] = float(np.linalg.norm(W))
        m[f"log10_norm_{l}"] = _log10(m[f"norm_{l}"])
        m[f"bias_norm_{l}"] = float(np.linalg.norm(W[:, -1])) if cfg.bias else np.nan
    zs, _, _ = mlp_forward(Ws, extend(data.Xpr, cfg.bias), cfg.bias, cfg.activation, cfg.leak)
    for l, z in enumerate(zs, start=1):
        active = z > 0  # (probe, unit)
        per_input = active.sum(axis=1)
        m[f"active_mean_{l}"] = float(per_input.mean())
        m[f"active_min_{l}"] = float(per_input.min())
        m[f"dead_{l}"] = float(np.sum(~active.any(axis=0)))
    m["active_mean"], m["active_min"], m["dead"] = m["active_mean_1"], m["active_min_1"], m["dead_1"]
    m["error_train"] = m["error_test"] = np.nan
    if cfg.errors:
        args = (cfg.bias, cfg.activation, cfg.leak)
        m["error_train"] = error_rate(mlp_output(Ws, extend(data.Xev, cfg.bias), *args), data.Yev)
        m["error_test"] = error_rate(mlp_output(Ws, extend(data.Xte, cfg.bias), *args), data.Yte)
    return m


# --------------------------------------------------------------------------- runs


def simulate_replica(
    cfg: Any, init: dict[str, Any], xs: np.ndarray, ys: np.ndarray, data: Any, points: Sequence[int]
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train one replica on the samples ``(xs, ys)`` and record metrics at the steps ``points``.

    ``points`` must be sorted, start at 0 and end at ``len(xs)``; ``updates`` at a checkpoint counts
    the updating steps since the previous checkpoint (0 at step 0). Returns the metric rows and the
    final weights (same dict layout as ``init``; mlp: ``{"W1": ..., "WL": ...}``, all 2-D).
    """
    points = [int(p) for p in points]
    assert points[0] == 0 and points[-1] == len(xs) == len(ys)
    Xs = extend(xs, cfg.bias)
    h, loss = cfg.lr, cfg.loss
    neuron = cfg.model == "neuron"
    mlp = cfg.model == "mlp"
    if neuron:
        V = np.array(init["V"], dtype=np.float64)
    elif mlp:
        Ws = mlp_layers(init)
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
            elif mlp:
                Ws, counted = mlp_step(Ws, Xs[t], ys[t], loss, h, cfg.bias, cfg.activation, cfg.leak, cfg.train)
            else:
                M, V, b2, counted = net_step(M, V, b2, Xs[t], ys[t], loss, h, cfg.bias, cfg.train)
            updates += counted
            t += 1
        if neuron:
            row = neuron_metrics(V, cfg, data)
        elif mlp:
            row = mlp_metrics(Ws, cfg, data)
        else:
            row = net_metrics(M, V, b2, cfg, data)
        row["updates"] = float(updates)
        updates = 0
        rows.append(row)
    if neuron:
        final = {"V": V}
    elif mlp:
        final = mlp_weights(Ws)
    else:
        final = {"M": M, "V": V, "b2": b2}
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
