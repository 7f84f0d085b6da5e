"""Curricula (``--curriculum``, arXiv 2301.13833): a schedule of input laws within one run.

The engine asks the task for its stages (``Task.schedule``; the hypercube's curriculum), ends
every kernel call at a stage boundary and runs each call under its stage's kernel parameters;
the random streams run on across the boundary. So: a run's rows up to its first boundary are
bitwise those of the first stage's law alone, a one-stage curriculum is its law, an interrupted
run resumed inside a later stage is the uninterrupted run, and the engine matches the NumPy
reference on the sample stream that switches at the same steps (the boundary is at its step,
not one off). The table gains a ``stage`` column, and only with a curriculum.

Cost: one kernel variant, the two-layer net on the hypercube (hinge), shared by every test here
(d = 8, width 8, at most 4000 steps, 2 replicas); the neuron and the mlp variants are slow tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import _report, compare_to_reference, interrupted

import fastnoise
from fastnoise import engine, probes
from fastnoise.errors import ConfigError
from fastnoise.schedule import checkpoints, segments, stage_column, stage_of
from fastnoise.schema import metric_names
from fastnoise.sets import datasets
from fastnoise.sweep import SweepSpec, parse_grid_option, run_sweep
from fastnoise.tasks import get_task
from fastnoise.tasks.hypercube import parse_curriculum

BASE = dict(
    model="twolayer", data="hypercube", bias=True, d=8, width=8, lr=0.05, init="fanin", p=0.1, support="3", replicas=2, seed=3
)
#: Biased bits, then uniform ones from step 1700 on (1700 is not a checkpoint: the boundary splits a call).
CURRICULUM = "bit-bias=0.9:1700,bit-bias=0.5"
STEPS = dict(steps=4000, records=9, record_spacing="linear")  # checkpoints every 500 steps


def _config(**extra) -> fastnoise.RunConfig:
    return fastnoise.RunConfig(**{**BASE, **STEPS, **extra})


def _metrics(df: pd.DataFrame, cfg: fastnoise.RunConfig) -> pd.DataFrame:
    return df[["replica", "step", *metric_names(cfg)]].reset_index(drop=True)


@pytest.fixture
def small_calls(monkeypatch):
    """Kernel calls of 997 steps: the boundary at 1700 falls inside the second call."""
    monkeypatch.setattr(engine, "chunk_steps", lambda *a: 997)


# --------------------------------------------------------------------------- the timeline (numpy only)


@pytest.mark.parametrize("chunk", [7, 997, 5000])
@pytest.mark.parametrize("cuts", [(), (1,), (999, 1000), (1700,), (2500, 4999)])
def test_calls_end_at_every_stage_boundary(chunk, cuts):
    points = checkpoints(5000, 6, "linear")
    calls = segments(points, chunk, cuts)
    ends = np.cumsum([n for *_, n in calls])
    assert ends[-1] == 5000 and all(n <= chunk for *_, n in calls)
    assert set(cuts) <= set(ends.tolist())
    # the checkpoints are recorded where they were: every recorded checkpoint after points[rec] steps
    done, seen = 0, []
    for seg_steps, seg_rec, n in calls:
        assert seg_steps.sum() == n
        for k, rec in zip(seg_steps, seg_rec, strict=True):
            done += int(k)
            if rec >= 0:
                assert done == points[rec]
                seen.append(int(rec))
    assert seen == list(range(len(points)))
    if not cuts:  # a run without stages keeps its calls: chunk-sized, the last one shorter
        assert all(n == chunk for *_, n in calls[:-1])


def test_segments_refuse_boundaries_out_of_order():
    with pytest.raises(ValueError, match="positive and increasing"):
        segments(checkpoints(100, 3, "linear"), 10, (50, 50))


def test_stage_is_the_stage_of_the_last_step_before_the_checkpoint():
    assert stage_column([0, 1700], np.array([0, 1, 1700, 1701, 4000])).tolist() == [1, 1, 1, 2, 2]
    assert [stage_of([0, 1700, 3000], s) for s in (0, 1699, 1700, 2999, 3000)] == [0, 0, 1, 1, 2]


# --------------------------------------------------------------------------- the option


def test_stages_are_separated_by_commas_or_bars_and_spelled_with_commas():
    bars = _config(curriculum=" bit-bias=0.9:1700 | mix=0.5;mix-bias=0.8:1000 |bit-bias=0.5")
    assert bars.curriculum == "bit-bias=0.9:1700,mix=0.5;mix-bias=0.8:1000,bit-bias=0.5"
    stages = parse_curriculum(bars.curriculum, bars)
    assert [s.start for s in stages] == [0, 1700, 2700]
    assert (stages[1].bit_bias, stages[1].mix, stages[1].mix_bias) == (0.5, 0.5, 0.8)  # unset keys: the run's
    assert bars == _config(curriculum=bars.curriculum)


@pytest.mark.parametrize(
    "text,words",
    [
        ("bit-bias=0.9:1700", ("ends at step 1700", "--steps 4000", "|")),  # a --grid value cut at a comma
        ("bit-bias=0.9:1700,bit-bias=0.5:3000", ("ends at step 4700",)),
        ("bit-bias=0.9:4000,bit-bias=0.5", ("starts at step 4000",)),
        ("bit-bias=0.9,bit-bias=0.5", ("needs a length",)),
        ("bit-bias=1.5:10,bit-bias=0.5", ("(0, 1)", "1.5")),
    ],
)
def test_a_bad_curriculum_is_one_line_naming_it(text, words):
    with pytest.raises(ConfigError, match="curriculum") as err:
        _config(curriculum=text)
    assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_a_last_stage_may_end_exactly_at_the_last_step():
    cfg = _config(curriculum="bit-bias=0.9:1700,bit-bias=0.5:2300")
    assert [start for start, _ in get_task("hypercube").schedule(cfg)] == [0, 1700]
    assert get_task("hypercube").schedule(_config()) is None and get_task("gaussian").schedule(_config(data="gaussian")) is None


# --------------------------------------------------------------------------- runs


def test_rows_before_the_first_boundary_are_the_first_law_alone(small_calls):
    """Bitwise up to step 1500 (the last checkpoint of stage 1), and the stage column; the laws then part.

    The run's own law is the first stage's: its probe and test sets are then those of the run alone.
    """
    staged = engine.run(_config(bit_bias=0.9, curriculum=CURRICULUM), threads=1).table
    alone = engine.run(_config(bit_bias=0.9), threads=1).table
    assert staged["stage"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 2] * 2
    assert staged["stage"].dtype == np.int64 and list(staged.columns[:3]) == ["replica", "step", "stage"]
    assert "stage" not in alone.columns
    cfg = _config()
    before = staged["step"] <= 1700
    pd.testing.assert_frame_equal(_metrics(staged[before], cfg), _metrics(alone[before], cfg), check_exact=True)
    after = ~before
    assert not np.array_equal(staged.loc[after, "norm_1"].to_numpy(), alone.loc[after, "norm_1"].to_numpy())


def test_one_stage_is_its_law_and_calls_do_not_matter(monkeypatch):
    """A one-stage curriculum trains on its law, bitwise (a stage column of 1s besides); the probe and
    test sets stay the run's own law; the chunking of the kernel calls changes nothing."""
    one = engine.run(_config(bit_bias=0.9, curriculum="bit-bias=0.9"), threads=1)
    law = engine.run(_config(bit_bias=0.9), threads=1)
    assert (one.table["stage"] == 1).all()
    cfg = _config()
    pd.testing.assert_frame_equal(_metrics(one.table, cfg), _metrics(law.table, cfg), check_exact=True)
    # on the uniform law, the same training stream (the same weights) but the uniform law's sets
    other = _config(curriculum="bit-bias=0.9")
    on_uniform = engine.run(other, threads=1)
    for a, b in zip(on_uniform.weights, law.weights, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    own, uniform = datasets(other), datasets(_config())
    np.testing.assert_array_equal(own.Xpr, uniform.Xpr)
    np.testing.assert_array_equal(own.Xte, uniform.Xte)
    assert not np.array_equal(own.Xpr, datasets(_config(bit_bias=0.9)).Xpr)
    staged = engine.run(_config(curriculum=CURRICULUM), threads=1).table
    monkeypatch.setattr(engine, "chunk_steps", lambda *a: 131)
    pd.testing.assert_frame_equal(engine.run(_config(curriculum=CURRICULUM), threads=2).table, staged, check_exact=True)


@pytest.mark.parametrize("after_calls", [2, 3])  # at the boundary (1700 steps done), and inside stage 2 (2697)
def test_resume_inside_the_second_stage_is_bitwise(small_calls, tmp_path, after_calls):
    cfg = _config(curriculum=CURRICULUM)
    full = engine.run(cfg, threads=1)
    st = interrupted(cfg, tmp_path / "c.npz", after_calls)
    assert st.steps == {2: 1700, 3: 2697}[after_calls]
    resumed = engine.run(cfg, threads=2, resume=st)
    pd.testing.assert_frame_equal(resumed.table, full.table, check_exact=True)
    for a, b in zip(resumed.weights, full.weights, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_the_sample_stream_switches_law_at_the_boundary():
    cfg = _config(curriculum="bit-bias=0.9:25,bit-bias=0.1", steps=60, records=2)
    xs, _, _ = probes.sample_stream(cfg, 1, 60)
    first, _, _ = probes.sample_stream(_config(bit_bias=0.9, steps=60, records=2), 1, 60)
    np.testing.assert_array_equal(xs[:25], first[:25])
    assert (xs[:25] > 0).mean() > 0.75 and (xs[25:] > 0).mean() < 0.25  # 200 and 280 bits: ~10 SE from the other law


def test_the_engine_matches_the_reference_across_the_boundary():
    """Every metric at every step, and the final weights, against the NumPy rule on the staged stream."""
    cfg = _config(curriculum="bit-bias=0.8:25,bit-bias=0.3;mix=0.5;mix-bias=0.9", steps=60, records=61, lr=0.25)
    comparison = compare_to_reference(cfg)
    assert not comparison.problems, _report(comparison.problems)
    assert 0 < comparison.reference_updates < 120


@pytest.mark.slow
@pytest.mark.parametrize("model", [dict(model="neuron"), dict(model="mlp", widths="6,4")])
def test_the_neuron_and_the_mlp_follow_the_curriculum(model, small_calls, tmp_path):
    """Each other model's variant (a compile each): the first law's rows, resume inside stage 2, the reference."""
    net = {k: v for k, v in BASE.items() if k != "width"} | model
    cfg = fastnoise.RunConfig(**net, **STEPS, bit_bias=0.9, curriculum=CURRICULUM)
    staged = engine.run(cfg, threads=1)
    alone = engine.run(cfg.replace(curriculum=None), threads=1).table
    before = staged.table["step"] <= 1700
    cols = ["replica", "step", *metric_names(cfg)]
    pd.testing.assert_frame_equal(
        staged.table.loc[before, cols].reset_index(drop=True), alone.loc[before, cols].reset_index(drop=True), check_exact=True
    )
    resumed = engine.run(cfg, threads=2, resume=interrupted(cfg, tmp_path / "c.npz", 3))
    pd.testing.assert_frame_equal(resumed.table, staged.table, check_exact=True)
    assert not staged.table.loc[~before, "norm_1"].equals(alone.loc[~before, "norm_1"])
    small = cfg.replace(curriculum="bit-bias=0.8:25,bit-bias=0.3", steps=60, records=61, lr=0.25)
    comparison = compare_to_reference(small)
    assert not comparison.problems, _report(comparison.problems)


# --------------------------------------------------------------------------- sweeps


def test_a_sweep_grid_of_curricula(tmp_path):
    """``--grid`` splits its values at commas: stages separated by | make one value each; the fragments carry the stage."""
    key, values = parse_grid_option("curriculum=bit-bias=0.9:100|bit-bias=0.5,bit-bias=0.7:200|bit-bias=0.5")
    assert key == "curriculum" and len(values) == 2
    base = {**BASE, "steps": 300, "records": 4, "record_spacing": "linear"}
    spec = SweepSpec(name="curricula", base=base, grid={key: values})
    assert [c.config.curriculum for c in spec.cells()] == ["bit-bias=0.9:100,bit-bias=0.5", "bit-bias=0.7:200,bit-bias=0.5"]
    report = run_sweep(spec, tmp_path / "s")
    assert len(report.done) == 2 and not report.failed
    df = pd.read_parquet(tmp_path / "s").sort_values(["curriculum", "replica", "step"])
    assert df["stage"].tolist() == [1, 1, 1, 2] * 2 + [1, 1, 2, 2] * 2  # "bit-bias=0.7..." sorts first
