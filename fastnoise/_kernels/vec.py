"""Explicit SIMD kernels: LLVM vector IR through :func:`numba.extending.intrinsic`.

Why hand-written IR: Numba's arrays may alias, so LLVM keeps a layer's pre-activations in memory
between the rows of a matrix-vector product (a load and a store of ``pre`` per row and unit) and
does not vectorise loops over replicas at all. Here the vectors are explicit: ``<8 x double>`` (or,
for float32 arrays, ``<16 x float>``: the kernels take the element type from their arrays) is
one AVX-512 register, or two AVX2 ones on machines without AVX-512 (LLVM splits it).

Bitwise contract: each kernel performs, element by element, exactly the operations of the plain
loop it replaces, in the same order (no FMA: the package never enables fastmath), so tables do
not change; in float32 the same holds against the plain loops compiled for float32 arrays, except
the output sum, whose 16 lanes are 16 partial sums (see :func:`_output`). ``tests/kernels/test_vec.py``,
``tests/kernels/test_lanes.py`` and ``tests/kernels/test_golden.py`` hold them to that.

- :func:`forward_rows4_vec` / :func:`forward_rows1_vec`: :func:`.twolayer.forward_rows4` /
  :func:`.twolayer.forward_rows1` with a block of :data:`NB` x 8 hidden units' sums kept in
  registers across all rows (register blocking: each weight is loaded once, ``pre`` is written
  once; measured at width 100: 485 -> 281 ns per forward pass).
- :func:`forward_sparse_vec`: :func:`.twolayer.forward_sparse` (rows with ``x_j = 0`` skipped), the same way.
- :func:`rank1_vec` / :func:`rank1_sparse_vec`: ``W[j, i] += g[i] * x[j]`` (on every row / on the
  rows with ``x_j != 0``) with a block of ``g`` kept in registers.
- :func:`rank1_forward_rows4_vec` / ``rows1`` / ``sparse``: an update, then the next input's
  forward pass, in one pass over the weights (:func:`.twolayer.learn_evaluate`).
- :func:`output_vec` / :func:`output_leaky_vec`: :func:`.twolayer.output` / :func:`.mlp.output_leaky`,
  their 8 interleaved partial sums as the 8 lanes of one vector (the plain loop stays scalar:
  Numba's wraparound checks on ``pre[i + 1]`` ... cost a compare and a cmov per element;
  measured at width 104: 112 -> 34 ns per call).
- :func:`borrowed`: a tuple of array views without an owner (no atomic reference counting).

The interpreted mode (``NUMBA_DISABLE_JIT``) has no intrinsics; callers test :data:`COMPILED`
(a compile-time constant) and keep the plain loops for it.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: Whether kernels are compiled (else the plain loops run: intrinsics exist only in compiled code).
COMPILED = not numba.config.DISABLE_JIT  # type: ignore[attr-defined]

# Doubles per vector: the lane count of lanes.py and the lane drivers (_Elt gives each kernel's own: 8 doubles or 16 floats).
LANES = 8
NB = 4  # vectors per register block (4 x 8 doubles or 4 x 16 floats; 32 zmm registers leave room for the rows)

I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()
VF = ir.VectorType(F64, LANES)


def data_ptr(context, builder, aryty, ary):
    """The data pointer of a Numba array value."""
    return cgutils.create_struct_proxy(aryty)(context, builder, value=ary).data


def vptr(builder, base, off, vty=VF):
    """A pointer to the vector (of type ``vty``: LANES doubles by default) at element ``off`` of ``base``."""
    return builder.bitcast(builder.gep(base, [off]), vty.as_pointer())


def _c(n):
    return ir.Constant(I64, n)


class _Elt:
    """The element type of a kernel's arrays: float64 (8 lanes per vector) or float32 (16 lanes).

    Either way a vector is 64 bytes, one cache line and one AVX-512 register.
    """

    def __init__(self, context, dtype):
        self.dtype = dtype
        self.ty = context.get_value_type(dtype)
        self.size = dtype.bitwidth // 8
        self.lanes = 64 // self.size
        self.vty = ir.VectorType(self.ty, self.lanes)
        self.zero = ir.Constant(self.vty, [0.0] * self.lanes)

    def splat(self, builder, value):
        """A vector of copies of the scalar ``value`` (of this element type)."""
        v = ir.Constant(self.vty, ir.Undefined)
        for lane in range(self.lanes):
            v = builder.insert_element(v, value, ir.Constant(I32, lane))
        return v

    def at(self, builder, base, off):
        """The vector at element ``off`` of ``base`` (a pointer to elements)."""
        return builder.load(vptr(builder, base, off, self.vty), align=self.size)

    def put(self, builder, value, base, off):
        builder.store(value, vptr(builder, base, off, self.vty), align=self.size)

    def scalar(self, context, builder, value, fromty):
        """A scalar argument (an element of another array, a float) cast to this element type."""
        return context.cast(builder, value, fromty, self.dtype)

    def blocks(self, builder, kp, body):
        """Call ``body(first_unit, nvec)`` for blocks of NB vectors over ``kp`` units, then single vectors."""
        step = self.lanes * NB
        nfull = builder.sdiv(kp, _c(step))
        with cgutils.for_range(builder, nfull) as b:
            body(builder.mul(b.index, _c(step)), NB)
        rest0 = builder.mul(nfull, _c(step))
        with cgutils.for_range(builder, builder.sdiv(builder.sub(kp, rest0), _c(self.lanes))) as b:
            body(builder.add(rest0, builder.mul(b.index, _c(self.lanes))), 1)


def _floats(*arys):
    """Whether the arrays share one element type, float64 or float32 (else the intrinsic does not type).

    The kernels' vectors are of the first array's element type; a mismatch would read or write
    another array's bytes as that type, so it is refused when the caller compiles.
    """
    dtypes = {getattr(a, "dtype", None) for a in arys}
    return len(dtypes) == 1 and dtypes <= {types.float64, types.float32}


def _rows(context, builder, aryty, ary):
    """(data pointer, elements per row) of a C-layout-rows 2-D array."""
    st = cgutils.create_struct_proxy(aryty)(context, builder, value=ary)
    return st.data, builder.sdiv(builder.extract_value(st.strides, 0), _c(aryty.dtype.bitwidth // 8))


#: The largest input (rows) whose lit rows the sparse kernels list first (an int32 list of this
#: many entries on the stack); wider inputs test each row inside every block instead.
LIT_MAX = 2048
_I32P = ir.IntType(32)


def _lit_rows(context, builder, e, inputs, din):
    """(list, count): the rows j < din, in order, where any of ``inputs`` (``(pointer, numba type)``) is non-zero.

    Each input is tested as the kernels use it: cast to the weights' element type ``e``.

    Why a list: the sparse kernels visit the rows once per register block (width 256: 8 blocks);
    a test of x_j inside each block is a branch the predictor cannot learn (about a fifth of an
    image's pixels are lit, at random to it), paid 8 times per row. The list is built once, without
    branches (each j is written, the count moves on when the row is lit), and the blocks loop over it.
    """
    buf = cgutils.alloca_once(builder, ir.ArrayType(_I32P, LIT_MAX))
    n = cgutils.alloca_once_value(builder, _c(0))
    with cgutils.for_range(builder, din) as row:
        j = row.index
        lit = None
        for ptr, ty in inputs:
            v = e.scalar(context, builder, builder.load(builder.gep(ptr, [j])), ty)
            nz = builder.fcmp_unordered("!=", v, ir.Constant(e.ty, 0.0))
            lit = nz if lit is None else builder.or_(lit, nz)
        k = builder.load(n)
        builder.store(builder.trunc(j, _I32P), builder.gep(buf, [_c(0), k]))
        builder.store(builder.add(k, builder.zext(lit, I64)), n)
    return buf, builder.load(n)


def _each_lit(builder, buf, n, body):
    """``body(j)`` for the rows of a :func:`_lit_rows` list, in order."""
    with cgutils.for_range(builder, n) as t:
        body(builder.sext(builder.load(builder.gep(buf, [_c(0), t.index])), I64))


def _run_blocks(context, builder, e, kp, din, block, lit, inputs=None):
    """``e.blocks(builder, kp, block)``; for a sparse kernel (``inputs``: those whose lit rows it visits), twice over.

    ``block`` reads ``lit[0]``: the :func:`_lit_rows` list where the input fits one (din <= LIT_MAX),
    else None (the rows tested one by one in each block); the same sums either way.
    """
    if inputs is None:
        lit[0] = None
        e.blocks(builder, kp, block)
        return
    with builder.if_else(builder.icmp_signed("<=", din, _c(LIT_MAX))) as (then, otherwise):
        with then:
            lit[0] = _lit_rows(context, builder, e, inputs, din)
            e.blocks(builder, kp, block)
        with otherwise:
            lit[0] = None
            e.blocks(builder, kp, block)


def _forward(mode):
    """Codegen of the forward pass: mode "rows4", "rows1" or "sparse" (the plain loop it reproduces)."""
    rows4 = mode == "rows4"
    sparse = mode == "sparse"

    def codegen(context, builder, signature, args):
        w_a, x_a, din, kp, p_a = args
        e = _Elt(context, signature.args[0].dtype)
        xty = signature.args[1].dtype
        wp, rstride = _rows(context, builder, signature.args[0], w_a)
        xp = data_ptr(context, builder, signature.args[1], x_a)
        pp = data_ptr(context, builder, signature.args[4], p_a)
        zero = e.zero
        accs = [cgutils.alloca_once_value(builder, zero) for _ in range(NB)]  # promoted to registers

        def w_at(row, col):
            return e.at(builder, wp, builder.add(builder.mul(row, rstride), col))

        def x_scalar(j):
            return e.scalar(context, builder, builder.load(builder.gep(xp, [j])), xty)

        def x_at(j):
            return e.splat(builder, x_scalar(j))

        def add_rows(start, col0, nvec):  # acc += w_j * x_j for j in [start, din), in order (sparse: x_j != 0 only)
            with cgutils.for_range_slice(builder, start, din, _c(1)) as (j, _):
                xs = x_scalar(j)
                with builder.if_then(builder.fcmp_unordered("!=", xs, ir.Constant(e.ty, 0.0)) if sparse else cgutils.true_bit):
                    xj = e.splat(builder, xs)
                    for k in range(nvec):
                        col = builder.add(col0, _c(e.lanes * k))
                        builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(w_at(j, col), xj)), accs[k])

        def block(col0, nvec):
            if rows4:  # forward_rows4: pre = 0; pre += ((w0 x0 + w1 x1) + (w2 x2 + w3 x3)) per 4 rows; rest one by one
                for k in range(nvec):
                    builder.store(zero, accs[k])
                groups = builder.sdiv(din, _c(4))
                with cgutils.for_range(builder, groups) as g:
                    j = builder.mul(g.index, _c(4))
                    xs = [x_at(builder.add(j, _c(q))) for q in range(4)]
                    for k in range(nvec):
                        col = builder.add(col0, _c(e.lanes * k))
                        w = [w_at(builder.add(j, _c(q)), col) for q in range(4)]
                        a = builder.fadd(builder.fmul(w[0], xs[0]), builder.fmul(w[1], xs[1]))
                        b = builder.fadd(builder.fmul(w[2], xs[2]), builder.fmul(w[3], xs[3]))
                        builder.store(builder.fadd(builder.load(accs[k]), builder.fadd(a, b)), accs[k])
                add_rows(builder.mul(groups, _c(4)), col0, nvec)
            elif sparse:  # forward_sparse: pre = 0; pre += w_j x_j for the j with x_j != 0, in order
                for k in range(nvec):
                    builder.store(zero, accs[k])
                if lit[0] is None:
                    add_rows(_c(0), col0, nvec)
                else:

                    def term(j):
                        xj = x_at(j)
                        for k in range(nvec):
                            col = builder.add(col0, _c(e.lanes * k))
                            builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(w_at(j, col), xj)), accs[k])

                    _each_lit(builder, *lit[0], term)
            else:  # forward_rows1: pre = w_0 x_0; pre += w_j x_j for j = 1 ... din-1
                x0 = x_at(_c(0))
                for k in range(nvec):
                    builder.store(builder.fmul(w_at(_c(0), builder.add(col0, _c(e.lanes * k))), x0), accs[k])
                add_rows(_c(1), col0, nvec)
            for k in range(nvec):
                e.put(builder, builder.load(accs[k]), pp, builder.add(col0, _c(e.lanes * k)))

        lit = [None]  # what block reads: set by _run_blocks
        _run_blocks(context, builder, e, kp, din, block, lit, [(xp, xty)] if sparse else None)
        return context.get_dummy_value()

    return codegen


@intrinsic
def forward_rows4_vec(typingctx, W, x, din, kp, pre):
    """:func:`.twolayer.forward_rows4`, register-blocked (kp a multiple of 8)."""
    if not _floats(W, pre):
        return None
    return types.void(W, x, din, kp, pre), _forward("rows4")


@intrinsic
def forward_rows1_vec(typingctx, W, x, din, kp, pre):
    """:func:`.twolayer.forward_rows1`, register-blocked (kp a multiple of 8)."""
    if not _floats(W, pre):
        return None
    return types.void(W, x, din, kp, pre), _forward("rows1")


@intrinsic
def forward_sparse_vec(typingctx, W, x, din, kp, pre):
    """:func:`.twolayer.forward_sparse` (rows with x_j = 0 skipped), register-blocked (kp a multiple of 8)."""
    if not _floats(W, pre):
        return None
    return types.void(W, x, din, kp, pre), _forward("sparse")


def _rank1(sparse):

    def codegen(context, builder, signature, args):
        w_a, x_a, din_v, kp_v, g_a = args
        e = _Elt(context, signature.args[0].dtype)
        xty = signature.args[1].dtype
        wp, rstride = _rows(context, builder, signature.args[0], w_a)
        xp = data_ptr(context, builder, signature.args[1], x_a)
        gp = data_ptr(context, builder, signature.args[4], g_a)

        def block(col0, nvec):
            gs = [e.at(builder, gp, builder.add(col0, _c(e.lanes * k))) for k in range(nvec)]

            def row(j):
                xj = e.splat(builder, e.scalar(context, builder, builder.load(builder.gep(xp, [j])), xty))
                base = builder.mul(j, rstride)
                for k in range(nvec):
                    off = builder.add(base, builder.add(col0, _c(e.lanes * k)))
                    e.put(builder, builder.fadd(e.at(builder, wp, off), builder.fmul(gs[k], xj)), wp, off)

            if lit[0] is not None:
                _each_lit(builder, *lit[0], row)
                return
            with cgutils.for_range(builder, din_v) as j:
                xs = e.scalar(context, builder, builder.load(builder.gep(xp, [j.index])), xty)
                with builder.if_then(builder.fcmp_unordered("!=", xs, ir.Constant(e.ty, 0.0)) if sparse else cgutils.true_bit):
                    row(j.index)

        lit = [None]  # what block reads: set by _run_blocks
        _run_blocks(context, builder, e, kp_v, din_v, block, lit, [(xp, xty)] if sparse else None)
        return context.get_dummy_value()

    return codegen


@intrinsic
def rank1_vec(typingctx, W, x, din, kp, g):
    """W[j, i] += g[i] * x[j] for j < din, i < kp (kp a multiple of 8)."""
    if not _floats(W, g):
        return None
    return types.void(W, x, din, kp, g), _rank1(False)


@intrinsic
def rank1_sparse_vec(typingctx, W, x, din, kp, g):
    """The same on the rows with x[j] != 0 only (exact: adding g * 0 changes nothing), for sparse inputs."""
    if not _floats(W, g):
        return None
    return types.void(W, x, din, kp, g), _rank1(True)


def _rank1_forward(mode):
    """Codegen of :func:`rank1_vec` on (x, g), then the forward pass ("rows4", "rows1" or "sparse") on the next input.

    Column block by column block, each row of the block is updated and, still in registers, added
    into the next input's pre-activations: the weights are read and written once instead of
    written, then read again. Each element's update and each pre-activation's additions are those
    of :func:`rank1_vec` and of :func:`forward_rows4_vec` / :func:`forward_rows1_vec`, in the same
    order, so the results are theirs bit for bit. "sparse": :func:`rank1_sparse_vec` then
    :func:`forward_sparse_vec`; a row is updated if x_j != 0, then added if xn_j != 0, and the
    rows where both are 0 are not touched.
    """
    rows4 = mode == "rows4"
    sparse = mode == "sparse"

    def codegen(context, builder, signature, args):
        w_a, x_a, g_a, xn_a, din, kp, p_a = args
        e = _Elt(context, signature.args[0].dtype)
        xty, xnty = signature.args[1].dtype, signature.args[3].dtype
        wp, rstride = _rows(context, builder, signature.args[0], w_a)
        xp = data_ptr(context, builder, signature.args[1], x_a)
        gp = data_ptr(context, builder, signature.args[2], g_a)
        xnp = data_ptr(context, builder, signature.args[3], xn_a)
        pp = data_ptr(context, builder, signature.args[6], p_a)
        accs = [cgutils.alloca_once_value(builder, e.zero) for _ in range(NB)]  # promoted to registers

        def x_at(ptr, ty, j):
            return e.splat(builder, e.scalar(context, builder, builder.load(builder.gep(ptr, [j])), ty))

        def moved(j, col, gk, xj):  # rank1_vec's element: W[j, col] + g * x[j], stored
            off = builder.add(builder.mul(j, rstride), col)
            w = builder.fadd(e.at(builder, wp, off), builder.fmul(gk, xj))
            e.put(builder, w, wp, off)
            return w

        def block(col0, nvec):
            cols = [builder.add(col0, _c(e.lanes * k)) for k in range(nvec)]
            gs = [e.at(builder, gp, c) for c in cols]

            def one_row(j, first):  # forward_rows1's (and rows4's remainder) term: acc (+)= w_j * xn_j
                xj, xnj = x_at(xp, xty, j), x_at(xnp, xnty, j)
                for k in range(nvec):
                    term = builder.fmul(moved(j, cols[k], gs[k], xj), xnj)
                    builder.store(term if first else builder.fadd(builder.load(accs[k]), term), accs[k])

            if sparse:  # pre = 0; rank1_sparse_vec's row if x_j != 0, then forward_sparse_vec's term if xn_j != 0
                for k in range(nvec):
                    builder.store(e.zero, accs[k])
                zero = ir.Constant(e.ty, 0.0)

                def sparse_row(j):
                    xs = e.scalar(context, builder, builder.load(builder.gep(xp, [j])), xty)
                    xns = e.scalar(context, builder, builder.load(builder.gep(xnp, [j])), xnty)
                    if lit[0] is None:  # branches on each row
                        with builder.if_then(builder.fcmp_unordered("!=", xs, zero)):
                            xj = e.splat(builder, xs)
                            for k in range(nvec):
                                moved(j, cols[k], gs[k], xj)
                        with builder.if_then(builder.fcmp_unordered("!=", xns, zero)):
                            xnj = e.splat(builder, xns)
                            base = builder.mul(j, rstride)
                            for k in range(nvec):
                                w = e.at(builder, wp, builder.add(base, cols[k]))
                                builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(w, xnj)), accs[k])
                        return
                    # a listed row (x_j or xn_j lit): selects, not branches; a row x leaves dark is
                    # stored back unchanged, a term of a dark xn_j is computed and not kept
                    on, onn = builder.fcmp_unordered("!=", xs, zero), builder.fcmp_unordered("!=", xns, zero)
                    xj, xnj = e.splat(builder, xs), e.splat(builder, xns)
                    base = builder.mul(j, rstride)
                    for k in range(nvec):
                        off = builder.add(base, cols[k])
                        old = e.at(builder, wp, off)
                        w = builder.select(on, builder.fadd(old, builder.fmul(gs[k], xj)), old)
                        e.put(builder, w, wp, off)
                        acc = builder.load(accs[k])
                        builder.store(builder.select(onn, builder.fadd(acc, builder.fmul(w, xnj)), acc), accs[k])

                if lit[0] is None:
                    with cgutils.for_range(builder, din) as row:
                        sparse_row(row.index)
                else:
                    _each_lit(builder, *lit[0], sparse_row)
            elif rows4:  # pre = 0; pre += ((w0 xn0 + w1 xn1) + (w2 xn2 + w3 xn3)) per 4 rows; the rest one by one
                for k in range(nvec):
                    builder.store(e.zero, accs[k])
                groups = builder.sdiv(din, _c(4))
                with cgutils.for_range(builder, groups) as grp:
                    j = builder.mul(grp.index, _c(4))
                    rows = [builder.add(j, _c(q)) for q in range(4)]
                    xs = [x_at(xp, xty, r) for r in rows]
                    xns = [x_at(xnp, xnty, r) for r in rows]
                    for k in range(nvec):
                        w = [moved(rows[q], cols[k], gs[k], xs[q]) for q in range(4)]
                        a = builder.fadd(builder.fmul(w[0], xns[0]), builder.fmul(w[1], xns[1]))
                        b = builder.fadd(builder.fmul(w[2], xns[2]), builder.fmul(w[3], xns[3]))
                        builder.store(builder.fadd(builder.load(accs[k]), builder.fadd(a, b)), accs[k])
                with cgutils.for_range_slice(builder, builder.mul(groups, _c(4)), din, _c(1)) as (j, _):
                    one_row(j, False)
            else:  # pre = w_0 xn_0; pre += w_j xn_j for j = 1 ... din-1
                one_row(_c(0), True)
                with cgutils.for_range_slice(builder, _c(1), din, _c(1)) as (j, _):
                    one_row(j, False)
            for k in range(nvec):
                e.put(builder, builder.load(accs[k]), pp, cols[k])

        lit = [None]  # what block reads: set by _run_blocks
        _run_blocks(context, builder, e, kp, din, block, lit, [(xp, xty), (xnp, xnty)] if sparse else None)
        return context.get_dummy_value()

    return codegen


@intrinsic
def rank1_forward_rows4_vec(typingctx, W, x, g, xn, din, kp, pre):
    """:func:`rank1_vec` (W += g x^T), then :func:`forward_rows4_vec` on ``xn``, in one pass over W."""
    if not _floats(W, g, pre):
        return None
    return types.void(W, x, g, xn, din, kp, pre), _rank1_forward("rows4")


@intrinsic
def rank1_forward_rows1_vec(typingctx, W, x, g, xn, din, kp, pre):
    """:func:`rank1_vec` (W += g x^T), then :func:`forward_rows1_vec` on ``xn``, in one pass over W."""
    if not _floats(W, g, pre):
        return None
    return types.void(W, x, g, xn, din, kp, pre), _rank1_forward("rows1")


@intrinsic
def rank1_forward_sparse_vec(typingctx, W, x, g, xn, din, kp, pre):
    """:func:`rank1_sparse_vec` (W += g x^T on the rows with x_j != 0), then :func:`forward_sparse_vec` on ``xn``, in one pass."""
    if not _floats(W, g, pre):
        return None
    return types.void(W, x, g, xn, din, kp, pre), _rank1_forward("sparse")


def _tree(builder, o):
    """The pairwise sum of the lanes ``o``: ((o0 + o1) + (o2 + o3)) + ((o4 + o5) + (o6 + o7)) for 8."""
    if len(o) == 1:
        return o[0]
    h = len(o) // 2
    return builder.fadd(_tree(builder, o[:h]), _tree(builder, o[h:]))


def _output(leaky):
    """Codegen of :func:`.twolayer.output` (``leaky``: :func:`.mlp.output_leaky`, slope ``leak`` below 0).

    float64: the plain loop's 8 partial sums exactly. float32: 16 partial sums (one per lane),
    added pairwise as float32, the bias added in float64.
    """

    def codegen(context, builder, signature, args):
        v_a, p_a, kp, b2 = args[:4]
        e = _Elt(context, signature.args[0].dtype)
        kp = context.cast(builder, kp, signature.args[2], types.int64)
        b2 = context.cast(builder, b2, signature.args[3], types.float64)
        vp = data_ptr(context, builder, signature.args[0], v_a)
        pp = data_ptr(context, builder, signature.args[1], p_a)
        zero = e.zero
        if leaky:
            leak = e.splat(builder, e.scalar(context, builder, args[4], signature.args[4]))
        acc = cgutils.alloca_once_value(builder, zero)  # lane l: o_l of the plain loop
        with cgutils.for_range(builder, builder.sdiv(kp, _c(e.lanes))) as b:
            i = builder.mul(b.index, _c(e.lanes))
            p = e.at(builder, pp, i)
            below = builder.fmul(leak, p) if leaky else zero  # leak * p (leaky) or 0.0
            act = builder.select(builder.fcmp_ordered(">", p, zero), p, below)  # p if p > 0.0 else ...
            term = builder.fmul(e.at(builder, vp, i), act)
            builder.store(builder.fadd(builder.load(acc), term), acc)
        a = builder.load(acc)
        s = _tree(builder, [builder.extract_element(a, ir.Constant(I32, lane)) for lane in range(e.lanes)])
        return builder.fadd(b2, context.cast(builder, s, e.dtype, types.float64))

    return codegen


@intrinsic
def output_vec(typingctx, Vw, pre, kp, b2):
    """:func:`.twolayer.output`: b2 + sum_i V[i] * ReLU(pre[i]) in 8 interleaved partial sums (kp a multiple of 8)."""
    if not _floats(Vw, pre):
        return None
    return types.float64(Vw, pre, kp, b2), _output(False)


@intrinsic
def output_leaky_vec(typingctx, Vw, pre, kp, b2, leak):
    """:func:`.mlp.output_leaky`: the same sum with ``leak * pre[i]`` for ``pre[i] <= 0``."""
    if not _floats(Vw, pre):
        return None
    return types.float64(Vw, pre, kp, b2, leak), _output(True)


@intrinsic
def borrowed(typingctx, views):
    """The tuple ``views`` of arrays as borrowed views: the same data, shapes and strides, no owner.

    Why: Numba's reference-count pruner keeps the incref/decref pair of an array argument in
    functions with loops and calls (the step's sample and update), and each is an atomic
    read-modify-write through a call, several per step (counted in the two-layer step loop's assembly: 7 pairs per step).
    Numba's NRT_incref and NRT_decref return at once for a view without an owner (a null meminfo).
    The caller keeps the arrays alive: :func:`.loops._drive` holds them for the whole call.
    """
    if not isinstance(views, types.BaseTuple):
        return None

    def codegen(context, builder, signature, args):
        (tup,) = args
        out = tup
        for i, ty in enumerate(signature.args[0]):
            item = builder.extract_value(tup, i)
            if isinstance(ty, types.Array):
                ary = cgutils.create_struct_proxy(ty)(context, builder, value=item)
                ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
                ary.parent = cgutils.get_null_value(ary.parent.type)
                item = ary._getvalue()
            out = builder.insert_value(out, item, i)
        return out

    return views(views), codegen
