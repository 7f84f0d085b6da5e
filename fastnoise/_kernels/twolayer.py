"""Two-layer ReLU network ``N(x) = V . ReLU(M x) + b2`` (docs/model.md section 1).

With a bias, x carries a last coordinate 1 (so ``M[:, d]`` is the hidden bias B1) and ``b2`` is
the output bias; without one, ``b2`` stays 0. Rules, all with the values *before* the step:
hinge, only when ``y*N(x) <= 0``; logistic, every step scaled by ``s = sigmoid(-y*N(x))``:
``V += h*y*s*ReLU(M x)``, ``b2 += h*y*s`` and, for each unit with ``M_i . x >= 0``,
``M_i += h*y*s*v_i*x``. With ``train_v = 0`` (the sparsification setting) V and b2 stay fixed.

Memory layout (``kp`` = width rounded up to 8; padded units have zero weights, never contribute,
and stay zero). Each replica owns its own rows, padded so that no two replicas share a cache line:
``Wm[r, j, i] = M[i, j]`` for ``j < din`` (hidden weights stored transposed, so that every inner
loop runs over hidden units: contiguous, vectorisable, no reductions; row ``din`` is padding);
``Wv[r, 0:kp]`` = V and ``Wv[r, kp]`` = b2; scratch row: ``x[0:dinp]``, ``pre``, ``g``, ``fired``
(``kp`` each). Indices into 2-D rows (``W[j, i]``) rather than computed flat offsets let LLVM drop
Numba's negative-index wraparound and vectorise the loops over ``i``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .common import (
    DBL_MAX,
    S_LOG2,
    block_max_abs,
    block_norm,
    scaled,
)
from .draws import sample_binary
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
from .vec import (
    COMPILED,
    forward_rows1_vec,
    forward_rows4_vec,
    forward_sparse_vec,
    output_vec,
    rank1_forward_rows1_vec,
    rank1_forward_rows4_vec,
    rank1_forward_sparse_vec,
    rank1_sparse_vec,
    rank1_vec,
)

# Rebound per Spec by the driver builder (see driver.py): decided when the loop compiles.
LOSS_SCALE = None  # the loss's scale s (the step moves by h*y*s)
ONEHOT = False
SPARSE = False

# Hidden layers up to this many weights (32 KiB, inside L1) take their rows four at a time.
BLOCK_ROWS_MAX = 4096


@jit(inline="always")
def forward(W, x, din, kp, pre):
    """pre[i] = sum_j W[j, i] * x[j] (the order of additions depends only on din * kp).

    Compiled, the register-blocked twins in :mod:`.vec` do the same additions (bit for bit).
    Inlined into its callers, as :func:`output` is: two calls fewer per step (measured at width
    100 with bench/paired.py: 0.975 of the step's time).
    """
    if din * kp <= BLOCK_ROWS_MAX:
        if COMPILED:
            forward_rows4_vec(W, x, din, kp, pre)
        else:
            forward_rows4(W, x, din, kp, pre)
    elif COMPILED:
        forward_rows1_vec(W, x, din, kp, pre)
    else:
        forward_rows1(W, x, din, kp, pre)


@jit
def forward_rows1(W, x, din, kp, pre):
    """pre[i] = sum_j W[j, i] * x[j], accumulated over j in order (streams large layers from L2)."""
    x0 = x[0]
    w0 = W[0]
    for i in range(kp):
        pre[i] = w0[i] * x0
    for j in range(1, din):
        xj = x[j]
        wj = W[j]
        for i in range(kp):
            pre[i] += wj[i] * xj


@jit(inner=True)
def forward_sparse(W, x, din, kp, pre):
    """The same sum, skipping rows whose input is 0 (exact: they add +-0); for sparse inputs.

    Compiled, :func:`.vec.forward_sparse_vec` does the same additions (bit for bit).
    """
    if COMPILED:
        forward_sparse_vec(W, x, din, kp, pre)
    else:
        forward_sparse_loop(W, x, din, kp, pre)


@jit
def forward_sparse_loop(W, x, din, kp, pre):
    """:func:`forward_sparse` as a plain loop (interpreted runs)."""
    for i in range(kp):
        pre[i] = 0.0
    for j in range(din):
        xj = x[j]
        if xj != 0.0:
            wj = W[j]
            for i in range(kp):
                pre[i] += wj[i] * xj


@jit
def forward_rows4(W, x, din, kp, pre):
    """pre[i] = sum_j W[j, i] * x[j]: rows four at a time, ((a + b) + (c + d)) added to pre.

    For layers that fit in L1, blocking the rows quarters the loads and stores of ``pre``
    (measured: 395 -> 350 ns per step at width 100; slower from width 400 up).
    """
    for i in range(kp):
        pre[i] = 0.0
    j = 0
    while j + 4 <= din:
        x0 = x[j]
        x1 = x[j + 1]
        x2 = x[j + 2]
        x3 = x[j + 3]
        w0 = W[j]
        w1 = W[j + 1]
        w2 = W[j + 2]
        w3 = W[j + 3]
        for i in range(kp):
            pre[i] += (w0[i] * x0 + w1[i] * x1) + (w2[i] * x2 + w3[i] * x3)
        j += 4
    while j < din:
        xj = x[j]
        wj = W[j]
        for i in range(kp):
            pre[i] += wj[i] * xj
        j += 1


@jit(inner=True)
def forward_onehot(W, j, bias_row, kp, pre):
    """The same sum for x = e_j (plus the bias coordinate): only rows j and ``bias_row`` (if >= 0)."""
    wj = W[j]
    if bias_row >= 0:
        wb = W[bias_row]
        for i in range(kp):
            pre[i] = wj[i] + wb[i]
    else:
        for i in range(kp):
            pre[i] = wj[i]


@jit(inline="always")
def output(V, pre, kp, b2):
    """b2 + sum_i V[i] * ReLU(pre[i]), in 8 interleaved partial sums (kp is a multiple of 8).

    Compiled, :func:`.vec.output_vec` does the same additions (bit for bit).
    """
    if COMPILED:
        return output_vec(V, pre, kp, b2)
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
        o0 += V[i] * (p0 if p0 > 0.0 else 0.0)
        o1 += V[i + 1] * (p1 if p1 > 0.0 else 0.0)
        o2 += V[i + 2] * (p2 if p2 > 0.0 else 0.0)
        o3 += V[i + 3] * (p3 if p3 > 0.0 else 0.0)
        o4 += V[i + 4] * (p4 if p4 > 0.0 else 0.0)
        o5 += V[i + 5] * (p5 if p5 > 0.0 else 0.0)
        o6 += V[i + 6] * (p6 if p6 > 0.0 else 0.0)
        o7 += V[i + 7] * (p7 if p7 > 0.0 else 0.0)
    return b2 + (((o0 + o1) + (o2 + o3)) + ((o4 + o5) + (o6 + o7)))


@jit(inner=True)
def layer_max(W, Vb, din, k, kp):
    """(max |M|, max |(V, b2)|) of one replica's weights."""
    mw = block_max_abs(W.reshape(W.size), 0, k, kp, din)
    mv = block_max_abs(Vb, 0, k, 0, 1)
    b2 = abs(Vb[kp])
    return mw, (mv if mv >= b2 else b2)


@jit(inner=True)
def _rescale(W, Vb, din, kp, c):
    for j in range(din):
        wj = W[j]
        for i in range(kp):
            wj[i] *= c
    for i in range(kp + 1):
        Vb[i] *= c


def view(arrays, scratch, r, P):
    """(x, W, Vb, pre, g, fired) of replica r."""
    pre0, g0, f0, end, _, _ = net_scratch(P.din, P.kp, 2)
    row = scratch[r]
    return row[0:pre0], arrays[0][r], arrays[1][r], row[pre0:g0], row[g0:f0], row[f0:end]


def evaluate(j, P, x, W, Vb, pre, g, fired):
    """N(x) with the weights before the step (with ONEHOT, x is e_j); the pre-activations stay in ``pre``."""
    kp = P.kp
    # The input's path, written out rather than in a helper: a helper that calls the forward
    # functions keeps one reference-count pair per array around each call (measured +12 % per step).
    if ONEHOT:
        forward_onehot(W, j, P.d if P.bias else -1, kp, pre)
    elif SPARSE:
        forward_sparse(W, x, P.din, kp, pre)
    else:
        forward(W, x, P.din, kp, pre)
    return output(Vb, pre, kp, Vb[kp])  # V is Vb[0:kp], used in place: a slice costs a reference-count pair per step


def rule_scale(y, out, P, h):
    """The step's scale h*y*s for the sample's label y and output ``out`` (0.0: no update, whatever the loss)."""
    return h * y * LOSS_SCALE(y, out, P)


@jit(inline="always")
def output_layer_step(hy, P, Vb, pre, g):
    """g = hy*V on the firing units (M_i.x >= 0), then V += hy*ReLU(M x) and b2 += hy (bias), if V is trained."""
    kp = P.kp
    for i in range(kp):
        g[i] = hy * Vb[i] if pre[i] >= 0.0 else 0.0
    if P.train_v:
        for i in range(kp):
            pi = pre[i]
            Vb[i] += hy * (pi if pi > 0.0 else 0.0)
        if P.bias:
            Vb[kp] += hy


def learn(j, y, out, P, h, x, W, Vb, pre, g, fired):
    """The rule for the sample (x, y) whose output is ``out`` (finite, ``pre`` from :func:`evaluate`): the scale h*y*s.

    If it is non-zero: g = h*y*s*V on the firing units (M_i.x >= 0), V += h*y*s*ReLU(M x),
    b2 += h*y*s (bias), M_i += g_i * x.
    """
    hy = rule_scale(y, out, P, h)
    if hy != 0.0:
        output_layer_step(hy, P, Vb, pre, g)
        first_layer_update(x, W, g, P, j, P.kp)
    return hy


def learn_evaluate(j, y, out, P, h, nxt, xn, x, W, Vb, pre, g, fired):
    """:func:`learn` for (x, y) and, if ``nxt`` and the step updates, :func:`evaluate` on the next input ``xn``.

    Returns (h*y*s, whether the next input was evaluated, its N(xn) if so, else ``out``).
    Compiled, with dense or sparse inputs, an updating step's first-layer update and the next
    forward pass are one pass over the hidden weights (:func:`.vec.rank1_forward_rows4_vec` or
    ``rows1``, as :func:`forward` chooses; ``sparse``, on the rows either input lights, for
    :func:`forward_sparse`): each row is updated and, still in registers, multiplied into the next
    pre-activations, so the weights are read and written once instead of twice read. The same
    operations in the same order as learn then evaluate: the same weights and outputs bit for bit.
    A step that does not update leaves the next evaluate to the step loop.
    """
    hy = rule_scale(y, out, P, h)
    if hy != 0.0:
        output_layer_step(hy, P, Vb, pre, g)
        if nxt and COMPILED and not ONEHOT:
            kp = P.kp
            if SPARSE:
                rank1_forward_sparse_vec(W, x, g, xn, P.din, kp, pre)
            elif P.din * kp <= BLOCK_ROWS_MAX:
                rank1_forward_rows4_vec(W, x, g, xn, P.din, kp, pre)
            else:
                rank1_forward_rows1_vec(W, x, g, xn, P.din, kp, pre)
            return hy, True, output(Vb, pre, kp, Vb[kp])
        first_layer_update(x, W, g, P, j, P.kp)
    return hy, False, out


def update(j, y, P, h, x, W, Vb, pre, g, fired):
    """One SGD step on the sample (x, y) (with ONEHOT, x is e_j); returns (N(x) before the step, the scale h*y*s).

    :func:`evaluate`, then, if N(x) is finite, :func:`learn`.
    """
    out = evaluate(j, P, x, W, Vb, pre, g, fired)
    if not abs(out) <= DBL_MAX:
        return out, 0.0
    return out, learn(j, y, out, P, h, x, W, Vb, pre, g, fired)


def first_layer_update(x, W, g, P, j, kp):
    """M_i += g_i * x for the first hidden layer, by the input's path: one-hot (x = e_j), sparse or dense."""
    if ONEHOT:
        wj = W[j]
        for i in range(kp):
            wj[i] += g[i]
        if P.bias:
            wb = W[P.d]
            for i in range(kp):
                wb[i] += g[i]
    elif SPARSE and COMPILED:
        rank1_sparse_vec(W, x, P.din, kp, g)
    elif SPARSE:
        for jj in range(P.din):
            xj = x[jj]
            if xj != 0.0:  # exact: adding g * 0 changes nothing
                wj = W[jj]
                for i in range(kp):
                    wj[i] += g[i] * xj
    elif COMPILED:
        rank1_vec(W, x, P.din, kp, g)
    else:
        for jj in range(P.din):
            xj = x[jj]
            wj = W[jj]
            for i in range(kp):
                wj[i] += g[i] * xj


def check(P, status, x, W, Vb, pre, g, fired):
    """Renormalise by a power of two when every weight is tiny (if exact), then the underflow test."""
    mw, mv = layer_max(W, Vb, P.din, P.k, P.kp)
    if P.renorm:
        m = mw if mw >= mv else mv
        if 0.0 < m < P.renorm_below:
            e = math.frexp(m)[1]
            c = math.ldexp(1.0, -e)
            _rescale(W, Vb, P.din, P.kp, c)
            status[S_LOG2] -= e
            mw *= c
            mv *= c
    return not (mw > 0.0 and mv > 0.0 and mw * mv < P.underflow_product)


@jit(inner=True)
def output_norm(Vb, k, kp):
    """(norm, log10 norm, |b2|) of the output layer (V, b2) of a binary net."""
    nv, lv = block_norm(Vb, 0, k, 0, 1)
    b2 = abs(Vb[kp])
    if b2 == 0.0:
        return nv, lv, b2
    n2 = math.hypot(nv, b2)
    return n2, math.log10(n2), b2


@jit(inner=True)
def _load_x(x, Xs, s, d):
    for i in range(d):
        x[i] = Xs[s, i]


@jit(inline="always")
def record_forward(W, x, din, kp, pre, sparse):
    """The records' forward pass: :func:`forward_sparse` if ``sparse`` (see :func:`sparse_records`), else :func:`forward`."""
    if sparse:
        forward_sparse(W, x, din, kp, pre)
    else:
        forward(W, x, din, kp, pre)


@jit(inner=True)
def sparse_records(din, kp, n1):
    """Whether a record of sparse inputs may skip their zero rows: the same errors and counts bit for bit.

    :func:`forward` adds the rows in order from the first product (``forward_rows1``) when the
    layer is too large to block (``din * kp > BLOCK_ROWS_MAX``); :func:`forward_sparse` adds the
    same non-zero products in the same order from 0.0. With finite weights (``n1``, their norm,
    is finite) a skipped row adds +-0, so the two pre-activations differ at most in the sign of a
    zero, which no record reads (units fire on ``pre > 0``, errors count ``y * N <= 0``, classes
    win on ``>``). Measured on MNIST at width 256 with the default sets (10,000 training images
    for error_train, the 10,000 test images, 1,000 probe images): 73 ms per record (with
    :mod:`.vec`'s lit-row lists; 94 ms without) against 480 ms with the dense pass (Intel Xeon,
    median of 3).
    """
    return din * kp > BLOCK_ROWS_MAX and math.isfinite(n1)


@jit(inner=True)
def twolayer_error(W, Vb, x, pre, Xs, Ys, din, kp, sparse):
    """Fraction of (Xs, Ys) with y * N(x) <= 0 (ties count as errors); ``sparse``: :func:`record_forward`'s."""
    n = Xs.shape[0]
    if n == 0:
        return np.nan
    V = Vb[0:kp]
    wrong = 0
    for s in range(n):
        _load_x(x, Xs, s, Xs.shape[1])
        record_forward(W, x, din, kp, pre, sparse)
        if Ys[s] * output(V, pre, kp, Vb[kp]) <= 0.0:
            wrong += 1
    return wrong / n


@jit(inner=True)
def record_active(W, x, pre, fired, d, din, k, kp, Xpr, out_row, col, sparse):
    """active_mean, active_min and dead on the probe set into ``out_row[col:col + 3]``.

    Unit i is active on x when M_i . x > 0 (pre-activations of the first hidden layer);
    ``sparse``: :func:`record_forward`'s.
    """
    npr = Xpr.shape[0]
    for i in range(kp):
        fired[i] = 0.0
    total = 0
    least = k
    for s in range(npr):
        _load_x(x, Xpr, s, d)
        record_forward(W, x, din, kp, pre, sparse)
        c = 0
        for i in range(k):
            if pre[i] > 0.0:
                c += 1
                fired[i] = 1.0
        total += c
        if c < least:
            least = c
    nfired = 0
    for i in range(k):
        if fired[i] != 0.0:
            nfired += 1
    out_row[col] = total / npr
    out_row[col + 1] = least
    out_row[col + 2] = k - nfired


def record(P, D, log2, out_row, x, W, Vb, pre, g, fired):
    d = P.d
    din = P.din
    k = P.k
    kp = P.kp
    flat = W.reshape(W.size)
    n1, l1 = block_norm(flat, 0, k, kp, din)
    n2, l2, b2 = output_norm(Vb, k, kp)
    out_row[M_NORM1], out_row[M_LOG1] = scaled(n1, l1, log2)
    out_row[M_NORM2], out_row[M_LOG2] = scaled(n2, l2, log2)
    if P.bias:
        out_row[M_BIAS1] = scaled(block_norm(flat, d * kp, k, 0, 1)[0], 0.0, log2)[0]
        out_row[M_BIAS2] = scaled(b2, 0.0, log2)[0]
    sparse = SPARSE and sparse_records(din, kp, n1)
    record_active(W, x, pre, fired, d, din, k, kp, D.Xpr, out_row, M_ACT_MEAN, sparse)
    if P.errors:
        out_row[M_ERR_TRAIN] = twolayer_error(W, Vb, x, pre, D.Xev, D.Yev, din, kp, sparse)
        out_row[M_ERR_TEST] = twolayer_error(W, Vb, x, pre, D.Xte, D.Yte, din, kp, sparse)
    return math.isfinite(n1) and math.isfinite(n2)


def output_at(P, w):
    """N(x) for the input in the view x, with :func:`forward` (dense inputs: a task's records, :mod:`.progress`)."""
    x, W, Vb, pre = w[0], w[1], w[2], w[3]
    forward(W, x, P.din, P.kp, pre)
    return output(Vb, pre, P.kp, Vb[P.kp])


def first_layer(P, w):
    """M as stored: unit i's weight on input j is W[j, i] (stride kp)."""
    W = w[1]
    return W.reshape(W.size), P.kp, P.k


MODEL = Model(
    "twolayer",
    views=("x", "W", "Vb", "pre", "g", "fired"),
    view=view,
    sample=sample_binary,
    update=update,
    check=check,
    lr=constant_lr,
    record=record,
    helpers=(first_layer_update, rule_scale),
    evaluate=evaluate,
    learn=learn,
    inline=(first_layer_update, rule_scale),
    learn_evaluate=learn_evaluate,
    output_at=output_at,
    first_layer=first_layer,
)
