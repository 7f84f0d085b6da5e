"""Two-layer ReLU network with C outputs: scores s = V . ReLU(M x) + b, V in R^(C x k).

Rules (our extension of the slides' rules to C classes; labels are class indices):
- multiclass hinge: let c* be the highest-scoring wrong class; only if s[c*] >= s[y], with the
  values before the step: V[y] += h*a, V[c*] -= h*a, b[y] += h, b[c*] -= h (bias), and for each
  unit with M_i . x >= 0, M_i += h*(V[y, i] - V[c*, i]) * x (a = ReLU(M x));
- softmax cross-entropy, every step: with e_c = [c == y] - softmax(s)_c, V[c] += h*e_c*a,
  b[c] += h*e_c, and M_i += h*(sum_c e_c*V[c, i]) * x for the firing units.

Layout: the hidden layer as in :mod:`twolayer` (``Wm[r, j, i] = M[i, j]``); ``Wv[r, c*kp + i]``
= V[c, i] and ``Wv[r, C*kp + c]`` = b[c]. Scratch row: ``x``, ``pre``, ``g``, ``fired`` (as in
twolayer), then ``s`` and ``e`` (C each, padded to 8).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit, pjit, prange
from .common import (
    CHECK_EVERY,
    DBL_MAX,
    F_LR,
    F_P,
    HINGE,
    I_BIAS,
    I_CLASSES,
    I_D,
    I_DIN,
    I_ERRORS,
    I_K,
    I_KP,
    I_LOSS,
    M_BIAS1,
    M_BIAS2,
    M_ERR_TEST,
    M_ERR_TRAIN,
    M_LOG1,
    M_LOG2,
    M_NORM1,
    M_NORM2,
    M_UPDATES,
    NONFINITE,
    OK,
    S_CODE,
    S_STEP,
    UNDERFLOW,
    UNDERFLOW_PRODUCT,
    block_max_abs,
    block_norm,
)
from .draws import draw_class_sample, load_state, store_state
from .twolayer import _load_x, forward, forward_sparse, output, record_active


@jit
def scores(W, Vb, x, din, kp, C, pre, s):
    """pre = M x, then s[c] = V[c] . ReLU(pre) + b[c] for every class."""
    forward(W, x, din, kp, pre)
    for c in range(C):
        s[c] = output(Vb[c * kp : (c + 1) * kp], pre, kp, Vb[C * kp + c])


@jit
def multiclass_update(W, Vb, x, y, pre, g, s, e, ipar, h):
    """One SGD step on (x, y), y a class index; returns (the largest |score|, whether it updated).

    Image inputs are sparse: the forward pass and the update skip the rows of zero pixels.
    """
    din = ipar[I_DIN]
    kp = ipar[I_KP]
    C = ipar[I_CLASSES]
    bias = ipar[I_BIAS] != 0
    forward_sparse(W, x, din, kp, pre)
    for c in range(C):
        s[c] = output(Vb[c * kp : (c + 1) * kp], pre, kp, Vb[C * kp + c])
    top = 0.0
    for c in range(C):
        if not abs(s[c]) <= top:
            top = abs(s[c])
    if not top <= DBL_MAX:
        return top, False
    if ipar[I_LOSS] == HINGE:
        rival = -1
        for c in range(C):
            if c != y and (rival < 0 or s[c] > s[rival]):
                rival = c
        if s[rival] < s[y]:
            return top, False
        for c in range(C):
            e[c] = 0.0
        e[y] = 1.0
        e[rival] = -1.0
    else:
        m = s[0]
        for c in range(1, C):
            if s[c] > m:
                m = s[c]
        z = 0.0
        for c in range(C):
            e[c] = math.exp(s[c] - m)
            z += e[c]
        for c in range(C):
            e[c] = (1.0 if c == y else 0.0) - e[c] / z
    # g_i = h * sum_c e_c V[c, i] on firing units, from V before the step.
    for i in range(kp):
        g[i] = 0.0
    for c in range(C):
        ec = e[c]
        if ec != 0.0:
            vc = Vb[c * kp : (c + 1) * kp]
            for i in range(kp):
                g[i] += ec * vc[i]
    for i in range(kp):
        g[i] = h * g[i] if pre[i] >= 0.0 else 0.0
    for c in range(C):
        he = h * e[c]
        if he != 0.0:
            vc = Vb[c * kp : (c + 1) * kp]
            for i in range(kp):
                pi = pre[i]
                vc[i] += he * (pi if pi > 0.0 else 0.0)
            if bias:
                Vb[C * kp + c] += he
    for jj in range(din):
        xj = x[jj]
        if xj != 0.0:
            wj = W[jj]
            for i in range(kp):
                wj[i] += g[i] * xj
    return top, True


@jit
def multiclass_steps(W, Vb, x, pre, g, s, e, ipar, fpar, X, Y, nsteps, t0, st, status):
    """Run ``nsteps`` steps from global step ``t0``; returns (updates, st, ok)."""
    d = ipar[I_D]
    din = ipar[I_DIN]
    k = ipar[I_K]
    kp = ipar[I_KP]
    C = ipar[I_CLASSES]
    h = fpar[F_LR]
    p = fpar[F_P]
    upd = 0
    for t in range(nsteps):
        _, y, st = draw_class_sample(x, d, X, Y, C, p, st)
        top, updated = multiclass_update(W, Vb, x, y, pre, g, s, e, ipar, h)
        if not top <= DBL_MAX:
            status[S_CODE] = NONFINITE
            status[S_STEP] = t0 + t
            return upd, st, False
        if updated:
            upd += 1
        if (t0 + t + 1) % CHECK_EVERY == 0:
            mw = block_max_abs(W.reshape(W.size), 0, k, kp, din)
            mv = block_max_abs(Vb, 0, C * kp, 0, 1)
            if mw > 0.0 and mv > 0.0 and mw * mv < UNDERFLOW_PRODUCT:
                status[S_CODE] = UNDERFLOW
                status[S_STEP] = t0 + t + 1
                return upd, st, False
    return upd, st, True


@jit
def multiclass_error(W, Vb, x, pre, s, Xs, Ys, din, kp, C):
    """Fraction of (Xs, Ys) whose first highest-scoring class is not the label."""
    n = Xs.shape[0]
    if n == 0:
        return np.nan
    wrong = 0
    for r in range(n):
        _load_x(x, Xs, r, Xs.shape[1])
        scores(W, Vb, x, din, kp, C, pre, s)
        best = 0
        for c in range(1, C):
            if s[c] > s[best]:
                best = c
        if best != np.int64(Ys[r]):
            wrong += 1
    return wrong / n


@jit
def multiclass_record(W, Vb, x, pre, fired, s, ipar, out_row, Xev, Yev, Xpr, Xte, Yte):
    d = ipar[I_D]
    din = ipar[I_DIN]
    k = ipar[I_K]
    kp = ipar[I_KP]
    C = ipar[I_CLASSES]
    flat = W.reshape(W.size)
    out_row[M_NORM1], out_row[M_LOG1] = block_norm(flat, 0, k, kp, din)
    out_row[M_NORM2], out_row[M_LOG2] = block_norm(Vb, 0, C * kp + C, 0, 1)
    if ipar[I_BIAS]:
        out_row[M_BIAS1] = block_norm(flat, d * kp, k, 0, 1)[0]
        out_row[M_BIAS2] = block_norm(Vb, C * kp, C, 0, 1)[0]
    record_active(W, x, pre, fired, ipar, out_row, Xpr)
    if ipar[I_ERRORS]:
        out_row[M_ERR_TRAIN] = multiclass_error(W, Vb, x, pre, s, Xev, Yev, din, kp, C)
        out_row[M_ERR_TEST] = multiclass_error(W, Vb, x, pre, s, Xte, Yte, din, kp, C)
    return math.isfinite(out_row[M_NORM1]) and math.isfinite(out_row[M_NORM2])


@jit
def apply_multiclass(W, Vb, x, y, pre, g, s, e, ipar, fpar):
    """One step on a given sample (x carries the bias coordinate); returns whether it updated."""
    return multiclass_update(W, Vb, x, y, pre, g, s, e, ipar, fpar[F_LR])[1]


@pjit
def run_multiclass(
    Wm, Wv, scratch, state, steps_done, updates, status, ipar, fpar, Xtr, Ytr, Xev, Yev, Xpr, Xte, Yte, seg_steps, seg_rec, out
):
    """Advance every replica through the segments; ``prange`` over replicas, nothing shared written."""
    R = Wm.shape[0]
    kp = ipar[I_KP]
    cp = (ipar[I_CLASSES] + 7) // 8 * 8
    xo = (ipar[I_DIN] + 7) // 8 * 8
    for r in prange(R):
        if status[r, S_CODE] != OK:
            continue
        W = Wm[r]
        Vb = Wv[r]
        x = scratch[r, 0:xo]
        pre = scratch[r, xo : xo + kp]
        g = scratch[r, xo + kp : xo + 2 * kp]
        fired = scratch[r, xo + 2 * kp : xo + 3 * kp]
        s = scratch[r, xo + 3 * kp : xo + 3 * kp + cp]
        e = scratch[r, xo + 3 * kp + cp : xo + 3 * kp + 2 * cp]
        st = load_state(state[r])
        for seg in range(seg_steps.shape[0]):
            n = seg_steps[seg]
            if n > 0:
                upd, st, ok = multiclass_steps(W, Vb, x, pre, g, s, e, ipar, fpar, Xtr, Ytr, n, steps_done[r], st, status[r])
                updates[r] += upd
                if not ok:
                    break
                steps_done[r] += n
            rec = seg_rec[seg]
            if rec >= 0:
                out[r, rec, M_UPDATES] = updates[r]
                updates[r] = 0
                if not multiclass_record(W, Vb, x, pre, fired, s, ipar, out[r, rec], Xev, Yev, Xpr, Xte, Yte):
                    status[r, S_CODE] = NONFINITE
                    status[r, S_STEP] = steps_done[r]
                    break
        store_state(state[r], st)
