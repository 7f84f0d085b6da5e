"""Records of image runs skip the zero pixels: the same errors and unit counts as the dense pass, bit for bit."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from fastnoise._kernels.multiclass import multiclass_error
from fastnoise._kernels.twolayer import BLOCK_ROWS_MAX, record_active, sparse_records, twolayer_error


@numba.njit
def _records(W, Vb, Xs, Ys, Yc, din, kp, C, sparse):
    """(binary error, 10-class error, active_mean, active_min, dead) with the records' forward pass."""
    x = np.zeros(din)
    pre = np.zeros(kp)
    fired = np.zeros(kp)
    s = np.zeros(C)
    out = np.zeros(3)
    err = twolayer_error(W, Vb[: kp + 1], x, pre, Xs, Ys, din, kp, sparse)
    err_c = multiclass_error(W, Vb, x, pre, s, Xs, Yc, din, kp, C, sparse)
    record_active(W, x, pre, fired, din, din, kp, kp, Xs, out, 0, sparse)
    return err, err_c, out[0], out[1], out[2]


@numba.njit
def _sparse_ok(din, kp, n1):
    return sparse_records(din, kp, n1)


def test_sparse_records_only_where_the_dense_pass_adds_rows_in_order_and_weights_are_finite():
    """rows1 (din * kp > BLOCK_ROWS_MAX) adds the products in the sparse pass's order; rows4 does not."""
    assert _sparse_ok(BLOCK_ROWS_MAX // 8 + 1, 8, 1.0)
    assert not _sparse_ok(BLOCK_ROWS_MAX // 8, 8, 1.0)  # blocked rows: another order of additions
    for n1 in (np.inf, np.nan):
        assert not _sparse_ok(784, 256, n1)  # inf * 0 is nan: a skipped row would not add +-0


@pytest.mark.parametrize("seed", range(4))
def test_sparse_and_dense_records_agree_on_zero_heavy_inputs(seed):
    """Pixels 75 % zero; weights with -0.0 and units that see only zero pixels (pre-activations of +-0).

    Such units have pre = +-0 under the dense pass and 0.0 under the sparse one: the records must
    not tell them apart (fire on pre > 0, errors on y * N <= 0, classes on >), and outputs of
    exactly 0 (labels of both signs) count as errors either way.
    """
    rng = np.random.default_rng(seed)
    din, kp, C, n = 600, 8, 10, 300  # din * kp = 4800 > BLOCK_ROWS_MAX: the dense pass is rows1
    Xs = (rng.random((n, din)) < 0.25) * rng.integers(1, 256, size=(n, din)) / 255.0
    Xs[:, 300:] = 0.0  # pixels no image lights
    W = rng.standard_normal((din, kp)) * 0.05
    W[rng.random((din, kp)) < 0.2] = -0.0
    W[:300, :3] = -0.0  # units 0-2 see only the dark pixels: pre = +-0 on every image
    W[300:, :3] = rng.standard_normal((din - 300, 3))
    Vb = rng.standard_normal(C * kp + C)
    Vb[3:8] = 0.0  # binary output N = V . ReLU(pre) + b2 with V zero on the live units ...
    Vb[kp] = 0.0  # ... and b2 = 0: N is exactly 0 on every image
    Ys = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    Yc = rng.integers(0, C, size=n).astype(np.float64)
    assert _sparse_ok(din, kp, float(np.linalg.norm(W)))
    dense = _records(W, Vb, Xs, Ys, Yc, din, kp, C, False)
    sparse = _records(W, Vb, Xs, Ys, Yc, din, kp, C, True)
    assert dense[0] == 1.0  # the crafted binary case: every output is a tie
    assert np.array(sparse).tobytes() == np.array(dense).tobytes()
