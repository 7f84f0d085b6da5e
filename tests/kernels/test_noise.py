"""Statistical sanity of the kernels' sample stream (``probes.sample_stream``): inputs, clean labels, noise.

Tolerance: every frequency/mean check allows 5 standard errors. The seeds are fixed, so each test
is deterministic; 5 SE is chosen so that a correct generator would fail a given check for a new seed
with probability about 6e-7 (two-sided normal tail), while a biased stream (e.g. a wrong noise rate,
a skewed index, a reused label bit) shows up as a deviation of tens of SE at n = 200_000.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastnoise
from fastnoise import probes, sets
from fastnoise.tasks import cube as cube_task

N = 200_000
Z = 5.0  # tolerance in standard errors (see the module docstring)


def _stream(replica: int = 0, n: int = N, **params):
    return probes.sample_stream(fastnoise.RunConfig(**params), replica, n)


def _assert_freq(count: int, n: int, q: float, what: str) -> None:
    """|count/n - q| <= Z * sqrt(q(1-q)/n)."""
    se = math.sqrt(q * (1.0 - q) / n)
    freq = count / n
    assert abs(freq - q) <= Z * se, f"{what}: frequency {freq:.6f}, expected {q:.6f} +- {Z} x {se:.2e} (n={n})"


# --------------------------------------------------------------------------- label noise


@pytest.mark.parametrize("data", ["gaussian", "basis", "cube"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9, 1.0])
def test_flip_rate_is_half_p(p, data):
    """The fraction of labels that differ from the clean label is p/2 within 5 SE."""
    xs, clean, ys = _stream(seed=101, p=p, d=5, data=data)
    assert set(np.unique(ys)) <= {-1.0, 1.0}
    flipped = int(np.count_nonzero(ys != clean))
    # seed 101, n = 200_000: each label is redrawn uniformly with probability p, so it differs from
    # the clean one with probability q = p/2; allow 5 SE = 5 sqrt(q(1-q)/n) (false alarm ~6e-7).
    _assert_freq(flipped, N, p / 2.0, f"flip rate p={p} data={data}")


@pytest.mark.parametrize("data", ["gaussian", "basis", "cube"])
def test_no_noise_labels_are_clean(data):
    """With p = 0 every label equals the clean label."""
    _, clean, ys = _stream(n=20_000, seed=5, p=0.0, d=5, data=data)
    assert np.array_equal(ys, clean)


def test_pure_noise_labels_balanced_and_uncorrelated():
    """With p = 1 labels are +-1, mean 0 within 5 SE, and uncorrelated with neighbours (lags 1, 47, 48, 49)."""
    _, clean, ys = _stream(seed=202, p=1.0, d=3)
    assert set(np.unique(ys)) == {-1.0, 1.0}
    se = 1.0 / math.sqrt(N)  # Var(y) = 1 for a fair +-1 label
    # seed 202, n = 200_000, 5 SE: the mean of fair +-1 labels is 0 +- 5/sqrt(n).
    assert abs(ys.mean()) <= Z * se, ys.mean()
    # Labels come 48 to a generator output: lag 48 would expose a reused or shifted bit buffer.
    for lag in (1, 47, 48, 49):
        corr = float(np.mean(ys[lag:] * ys[:-lag]))
        assert abs(corr) <= Z / math.sqrt(N - lag), (lag, corr)
    # Independent of the clean label (the p/2 test at p = 1): agreement 1/2 within 5 SE.
    _assert_freq(int(np.count_nonzero(ys == clean)), N, 0.5, "agreement with clean label at p=1")


def test_replica_streams_differ():
    """Replicas 0 and 1 draw different samples and labels."""
    x0, _, y0 = _stream(0, n=1000, seed=3, d=4)
    x1, _, y1 = _stream(1, n=1000, seed=3, d=4)
    assert not np.array_equal(x0, x1)
    assert not np.array_equal(y0, y1)


# --------------------------------------------------------------------------- gaussian inputs


def test_gaussian_mean_and_variance():
    """Gaussian inputs: each coordinate has mean 0 and variance 1 within 5 SE."""
    d = 5
    xs, clean, _ = _stream(seed=303, p=1.0, d=d, data="gaussian")
    assert xs.shape == (N, d)
    # seed 303, n = 200_000 per coordinate, 5 SE: SE(mean) = 1/sqrt(n); SE(variance) = sqrt(2/n)
    # (Var(x^2) = 2 for a standard normal).
    mean = xs.mean(axis=0)
    var = xs.var(axis=0)
    assert np.all(np.abs(mean) <= Z / math.sqrt(N)), mean
    assert np.all(np.abs(var - 1.0) <= Z * math.sqrt(2.0 / N)), var


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0, 3.0, 3.6541528853610088, 4.0])
def test_gaussian_tails(t):
    """Tail frequencies P(x > t) and P(x < -t) match the normal law within 5 SE (ziggurat base and tail)."""
    xs, _, _ = _stream(seed=404, p=1.0, d=5, data="gaussian")
    flat = xs.ravel()
    q = 0.5 * math.erfc(t / math.sqrt(2.0))
    # seed 404, n*d = 1_000_000 independent draws, 5 SE; t = 3.654... is the ziggurat's base-layer edge.
    _assert_freq(int(np.count_nonzero(flat > t)), flat.size, q, f"P(x > {t})")
    _assert_freq(int(np.count_nonzero(flat < -t)), flat.size, q, f"P(x < -{t})")


def test_gaussian_clean_label_is_sign_of_first_coordinate():
    """Gaussian clean label is sign(x_1) [ours], and +1 half of the time within 5 SE."""
    xs, clean, _ = _stream(seed=505, p=1.0, d=3, data="gaussian")
    assert np.array_equal(clean, np.where(xs[:, 0] > 0.0, 1.0, -1.0))
    _assert_freq(int(np.count_nonzero(clean == 1.0)), N, 0.5, "P(clean = +1), gaussian")


# --------------------------------------------------------------------------- basis inputs


@pytest.mark.parametrize("d", [2, 7, 10])
def test_basis_one_hot_uniform_index(d):
    """Basis samples are one-hot; each index has frequency 1/d within 5 SE; clean label follows the index."""
    xs, clean, _ = _stream(seed=606, p=1.0, d=d, data="basis")
    assert np.all((xs == 0.0) | (xs == 1.0))
    assert np.all(xs.sum(axis=1) == 1.0)
    idx = np.argmax(xs, axis=1)
    counts = np.bincount(idx, minlength=d)
    # seed 606, n = 200_000, 5 SE per index: SE = sqrt((1/d)(1 - 1/d)/n).
    for j in range(d):
        _assert_freq(int(counts[j]), N, 1.0 / d, f"basis index {j} of {d}")
    assert counts.sum() == N
    # Clean label [ours], as documented in draws.draw_sample and engine._target: +1 on the first
    # ceil(d/2) basis vectors (d=10: e_1..e_5; d=7: e_1..e_4).
    positives = sorted(set(idx[clean == 1.0].tolist()))
    assert positives == list(range(math.ceil(d / 2))), f"d={d}: +1 on basis indices {positives}"
    assert np.array_equal(clean, np.where(idx < math.ceil(d / 2), 1.0, -1.0))


# --------------------------------------------------------------------------- cube inputs


@pytest.mark.parametrize("cube_dims", [2, 3])
def test_cube_range_and_balanced_label(cube_dims):
    """Cube samples lie in [-1, 1); the clean label is +1 with frequency 1/2 within 5 SE and follows the rule."""
    d = 4
    xs, clean, _ = _stream(seed=707, p=1.0, d=d, data="cube", cube_dims=cube_dims)
    assert xs.min() >= -1.0
    assert xs.max() < 1.0
    # seed 707, n = 200_000, 5 SE: the centred cube of half-width (1/2)^(1/K) holds half of [-1, 1]^K.
    _assert_freq(int(np.count_nonzero(clean == 1.0)), N, 0.5, f"P(clean = +1), cube K={cube_dims}")
    c = cube_task.cube_halfwidth(cube_dims)
    inside = np.all(np.abs(xs[:, :cube_dims]) <= c, axis=1)
    assert np.array_equal(clean, np.where(inside, 1.0, -1.0))


def test_cube_coordinates_uniform():
    """Cube coordinates have mean 0 and variance 1/3 within 5 SE (uniform on [-1, 1))."""
    xs, _, _ = _stream(seed=808, p=1.0, d=4, data="cube")
    # seed 808, n = 200_000 per coordinate, 5 SE: Var(u) = 1/3, Var(u^2) = 1/5 - 1/9 = 4/45.
    assert np.all(np.abs(xs.mean(axis=0)) <= Z * math.sqrt(1.0 / 3.0 / N))
    assert np.all(np.abs(xs.var(axis=0) - 1.0 / 3.0) <= Z * math.sqrt(4.0 / 45.0 / N))


# --------------------------------------------------------------------------- training set


def test_trainset_samples_uniform_rows():
    """With n_train, every sample is a training row with its stored clean label; rows are uniform within 5 SE."""
    n_train = 7
    cfg = fastnoise.RunConfig(seed=909, p=0.0, d=3, n_train=n_train)
    xs, clean, ys = probes.sample_stream(cfg, 0, N)
    data = sets.datasets(cfg)
    match = np.all(xs[:, None, :] == data.Xtr[None, :, :], axis=2)  # (N, n_train)
    assert np.all(match.sum(axis=1) >= 1), "a sample is not a training row"
    row = np.argmax(match, axis=1)
    assert np.array_equal(clean, data.Ytr[row])
    assert np.array_equal(ys, clean)
    counts = np.bincount(row, minlength=n_train)
    # seed 909, n = 200_000, 5 SE per row: SE = sqrt((1/7)(6/7)/n).
    for i in range(n_train):
        _assert_freq(int(counts[i]), N, 1.0 / n_train, f"training row {i}")
