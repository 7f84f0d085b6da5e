"""Plain-NumPy reference of the SGD rules and metrics: the executable spec.

Written from the update rules of ``docs/model.md`` section 1 and the metric definitions in
:mod:`fastnoise.schema`, never from the kernels. It is slow and obvious on purpose: one sample
at a time, whole-array NumPy expressions, no scratch buffers, no padding, no rescaling.

The randomness is not re-implemented: the caller passes the samples the kernels train on
(``fastnoise.probes.sample_stream``), the initial weights (``fastnoise.weights.initial_weights``)
and the data sets drawn once per run (``fastnoise.sets.datasets``). Everything computed from
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

Training regimes (``RunConfig`` options; each default is the rule above):

- label smoothing e (logistic only): the targets are ``(1 - e) * onehot + e / C``. Two classes: the
  target probability of class +1 is ``t = 1 - e/2`` for y = +1 and ``e/2`` for y = -1, and the
  logistic ``s = sigmoid(-y*N)`` becomes ``s = y * (t - sigmoid(N))`` (so ``h*y*s = h*(t - sigmoid(N))``,
  minus the gradient of the smoothed cross-entropy; e = 0 gives back ``sigmoid(-y*N)``). Ten
  classes: ``e_c = target_c - softmax(s)_c``;
- minibatch b: a step takes b consecutive samples of the stream, computes each one's update
  ``u_i(W0)`` at the same weights W0 (a hinge sample that is classified correctly contributes 0)
  and moves to ``W0 + mean_i u_i(W0)``; ``updates`` counts the steps where some sample updated;
- weight decay l: every step (also a hinge step without update) adds ``-h*l*W0`` to every trained
  weight, biases included, with W0 the weights before the step: ``W0 + mean_i u_i(W0) - h*l*W0``;
  untrained layers do not move;
- noise convention, fixed noise, epochs: only the labels and the order of the samples change, and
  those come from ``probes.sample_stream`` (with fixed noise ``data.Ytr`` holds the corrupted
  labels, ``data.Yev`` the clean ones on which ``error_train`` is measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
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


def binary_scale(y: float, out: float, smoothing: float = 0.0) -> float:
    """The logistic step's ``s`` (the step is ``h*y*s*dN``): ``sigmoid(-y*N)``, or with label smoothing e
    ``y * (t - sigmoid(N))`` for the target probability of class +1, ``t = 1 - e/2`` (y = +1) or ``e/2`` (y = -1)."""
    if smoothing == 0.0:
        return sigmoid(-y * out)
    t = 1.0 - smoothing / 2.0 if y > 0 else smoothing / 2.0
    return y * (t - sigmoid(out))


def neuron_delta(
    V: np.ndarray, x: np.ndarray, y: float, loss: str, h: float, smoothing: float = 0.0
) -> tuple[np.ndarray | None, bool]:
    """The neuron's update on the extended input x at the weights V: (dV, or None when the hinge rule
    does not apply; counted as an update)."""
    out = float(V @ x)
    if loss == "hinge":
        if y * out <= 0:
            return h * y * x, True
        return None, False
    s = binary_scale(y, out, smoothing)
    return h * y * s * x, bool(h * y * s != 0)


def neuron_step(V: np.ndarray, x: np.ndarray, y: float, loss: str, h: float, smoothing: float = 0.0) -> tuple[np.ndarray, bool]:
    """One SGD step of the neuron on the extended input x; returns (new V, counted as an update)."""
    dV, counted = neuron_delta(V, x, y, loss, h, smoothing)
    return (V if dV is None else V + dV), counted


def net_delta(
    M: np.ndarray,
    V: np.ndarray,
    b2: float,
    x: np.ndarray,
    y: float,
    loss: str,
    h: float,
    bias: bool,
    train: str,
    smoothing: float = 0.0,
) -> tuple[tuple[np.ndarray, np.ndarray, float] | None, bool]:
    """The two-layer net's update at (M, V, b2): ((dM, dV, db2), or None when the hinge rule does not
    apply; counted). With ``train="hidden"`` dV and db2 are 0."""
    pre = M @ x  # values before the step, used by both layers
    out = float(relu(pre) @ V + b2)
    if loss == "hinge":
        if y * out > 0:
            return None, False
        s = 1.0
    else:
        s = binary_scale(y, out, smoothing)
    fires = pre >= 0
    dM = h * y * s * np.outer(np.where(fires, V, 0.0), x)
    if train == "all":
        dV = h * y * s * relu(pre)
        db2 = h * y * s if bias else 0.0
    else:
        dV = np.zeros_like(V)
        db2 = 0.0
    counted = True if loss == "hinge" else bool(h * y * s != 0)
    return (dM, dV, db2), counted


def net_step(
    M: np.ndarray,
    V: np.ndarray,
    b2: float,
    x: np.ndarray,
    y: float,
    loss: str,
    h: float,
    bias: bool,
    train: str,
    smoothing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """One SGD step of the two-layer net on the extended input x.

    Returns (M, V, b2, counted): ``counted`` says whether the rule applied an update (the schema's
    ``updates``): hinge, the misclassified steps (``y*N(x) <= 0``); logistic, every step whose
    scale ``h*y*s`` is non-zero, even when no unit fires and nothing moves.
    """
    delta, counted = net_delta(M, V, b2, x, y, loss, h, bias, train, smoothing)
    if delta is None:
        return M, V, b2, counted
    dM, dV, db2 = delta
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


def mlp_delta(
    Ws: Sequence[np.ndarray],
    x: np.ndarray,
    y: float,
    loss: str,
    h: float,
    bias: bool,
    activation: str,
    leak: float,
    train: str,
    smoothing: float = 0.0,
) -> tuple[list[np.ndarray | None] | None, bool]:
    """The mlp's update at the layers Ws: (per layer ``outer(delta_l, a_(l-1))``, None for an untrained
    layer; or None when the hinge rule does not apply; counted)."""
    L = len(Ws)
    zs, acts, outs = mlp_forward(Ws, x, bias, activation, leak)
    out = float(outs[0])
    if loss == "hinge":
        if y * out > 0:
            return None, False
        s = 1.0
    else:
        s = binary_scale(y, out, smoothing)
    trained = trained_layers(train, L)
    deltas: list[np.ndarray | None] = [None] * L
    delta = np.array([h * y * s])  # delta_L: one output unit
    for l in range(L, 0, -1):
        if l in trained:
            deltas[l - 1] = np.outer(delta, acts[l - 1][0])
        if l > 1:
            n = Ws[l - 2].shape[0]  # units of layer l-1: W_l's columns before its bias column
            delta = slope(zs[l - 2][0], activation, leak) * (Ws[l - 1][:, :n].T @ delta)
    counted = True if loss == "hinge" else bool(h * y * s != 0)
    return deltas, counted


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
    smoothing: float = 0.0,
) -> tuple[list[np.ndarray], bool]:
    """One SGD step of the mlp on the extended input x; returns (new layers, counted).

    Every quantity (z_l, a_l, N(x), the deltas) comes from the layers before the step; an untrained
    layer stays as it is but still carries delta back. ``counted`` as in :func:`net_step`.
    """
    deltas, counted = mlp_delta(Ws, x, y, loss, h, bias, activation, leak, train, smoothing)
    if deltas is None:
        return list(Ws), counted
    return [W if dW is None else W + dW for W, dW in zip(Ws, deltas, strict=True)], counted


# --------------------------------------------------------------------------- minibatches and weight decay


def regime_step(
    W0: Sequence[np.ndarray],
    updates: Sequence[Sequence[np.ndarray | None] | None],
    trained: Sequence[bool],
    h: float,
    decay: float,
) -> list[np.ndarray]:
    """One step of a minibatch with weight decay, on the weight arrays ``W0`` (the weights before the step).

    ``updates[i]`` is sample i's update of each array, computed at W0 (None: the sample does not
    update, or the array is not trained): the new weights are ``W0 + mean_i u_i - h*decay*W0`` on
    the trained arrays (``trained``), W0 on the others. A batch of one without decay is W0 + u_1.
    """
    out = []
    for k, W in enumerate(W0):
        W = np.asarray(W, dtype=np.float64)
        us = [np.zeros_like(W) if u is None or u[k] is None else np.asarray(u[k], dtype=np.float64) for u in updates]
        new = W + np.mean(us, axis=0)
        if decay != 0.0 and trained[k]:
            new = new - h * decay * W
        out.append(new)
    return out


# --------------------------------------------------------------------------- metrics


def _log10(v: float) -> float:
    return float(np.log10(v)) if v > 0 else -np.inf


def error_rate(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples with y * N(x) <= 0 (a tie is an error); NaN for an empty set."""
    if labels.size == 0:
        return np.nan
    return float(np.mean(labels * outputs <= 0))


def neuron_metrics(V: np.ndarray, cfg: Any, data: Any) -> dict[str, float]:
    """The schema's metrics for a neuron (network-only ones NaN); ``error_train`` as in :func:`mlp_metrics`."""
    m = {name: np.nan for name in ("norm_1", "log10_norm_1", "bias_norm_1", "error_train", "error_test", *NETWORK_ONLY)}
    m["norm_1"] = float(np.linalg.norm(V))
    m["log10_norm_1"] = _log10(m["norm_1"])
    if cfg.bias:
        m["bias_norm_1"] = abs(float(V[-1]))
    if cfg.errors:
        m["error_train"] = error_rate(neuron_output(V, extend(data.Xev, cfg.bias)), data.Yev)
        m["error_test"] = error_rate(neuron_output(V, extend(data.Xte, cfg.bias)), data.Yte)
    return m


def first_layer_activity(M: np.ndarray, cfg: Any, data: Any) -> dict[str, float]:
    """Over the probe set: the mean and least number of units with M_i.x > 0 (strictly) per input, and
    the units with M_i.x <= 0 on every probe input (``active_mean``, ``active_min``, ``dead``)."""
    active = extend(data.Xpr, cfg.bias) @ M.T > 0  # (probe, unit)
    per_input = active.sum(axis=1)
    return {
        "active_mean": float(per_input.mean()),
        "active_min": float(per_input.min()),
        "dead": float(np.sum(~active.any(axis=0))),
    }


def net_metrics(M: np.ndarray, V: np.ndarray, b2: float, cfg: Any, data: Any) -> dict[str, float]:
    """The schema's metrics for a two-layer net; ``error_train`` as in :func:`mlp_metrics`."""
    m: dict[str, float] = {}
    m["norm_1"] = float(np.linalg.norm(M))  # Frobenius, bias column included
    m["norm_2"] = float(np.linalg.norm(np.append(V, b2)))
    m["log10_norm_1"] = _log10(m["norm_1"])
    m["log10_norm_2"] = _log10(m["norm_2"])
    m["bias_norm_1"] = float(np.linalg.norm(M[:, -1])) if cfg.bias else np.nan
    m["bias_norm_2"] = abs(float(b2)) if cfg.bias else np.nan
    m.update(first_layer_activity(M, cfg, data))
    m["error_train"] = m["error_test"] = np.nan
    if cfg.errors:
        m["error_train"] = error_rate(net_output(M, V, b2, extend(data.Xev, cfg.bias)), data.Yev)
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
    ``error_train`` on ``data.Xev``, the first ``eval_size`` training samples, with their clean
    labels ``data.Yev`` (with ``noise_mode="fixed"``, ``data.Ytr`` holds the corrupted ones).
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


def progress_metrics(
    outputs: np.ndarray, W1: np.ndarray, X: np.ndarray, support: Sequence[int], y: np.ndarray
) -> dict[str, float]:
    """The hypercube's progress columns (docs/table.md), at true scale.

    ``outputs``: N(x) on the probe set ``X`` (rows of +-1); ``W1``: the first layer, units x inputs,
    bias column excluded (the neuron: V as one row); ``support``: 0-based bits in order; ``y``: the
    clean targets of ``X``. target_corr = mean(y N); mass_support, mass_off = the root-mean-square of
    W1's entries in the support's columns and in the others (NaN if none); fourier_<bits> =
    mean(N chi_T) for every non-empty subset T of the support when k <= 4, by degree and then
    lexicographic in support positions, else for the support only; bits 1-based, in support order.
    """
    k, d = len(support), X.shape[1]
    off = [j for j in range(d) if j not in support]
    m = {
        "target_corr": float(np.mean(y * outputs)),
        "mass_support": float(np.sqrt(np.mean(W1[:, list(support)] ** 2))),
        "mass_off": float(np.sqrt(np.mean(W1[:, off] ** 2))) if off else np.nan,
    }
    subsets = [T for n in range(1, k + 1) for T in combinations(range(k), n)] if k <= 4 else [tuple(range(k))]
    for T in subsets:
        bits = [support[p] for p in T]
        m["fourier_" + "_".join(str(b + 1) for b in bits)] = float(np.mean(outputs * np.prod(X[:, bits], axis=1)))
    return m


# --------------------------------------------------------------------------- ten classes


def multiclass_delta(
    M: np.ndarray, V: np.ndarray, b: np.ndarray, x: np.ndarray, y: int, loss: str, h: float, bias: bool, smoothing: float = 0.0
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, bool]:
    """The C-output net's update at (M, V, b): ((dM, dV, db), or None when the hinge rule does not apply; counted).

    Multiclass hinge: with c* the highest-scoring wrong class (the first if tied), update only if
    s[c*] >= s[y]: the output rows y and c* move by +-h*ReLU(Mx), their biases by +-h, and each
    firing unit's M_i by h*(V[y,i] - V[c*,i])*x. Softmax cross-entropy: e = target - softmax(s)
    (target onehot(y), smoothed ``(1 - e) * onehot(y) + e / C``), V += h*outer(e, ReLU(Mx)),
    b += h*e, M_i += h*(e.V[:, i])*x for firing units, every step. All with the values before the step.
    """
    pre = M @ x
    a = relu(pre)
    s = V @ a + b
    C = len(b)
    if loss == "hinge":
        wrong = [c for c in range(C) if c != y]
        rival = max(wrong, key=lambda c: (s[c], -c))
        if s[rival] < s[y]:
            return None, False
        e = np.zeros(C)
        e[y], e[rival] = 1.0, -1.0
    elif smoothing == 0.0:
        z = np.exp(s - s.max())
        e = -z / z.sum()
        e[y] += 1.0
    else:
        target = np.full(C, smoothing / C)
        target[y] += 1.0 - smoothing
        z = np.exp(s - s.max())
        e = target - z / z.sum()
    fires = pre >= 0
    dM = h * np.outer(np.where(fires, e @ V, 0.0), x)
    dV = h * np.outer(e, a)
    db = h * e if bias else np.zeros(C)
    return (dM, dV, db), True


def multiclass_step(
    M: np.ndarray, V: np.ndarray, b: np.ndarray, x: np.ndarray, y: int, loss: str, h: float, bias: bool, smoothing: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """One SGD step of the C-output net s = V.ReLU(M x) + b on the extended input x, label y (:func:`multiclass_delta`)."""
    delta, counted = multiclass_delta(M, V, b, x, y, loss, h, bias, smoothing)
    if delta is None:
        return M, V, b, False
    dM, dV, db = delta
    return M + dM, V + dV, b + db, True


def multiclass_errors(M: np.ndarray, V: np.ndarray, b: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """Fraction of rows whose first highest-scoring class differs from the label."""
    if len(Y) == 0:
        return np.nan
    s = relu(X @ M.T) @ V.T + b
    return float(np.mean(np.argmax(s, axis=1) != Y.astype(int)))


def multiclass_metrics(M: np.ndarray, V: np.ndarray, b: np.ndarray, cfg: Any, data: Any) -> dict[str, float]:
    """The schema's metrics for the C-output net: as :func:`net_metrics` with (V, b) as layer 2
    (``norm_2`` over V and b, ``bias_norm_2`` the norm of b) and errors by the first highest score."""
    m: dict[str, float] = {"norm_1": float(np.linalg.norm(M)), "norm_2": float(np.linalg.norm(np.append(V, b)))}
    m["log10_norm_1"] = _log10(m["norm_1"])
    m["log10_norm_2"] = _log10(m["norm_2"])
    m["bias_norm_1"] = float(np.linalg.norm(M[:, -1])) if cfg.bias else np.nan
    m["bias_norm_2"] = float(np.linalg.norm(b)) if cfg.bias else np.nan
    m.update(first_layer_activity(M, cfg, data))
    m["error_train"] = m["error_test"] = np.nan
    if cfg.errors:
        m["error_train"] = multiclass_errors(M, V, b, extend(data.Xev, cfg.bias), data.Yev)
        m["error_test"] = multiclass_errors(M, V, b, extend(data.Xte, cfg.bias), data.Yte)
    return m


# --------------------------------------------------------------------------- runs


def _replica_model(cfg: Any, init: dict[str, Any], data: Any) -> tuple[list[Any], list[bool], Any, Any, Any]:
    """A model as a list of weight arrays: (initial arrays, trained flags, update(W, x, y) -> (per-array
    updates or None, counted), metrics(W), final(W) -> the weight dict)."""
    bias, loss, h, e = cfg.bias, cfg.loss, cfg.lr, cfg.label_smoothing
    if cfg.model == "neuron":

        def neuron(W: list, x: np.ndarray, y: float) -> tuple[Any, bool]:
            dV, counted = neuron_delta(W[0], x, y, loss, h, e)
            return (None if dV is None else [dV]), counted

        V = np.array(init["V"], dtype=np.float64)
        return [V], [True], neuron, lambda W: neuron_metrics(W[0], cfg, data), lambda W: {"V": W[0]}
    if cfg.model == "mlp":

        def mlp(W: list, x: np.ndarray, y: float) -> tuple[Any, bool]:
            return mlp_delta(W, x, y, loss, h, bias, cfg.activation, cfg.leak, cfg.train, e)

        Ws = mlp_layers(init)
        trained = [l in trained_layers(cfg.train, len(Ws)) for l in range(1, len(Ws) + 1)]
        return Ws, trained, mlp, lambda W: mlp_metrics(W, cfg, data), mlp_weights
    if cfg.classes > 2:

        def multiclass(W: list, x: np.ndarray, y: float) -> tuple[Any, bool]:
            return multiclass_delta(W[0], W[1], W[2], x, int(y), loss, h, bias, e)

        MVb = [np.array(init[k], dtype=np.float64) for k in ("M", "V", "b")]
        metrics = lambda W: multiclass_metrics(W[0], W[1], W[2], cfg, data)  # noqa: E731
        return MVb, [True] * 3, multiclass, metrics, lambda W: dict(zip("MVb", W, strict=True))

    def net(W: list, x: np.ndarray, y: float) -> tuple[Any, bool]:
        return net_delta(W[0], W[1], float(W[2]), x, y, loss, h, bias, cfg.train, e)

    MVb2: list[Any] = [np.array(init["M"], dtype=np.float64), np.array(init["V"], dtype=np.float64), float(init["b2"])]
    out = cfg.train == "all"  # train="hidden": V and b2 stay fixed
    return (
        MVb2,
        [True, out, out],
        net,
        lambda W: net_metrics(W[0], W[1], float(W[2]), cfg, data),
        lambda W: {"M": W[0], "V": W[1], "b2": float(W[2])},
    )


def simulate_replica(
    cfg: Any, init: dict[str, Any], xs: np.ndarray, ys: np.ndarray, data: Any, points: Sequence[int]
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train one replica on the samples ``(xs, ys)`` and record metrics at the steps ``points``.

    ``points`` must be sorted, start at 0 and end at the run's steps; step t trains on the samples
    ``t*b ... t*b + b - 1`` (b = ``cfg.batch``; so ``len(xs) = b * points[-1]``). ``updates`` at a
    checkpoint counts the updating steps since the previous checkpoint (0 at step 0). Returns the
    metric rows and the final weights (same dict layout as ``init``; mlp: ``{"W1": ..., "WL": ...}``,
    all 2-D). Without minibatches and weight decay a step is the model's ``*_step``: W0 + u(W0).
    """
    points = [int(p) for p in points]
    b, decay = int(cfg.batch), float(cfg.weight_decay)
    assert points[0] == 0 and points[-1] * b == len(xs) == len(ys)
    Xs = extend(xs, cfg.bias)
    W, trained, update, metrics, final = _replica_model(cfg, init, data)
    rows: list[dict[str, float]] = []
    updates = 0
    t = 0
    for point in points:
        while t < point:
            samples = [update(W, Xs[i], ys[i]) for i in range(t * b, t * b + b)]  # all at W0 = W
            if b == 1 and decay == 0.0:  # the paper's step, as neuron_step / net_step / mlp_step
                u = samples[0][0]
                W = [w if u is None or u[k] is None else w + u[k] for k, w in enumerate(W)]
            else:
                W = regime_step(W, [u for u, _ in samples], trained, cfg.lr, decay)
            updates += any(counted for _, counted in samples)
            t += 1
        row = metrics(W)
        row["updates"] = float(updates)
        updates = 0
        rows.append(row)
    return rows, final(W)
