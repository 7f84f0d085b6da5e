"""The one replica driver, and the builder that specialises it for a model and a spec.

A model (one module of :mod:`fastnoise._kernels`) contributes a :class:`Model`: plain Python
functions, the *templates*, with fixed signatures (``w`` is the model's tuple of one replica's
array views, input buffer first; ``P`` a :class:`.params.Params`; ``D`` a :class:`.params.Data`)::

    view(arrays, scratch, r, P) -> w          replica r's views into the shared arrays (a tuple)
    sample(P, D, st, x) -> (j, y, st)         draw a sample into x = w[0] (j: basis index or -1)
    update(j, y, P, h, *w) -> (out, moved)    one SGD step; out = N(x) before it (non-finite: stop),
                                              moved != 0.0 iff the rule updated (a float: see below)
    evaluate(j, P, *w) -> out                 optional, with learn: update's two halves, N(x) before
    learn(j, y, out, P, h, *w) -> moved       the step, then the rule from it (out finite); with
                                              them the step loop draws ahead (see "Sampling ahead")
    learn_evaluate(j, y, out, P, h, nxt, xn, *w) -> (moved, evaluated, out_next)
                                              optional, with both: learn and, if nxt and it can,
                                              evaluate the next input xn in the same pass
                                              over the weights (evaluated: out_next is its N)
    check(P, status, *w) -> ok                every CHECK_EVERY steps: renormalise / underflow
    lr(P, status) -> h                        the step size in stored units (renormalised runs)
    record(P, D, log2, out_row, *w) -> ok     write a checkpoint's metrics (ok: norms finite)

``Model.views`` names the views (``("x", "V")``); the step loop receives them as named arguments.
``moved`` is a float (the step's scale h*y*s, or 1.0) rather than a bool: with a bool result
Numba's reference-count pruning keeps an incref/decref pair per view argument in every call
(measured on the neuron's update: 2 pairs per step with ``hy != 0.0``, none with ``hy``).

Everything else is written once, here: the loop over replicas, the segment/record schedule, the
status protocol (non-finite output, underflow, the failing step) and the periodic check.

**Parallelism.** :func:`_drive` advances the replicas listed in ``rs``, serially, with the GIL
released (``nogil``); the engine runs one call per thread on disjoint replica lists
(:func:`fastnoise.engine.run`). Not ``prange``: a ``parallel=True`` driver costs about 7 s of
compilation per (model, spec) on this machine (measured: 8.7 s for a second spec of the two-layer
net, of which 2.5 s is the step loop), and every spec needs its own; with threads over a serial
driver the same parallelism compiles once per spec at serial cost, and Numba's threading layers
(and their fork/thread-safety caveats) are out of the picture. Replicas share nothing written, so
the table is the same for any number of threads.

**Specialisation.** :func:`build` copies every template of the model and of this module into a
new function object whose globals are the template module's plus the run's :class:`.params.Spec`
as constants (``LOSS``, ``DATA``, ``ACT``, ``SPARSE``, ``ONEHOT``) and the model's functions under
the driver's names (``VIEW``, ``SAMPLE``, ``UPDATE`` ...). Numba freezes globals at compile time,
so ``if LOSS == HINGE`` is decided when the loop compiles, not at every step. Why copies with new
globals rather than closures (as py-pde's ``make_*`` factories do): Numba's on-disk cache keys a
closure on its pickled cell contents, and a pickled dispatcher carries a fresh UUID in every
process, so a closure over model functions is recompiled in every process (measured: a cache
miss on every run); a template copy is keyed on its bytecode and its own qualified name
(``_drive__twolayer__data0__loss0__onehot0__sparse0``), so each (model, spec) compiles once and is cached on disk.

**Sampling ahead.** A sample does not depend on the weights, so for a model that splits its
update into ``evaluate`` and ``learn`` the paper's step loop draws sample t+1 between them, into a
second input buffer: the draws then run in the shadow of step t's forward pass and of the branch
on its rule instead of after them (measured with bench/paired.py on an Intel Xeon: the single
neuron 0.89 to 0.95 of the plain loop's time; the two-layer net at width 100 0.956 of it, both
loops with the same inlining). Each stream is consumed in the same order; the
loop draws nothing beyond a periodic check or the end of a call, and a step that fails stops
before the next draw, so states, weights and tables are the plain loop's bit for bit.

**Faults stay out of production kernels.** ``build(..., replace={"UPDATE": f})`` hands the same
driver a different step (the theorem checks' own tests use it to break the engine on purpose);
such a build is never cached.

**Replicas in lanes.** A model's :class:`Lanes` advance :data:`LANES` replicas together, each
in one SIMD lane with its own stream (:mod:`.lanes`); :func:`_drive_lanes` is their driver and
shares the status protocol (:func:`_fail`), the record step (:func:`_record`) and this builder.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._jit import jit
from .common import CHECK_EVERY, DBL_MAX, NONFINITE, OK, S_CODE, S_LOG2, S_STEP, UNDERFLOW  # noqa: F401 (the step loop's source)
from .draws import label_noise, load_state, next_row, store_state  # noqa: F401 (next_row: the step loop's source)
from .lanes import S_ROWS, lane_state, set_lane_state
from .lanes import W as LANES
from .layout import M_UPDATES
from .params import Spec
from .parts import LossKernel, SamplerKernel
from .vec import COMPILED, borrowed

__all__ = ["Model", "Kernels", "build", "constant_lr"]


class Lanes(NamedTuple):
    """A model's lane-batched step (see "Replicas in lanes" above): templates like the Model's.

    block(P) -> blk                            the lane block's arrays (a tuple), allocated once
    pack(blk, arrays, scratch, rs, member, P)  replica rows -> lane block (lanes with member[l])
    unpack(blk, arrays, scratch, rs, member, P)  lane block -> replica rows
    steps(P, D, h, S, blk, alive, upd, status, rs, state, t0, m)
                                               steps t0 ... t0+m-1 of every lane with alive[l]
                                               (no periodic check among them); a lane that fails
                                               calls _fail, stores its state, leaves alive
    eligible(spec, sampler) -> bool            (plain Python) whether this spec has a lane step
    helpers                                    templates the lane steps call, inlined into them
                                               (as the steps are into the driver: called, each
                                               would receive the parameters and arrays on the stack)
    """

    block: Callable
    pack: Callable
    unpack: Callable
    steps: Callable
    eligible: Callable[[Spec, SamplerKernel], bool]
    helpers: tuple[Callable, ...] = ()


class Model(NamedTuple):
    """One model's templates (plain functions) and the templates they call that read the spec."""

    name: str
    views: tuple[str, ...]
    view: Callable
    sample: Callable
    update: Callable
    check: Callable
    lr: Callable
    record: Callable
    helpers: tuple[Callable, ...] = ()
    lanes: Lanes | None = None
    evaluate: Callable | None = None
    learn: Callable | None = None
    inline: tuple[Callable, ...] = ()  # helpers compiled into their callers (see build())
    learn_evaluate: Callable | None = None  # with evaluate and learn: learn and the next evaluate in one pass


class Kernels(NamedTuple):
    """A model compiled for one spec: the driver and the pieces the engine calls directly."""

    drive: Any
    view: Any
    update: Any
    spec: Spec
    drive_lanes: Any = None
    loss: LossKernel | None = None  # the parts it was built with (a test rebuilds the same kernels with a fault)
    sampler: SamplerKernel | None = None


def constant_lr(P, status):
    """The step size of models without a learning-rate rescaling: h itself."""
    return P.lr


# --------------------------------------------------------------------------- driver templates
# Rebound by build(); the placeholders keep linters and readers oriented.
VIEW = SAMPLE = UPDATE = EVALUATE = LEARN = CHECK = LR = RECORD = STEPS = None
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
    code = compile(source, __file__, "exec")
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


def _drive(rs, arrays, scratch, state, steps_done, updates, status, P, D, seg_steps, seg_rec, out, reg):
    """Advance the replicas ``rs`` through the segments (nothing another replica owns is written).

    Replica r runs ``seg_steps[s]`` steps and then, if ``seg_rec[s] >= 0``, records checkpoint
    ``seg_rec[s]`` into ``out[r, seg_rec[s]]``; it owns ``arrays[..][r]``, ``scratch[r]``,
    ``state[r]``, ``status[r]`` and its output rows, and the rows ``r`` of the training regime's
    arrays ``reg = (order, flats, buf, masks)``: the epochs' permutation, flat aliases of the
    weight arrays, the minibatch / weight-decay buffer, the trained-weight masks (shared).
    """
    order, flats, buf, masks = reg
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


# --------------------------------------------------------------------------- builder

#: The fewest replicas a lane group advances together; the engine sends smaller groups through the
#: scalar driver (engine.LaneDrive).
MIN_LANES = 5

_BUILT: dict[tuple[str, Spec], Kernels] = {}  # by (model, spec)
_SHARED: dict[tuple[str, str], tuple[types.FunctionType, Any]] = {}  # by (tag, template key)


def _copy(f: Callable, consts: Mapping[str, Any], tag: str) -> types.FunctionType:
    g = dict(f.__globals__)
    g.update(consts)
    nf = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    nf.__qualname__ = f"{f.__qualname__}__{tag}"
    nf.__module__ = f.__module__
    nf.__doc__ = f.__doc__
    return nf


def _key(f: Callable) -> str:
    """A template's key: its module and qualified name (templates of different modules may share a name)."""
    return f"{f.__module__}.{f.__qualname__}"


_SPEC_NAMES = frozenset({"ACT", "SPARSE", "ONEHOT", "NOISE", "SMOOTH", "BATCH", "DECAY", "EPOCHS", "LOSS_CONDITIONAL", "DRAW"})
#: The names bound to the loss's templates (read: the template depends on the loss, named in its tag).
_LOSS_ROLES = ("LOSS_SCALE", "LOSS_CLASSES")


def _spec_reads(
    templates: Mapping[str, Callable], roles: Mapping[str, Callable], names: frozenset[str]
) -> dict[str, frozenset[str]]:
    """For each template, the constants and part roles (``names``) it reads, directly or through the templates it calls.

    A template calls the templates its global names refer to (functions imported from another
    template module included) and the roles it names (``UPDATE``, ``LOSS_SCALE``, ...).
    """
    by_id = {id(f): k for k, f in templates.items()}
    role_key = {role: _key(f) for role, f in roles.items()}
    calls = {}
    for k, f in templates.items():
        used = f.__code__.co_names
        callees = {role_key[u] for u in used if u in role_key}
        callees |= {by_id[id(f.__globals__[u])] for u in used if id(f.__globals__.get(u)) in by_id}
        calls[k] = callees
    reads = {k: set(f.__code__.co_names) & names for k, f in templates.items()}
    grew = True
    while grew:
        grew = False
        for k, callees in calls.items():
            for c in callees:
                if not reads[c] <= reads[k]:
                    reads[k] |= reads[c]
                    grew = True
    return {k: frozenset(r) for k, r in reads.items()}


def build(
    model: Model, spec: Spec, loss: LossKernel, sampler: SamplerKernel, replace: Mapping[str, Any] | None = None
) -> Kernels:
    """Compile (or fetch) ``model``'s driver for ``spec`` with the run's ``loss`` and ``sampler`` (named by the spec).

    Each template is compiled once per value of the spec constants it actually reads (a record
    that reads only ``ACT`` is shared by both losses), the driver once per (model, spec). The
    parts' templates are bound like the model's roles (``LOSS_SCALE``, ``LOSS_CLASSES``,
    ``DRAW``) and compiled into their callers (``inline="always"``: as the rules and the draws
    were when the models and ``sample_binary`` wrote them out); a template that reads one is
    named after its part (``__loss_hinge``, ``__sampler_gaussian``).
    ``replace`` maps driver names (``"UPDATE"``, ``"SAMPLE"``, ...) to already-compiled functions
    used instead of the model's (tests only; such builds are neither memoised nor cached on disk).
    """
    if loss.name != spec.loss or sampler.name != spec.sampler:
        raise ValueError(f"spec names {spec.loss!r} and {spec.sampler!r}, the parts are {loss.name!r} and {sampler.name!r}")
    key = (model.name, spec)
    if replace is None and key in _BUILT:
        return _BUILT[key]
    consts = {
        "ACT": spec.act,
        "SPARSE": spec.sparse,
        "ONEHOT": sampler.onehot,
        "NOISE": spec.noise,
        "SMOOTH": spec.smooth,
        "BATCH": spec.batch,
        "DECAY": spec.decay,
        "EPOCHS": spec.epochs,
        "LOSS_CONDITIONAL": loss.conditional,
    }
    # The tag fragment of each name a template may read: a constant's value, a part's name.
    frags = {c: f"{c.lower()}{int(v)}" for c, v in consts.items()}
    frags["LOSS_CONDITIONAL"] = f"loss_{loss.name}"
    frags["DRAW"] = f"sampler_{sampler.name}"
    roles = {
        "VIEW": model.view,
        "SAMPLE": model.sample,
        "UPDATE": model.update,
        "CHECK": model.check,
        "LR": model.lr,
        "RECORD": model.record,
        "LOSS_SCALE": loss.scale,
        "DRAW": sampler.draw,
    }
    if loss.classes is not None:
        roles["LOSS_CLASSES"] = loss.classes
    for role in _LOSS_ROLES:
        frags[role] = f"loss_{loss.name}"
    # Drawing ahead needs the model's two halves; a replaced step (a test's fault) is the update itself.
    ahead = model.evaluate is not None and model.learn is not None and not (spec.batch or spec.decay) and not replace
    fused = ahead and model.learn_evaluate is not None
    if ahead:
        assert model.evaluate is not None and model.learn is not None
        roles.update(EVALUATE=model.evaluate, LEARN=model.learn)
    if fused:
        assert model.learn_evaluate is not None
        roles["LEARN_EVALUATE"] = model.learn_evaluate
    roles["STEPS"] = _steps_template(model.views, spec.batch or spec.decay, ahead, fused)
    # A replaced step (a test's fault) is not the model's lane step, and interpreted kernels
    # (NUMBA_DISABLE_JIT) have no vector intrinsics: such builds have the scalar driver only.
    lanes = model.lanes is not None and model.lanes.eligible(spec, sampler) and not replace and COMPILED
    if lanes:
        assert model.lanes is not None and model.lr is constant_lr, "lanes need a constant step size"
        roles.update(BLOCK=model.lanes.block, PACK=model.lanes.pack, UNPACK=model.lanes.unpack, STEPS_LANES=model.lanes.steps)
    shared = (label_noise, _record, _fail, _drive)  # label_noise: every sampler's noise, read by the lane steps too
    drivers = (*shared, _steps_lanes, _drive_lanes) if lanes else shared
    lane_helpers = model.lanes.helpers if lanes and model.lanes is not None else ()
    halves: tuple[Callable, ...] = ()
    if model.evaluate is not None and model.learn is not None:
        halves = (model.evaluate, model.learn, *((model.learn_evaluate,) if model.learn_evaluate is not None else ()))
    templates: dict[str, Callable] = {}
    for f in (*roles.values(), *model.helpers, *halves, *lane_helpers, *drivers, *loss.helpers, *sampler.helpers):
        k = _key(f)
        if templates.setdefault(k, f) is not f:
            raise ValueError(f"two templates named {k}: give one of them another name")
    reads = _spec_reads(templates, roles, frozenset(frags))
    cache = replace is None
    # The engine calls the drivers, VIEW and UPDATE from Python; every other template is reached
    # from compiled code only and is compiled without Numba's wrappers (_jit.jit(inner=True)).
    entry = {_key(f) for f in (_drive, _drive_lanes, model.view, model.update)}
    # Inlined into their callers (Numba IR), each a kernel less to compile: _record, a checkpoint's
    # wrapper (a first two-layer run about 0.85 of the time, alternated with the code before).
    inline = {_key(_record): {"inline": "always"}}
    # Compiled into their callers (Numba IR) rather than called: called, each receives the
    # parameters (about 40 words) and its arrays on the stack at every step (measured at width 100:
    # update's two halves called, 1.07 of the time of one update; the two-layer net's first-layer
    # update called, 1.013 of the time inlined).
    # And the lane steps with their helpers: called, they received their dozen arrays and the
    # parameters on the stack, about 150 words copied per lane step.
    # And the loss's rules and the sampler's draw: the models (and sample_binary) wrote them out
    # in place before losses and samplers were parts.
    lane_inline = (model.lanes.steps, *lane_helpers) if lanes and model.lanes is not None else ()
    loss_inline = (loss.scale, *((loss.classes,) if loss.classes is not None else ()), sampler.draw)
    for f in (*model.inline, *halves, *lane_inline, *loss_inline):
        inline[_key(f)] = {"inline": "always"}
    copies = {}
    compiled = {}
    for k, f in templates.items():
        mine = {c: consts[c] for c in reads[k] if c in consts}
        tag = model.name + "".join(f"__{t}" for t in sorted({frags[c] for c in reads[k]}))
        if replace:
            tag += "__replaced"
        shared_key = (tag, k)
        if replace is None and shared_key in _SHARED:
            _, compiled[k] = _SHARED[shared_key]
            continue
        copies[k] = _copy(f, mine, tag)
        compiled[k] = jit(copies[k], cache=cache, inner=k not in entry, **inline.get(k, {}))
        if replace is None:
            _SHARED[shared_key] = (copies[k], compiled[k])
    bound = {role: compiled[_key(f)] for role, f in roles.items()}
    if replace:
        bound.update(replace)
    by_id = {id(f): k for k, f in templates.items()}
    for f in copies.values():  # templates call each other's specialised copies
        g = f.__globals__
        for name, value in list(g.items()):
            if id(value) in by_id:
                g[name] = compiled[by_id[id(value)]]
        g.update(bound)
    kern = Kernels(
        drive=compiled[_key(_drive)],
        view=compiled[_key(model.view)],
        update=bound["UPDATE"],
        spec=spec,
        drive_lanes=compiled[_key(_drive_lanes)] if lanes else None,
        loss=loss,
        sampler=sampler,
    )
    if replace is None:
        _BUILT[key] = kern
    return kern
