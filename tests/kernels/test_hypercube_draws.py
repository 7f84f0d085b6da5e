"""The hypercube's draws against fastnoise.theory: the kernels' stream, the numpy sets, and the labels.

``probes.sample_stream`` replays exactly the inputs and labels a kernel trains on (the kernels'
``bernoulli_word``: 56 bits per random word, so d = 70 spans two words per input and bit 55 / bit
56 straddle the boundary). The numpy sets are ``Task.inputs`` (``rad_inputs``).

Tolerance of the statistical tests: each moment is compared through its z-score,
(mean - theory) / (sigma / sqrt(n)) with sigma^2 the variance of the averaged +-1 product under the
theory's law (1 - E^2) and n independent terms: n = 200,000 inputs (100,000 disjoint pairs of
consecutive inputs for the across-sample moments: overlapping pairs would be correlated). Each
test asserts every |z| < 5. About 230 moments per law, 9 laws: with Gaussian tails (n is large,
the terms bounded) the chance that any of the ~2,000 z-scores of a correct sampler exceeds 5 is
below 2,000 * 5.7e-7 ~ 1e-3 (union bound), and the seeds are fixed, so a pass is reproducible
(measured: the largest |z| of each law's 228 is 2.8 to 3.2, as expected of 228 normal draws).
What it catches: a bias of 5 / sqrt(n) ~ 0.011 in any mean or product, e.g. P(x_i = +1) off by
0.006 (measured: |z| = 8 to 14), or a correlation of 0.011 between bits in one word, across the
word boundary or across consecutive inputs (bit 56 a copy of bit 55 in 2% of the inputs: z = 7.8;
a mixture component drawn per word instead of per input: z = -64). The labels are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnoise import RunConfig, theory
from fastnoise.probes import sample_stream
from fastnoise.tasks.hypercube import TASK, boolean_labels, parse_support, parse_truth_table

N = 200_000
D = 70  # two words of 56 bits per input
Z_MAX = 5.0
#: Bit biases: uniform, strongly and weakly biased, and one with a long binary expansion (the digit loop's worst case).
QS = (0.5, 0.9, 0.3, 0.123456789)
#: Sets of bits whose character is tested, besides single bits and the pairs below: across the word boundary.
CHARACTERS = ((54, 55, 56), (55, 56, 57), (0, 55, 56, 69), tuple(range(50, 60)))


def _z(values: np.ndarray, mean: float) -> float:
    """The z-score of the average of +-1 values (independent terms) against ``mean``."""
    sd = np.sqrt(max(1.0 - mean**2, 1e-300) / values.size)
    return float((values.mean() - mean) / sd)


def _moments(X: np.ndarray, law) -> dict[str, float]:
    """Every tested moment of the rows of X, as z-scores against ``law(S)`` = E[chi_S] (S a tuple of bits)
    for one input and ``law(S) * law(T)`` for bits of two consecutive (independent) inputs."""
    n, d = X.shape
    z = {}
    for i in range(d):
        z[f"x{i}"] = _z(X[:, i], law((i,)))
    pairs = [(i, i + 1) for i in range(d - 1)] + [(i, i + 56) for i in range(d - 56)]  # neighbours; same lane of the next word
    for i, j in pairs:
        z[f"x{i} x{j}"] = _z(X[:, i] * X[:, j], law((i, j)))
    for S in CHARACTERS:
        z[f"chi{S}"] = _z(np.prod(X[:, list(S)], axis=1), law(S))
    a, b = X[0 : n - 1 : 2], X[1:n:2]  # disjoint pairs of consecutive inputs
    for i in range(d):
        z[f"x{i}(t) x{i}(t+1)"] = _z(a[:, i] * b[:, i], law((i,)) ** 2)
    z[f"x{d - 1}(t) x0(t+1)"] = _z(a[:, d - 1] * b[:, 0], law((d - 1,)) * law((0,)))
    return z


def _assert_within(z: dict[str, float], what: str) -> None:
    worst = max(z, key=lambda k: abs(z[k]))
    assert abs(z[worst]) < Z_MAX, f"{what}: {worst} is {z[worst]:+.2f} standard errors from theory (bound {Z_MAX})"
    assert len(z) > 200


def _rad_law(q: float):
    return lambda S: theory.character_mean(q, len(S))


def _mixture_law(q: float, mix: float, mix_bias: float):
    return lambda S: theory.mixture_character_mean(q, len(S), mix, mix_bias)


def _config(**extra) -> RunConfig:
    return RunConfig(**{**dict(model="neuron", data="hypercube", d=D, p=0.0, replicas=1, seed=11), **extra})


# --------------------------------------------------------------------------- the kernels' draws


@pytest.mark.parametrize("q", QS)
def test_kernel_bits_follow_rad_q(q):
    """The kernels' bits: E[x_i] = 2q - 1, E[chi_S] = (2q - 1)^|S| and pairwise independence, within
    a word, across the word boundary (bits 55 and 56) and across consecutive inputs (|z| < 5)."""
    X, clean, _ = sample_stream(_config(bit_bias=q, support="55,56,57"), 0, N)
    assert set(np.unique(X)) == {-1.0, 1.0}
    _assert_within(_moments(X, _rad_law(q)), f"kernel, q = {q}")
    np.testing.assert_array_equal(clean, np.prod(X[:, [54, 55, 56]], axis=1))


# (second cases slow: the first covers the same code, and the default suite is near its time bound)
@pytest.mark.parametrize(("q", "mix", "mix_bias"), [(0.5, 0.3, 0.9), pytest.param(0.123456789, 0.6, 0.3, marks=pytest.mark.slow)])
def test_kernel_mixture(q, mix, mix_bias):
    """The mixture's characters: m (2 q_s - 1)^k + (1 - m) (2 q - 1)^k, one component per input (the bits
    of both words share it; consecutive inputs do not)."""
    X, _, _ = sample_stream(_config(bit_bias=q, mix=mix, mix_bias=mix_bias), 0, N)
    _assert_within(_moments(X, _mixture_law(q, mix, mix_bias)), f"kernel mixture {mix} of Rad({mix_bias}) and Rad({q})")


# --------------------------------------------------------------------------- the numpy sets


@pytest.mark.parametrize(
    ("q", "mix", "mix_bias"), [(0.5, 0.0, 0.5), pytest.param(0.123456789, 0.0, 0.5, marks=pytest.mark.slow), (0.5, 0.3, 0.9)]
)
def test_numpy_sets_follow_the_law(q, mix, mix_bias):
    """The sets drawn in numpy (Task.inputs, as the probe and test sets are) follow the same laws (|z| < 5)."""
    cfg = _config(bit_bias=q, mix=mix, mix_bias=mix_bias)
    X = TASK.inputs(N, D, np.random.default_rng(5), cfg)
    law = _mixture_law(q, mix, mix_bias) if mix else _rad_law(q)
    _assert_within(_moments(X, law), f"numpy, q = {q}, mix = {mix}")


# --------------------------------------------------------------------------- the labels

#: (target, support, bit bias): every target, supports in any order, even k (ties), a biased law.
LABELED = [
    ("parity", "2,7,5", 0.5),
    ("parity", "3", 0.3),
    ("staircase", "4", 0.5),
    ("staircase", "9,1,3", 0.5),
    ("majority", "4", 0.5),
    ("majority", "6,1", 0.5),
    ("majority", "2,7,5", 0.9),
    ("junta", "3,1,9,4", 0.5),
    ("junta", "5,", 0.5),
]


@pytest.mark.parametrize(("target", "support", "q"), LABELED)
def test_kernel_labels_are_the_target_of_its_inputs(target, support, q):
    """The label the kernel trains on is boolean_labels of its own input, exactly, for every target;
    with k even the ties occur and go to x_s1 (the support's first bit as written)."""
    d = 10
    sup = parse_support(support, d)
    table = None
    if target == "junta":
        rng = np.random.default_rng(len(sup))
        table_text = "".join(rng.choice(["+", "-"], size=2 ** len(sup)))
        table = parse_truth_table(table_text, len(sup))
    cfg = _config(d=d, target=target, support=support, bit_bias=q, truth_table=table_text if table is not None else None)
    X, clean, ys = sample_stream(cfg, 0, 20_000)
    np.testing.assert_array_equal(clean, boolean_labels(X, sup, target, table))
    np.testing.assert_array_equal(ys, clean)  # p = 0
    assert set(np.unique(clean)) == {-1.0, 1.0}
    if target in ("staircase", "majority") and len(sup) % 2 == 0:
        S = X[:, list(sup)]
        terms = np.cumprod(S, axis=1) if target == "staircase" else S
        ties = terms.sum(axis=1) == 0
        assert ties.mean() > 0.1, "even k: ties must occur"
        np.testing.assert_array_equal(clean[ties], S[ties, 0])
    if target == "junta":
        idx = ((X[:, list(sup)] > 0) * (1 << np.arange(len(sup)))).sum(axis=1)
        assert len(np.unique(idx)) == 2 ** len(sup), "every row of the truth table is drawn"
