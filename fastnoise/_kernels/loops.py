"""The one replica driver: the step loops and the drivers, templates that :mod:`.driver` specialises.

Written once, here, for every model (:class:`.driver.Model`): the loop over replicas, the
segment/record schedule, the status protocol (non-finite output, underflow, the failing step)
and the periodic check. Everything here is a template (a plain function, or the source of the
step loop, :func:`_steps_template`), compiled per (model, spec) by :func:`.driver.build` with
the model's functions bound under the names below (``VIEW``, ``SAMPLE``, ``UPDATE`` ...).

**Parallelism.** :func:`_drive` advances the replicas listed in ``rs``, serially, with the GIL
released (``nogil``); the engine runs one call per thread on disjoint replica lists
(:func:`fastnoise.engine.run`). Not ``prange``: a ``parallel=True`` driver costs about 7 s of
compilation per (model, spec) on this machine (measured: 8.7 s for a second spec of the two-layer
net, of which 2.5 s is the step loop), and every spec needs its own; with threads over a serial
driver the same parallelism compiles once per spec at serial cost, and Numba's threading layers
(and their fork/thread-safety caveats) are out of the picture. Replicas share nothing written, so
the table is the same for any number of threads.

**Sampling ahead.** A sample does not depend on the weights, so for a model that splits its
update into ``evaluate`` and ``learn`` the paper's step loop draws sample t+1 between them, into a
second input buffer: the draws then run in the shadow of step t's forward pass and of the branch
on its rule instead of after them (measured with bench/paired.py on an Intel Xeon: the single
neuron 0.89 to 0.95 of the plain loop's time; the two-layer net at width 100 0.956 of it, both
loops with the same inlining). Each stream is consumed in the same order; the
loop draws nothing beyond a periodic check or the end of a call, and a step that fails stops
before the next draw, so states, weights and tables are the plain loop's bit for bit.

**Replicas in lanes.** A model's :class:`.driver.Lanes` advance :data:`LANES` replicas together,
each in one SIMD lane with its own stream (:mod:`.lanes`); :func:`_drive_lanes` is their driver
and shares the status protocol (:func:`_fail`) and the record step (:func:`_record`).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from .._jit import generated_source, jit
from .common import CHECK_EVERY, DBL_MAX, NONFINITE, OK, S_CODE, S_LOG2, S_STEP, UNDERFLOW  # noqa: F401 (the step loop's source)
from .draws import label_noise, load_state, next_row, store_state  # noqa: F401 (next_row: the step loop's source)
from .lanes import LANES, S_ROWS, lane_state, set_lane_state
from .layout import M_UPDATES
from .vec import COMPILED, borrowed

__all__ = ["LANES", "constant_lr"]


def constant_lr(P, status):
    """The step size of models without a learning-rate rescaling: h itself."""
    return P.lr


# --------------------------------------------------------------------------- driver templates
# Rebound by build(); the placeholders keep linters and readers oriented.
VIEW = SAMPLE = UPDATE = EVALUATE = LEARN = CHECK = LR = RECORD = STEPS = None
MODEL_RECORD = TASK_RECORD = None
BLOCK = PACK = UNPACK = STEPS_LANES = None
BATCH = DECAY = EPOCHS = False  # the spec's regime flags (compile-time constants)


def _fail(status, code, step):
    """The status protocol: a replica stops with a code and the step where it happened."""
    status[S_CODE] = code
    status[S_STEP] = step


#: The step loop, written once. Its source is instantiated per model with the model's view names
#: (``x, V`` for the neuron) as plain arguments (:func:`_steps_template`): a tuple of views
#: unpacked inside the loop costs two reference-count updates per view and step (measured: the
#: single neuron 15 % slower; ``f(*w)`` calls cost the same), named arguments cost none.
#: ``{sample}`` and ``{update}`` are the step's sampling and update: the paper's rule (one sample,
#: its update) unless the spec asks for epochs, minibatches or weight decay (:data:`_REGIME`).
_STEPS_SOURCE = """
def _steps(P, D, n, t0, st, status, order, flats, r, buf, masks, x2, {views}):
    h = LR(P, status)
    upd = 0
    for t in range(n):
{body}
        if (t0 + t + 1) % CHECK_EVERY == 0:
            if not CHECK(P, status, {views}):
                _fail(status, UNDERFLOW, t0 + t + 1)
                return upd, st, False
            h = LR(P, status)
    return upd, st, True
"""

#: One sample and its update, the part of a step every regime shares (indented by :func:`_indent`).
_SAMPLE_UPDATE = """
ri = -1
if EPOCHS:
    ri, st = next_row(order, D.Xtr.shape[0], st)
j, y, st = SAMPLE(P, D, st, ri, {first})
out, moved = UPDATE(j, y, P, h, {views})
if not abs(out) <= DBL_MAX:
    _fail(status, NONFINITE, t0 + t)
    return upd, st, False
"""


def _indent(text: str, spaces: int) -> str:
    """``text`` with every non-empty line indented by ``spaces``."""
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


#: One sample, its update (the paper's step; with epochs, the sample's row comes from the permutation).
_ONE = (
    _indent(_SAMPLE_UPDATE, 8)
    + """        if moved != 0.0:
            upd += 1
"""
)

#: Minibatches and weight decay: every update of the step from the weights W0 before it (kept in
#: ``buf``), W = W0 + mean of the per-sample changes - h * l * W0 on the trained weights (``masks``).
_REGIME = (
    """
        if BATCH or DECAY:
            _snapshot(flats, r, buf)
        any_moved = False
        for b in range(P.batch if BATCH else 1):
            if BATCH and b > 0:
                _restore(flats, r, buf)"""
    + _indent(_SAMPLE_UPDATE, 12)
    + """            if moved != 0.0:
                any_moved = True
            if BATCH:
                _accumulate(flats, r, buf)
        if BATCH:
            _mean(flats, r, buf, P.batch)
        if DECAY:
            _decay(flats, r, buf, masks, h * P.decay)
        if any_moved:
            upd += 1
"""
)


#: The paper's step with the next sample drawn between ``EVALUATE`` and ``LEARN`` ("Sampling
#: ahead" above): ``xa`` holds the sample being learned, ``xb`` receives the next one (``x2``, the
#: spare buffer, and the model's input view take turns). Stretches end at the periodic checks.
#: With ``LEARN_EVALUATE`` (a model's learn, and when it can the next sample's evaluate in the same
#: pass over its weights; never past the stretch's last step) the loop evaluates a step only if the
#: step before did not (:data:`_AHEAD_PLAIN`, :data:`_AHEAD_FUSED`).
_STEPS_AHEAD_SOURCE = """
def _steps(P, D, n, t0, st, status, order, flats, r, buf, masks, x2, {views}):
    h = LR(P, status)
    upd = 0
    xa = {first}
    xb = x2
    t = 0
    while t < n:
        m = min(n - t, CHECK_EVERY - (t0 + t) % CHECK_EVERY)
        ri = -1
        if EPOCHS:
            ri, st = next_row(order, D.Xtr.shape[0], st)
        j, y, st = SAMPLE(P, D, st, ri, xa)
{eval_first}
        for k in range(m):
{eval_step}
            if not abs(out) <= DBL_MAX:
                _fail(status, NONFINITE, t0 + t + k)
                return upd, st, False
            jn = j
            yn = y
            if k + 1 < m:
                ri = -1
                if EPOCHS:
                    ri, st = next_row(order, D.Xtr.shape[0], st)
                jn, yn, st = SAMPLE(P, D, st, ri, xb)
{rule}
            xa, xb = xb, xa
            j = jn
            y = yn
        t += m
        if (t0 + t) % CHECK_EVERY == 0:
            if not CHECK(P, status, {views}):
                _fail(status, UNDERFLOW, t0 + t)
                return upd, st, False
            h = LR(P, status)
    return upd, st, True
"""


#: The sampling-ahead loop's three variable parts: the step's evaluate before the loop or in it, and the rule.
_AHEAD_PLAIN = dict(
    eval_first="",
    eval_step="            out = EVALUATE(j, P, xa, {rest})",
    rule="""            if LEARN(j, y, out, P, h, xa, {rest}) != 0.0:
                upd += 1""",
)
_AHEAD_FUSED = dict(
    eval_first="        have = False",
    eval_step="""            if not have:
                out = EVALUATE(j, P, xa, {rest})""",
    rule="""            hy, have, out = LEARN_EVALUATE(j, y, out, P, h, k + 1 < m, xb, xa, {rest})
            if hy != 0.0:
                upd += 1""",
)


def _steps_template(views: tuple[str, ...], regime: bool = False, ahead: bool = False, fused: bool = False) -> types.FunctionType:
    """``n`` SGD steps from global step ``t0``, returning (updates, st, ok), for views named ``views``.

    ``regime``: the minibatch / weight-decay loop (:data:`_REGIME`) instead of the paper's step;
    ``ahead``: the paper's step drawing ahead (:data:`_STEPS_AHEAD_SOURCE`; the model has
    ``evaluate`` and ``learn``; ``fused``: and ``learn_evaluate``). ``x2`` is the spare input
    buffer (read by the sampling-ahead loop only).
    """
    namespace: dict[str, Any] = dict(globals())
    names = ", ".join(views)
    if ahead:
        rest = ", ".join(views[1:])
        parts = {k: v.format(rest=rest) for k, v in (_AHEAD_FUSED if fused else _AHEAD_PLAIN).items()}
        source = _STEPS_AHEAD_SOURCE.format(views=names, first=views[0], rest=rest, **parts)
    else:
        body = (_REGIME if regime else _ONE).format(views=names, first=views[0])
        source = _STEPS_SOURCE.format(views=names, body=body.strip("\n"))
    # Debuggable: the source is compiled under a file name of its own, registered with linecache
    # (_jit.generated_source), so Numba's errors and tracebacks (interpreted runs) show the
    # generated loop's lines rather than unrelated lines of this file. Why not a checked-in
    # generated module: models outside it would still need this path. The name lies in this
    # folder, so that the package's cache locators still serve the loop from the disk cache: they
    # treat it as this file (its folder, and the stamp of every kernel source, this one included).
    kind = "regime" if regime else "fused" if fused else "ahead" if ahead else "one"
    filename = generated_source(__file__, f"steps_{kind}__{'_'.join(views)}", source)
    code = compile(source, filename, "exec")
    exec(code, namespace)  # noqa: S102 - our own template, formatted with identifiers from a Model
    f = namespace["_steps"]
    f.__doc__ = _steps_template.__doc__
    return f


@jit(inner=True)
def _snapshot(flats, r, buf):
    """buf[:T] = the replica's weights (every weight array, flat, in order; T their total size)."""
    o = 0
    for k in range(len(flats)):
        a = flats[k][r]
        for i in range(a.shape[0]):
            buf[o + i] = a[i]
        o += a.shape[0]
    if buf.shape[0] >= 2 * o:  # minibatches: the change accumulator buf[T:2T] starts at 0
        for i in range(o, buf.shape[0]):
            buf[i] = 0.0


@jit(inner=True)
def _restore(flats, r, buf):
    """The weights back to W0 = buf[:T]."""
    o = 0
    for k in range(len(flats)):
        a = flats[k][r]
        for i in range(a.shape[0]):
            a[i] = buf[o + i]
        o += a.shape[0]


@jit(inner=True)
def _accumulate(flats, r, buf):
    """buf[T:2T] += W - W0: one sample's change (exactly 0 where it did not update)."""
    T = buf.shape[0] // 2
    o = 0
    for k in range(len(flats)):
        a = flats[k][r]
        for i in range(a.shape[0]):
            buf[T + o + i] += a[i] - buf[o + i]
        o += a.shape[0]


@jit(inner=True)
def _mean(flats, r, buf, b):
    """W = W0 + (sum of the changes) / b."""
    T = buf.shape[0] // 2
    o = 0
    for k in range(len(flats)):
        a = flats[k][r]
        for i in range(a.shape[0]):
            a[i] = buf[o + i] + buf[T + o + i] / b
        o += a.shape[0]


@jit(inner=True)
def _decay(flats, r, buf, masks, c):
    """W -= c * W0 on the trained weights (``masks``: 1.0 there, 0.0 elsewhere): the L2 term at W0."""
    o = 0
    for k in range(len(flats)):
        a = flats[k][r]
        m = masks[k]
        for i in range(a.shape[0]):
            if m[i] != 0.0:
                a[i] -= c * buf[o + i]
        o += a.shape[0]


def _record(w, P, D, updates, status, steps_done, out_row):
    """Write one checkpoint; a non-finite norm stops the replica."""
    out_row[M_UPDATES] = updates
    if not RECORD(P, D, status[S_LOG2], out_row, *w):
        _fail(status, NONFINITE, steps_done)
        return False
    return True


def _record_task(P, D, log2, out_row, *w):
    """The record (``RECORD``) of a run whose task has columns of its own: the model's, then the task's.

    ``MODEL_RECORD`` is the model's record, ``TASK_RECORD`` the task's (a :class:`.parts.MetricsKernel`,
    compiled into this function with the model's ``OUTPUT_AT`` and ``FIRST_LAYER``). Bound only for
    such runs (:func:`.driver.build`): every other run's ``RECORD`` is the model's own, as before.
    """
    if not MODEL_RECORD(P, D, log2, out_row, *w):
        return False
    TASK_RECORD(P, D, log2, out_row, w)
    return True


def _drive(rs, arrays, scratch, state, steps_done, updates, status, P, D, seg_steps, seg_rec, out, reg):
    """Advance the replicas ``rs`` through the segments (nothing another replica owns is written).

    Replica r runs ``seg_steps[s]`` steps and then, if ``seg_rec[s] >= 0``, records checkpoint
    ``seg_rec[s]`` into ``out[r, seg_rec[s]]``; it owns ``arrays[..][r]``, ``scratch[r]``,
    ``state[r]``, ``status[r]`` and its output rows, and the rows ``r`` of the training regime's
    arrays ``reg = (order, flats, buf, masks)``: the epochs' permutation, flat aliases of the
    weight arrays, the minibatch / weight-decay buffer, the trained-weight masks (shared).
    """
    order, flats, buf, masks = reg
    if COMPILED:  # the sets and the task's arrays without atomic reference counts where a step reads them (vec.borrowed)
        D = borrowed(D)  # (the caller owns D for the whole call)
    for r in rs:
        if status[r, S_CODE] != OK:
            continue
        w = VIEW(arrays, scratch, r, P)
        spare = w[0].copy()  # the input buffer the loop that samples ahead fills in turn with x (bias coordinate included)
        x2 = spare
        if COMPILED:
            w = borrowed(w)
            x2 = borrowed((spare,))[0]  # no atomic reference counts per step; spare, its owner, lives on below
        st = load_state(state[r])
        for s in range(seg_steps.shape[0]):
            n = seg_steps[s]
            if n > 0:
                upd, st, ok = STEPS(P, D, n, steps_done[r], st, status[r], order[r], flats, r, buf[r], masks, x2, *w)
                updates[r] += upd
                if not ok:
                    break
                steps_done[r] += n
            rec = seg_rec[s]
            if rec >= 0:
                ok = _record(w, P, D, updates[r], status[r], steps_done[r], out[r, rec])
                updates[r] = 0
                if not ok:
                    break
        store_state(state[r], st)
        spare[0] = 0.0  # (the owner of x2 is alive up to here)


def _steps_lanes(P, D, n, t0, S, blk, member, alive, upd, status, rs, state, arrays, scratch):
    """``n`` steps of every live lane from global step ``t0``: the lane twin of the step loop.

    The model's lane steps run from one periodic check to the next (a model may pipeline the
    steps inside such a stretch: it must leave S, the block and the counts as plain steps would).
    The check runs per lane on the replica's own rows (the group's rows unpacked for it and packed
    back; a lane that died earlier keeps its weights from the step it failed).
    """
    h = LR(P, status[rs[0]])  # models with lanes have a constant step (build() checks)
    t = 0
    while t < n:
        m = min(n - t, CHECK_EVERY - (t0 + t) % CHECK_EVERY)
        STEPS_LANES(P, D, h, S, blk, alive, upd, status, rs, state, t0 + t, m)
        t += m
        if (t0 + t) % CHECK_EVERY == 0:
            UNPACK(blk, arrays, scratch, rs, member, P)
            for lane in range(LANES):
                if alive[lane]:
                    r = rs[lane]
                    if not CHECK(P, status[r], *VIEW(arrays, scratch, r, P)):
                        _fail(status[r], UNDERFLOW, t0 + t)
                        alive[lane] = False
                        store_state(state[r], lane_state(S, lane))
            PACK(blk, arrays, scratch, rs, member, P)


def _drive_lanes(rs, arrays, scratch, state, steps_done, updates, status, P, D, seg_steps, seg_rec, out, reg):
    """:func:`_drive` with the replicas ``rs`` advanced :data:`LANES` at a time (same arguments, same tables).

    Each group of up to LANES replicas shares one lane block; a lane that fails stops alone, as
    in :func:`_drive` (its code, step, partial update count and state are the scalar ones). The
    replicas of a group must be at the same step: the engine sends groups of fewer than MIN_LANES
    replicas, or at different steps, through :func:`_drive` instead (``engine.LaneDrive``), so
    that a run of lane groups only does not compile the scalar driver.
    """
    if COMPILED:  # as in _drive: the sets and the task's arrays borrowed (a lane draw reads them at every step)
        D = borrowed(D)
    S = np.zeros(S_ROWS * LANES, np.uint64)
    blk = BLOCK(P)
    g_rs = np.zeros(LANES, np.int64)
    member = np.zeros(LANES, np.bool_)
    alive = np.zeros(LANES, np.bool_)
    upd = np.zeros(LANES, np.int64)
    g = 0
    while g < rs.shape[0]:
        nl = min(LANES, rs.shape[0] - g)
        S[:] = 0
        for lane in range(LANES):
            r = rs[g + min(lane, nl - 1)]
            g_rs[lane] = r
            member[lane] = lane < nl and status[r, S_CODE] == OK
            alive[lane] = member[lane]
            if member[lane]:
                set_lane_state(S, lane, load_state(state[r]))
        PACK(blk, arrays, scratch, g_rs, member, P)
        for s in range(seg_steps.shape[0]):
            n = seg_steps[s]
            if n > 0:
                upd[:] = 0
                t0 = steps_done[g_rs[0]]
                live = alive.copy()
                lanes = (S, member, alive, upd, status, g_rs, state)
                b_blk = blk
                if COMPILED:  # no atomic reference counts per step (vec.borrowed); the owners live on below
                    lanes = borrowed(lanes)
                    b_blk = borrowed(blk)
                _steps_lanes(P, D, n, t0, lanes[0], b_blk, *lanes[1:], arrays, scratch)
                for lane in range(nl):
                    if live[lane]:
                        r = g_rs[lane]
                        updates[r] += upd[lane]
                        if alive[lane]:
                            steps_done[r] += n
            rec = seg_rec[s]
            if rec >= 0:
                UNPACK(blk, arrays, scratch, g_rs, member, P)
                for lane in range(nl):
                    if alive[lane]:
                        r = g_rs[lane]
                        ok = _record(VIEW(arrays, scratch, r, P), P, D, updates[r], status[r], steps_done[r], out[r, rec])
                        updates[r] = 0
                        if not ok:
                            alive[lane] = False
                            store_state(state[r], lane_state(S, lane))
                PACK(blk, arrays, scratch, g_rs, member, P)
        UNPACK(blk, arrays, scratch, g_rs, member, P)
        for lane in range(nl):
            if alive[lane]:
                store_state(state[g_rs[lane]], lane_state(S, lane))
        g += nl
