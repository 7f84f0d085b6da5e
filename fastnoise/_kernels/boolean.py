"""In-kernel draws of the Boolean hypercube: biased sign bits, 56 per random word, and the targets.

A bit is +1 with probability q = ``q53 / 2**53`` (``q53``: q as a 53-bit integer, see
:func:`fastnoise.tasks.hypercube.q53`). :func:`bernoulli_word` draws 56 such bits at once by
comparing 56 uniforms, digit by digit, with q's binary expansion: each generator output supplies one binary digit of all 56
uniforms; a lane is decided at the first digit where its uniform and q differ, and the loop stops
once every lane is decided or q has no more 1 digits (the undecided lanes are then >= q). So
q = 1/2 costs one output per 56 bits, and any q about log2(56) + 2 outputs, exactly
Bernoulli(q53 / 2**53). Only the top 56 bits of each output are used: xoshiro256+'s low bits
have low linear complexity, and a parity is exactly the kind of linear test they fail.

The targets read the support ``sup`` (0-based bit indices, in order) and, for a junta, the
truth table ``table`` (entry j: the pattern with x_sup[i] = +1 exactly where bit i of j is 1);
a staircase or a junta reads at most 63 bits (the task enforces it).
Ties of the staircase and the majority (k even) go to x_sup[0]. These are the kernels' forms of
:mod:`fastnoise.tasks.hypercube`, which documents the conventions.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .draws import next_u64

#: Target codes, in the order of :data:`fastnoise.options.TARGETS`.
PARITY, STAIRCASE, MAJORITY, JUNTA = 0, 1, 2, 3
LANES = 56

_U8 = np.uint64(8)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_ALL = np.uint64((1 << LANES) - 1)


@jit(inner=True, inline="always")
def bernoulli_word(q53, st):
    """56 independent bits, each 1 with probability ``q53 / 2**53``, in the low 56 bits of a uint64."""
    und = _ALL
    res = _ZERO
    q = np.uint64(q53)
    for j in range(52, -1, -1):
        u, st = next_u64(st)
        u >>= _U8  # the top 56 bits
        if (q >> np.uint64(j)) & _ONE:
            res |= und & ~u  # uniform digit 0 < q digit 1: the lane is below q
            und &= u
        else:
            und &= ~u  # uniform digit 1 > q digit 0: the lane is at or above q
        if und == _ZERO or (q & ((_ONE << np.uint64(j)) - _ONE)) == _ZERO:
            break  # every lane decided, or q has no more 1 digits (the rest are >= q)
    return res & _ALL, st


@jit(inner=True, inline="always")
def popcount(w):
    """The number of 1 bits of the uint64 ``w`` (SWAR: Numba has no popcount of its own)."""
    w = w - ((w >> np.uint64(1)) & np.uint64(0x5555555555555555))
    w = (w & np.uint64(0x3333333333333333)) + ((w >> np.uint64(2)) & np.uint64(0x3333333333333333))
    w = (w + (w >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((w * np.uint64(0x0101010101010101)) >> np.uint64(56))


@jit(inner=True, inline="always")
def draw_hypercube(x, d, q53, target, sup, table, mask, first, st):
    """x_i in {-1, +1}, +1 with probability ``q53 / 2**53``, into ``x[:d]``; returns (clean label, st).

    The label is computed from the words' bits as they are drawn, not read back from ``x``: a
    scalar load right after the vectorised stores of the same bytes waits for them (measured:
    0.06 of a two-layer step). ``mask`` != 0 (a parity or a majority whose support lies in the
    first 56 bits, ``first`` the position of its first bit): the support's bits are counted with
    one popcount of the first word, without reading ``sup``. The conversion is a select per bit,
    which the compiler vectorises (a loop bounded by ``min`` was left scalar: 3x slower).
    """
    k = sup.shape[0] if mask == 0 else 0
    kmask = popcount(np.uint64(mask))
    pat = 0  # bit i: x_sup[i] = +1 (i < 63: the junta's and the staircase's k are bounded)
    plus = 0  # support bits equal to +1
    for c in range((d + LANES - 1) // LANES):
        w, st = bernoulli_word(q53, st)
        base = c * LANES
        n = d - base if d - base < LANES else LANES
        if mask != 0:
            if c == 0:
                plus = popcount(w & np.uint64(mask))
                pat = np.int64((w >> np.uint64(first)) & _ONE)  # the first support bit: the tie's
        else:
            for i in range(k):
                o = sup[i] - base
                if 0 <= o < n:
                    bit = np.int64((w >> np.uint64(o)) & _ONE)
                    plus += bit
                    if i < 63:
                        pat |= bit << i
        for b in range(n):
            x[base + b] = 1.0 if (w >> np.uint64(b)) & _ONE else -1.0
    if mask != 0:  # without the support's array (read only where the mask cannot say it)
        return label_of_count(target, plus, kmask, pat), st
    return label_of_bits(target, pat, plus, k, table), st


@jit(inner=True, inline="always")
def label_of_count(target, plus, k, first):
    """A parity's or a majority's label from ``plus`` of its ``k`` bits being +1 (``first``: the first bit, for a tie)."""
    if target == PARITY:
        return 1.0 if (k - plus) % 2 == 0 else -1.0
    s = 2 * plus - k
    if s > 0:
        return 1.0
    if s < 0:
        return -1.0
    return 1.0 if first else -1.0


@jit(inner=True)
def label_of_bits(target, pat, plus, k, table):
    """The target's label from the support's bits: ``pat`` (bit i: x_sup[i] = +1) and ``plus`` (how many are +1).

    Exactly :func:`lane_targets`' value for the same input (sums and products of +-1 are exact).
    """
    if target == PARITY:
        return 1.0 if (k - plus) % 2 == 0 else -1.0
    if target == JUNTA:
        return table[pat]
    first = 1.0 if pat & 1 else -1.0
    if target == MAJORITY:
        s = 2 * plus - k
    else:
        s = 0
        m = 1
        for i in range(k):
            m = m if (pat >> i) & 1 else -m
            s += m
    if s > 0:
        return 1.0
    if s < 0:
        return -1.0
    return first


@jit(inner=True)
def boolean_target(x, target, sup, table):
    """The clean label (+-1) of ``x`` (entries +-1) for ``target`` on the support ``sup`` (junta: ``table``).

    For code outside the step (records, tests): the step's draw computes the label from the bits
    (:func:`draw_hypercube`), to the same value.
    """
    k = sup.shape[0]
    pat = 0
    plus = 0
    for i in range(k):
        bit = 1 if x[sup[i]] > 0.0 else 0
        plus += bit
        if i < 63:
            pat |= bit << i
    return label_of_bits(target, pat, plus, k, table)


@jit(inner=True)
def lane_targets(X, target, sup, table, clean):
    """:func:`boolean_target` of every lane of a lane block (coordinate i of lane l at ``X[i*L + l]``, L = ``clean.size``).

    The same operations in the same order per lane as the scalar target, lane by lane in the
    inner loops (which the compiler vectorises).
    """
    L = clean.shape[0]
    k = sup.shape[0]
    if target == JUNTA:
        for lane in range(L):
            j = 0
            for i in range(k):
                if X[sup[i] * L + lane] > 0.0:
                    j |= 1 << i
            clean[lane] = table[j]
        return
    if target == PARITY:
        for lane in range(L):
            clean[lane] = 1.0
        for i in range(k):
            o = sup[i] * L
            for lane in range(L):
                clean[lane] *= X[o + lane]
        return
    for lane in range(L):
        s = 0.0
        m = 1.0
        for i in range(k):
            if target == STAIRCASE:
                m *= X[sup[i] * L + lane]
                s += m
            else:
                s += X[sup[i] * L + lane]
        clean[lane] = 1.0 if s > 0.0 else (-1.0 if s < 0.0 else X[sup[0] * L + lane])
