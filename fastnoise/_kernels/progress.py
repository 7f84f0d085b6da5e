"""The hypercube's progress measures at a checkpoint ("hidden progress", arXiv 2207.08799): a task's columns.

A :class:`.parts.MetricsKernel` (``Spec.metrics = "hypercube"``): :func:`hypercube_record` runs
after the model's record at every checkpoint (:func:`.loops._record_task`), from the weights as
they are then; the step loop is untouched. It reads the model through two of its templates
(:class:`.driver.Model`): ``OUTPUT_AT(P, w)``, N(x) for the input in the view ``x = w[0]``, and
``FIRST_LAYER(P, w)``, the first layer's weights (unit i's on input j at ``flat[j * stride + i]``).
The columns are the row's last ones, in the order of
:func:`fastnoise.tasks.hypercube.progress_names` (docs/table.md defines them):

- ``target_corr``: mean over the probe set ``D.Xpr`` of y(x) N(x), y the clean target
  (:func:`.boolean.boolean_target` on ``P.target``, the support ``D.task_ints``, the truth table
  ``D.task_reals``);
- ``mass_support``, ``mass_off``: the root-mean-square of the first layer's weights over (units) x
  (support coordinates), and over (units) x (the other input coordinates; bias excluded);
- ``fourier_T``: mean over the probe set of N(x) chi_T(x), chi_T the product of x_i over T, for
  every non-empty subset T of the support when k <= :data:`FOURIER_ALL_MAX` (by degree, then
  lexicographic in support positions), else only the full support.

True scale: weights stored ``2**log2`` times their true size (renormalised runs) give N(x) exactly
``2**(L * log2)`` times the true one (L = ``P.depth`` weight layers, all scaled) and masses ``2**log2``
times; the sums are taken as stored (in float64, whatever the weights' type) and the results
multiplied by ``2**(-L * log2)`` or ``2**(-log2)`` (``math.ldexp``: exact unless the true value
leaves float64's range, below which it is 0.0, as ``norm_1`` is).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .boolean import boolean_target
from .common import DBL_MAX
from .parts import MetricsKernel

__all__ = ["FOURIER_ALL_MAX", "HYPERCUBE_METRICS", "N_FIXED"]

#: Supports of up to this many bits record every non-empty subset's coefficient (2**k - 1 columns).
FOURIER_ALL_MAX = 4
#: Columns before the Fourier coefficients: target_corr, mass_support, mass_off.
N_FIXED = 3

# Rebound by the builder: the model's templates (driver.Model.output_at, .first_layer).
OUTPUT_AT = FIRST_LAYER = None


@jit(inner=True)
def in_support(j, sup):
    """Whether input coordinate ``j`` is one of the support's."""
    for i in range(sup.shape[0]):
        if sup[i] == j:
            return True
    return False


@jit(inner=True)
def rms_weights(flat, stride, units, d, sup, on):
    """Root-mean-square of ``flat[j * stride + i]`` over units ``i < units`` and coordinates ``j < d``
    in the support (``on``) or off it; NaN over no coordinate. Squares of values divided by the
    largest magnitude (no overflow or underflow), summed in float64."""
    m = 0.0
    count = 0
    for j in range(d):
        if in_support(j, sup) == on:
            count += units
            for i in range(units):
                a = abs(np.float64(flat[j * stride + i]))
                if a > m:
                    m = a
    if count == 0:
        return np.nan
    if m == 0.0 or not m <= DBL_MAX:
        return m
    ss = 0.0
    for j in range(d):
        if in_support(j, sup) == on:
            for i in range(units):
                v = np.float64(flat[j * stride + i]) / m
                ss += v * v
    return m * math.sqrt(ss / count)


@jit(inner=True)
def popcount(m):
    c = 0
    while m:
        c += m & 1
        m >>= 1
    return c


@jit(inner=True)
def add_fourier(out_row, c, row, sup, out):
    """out_row[c + n] += out * chi_T(row) for the n-th subset T of the support (the columns' order).

    Subsets by degree, then lexicographic in support positions: among masks of one degree with
    position p at bit k - 1 - p, that is the masks in decreasing order (the first position where
    two subsets differ is the highest differing bit, set in the lexicographically smaller one).
    """
    k = sup.shape[0]
    full = (1 << k) - 1
    for deg in range(1, k + 1):
        for rm in range(full, 0, -1):
            if popcount(rm) == deg:
                chi = 1.0
                for p in range(k):
                    if (rm >> (k - 1 - p)) & 1:
                        chi *= row[sup[p]]
                out_row[c] += out * chi
                c += 1


def hypercube_record(P, D, log2, out_row, w):
    """target_corr, mass_support, mass_off and the fourier columns into the last columns of ``out_row``."""
    sup = D.task_ints
    k = sup.shape[0]
    nf = (1 << k) - 1 if k <= FOURIER_ALL_MAX else 1
    c0 = out_row.shape[0] - N_FIXED - nf
    e1 = -int(log2)
    flat, stride, units = FIRST_LAYER(P, w)
    out_row[c0 + 1] = math.ldexp(rms_weights(flat, stride, units, P.d, sup, True), e1)
    out_row[c0 + 2] = math.ldexp(rms_weights(flat, stride, units, P.d, sup, False), e1)
    x = w[0]
    Xpr = D.Xpr
    n = Xpr.shape[0]
    cf = c0 + N_FIXED
    for c in range(nf):
        out_row[cf + c] = 0.0
    corr = 0.0
    for s in range(n):
        row = Xpr[s]
        for i in range(P.d):
            x[i] = row[i]
        out = np.float64(OUTPUT_AT(P, w))
        corr += boolean_target(row, P.target, sup, D.task_reals) * out
        if k <= FOURIER_ALL_MAX:
            add_fourier(out_row, cf, row, sup, out)
        else:
            chi = 1.0
            for p in range(k):
                chi *= row[sup[p]]
            out_row[cf] += out * chi
    eL = e1 * P.depth
    if n == 0:
        out_row[c0] = np.nan
        for c in range(nf):
            out_row[cf + c] = np.nan
        return
    out_row[c0] = math.ldexp(corr / n, eL)
    for c in range(nf):
        out_row[cf + c] = math.ldexp(out_row[cf + c] / n, eL)


HYPERCUBE_METRICS = MetricsKernel("hypercube", hypercube_record)
