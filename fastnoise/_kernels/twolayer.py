"""Two-layer ReLU network ``N(x) = V . ReLU(M x) + b2`` (paper.md section 1).

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

from .._jit import jit, pjit, prange
from .common import (
    CHECK_EVERY,
    DBL_MAX,
    F_CUBEC,
    F_LR,
    F_P,
    HINGE,
    I_BIAS,
    I_BIASSTEP,
    I_CUBEK,
    I_D,
    I_DATA,
    I_DIN,
    I_ERRORS,
    I_K,
    I_KP,
    I_LOSS,
    I_RENORM,
    I_SPARSE,
    I_TRAINV,
    LOG10_2,
    M_ACT_MEAN,
    M_ACT_MIN,
    M_BIAS1,
    M_BIAS2,
    M_DEAD,
    M_ERR_TEST,
    M_ERR_TRAIN,
    M_LOG1,
    M_LOG2,
    M_NORM1,
    M_NORM2,
    M_UPDATES,
    NONFINITE,
    OK,
    RENORM_BELOW,
    S_CODE,
    S_LOG2,
    S_STEP,
    UNDERFLOW,
    UNDERFLOW_PRODUCT,
    block_max_abs,
    block_norm,
    sigmoid,
)
from .draws import BASIS, draw_sample, load_state, store_state

# Hidden layers up to this many weights (32 KiB, inside L1) take their rows four at a time.
BLOCK_ROWS_MAX = 4096


@jit
def forward(W, x, din, kp, pre):
    """pre[i] = sum_j W[j, i] * x[j] (the order of additions depends only on din * kp)."""
    if din * kp <= BLOCK_ROWS_MAX:
        forward_rows4(W, x, din, kp, pre)
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


@jit
def forward_sparse(W, x, din, kp, pre):
    """The same sum, skipping rows whose input is 0 (exact: they add +-0); for sparse inputs."""
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


@jit
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


@jit
def output(V, pre, kp, b2):
    """b2 + sum_i V[i] * ReLU(pre[i]), in 8 interleaved partial sums (kp is a multiple of 8)."""
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


@jit
def layer_max(W, Vb, din, k, kp):
    """(max |M|, max |(V, b2)|) of one replica's weights."""
    mw = block_max_abs(W.reshape(W.size), 0, k, kp, din)
    mv = block_max_abs(Vb, 0, k, 0, 1)
    b2 = abs(Vb[kp])
    return mw, (mv if mv >= b2 else b2)


@jit
def _rescale(W, Vb, din, kp, c):
    for j in range(din):
        wj = W[j]
        for i in range(kp):
            wj[i] *= c
    for i in range(kp + 1):
        Vb[i] *= c


@jit
def twolayer_update(W, Vb, x, j, y, pre, g, ipar, h):
    """One SGD step on the sample (x, y) (``j >= 0``: x is e_j); returns (N(x), h*y*s).

    Forward with the weights before the step, then, if the scale ``h*y*s`` is non-zero:
    g = h*y*s*V on the firing units (M_i.x >= 0), V += h*y*s*ReLU(M x), b2 += h*y*s (bias),
    M_i += g_i * x.
    """
    d = ipar[I_D]
    din = ipar[I_DIN]
    kp = ipar[I_KP]
    train_v = ipar[I_TRAINV] != 0
    bias_step = ipar[I_BIAS] != 0 and ipar[I_BIASSTEP] != 0
    bias_row = d if ipar[I_BIAS] != 0 else -1
    V = Vb[0:kp]
    sparse = ipar[I_SPARSE] != 0
    if j >= 0:
        forward_onehot(W, j, bias_row, kp, pre)
    elif sparse:
        forward_sparse(W, x, din, kp, pre)
    else:
        forward(W, x, din, kp, pre)
    out = output(V, pre, kp, Vb[kp])
    if ipar[I_LOSS] == HINGE:
        s = 1.0 if y * out <= 0.0 else 0.0
    else:
        s = sigmoid(-y * out)
    hy = h * y * s
    if hy != 0.0 and abs(out) <= DBL_MAX:
        for i in range(kp):
            g[i] = hy * V[i] if pre[i] >= 0.0 else 0.0
        if train_v:
            for i in range(kp):
                pi = pre[i]
                V[i] += hy * (pi if pi > 0.0 else 0.0)
            if bias_step:
                Vb[kp] += hy
        if j >= 0:
            wj = W[j]
            for i in range(kp):
                wj[i] += g[i]
            if bias_step:
                wb = W[bias_row]
                for i in range(kp):
                    wb[i] += g[i]
        else:
            rows = din if (bias_step or bias_row < 0) else d
            if sparse:
                for jj in range(rows):
                    xj = x[jj]
                    if xj != 0.0:  # exact: adding g * 0 changes nothing
                        wj = W[jj]
                        for i in range(kp):
                            wj[i] += g[i] * xj
            else:
                for jj in range(rows):
                    xj = x[jj]
                    wj = W[jj]
                    for i in range(kp):
                        wj[i] += g[i] * xj
    return out, hy


@jit
def apply_twolayer(W, Vb, x, y, pre, g, ipar, fpar):
    """One step on a given sample (x carries the bias coordinate); returns N(x) before the step."""
    return twolayer_update(W, Vb, x, -1, y, pre, g, ipar, fpar[F_LR])[0]


@jit
def twolayer_steps(W, Vb, x, pre, g, ipar, fpar, X, Y, nsteps, t0, st, status):
    """Run ``nsteps`` SGD steps from global step ``t0``; returns (updates, st, ok)."""
    d = ipar[I_D]
    din = ipar[I_DIN]
    k = ipar[I_K]
    kp = ipar[I_KP]
    data = ipar[I_DATA]
    cube_k = ipar[I_CUBEK]
    renorm = ipar[I_RENORM] != 0
    onehot = data == BASIS
    h = fpar[F_LR]
    p = fpar[F_P]
    cube_c = fpar[F_CUBEC]
    upd = 0
    for t in range(nsteps):
        j, _, y, st = draw_sample(x, d, data, X, Y, cube_c, cube_k, p, st)
        out, hy = twolayer_update(W, Vb, x, j if onehot else -1, y, pre, g, ipar, h)
        if not abs(out) <= DBL_MAX:
            status[S_CODE] = NONFINITE
            status[S_STEP] = t0 + t
            return upd, st, False
        if hy != 0.0:
            upd += 1
        if (t0 + t + 1) % CHECK_EVERY == 0:
            mw, mv = layer_max(W, Vb, din, k, kp)
            if renorm:
                m = mw if mw >= mv else mv
                if 0.0 < m < RENORM_BELOW:
                    e = math.frexp(m)[1]
                    c = math.ldexp(1.0, -e)
                    _rescale(W, Vb, din, kp, c)
                    status[S_LOG2] -= e
                    mw *= c
                    mv *= c
            if mw > 0.0 and mv > 0.0 and mw * mv < UNDERFLOW_PRODUCT:
                status[S_CODE] = UNDERFLOW
                status[S_STEP] = t0 + t + 1
                return upd, st, False
    return upd, st, True


@jit
def _load_x(x, Xs, s, d):
    for i in range(d):
        x[i] = Xs[s, i]


@jit
def twolayer_error(W, Vb, x, pre, Xs, Ys, din, kp):
    """Fraction of (Xs, Ys) with y * N(x) <= 0 (ties count as errors)."""
    n = Xs.shape[0]
    if n == 0:
        return np.nan
    V = Vb[0:kp]
    wrong = 0
    for s in range(n):
        _load_x(x, Xs, s, Xs.shape[1])
        forward(W, x, din, kp, pre)
        if Ys[s] * output(V, pre, kp, Vb[kp]) <= 0.0:
            wrong += 1
    return wrong / n


@jit
def _scaled(nrm, lg, log2):
    if log2 == 0:
        return nrm, lg
    return math.ldexp(nrm, -log2), lg - log2 * LOG10_2


@jit
def record_active(W, x, pre, fired, ipar, out_row, Xpr):
    """active_mean, active_min and dead on the probe set: unit i is active on x when M_i . x > 0."""
    d = ipar[I_D]
    din = ipar[I_DIN]
    k = ipar[I_K]
    kp = ipar[I_KP]
    npr = Xpr.shape[0]
    for i in range(kp):
        fired[i] = 0.0
    total = 0
    least = k
    for s in range(npr):
        _load_x(x, Xpr, s, d)
        forward(W, x, din, kp, pre)
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
    out_row[M_ACT_MEAN] = total / npr
    out_row[M_ACT_MIN] = least
    out_row[M_DEAD] = k - nfired


@jit
def twolayer_record(W, Vb, x, pre, fired, ipar, log2, out_row, Xev, Yev, Xpr, Xte, Yte):
    d = ipar[I_D]
    din = ipar[I_DIN]
    k = ipar[I_K]
    kp = ipar[I_KP]
    flat = W.reshape(W.size)
    n1, l1 = block_norm(flat, 0, k, kp, din)
    nv, lv = block_norm(Vb, 0, k, 0, 1)
    b2 = abs(Vb[kp])
    if b2 == 0.0:
        n2, l2 = nv, lv
    else:
        n2 = math.hypot(nv, b2)
        l2 = math.log10(n2)
    out_row[M_NORM1], out_row[M_LOG1] = _scaled(n1, l1, log2)
    out_row[M_NORM2], out_row[M_LOG2] = _scaled(n2, l2, log2)
    if ipar[I_BIAS]:
        out_row[M_BIAS1] = _scaled(block_norm(flat, d * kp, k, 0, 1)[0], 0.0, log2)[0]
        out_row[M_BIAS2] = _scaled(b2, 0.0, log2)[0]
    record_active(W, x, pre, fired, ipar, out_row, Xpr)
    if ipar[I_ERRORS]:
        out_row[M_ERR_TRAIN] = twolayer_error(W, Vb, x, pre, Xev, Yev, din, kp)
        out_row[M_ERR_TEST] = twolayer_error(W, Vb, x, pre, Xte, Yte, din, kp)
    return math.isfinite(n1) and math.isfinite(n2)


@pjit
def run_twolayer(
    Wm, Wv, scratch, state, steps_done, updates, status, ipar, fpar, Xtr, Ytr, Xev, Yev, Xpr, Xte, Yte, seg_steps, seg_rec, out
):
    """Advance every replica through the segments; ``prange`` over replicas, nothing shared written."""
    R = Wm.shape[0]
    kp = ipar[I_KP]
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
        st = load_state(state[r])
        for s in range(seg_steps.shape[0]):
            n = seg_steps[s]
            if n > 0:
                upd, st, ok = twolayer_steps(W, Vb, x, pre, g, ipar, fpar, Xtr, Ytr, n, steps_done[r], st, status[r])
                updates[r] += upd
                if not ok:
                    break
                steps_done[r] += n
            rec = seg_rec[s]
            if rec >= 0:
                out[r, rec, M_UPDATES] = updates[r]
                updates[r] = 0
                if not twolayer_record(W, Vb, x, pre, fired, ipar, status[r, S_LOG2], out[r, rec], Xev, Yev, Xpr, Xte, Yte):
                    status[r, S_CODE] = NONFINITE
                    status[r, S_STEP] = steps_done[r]
                    break
        store_state(state[r], st)
