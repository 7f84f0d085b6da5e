"""Single neuron (perceptron) ``N(x) = V . x``; with a bias, x carries a last coordinate 1.

Rules (docs/model.md section 1; docs/simulates.md): hinge, ``V += h*y*x`` only when ``y*(V.x) <= 0``; logistic,
``V += h*y*sigmoid(-y*V.x)*x`` at every step.

Views of replica r (``w``): ``x`` = scratch row (``x[d] = 1`` for the bias), ``V`` = weights row
``[0:din]`` (``V[d]`` is the bias when there is one).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .common import DBL_MAX, NONFINITE, UNDERFLOW_PRODUCT, block_max_abs, block_norm
from .draws import label_noise, sample_binary, store_state
from .driver import Lanes, Model
from .lanes import LANES, ROW_BITS, ROW_NBITS, lane_normals, lane_normals_fused, lane_state, put_lane_words, vaxpy, vdot
from .layout import M_BIAS1, M_ERR_TEST, M_ERR_TRAIN, M_LOG1, M_NORM1
from .loops import _fail, constant_lr

# Rebound per Spec by the builder: the loss's scale and whether a zero scale means "no update".
LOSS_SCALE = None
LOSS_CONDITIONAL = True
LANE_DRAW = None  # rebound per Spec: the sampler's lane draw (lane_steps_drawn)


@jit
def dot(V, x, n):
    s = 0.0
    for i in range(n):
        s += V[i] * x[i]
    return s


def view(arrays, scratch, r, P):
    return scratch[r], arrays[0][r]


def scale(y, out, P, h):
    """The rule for the output ``out`` = N(x): (whether V moves, the step's scale h*y*s).

    A conditional loss (the hinge) moves V only where its scale is not 0.0; any other moves it
    at every step (``V += 0*x`` where s underflows, as the logistic rule always did).
    """
    s = LOSS_SCALE(y, out, P)
    if LOSS_CONDITIONAL and s == 0.0:
        return False, 0.0
    return True, h * y * s


def evaluate(j, P, x, V):
    """N(x) = V . x with the weights before the step."""
    return dot(V, x, P.din)


def learn(j, y, out, P, h, x, V):
    """The rule for the sample (x, y) whose output is ``out`` (finite): h*y*s, 0.0 when V does not move."""
    go, hy = scale(y, out, P, h)
    if not go:
        return 0.0
    for i in range(P.din):
        V[i] += hy * x[i]
    return hy


def update(j, y, P, h, x, V):
    """One SGD step on the sample (x, y); returns (N(x) before the step, h*y*s: 0.0 when V did not move)."""
    out = evaluate(j, P, x, V)
    if not abs(out) <= DBL_MAX:
        return out, 0.0
    return out, learn(j, y, out, P, h, x, V)


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


def output_at(P, w):
    """N(x) = V . x for the input in the view x (a task's records, :mod:`.progress`)."""
    x, V = w
    return dot(V, x, P.din)


def first_layer(P, w):
    """V as a first layer of one unit: its weight on input j is V[j] (stride 1)."""
    return w[1], 1, 1


# --------------------------------------------------------------------------- replicas in lanes
# The lane block: X (three buffers: the samples of the steps before, at and after the current
# one) and V hold coordinate i of every lane in [i*LANES, (i+1)*LANES) (x[d] = 1 with a bias); out, hy,
# go: per lane N(x), the step's scale, and 1.0 where the rule moves V; ys: the labels of the
# sample drawn last; snap: the lanes' xoshiro words before it (rows s0..s3 of S).


def lane_block(P):
    X0 = np.zeros(P.din * LANES)
    X1 = np.zeros(P.din * LANES)
    X2 = np.zeros(P.din * LANES)
    if P.bias:
        X0[P.d * LANES : (P.d + 1) * LANES] = 1.0
        X1[P.d * LANES : (P.d + 1) * LANES] = 1.0
        X2[P.d * LANES : (P.d + 1) * LANES] = 1.0
    return (
        X0,
        X1,
        X2,
        np.zeros(P.din * LANES),
        np.zeros(LANES),
        np.zeros(LANES),
        np.zeros(LANES),
        np.zeros(LANES),
        np.zeros(4 * LANES, np.uint64),
    )


def lane_pack(blk, arrays, scratch, rs, member, P):
    V = blk[3]
    Wt = arrays[0]
    for lane in range(LANES):
        r = rs[lane]
        for i in range(P.din):
            V[i * LANES + lane] = Wt[r, i] if member[lane] else 0.0


def lane_unpack(blk, arrays, scratch, rs, member, P):
    V = blk[3]
    Wt = arrays[0]
    for lane in range(LANES):
        if member[lane]:
            r = rs[lane]
            for i in range(P.din):
                Wt[r, i] = V[i * LANES + lane]


def lane_label(P, S, lane, clean):
    """Lane ``lane``'s label for a sample whose clean label is ``clean`` (its noise from the lane's own stream).

    Only the stream words the draw changed are written back: under pure noise a label takes a bit
    from the lane's store of 48 and leaves s0..s3 alone, and writing them anyway would make the
    next vector load of those rows wait for scalar stores.
    """
    st0 = lane_state(S, lane)
    y, st = label_noise(P, clean, st0)
    if st[0] != st0[0] or st[1] != st0[1] or st[2] != st0[2] or st[3] != st0[3]:
        put_lane_words(S, lane, st[0], st[1], st[2], st[3])  # as vectors: see put_lane_words
    S[ROW_BITS * LANES + lane] = st[4]
    S[ROW_NBITS * LANES + lane] = st[5]
    return y


def lane_decide(P, h, S, blk, alive, upd, status, rs, state, t, nxt):
    """Step t's rule on every live lane from its output (go, hy, the update count), then its next label.

    A non-finite output fails the lane. ``nxt``: the next sample, whose normals are drawn (S has
    moved on: a failing lane's state is its words before them, ``snap``, with its label bits, as
    the scalar replica stores it); its labels are drawn here, after the rule, into ``ys``. None:
    the last step of the stretch, nothing drawn after it.
    """
    out, hy, go, ys, snap = blk[4], blk[5], blk[6], blk[7], blk[8]
    for lane in range(LANES):
        go[lane] = 0.0
        if not alive[lane]:
            continue
        o = out[lane]
        if not abs(o) <= DBL_MAX:
            r = rs[lane]
            _fail(status[r], NONFINITE, t)
            alive[lane] = False
            st = lane_state(S, lane)
            if nxt is not None:
                st = (snap[lane], snap[LANES + lane], snap[2 * LANES + lane], snap[3 * LANES + lane], st[4], st[5])
            store_state(state[r], st)
            continue
        # Without branches (under pure noise the hinge moves on about half the steps, at random):
        # hy is read only where go is 1.0, and s is 0.0 where the hinge does not move.
        move, s = scale(ys[lane], o, P, h)
        go[lane] = 1.0 if move else 0.0
        hy[lane] = s
        upd[lane] += 1 if move and s != 0.0 else 0
        if nxt is not None:
            ys[lane] = lane_label(P, S, lane, 1.0 if nxt[lane] > 0.0 else -1.0)


def lane_steps(P, D, h, S, blk, alive, upd, status, rs, state, t0, m):
    """Steps t0 ... t0+m-1 of every live lane: the scalar step (sample_binary's Gaussian draw, its noise, update).

    Software-pipelined, in each lane's stream order: step k's dot product and step k-1's update are
    done alongside the draws of sample k+1 (:func:`.lanes.lane_normals_fused`), so that the dot's
    chain of additions no longer waits for the draws (measured with bench/paired.py against the
    step before: 0.93 of its time, with :func:`lane_label`'s partial write-back).
    The first sample is drawn before the loop and the last update after it: nothing is drawn
    beyond step t0+m-1, so a call leaves S, V and the counts as m plain steps would.
    """
    X0, X1, X2, V, out, hy, go, ys, snap = blk
    d = P.d
    din = P.din
    cur, nxt, prev = X0, X1, X2
    lane_normals(S, cur, d)
    for lane in range(LANES):
        if alive[lane]:
            ys[lane] = lane_label(P, S, lane, 1.0 if cur[lane] > 0.0 else -1.0)
    for lane in range(LANES):
        go[lane] = 0.0  # no update before the first step
    for k in range(m - 1):
        for q in range(4 * LANES):
            snap[q] = S[q]
        lane_normals_fused(S, nxt, d, V, cur, prev, out, hy, go)
        for i in range(d, din):  # the bias coordinate, after the others (the scalar order)
            for lane in range(LANES):
                if go[lane] != 0.0:
                    V[i * LANES + lane] += hy[lane] * prev[i * LANES + lane]
                out[lane] += V[i * LANES + lane] * cur[i * LANES + lane]
        lane_decide(P, h, S, blk, alive, upd, status, rs, state, t0 + k, nxt)
        cur, nxt, prev = nxt, prev, cur
    vaxpy(V, prev, din, hy, go)  # the last step: no sample after it
    vdot(V, cur, din, out)
    lane_decide(P, h, S, blk, alive, upd, status, rs, state, t0 + m - 1, None)
    prev = cur
    vaxpy(V, prev, din, hy, go)  # the last step's update


def lane_steps_drawn(P, D, h, S, blk, alive, upd, status, rs, state, t0, m):
    """:func:`lane_steps` for a sampler with its own lane draw (``LANE_DRAW``: the hypercube's).

    Each step in each lane's stream order: the input and its clean label (the sampler's lane
    draw), the label's noise, then the rule (:func:`.lanes.vdot`, :func:`lane_decide`,
    :func:`.lanes.vaxpy` over the d inputs and the bias coordinate, as the scalar dot and update).
    Not pipelined: the draw is cheap beside the Gaussian one, and the lanes hide the dot's chain.
    """
    cur, ys = blk[0], blk[7]
    din = P.din
    for k in range(m):
        LANE_DRAW(P, D, S, cur, alive, ys, blk[8])  # clean labels into ys, then their noise
        for lane in range(LANES):
            if alive[lane]:
                ys[lane] = lane_label(P, S, lane, ys[lane])
        vdot(blk[3], cur, din, blk[4])
        lane_decide(P, h, S, blk, alive, upd, status, rs, state, t0 + k, None)
        vaxpy(blk[3], cur, din, blk[5], blk[6])


def lanes_eligible(spec, sampler):
    """Inputs the lane step draws (``sampler.lanes``: Gaussian; or the sampler's ``lane_draw``) and the paper's step.

    The paper's step: one fresh sample per step, no weight decay. Any loss: the lane step goes
    through the loss's scale (:func:`scale`).
    """
    return (sampler.lanes or sampler.lane_draw is not None) and not (spec.batch or spec.decay or spec.epochs)


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
    evaluate=evaluate,
    learn=learn,
    output_at=output_at,
    first_layer=first_layer,
    lanes=Lanes(
        block=lane_block,
        pack=lane_pack,
        unpack=lane_unpack,
        steps=lane_steps,
        eligible=lanes_eligible,
        helpers=(lane_label, lane_decide),
        steps_drawn=lane_steps_drawn,
    ),
)
