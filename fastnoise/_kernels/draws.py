"""In-kernel random draws: xoshiro256+, a 256-layer ziggurat normal, label bits, samples.

The generator state is a tuple ``st = (s0, s1, s2, s3, bits, nbits)`` of uint64, passed by value
and returned updated, so that it stays in registers inside the step loops. ``load_state`` and
``store_state`` move it to and from a replica's row of the state array.

The ziggurat is Marsaglia-Tsang with numpy's 256-layer, 52-bit constants (the same as the C
comparator in ``bench/c``); the layer index comes from the top byte (xoshiro256+'s low bits
are weak).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit

# The built-in input laws' run-time codes (draw_sample, draw_stream; by name: samplers.LAW_CODES).
GAUSSIAN, BASIS, CUBE, TRAINSET = 0, 1, 2, 3
# Noise conventions: relabel from all labels, or from the other labels.
UNIFORM, FLIP = 0, 1

_ZIG_R = 3.6541528853610087963519472518
_ZIG_V = 0.00492867323399


def _zig_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = 2.0**52
    k = np.zeros(256, np.int64)
    w = np.zeros(256)
    f = np.zeros(256)
    dn = _ZIG_R
    tn = dn
    q = _ZIG_V / math.exp(-0.5 * dn * dn)
    k[0] = int((dn / q) * m)
    k[1] = 0
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


ZK, ZW, ZF = _zig_tables()

_U8 = np.uint64(8)
_U11 = np.uint64(11)
_U16 = np.uint64(16)
_U17 = np.uint64(17)
_U19 = np.uint64(19)
_U32 = np.uint64(32)
_U45 = np.uint64(45)
_U56 = np.uint64(56)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_N48 = np.uint64(48)
_TWO_M53 = 2.0**-53


@jit(inner=True)
def next_u64(st):
    """xoshiro256+: one 64-bit output and the advanced state."""
    s0, s1, s2, s3, bits, nbits = st
    res = s0 + s3
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U45) | (s3 >> _U19)
    return res, (s0, s1, s2, s3, bits, nbits)


@jit(inner=True)
def uniform01(st):
    """A double uniform on [0, 1) with 53 random bits."""
    u, st = next_u64(st)
    return np.float64(u >> _U11) * _TWO_M53, st


@jit
def below(n, st):
    """An integer uniform on {0, ..., n-1} (multiply-shift; bias below n / 2**32)."""
    u, st = next_u64(st)
    return np.int64(((u >> _U32) * np.uint64(n)) >> _U32), st


@jit(inner=True)
def _normal_slow(st, rabs, idx, x):
    # Rare path (about 1.5% of draws; bench/lane_pieces.py counts them): the wedge or the tail.
    while True:
        if idx == 0:
            while True:
                u1, st = uniform01(st)
                u2, st = uniform01(st)
                xx = -(1.0 / _ZIG_R) * math.log1p(-u1)
                yy = -math.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> 8) & 1:
                        return -(_ZIG_R + xx), st
                    return _ZIG_R + xx, st
        u1, st = uniform01(st)
        if (ZF[idx - 1] - ZF[idx]) * u1 + ZF[idx] < math.exp(-0.5 * x * x):
            return x, st
        u, st = next_u64(st)
        idx = np.intp(u >> _U56)
        hz = np.int64(u << _U8) >> 11
        rabs = hz if hz >= 0 else -hz
        x = hz * ZW[idx]
        if rabs < ZK[idx]:
            return x, st


@jit
def normal(st):
    """A standard normal draw (ziggurat)."""
    u, st = next_u64(st)
    idx = np.intp(u >> _U56)
    hz = np.int64(u << _U8) >> 11  # signed 53-bit integer
    rabs = hz if hz >= 0 else -hz
    x = hz * ZW[idx]
    if rabs < ZK[idx]:
        return x, st
    return _normal_slow(st, rabs, idx, x)


@jit(inner=True)
def sign_bit(st):
    """A uniform label in {-1.0, +1.0}, 48 labels per generator output."""
    s0, s1, s2, s3, bits, nbits = st
    if nbits == _ZERO:
        u, st = next_u64(st)
        s0, s1, s2, s3, _, _ = st
        bits = u >> _U16
        nbits = _N48
    y = 1.0 if bits & _ONE else -1.0
    return y, (s0, s1, s2, s3, bits >> _ONE, nbits - _ONE)


@jit
def load_state(row):
    return (row[0], row[1], row[2], row[3], row[4], row[5])


@jit
def store_state(row, st):
    row[0], row[1], row[2], row[3], row[4], row[5] = st


@jit(inner=True)
def draw_gaussian(x, d, st):
    """x ~ N(0, I_d) into ``x[:d]``; clean label sign(x_1) [ours]."""
    for i in range(d):
        x[i], st = normal(st)
    return 1.0 if x[0] > 0.0 else -1.0, st


@jit(inner=True)
def draw_basis(x, d, st):
    """x = e_j, j uniform; clean label +1 on the first ceil(d/2) vectors [ours]. Returns (j, clean, st)."""
    j, st = below(d, st)
    for i in range(d):
        x[i] = 0.0
    x[j] = 1.0
    return j, 1.0 if 2 * j < d else -1.0, st


@jit(inner=True)
def draw_cube(x, d, cube_c, cube_k, st):
    """x uniform on [-1, 1]^d; clean label +1 iff the first ``cube_k`` coordinates lie in [-c, c]."""
    inside = True
    for i in range(d):
        u, st = uniform01(st)
        x[i] = 2.0 * u - 1.0
        if i < cube_k and abs(x[i]) > cube_c:
            inside = False
    return 1.0 if inside else -1.0, st


@jit(inner=True)
def draw_row(x, d, X, Y, st, ri=-1):
    """A uniform row of the training set (row ``ri`` if given: epochs) into ``x[:d]``; its stored label."""
    if ri >= 0:
        r = ri
    else:
        r, st = below(X.shape[0], st)
    for i in range(d):
        x[i] = X[r, i]
    return Y[r], st


@jit(inner=True)
def noisy_label(clean, p, st):
    """With probability ``p`` the label is replaced by a uniform draw from {-1, +1}."""
    if p >= 1.0:
        return sign_bit(st)
    if p > 0.0:
        u, st = uniform01(st)
        if u < p:
            return sign_bit(st)
    return clean, st


@jit(inner=True)
def flipped_label(clean, p, st):
    """With probability ``p`` the label is flipped (the other label: ``--noise flip``)."""
    if p >= 1.0:
        return -clean, st
    if p > 0.0:
        u, st = uniform01(st)
        if u < p:
            return -clean, st
    return clean, st


@jit(inner=True)
def binary_noise(clean, p, flip, st):
    """The label after noise under either convention (``flip``: a run-time choice, for streams)."""
    if flip:
        return flipped_label(clean, p, st)
    return noisy_label(clean, p, st)


@jit(inner=True)
def shuffle(order, n, st):
    """A new uniform permutation of ``order[:n]`` (Fisher-Yates from the replica's stream); ``order[n] = 0``."""
    for i in range(n - 1, 0, -1):
        j, st = below(i + 1, st)
        t = order[i]
        order[i] = order[j]
        order[j] = t
    order[n] = 0
    return st


@jit(inner=True)
def next_row(order, n, st):
    """The next training row of the current epoch (``order[n]`` is the position); a new epoch reshuffles."""
    if order[n] >= n:
        st = shuffle(order, n, st)
    pos = order[n]
    order[n] = pos + 1
    return order[pos], st


@jit
def draw_sample(x, d, data, X, Y, cube_c, cube_k, p, st, flip=False, ri=-1):
    """Draw one training sample into ``x[:d]``; returns ``(j, clean, y, st)``.

    ``j`` is the basis index for ``BASIS`` data (else -1), ``clean`` the target label and ``y`` the
    label after noise (``flip``: the flip convention); ``ri`` picks the training row (epochs).
    ``x[d:]`` (the bias coordinate, if any) is never written. The input law is
    a run-time argument here (for :func:`draw_stream`); the kernels' step loops use
    :func:`sample_binary`, where it is the sampler bound at compile time.
    """
    j = -1
    if data == GAUSSIAN:
        clean, st = draw_gaussian(x, d, st)
    elif data == BASIS:
        j, clean, st = draw_basis(x, d, st)
    elif data == CUBE:
        clean, st = draw_cube(x, d, cube_c, cube_k, st)
    else:
        clean, st = draw_row(x, d, X, Y, st, ri)
    y, st = binary_noise(clean, p, flip, st)
    return j, clean, y, st


# --------------------------------------------------------------------------- step-loop samplers
# Templates (plain functions): the builder compiles them once per Spec, with DRAW bound to the
# run's sampler's draw (a :class:`.parts.SamplerKernel`, see :mod:`.samplers`) and NOISE to its
# noise convention, so both are decided at compile time. ``x`` is the input buffer.

DRAW = None  # rebound per Spec by the builder: the sampler's draw(P, D, st, ri, x) -> (j, clean, st)
NOISE = UNIFORM  # likewise


def sample_binary(P, D, st, ri, x):
    """A sample of a binary task into ``x``: returns ``(j, y, st)`` (``j``: basis index or -1; ``ri``: epochs' row or -1)."""
    j, clean, st = DRAW(P, D, st, ri, x)
    y, st = label_noise(P, clean, st)
    return j, y, st


def label_noise(P, clean, st):
    """The label after the run's noise (``NOISE``: the convention, a compile-time constant): ``(y, st)``."""
    if NOISE == FLIP:
        return flipped_label(clean, P.p, st)
    return noisy_label(clean, P.p, st)


def sample_class(P, D, st, ri, x):
    """A sample of a C-class task into ``x``: returns ``(-1, class index, st)``."""
    _, y, st = draw_class_sample(x, P.d, D.Xtr, D.Ytr, P.classes, P.p, st, NOISE == FLIP, ri)
    return -1, y, st


@jit
def draw_stream(state_row, n, d, data, X, Y, cube_c, cube_k, p, xs, clean, ys, flip=False, order=None):
    """The first ``n`` samples a kernel would draw from this state (for tests and the reference).

    ``flip``: the flip convention; ``order``: the epochs' permutation row (``sampling="epochs"``,
    updated in place as the kernel's), or None for draws with replacement.
    """
    st = load_state(state_row)
    x = np.zeros(d + 1)
    for t in range(n):
        ri = -1
        if order is not None:
            ri, st = next_row(order, X.shape[0], st)
        _, c, y, st = draw_sample(x, d, data, X, Y, cube_c, cube_k, p, st, flip, ri)
        for i in range(d):
            xs[t, i] = x[i]
        clean[t] = c
        ys[t] = y
    store_state(state_row, st)


# Not cached on disk: its first argument is a part from outside the package (a task's compiled
# draw), whose type Numba pickles into the cache index of this one function; a later process in
# which that part's module cannot be imported (a notebook after the tests ran, another project)
# would then fail to read the index at all (ModuleNotFoundError). Compiling it costs ~2 s per
# process, and only for tasks defined outside the package.
@jit(cache=False)
def draw_stream_of(draw, state_row, n, P, D, xs, clean, ys, flip=False, order=None):
    """:func:`draw_stream` for a sampler's compiled ``draw(P, D, st, ri, x)`` (a task outside the package).

    The same order of draws as the step loop's ``sample_binary``: the input and its clean label,
    then the run's label noise (``flip``: the flip convention; ``order``: epochs, as above).
    """
    st = load_state(state_row)
    x = np.zeros(P.d + 1)
    for t in range(n):
        ri = -1
        if order is not None:
            ri, st = next_row(order, D.Xtr.shape[0], st)
        _, c, st = draw(P, D, st, ri, x)
        y, st = binary_noise(c, P.p, flip, st)
        for i in range(P.d):
            xs[t, i] = x[i]
        clean[t] = c
        ys[t] = y
    store_state(state_row, st)


@jit(inner=True)
def draw_class_sample(x, d, X, Y, classes, p, st, flip=False, ri=-1):
    """A training sample for a C-class task: row ``r`` of X into ``x[:d]``; returns ``(clean, y, st)``.

    Labels are class indices 0..C-1 (stored as floats in Y); with probability ``p`` the label is
    replaced by a uniform draw from all C classes (``flip``: from the C - 1 other classes). ``ri``
    picks the row (epochs); -1 draws it.
    """
    if ri >= 0:
        r = ri
    else:
        r, st = below(X.shape[0], st)
    for i in range(d):
        x[i] = X[r, i]
    clean = np.int64(Y[r])
    if p >= 1.0:
        y, st = _relabel(clean, classes, flip, st)
    elif p > 0.0:
        u, st = uniform01(st)
        if u < p:
            y, st = _relabel(clean, classes, flip, st)
        else:
            y = clean
    else:
        y = clean
    return clean, y, st


@jit(inner=True)
def _relabel(clean, classes, flip, st):
    """A uniform class (``flip``: a uniform class other than ``clean``)."""
    if flip:
        k, st = below(classes - 1, st)
        return (k if k < clean else k + 1), st
    return below(classes, st)


@jit
def draw_class_stream(state_row, n, d, X, Y, classes, p, xs, clean, ys, flip=False, order=None):
    """The first ``n`` C-class samples a kernel would draw from this state (for tests)."""
    st = load_state(state_row)
    x = np.zeros(d + 1)
    for t in range(n):
        ri = -1
        if order is not None:
            ri, st = next_row(order, X.shape[0], st)
        c, y, st = draw_class_sample(x, d, X, Y, classes, p, st, flip, ri)
        for i in range(d):
            xs[t, i] = x[i]
        clean[t] = c
        ys[t] = y
    store_state(state_row, st)
