"""Replicas in SIMD lanes: :data:`LANES` replicas advanced together, lane l carrying replica l's own stream.

Why explicit vectors: Numba's LLVM does not vectorise a loop over lanes on its own (its arrays
may alias, so the loop vectoriser gives up on the xoshiro update; checked on the generated
assembly: scalar code only), so the three hot pieces are written as LLVM vector IR through
:func:`numba.extending.intrinsic`. ``<8 x i64>`` and ``<8 x double>`` compile to one AVX-512
register each, or to two AVX2 registers on machines without AVX-512: LLVM splits them.

Bitwise contract: every lane performs exactly the scalar kernels' operations in the scalar order.

- :func:`lane_normals` is :func:`.draws.normal` for every lane: the same xoshiro256+ update, the
  same ziggurat fast path (integer shifts, the two table lookups, ``int64 -> double`` then one
  multiply; the lookups are gathers or one load per lane, :data:`LOOKUP_GATHER`), and a lane
  whose draw misses the fast path runs the scalar slow path on its own state before the next
  coordinate, so each lane's stream is consumed in the scalar order.
- :func:`vdot` is the scalar ``s = 0.0; s += V[i] * x[i]`` (one multiply and one add per term, in
  order of i, no FMA: the package never enables fastmath), lane-wise.
- :func:`vaxpy` is ``V[i] += hy * x[i]`` on the lanes whose rule updated (a select: lanes that did
  not update keep their bits, signed zeros included).
- :func:`lane_normals_fused` is vaxpy, then vdot, then lane_normals, element for element in one
  pass (:func:`normal_run_fused`): the software-pipelined lane steps (``neuron.lane_steps``) use it.

Layout of a lane block (1-D, C-contiguous float64/uint64, LANES entries per row): coordinate i of
every lane is the row ``[i*LANES, (i+1)*LANES)``. The lane state ``S`` (uint64) holds rows s0, s1, s2, s3,
the last output u, the label bits and their count: :data:`S_ROWS` rows.
"""

from __future__ import annotations

import types as pytypes

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from .._jit import jit
from . import draws
from .draws import ZK, ZW
from .vec import F64 as _F64
from .vec import I32 as _I32
from .vec import I64 as _I64
from .vec import (
    LANES,  # lanes per block: one vector of doubles (or of 64-bit integers)
    data_ptr,
)
from .vec import VF as _VF
from .vec import vptr as _row

S_ROWS = 7  # s0, s1, s2, s3, u, bits, nbits
ROW_U, ROW_BITS, ROW_NBITS = 4, 5, 6

_I1 = ir.IntType(1)
_VI = ir.VectorType(_I64, LANES)
_VB = ir.VectorType(_I1, LANES)


def _splat(vty, value):
    return ir.Constant(vty, [value] * LANES)


def _gather(builder, base, idx, ety, vty):
    """``base[idx[l]]`` for every lane (llvm.masked.gather, all lanes on): a table lookup per lane."""
    b = builder.ptrtoint(base, _I64)
    bv = ir.Constant(_VI, ir.Undefined)
    for lane in range(LANES):
        bv = builder.insert_element(bv, b, ir.Constant(_I32, lane))
    ptrs = builder.inttoptr(builder.add(bv, builder.shl(idx, _splat(_VI, 3))), ir.VectorType(ety.as_pointer(), LANES))
    name = f"llvm.masked.gather.v{LANES}{'i64' if ety == _I64 else 'f64'}.v{LANES}p0"
    fnty = ir.FunctionType(vty, [ptrs.type, _I32, _VB, vty])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    return builder.call(fn, [ptrs, ir.Constant(_I32, 8), _splat(_VB, 1), ir.Constant(vty, ir.Undefined)])


def _gathers_pay() -> bool:
    """Whether the ziggurat's table lookups are hardware gathers on the CPU Numba compiles for.

    Not on AMD Zen (LLVM's ``znver*`` targets): there the same lookups as eight scalar loads each
    (the index extracted per lane, the loaded values inserted back) made the vector fast path 0.37
    of the gathers' time (100 against 276 ns per 8-lane step of d = 30 without misses, AMD EPYC,
    Zen 5) and the whole 8-lane neuron step 0.72 (43.6 against 60.5 ns per replica-step,
    bench/paired.py, 7 pairs). Elsewhere the gathers stay: on an Intel Xeon (AVX-512, CPUID model
    167) the loads made the 8-lane step 1.24 times slower (54.4 against 43.8 ns per replica-step,
    bench/paired.py against a checkout with LOOKUP_GATHER = False, 9 pairs).
    The values loaded are the same either way, so the draws are too (``tests/kernels/test_lanes.py``
    checks both forms on any machine).
    """
    cpu = numba.config.CPU_NAME or llvm.get_host_cpu_name()  # type: ignore[attr-defined]
    return not str(cpu).startswith("znver")


#: Table lookups as gathers (True) or one scalar load per lane (False); read when a kernel using
#: the lanes compiles (Numba's disk cache is kept per CPU name, so a cache never crosses machines).
LOOKUP_GATHER = _gathers_pay()


def _lookup(builder, base, idx, ety, vty):
    """``base[idx[l]]`` for every lane: a gather, or (``LOOKUP_GATHER`` off) one scalar load per lane."""
    if LOOKUP_GATHER:
        return _gather(builder, base, idx, ety, vty)
    b = builder.ptrtoint(base, _I64)
    out = ir.Constant(vty, ir.Undefined)
    for lane in range(LANES):
        k = builder.extract_element(idx, ir.Constant(_I32, lane))
        ptr = builder.inttoptr(builder.add(b, builder.shl(k, ir.Constant(_I64, 3))), ety.as_pointer())
        out = builder.insert_element(out, builder.load(ptr, align=8), ir.Constant(_I32, lane))
    return out


def _next_u64(builder, st):
    """:func:`.draws.next_u64` on vectors of the lanes' words, line by line: (output, advanced (s0, s1, s2, s3))."""
    s0, s1, s2, s3 = st
    u = builder.add(s0, s3)
    t = builder.shl(s1, _splat(_VI, 17))
    s2 = builder.xor(s2, s0)
    s3 = builder.xor(s3, s1)
    s1 = builder.xor(s1, s2)
    s0 = builder.xor(s0, s3)
    s2 = builder.xor(s2, t)
    s3 = builder.or_(builder.shl(s3, _splat(_VI, 45)), builder.lshr(s3, _splat(_VI, 19)))
    return u, (s0, s1, s2, s3)


def _normal_run(fused):
    """Codegen of :func:`normal_run` (``fused``: :func:`normal_run_fused`, with the previous steps' update and dot)."""

    def codegen(context, builder, signature, args):
        s_arr, x_arr, i0_v, d_v, zk_arr, zw_arr = args[:6]
        sp = data_ptr(context, builder, signature.args[0], s_arr)
        xp = data_ptr(context, builder, signature.args[1], x_arr)
        zkp = data_ptr(context, builder, signature.args[4], zk_arr)
        zwp = data_ptr(context, builder, signature.args[5], zw_arr)
        zero = ir.Constant(_I64, 0)
        if fused:
            vp, xcp, xpp, accp, hyp, gop = (data_ptr(context, builder, signature.args[k], args[k]) for k in range(6, 12))
            accp = _row(builder, accp, zero, _VF)
            hy = builder.load(_row(builder, hyp, zero, _VF), align=8)
            on = builder.fcmp_unordered(
                "!=", builder.load(_row(builder, gop, zero, _VF), align=8), ir.Constant(_VF, [0.0] * LANES)
            )
        rows = [_row(builder, sp, ir.Constant(_I64, k * LANES), _VI) for k in range(5)]
        start = [builder.load(p, align=8) for p in rows[:4]]
        u_in = builder.load(rows[4], align=8)
        acc_in = builder.load(accp, align=8) if fused else None
        entry = builder.block
        head = builder.append_basic_block("run.head")
        body = builder.append_basic_block("run.body")
        step = builder.append_basic_block("run.next")
        done = builder.append_basic_block("run.done")
        builder.branch(head)

        builder.position_at_end(head)
        i = builder.phi(_I64)
        st = [builder.phi(_VI) for _ in range(4)]
        u_last = builder.phi(_VI)
        i.add_incoming(i0_v, entry)
        for phi, v in zip(st, start, strict=True):
            phi.add_incoming(v, entry)
        u_last.add_incoming(u_in, entry)
        if fused:
            acc = builder.phi(_VF)
            acc.add_incoming(acc_in, entry)
        builder.cbranch(builder.icmp_signed("<", i, d_v), body, done)

        builder.position_at_end(body)
        s0, s1, s2, s3 = st
        u, (s0, s1, s2, s3) = _next_u64(builder, (s0, s1, s2, s3))
        off = builder.mul(i, ir.Constant(_I64, LANES))
        if fused:  # vaxpy's element (the previous step's update), then vdot's term with the updated weight
            vi = _row(builder, vp, off, _VF)
            old = builder.load(vi, align=8)
            moved = builder.fadd(old, builder.fmul(hy, builder.load(_row(builder, xpp, off, _VF), align=8)))
            new = builder.select(on, moved, old)
            builder.store(new, vi, align=8)
            acc_next = builder.fadd(acc, builder.fmul(new, builder.load(_row(builder, xcp, off, _VF), align=8)))
        idx = builder.lshr(u, _splat(_VI, 56))  # draws.normal, line by line
        hz = builder.ashr(builder.shl(u, _splat(_VI, 8)), _splat(_VI, 11))
        neg = builder.icmp_signed("<", hz, _splat(_VI, 0))
        rabs = builder.select(neg, builder.sub(_splat(_VI, 0), hz), hz)
        x = builder.fmul(builder.sitofp(hz, _VF), _lookup(builder, zwp, idx, _F64, _VF))
        builder.store(x, _row(builder, xp, off, _VF), align=8)
        miss = builder.zext(
            builder.bitcast(builder.icmp_signed(">=", rabs, _lookup(builder, zkp, idx, _I64, _VI)), ir.IntType(LANES)), _I64
        )
        builder.cbranch(builder.icmp_unsigned("!=", miss, zero), done, step)

        builder.position_at_end(step)
        i.add_incoming(builder.add(i, ir.Constant(_I64, 1)), step)
        for phi, v in zip(st, (s0, s1, s2, s3), strict=True):
            phi.add_incoming(v, step)
        u_last.add_incoming(u, step)
        if fused:
            acc.add_incoming(acc_next, step)
        builder.branch(head)

        builder.position_at_end(done)
        out_i = builder.phi(_I64)
        out_m = builder.phi(_I64)
        out_s = [builder.phi(_VI) for _ in range(5)]
        out_a = builder.phi(_VF) if fused else None
        out_i.add_incoming(i, head)
        out_m.add_incoming(zero, head)
        for phi, v in zip(out_s, (*st, u_last), strict=True):
            phi.add_incoming(v, head)
        out_i.add_incoming(i, body)
        out_m.add_incoming(miss, body)
        for phi, v in zip(out_s, (s0, s1, s2, s3, u), strict=True):
            phi.add_incoming(v, body)
        for p, v in zip(rows, out_s, strict=True):
            builder.store(v, p, align=8)
        if fused:
            out_a.add_incoming(acc, head)
            out_a.add_incoming(acc_next, body)
            builder.store(out_a, accp, align=8)
        return builder.or_(builder.shl(out_i, ir.Constant(_I64, 16)), out_m)

    return codegen


@intrinsic
def normal_run(typingctx, S, X, i0, d, zk, zw):
    """One xoshiro256+ step and ziggurat fast path per lane for coordinates i0, i0+1, ... < d, until a lane misses.

    Returns ``(i << 16) | miss``. Coordinate i of lane l goes to X[i*LANES + l]; bit l of ``miss`` is
    set when lane l's draw is not accepted by the fast path (``rabs >= ZK[idx]``).

    The lanes' generator state stays in registers from one coordinate to the next (stored back to
    S once, on exit) instead of a store and a reload per coordinate, which put a store-to-load
    forwarding delay on the xoshiro chain of every draw. On return, coordinates below ``i`` are
    drawn; at ``i < d``, every lane has drawn (the state advanced, its output u left in row
    :data:`ROW_U` for the slow path) and the lanes set in ``miss`` (never 0 then) need the slow
    path; ``i == d`` means no miss. Measured against one call per coordinate (state stored and
    reloaded each time): 0.85 of the lane step's time together with the lane driver's borrowed views.
    """
    return types.int64(S, X, i0, d, zk, zw), _normal_run(False)


@intrinsic
def normal_run_fused(typingctx, S, X, i0, d, zk, zw, V, XC, XP, acc, hy, go):
    """:func:`normal_run`, and at each coordinate i the previous step's update and this step's dot term.

    Before coordinate i's draw: ``V[i] += hy * XP[i]`` on the lanes with ``go != 0.0`` (:func:`vaxpy`'s
    element, XP the previous sample), then ``acc += V[i] * XC[i]`` (:func:`vdot`'s term, XC this
    step's sample, with the updated weight). Coordinates are visited once each, in order, across the
    calls of one :func:`lane_normals_fused`, so V and acc end as vaxpy then vdot would leave them;
    acc is read from and written back to its array.
    """
    return types.int64(S, X, i0, d, zk, zw, V, XC, XP, acc, hy, go), _normal_run(True)


@intrinsic
def vdot(typingctx, V, X, n, out):
    """out[l] = sum over i < n of V[i*LANES + l] * X[i*LANES + l], added in order of i from 0.0 (the scalar dot)."""
    sig = types.void(V, X, n, out)

    def codegen(context, builder, signature, args):
        v_arr, x_arr, n_v, o_arr = args
        vp = data_ptr(context, builder, signature.args[0], v_arr)
        xp = data_ptr(context, builder, signature.args[1], x_arr)
        op = data_ptr(context, builder, signature.args[3], o_arr)
        acc = cgutils.alloca_once_value(builder, ir.Constant(_VF, [0.0] * LANES))
        with cgutils.for_range(builder, n_v) as loop:
            off = builder.mul(loop.index, ir.Constant(_I64, LANES))
            a = builder.load(_row(builder, vp, off, _VF), align=8)
            b = builder.load(_row(builder, xp, off, _VF), align=8)
            builder.store(builder.fadd(builder.load(acc), builder.fmul(a, b)), acc)
        builder.store(builder.load(acc), _row(builder, op, ir.Constant(_I64, 0), _VF), align=8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def vaxpy(typingctx, V, X, n, hy, go):
    """V[i*LANES + l] += hy[l] * X[i*LANES + l] for i < n on the lanes with go[l] != 0.0; other lanes untouched."""
    sig = types.void(V, X, n, hy, go)

    def codegen(context, builder, signature, args):
        v_arr, x_arr, n_v, h_arr, g_arr = args
        vp = data_ptr(context, builder, signature.args[0], v_arr)
        xp = data_ptr(context, builder, signature.args[1], x_arr)
        zero = ir.Constant(_I64, 0)
        h = builder.load(_row(builder, data_ptr(context, builder, signature.args[3], h_arr), zero, _VF), align=8)
        g = builder.load(_row(builder, data_ptr(context, builder, signature.args[4], g_arr), zero, _VF), align=8)
        on = builder.fcmp_unordered("!=", g, ir.Constant(_VF, [0.0] * LANES))
        with cgutils.for_range(builder, n_v) as loop:
            p = _row(builder, vp, builder.mul(loop.index, ir.Constant(_I64, LANES)), _VF)
            old = builder.load(p, align=8)
            b = builder.load(_row(builder, xp, builder.mul(loop.index, ir.Constant(_I64, LANES)), _VF), align=8)
            builder.store(builder.select(on, builder.fadd(old, builder.fmul(h, b)), old), p, align=8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def lane_uniform_bits(typingctx, S, W):
    """Every lane's next generator output u (rows s0..s3 of S advanced, as :func:`.draws.next_u64`), and
    ``W[l] = ~(u >> 8)`` on its low 56 bits: :func:`.boolean.bernoulli_word` at q = 1/2, all lanes at once.

    At q = 1/2 the scalar word consumes exactly one output (its first digit decides every bit), so
    the lanes stay in their scalar order; other q take a data-dependent number of outputs per lane
    and are drawn lane by lane.
    """
    sig = types.void(S, W)

    def codegen(context, builder, signature, args):
        sp = data_ptr(context, builder, signature.args[0], args[0])
        wp = data_ptr(context, builder, signature.args[1], args[1])
        rows = [_row(builder, sp, ir.Constant(_I64, k * LANES), _VI) for k in range(4)]
        s0, s1, s2, s3 = (builder.load(r, align=8) for r in rows)
        u, (s0, s1, s2, s3) = _next_u64(builder, (s0, s1, s2, s3))
        for r, v in zip(rows, (s0, s1, s2, s3), strict=True):
            builder.store(v, r, align=8)
        bits = builder.and_(builder.xor(builder.lshr(u, _splat(_VI, 8)), _splat(_VI, -1)), _splat(_VI, (1 << 56) - 1))
        builder.store(bits, _row(builder, wp, ir.Constant(_I64, 0), _VI), align=8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def lane_signs(typingctx, W, X, i0, n):
    """X[(i0+b)*LANES + l] = +1.0 if bit b of W[l] is 1 else -1.0, for b < n: the hypercube's bits as inputs.

    One vector of the LANES words, then per coordinate a shift, a mask, a compare and a select
    (Numba's loop over the lanes was not vectorised: measured 15 ns per lane-step at d = 30).
    """
    sig = types.void(W, X, i0, n)

    def codegen(context, builder, signature, args):
        w_arr, x_arr, i0_v, n_v = args
        w = builder.load(_row(builder, data_ptr(context, builder, signature.args[0], w_arr), ir.Constant(_I64, 0), _VI), align=8)
        xp = data_ptr(context, builder, signature.args[1], x_arr)
        i0 = context.cast(builder, i0_v, signature.args[2], types.int64)
        n = context.cast(builder, n_v, signature.args[3], types.int64)
        plus, minus = ir.Constant(_VF, [1.0] * LANES), ir.Constant(_VF, [-1.0] * LANES)
        with cgutils.for_range(builder, n) as loop:
            b = builder.insert_element(ir.Constant(_VI, ir.Undefined), loop.index, ir.Constant(_I32, 0))
            b = builder.shuffle_vector(b, ir.Constant(_VI, ir.Undefined), ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))
            bit = builder.and_(builder.lshr(w, b), _splat(_VI, 1))
            on = builder.icmp_unsigned("!=", bit, _splat(_VI, 0))
            off = builder.mul(builder.add(i0, loop.index), ir.Constant(_I64, LANES))
            builder.store(builder.select(on, plus, minus), _row(builder, xp, off, _VF), align=8)
        return context.get_dummy_value()

    return sig, codegen


def _inlined(f: pytypes.FunctionType, name: str):
    """A copy of the scalar kernel ``f`` compiled inline into its callers (same code, own cache entry).

    Measured: calling the slow path out of line costs about 60 ns more per call inside the lane
    loop than inlining it (1.8 against 2.8 ns per normal with 8 lanes).
    """
    nf = pytypes.FunctionType(f.__code__, f.__globals__, name, f.__defaults__, f.__closure__)
    nf.__qualname__ = name
    nf.__module__ = f.__module__
    return jit(nf, inline="always")


# (interpreted, NUMBA_DISABLE_JIT, the kernel is the plain function itself)
_normal_slow = _inlined(getattr(draws._normal_slow, "py_func", draws._normal_slow), "_normal_slow_inlined")

_U56 = np.uint64(56)
_U8 = np.uint64(8)


@jit
def lane_state(S, lane):
    """Lane ``lane``'s generator state as the scalar kernels' tuple."""
    return (
        S[lane],
        S[LANES + lane],
        S[2 * LANES + lane],
        S[3 * LANES + lane],
        S[ROW_BITS * LANES + lane],
        S[ROW_NBITS * LANES + lane],
    )


@jit(inner=True)
def set_lane_state(S, lane, st):
    (
        S[lane],
        S[LANES + lane],
        S[2 * LANES + lane],
        S[3 * LANES + lane],
        S[ROW_BITS * LANES + lane],
        S[ROW_NBITS * LANES + lane],
    ) = st


@intrinsic
def put_lane_words(typingctx, S, lane, s0, s1, s2, s3):
    """Rows s0..s3 of S at ``lane`` set to the four words, each row as a vector: loaded, the lane inserted, stored.

    The same words as four scalar stores (:func:`set_lane_state`), but the next vector load of a
    row (:func:`normal_run` on entry) then finds a whole vector store to forward from instead of
    waiting for a scalar store inside it to reach the cache.
    """
    sig = types.void(S, lane, s0, s1, s2, s3)

    def codegen(context, builder, signature, args):
        sp = data_ptr(context, builder, signature.args[0], args[0])
        ln = builder.trunc(context.cast(builder, args[1], signature.args[1], types.int64), _I32)  # any integer lane index
        for k in range(4):
            p = _row(builder, sp, ir.Constant(_I64, k * LANES), _VI)
            builder.store(builder.insert_element(builder.load(p, align=8), args[2 + k], ln), p, align=8)
        return context.get_dummy_value()

    return sig, codegen


@jit(inline="always")
def _slow_lanes(S, X, i, miss):
    """The slow path of the lanes in ``miss`` at coordinate i, lowest first (a trailing-zero count each, no branch per lane)."""
    while miss != 0:
        lane = trailing_zeros(miss)
        miss &= miss - 1
        u = S[ROW_U * LANES + lane]
        idx = np.intp(u >> _U56)
        hz = np.int64(u << _U8) >> 11
        rabs = hz if hz >= 0 else -hz
        st = lane_state(S, lane)
        x, st = _normal_slow(st, rabs, idx, X[i * LANES + lane])
        X[i * LANES + lane] = x
        put_lane_words(S, lane, st[0], st[1], st[2], st[3])  # the slow path leaves the label bits alone


@jit
def lane_normals(S, X, d):
    """X[i*LANES + l] = lane l's next standard normal, for i < d (each lane's stream in the scalar order)."""
    i = 0
    while i < d:
        r = normal_run(S, X, i, d, ZK, ZW)
        i = r >> 16
        _slow_lanes(S, X, i, r & 0xFFFF)
        i += 1  # past the coordinate that missed (with no miss, i == d: past the end)


@jit(inline="always")
def lane_normals_fused(S, X, d, V, XC, XP, acc, hy, go):
    """:func:`lane_normals` into X, with ``vaxpy(V, XP, d, hy, go)`` then ``vdot(V, XC, d, acc)`` done alongside.

    The draws do not depend on V, so the update and the dot (a chain of d dependent additions)
    run in the shadow of the draws instead of after them (:func:`normal_run_fused`).
    """
    for lane in range(LANES):
        acc[lane] = 0.0
    i = 0
    while i < d:
        r = normal_run_fused(S, X, i, d, ZK, ZW, V, XC, XP, acc, hy, go)
        i = r >> 16
        _slow_lanes(S, X, i, r & 0xFFFF)
        i += 1
