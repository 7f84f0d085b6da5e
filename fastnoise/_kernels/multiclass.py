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

from .._jit import jit
from .common import DBL_MAX, UNDERFLOW_PRODUCT, block_max_abs, block_norm
from .draws import sample_class
from .driver import Model
from .layout import (
    M_ACT_MEAN,
    M_BIAS1,
    M_BIAS2,
    M_ERR_TEST,
    M_ERR_TRAIN,
    M_LOG1,
    M_LOG2,
    M_NORM1,
    M_NORM2,
    net_scratch,
)
from .loops import constant_lr
from .twolayer import _load_x, forward_sparse, output, record_active, record_forward, sparse_records

LOSS_CLASSES = None  # rebound per Spec by the builder: the loss's C-class error signal


@jit
def scores(W, Vb, x, din, kp, C, pre, s, sparse):
    """pre = M x (``sparse``: :func:`.twolayer.record_forward`'s), then s[c] = V[c] . ReLU(pre) + b[c] for every class."""
    record_forward(W, x, din, kp, pre, sparse)
    for c in range(C):
        s[c] = output(Vb[c * kp : (c + 1) * kp], pre, kp, Vb[C * kp + c])


def view(arrays, scratch, r, P):
    """(x, W, Vb, pre, g, fired, s, e) of replica r."""
    pre0, g0, f0, s0, e0, end = net_scratch(P.din, P.kp, P.classes)
    row = scratch[r]
    return row[0:pre0], arrays[0][r], arrays[1][r], row[pre0:g0], row[g0:f0], row[f0:s0], row[s0:e0], row[e0:end]


def update(j, y, P, h, x, W, Vb, pre, g, fired, s, e):
    """One SGD step on (x, y), y a class index; returns (the largest |score|, 1.0 if it updated else 0.0).

    Image inputs are sparse: the forward pass and the update skip the rows of zero pixels.
    """
    din = P.din
    kp = P.kp
    C = P.classes
    bias = P.bias
    forward_sparse(W, x, din, kp, pre)
    for c in range(C):
        s[c] = output(Vb[c * kp : (c + 1) * kp], pre, kp, Vb[C * kp + c])
    top = 0.0
    for c in range(C):
        if not abs(s[c]) <= top:
            top = abs(s[c])
    if not top <= DBL_MAX:
        return top, 0.0
    if not LOSS_CLASSES(s, y, C, e, P):  # e = the loss's error signal (losses.py)
        return top, 0.0
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
    return top, 1.0


def check(P, status, x, W, Vb, pre, g, fired, s, e):
    """No exact rescaling: stop before the layers' largest weights multiply below 2^-900."""
    mw = block_max_abs(W.reshape(W.size), 0, P.k, P.kp, P.din)
    mv = block_max_abs(Vb, 0, P.classes * P.kp, 0, 1)
    return not (mw > 0.0 and mv > 0.0 and mw * mv < UNDERFLOW_PRODUCT)


@jit(inner=True)
def multiclass_error(W, Vb, x, pre, s, Xs, Ys, din, kp, C, sparse):
    """Fraction of (Xs, Ys) whose first highest-scoring class is not the label (``sparse``: as :func:`scores`)."""
    n = Xs.shape[0]
    if n == 0:
        return np.nan
    wrong = 0
    for r in range(n):
        _load_x(x, Xs, r, Xs.shape[1])
        scores(W, Vb, x, din, kp, C, pre, s, sparse)
        best = 0
        for c in range(1, C):
            if s[c] > s[best]:
                best = c
        if best != np.int64(Ys[r]):
            wrong += 1
    return wrong / n


def record(P, D, log2, out_row, x, W, Vb, pre, g, fired, s, e):
    d = P.d
    din = P.din
    k = P.k
    kp = P.kp
    C = P.classes
    flat = W.reshape(W.size)
    out_row[M_NORM1], out_row[M_LOG1] = block_norm(flat, 0, k, kp, din)
    out_row[M_NORM2], out_row[M_LOG2] = block_norm(Vb, 0, C * kp + C, 0, 1)
    if P.bias:
        out_row[M_BIAS1] = block_norm(flat, d * kp, k, 0, 1)[0]
        out_row[M_BIAS2] = block_norm(Vb, C * kp, C, 0, 1)[0]
    sparse = sparse_records(din, kp, out_row[M_NORM1])  # image inputs: always sparse
    record_active(W, x, pre, fired, d, din, k, kp, D.Xpr, out_row, M_ACT_MEAN, sparse)
    if P.errors:
        out_row[M_ERR_TRAIN] = multiclass_error(W, Vb, x, pre, s, D.Xev, D.Yev, din, kp, C, sparse)
        out_row[M_ERR_TEST] = multiclass_error(W, Vb, x, pre, s, D.Xte, D.Yte, din, kp, C, sparse)
    return math.isfinite(out_row[M_NORM1]) and math.isfinite(out_row[M_NORM2])


MODEL = Model(
    "multiclass",
    views=("x", "W", "Vb", "pre", "g", "fired", "s", "e"),
    view=view,
    sample=sample_class,
    update=update,
    check=check,
    lr=constant_lr,
    record=record,
)
