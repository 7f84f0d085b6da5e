"""The hypercube's laws in fastnoise.theory, against exact enumeration of {-1, +1}^k.

Every expectation is a finite sum over the 2^k points weighted by the product law, computed in
exact rational arithmetic (``fractions.Fraction``: q = 3/10 is exactly 3/10), and compared with the
theory's closed form by ``==``: no tolerance. The targets' Fourier coefficients are enumerated from
the package's own labels (:func:`fastnoise.tasks.hypercube.boolean_labels`), so these also pin the
labels' conventions (support order, ties of even k to x_s1). Nothing here compiles a kernel.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from fastnoise import theory
from fastnoise.tasks.hypercube import boolean_labels

#: Exact biases: uniform, strongly and weakly biased, and an odd one with no short binary expansion.
QS = (Fraction(1, 2), Fraction(9, 10), Fraction(3, 10), Fraction(123456789, 10**9))


def cube(k: int) -> np.ndarray:
    """All 2^k points of {-1, +1}^k, one per row (integers)."""
    return np.array(list(itertools.product((-1, 1), repeat=k)), dtype=np.int64).reshape(-1, k)


def weights(X: np.ndarray, q: Fraction) -> list[Fraction]:
    """P(x) = prod_i q^[x_i = +1] (1 - q)^[x_i = -1] for each row of X, exactly."""
    return [np.prod([q if v > 0 else 1 - q for v in row], initial=Fraction(1)) for row in X]


def expect(values, w: list[Fraction]) -> Fraction:
    """sum_x P(x) f(x), exactly (f integer-valued)."""
    return sum((p * int(v) for p, v in zip(w, values)), Fraction(0))


def chi(X: np.ndarray, S) -> np.ndarray:
    """chi_S on every row of X."""
    return np.prod(X[:, sorted(S)], axis=1) if S else np.ones(len(X), dtype=np.int64)


def subsets(n: int):
    return (frozenset(c) for j in range(n + 1) for c in itertools.combinations(range(n), j))


@pytest.mark.parametrize("q", QS)
def test_bit_and_character_means(q):
    """E[x_i] = 2q - 1 for each bit; E[chi_S] = (2q - 1)^|S| for every S of 6 bits (exact)."""
    X = cube(6)
    w = weights(X, q)
    assert sum(w) == 1
    for i in range(6):
        assert expect(X[:, i], w) == theory.rad_mean(q)
    for S in subsets(6):
        assert expect(chi(X, S), w) == theory.character_mean(q, len(S)), sorted(S)


MIXTURES = [(Fraction(1, 2), Fraction(3, 10), Fraction(9, 10)), (QS[3], Fraction(1, 7), QS[2])]


@pytest.mark.parametrize(("q", "mix", "mix_bias"), MIXTURES)
def test_mixture_character_means(q, mix, mix_bias):
    """Under the mixture, E[chi_S] = m (2 q_s - 1)^k + (1 - m) (2 q - 1)^k for every S of 5 bits (exact);
    the mixture correlates the bits (E[x_1 x_2] is not E[x_1] E[x_2])."""
    X = cube(5)
    w = [mix * a + (1 - mix) * b for a, b in zip(weights(X, mix_bias), weights(X, q))]
    for S in subsets(5):
        assert expect(chi(X, S), w) == theory.mixture_character_mean(q, len(S), mix, mix_bias), sorted(S)
    assert expect(chi(X, {0, 1}), w) != expect(X[:, 0], w) * expect(X[:, 1], w)


@pytest.mark.parametrize("q", QS)
def test_character_correlations(q):
    """E[chi_S chi_T] = (2q - 1)^|S xor T| for every pair of subsets of 4 bits (exact)."""
    X = cube(4)
    w = weights(X, q)
    for S, T in itertools.product(list(subsets(4)), repeat=2):
        assert expect(chi(X, S) * chi(X, T), w) == theory.character_correlation(q, S, T), (sorted(S), sorted(T))


@pytest.mark.parametrize("support", [(0, 1), (2, 0, 4), (4, 1, 3, 0), (0, 1, 2, 3, 4)])
def test_parity_has_no_signal_below_its_degree(support):
    """Uniform inputs: a parity on k >= 2 bits (boolean_labels, one bit outside the support too) has
    E[y chi_T] = 0 for every T but its support, in particular E[y] = 0 and E[y x_j] = 0 for every bit."""
    d = 5 if len(support) < 5 else 6
    X = cube(d)
    w = weights(X, Fraction(1, 2))
    y = boolean_labels(X.astype(float), support, "parity").astype(np.int64)
    for T in subsets(d):
        want = 1 if T == frozenset(support) else 0
        assert expect(y * chi(X, T), w) == want == theory.character_correlation(Fraction(1, 2), set(support), T), sorted(T)


def test_parity_correlates_with_bits_on_biased_inputs():
    """Rad(q) inputs: E[chi_S x_j] = (2q - 1)^(k - 1) for j in S: the signal a biased law lends the bits."""
    X = cube(4)
    for q in QS[1:]:
        w = weights(X, q)
        y = boolean_labels(X.astype(float), (3, 1, 2), "parity").astype(np.int64)
        for j in (1, 2, 3):
            assert expect(y * X[:, j], w) == theory.rad_mean(q) ** 2
        assert expect(y * X[:, 0], w) == theory.rad_mean(q) ** 4


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_majority_fourier_coefficients(k):
    """Maj_k (k odd): every Fourier coefficient equals O'Donnell's closed form; Maj_3 has 1/2 on each bit, -1/2 on all three."""
    support = tuple(reversed(range(k)))  # the order of the support does not matter to a majority
    X = cube(k)
    w = weights(X, Fraction(1, 2))
    f = boolean_labels(X.astype(float), support, "majority").astype(np.int64)
    for T in subsets(k):
        assert expect(f * chi(X, T), w) == theory.majority_coefficient(k, len(T)), sorted(T)
    if k == 3:
        assert [theory.majority_coefficient(3, j) for j in (1, 3)] == [0.5, -0.5]


@pytest.mark.parametrize("k", [2, 4, 6])
def test_even_majority_ties_go_to_the_first_bit(k):
    """k even: on every tie the label is x_s1 (the support's first bit, not the lowest index), so the
    majority is odd (f(-x) = -f(x)), balanced, and has no Fourier weight on sets of even size."""
    support = (k - 1, *range(k - 1))  # s1 is the last index
    X = cube(k)
    w = weights(X, Fraction(1, 2))
    f = boolean_labels(X.astype(float), support, "majority").astype(np.int64)
    ties = X.sum(axis=1) == 0
    assert ties.any()
    np.testing.assert_array_equal(f[ties], X[ties, k - 1])
    np.testing.assert_array_equal(f[~ties], np.sign(X[~ties].sum(axis=1)))
    np.testing.assert_array_equal(boolean_labels(-X.astype(float), support, "majority"), -f)
    for T in subsets(k):
        if len(T) % 2 == 0:
            assert expect(f * chi(X, T), w) == 0, sorted(T)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
def test_staircase_first_coefficient(k):
    """The staircase's coefficient on x_s1 (uniform inputs) equals the closed form, its s1 being the support's first bit."""
    support = tuple(np.roll(np.arange(k), 1))  # s1 = k - 1
    X = cube(k)
    w = weights(X, Fraction(1, 2))
    f = boolean_labels(X.astype(float), support, "staircase").astype(np.int64)
    assert expect(f * X[:, support[0]], w) == theory.staircase_first_coefficient(k)
    assert [theory.staircase_first_coefficient(j) for j in range(1, 7)] == [1, 1, 0.5, 0.75, 0.375, 0.625]


#: The number of threshold functions of n variables (OEIS A000609: 4, 14, 104, 1882 for n = 1 ... 4).
THRESHOLD_FUNCTIONS = {1: 4, 2: 14, 3: 104, 4: 1882}


def _halfspaces(k: int, wmax: int) -> np.ndarray:
    """Every function sign(w.x - t) on {-1, +1}^k with integer w in [-wmax, wmax]^k (rows: the 2^k values)."""
    X = cube(k)
    found = set()
    for wv in itertools.product(range(-wmax, wmax + 1), repeat=k):
        s = X @ np.array(wv)
        levels = np.unique(s)
        for t in np.concatenate([[levels[0] - 1], (levels[:-1] + levels[1:]) / 2, [levels[-1] + 1]]):
            found.add(tuple(np.where(s > t, 1, -1)))
    return np.array(sorted(found))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_best_halfspace_on_a_parity(k):
    """Over every halfspace of k bits, the largest |correlation| with chi_[k] is threshold_parity_correlation(k)
    (2^(1-k) C(k-1, floor((k-1)/2)): 1/2 for k = 3, error 1/4), and a threshold of the sum attains it.

    Integer weights up to 3 give every threshold function of at most 4 variables: the enumeration
    finds exactly the known number of them (OEIS A000609), so the maximum is over all halfspaces.
    """
    F = _halfspaces(k, 3)
    assert len(F) == THRESHOLD_FUNCTIONS[k]
    X = cube(k)
    corr = [abs(Fraction(int(f @ chi(X, range(k))), 2**k)) for f in F]
    assert max(corr) == theory.threshold_parity_correlation(k)
    s = X.sum(axis=1)
    sums = [abs(Fraction(int(np.where(s > t, 1, -1) @ chi(X, range(k))), 2**k)) for t in range(-k - 1, k + 1)]
    assert max(sums) == theory.threshold_parity_correlation(k)


def test_threshold_parity_correlation_of_the_sum_for_larger_k():
    """For k up to 10 the best threshold of the support's sum correlates with the parity as the closed form says."""
    for k in range(1, 11):
        X = cube(k)
        s, c = X.sum(axis=1), chi(X, range(k))
        best = max(abs(Fraction(int(np.where(s > t, 1, -1) @ c), 2**k)) for t in range(-k - 1, k + 1))
        assert best == theory.threshold_parity_correlation(k), k
