"""`fastnoise reproduce` (quick sizes), `fastnoise plot`, and the analysis helpers."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnoise
from fastnoise import analysis
from fastnoise.cli import main
from fastnoise.io import read_results
from fastnoise.reproduce import EXPERIMENTS


def _mnist_available() -> bool:
    from fastnoise import data as datasets

    try:
        datasets.load("mnist")
    except datasets.DatasetError:
        return False
    return True


#: Experiments whose quick run has a test of its own, which also checks that the tables and figures are
#: written (each quick run is made once per suite): fig3 and deep below, the others in
#: tests/science/test_regime_experiments.py. (The command line's path is the same for every experiment.)
_OWN_TEST = ("fig3", "deep", "l2-vs-noise", "l2-vs-noise10", "conventions")


def _assert_tables_and_figures(folder):
    """The folder holds Parquet tables (each with rows), PNG and PDF figures, and no temporary file."""
    tables = list(folder.glob("*.parquet"))
    assert tables, "no table written"
    for t in tables:
        assert len(read_results(t)) > 0
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 20_000 for p in pngs)
    assert list(folder.glob("*.pdf"))
    assert not list(folder.glob(".*")), "a temporary file was left behind"


def _short_net_flows(monkeypatch) -> None:
    """The quick nets' mean-field flows (fig2 and fig3, to tau = 5 or 1) take most of their tests' time
    (10-20 s of CPU each); here they go to tau = 0.5: what these tests check is the files and the
    simulations. The flows themselves are tested in tests/science/test_meanfield.py."""
    from fastnoise.reproduce import slides

    monkeypatch.setattr(slides, "NET_FLOW_TAU", {loss: (full, 0.5) for loss, (full, _) in slides.NET_FLOW_TAU.items()})


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n not in _OWN_TEST])
def test_reproduce_quick_writes_tables_and_figures(name, tmp_path, monkeypatch):
    """Each experiment's quick version writes its Parquet tables and a PNG and a PDF figure."""
    if name.startswith(("mnist", "l2-vs-noise")) and not _mnist_available():  # these train on MNIST
        if os.environ.get("FASTNOISE_REQUIRE_DATA") == "1":
            pytest.fail("MNIST is required (FASTNOISE_REQUIRE_DATA=1) but absent: fastnoise data fetch mnist")
        pytest.skip("MNIST is not cached here: run `fastnoise data fetch mnist`")
    if name == "fig2":
        _short_net_flows(monkeypatch)
    result = CliRunner().invoke(main, ["reproduce", name, "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output + result.stderr
    _assert_tables_and_figures(tmp_path / name)


def test_reproduce_list_and_bad_name(tmp_path):
    """--list names every experiment with its parameters; an unknown name is a one-line error."""
    ok = CliRunner().invoke(main, ["reproduce", "--list"])
    assert ok.exit_code == 0
    for name in EXPERIMENTS:
        assert name in ok.output
    bad = CliRunner().invoke(main, ["reproduce", "fig9", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "fig9" in bad.stderr


def test_fig3_quick_shows_neurons_dying(tmp_path, monkeypatch):
    """The quick Fig. 3 (with bias, pure noise, h = 1/d) writes its tables and figures, and loses most
    active neurons, biases negative."""
    from fastnoise.reproduce import run_experiment

    _short_net_flows(monkeypatch)
    s = run_experiment("fig3", tmp_path, quick=True)
    _assert_tables_and_figures(tmp_path / "fig3")
    assert s["active_end"] < 0.1 * s["active_start"]
    assert s["mean_hidden_bias_end"] < 0


def test_plot_command_draws_any_run_table(tmp_path):
    """`fastnoise plot` draws a run table (two-layer, labelled: norms, active neurons, errors)."""
    path = tmp_path / "run.parquet"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--model",
            "twolayer",
            "--width",
            "8",
            "--p",
            "0.3",
            "--steps",
            "2000",
            "--replicas",
            "2",
            "--out",
            str(path),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    p = CliRunner().invoke(main, ["plot", str(path)])
    assert p.exit_code == 0, p.output
    assert (tmp_path / "run.png").stat().st_size > 20_000 and (tmp_path / "run.pdf").exists()
    bad = CliRunner().invoke(main, ["plot", str(tmp_path / "missing.parquet")])
    assert bad.exit_code == 2 and "no such file" in bad.stderr


def test_analysis_helpers_on_a_known_law():
    """aggregate / plateau_level / time_to_reach / loglog_fit / replica_slopes compute what they say."""
    steps = np.arange(0, 101)
    df = pd.DataFrame(
        {
            "replica": np.repeat([0, 1], 101),
            "step": np.tile(steps, 2),
            "norm_1": np.concatenate([np.maximum(10 - 0.2 * steps, 1.0), np.maximum(20 - 0.4 * steps, 2.0)]),
        }
    )
    agg = analysis.aggregate(df, "norm_1")
    assert agg.loc[0, ("norm_1", "median")] == 15 and agg.loc[0, ("norm_1", "n")] == 2
    lv = analysis.plateau_level(df, "norm_1")
    assert lv[0] == pytest.approx(1.0) and lv[1] == pytest.approx(2.0)
    t = analysis.time_to_reach(df, "norm_1", 2 * lv)
    assert t[0] == 40 and t[1] == 40
    x = np.array([1.0, 10.0, 100.0])
    slope, icpt, se = analysis.loglog_fit(x, 3 * x**-1.5)
    assert slope == pytest.approx(-1.5) and 10**icpt == pytest.approx(3) and se == pytest.approx(0, abs=1e-12)
    table = pd.DataFrame({"replica": [0, 0, 0, 1, 1, 1], "h": [1, 10, 100] * 2, "y": [1, 10, 100, 2, 20, 200]})
    mean, sem, per = analysis.replica_slopes(table, "h", "y")
    assert mean == pytest.approx(1.0) and len(per) == 2


def test_analysis_load_reads_a_folder(tmp_path):
    """load() concatenates every table below a folder and skips temporary (dot) files."""
    for seed in (1, 2):
        fastnoise.write_results(fastnoise.simulate(steps=100, replicas=1, seed=seed), tmp_path / f"s{seed}.parquet")
    (tmp_path / ".partial.parquet.tmp").write_bytes(b"garbage")
    df = analysis.load(tmp_path)
    assert set(df.seed) == {1, 2}


@pytest.mark.parametrize("args", [["run", "--data", "mnist", "--steps", "10"], ["reproduce", "mnist", "--quick"]])
def test_missing_mnist_is_a_one_line_error_saying_how_to_get_it(tmp_path, monkeypatch, args):
    """Without the data set, a run or the experiment stops with one line naming the fetch command."""
    monkeypatch.setenv("FASTNOISE_DATA", str(tmp_path / "empty-cache"))
    out = ["--out", str(tmp_path / ("x.parquet" if args[0] == "run" else "r"))]
    result = CliRunner().invoke(main, args + out)
    assert result.exit_code == 1
    # (reproduce first announces the experiment on a timestamped progress line: the error is one line after it)
    errors = [line for line in result.stderr.splitlines() if not re.match(r"\d{4}-\d\d-\d\dT[\d:]+ reproduce 1/1: mnist", line)]
    assert len(errors) == 1 and "fastnoise data fetch mnist" in errors[0]
    assert not (tmp_path / "x.parquet").exists()


def test_deep_quick_writes_per_layer_tables_and_summary(tmp_path):
    """`reproduce deep --quick` (400 steps, 2 replicas): 12 per-setting tables with every layer's
    columns, the summary (Parquet and markdown, one row per setting and layer), the probe of the
    unscaled init, and the figure."""
    from fastnoise.reproduce import DEEP_VARIANTS, DEEP_WIDTHS

    result = CliRunner().invoke(main, ["reproduce", "deep", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output + result.stderr
    folder = tmp_path / "deep"
    settings = []
    for widths in DEEP_WIDTHS:
        L = len(widths) + 1
        for bias, loss in DEEP_VARIANTS:
            name = f"L{L}_{'bias' if bias else 'nobias'}_{loss}"
            settings.append(name)
            df = read_results(folder / f"deep_{name}.parquet")
            assert df.attrs["config"]["widths"] == list(widths) and df.attrs["config"]["init"] == "fanin"
            assert set(df.replica) == {0, 1} and df.step.max() == 400 and (df.loss == loss).all() and (df.bias == bias).all()
            for l in range(1, L + 1):
                assert {f"norm_{l}", f"log10_norm_{l}", f"bias_norm_{l}"} <= set(df.columns)
                assert df[f"norm_{l}"].notna().all()
            for l in range(1, L):
                assert {f"active_mean_{l}", f"active_min_{l}", f"dead_{l}"} <= set(df.columns)
            assert f"active_mean_{L}" not in df.columns and f"norm_{L + 1}" not in df.columns
    summary = read_results(folder / "summary.parquet")
    expected = {
        "setting",
        "L",
        "bias",
        "loss",
        "layer",
        "kind",
        "norm_start",
        "norm_end",
        "ratio",
        "log10_ratio",
        "mean_bias_end",
        "active_start",
        "active_end",
        "dead_end",
        "half_active_step",
        "layer_fell_most",
        "first_layer_below_half_active",
    }
    assert expected <= set(summary.columns)
    assert len(summary) == sum(4 * (len(w) + 1) for w in DEEP_WIDTHS)
    assert list(summary.setting.unique()) == settings
    hidden = summary[summary.kind == "hidden"]
    assert hidden.active_end.notna().all() and summary[summary.kind == "output"].active_end.isna().all()
    assert np.allclose(summary.ratio, summary.norm_end / summary.norm_start)
    text = (folder / "summary.md").read_text()
    assert all(s in text for s in settings)
    probe = read_results(folder / "uniform_probe.parquet")
    assert list(probe.setting) == settings and {"finite", "nonfinite_step", "max_log10_growth"} <= set(probe.columns)
    assert (folder / "deep.png").stat().st_size > 20_000 and (folder / "deep.pdf").exists()
    assert not list(folder.glob(".*")), "a temporary file was left behind"
    _assert_tables_and_figures(folder)
