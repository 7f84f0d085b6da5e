"""Every validation rule, through the Python API and the CLI.

API: ``RunConfig(...)`` / ``simulate(...)`` raise :class:`fastnoise.ConfigError` whose message names
the parameter and the bad value. CLI: exit status 2, exactly one ``Error: ...`` line on stderr that
names the option and the value, nothing on stdout, and no output file (nor folder) created.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba
import pytest
from conftest import CLI_BASE, _assert_one_line_error, _runner

import fastnoise
from fastnoise.cli import main

# Keep every call tiny, so a missing rule shows as a failed assertion rather than a long run.
API_BASE = {"steps": 200, "replicas": 1, "records": 5}
NMAX = numba.config.NUMBA_NUM_THREADS
TOO_MANY_THREADS = max(os.cpu_count() or 1, NMAX) + 1


# (api kwargs, cli args, api parameter name, cli option, substrings naming the bad value)
RULES = [
    pytest.param({"lr": -1.0}, ["--lr", "-1"], "lr", "--lr", ("got -1",), id="lr-negative"),
    pytest.param({"lr": 0.0}, ["--lr", "0"], "lr", "--lr", ("got 0",), id="lr-zero"),
    pytest.param({"p": -0.1}, ["--p", "-0.1"], "p", "--p", ("got -0.1",), id="p-negative"),
    pytest.param({"p": 1.5}, ["--p", "1.5"], "p", "--p", ("got 1.5",), id="p-above-one"),
    pytest.param({"d": 0}, ["--d", "0"], "d", "--d", ("got 0",), id="d-zero"),
    pytest.param({"d": -3}, ["--d", "-3"], "d", "--d", ("got -3",), id="d-negative"),
    pytest.param(
        {"model": "twolayer", "width": 0},
        ["--model", "twolayer", "--width", "0"],
        "width",
        "--width",
        ("got 0",),
        id="width-zero",
    ),
    pytest.param(
        {"model": "twolayer", "width": 5, "train": "hidden"},
        ["--model", "twolayer", "--width", "5", "--train", "hidden"],
        "width",
        "--width",
        ("got 5",),
        id="width-odd-train-hidden",
    ),
    pytest.param(
        {"model": "neuron", "train": "hidden"},
        ["--model", "neuron", "--train", "hidden"],
        "train",
        "--train",
        ("hidden", "neuron"),
        id="train-hidden-with-neuron",
    ),
    pytest.param({"model": "perceptron"}, ["--model", "perceptron"], "model", "--model", ("'perceptron'",), id="model-unknown"),
    pytest.param({"loss": "squared"}, ["--loss", "squared"], "loss", "--loss", ("'squared'",), id="loss-unknown"),
    pytest.param({"data": "torus"}, ["--data", "torus"], "data", "--data", ("'torus'",), id="data-unknown"),
    pytest.param({"init": "zeros"}, ["--init", "zeros"], "init", "--init", ("'zeros'",), id="init-unknown"),
    pytest.param(
        {"record_spacing": "cubic"},
        ["--record-spacing", "cubic"],
        "record_spacing",
        "--record-spacing",
        ("'cubic'",),
        id="record-spacing-unknown",
    ),
    pytest.param(
        {"data": "cube", "d": 3, "cube_dims": 4},
        ["--data", "cube", "--d", "3", "--cube-dims", "4"],
        "cube_dims",
        "--cube-dims",
        ("got 4",),
        id="cube-dims-above-d",
    ),
    pytest.param({"records": 1}, ["--records", "1"], "records", "--records", ("got 1",), id="records-one"),
    pytest.param({"records": 0}, ["--records", "0"], "records", "--records", ("got 0",), id="records-zero"),
    pytest.param({"replicas": 0}, ["--replicas", "0"], "replicas", "--replicas", ("got 0",), id="replicas-zero"),
    pytest.param({"init_scale": 0.0}, ["--init-scale", "0"], "init_scale", "--init-scale", ("got 0",), id="init-scale-zero"),
    pytest.param(
        {"init_scale": -2.0}, ["--init-scale", "-2"], "init_scale", "--init-scale", ("got -2",), id="init-scale-negative"
    ),
    pytest.param({"init_norm": 0.0}, ["--init-norm", "0"], "init_norm", "--init-norm", ("got 0",), id="init-norm-zero"),
    pytest.param(
        {"init_norm": -1.5}, ["--init-norm", "-1.5"], "init_norm", "--init-norm", ("got -1.5",), id="init-norm-negative"
    ),
    pytest.param({"steps": "abc"}, ["--steps", "abc"], "steps", "--steps", ("'abc'",), id="steps-non-numeric"),
    pytest.param({"steps": 1.5}, ["--steps", "1.5"], "steps", "--steps", ("1.5",), id="steps-fractional"),
    pytest.param({"steps": 0}, ["--steps", "0"], "steps", "--steps", ("got 0",), id="steps-zero"),
    # Further rules of RunConfig beyond the brief's list.
    pytest.param({"lr": float("nan")}, ["--lr", "nan"], "lr", "--lr", ("got nan",), id="lr-nan"),
    pytest.param({"lr": float("inf")}, ["--lr", "inf"], "lr", "--lr", ("got inf",), id="lr-inf"),
    pytest.param({"p": float("nan")}, ["--p", "nan"], "p", "--p", ("got nan",), id="p-nan"),
    pytest.param({"steps": 10**19}, ["--steps", "1e19"], "steps", "--steps", ("got 10000000000000000000",), id="steps-too-many"),
    pytest.param({"seed": -1}, ["--seed", "-1"], "seed", "--seed", ("got -1",), id="seed-negative"),
    pytest.param({"n_train": 0}, ["--n-train", "0"], "n_train", "--n-train", ("got 0",), id="n-train-zero"),
    pytest.param({"n_test": 0}, ["--n-test", "0"], "n_test", "--n-test", ("got 0",), id="n-test-zero"),
    pytest.param({"probe_size": 0}, ["--probe-size", "0"], "probe_size", "--probe-size", ("got 0",), id="probe-size-zero"),
    pytest.param(  # a last stage that ends before --steps: also what a --grid value cut at its commas looks like
        {"data": "hypercube", "curriculum": "bit-bias=0.9:100"},
        ["--data", "hypercube", "--curriculum", "bit-bias=0.9:100"],
        "curriculum",
        "--curriculum",
        ("'bit-bias=0.9:100'", "ends at step 100"),
        id="curriculum-last-stage-short",
    ),
    pytest.param(
        {"data": "hypercube", "support": "40"},
        ["--data", "hypercube", "--support", "40"],
        "support",
        "--support",
        ("got 40", "d = 30"),
        id="support-beyond-d",
    ),
    pytest.param(
        {"data": "hypercube", "support": "0,3"},
        ["--data", "hypercube", "--support", "0,3"],
        "support",
        "--support",
        ("got 0", "1..30"),
        id="support-bit-zero",
    ),
    pytest.param(
        {"data": "hypercube", "support": ""},
        ["--data", "hypercube", "--support", ""],
        "support",
        "--support",
        ("got ''",),
        id="support-empty",
    ),
    pytest.param(
        {"data": "hypercube", "support": "2,2"},
        ["--data", "hypercube", "--support", "2,2"],
        "support",
        "--support",
        ("'2,2'", "twice"),
        id="support-repeated-bit",
    ),
    pytest.param(
        {"data": "hypercube", "support": "a,b"},
        ["--data", "hypercube", "--support", "a,b"],
        "support",
        "--support",
        ("'a,b'",),
        id="support-not-integers",
    ),
    pytest.param(
        {"data": "hypercube", "target": "junta", "truth_table": "+-+"},
        ["--data", "hypercube", "--target", "junta", "--truth-table", "+-+"],
        "truth_table",
        "--truth-table",
        ("2**k = 8", "got 3"),
        id="truth-table-wrong-length",
    ),
    pytest.param(
        {"data": "hypercube", "target": "junta", "truth_table": "+-x-+-+-"},
        ["--data", "hypercube", "--target", "junta", "--truth-table", "+-x-+-+-"],
        "truth_table",
        "--truth-table",
        ("'+-x-+-+-'",),
        id="truth-table-bad-sign",
    ),
    pytest.param(
        {"data": "hypercube", "target": "junta"},
        ["--data", "hypercube", "--target", "junta"],
        "truth_table",
        "--truth-table",
        ("junta", "2**k = 8"),
        id="junta-without-table",
    ),
    pytest.param(
        {"data": "hypercube", "truth_table": "+--+", "support": "2"},
        ["--data", "hypercube", "--truth-table", "+--+", "--support", "2"],
        "truth_table",
        "--truth-table",
        ("--target parity",),
        id="truth-table-without-junta",
    ),
    pytest.param(
        {"data": "hypercube", "target": "fourier"},
        ["--data", "hypercube", "--target", "fourier"],
        "target",
        "--target",
        ("'fourier'",),
        id="target-unknown",
    ),
    pytest.param(
        {"data": "hypercube", "d": 70, "target": "staircase", "support": "64"},
        ["--data", "hypercube", "--d", "70", "--target", "staircase", "--support", "64"],
        "support",
        "--support",
        ("at most 63", "got 64"),
        id="staircase-too-long",
    ),
    pytest.param(
        {"data": "hypercube", "bit_bias": 1.0},
        ["--data", "hypercube", "--bit-bias", "1"],
        "bit_bias",
        "--bit-bias",
        ("got 1.0", "(0, 1)"),
        id="bit-bias-one",
    ),
    pytest.param(
        {"data": "hypercube", "bit_bias": 0.0},
        ["--data", "hypercube", "--bit-bias", "0"],
        "bit_bias",
        "--bit-bias",
        ("got 0.0", "(0, 1)"),
        id="bit-bias-zero",
    ),
    pytest.param(
        {"data": "hypercube", "mix_bias": 1.0, "mix": 0.5},
        ["--data", "hypercube", "--mix", "0.5", "--mix-bias", "1"],
        "mix_bias",
        "--mix-bias",
        ("got 1.0",),
        id="mix-bias-one",
    ),
    pytest.param(
        {"data": "hypercube", "mix": 1.5},
        ["--data", "hypercube", "--mix", "1.5"],
        "mix",
        "--mix",
        ("got 1.5",),
        id="mix-above-one",
    ),
    pytest.param(
        {"data": "hypercube", "curriculum": "bit-bias=0.9:50,bias=0.5"},
        ["--data", "hypercube", "--steps", "200", "--curriculum", "bit-bias=0.9:50,bias=0.5"],
        "curriculum",
        "--curriculum",
        ("'bias=0.5'",),
        id="curriculum-unknown-key",
    ),
    pytest.param(
        {"data": "hypercube", "curriculum": "bit-bias=0.9,bit-bias=0.5"},
        ["--data", "hypercube", "--curriculum", "bit-bias=0.9,bit-bias=0.5"],
        "curriculum",
        "--curriculum",
        ("'bit-bias=0.9'", "needs a length"),
        id="curriculum-stage-without-length",
    ),
    pytest.param(
        {"data": "hypercube", "curriculum": "bit-bias=2:50,bit-bias=0.5"},
        ["--data", "hypercube", "--curriculum", "bit-bias=2:50,bit-bias=0.5"],
        "curriculum",
        "--curriculum",
        ("got 2",),
        id="curriculum-bias-out-of-range",
    ),
    pytest.param(
        {"data": "hypercube", "curriculum": "bit-bias=0.9:abc,bit-bias=0.5"},
        ["--data", "hypercube", "--curriculum", "bit-bias=0.9:abc,bit-bias=0.5"],
        "curriculum",
        "--curriculum",
        ("'abc'",),
        id="curriculum-length-not-a-count",
    ),
    pytest.param(
        {"data": "hypercube", "n_train": 50, "curriculum": "bit-bias=0.9:50,bit-bias=0.5"},
        ["--data", "hypercube", "--n-train", "50", "--curriculum", "bit-bias=0.9:50,bit-bias=0.5"],
        "curriculum",
        "--curriculum",
        ("--n-train",),
        id="curriculum-with-training-set",
    ),
    pytest.param(
        {"support": "5"},
        ["--support", "5"],
        "support",
        "--support",
        ("--data hypercube", "--data gaussian"),
        id="support-without-hypercube",
    ),
    pytest.param(
        {"data": "cube", "bit_bias": 0.7},
        ["--data", "cube", "--bit-bias", "0.7"],
        "bit_bias",
        "--bit-bias",
        ("--data hypercube", "--data cube"),
        id="bit-bias-without-hypercube",
    ),
    pytest.param(
        {"init_sigma": -1.0}, ["--init-sigma", "-1"], "init_sigma", "--init-sigma", ("got -1.0",), id="init-sigma-negative"
    ),
    pytest.param({"init": "bernoulli"}, ["--init", "bernoulli"], "init", "--init", ("'bernoulli'",), id="init-unknown"),
]


# Wrong Python types (the CLI's option types make these impossible there).
API_TYPES = [
    pytest.param({"bias": "yes"}, "bias", "'yes'", id="bias-string"),
    pytest.param({"d": 2.5}, "d", "2.5", id="d-float"),  # whole floats are counts: d=2.0 is d=2
    pytest.param({"replicas": 1.5}, "replicas", "1.5", id="replicas-fractional"),
    pytest.param({"steps": True}, "steps", "True", id="steps-bool"),
    pytest.param({"lr": "0.1"}, "lr", "'0.1'", id="lr-string"),
    pytest.param({"replicas": None}, "replicas", "None", id="replicas-none"),
]


@pytest.mark.parametrize("kwargs, name, value", API_TYPES)
def test_runconfig_rejects_wrong_types(kwargs, name, value):
    """RunConfig rejects values of the wrong Python type with a ConfigError naming parameter and value."""
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.RunConfig(**{**API_BASE, **kwargs})
    assert info.value.option == name
    assert value in str(info.value)
    assert "\n" not in str(info.value)


def test_from_dict_rejects_unknown_key():
    """RunConfig.from_dict names an unknown key."""
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.RunConfig.from_dict({"learning_rate": 0.1})
    assert info.value.option == "learning_rate"


@pytest.mark.parametrize("kwargs, cli_args, name, option, values", RULES)
def test_runconfig_rejects(kwargs, cli_args, name, option, values):
    """RunConfig raises ConfigError with .option set and a one-line message naming parameter and value."""
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.RunConfig(**{**API_BASE, **kwargs})
    exc = info.value
    msg = str(exc)
    assert exc.option == name
    assert "\n" not in msg, msg
    assert msg.startswith(name), msg
    for v in values:
        assert v in msg, f"value {v!r} not named in {msg!r}"


@pytest.mark.parametrize("kwargs, cli_args, name, option, values", RULES)
def test_simulate_rejects(kwargs, cli_args, name, option, values):
    """simulate(**params) raises the same ConfigError before running anything."""
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.simulate(**{**API_BASE, **kwargs})
    assert info.value.option == name
    for v in values:
        assert v in str(info.value)


@pytest.mark.parametrize("kwargs, cli_args, name, option, values", RULES)
def test_cli_rejects(tmp_path, kwargs, cli_args, name, option, values):
    """The CLI exits 2 with one 'Error:' line naming the option and the value, and writes nothing."""
    out = tmp_path / "sub" / "x.parquet"
    result = _runner().invoke(main, [*CLI_BASE, *cli_args, "--out", str(out)])
    _assert_one_line_error(result, option, values)
    assert list(tmp_path.iterdir()) == [], "an output file or folder was created"


# --------------------------------------------------------------------------- threads

THREADS = [
    pytest.param(0, id="threads-zero"),
    pytest.param(-1, id="threads-negative"),
    pytest.param(TOO_MANY_THREADS, id="threads-above-cores"),
]


@pytest.mark.parametrize("threads", THREADS)
def test_simulate_rejects_threads(threads):
    """simulate(threads=...) outside 1..cores raises ConfigError naming threads and the value."""
    cfg = fastnoise.RunConfig(**API_BASE)
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.simulate(cfg, threads=threads)
    msg = str(info.value)
    assert info.value.option == "threads"
    assert "\n" not in msg
    assert f"got {threads}" in msg, msg


@pytest.mark.parametrize("threads", THREADS)
def test_cli_rejects_threads(tmp_path, threads):
    """--threads outside 1..cores: exit 2, one 'Error:' line naming --threads and the value, no file."""
    out = tmp_path / "x.parquet"
    result = _runner().invoke(main, [*CLI_BASE, "--threads", str(threads), "--out", str(out)])
    _assert_one_line_error(result, "--threads", (f"got {threads}",))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- output path


@pytest.fixture(scope="module")
def small_table():
    """A tiny results table to hand to write_results."""
    return fastnoise.simulate(**API_BASE)


def test_cli_existing_out_without_overwrite(tmp_path):
    """An existing --out without --overwrite: exit 2, one line naming --out and the path, file untouched."""
    out = tmp_path / "x.parquet"
    out.write_bytes(b"previous contents")
    result = _runner().invoke(main, [*CLI_BASE, "--out", str(out)])
    _assert_one_line_error(result, "--out", (str(out),))
    assert out.read_bytes() == b"previous contents"
    assert list(tmp_path.iterdir()) == [out], "temporary files left behind"


def test_write_results_existing_without_overwrite(tmp_path, small_table):
    """write_results to an existing path without overwrite raises FileExistsError naming it; file untouched."""
    out = tmp_path / "x.parquet"
    out.write_bytes(b"previous contents")
    with pytest.raises(FileExistsError) as info:
        fastnoise.write_results(small_table, out)
    assert str(out) in str(info.value)
    assert "\n" not in str(info.value)
    assert out.read_bytes() == b"previous contents"
    assert list(tmp_path.iterdir()) == [out]


# The out path's parent (or grandparent) is a regular file, so the path can never be created.
UNWRITABLE = [
    pytest.param(("blocker", "x.parquet"), id="parent-is-file"),
    pytest.param(("blocker", "sub", "x.parquet"), id="grandparent-is-file"),
]


@pytest.mark.parametrize("parts", UNWRITABLE)
def test_cli_unwritable_out(tmp_path, parts):
    """An --out that cannot be created: exit 2, one 'Error:' line naming --out and the given path."""
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a regular file")
    out = tmp_path.joinpath(*parts)
    result = _runner().invoke(main, [*CLI_BASE, "--out", str(out)])
    _assert_one_line_error(result, "--out", (str(out),))
    assert blocker.read_bytes() == b"a regular file"
    assert list(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize("parts", UNWRITABLE)
def test_write_results_unwritable(tmp_path, small_table, parts):
    """write_results to a path under a regular file raises OSError naming the blocking path; nothing created."""
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a regular file")
    out = tmp_path.joinpath(*parts)
    with pytest.raises(OSError) as info:
        fastnoise.write_results(small_table, out)
    assert str(blocker) in str(info.value)
    assert blocker.read_bytes() == b"a regular file"
    assert list(tmp_path.iterdir()) == [blocker]


def test_cli_out_is_directory(tmp_path):
    """--out naming an existing folder: exit 2, one 'Error:' line naming --out and the folder."""
    folder = tmp_path / "folder"
    folder.mkdir()
    result = _runner().invoke(main, [*CLI_BASE, "--out", str(folder)])
    _assert_one_line_error(result, "--out", (str(folder),))
    assert list(folder.iterdir()) == []


def test_cli_validation_happens_before_default_output_folder(tmp_path, monkeypatch):
    """A bad option with the default --out creates no results/ folder in the current directory."""
    monkeypatch.chdir(tmp_path)
    result = _runner().invoke(main, [*CLI_BASE, "--lr", "-1"])
    _assert_one_line_error(result, "--lr", ("got -1",))
    assert not Path("results").exists()


# --------------------------------------------------------------------------- boundary values that are valid


@pytest.mark.parametrize("data", ["gaussian", "basis"])
def test_d_one_is_valid_without_cube_dims(data):
    """d = 1 is a valid dimension for non-cube data even though cube_dims keeps its default (2)."""
    cfg = fastnoise.RunConfig(**API_BASE, d=1, data=data)
    assert cfg.d == 1


@pytest.mark.parametrize("data", ["gaussian", "basis"])
def test_cli_d_one_runs(tmp_path, data):
    """`fastnoise run --d 1` (no --cube-dims) succeeds for non-cube data."""
    out = tmp_path / "x.parquet"
    result = _runner().invoke(main, [*CLI_BASE, "--d", "1", "--data", data, "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.is_file()


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"lr": 1e-12}, id="lr-tiny"),
        pytest.param({"p": 0.0}, id="p-zero"),
        pytest.param({"p": 1.0}, id="p-one"),
        pytest.param({"model": "twolayer", "width": 1}, id="width-one"),
        pytest.param({"model": "twolayer", "width": 2, "train": "hidden"}, id="width-two-hidden"),
        pytest.param({"data": "cube", "d": 3, "cube_dims": 3}, id="cube-dims-equal-d"),
        pytest.param({"records": 2}, id="records-two"),
        pytest.param({"steps": 1}, id="steps-one"),
    ],
)
def test_boundary_values_accepted(kwargs):
    """Values on the edge of each allowed range are accepted and run."""
    df = fastnoise.simulate(**{**API_BASE, **kwargs})
    assert len(df) >= 2


# --------------------------------------------------------------------------- no guessing (issue: silent surprises)


@pytest.mark.parametrize(
    ("args", "option", "values"),
    [
        (["check", "--seed", "-1"], "--seed", ("-1",)),
        (["check", "--seed", "1e30"], "--seed", ("1e30",)),
        (["reproduce", "fig1", "--quick", "--seed", "-1"], "--seed", ("-1",)),
        (["reproduce", "fig1", "--quick", "--seed", "1e30"], "--seed", ("1e30",)),
        (["sweep", "--grid", "p=0,0.5", "--grid", "p=1"], "--grid", ("p",)),
        (["sweep", "--grid", "p=0,1", "--set", "steps=10", "--set", "steps=20"], "--set", ("steps",)),
    ],
)
def test_usage_errors_before_any_work(tmp_path, args, option, values):
    """A bad seed is a usage error (exit 2, one line), never a traceback or a theorem FAIL; a repeated axis is refused."""
    result = _runner().invoke(main, [*args, "--out", str(tmp_path / "o")] if args[0] == "check" else args)
    _assert_one_line_error(result, option, values)
    assert not (tmp_path / "o").exists()


def test_run_out_needs_an_existing_folder_and_a_parquet_name(tmp_path):
    """--out is not a guess: a missing folder is not created, a .csv is not written as Parquet."""
    missing = tmp_path / "no" / "such" / "x.parquet"
    _assert_one_line_error(_runner().invoke(main, [*CLI_BASE, "--out", str(missing)]), "--out", (str(missing),))
    assert not (tmp_path / "no").exists()
    csv = tmp_path / "x.csv"
    _assert_one_line_error(_runner().invoke(main, [*CLI_BASE, "--out", str(csv)]), "--out", (str(csv),))
    assert list(tmp_path.iterdir()) == []


def test_plot_out_must_be_a_png(tmp_path):
    """plot --out fig.jpg used to write fig.png; now it is refused before reading anything."""
    jpg = tmp_path / "fig.jpg"
    result = _runner().invoke(main, ["plot", str(tmp_path / "t.parquet"), "--out", str(jpg)])
    _assert_one_line_error(result, "--out", (str(jpg),))
    assert not jpg.exists() and not jpg.with_suffix(".png").exists()
