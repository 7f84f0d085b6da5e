"""The compiled engine against the plain-NumPy reference (tests/reference.py), step by step.

Both sides see identical random draws: the reference trains on ``probes.sample_stream`` from
``weights.initial_weights`` and evaluates on ``sets.datasets``; every update, decision and metric
is recomputed in NumPy. Runs are tiny (d <= 5, width <= 13, 50 steps, 2 replicas) and record a
checkpoint after every step, so a wrong rule shows up at the step where it first bites.

Tolerance: the kernels accumulate dot products and norms in a different order than NumPy (and a
different sigmoid), so results agree to rounding, not bitwise; rtol = 1e-9 (with atol = 1e-12 for
quantities that pass through 0, such as a bias that starts at 0) leaves six orders of magnitude
between rounding drift over 50 steps (measured: below 1e-13) and any real rule difference (>= lr * |x| ~ 0.1).
Counts (updates, active neurons, dead units, errors) must match exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import BINARY_DATA as DATA
from conftest import Case, _report, cases, compare_to_reference
from conftest import binary_config as _config
from reference import NETWORK_ONLY

from fastnoise import RunConfig
from fastnoise.engine import run
from fastnoise.probes import sample_stream
from fastnoise.schema import METRICS
from fastnoise.sets import datasets
from fastnoise.weights import initial_weights

# The cases (about 90, family "reference" of tests/conftest.py's registry): model/train x loss x
# bias x p in {0, 0.3, 1} on gaussian data; model/train x loss x bias x the other data sets; a few
# edge cases (width 1 and 13, d = 1, Gaussian init, log-spaced checkpoints); the Boolean hypercube
# (hinge: parity, staircase, majority and junta, supports out of order, biased bits, the mixture,
# the rademacher init). The comparison and its tolerances are conftest's compare_to_reference.


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", cases("reference"))
def test_engine_matches_reference(case: Case) -> None:
    """Every metric but ``updates`` at every checkpoint, and the final weights, match the reference."""
    cfg = case.config()
    problems = [q for q in case.compare().problems if " updates:" not in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


@pytest.mark.parametrize("case", cases("reference"))
def test_update_counts_match_reference(case: Case) -> None:
    """``updates`` matches the reference at every checkpoint: hinge counts the misclassified steps,
    logistic the steps that change the weights (not those where no unit has M_i.x >= 0 and no output
    bias is trained). Hinge cases must also have both updating and idle steps (a check of the case)."""
    cfg = case.config()
    comparison = case.compare()
    if cfg.loss == "hinge":
        total = comparison.reference_updates
        assert 0 < total < cfg.steps * cfg.replicas, f"{total} updates in {cfg.steps * cfg.replicas} steps: tune lr"
    problems = [q for q in comparison.problems if " updates:" in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


def test_reference_rows_shape() -> None:
    """Neuron rows are null in the network-only columns, and the two-layer net fills them."""
    neuron = _config(0, "neuron", "all", "hinge", True, "gaussian", 0.3)
    net = _config(0, "twolayer", "all", "hinge", True, "gaussian", 0.3)
    for cfg in (neuron, net):
        table = run(cfg).table
        for name in NETWORK_ONLY:
            nulls = table[name].isna()
            assert nulls.all() if cfg.model == "neuron" else not nulls.any(), (cfg.model, name)


# --------------------------------------------------------------------------- the label stream

NOISE_DATA = ("gaussian", "basis", "cube", "gaussian-n7", "cube-n7")
N_LABELS = 40_000
# Tolerances below are 5 standard errors of a proportion over N_LABELS draws (seed 7, one
# replica): a false alarm has probability ~6e-7 per check, a real bias of 0.02 is caught.
FIVE_SE_HALF = 5 * math.sqrt(0.25 / N_LABELS)


def _stream_config(data: str, p: float, **extra) -> RunConfig:
    kind, n_train = DATA[data]
    params = dict(model="neuron", data=kind, n_train=n_train, d=4, p=p, replicas=3, seed=7)
    return RunConfig(**{**params, **extra})


def _target(cfg: RunConfig, xs: np.ndarray) -> np.ndarray:
    """Clean labels of the input laws [ours]: gaussian sign(x_1); basis +1 on the first ceil(d/2)
    basis vectors; cube +1 iff the first K coordinates lie in [-(1/2)^(1/K), (1/2)^(1/K)]."""
    if cfg.data == "gaussian":
        return np.where(xs[:, 0] > 0, 1.0, -1.0)
    if cfg.data == "basis":
        j = np.argmax(xs, axis=1)
        return np.where(j < math.ceil(cfg.d / 2), 1.0, -1.0)
    c = 0.5 ** (1 / cfg.cube_dims)
    return np.where(np.all(np.abs(xs[:, : cfg.cube_dims]) <= c, axis=1), 1.0, -1.0)


@pytest.mark.parametrize(("data", "d"), [*((data, 4) for data in NOISE_DATA), ("basis", 5)])
def test_clean_labels_follow_the_target(data: str, d: int) -> None:
    """sample_stream's clean label is the target of its input (or the stored training label)."""
    cfg = _stream_config(data, 0.3, d=d)
    xs, clean, _ = sample_stream(cfg, 0, 2000)
    if cfg.data == "basis":
        positive = sorted({int(j) for j in np.argmax(xs[clean == 1.0], axis=1)})
        expected = list(range(math.ceil(d / 2)))
        assert positive == expected, f"d={d}: +1 on basis vectors {positive}, expected {expected} (the first ceil(d/2))"
    if cfg.n_train is None:
        np.testing.assert_array_equal(clean, _target(cfg, xs))
        return
    sets = datasets(cfg)
    np.testing.assert_array_equal(sets.Ytr, _target(cfg, sets.Xtr))
    rows = [int(np.flatnonzero((sets.Xtr == x).all(axis=1))[0]) for x in xs]
    np.testing.assert_array_equal(clean, sets.Ytr[rows])
    assert len(set(rows)) == cfg.n_train  # 2000 uniform picks from 7 hit every sample


@pytest.mark.parametrize("data", NOISE_DATA)
def test_noise_free_labels_are_clean(data: str) -> None:
    """p = 0: the label trained on is the clean label at every step."""
    _, clean, ys = sample_stream(_stream_config(data, 0.0), 1, 5000)
    np.testing.assert_array_equal(ys, clean)


@pytest.mark.parametrize("data", NOISE_DATA)
def test_pure_noise_labels_are_independent(data: str) -> None:
    """p = 1: labels are fair coin flips, independent of the clean label and of the previous label."""
    _, clean, ys = sample_stream(_stream_config(data, 1.0), 2, N_LABELS)
    assert set(np.unique(ys)) == {-1.0, 1.0}
    assert abs(np.mean(ys == 1.0) - 0.5) < FIVE_SE_HALF
    # Agreement with the clean label is 1/2 whatever the clean labels' balance, iff independent.
    assert abs(np.mean(ys == clean) - 0.5) < FIVE_SE_HALF
    # P(y = +1 | clean = +1) = P(y = +1 | clean = -1): difference within 5 standard errors.
    pos, neg = ys[clean == 1.0], ys[clean == -1.0]
    se = math.sqrt(0.25 / pos.size + 0.25 / neg.size)
    assert abs(np.mean(pos == 1.0) - np.mean(neg == 1.0)) < 5 * se
    # Fresh at every step: consecutive labels agree half the time.
    assert abs(np.mean(ys[1:] == ys[:-1]) - 0.5) < 5 * math.sqrt(0.25 / (N_LABELS - 1))


@pytest.mark.parametrize("data", NOISE_DATA)
def test_partial_noise_flips_at_rate_p_over_2(data: str) -> None:
    """0 < p < 1: a uniform redraw with probability p changes the label with probability p/2."""
    p = 0.3
    _, clean, ys = sample_stream(_stream_config(data, p), 0, N_LABELS)
    flips = ys != clean
    se = math.sqrt(p / 2 * (1 - p / 2) / N_LABELS)
    assert abs(np.mean(flips) - p / 2) < 5 * se  # 5 standard errors, seed 7
    # Flips hit both classes alike (the redraw ignores the clean label).
    for cls in (-1.0, 1.0):
        sel = flips[clean == cls]
        assert abs(np.mean(sel) - p / 2) < 5 * math.sqrt(p / 2 * (1 - p / 2) / sel.size)


# --------------------------------------------------------------------------- replica independence


@pytest.mark.parametrize("data", ("gaussian", "basis", "cube-n7"))
def test_stream_does_not_depend_on_replica_count(data: str) -> None:
    """sample_stream and initial_weights for replica r are the same whatever the run's replica count."""
    base = _stream_config(data, 0.3, model="twolayer", width=6)
    for r in (0, 1, 3):
        streams = [sample_stream(base.replace(replicas=R), r, 300) for R in (r + 1, 5, 9)]
        inits = [initial_weights(base.replace(replicas=R), r) for R in (r + 1, 5, 9)]
        for s, w in zip(streams[1:], inits[1:]):
            for a, b in zip(streams[0], s):
                np.testing.assert_array_equal(a, b)
            for key in w:
                np.testing.assert_array_equal(w[key], inits[0][key])
    # ... while different replicas draw different samples.
    assert not np.array_equal(sample_stream(base, 0, 50)[0], sample_stream(base, 1, 50)[0])


@pytest.mark.parametrize("model", ("neuron", "twolayer"))
def test_engine_replica_does_not_depend_on_replica_count(model: str) -> None:
    """A replica's rows and final weights are bitwise the same in a 2-replica and a 5-replica run (and
    with 1 thread or all), and every replica of the 5-replica run matches the reference."""
    cfg = _config(1, model, "all", "logistic", True, "gaussian", 0.3)
    small, large = run(cfg.replace(replicas=2)), run(cfg.replace(replicas=5))
    cols = ["step", *METRICS]
    for r in range(2):
        a = small.table.loc[small.table["replica"] == r, cols].reset_index(drop=True)
        b = large.table.loc[large.table["replica"] == r, cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        for key in small.weights[r]:
            np.testing.assert_array_equal(small.weights[r][key], large.weights[r][key])
    one_thread = run(cfg.replace(replicas=5), threads=1)
    pd.testing.assert_frame_equal(one_thread.table, large.table, check_exact=True)
    problems = compare_to_reference(cfg.replace(replicas=5)).problems
    assert not problems, _report(problems)
