"""Small shared kernel pieces: codes, status protocol, thresholds, sigmoid, robust norms."""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit

# Activations and status codes.
RELU, LEAKY = 0, 1
OK, NONFINITE, UNDERFLOW = 0, 1, 2

# Status row of a replica: [code, step, log2 scale carried by the renormalisation]
S_CODE, S_STEP, S_LOG2 = range(3)
STATUS_WORDS = 3

DBL_MAX = np.finfo(np.float64).max
# A run whose layers' largest weights multiply below this is about to leave the normal range.
UNDERFLOW_PRODUCT = 2.0**-900
# Renormalise (hinge, no bias) when every weight is below this; exact: a power of two.
RENORM_BELOW = 2.0**-64
# The same two thresholds for float32 weights (smallest normal 2**-126): products of the layers'
# largest weights down to 2**-100 keep N(x) and the step's increments normal; renormalise below 2**-32.
UNDERFLOW_PRODUCT_F32 = 2.0**-100
RENORM_BELOW_F32 = 2.0**-32
CHECK_EVERY = 1024  # steps between underflow / renormalisation checks
LOG10_2 = math.log10(2.0)


@jit
def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@jit(inner=True)
def block_max_abs(a, off, n, stride, count):
    """max |a[off + s*stride + i]| over s < count, i < n."""
    m = 0.0
    for s in range(count):
        base = off + s * stride
        for i in range(n):
            v = abs(a[base + i])
            if v > m or v != v:
                m = v
    return m


@jit(inner=True)
def block_norm(a, off, n, stride, count):
    """(norm, log10 norm) of a strided block, without underflow for tiny values.

    The elements are ``a[off + s*stride + i]`` for ``s < count``, ``i < n``; squares are taken
    of values divided by the largest magnitude, so weights near 1e-300 still give their norm.
    A non-finite element gives (nan or inf, same).
    """
    m = block_max_abs(a, off, n, stride, count)
    if m == 0.0:
        return 0.0, -np.inf
    if not m <= DBL_MAX:
        return m, m
    ss = 0.0
    for s in range(count):
        base = off + s * stride
        for i in range(n):
            v = a[base + i] / m
            ss += v * v
    return m * math.sqrt(ss), math.log10(m) + 0.5 * math.log10(ss)


@jit
def scaled(nrm, lg, log2):
    """A norm and its log10 of weights stored ``2**log2`` times their true size, at true size."""
    if log2 == 0:
        return nrm, lg
    return math.ldexp(nrm, -int(log2)), lg - log2 * LOG10_2


@jit
def targets(e, classes):
    """Label smoothing's targets: (the label's class, every other class) = (1 - e + e/C, e/C); (1.0, 0.0) at e = 0.

    Two classes: the target probability of class +1 is the first for a label +1 and the second
    for a label -1 (1 - e/2 and e/2).
    """
    lo = e / classes
    return 1.0 - e + lo, lo
