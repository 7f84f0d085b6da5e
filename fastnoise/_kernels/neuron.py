"""Single neuron (perceptron) ``N(x) = V . x``; with a bias, x carries a last coordinate 1.

Rules (README, "What it simulates"): hinge, ``V += h*y*x`` only when ``y*(V.x) <= 0``; logistic,
``V += h*y*sigmoid(-y*V.x)*x`` at every step.

Views of replica r (``w``): ``x`` = scratch row (``x[d] = 1`` for the bias), ``V`` = weights row
``[0:din]`` (``V[d]`` is the bias when there is one).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .common import DBL_MAX, HINGE, UNDERFLOW_PRODUCT, block_max_abs, block_norm, sigmoid, targets
from .draws import sample_binary
from .driver import Model, constant_lr
from .layout import M_BIAS1, M_ERR_TEST, M_ERR_TRAIN, M_LOG1, M_NORM1

LOSS = HINGE  # rebound per Spec by the driver builder
SMOOTH = False  # likewise


@jit
def dot(V, x, n):
    s = 0.0
    for i in range(n):
        s += V[i] * x[i]
    return s


def view(arrays, scratch, r, P):
    return scratch[r], arrays[0][r]


def update(j, y, P, h, x, V):
    """One SGD step on the sample (x, y); returns (N(x) before the step, h*y*s: 0.0 when V did not move)."""
    din = P.din
    out = dot(V, x, din)
    if not abs(out) <= DBL_MAX:
        return out, 0.0
    if LOSS == HINGE:
        if y * out > 0.0:
            return out, 0.0
        hy = h * y
    elif SMOOTH:  # label smoothing: the scale is t - sigmoid(N) for the target t (y * y = 1 exactly)
        hi, lo = targets(P.smooth, 2)
        hy = h * y * (y * ((hi if y > 0.0 else lo) - sigmoid(out)))
    else:
        hy = h * y * sigmoid(-y * out)
    for i in range(din):
        V[i] += hy * x[i]
    return out, hy


def check(P, status, x, V):
    """No exact rescaling for a neuron: stop before the weights leave the normal range."""
    m = block_max_abs(V, 0, P.din, 0, 1)
    return not (0.0 < m < UNDERFLOW_PRODUCT)


@jit
def neuron_error(V, Xs, Ys, din, x):
    """Fraction of (Xs, Ys) with y * N(x) <= 0 (ties count as errors)."""
    n = Xs.shape[0]
    d = Xs.shape[1]
    if n == 0:
        return np.nan
    wrong = 0
    for s in range(n):
        for i in range(d):
            x[i] = Xs[s, i]
        if Ys[s] * dot(V, x, din) <= 0.0:
            wrong += 1
    return wrong / n


def record(P, D, log2, out_row, x, V):
    nrm, lg = block_norm(V, 0, P.din, 0, 1)
    out_row[M_NORM1] = nrm
    out_row[M_LOG1] = lg
    if P.bias:
        out_row[M_BIAS1] = abs(V[P.d])
    if P.errors:
        out_row[M_ERR_TRAIN] = neuron_error(V, D.Xev, D.Yev, P.din, x)
        out_row[M_ERR_TEST] = neuron_error(V, D.Xte, D.Yte, P.din, x)
    return math.isfinite(nrm)


MODEL = Model(
    "neuron",
    views=("x", "V"),
    view=view,
    sample=sample_binary,
    update=update,
    check=check,
    lr=constant_lr,
    record=record,
)
