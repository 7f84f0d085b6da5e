"""Theorem 1, property-based: the engine's hinge step on a misclassified sample, against theory.

Random weights, inputs and widths (hypothesis). For the compiled step (``apply_step``) of the
neuron and of the two-layer net: the change of each layer's squared norm equals the slides'
expansion to rounding (64 ulp of the squared norms), and below h0 every layer's norm decreases.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fastnoise import theory
from fastnoise.config import RunConfig
from fastnoise.probes import apply_step

EPS = np.finfo(float).eps


@st.composite
def twolayer_case(draw):
    d = draw(st.integers(1, 10))
    k = draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.floats(1e-3, 1e3))
    return rng.standard_normal((k, d)) * scale, rng.standard_normal(k), rng.standard_normal(d), draw(st.floats(1e-4, 0.999))


@settings(max_examples=150, deadline=None)
@given(twolayer_case())
def test_twolayer_step_matches_expansion_and_decreases_below_h0(case):
    """Two-layer hinge step: |M|^2 and |V|^2 change exactly as the slides' expansion; both fall below h0."""
    M, V, x, u = case
    n = float(theory.relu(M @ x) @ V)
    assume(n != 0.0)
    y = -math.copysign(1.0, n)
    pre = M @ x
    h0 = min(
        theory.critical_lr(y, n, float(np.sum(V[pre >= 0] ** 2) * (x @ x))),
        theory.critical_lr(y, n, float(theory.relu(pre) @ theory.relu(pre))),
    )
    assert h0 > 0
    h = u * h0
    cfg = RunConfig(model="twolayer", width=len(V), d=len(x), lr=h, loss="hinge", replicas=1)
    after, out = apply_step(cfg, {"M": M, "V": V, "b2": 0.0}, x, y)
    assert math.isclose(out, n, rel_tol=1e-12, abs_tol=1e-300)
    dM = np.sum(after["M"] ** 2) - np.sum(M**2)
    dV = np.sum(after["V"] ** 2) - np.sum(V**2)
    pM, pV = theory.twolayer_expansion(M, V, x, y, h)
    scale = np.sum(M**2) + np.sum(V**2) + np.sum(after["M"] ** 2) + np.sum(after["V"] ** 2)
    assert abs(dM - pM) <= 64 * EPS * scale
    assert abs(dV - pV) <= 64 * EPS * scale
    for change, pred in ((dM, pM), (dV, pV)):
        if abs(pred) > 1e3 * EPS * scale:  # resolvable in double precision
            assert change < 0


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(1e-4, 0.999), st.booleans())
def test_neuron_step_matches_expansion(d, seed, u, bias):
    """Neuron hinge step (with or without bias coordinate): |V|^2 changes by 2hyV.x + h^2|x|^2."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(d + bias)
    x = rng.standard_normal(d)
    xe = np.append(x, 1.0) if bias else x
    n = float(V @ xe)
    assume(n != 0.0)
    y = -math.copysign(1.0, n)
    h = u * theory.critical_lr(y, n, float(xe @ xe))
    after, _ = apply_step(RunConfig(d=d, bias=bias, lr=h, replicas=1), {"V": V}, x, y)
    dV = np.sum(after["V"] ** 2) - np.sum(V**2)
    pred = theory.neuron_expansion(V, xe, y, h)
    assert abs(dV - pred) <= 64 * EPS * (np.sum(V**2) + np.sum(after["V"] ** 2))
    assert dV < 0 or abs(pred) <= 1e3 * EPS * np.sum(V**2)


def test_correctly_classified_sample_leaves_hinge_weights_unchanged():
    """The hinge rule does nothing when y*N(x) > 0 (both models)."""
    rng = np.random.default_rng(1)
    M, V, x = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal(3)
    n = float(theory.relu(M @ x) @ V)
    cfg = RunConfig(model="twolayer", width=5, d=3, lr=0.5, replicas=1)
    after, _ = apply_step(cfg, {"M": M, "V": V, "b2": 0.0}, x, math.copysign(1.0, n))
    np.testing.assert_array_equal(after["M"], M)
    np.testing.assert_array_equal(after["V"], V)
