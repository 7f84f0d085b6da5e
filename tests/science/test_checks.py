"""The theorem checks (fastnoise.checks) as real assertions, and proof that they can fail.

Quick mode runs in the default suite; each check's tolerances are stated in its own rows (and
docstring) next to the comparison: e.g. log-log slopes within +-0.1 of the theorem's exponent,
with 16 replicas whose slope spread (s.e. ~0.003) is far inside it.
"""

from __future__ import annotations

import faults
import pytest
from click.testing import CliRunner

from fastnoise import checks
from fastnoise.cli import main
from fastnoise.io import read_results

SEED = 0


@pytest.mark.parametrize("name", [n for n in checks.CHECKS if n != "meanfield"])
def test_quick_check_passes(name):
    """Each theorem holds numerically in quick mode; a failure says what was expected and measured.

    (The mean-field check's quick run is in tests/science/test_meanfield.py, beside its faulty run: both
    use the same flows, computed once.)
    """
    res = checks.run_check(name, mode="quick", seed=SEED)
    assert res.rows, "a check with no rows proves nothing"
    assert any(r.passed is not None for r in res.rows), "a check must assert something"
    assert res.passed, "\n" + res.failures()


#: Where the fault is limited to the runs of the row expected to fail (faults.inject's ``only``), by (fault,
#: check, failing row): the other rows run the real engine, and their faulty kernels (compiled afresh,
#: never cached) are not built.
_FAULT_ONLY = {
    ("flip_sign", "flow", "neuron, pure noise"): {"model": "neuron"},
    ("ignore_noise", "bias", "slides, hinge"): {"loss": "hinge"},
    ("majority_target", "parity", "neuron, hinge, k=3"): {"model": "neuron"},
    ("majority_target", "parity", "two-layer, width 100"): {"model": "twolayer"},
    ("flip_sign", "parity", "the whole check"): {"model": "twolayer"},
}


@pytest.mark.parametrize(
    ("fault", "name", "failing_row"),
    [
        ("flip_sign", "l2", "neuron, engine step"),
        # each check fails under one fault in the default suite; its second fault (its own faulty kernels) is slow
        pytest.param("flip_sign", "l2", "twolayer, engine step", marks=pytest.mark.slow),
        ("flip_sign", "flow", "neuron, pure noise"),
        ("flip_sign", "hinge-neuron", "plateau vs h"),
        ("flip_sign", "nobias", "the whole check"),  # the weights blow up: the engine stops, the check fails
        pytest.param("ignore_noise", "hinge-neuron", "plateau vs h", marks=pytest.mark.slow),
        ("ignore_noise", "sparsify", "k=100, h=1"),
        pytest.param("ignore_noise", "nobias", "hinge, width 100", marks=pytest.mark.slow),
        ("ignore_noise", "bias", "slides, hinge"),
        # the bias check's second fault compiles its own faulty kernels (~45 s; ignore_noise above covers the check)
        pytest.param("drop_bias_step", "bias", "slides, hinge", marks=pytest.mark.slow),
        # trained on a majority, the neuron scores 3/4 on the parity (its rows fail); so does the net, which
        # then never learns (slow: its own faulty kernel); with the step's sign flipped the net blows up
        ("majority_target", "parity", "neuron, hinge, k=3"),
        pytest.param("majority_target", "parity", "two-layer, width 100", marks=pytest.mark.slow),
        pytest.param("flip_sign", "parity", "the whole check", marks=pytest.mark.slow),
    ],
)
def test_check_fails_when_the_engine_is_wrong(fault, name, failing_row, monkeypatch):
    """A deliberately broken engine (step sign flipped, noise ignored, bias step dropped, wrong target) fails the check."""
    faults.inject(monkeypatch, fault, only=_FAULT_ONLY.get((fault, name, failing_row)))
    res = checks.run_check(name, mode="quick", seed=SEED)
    assert not res.passed
    failed = [r.setting for r in res.rows if r.passed is False]
    assert any(s.startswith(failing_row) for s in failed), f"expected a failure in {failing_row!r}, failed: {failed}"
    assert "expected" in res.failures() and "measured" in res.failures()


def test_cli_check_writes_table_plots_and_parquet(tmp_path):
    """`fastnoise check --only` prints the rows, writes Parquet and a PNG, and exits 0 when all pass."""
    out = tmp_path / "check"
    # (two of the quickest checks: the command's output is under test here, each check's verdict above)
    result = CliRunner().invoke(main, ["check", "--only", "hinge-neuron", "--only", "flow", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "hinge-neuron" in result.output and "predicted:" in result.output and "measured:" in result.output
    assert "2/2 checks passed" in result.output
    for name in ("hinge-neuron", "flow"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert len(read_results(out / f"{name}.parquet")) > 0
    rows = read_results(out / "rows.parquet")
    assert set(rows.columns) >= {"check", "setting", "prediction", "measured", "tolerance", "verdict"}


def test_cli_check_exits_1_and_explains_a_failure(tmp_path, monkeypatch):
    """A failing check makes `fastnoise check` exit 1 and print what was expected and measured."""

    faults.inject(monkeypatch, "flip_sign")
    result = CliRunner().invoke(main, ["check", "--only", "hinge-neuron", "--out", str(tmp_path), "--no-plots"])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "expected log-log slope +1" in result.stderr and "measured" in result.stderr


def test_cli_check_rejects_unknown_name(tmp_path):
    """An unknown --only name is a one-line usage error listing the checks."""
    result = CliRunner().invoke(main, ["check", "--only", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "'nope' is not a check" in result.stderr and "hinge-neuron" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", list(checks.CHECKS))
def test_full_check_passes(name):
    """Each theorem holds at the full sizes (run with: pytest -m slow)."""
    res = checks.run_check(name, mode="full", seed=SEED)
    assert res.passed, "\n" + res.failures()
