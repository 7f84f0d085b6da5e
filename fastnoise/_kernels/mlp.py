"""Deep ReLU / leaky-ReLU networks ``N(x) = W_L phi(W_{L-1} ... phi(W_1 x))`` (``--model mlp``).

Layers l = 1..L (L is the output layer, one unit); with a bias every layer's input carries a
constant last coordinate 1 (the augmented-x convention), so a layer's bias is its last input row.
Rules, all with the values *before* the step: hinge, only when ``y*N(x) <= 0``; logistic, every
step scaled by ``s = sigmoid(-y*N(x))``. With ``hy = h*y*s``: the output layer moves by
``hy * a_{L-1}``; backwards, ``delta_{L-1} = hy * V * phi'(z_{L-1})``, ``delta_{l-1} =
phi'(z_{l-1}) * (W_l^T delta_l)`` (W_l before the step) and layer l moves by ``outer(delta_l,
a_{l-1})``. A unit fires when its pre-activation is >= 0; ``phi'`` is 1 there and 0 (ReLU) or
``leak`` (leaky) below. Untrained layers (row ``G_TRAINED`` of the layer table) pass delta through
and never move.

The first hidden layer and the output are the two-layer kernel's own functions (forward passes,
one-hot and sparse paths, the 8-way output sum), so a one-hidden-layer mlp is the two-layer net bit
for bit. Layout: :mod:`.layout` (hidden layers stacked in ``W``, output in ``Vb``, a scratch
block ``S`` with rows x, then pre/act/delta/fired of each hidden layer; the layer table ``G``:
widths, padded widths, first rows, trained flags).

Exact rescaling (hinge, no bias, every layer trained): a depth-L net is L-homogeneous, so scaling
all weights by c maps a trajectory to a trajectory only if the step is scaled too: weights c*W
with step ``h * c**(2 - L)`` follow exactly the image of (W, h) (every layer's update scales by c).
With c a power of two this is exact in floating point, so the kernel renormalises by powers of two
and carries ``log2 c``; the step in stored units is ``ldexp(h, log2c * (2 - L))`` (for L = 2, h
itself). It stops with UNDERFLOW when that step would leave the normal range.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .common import (
    DBL_MAX,
    LEAKY,
    RELU,
    RENORM_BELOW,
    S_LOG2,
    UNDERFLOW_PRODUCT,
    block_max_abs,
    block_norm,
    scaled,
)
from .draws import sample_binary
from .driver import Model
from .layout import (
    G_DIMS,
    G_KPS,
    G_ROFF,
    G_TRAINED,
    M_ACT_MEAN,
    M_ERR_TEST,
    M_ERR_TRAIN,
    R_ACT,
    R_DELTA,
    R_FIRED,
    R_PRE,
    col_active,
    col_bias,
    col_log,
    col_norm,
    mlp_row,
)
from .twolayer import (
    _load_x,
    first_layer_update,
    forward,
    forward_onehot,
    forward_sparse,
    output,
    output_norm,
    record_forward,
    sparse_records,
)
from .vec import COMPILED, output_leaky_vec

# Rebound per Spec by the driver builder (see driver.py): decided when the loop compiles.
LOSS_SCALE = None  # the loss's scale s (the step moves by h*y*s)
ACT = RELU
ONEHOT = False
SPARSE = False


@jit
def output_leaky(V, pre, kp, b, leak):
    """b + sum_i V[i] * leaky(pre[i]), in the two-layer kernel's 8 interleaved partial sums.

    Compiled, :func:`.vec.output_leaky_vec` does the same additions (bit for bit).
    """
    if COMPILED:
        return output_leaky_vec(V, pre, kp, b, leak)
    o0 = o1 = o2 = o3 = o4 = o5 = o6 = o7 = 0.0
    for i in range(0, kp, 8):
        p0 = pre[i]
        p1 = pre[i + 1]
        p2 = pre[i + 2]
        p3 = pre[i + 3]
        p4 = pre[i + 4]
        p5 = pre[i + 5]
        p6 = pre[i + 6]
        p7 = pre[i + 7]
        o0 += V[i] * (p0 if p0 > 0.0 else leak * p0)
        o1 += V[i + 1] * (p1 if p1 > 0.0 else leak * p1)
        o2 += V[i + 2] * (p2 if p2 > 0.0 else leak * p2)
        o3 += V[i + 3] * (p3 if p3 > 0.0 else leak * p3)
        o4 += V[i + 4] * (p4 if p4 > 0.0 else leak * p4)
        o5 += V[i + 5] * (p5 if p5 > 0.0 else leak * p5)
        o6 += V[i + 6] * (p6 if p6 > 0.0 else leak * p6)
        o7 += V[i + 7] * (p7 if p7 > 0.0 else leak * p7)
    return b + (((o0 + o1) + (o2 + o3)) + ((o4 + o5) + (o6 + o7)))


def view(arrays, scratch, r, P):
    """(x, W, Vb, S, G) of replica r: input row, stacked hidden layers, output layer, scratch block,
    and the layer table G shared by all replicas (layout.Geometry.layer_table)."""
    S = scratch[r]
    return S[0], arrays[0][r], arrays[1][r], S, arrays[2]


def activate(pre, a, n, leak):
    """a[i] = phi(pre[i]) for the n real units (a[n] stays the bias input 1)."""
    if ACT == LEAKY:
        for i in range(n):
            pi = pre[i]
            a[i] = pi if pi > 0.0 else leak * pi
    else:
        for i in range(n):
            pi = pre[i]
            a[i] = pi if pi > 0.0 else 0.0


def hidden_forward(W, S, G, P, l):
    """pre-activations of hidden layer l >= 2 from the activations of layer l - 1."""
    n_in = G[G_DIMS, l - 1]
    a = S[mlp_row(l - 1, R_ACT)]
    activate(S[mlp_row(l - 1, R_PRE)], a, n_in, P.leak)
    o = G[G_ROFF, l - 1]
    rows = n_in + (1 if P.bias else 0)
    forward(W[o : o + rows], a, rows, G[G_KPS, l - 1], S[mlp_row(l, R_PRE)])


def net_output(Vb, S, G, P):
    """N(x) from the last hidden layer's pre-activations."""
    L = P.depth
    kp = G[G_KPS, L - 2]
    pre = S[mlp_row(L - 1, R_PRE)]
    if ACT == LEAKY:  # Vb[0:kp] is V, read in place (as in twolayer.update)
        return output_leaky(Vb, pre, kp, Vb[kp], P.leak)
    return output(Vb, pre, kp, Vb[kp])


def record_net(x, W, Vb, S, G, P, sparse):
    """N(x) for the records (errors, probes); ``sparse``: the first layer skips zero inputs (:func:`.twolayer.sparse_records`).

    The deeper layers see the same activations up to the sign of a zero either way, so they
    give the same outputs and unit counts.
    """
    record_forward(W, x, P.din, G[G_KPS, 0], S[mlp_row(1, R_PRE)], sparse)
    for l in range(2, P.depth):
        hidden_forward(W, S, G, P, l)
    return net_output(Vb, S, G, P)


def update(j, y, P, h, x, W, Vb, S, G):
    """One SGD step on the sample (x, y) (with ONEHOT, x is e_j); returns (N(x), the scale h*y*s: 0.0 when nothing moved)."""
    L = P.depth
    kp1 = G[G_KPS, 0]
    pre1 = S[mlp_row(1, R_PRE)]
    if ONEHOT:  # as in twolayer.update (not a helper: see there)
        forward_onehot(W, j, P.d if P.bias else -1, kp1, pre1)
    elif SPARSE:
        forward_sparse(W, x, P.din, kp1, pre1)
    else:
        forward(W, x, P.din, kp1, pre1)
    for l in range(2, L):
        hidden_forward(W, S, G, P, l)
    out = net_output(Vb, S, G, P)
    hy = h * y * LOSS_SCALE(y, out, P)  # 0.0: no update, whatever the loss
    if hy != 0.0 and abs(out) <= DBL_MAX:
        backward(x, W, Vb, S, G, P, j, hy)
    return out, hy


def backward(x, W, Vb, S, G, P, j, hy):
    """The update of every trained layer, all from the values before the step."""
    L = P.depth
    leak = P.leak
    kp = G[G_KPS, L - 2]
    pre = S[mlp_row(L - 1, R_PRE)]
    g = S[mlp_row(L - 1, R_DELTA)]
    if ACT == LEAKY:  # Vb[0:kp] is V, used in place (as in twolayer.update)
        for i in range(kp):
            g[i] = hy * Vb[i] if pre[i] >= 0.0 else hy * Vb[i] * leak
    else:
        for i in range(kp):
            g[i] = hy * Vb[i] if pre[i] >= 0.0 else 0.0
    if G[G_TRAINED, L - 1]:
        if ACT == LEAKY:
            for i in range(kp):
                pi = pre[i]
                Vb[i] += hy * (pi if pi > 0.0 else leak * pi)
        else:
            for i in range(kp):
                pi = pre[i]
                Vb[i] += hy * (pi if pi > 0.0 else 0.0)
        if P.bias:
            Vb[kp] += hy
    for l in range(L - 1, 1, -1):
        hidden_backward(W, S, G, P, l)
    if G[G_TRAINED, 0]:
        first_layer_update(x, W, S[mlp_row(1, R_DELTA)], P, j, G[G_KPS, 0])


def hidden_backward(W, S, G, P, l):
    """delta of layer l - 1 from layer l's weights before the step, then layer l's update."""
    n_in = G[G_DIMS, l - 1]
    kp = G[G_KPS, l - 1]
    rows = n_in + (1 if P.bias else 0)
    o = G[G_ROFF, l - 1]
    T = W[o : o + rows]
    delta = S[mlp_row(l, R_DELTA)]
    a = S[mlp_row(l - 1, R_ACT)]
    pre_in = S[mlp_row(l - 1, R_PRE)]
    delta_in = S[mlp_row(l - 1, R_DELTA)]
    for i in range(n_in, G[G_KPS, l - 2]):
        delta_in[i] = 0.0
    train = G[G_TRAINED, l - 1] != 0
    leak = P.leak
    for jj in range(n_in):
        row = T[jj]
        pj = pre_in[jj]
        if pj >= 0.0 or ACT == LEAKY:
            acc = 0.0
            for i in range(kp):
                acc += row[i] * delta[i]
            delta_in[jj] = acc if pj >= 0.0 else leak * acc
        else:
            delta_in[jj] = 0.0
        aj = a[jj]
        if train and aj != 0.0:  # exact: a zero input moves nothing
            for i in range(kp):
                row[i] += delta[i] * aj
    if train and P.bias:
        row = T[n_in]
        for i in range(kp):
            row[i] += delta[i]


# --------------------------------------------------------------------------- checks


@jit(inner=True)
def _layer_max(W, G, P, l):
    """max |weight| of hidden layer l (bias row included)."""
    n_in = G[G_DIMS, l - 1]
    rows = n_in + (1 if P.bias else 0)
    kpmax = W.shape[1]
    return block_max_abs(W.reshape(W.size), G[G_ROFF, l - 1] * kpmax, G[G_DIMS, l], kpmax, rows)


@jit(inner=True)
def _out_max(Vb, P):
    mv = block_max_abs(Vb, 0, P.k, 0, 1)
    b = abs(Vb[P.kp])
    return mv if mv >= b else b


@jit(inner=True)
def _rescale(W, Vb, G, P, c):
    for l in range(1, P.depth):
        o = G[G_ROFF, l - 1]
        rows = G[G_DIMS, l - 1] + (1 if P.bias else 0)
        kp = G[G_KPS, l - 1]
        for jj in range(o, o + rows):
            wj = W[jj]
            for i in range(kp):
                wj[i] *= c
    for i in range(P.kp + 1):
        Vb[i] *= c


def lr(P, status):
    """The step in stored units: h, or h * c**(2 - L) for weights stored c = 2**log2 times larger."""
    if P.depth <= 2 or status[S_LOG2] == 0:
        return P.lr
    return math.ldexp(P.lr, int(status[S_LOG2]) * (2 - P.depth))


def check(P, status, x, W, Vb, S, G):
    """Renormalise by a power of two when every weight is tiny (if exact), then the underflow tests."""
    L = P.depth
    m = _out_max(Vb, P)
    for l in range(1, L):
        ml = _layer_max(W, G, P, l)
        if ml > m:
            m = ml
    if P.renorm and 0.0 < m < RENORM_BELOW:
        e = math.frexp(m)[1]
        c = math.ldexp(1.0, -e)
        _rescale(W, Vb, G, P, c)
        status[S_LOG2] -= e
    prod = 1.0
    positive = True
    for l in range(1, L):
        ml = _layer_max(W, G, P, l)
        positive = positive and ml > 0.0
        prod *= ml
    mv = _out_max(Vb, P)
    positive = positive and mv > 0.0
    prod *= mv
    if positive and prod < UNDERFLOW_PRODUCT:
        return False
    return not (L > 2 and lr(P, status) < np.finfo(np.float64).tiny)


# --------------------------------------------------------------------------- records


def active_counts(x, W, Vb, S, G, P, Xpr, out_row, sparse):
    """Per hidden layer, active units on the probe set (pre-activation > 0), into its columns (``sparse``: see record_net)."""
    L = P.depth
    npr = Xpr.shape[0]
    for l in range(1, L):
        fired = S[mlp_row(l, R_FIRED)]
        for i in range(G[G_KPS, l - 1]):
            fired[i] = 0.0
        c0 = col_active(L, l)
        out_row[c0] = 0.0
        out_row[c0 + 1] = G[G_DIMS, l]
    for s in range(npr):
        _load_x(x, Xpr, s, P.d)
        record_net(x, W, Vb, S, G, P, sparse)
        for l in range(1, L):
            pre = S[mlp_row(l, R_PRE)]
            fired = S[mlp_row(l, R_FIRED)]
            c = 0
            for i in range(G[G_DIMS, l]):
                if pre[i] > 0.0:
                    c += 1
                    fired[i] = 1.0
            c0 = col_active(L, l)
            out_row[c0] += c
            if c < out_row[c0 + 1]:
                out_row[c0 + 1] = c
    for l in range(1, L):
        fired = S[mlp_row(l, R_FIRED)]
        nfired = 0
        for i in range(G[G_DIMS, l]):
            if fired[i] != 0.0:
                nfired += 1
        c0 = col_active(L, l)
        out_row[c0] = out_row[c0] / npr
        out_row[c0 + 2] = G[G_DIMS, l] - nfired
    c0 = col_active(L, 1)
    out_row[M_ACT_MEAN] = out_row[c0]
    out_row[M_ACT_MEAN + 1] = out_row[c0 + 1]
    out_row[M_ACT_MEAN + 2] = out_row[c0 + 2]


def error_rate(x, W, Vb, S, G, P, Xs, Ys, sparse):
    """Fraction of (Xs, Ys) with y * N(x) <= 0 (ties count as errors; ``sparse``: :func:`record_net`'s)."""
    n = Xs.shape[0]
    if n == 0:
        return np.nan
    wrong = 0
    for s in range(n):
        _load_x(x, Xs, s, Xs.shape[1])
        if Ys[s] * record_net(x, W, Vb, S, G, P, sparse) <= 0.0:
            wrong += 1
    return wrong / n


def record(P, D, log2, out_row, x, W, Vb, S, G):
    L = P.depth
    flat = W.reshape(W.size)
    kpmax = W.shape[1]
    finite = True
    sparse = False
    for l in range(1, L):
        n_in = G[G_DIMS, l - 1]
        rows = n_in + (1 if P.bias else 0)
        o = G[G_ROFF, l - 1] * kpmax
        nrm, lg = block_norm(flat, o, G[G_DIMS, l], kpmax, rows)
        finite = finite and math.isfinite(nrm)
        if l == 1:
            sparse = SPARSE and sparse_records(P.din, G[G_KPS, 0], nrm)
        out_row[col_norm(l)], out_row[col_log(l)] = scaled(nrm, lg, log2)
        if P.bias:
            out_row[col_bias(l)] = scaled(block_norm(flat, o + n_in * kpmax, G[G_DIMS, l], 0, 1)[0], 0.0, log2)[0]
    n2, l2, b = output_norm(Vb, P.k, P.kp)
    finite = finite and math.isfinite(n2)
    out_row[col_norm(L)], out_row[col_log(L)] = scaled(n2, l2, log2)
    if P.bias:
        out_row[col_bias(L)] = scaled(b, 0.0, log2)[0]
    active_counts(x, W, Vb, S, G, P, D.Xpr, out_row, sparse)
    if P.errors:
        out_row[M_ERR_TRAIN] = error_rate(x, W, Vb, S, G, P, D.Xev, D.Yev, sparse)
        out_row[M_ERR_TEST] = error_rate(x, W, Vb, S, G, P, D.Xte, D.Yte, sparse)
    return finite


def output_at(P, w):
    """N(x) for the input in the view x (:func:`record_net`, dense: a task's records, :mod:`.progress`)."""
    x, W, Vb, S, G = w
    return record_net(x, W, Vb, S, G, P, False)


def first_layer(P, w):
    """Layer 1 as stored: unit i's weight on input j is W[j, i] (stride kpmax, the layer's rows first)."""
    W, G = w[1], w[4]
    return W.reshape(W.size), W.shape[1], G[G_DIMS, 1]


MODEL = Model(
    "mlp",
    views=("x", "W", "Vb", "S", "G"),
    view=view,
    sample=sample_binary,
    update=update,
    check=check,
    lr=lr,
    record=record,
    helpers=(
        activate,
        hidden_forward,
        net_output,
        record_net,
        backward,
        hidden_backward,
        first_layer_update,
        active_counts,
        error_rate,
    ),
    output_at=output_at,
    first_layer=first_layer,
)
