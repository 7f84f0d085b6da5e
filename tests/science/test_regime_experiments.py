"""The training-regime experiments (issue 12): `reproduce l2-vs-noise`, `reproduce conventions`, and the minibatch check.

Quick versions write their tables (every row with its configuration) and figures; the minibatch
plateau law of ``theory.neuron_batch_plateau`` is checked on a value computed by hand; the
``batch-neuron`` check passes in quick mode and fails when the engine's minibatch step is wrong
(updates summed instead of averaged) or its sign flipped.
"""

from __future__ import annotations

import math
import os

import faults
import numba
import pandas as pd
import pytest

from fastnoise import checks, plan, theory
from fastnoise._kernels import driver
from fastnoise.io import read_configs, read_results
from fastnoise.models import model_of
from fastnoise.reproduce import EXPERIMENTS
from fastnoise.reproduce.conventions_task import CONV_CELLS, conventions
from fastnoise.reproduce.l2_noise import _findings, l2_vs_noise


def _require_mnist() -> None:
    from fastnoise import data as datasets

    try:
        datasets.load("mnist")
    except datasets.DatasetError:
        if os.environ.get("FASTNOISE_REQUIRE_DATA") == "1":
            pytest.fail("MNIST is required (FASTNOISE_REQUIRE_DATA=1) but absent: fastnoise data fetch mnist")
        pytest.skip("MNIST is not cached here: run `fastnoise data fetch mnist`")


def test_experiments_are_registered():
    """`fastnoise reproduce` knows the three experiments."""
    assert {"l2-vs-noise", "l2-vs-noise10", "conventions"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("classes", [2, 10])
def test_l2_vs_noise_quick_writes_every_configuration(classes, tmp_path):
    """Quick l2-vs-noise: one table holding every (p, l) run with its configuration, the summary and the figure."""
    _require_mnist()
    s = l2_vs_noise(tmp_path, quick=True, classes=classes)
    stem = "l2-vs-noise" if classes == 2 else "l2-vs-noise10"
    df = read_results(tmp_path / f"{stem}.parquet")
    cells = df[["p", "weight_decay"]].drop_duplicates()
    assert len(cells) == 4 and set(cells.p) == {0.0, 0.5} and set(cells.weight_decay) == {0.0, 0.01}
    assert len(read_configs(tmp_path / f"{stem}.parquet")) == 4
    assert set(df.classes) == {classes} and set(df.loss) == {"logistic"}
    summary = read_results(tmp_path / "summary.parquet")
    assert len(summary) == 4 and {"norm_1", "norm_2", "active_mean", "error_test"} <= set(summary.columns)
    assert "noise sparsifies" in (tmp_path / "summary.md").read_text()
    for ext in ("png", "pdf"):
        assert (tmp_path / f"{stem}.{ext}").stat().st_size > 10_000
    assert isinstance(s["noise shrinks norm_2"], bool) and isinstance(s["decay sparsifies (fewer active neurons)"], bool)
    assert not list(tmp_path.glob(".*")), "a temporary file was left behind"


def test_l2_vs_noise_refuses_a_grid_without_its_reference_cell(tmp_path):
    """A grid without p = 0 or l = 0 has nothing to compare with: refused before any run."""
    with pytest.raises(ValueError, match="must include 0"):
        l2_vs_noise(tmp_path, ps=(0.2, 0.5))
    assert not list(tmp_path.iterdir())


def test_l2_findings_answer_from_the_numbers():
    """The findings say 'shrinks' / 'sparsifies' exactly when the means differ by more than 2 standard errors."""
    rows = []
    for p, lam, n1, n2, act in [
        (0.0, 0.0, 10.0, 4.0, 60.0),
        (0.5, 0.0, 10.0, 2.0, 30.0),  # noise: output layer halves, half the neurons
        (0.0, 0.01, 7.0, 4.0, 60.0),  # decay: hidden layer shrinks, no sparsity
        (0.5, 0.01, 7.0, 2.0, 30.0),
    ]:
        for r, eps in enumerate((-0.01, 0.01)):
            rows.append(
                dict(
                    p=p,
                    weight_decay=lam,
                    replica=r,
                    error_test=0.1 + eps,
                    error_train=0.1,
                    norm_1=n1 + eps,
                    norm_2=n2 + eps,
                    active_mean=act + eps,
                )
            )
    f = _findings(pd.DataFrame(rows))
    assert f["noise shrinks norm_2"] and not f["noise shrinks norm_1"]
    assert f["decay shrinks norm_1"] and not f["decay shrinks norm_2"]
    assert f["noise sparsifies (fewer active neurons)"] and not f["decay sparsifies (fewer active neurons)"]


def test_conventions_quick_records_matched_flip_rates(tmp_path):
    """Quick conventions: each (noise, mode, rate) cell and p = 0; uniform at p = 2r, flip at p = r; applied rates recorded."""
    s = conventions(tmp_path, quick=True)
    df = read_results(tmp_path / "conventions.parquet")
    cells = df[["noise", "noise_mode", "rate", "p", "flip_rate"]].drop_duplicates()
    assert len(cells) == 1 + 2 * len(CONV_CELLS)
    assert len(read_configs(tmp_path / "conventions.parquet")) == len(cells)
    for row in cells.itertuples():
        assert row.p == (2 * row.rate if row.noise == "uniform" else row.rate)
        if row.noise_mode == "fresh":
            assert row.flip_rate == row.rate  # the expectation: uniform p/2, flip p
        else:
            assert abs(row.flip_rate - row.rate) < 5 * math.sqrt(row.rate * (1 - row.rate) / 500)  # realised on n = 500
    for ext in ("png", "pdf"):
        assert (tmp_path / f"conventions.{ext}").stat().st_size > 10_000
    assert len(read_results(tmp_path / "summary.parquet")) == len(cells)
    assert len(s["n=500"]) == 2 and "fresh - fixed" in s["n=500"][0]
    assert not list(tmp_path.glob(".*")), "a temporary file was left behind"


def test_batch_plateau_by_hand():
    """d = 30, h = 0.01, b = 4, hinge: 0.01 * sqrt(pi/2) * (30/8 + 3/(8 pi)) = 0.01 * 1.2533141 * 3.8693662 = 0.0484953."""
    assert theory.neuron_batch_plateau(30, 0.01, 4) == pytest.approx(0.0484953, rel=1e-6)
    assert theory.neuron_batch_plateau(30, 0.01, 1) == pytest.approx(theory.neuron_hinge_plateau(30, 0.01), rel=1e-15)
    assert theory.neuron_batch_plateau(30, 0.01, 4, "logistic") == pytest.approx(math.sqrt(0.0375), rel=1e-12)
    assert theory.neuron_batch_plateau(30, 0.01, 1, "logistic") == pytest.approx(theory.neuron_logistic_plateau(30, 0.01))
    with pytest.raises(ValueError, match="b must be >= 1"):
        theory.neuron_batch_plateau(30, 0.01, 0)


def test_batch_check_passes_quick_and_tells_the_laws_apart():
    """Quick batch-neuron passes; the hinge slope is asserted (not only reported) and is far from 1/sqrt(b)'s -1/2."""
    res = checks.run_check("batch-neuron", mode="quick", seed=0)
    assert res.passed, "\n" + res.failures()
    asserted = [r for r in res.rows if r.passed is not None]
    assert any(r.setting.startswith("plateau vs b, hinge") for r in asserted)
    assert any(r.setting.startswith("plateau level, hinge") for r in asserted)
    g = res.data[res.data.loss == "hinge"]
    assert set(g.batch) == {1, 2, 4, 16} and g.replica.nunique() == 16


def _sum_not_mean(real):
    """The minibatch fault: every per-sample update taken at h * b, so the step sums the b updates instead of averaging."""

    @numba.njit
    def update(j, y, P, h, *w):
        return real(j, y, P, h * P.batch, *w)

    return {"UPDATE": update}


_SUM_BUILT: dict = {}


def _inject_sum_not_mean(monkeypatch):
    """Give the hinge neuron's minibatch kernel the fault (the only build compiled for it: faulty builds are not cached)."""
    real_kernels = plan.kernels

    def faulty(cfg, spec=None):
        kern = real_kernels(cfg, spec)
        if cfg.loss != "hinge" or cfg.batch == 1:
            return kern
        model = model_of(cfg).kernel()
        key = (model.name, kern.spec)
        if key not in _SUM_BUILT:
            _SUM_BUILT[key] = driver.build(
                model, kern.spec, kern.loss, kern.sampler, kern.metrics, replace=_sum_not_mean(kern.update)
            )
        return _SUM_BUILT[key]

    monkeypatch.setattr(plan, "kernels", faulty)


@pytest.mark.parametrize("fault", ["sum_not_mean", pytest.param("flip_sign", marks=pytest.mark.slow)])
def test_batch_check_fails_when_the_engine_is_wrong(fault, monkeypatch):
    """Summing the minibatch's updates (plateau no longer falls with b) or flipping the step fails the slope rows.

    ``flip_sign`` compiles four faulty kernels (about 40 s): slow.
    """
    if fault == "sum_not_mean":
        _inject_sum_not_mean(monkeypatch)
    else:
        faults.inject(monkeypatch, fault)
    res = checks.run_check("batch-neuron", mode="quick", seed=0)
    assert not res.passed
    failed = [r.setting for r in res.rows if r.passed is False]
    assert any(s.startswith("plateau vs b, hinge") for s in failed), failed
    assert "expected" in res.failures() and "measured" in res.failures()
