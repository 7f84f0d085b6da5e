"""Where the single neuron's lane step spends its time: its pieces timed one at a time.

Each piece of the neuron's 8-lane step (``neuron.lane_steps``, d = 30) runs alone in a compiled loop, a million
times, and the fastest of 5 runs is quoted (a shared machine only adds time):

- the 8 x 30 normal draws (``lanes.lane_normals``: vector fast path, scalar slow path on a miss);
- the vector fast path alone, with a ziggurat table no draw misses (what the draws would cost
  without the slow path);
- the misses per 8-lane step (draws that leave the fast path);
- the scalar slow path alone (``draws._normal_slow``) on inputs that missed, and one scalar normal;
- the lanes' dot product and update (``lanes.vdot``, ``lanes.vaxpy``).

The pieces overlap inside a real step, so they do not add up to it; the whole step is the
8-replica row of ``bench/run_bench.py``. Usage: ``python bench/lane_pieces.py``
"""

from __future__ import annotations

import time

import numba
import numpy as np
from run_bench import cpu_name  # bench/ is the script's folder: on sys.path

from fastnoise import _rng
from fastnoise._kernels.draws import ZK, ZW, _normal_slow, next_u64, normal
from fastnoise._kernels.lanes import LANES, ROW_BITS, ROW_NBITS, S_ROWS, lane_normals, normal_run, vaxpy, vdot

D = 30
_U56, _U8 = np.uint64(56), np.uint64(8)


@numba.njit
def _normals(S, X, n):
    for _ in range(n):
        lane_normals(S, X, D)


@numba.njit
def _fast_path(S, X, n, zk):
    acc = 0
    for _ in range(n):
        acc += normal_run(S, X, 0, D, zk, ZW)
    return acc


@numba.njit
def _misses(S, X, n):
    m = 0
    for _ in range(n):
        i = 0
        while i < D:
            r = normal_run(S, X, i, D, ZK, ZW)
            i = r >> 16
            if i < D:
                mm = r & 0xFFFF
                while mm:
                    m += 1
                    mm &= mm - 1
            i += 1
    return m


@numba.njit
def _dot(V, X, out, n):
    for _ in range(n):
        vdot(V, X, D, out)
        X[0] = out[0] * 1e-300  # a dependency from one call to the next


@numba.njit
def _axpy(V, X, hy, go, n):
    for _ in range(n):
        vaxpy(V, X, D, hy, go)


@numba.njit
def _collect_misses(st, n, R, idx_out, x_out, S):
    k = 0
    while k < n:
        u, st = next_u64(st)
        idx = np.intp(u >> _U56)
        hz = np.int64(u << _U8) >> 11
        rabs = hz if hz >= 0 else -hz
        if rabs >= ZK[idx]:
            R[k], idx_out[k], x_out[k] = rabs, idx, hz * ZW[idx]
            S[k, 0], S[k, 1], S[k, 2], S[k, 3], S[k, 4], S[k, 5] = st
            k += 1


@numba.njit
def _slow(R, idx, xs, S):
    acc = 0.0
    for k in range(R.shape[0]):
        st = (S[k, 0], S[k, 1], S[k, 2], S[k, 3], S[k, 4], S[k, 5])
        x, st = _normal_slow(st, R[k], idx[k], xs[k])
        acc += x
    return acc


@numba.njit
def _scalar_normals(st, n):
    acc = 0.0
    for _ in range(n):
        x, st = normal(st)
        acc += x
    return acc


def _best(f, *args, reps: int = 5) -> float:
    f(*args)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f(*args)
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    state = _rng.kernel_state(11, LANES)
    S = np.zeros(S_ROWS * LANES, np.uint64)
    for k, row in enumerate((0, 1, 2, 3, ROW_BITS, ROW_NBITS)):  # lanes.lane_state's rows
        S[row * LANES : (row + 1) * LANES] = state[:, k]
    X = np.zeros(D * LANES)
    V = np.random.default_rng(0).standard_normal(D * LANES)
    out, hy, go = np.zeros(LANES), np.full(LANES, 1e-3), np.array([1.0, 0.0] * (LANES // 2))
    n = 1_000_000
    print(f"CPU: {cpu_name()}; d = {D}, {LANES} lanes; ns per 8-lane step (fastest of 5 runs of {n:,} steps)")
    print(f"  normal draws (lane_normals):        {_best(_normals, S, X, n) / n * 1e9:7.1f}")
    no_miss = np.full_like(ZK, np.iinfo(np.int64).max)
    print(f"  vector fast path, no misses:        {_best(_fast_path, S, X, n, no_miss) / n * 1e9:7.1f}")
    print(f"  dot product (vdot):                 {_best(_dot, V, X, out, n) / n * 1e9:7.1f}")
    print(f"  update (vaxpy, half the lanes):     {_best(_axpy, V, X, hy, go, n) / n * 1e9:7.1f}")
    _misses(S, X, 10)
    print(f"  lanes missing the fast path / step: {_misses(S, X, n) / n:7.2f}")
    m = 200_000
    R, idx, xs, St = np.zeros(m, np.int64), np.zeros(m, np.intp), np.zeros(m), np.zeros((m, 6), np.uint64)
    st0 = tuple(np.uint64(v) for v in _rng.kernel_state(3, 1)[0])
    _collect_misses(st0, m, R, idx, xs, St)
    print(f"  scalar slow path, ns per call:      {_best(_slow, R, idx, xs, St) / m * 1e9:7.1f}")
    print(f"  scalar normal draw, ns each:        {_best(_scalar_normals, st0, 10 * n) / (10 * n) * 1e9:7.2f}")


if __name__ == "__main__":
    main()
