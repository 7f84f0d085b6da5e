"""In-kernel draws of the Boolean hypercube: biased sign bits, 56 per random word, and the targets.

A bit is +1 with probability q = ``q53 / 2**53`` (``q53``: q as a 53-bit integer, see
:func:`q53`). :func:`bernoulli_word` draws 56 such bits at once by comparing 56 uniforms, digit by
digit, with q's binary expansion: each generator output supplies one binary digit of all 56
uniforms; a lane is decided at the first digit where its uniform and q differ, and the loop stops
once every lane is decided or q has no more 1 digits (the undecided lanes are then >= q). So
q = 1/2 costs one output per 56 bits, and any q about log2(56) + 2 outputs, exactly
Bernoulli(q53 / 2**53). Only the top 56 bits of each output are used: xoshiro256+'s low bits
have low linear complexity, and a parity is exactly the kind of linear test they fail.

The targets read the support ``sup`` (0-based bit indices, in order) and, for a junta, the
truth table ``table`` (entry j: the pattern with x_sup[i] = +1 exactly where bit i of j is 1).
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


def q53(q: float) -> int:
    """``q`` as the 53-bit integer the kernels compare with (``round(q * 2**53)``; P(+1) = q53 / 2**53)."""
    return int(round(q * 2.0**53))


@jit(inner=True)
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


@jit(inner=True)
def draw_signs(x, d, q53, st):
    """x_i in {-1, +1}, +1 with probability ``q53 / 2**53``, into ``x[:d]``."""
    i = 0
    while i < d:
        n = min(LANES, d - i)
        w, st = bernoulli_word(q53, st)
        for b in range(n):
            x[i + b] = 2.0 * np.float64((w >> np.uint64(b)) & _ONE) - 1.0
        i += n
    return st


@jit(inner=True)
def boolean_target(x, target, sup, table):
    """The clean label (+-1) of ``x`` for target ``target`` on the support ``sup`` (junta: ``table``)."""
    k = sup.shape[0]
    if target == PARITY:
        y = 1.0
        for i in range(k):
            y *= x[sup[i]]
        return y
    if target == JUNTA:
        j = 0
        for i in range(k):
            if x[sup[i]] > 0.0:
                j |= 1 << i
        return table[j]
    s = 0.0
    m = 1.0
    for i in range(k):
        if target == STAIRCASE:
            m *= x[sup[i]]
            s += m
        else:
            s += x[sup[i]]
    if s > 0.0:
        return 1.0
    if s < 0.0:
        return -1.0
    return x[sup[0]]
