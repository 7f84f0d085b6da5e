"""The explicit-SIMD kernels (``fastnoise/_kernels/vec.py``) against the plain loops they replace.

Each vector kernel must do exactly the plain loop's operations in the same order, so the tests
compare bit patterns (``view(np.uint64)``), on widths that exercise the 4 x 8 register blocks and
the single-vector rest (8, 40, 104, 264), with weights over the whole exponent range, signed
zeros, exact zeros in the inputs (the sparse paths skip those rows) and NaN pre-activations.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fastnoise._kernels import mlp, twolayer, vec
from fastnoise._kernels.layout import aligned_zeros

pytestmark = pytest.mark.skipif(
    bool(numba.config.DISABLE_JIT),  # type: ignore[attr-defined]
    reason="LLVM vector intrinsics: compiled only (interpreted runs use the plain loops)",
)

WIDTHS = (8, 40, 104, 264)


def _bits(a):
    a = np.asarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _weights(rng, shape, wide=True, dtype=np.float64):
    """Weights over the exponent range (wide) or of one scale (where reordered sums round apart)."""
    w = aligned_zeros(shape, pad=0, dtype=dtype)
    span = 150 if dtype == np.float64 else 15
    w[...] = rng.standard_normal(shape) * (10.0 ** rng.integers(-span, span, shape) if wide else 1.0)
    w.flat[rng.random(w.size) < 0.05] = -0.0
    return w


def _output_loop(V, pre, kp, b2, leak=None):
    """twolayer.output / mlp.output_leaky as the plain loop (8 interleaved partial sums)."""
    o = [0.0] * 8
    for i in range(0, kp, 8):
        for lane in range(8):
            p = pre[i + lane]
            act = p if p > 0.0 else (0.0 if leak is None else leak * p)
            o[lane] += V[i + lane] * act
    return b2 + (((o[0] + o[1]) + (o[2] + o[3])) + ((o[4] + o[5]) + (o[6] + o[7])))


@numba.njit
def _out(V, pre, kp, b2):
    return vec.output_vec(V, pre, kp, b2)


@numba.njit
def _out_leaky(V, pre, kp, b2, leak):
    return vec.output_leaky_vec(V, pre, kp, b2, leak)


@pytest.mark.parametrize("kp", WIDTHS)
def test_output_vec_is_the_plain_loop(kp):
    rng = np.random.default_rng(kp)
    for trial in range(50):
        V = _weights(rng, (kp,), wide=trial % 2 == 0)
        pre = _weights(rng, (kp,), wide=trial % 2 == 0)
        pre[rng.random(kp) < 0.02] = np.nan
        b2 = float(rng.standard_normal())
        for got, want in (
            (_out(V, pre, kp, b2), _output_loop(V, pre, kp, b2)),
            (_out_leaky(V, pre, kp, b2, 0.01), _output_loop(V, pre, kp, b2, 0.01)),
        ):
            assert _bits(got) == _bits(want) or (np.isnan(got) and np.isnan(want)), (kp, trial)
    # the compiled entry points use them
    V = _weights(rng, (kp,))
    pre = _weights(rng, (kp,))
    assert _bits(twolayer.output(V, pre, kp, 0.5)) == _bits(_output_loop(V, pre, kp, 0.5))
    assert _bits(mlp.output_leaky(V, pre, kp, 0.5, 0.2)) == _bits(_output_loop(V, pre, kp, 0.5, 0.2))


def _tree32(o):
    """The pairwise sum of float32 lanes, in float32 (vec._tree)."""
    if len(o) == 1:
        return o[0]
    h = len(o) // 2
    return np.float32(_tree32(o[:h]) + _tree32(o[h:]))


def test_float32_output_is_16_lanes_added_pairwise():
    rng = np.random.default_rng(5)
    f = np.float32
    for kp in (16, 48, 112):
        for trial in range(20):
            V = _weights(rng, (kp,), wide=trial % 2 == 0, dtype=f)
            pre = _weights(rng, (kp,), wide=trial % 2 == 0, dtype=f)
            o = [f(0.0)] * 16
            for i in range(0, kp, 16):
                for lane in range(16):
                    p = pre[i + lane]
                    o[lane] = f(o[lane] + f(V[i + lane] * (p if p > 0.0 else f(0.0))))
            want = 0.25 + float(_tree32(o))  # the bias added in float64
            got = _out(V, pre, kp, f(0.25))
            assert _bits(np.float64(got)) == _bits(np.float64(want)), (kp, trial)


@numba.njit
def _fwd(mode, W, x, din, kp, pre):
    if mode == 0:
        vec.forward_rows4_vec(W, x, din, kp, pre)
    elif mode == 1:
        vec.forward_rows1_vec(W, x, din, kp, pre)
    else:
        vec.forward_sparse_vec(W, x, din, kp, pre)


@numba.njit
def _r1(sparse, W, x, din, kp, g):
    if sparse:
        vec.rank1_sparse_vec(W, x, din, kp, g)
    else:
        vec.rank1_vec(W, x, din, kp, g)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lines", (1, 5, 13, 33))
@pytest.mark.parametrize("din", (1, 5, 31, vec.LIT_MAX + 3))
def test_forward_and_rank1_vec_are_the_plain_loops(lines, din, dtype):
    """Widths of 1, 5, 13 and 33 vectors (8 doubles or 16 floats); the plain loops, compiled,
    compute float32 arrays in float32 too, so both precisions compare bit for bit."""
    kp = lines * 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(1000 * din + kp)
    W = _weights(rng, (din + 1, kp), wide=din != 31, dtype=dtype)
    x = rng.standard_normal(din + 1).astype(dtype)
    x[rng.random(din + 1) < 0.3] = 0.0  # rows the sparse paths skip
    x[0] = -0.0 if din > 1 else x[0]
    loops = (twolayer.forward_rows4, twolayer.forward_rows1, twolayer.forward_sparse_loop)
    for mode, loop in enumerate(loops):
        want = aligned_zeros((kp,), pad=0, dtype=dtype)
        got = aligned_zeros((kp,), pad=0, dtype=dtype)
        loop(W, x, din, kp, want)
        _fwd(mode, W, x, din, kp, got)
        assert np.array_equal(_bits(got), _bits(want)), loop.__name__
    g = _weights(rng, (kp,), dtype=dtype)
    for sparse in (False, True):
        want = W.copy()
        for j in range(din):
            if not sparse or x[j] != 0.0:
                for i in range(kp):
                    want[j, i] += g[i] * x[j]
        got = aligned_zeros(W.shape, pad=0, dtype=dtype)
        got[...] = W
        _r1(sparse, got, x, din, kp, g)
        assert np.array_equal(_bits(got), _bits(want)), sparse


@numba.njit
def _fused(mode, W, x, g, xn, din, kp, pre):
    if mode == 0:
        vec.rank1_forward_rows4_vec(W, x, g, xn, din, kp, pre)
    elif mode == 1:
        vec.rank1_forward_rows1_vec(W, x, g, xn, din, kp, pre)
    else:
        vec.rank1_forward_sparse_vec(W, x, g, xn, din, kp, pre)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lines", (1, 5, 13, 33))
@pytest.mark.parametrize("din", (1, 4, 5, 31, vec.LIT_MAX + 3))
def test_rank1_forward_is_rank1_then_forward(lines, din, dtype):
    """The fused pass (the two-layer net's update, then the next sample's forward pass) is rank1_vec
    then forward_rows4_vec / forward_rows1_vec bit for bit, and the sparse one rank1_sparse_vec then
    forward_sparse_vec: the weights and the pre-activations. Zeros in both inputs, rows where
    either, both or neither is 0, and a -0.0 (kept by the sparse update, made +0.0 by the dense one)."""
    kp = lines * 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(7 + 1000 * din + kp)
    W0 = _weights(rng, (din + 1, kp), wide=din != 31, dtype=dtype)
    x, xn = (rng.standard_normal(din + 1).astype(dtype) for _ in range(2))
    x[rng.random(din + 1) < 0.3] = 0.0
    xn[rng.random(din + 1) < 0.3] = 0.0
    xn[0] = -0.0
    if din > 1:  # a row the sparse update skips: its -0.0 stays (the dense one makes it +0.0)
        x[1] = 0.0
        W0[1, 0] = -0.0
    x[0] = x[0] or 0.75  # at least one row the sparse update moves
    g = _weights(rng, (kp,), dtype=dtype)
    for mode in (0, 1, 2):
        want_w = aligned_zeros(W0.shape, pad=0, dtype=dtype)
        want_w[...] = W0
        want = aligned_zeros((kp,), pad=0, dtype=dtype)
        _r1(mode == 2, want_w, x, din, kp, g)
        _fwd(mode, want_w, xn, din, kp, want)
        got_w = aligned_zeros(W0.shape, pad=0, dtype=dtype)
        got_w[...] = W0
        got = aligned_zeros((kp,), pad=0, dtype=dtype)
        _fused(mode, got_w, x, g, xn, din, kp, got)
        assert np.array_equal(_bits(got_w), _bits(want_w)), mode
        assert np.array_equal(_bits(got), _bits(want)), mode
        assert not np.array_equal(_bits(want_w), _bits(W0))  # the update moved weights


@numba.njit
def _through_borrowed(a, b):
    a2, b2 = vec.borrowed((a, b))
    for i in range(a2.shape[0]):
        a2[i] += 1.0
    b2[1, 2] = 7.0
    return a2.sum() + b2.shape[0] * 100 + b2.shape[1]


def test_borrowed_views_are_the_same_memory():
    a = np.arange(5.0)
    b = np.zeros((3, 4))
    assert _through_borrowed(a, b) == (np.arange(5.0) + 1).sum() + 304
    assert np.array_equal(a, np.arange(5.0) + 1)  # written through the view
    assert b[1, 2] == 7.0


@numba.njit
def _fwd_rows4(W, x, pre):
    vec.forward_rows4_vec(W, x, W.shape[0], W.shape[1], pre)


def test_vector_kernels_refuse_mixed_element_types():
    """A float32 layer writing into a float64 buffer (or the reverse) is a typing error, not wrong bytes."""
    W = aligned_zeros((4, 16), pad=0, dtype=np.float32)
    _fwd_rows4(W, np.ones(4), aligned_zeros((16,), pad=0, dtype=np.float32))  # x may differ: it is cast
    with pytest.raises(numba.core.errors.TypingError):
        _fwd_rows4(W, np.ones(4), aligned_zeros((16,), pad=0))
