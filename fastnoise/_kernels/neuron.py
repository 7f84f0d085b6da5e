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
from .common import DBL_MAX, HINGE, NONFINITE, UNDERFLOW_PRODUCT, block_max_abs, block_norm, sigmoid, targets
from .draws import GAUSSIAN, label_noise, sample_binary, store_state
from .driver import Lanes, Model, _fail, constant_lr
from .lanes import W, lane_normals, lane_state, set_lane_state, vaxpy, vdot
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


def scale(y, out, P, h):
    """The rule for the output ``out`` = N(x): (whether V moves, the step's scale h*y*s)."""
    if LOSS == HINGE:
        if y * out > 0.0:
            return False, 0.0
        return True, h * y
    if SMOOTH:  # label smoothing: the scale is t - sigmoid(N) for the target t (y * y = 1 exactly)
        hi, lo = targets(P.smooth, 2)
        return True, h * y * (y * ((hi if y > 0.0 else lo) - sigmoid(out)))
    return True, h * y * sigmoid(-y * out)


def update(j, y, P, h, x, V):
    """One SGD step on the sample (x, y); returns (N(x) before the step, h*y*s: 0.0 when V did not move)."""
    din = P.din
    out = dot(V, x, din)
    if not abs(out) <= DBL_MAX:
        return out, 0.0
    go, hy = scale(y, out, P, h)
    if not go:
        return out, 0.0
    for i in range(din):
        V[i] += hy * x[i]
    return out, hy


def check(P, status, x, V):
    """No exact rescaling for a neuron: stop before the weights leave the normal range."""
    m = block_max_abs(V, 0, P.din, 0, 1)
    return not (0.0 < m < UNDERFLOW_PRODUCT)


@jit(inner=True)
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


# --------------------------------------------------------------------------- replicas in lanes
# The lane block: X and V hold coordinate i of every lane in [i*W, (i+1)*W) (x[d] = 1 with a
# bias); out, hy, go: per lane N(x), the step's scale, and 1.0 where the rule moves V.


def lane_block(P):
    X = np.zeros(P.din * W)
    if P.bias:
        X[P.d * W : (P.d + 1) * W] = 1.0
    return X, np.zeros(P.din * W), np.zeros(W), np.zeros(W), np.zeros(W)


def lane_pack(blk, arrays, scratch, rs, member, P):
    V = blk[1]
    Wt = arrays[0]
    for lane in range(W):
        r = rs[lane]
        for i in range(P.din):
            V[i * W + lane] = Wt[r, i] if member[lane] else 0.0


def lane_unpack(blk, arrays, scratch, rs, member, P):
    V = blk[1]
    Wt = arrays[0]
    for lane in range(W):
        if member[lane]:
            r = rs[lane]
            for i in range(P.din):
                Wt[r, i] = V[i * W + lane]


def lane_step(P, D, h, S, blk, alive, upd, status, rs, state, t):
    """One step of every live lane: the scalar step (sample_binary's Gaussian draw, its noise, update)."""
    X, V, out, hy, go = blk
    lane_normals(S, X, P.d)
    vdot(V, X, P.din, out)
    for lane in range(W):
        go[lane] = 0.0
        if not alive[lane]:
            continue
        st = lane_state(S, lane)
        y, st = label_noise(P, 1.0 if X[lane] > 0.0 else -1.0, st)
        set_lane_state(S, lane, st)
        o = out[lane]
        if not abs(o) <= DBL_MAX:
            r = rs[lane]
            _fail(status[r], NONFINITE, t)
            alive[lane] = False
            store_state(state[r], st)
            continue
        # Without branches (under pure noise the hinge moves on about half the steps, at random):
        # hy is read only where go is 1.0, and s is 0.0 where the hinge does not move.
        move, s = scale(y, o, P, h)
        go[lane] = 1.0 if move else 0.0
        hy[lane] = s
        upd[lane] += 1 if move and s != 0.0 else 0
    vaxpy(V, X, P.din, hy, go)


def lanes_eligible(spec):
    """Gaussian inputs and the paper's step (one fresh sample per step, no weight decay)."""
    return spec.data == GAUSSIAN and not (spec.batch or spec.decay or spec.epochs)


MODEL = Model(
    "neuron",
    views=("x", "V"),
    view=view,
    sample=sample_binary,
    update=update,
    check=check,
    lr=constant_lr,
    record=record,
    helpers=(scale,),
    lanes=Lanes(block=lane_block, pack=lane_pack, unpack=lane_unpack, step=lane_step, eligible=lanes_eligible),
)
