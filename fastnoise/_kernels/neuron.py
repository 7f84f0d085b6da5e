"""Single neuron (perceptron) ``N(x) = V . x``; with a bias, x carries a last coordinate 1.

Rules (paper.md section 1): hinge, ``V += h*y*x`` only when ``y*(V.x) <= 0``; logistic,
``V += h*y*sigmoid(-y*V.x)*x`` at every step.

Replica row of ``weights``: ``V[0:din]`` (``V[d]`` is the bias when there is one).
Replica row of ``scratch``: ``x[0:din]`` (``x[d] = 1`` for the bias).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit, pjit, prange
from .common import (
    CHECK_EVERY,
    DBL_MAX,
    F_CUBEC,
    F_LR,
    F_P,
    HINGE,
    I_BIAS,
    I_CUBEK,
    I_D,
    I_DATA,
    I_DIN,
    I_ERRORS,
    I_LOSS,
    M_BIAS1,
    M_ERR_TEST,
    M_ERR_TRAIN,
    M_LOG1,
    M_NORM1,
    M_UPDATES,
    NONFINITE,
    OK,
    S_CODE,
    S_STEP,
    UNDERFLOW,
    UNDERFLOW_PRODUCT,
    block_max_abs,
    block_norm,
    sigmoid,
)
from .draws import draw_sample, load_state, store_state


@jit
def dot(V, x, n):
    s = 0.0
    for i in range(n):
        s += V[i] * x[i]
    return s


@jit
def neuron_update(V, x, y, din, loss, h):
    """One SGD step on the sample (x, y); returns (N(x) before the step, h*y*s).

    Scalars, not the parameter vector, so that nothing is reloaded inside the step loop.
    """
    out = dot(V, x, din)
    if not abs(out) <= DBL_MAX:
        return out, 0.0
    if loss == HINGE:
        if y * out > 0.0:
            return out, 0.0
        hy = h * y
    else:
        hy = h * y * sigmoid(-y * out)
    for i in range(din):
        V[i] += hy * x[i]
    return out, hy


@jit
def apply_neuron(V, x, y, ipar, fpar):
    """One step on a given sample (x carries the bias coordinate); returns N(x) before the step."""
    return neuron_update(V, x, y, ipar[I_DIN], ipar[I_LOSS], fpar[F_LR])[0]


@jit
def neuron_steps(V, x, ipar, fpar, X, Y, nsteps, t0, st, status):
    """Run ``nsteps`` SGD steps from global step ``t0``; returns (updates, st, ok)."""
    d = ipar[I_D]
    din = ipar[I_DIN]
    loss = ipar[I_LOSS]
    data = ipar[I_DATA]
    cube_k = ipar[I_CUBEK]
    h = fpar[F_LR]
    p = fpar[F_P]
    cube_c = fpar[F_CUBEC]
    upd = 0
    for t in range(nsteps):
        _, _, y, st = draw_sample(x, d, data, X, Y, cube_c, cube_k, p, st)
        out, hy = neuron_update(V, x, y, din, loss, h)
        if not abs(out) <= DBL_MAX:
            status[S_CODE] = NONFINITE
            status[S_STEP] = t0 + t
            return upd, st, False
        if hy != 0.0:
            upd += 1
        if (t0 + t + 1) % CHECK_EVERY == 0:
            m = block_max_abs(V, 0, din, 0, 1)
            if 0.0 < m < UNDERFLOW_PRODUCT:
                status[S_CODE] = UNDERFLOW
                status[S_STEP] = t0 + t + 1
                return upd, st, False
    return upd, st, True


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


@jit
def neuron_record(V, x, ipar, out_row, Xev, Yev, Xte, Yte):
    d = ipar[I_D]
    din = ipar[I_DIN]
    nrm, lg = block_norm(V, 0, din, 0, 1)
    out_row[M_NORM1] = nrm
    out_row[M_LOG1] = lg
    if ipar[I_BIAS]:
        out_row[M_BIAS1] = abs(V[d])
    if ipar[I_ERRORS]:
        out_row[M_ERR_TRAIN] = neuron_error(V, Xev, Yev, din, x)
        out_row[M_ERR_TEST] = neuron_error(V, Xte, Yte, din, x)
    return math.isfinite(nrm)


@pjit
def run_neuron(
    weights, scratch, state, steps_done, updates, status, ipar, fpar, Xtr, Ytr, Xev, Yev, Xpr, Xte, Yte, seg_steps, seg_rec, out
):
    """Advance every replica through the segments; ``prange`` over replicas, nothing shared written."""
    R = weights.shape[0]
    for r in prange(R):
        if status[r, S_CODE] != OK:
            continue
        V = weights[r]
        x = scratch[r]
        st = load_state(state[r])
        for s in range(seg_steps.shape[0]):
            n = seg_steps[s]
            if n > 0:
                upd, st, ok = neuron_steps(V, x, ipar, fpar, Xtr, Ytr, n, steps_done[r], st, status[r])
                updates[r] += upd
                if not ok:
                    break
                steps_done[r] += n
            rec = seg_rec[s]
            if rec >= 0:
                out[r, rec, M_UPDATES] = updates[r]
                updates[r] = 0
                if not neuron_record(V, x, ipar, out[r, rec], Xev, Yev, Xte, Yte):
                    status[r, S_CODE] = NONFINITE
                    status[r, S_STEP] = steps_done[r]
                    break
        store_state(state[r], st)
