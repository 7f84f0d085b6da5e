"""No silent pooling: tables holding several configurations are analysed and drawn per configuration.

Two tiny runs that differ in p (concatenated, or a sweep folder written by the sweep API): the
analysis helpers give, for each configuration, exactly what they give on that configuration alone,
labelled by the parameter that differs; ``fastnoise plot`` draws one line per configuration with a
legend naming it, refuses more than 12 with a message pointing to ``--where``, and ``--where``
selects rows. On one configuration every result is what it always was.
"""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnoise
import fastnoise.sweep as sw
from fastnoise import analysis
from fastnoise.cli import main
from fastnoise.io import read_results

SMALL = dict(steps=2000, replicas=3, records=20, d=5, seed=3)


@pytest.fixture(scope="module")
def runs() -> dict[float, pd.DataFrame]:
    """p -> the table of one tiny run (neuron, hinge)."""
    return {p: fastnoise.simulate(p=p, **SMALL) for p in (0.5, 1.0)}


@pytest.fixture(scope="module")
def mixed(runs) -> pd.DataFrame:
    return pd.concat(list(runs.values()), ignore_index=True)


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """A sweep of two cells (p = 0.5, 1) made with the sweep API."""
    folder = tmp_path_factory.mktemp("pooling") / "sweep"
    spec = sw.SweepSpec(name="pooling", base={"steps": 300, "replicas": 2, "records": 6, "d": 5}, grid={"p": [0.5, 1.0]})
    assert sw.run_sweep(spec, folder).ok
    return folder


@pytest.fixture
def figures(monkeypatch):
    """Every figure saved while the test runs, described: title, legend texts, lines of the first panel."""
    seen: list[dict] = []
    real = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        legends = [t.get_text() for ax in self.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        lines = [line for line in self.axes[0].get_lines() if len(line.get_xdata())]
        seen.append({"title": self.get_suptitle(), "legend": legends, "colors": [line.get_color() for line in lines]})
        return real(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return seen


def _plot(*args: str):
    return CliRunner().invoke(main, ["plot", *args])


# --- which parameters differ -------------------------------------------------------------------


def test_varying_parameters_and_config_key(runs, mixed):
    assert analysis.varying_parameters(runs[0.5]) == [] and analysis.config_key(runs[0.5]) == []
    ids = [c for c in analysis.ID_COLUMNS if c in mixed.columns]  # config_id, when run tables carry it
    assert analysis.varying_parameters(mixed) == ["p", *ids] and analysis.config_key(mixed) == ["p"]
    assert analysis.configs(mixed).p.tolist() == [0.5, 1.0]
    with_null = mixed.assign(init_norm=np.where(mixed.p == 0.5, np.nan, 7.0))  # null in some rows, 7 in others
    assert analysis.varying_parameters(with_null) == ["p", "init_norm", *ids]


def test_an_id_column_separates_configurations_the_parameters_do_not(runs):
    """Two cells that agree in every parameter column are still two configurations when their ids differ."""
    a, b = (runs[0.5].assign(cell=c) for c in ("aaaa", "bbbb"))
    both = pd.concat([a, b], ignore_index=True)
    assert analysis.config_key(both) == ["cell"]
    assert analysis.plateau_level(both, "norm_1").index.names == ["cell", "replica"]
    # an id column that follows from the parameters adds nothing to the key
    assert analysis.config_key(pd.concat([a, runs[1.0].assign(cell="cccc")], ignore_index=True)) == ["p"]


# --- per-configuration results ---------------------------------------------------------------------


def test_per_config_results_equal_each_config_alone(runs, mixed):
    level = analysis.plateau_level(mixed, "norm_1")
    times = analysis.time_to_reach(mixed, "norm_1", 2 * level)
    summary = analysis.aggregate(mixed, ["norm_1", "active_mean"])
    assert level.index.names == ["p", "replica"] and times.index.names == ["p", "replica"] and times.name == "time_to_norm_1"
    assert summary.index.names == ["p", "step"]
    for p, alone in runs.items():
        alone_level = analysis.plateau_level(alone, "norm_1")
        pd.testing.assert_series_equal(level.xs(p, level="p"), alone_level)
        alone_times = analysis.time_to_reach(alone, "norm_1", 2 * alone_level)
        pd.testing.assert_series_equal(times.xs(p, level="p"), alone_times, check_index_type=False, check_names=False)
        pd.testing.assert_frame_equal(summary.xs(p, level="p"), analysis.aggregate(alone, ["norm_1", "active_mean"]))
    assert not level.xs(0.5, level="p").equals(level.xs(1.0, level="p"))


def test_each_config_plateau_is_measured_on_its_own_last_third():
    """A shorter run's plateau comes from its own last third, not from the longer run's."""
    short, long_ = (fastnoise.simulate(**{**SMALL, "steps": s}) for s in (600, 3000))
    level = analysis.plateau_level(pd.concat([short, long_], ignore_index=True), "norm_1")
    pd.testing.assert_series_equal(level.xs(600, level="steps"), analysis.plateau_level(short, "norm_1"))
    pd.testing.assert_series_equal(level.xs(3000, level="steps"), analysis.plateau_level(long_, "norm_1"))


def test_a_sweep_folder_is_analysed_per_cell(sweep_folder):
    df = analysis.load(sweep_folder)
    assert analysis.config_key(df) == ["p"]
    level = analysis.plateau_level(df, "norm_1")
    times = analysis.time_to_reach(df, "norm_1", 2 * level)
    for fragment in sorted(sweep_folder.glob("cell-*.parquet")):
        cell = read_results(fragment)
        p = float(cell.p.iloc[0])
        pd.testing.assert_series_equal(level.xs(p, level="p"), analysis.plateau_level(cell, "norm_1"))
        alone = analysis.time_to_reach(cell, "norm_1", 2 * analysis.plateau_level(cell, "norm_1"))
        pd.testing.assert_series_equal(times.xs(p, level="p"), alone, check_index_type=False, check_names=False)


def test_load_gives_a_partitioned_sweep_its_partition_column(tmp_path):
    spec = sw.SweepSpec(
        name="part",
        base={"steps": 50, "replicas": 1, "records": 3, "d": 4},
        grid={"model": ["neuron", "twolayer"]},
        partition_by=("model",),
    )
    assert sw.run_sweep(spec, tmp_path / "s").ok
    df = analysis.load(tmp_path / "s")
    assert sorted(df.model.unique()) == ["neuron", "twolayer"]
    assert "model" in analysis.config_key(df)


def test_a_level_indexed_by_replica_only_is_refused_for_several_configs(mixed):
    with pytest.raises(ValueError, match=r"differ in p.*indexed by \(p, replica\)"):
        analysis.time_to_reach(mixed, "norm_1", pd.Series([0.1, 0.1, 0.1], index=pd.Index([0, 1, 2], name="replica")))


def test_single_config_results_are_unchanged(runs):
    """One configuration: indexed by replica / step, the values of the plain formulas."""
    df = runs[0.5]
    tail = df[df.step >= (1 - 1 / 3) * df.step.max()]
    pd.testing.assert_series_equal(analysis.plateau_level(df, "norm_1"), tail.groupby("replica")["norm_1"].mean())
    t = analysis.time_to_reach(df, "norm_1", 1.0)
    assert list(t.index) == [0, 1, 2] and t.index.name is None and t.name == "time_to_norm_1"
    pd.testing.assert_series_equal(
        analysis.aggregate(df, "norm_1")[("norm_1", "median")], df.groupby("step")["norm_1"].median(), check_names=False
    )


# --- slopes ------------------------------------------------------------------------------------------


def _slope_table(d: int, exponent: float) -> pd.DataFrame:
    hs = [1e-3, 1e-2, 1e-1]
    # steps follows from h (as in the checks' tables): it does not split the series
    return pd.DataFrame(
        [{"replica": r, "h": h, "d": d, "steps": int(10 / h), "y": (1 + r) * h**exponent} for h in hs for r in range(3)]
    )


def test_slopes_are_fitted_per_series_never_across_them():
    a, b = _slope_table(10, 1.0), _slope_table(30, 2.0)
    assert analysis.replica_slopes(a, "h", "y")[0] == pytest.approx(1.0)
    both = pd.concat([a, b], ignore_index=True)
    with pytest.raises(ValueError, match="differ in d"):
        analysis.replica_slopes(both, "h", "y")
    table = analysis.config_slopes(both, "h", "y")
    assert (
        table.index.name == "d" and table.loc[10, "slope"] == pytest.approx(1.0) and table.loc[30, "slope"] == pytest.approx(2.0)
    )
    assert table.loc[30, "n"] == 3
    with pytest.raises(ValueError, match=r"share \(replica, h\)"):
        analysis.replica_slopes(pd.concat([a, a], ignore_index=True), "h", "y")


# --- the figure ----------------------------------------------------------------------------------------


def test_runs_figure_draws_one_line_per_config_labelled_by_what_differs(mixed, runs):
    import matplotlib.pyplot as plt

    from fastnoise.plotting import runs_figure

    fig = runs_figure(mixed)
    try:
        norm_lines = [line for line in fig.axes[0].get_lines() if len(line.get_xdata())]
        assert len(norm_lines) == 2 and norm_lines[0].get_color() != norm_lines[1].get_color()
        legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert legends == ["p=0.5", "p=1"]
        title = fig.get_suptitle()
        assert "p=" not in title and "model=neuron" in title and "d=5" in title
    finally:
        plt.close(fig)
    one = runs_figure(runs[0.5])
    try:
        assert [t.get_text() for t in one.axes[0].get_legend().get_texts()] == ["first layer"]
        assert "p=0.5" in one.get_suptitle()
    finally:
        plt.close(one)


def test_plot_of_a_sweep_folder_draws_each_cell(sweep_folder, figures):
    result = _plot(str(sweep_folder))
    assert result.exit_code == 0, result.output + result.stderr
    assert (sweep_folder.parent / "sweep.png").exists() and (sweep_folder.parent / "sweep.pdf").exists()
    fig = figures[0]
    assert len(fig["colors"]) == 2 and len(set(fig["colors"])) == 2
    assert "p=0.5" in fig["legend"] and "p=1" in fig["legend"]
    assert "p=" not in fig["title"]


def test_where_selects_rows_before_plotting(sweep_folder, figures, tmp_path):
    out = tmp_path / "half.png"
    result = _plot(str(sweep_folder), "--where", "p=0.5", "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    assert out.exists()
    fig = figures[0]
    assert len(fig["colors"]) == 1 and fig["legend"][0] == "first layer" and "p=0.5" in fig["title"]
    assert not any("p=" in text for text in fig["legend"])


@pytest.fixture(scope="module")
def thirteen(tmp_path_factory):
    """A folder of 13 tables that differ in seed (13 configurations)."""
    folder = tmp_path_factory.mktemp("thirteen")
    for seed in range(13):
        fastnoise.write_results(fastnoise.simulate(steps=20, replicas=1, records=3, d=3, seed=seed), folder / f"s{seed}.parquet")
    return folder


def test_too_many_configs_is_refused_saying_how_to_select(thirteen, figures):
    result = _plot(str(thirteen))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "13 configurations" in result.stderr and "seed" in result.stderr and "--where KEY=VALUE" in result.stderr
    assert not figures and not (thirteen.parent / f"{thirteen.name}.png").exists()
    ok = _plot(str(thirteen), *[a for s in range(12) for a in ("--where", f"seed={s}")])
    assert ok.exit_code == 0, ok.output + ok.stderr
    assert len(figures[0]["legend"]) == 12 and "seed=11" in figures[0]["legend"]


@pytest.mark.parametrize(
    "where, message",
    [
        ("bogus=1", "'bogus' is not a column of PATH"),
        ("p=abc", "'abc' is not a valid float"),
        ("p", "is not KEY=VALUE"),
        ("p=0.3", "no row of PATH has it; the values of p there: 0.5, 1.0"),
        ("model=xx", "'xx' is not one of neuron, twolayer, mlp"),
    ],
)
def test_a_bad_where_is_a_one_line_usage_error(sweep_folder, figures, where, message):
    result = _plot(str(sweep_folder), "--where", where)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: --where") and message in result.stderr
    assert not figures


def test_where_conditions_together_may_leave_no_row(sweep_folder, figures):
    result = _plot(str(sweep_folder), "--where", "p=0.5", "--where", "seed=1")
    assert result.exit_code == 2 and "no row of PATH has it; the values of seed there: 0" in result.stderr
    other = analysis.select(analysis.load(sweep_folder), p=1.0).cell.iloc[0]
    result = _plot(str(sweep_folder), "--where", "p=0.5", "--where", f"cell={other}")
    assert result.exit_code == 2 and "no row of PATH meets them all" in result.stderr
    assert not figures
