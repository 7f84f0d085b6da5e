"""Determinism: seeds, thread counts, kernel-call chunking, replica independence, checkpoint steps."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnoise
from fastnoise import engine, schedule
from fastnoise.cli import main
from fastnoise.config import MAX_STEPS

BASE = dict(d=8, width=6, steps=3000, records=12, replicas=2)

# model x loss x bias, plus a few data laws / training modes.
CASES = {
    f"{model}-{loss}-{'bias' if bias else 'nobias'}": dict(model=model, loss=loss, bias=bias)
    for model in ("neuron", "twolayer")
    for loss in ("hinge", "logistic")
    for bias in (False, True)
}
CASES.update(
    {
        "twolayer-hidden-basis-labelled": dict(model="twolayer", train="hidden", data="basis", p=0.2),
        "twolayer-cube-trainset": dict(model="twolayer", bias=True, data="cube", cube_dims=3, n_train=64, p=0.1),
        "neuron-gaussian-labelled-init-gaussian": dict(model="neuron", bias=True, p=0.5, init="gaussian", init_norm=1.0),
    }
)
CASE_IDS = list(CASES)

HAVE_TWO_THREADS = numba.config.NUMBA_NUM_THREADS >= 2
needs_two_threads = pytest.mark.skipif(not HAVE_TWO_THREADS, reason="needs NUMBA_NUM_THREADS >= 2")


def _cfg(case: str, **changes) -> fastnoise.RunConfig:
    return fastnoise.RunConfig(**{**BASE, **CASES[case], **changes})


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


# --------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("case", CASE_IDS)
def test_same_seed_identical(case):
    """Two runs with the same config and seed give exactly the same table and final weights."""
    cfg = _cfg(case, seed=11)
    a = engine.run(cfg)
    b = engine.run(cfg)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        for key in wa:
            assert np.array_equal(wa[key], wb[key]), key


@pytest.mark.parametrize("case", CASE_IDS)
def test_different_seeds_differ(case):
    """Seeds 11 and 12 give different initial and final norms."""
    a = fastnoise.simulate(_cfg(case, seed=11))
    b = fastnoise.simulate(_cfg(case, seed=12))
    assert not np.array_equal(a.norm_1.to_numpy(), b.norm_1.to_numpy())
    last = a.step == a.step.max()
    assert not np.array_equal(a.norm_1[last].to_numpy(), b.norm_1[last].to_numpy())


@pytest.mark.parametrize("case", CASE_IDS)
def test_replicas_of_one_run_differ(case):
    """Replicas within one run follow different streams (their norm trajectories differ)."""
    df = fastnoise.simulate(_cfg(case, seed=11))
    r0 = df[df.replica == 0].norm_1.to_numpy()
    r1 = df[df.replica == 1].norm_1.to_numpy()
    assert not np.array_equal(r0, r1)


# --------------------------------------------------------------------------- threads and chunking

THREAD_CASES = ["neuron-hinge-nobias", "twolayer-hinge-nobias", "twolayer-logistic-bias", "twolayer-cube-trainset"]


@needs_two_threads
@pytest.mark.parametrize("replicas", [3, 5])
@pytest.mark.parametrize("case", THREAD_CASES)
def test_threads_bitwise_identical(case, replicas):
    """threads=1 and threads=2 give bitwise-identical tables (uneven split of replicas)."""
    cfg = _cfg(case, replicas=replicas, seed=5)
    one = fastnoise.simulate(cfg, threads=1)
    two = fastnoise.simulate(cfg, threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


@needs_two_threads
def test_cli_threads_bitwise_identical(tmp_path):
    """`fastnoise run --threads 1` and `--threads 2` write identical tables (5 replicas)."""
    args = ["run", "--model", "twolayer", "--width", "6", "--d", "8", "--steps", "3000", "--records", "12"]
    args += ["--replicas", "5", "--seed", "9", "--no-progress"]
    tables = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.parquet"
        result = _runner().invoke(main, [*args, "--threads", str(threads), "--out", str(out)])
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        tables.append(fastnoise.read_results(out))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert tables[0].attrs["config"] == tables[1].attrs["config"]


@pytest.mark.parametrize("case", THREAD_CASES)
def test_chunking_does_not_change_results(case, monkeypatch):
    """Splitting the run into many small kernel calls (progress chunks) gives the same table and weights."""
    cfg = _cfg(case, replicas=3, seed=5)
    whole = engine.run(cfg)
    monkeypatch.setattr(engine, "chunk_steps", lambda *args: 97)
    pieces = engine.run(cfg)
    pd.testing.assert_frame_equal(whole.table, pieces.table, check_exact=True)
    for wa, wb in zip(whole.weights, pieces.weights, strict=True):
        for key in wa:
            assert np.array_equal(wa[key], wb[key]), key


# --------------------------------------------------------------------------- replica independence


@pytest.mark.parametrize("case", CASE_IDS)
def test_replica_rows_independent_of_replica_count(case):
    """Replicas 0 and 1 have the same rows whether the run has 2 or 4 replicas."""
    two = fastnoise.simulate(_cfg(case, replicas=2, seed=4))
    four = fastnoise.simulate(_cfg(case, replicas=4, seed=4))
    assert sorted(four.replica.unique()) == [0, 1, 2, 3]
    head = four[four.replica < 2].reset_index(drop=True)
    same = [c for c in two.columns if c not in ("replicas", "config_id")]  # the configurations differ there
    pd.testing.assert_frame_equal(two[same].reset_index(drop=True), head[same], check_exact=True)


# --------------------------------------------------------------------------- checkpoints


def _check_points(pts: np.ndarray, steps: int, records: int) -> None:
    assert pts.dtype.kind == "i"
    assert pts[0] == 0
    assert pts[-1] == steps
    assert np.all(np.diff(pts) > 0), pts
    assert 2 <= len(pts) <= records


@pytest.mark.parametrize("spacing", ["log", "linear"])
@pytest.mark.parametrize("records", [2, 3, 10, 100, 1000])
@pytest.mark.parametrize("steps", [1, 2, 3, 10, 99, 1000, 12345, 10**9, MAX_STEPS])
def test_checkpoints_grid(steps, records, spacing):
    """Checkpoints include 0 and steps, strictly increase, and number at most records."""
    _check_points(schedule.checkpoints(steps, records, spacing), steps, records)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.integers(1, MAX_STEPS),
    records=st.integers(2, 3000),
    spacing=st.sampled_from(["log", "linear"]),
)
def test_checkpoints_property(steps, records, spacing):
    """For any steps/records/spacing: 0 and steps included, strictly increasing, at most records."""
    _check_points(schedule.checkpoints(steps, records, spacing), steps, records)


@pytest.mark.parametrize("spacing", ["log", "linear"])
def test_table_steps_are_the_checkpoints(spacing):
    """Every replica's rows are exactly the checkpoint steps, in order."""
    cfg = fastnoise.RunConfig(steps=2500, records=17, replicas=3, record_spacing=spacing)
    df = fastnoise.simulate(cfg)
    pts = schedule.checkpoints(cfg.steps, cfg.records, spacing)
    _check_points(pts, cfg.steps, cfg.records)
    for r in range(cfg.replicas):
        assert np.array_equal(df[df.replica == r].step.to_numpy(), pts)
    assert len(df) == cfg.replicas * len(pts)
