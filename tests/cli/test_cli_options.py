"""The run options are declared once (fastnoise/options.py) and RunConfig, ``fastnoise run``, sweeps and docs/cli.md follow.

Every RunConfig field has exactly one declaration (kind, default, help, docstring entry); the
CLI's options are generated from it; ``--set`` / ``--grid`` and the CLI read text with the same
function; whole floats for counts are ints everywhere (``steps=1e5`` is ``steps=100000``, same
cell hash, same table); ``python -m fastnoise`` is the ``fastnoise`` command; and docs/cli.md is
exactly what its generator writes.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnoise
import fastnoise.sweep as sw
from fastnoise.cli import main
from fastnoise.cli.docs import render
from fastnoise.cli.options import DeclaredOption
from fastnoise.options import OPTION, OPTIONS, coerce, parse

ROOT = Path(__file__).resolve().parents[2]
FIELDS = [f for f in dataclasses.fields(fastnoise.RunConfig) if not f.name.startswith("_")]
# options of `run` that are not run parameters
RUN_ONLY = {"threads", "out", "overwrite", "no_progress", "checkpoint_every", "fresh", "log_every"}


def _run_params():
    return {p.name: p for p in main.commands["run"].params}


def test_every_field_is_declared_exactly_once_with_its_default():
    """OPTIONS and RunConfig's fields: the same names, in the same order, with the same defaults."""
    assert [o.name for o in OPTIONS] == [f.name for f in FIELDS]
    assert len(OPTION) == len(OPTIONS)
    for f in FIELDS:
        assert f.default == OPTION[f.name].default, f.name


def test_every_option_has_help_and_a_docstring_entry():
    """Each option has a one-line help and a description; RunConfig's docstring documents each once."""
    doc = fastnoise.RunConfig.__doc__
    for o in OPTIONS:
        assert o.help and "\n" not in o.help and not o.help.endswith("."), o.name
        assert o.doc, o.name
        assert doc.count(f"\n    {o.name} : {o.type_doc()}\n") == 1, o.name


def test_run_options_are_generated_from_the_declaration():
    """`fastnoise run` has one option per field with the declared spelling, default and help; plus threads/out/..."""
    params = _run_params()
    assert set(params) == set(OPTION) | RUN_ONLY
    for o in OPTIONS:
        p = params[o.name]
        assert isinstance(p, DeclaredOption) and p.declared is o
        spelling = [*p.opts, *p.secondary_opts]
        assert "/".join(spelling) == o.flag
        assert p.help == o.cli_help()
        assert p.default == o.default


@pytest.mark.parametrize(
    "name, text, value",
    [
        ("steps", "1e3", 1000),
        ("replicas", "8", 8),
        ("lr", "1e-3", 0.001),
        ("p", "0", 0.0),
        ("bias", "true", True),
        ("model", "twolayer", "twolayer"),
        ("classes", "10", 10),
        ("train", "1", "1"),  # a string: layer 1 (was guessed as the int 1 before)
        ("widths", "64x32", "64x32"),
    ],
)
def test_cli_and_sweep_read_text_alike(name, text, value):
    """The CLI option, ``--set`` and ``--grid`` give the same value for the same text."""
    p = _run_params()[name]
    if not p.is_flag:  # --bias/--no-bias reads no text
        got = p.type.convert(text, p, None)
        assert got == value and type(got) is type(value)
    assert sw.parse_set_option(f"{name}={text}") == (name, value)
    assert sw.parse_grid_option(f"{name}={text},{text}") == (name, [value, value])
    assert parse(name, text) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps=abc", "--set steps: 'abc' is not an integer"),
        ("steps=1.5", "--set steps: '1.5' is not a whole number"),
        ("lr=fast", "--set lr: 'fast' is not a valid float."),
        ("bias=1", "--set bias: '1' is not true or false"),
        ("stepz=10", "--set stepz is not a run parameter"),
    ],
)
def test_set_rejects_text_not_of_the_parameters_kind(text, message):
    """A --set value that is not of its parameter's kind is a one-line SpecError naming both."""
    with pytest.raises(sw.SpecError) as info:
        sw.parse_set_option(text)
    assert str(info.value).startswith(message), str(info.value)


def test_whole_floats_for_counts_are_ints():
    """RunConfig(steps=1e5, replicas=1e1, ...) holds ints: the same config and cell hash as the int spelling."""
    floats = fastnoise.RunConfig(steps=1e5, replicas=2e0, records=5e0, seed=3.0, d=1e1, width=1e2, n_train=5e1, classes=2.0)
    ints = fastnoise.RunConfig(steps=100_000, replicas=2, records=5, seed=3, d=10, width=100, n_train=50, classes=2)
    assert floats == ints
    for name in ("steps", "replicas", "records", "seed", "d", "width", "n_train", "classes"):
        assert type(getattr(floats, name)) is int, name
    assert floats.to_dict() == ints.to_dict()
    assert sw.cell_hash(floats) == sw.cell_hash(ints)
    (cell,) = sw.SweepSpec(name="x", base={"steps": 1e5}, grid={"seed": [3.0]}).cells()
    assert cell.params == {"seed": 3} and type(cell.params["seed"]) is int
    assert cell.hash == sw.cell_hash(fastnoise.RunConfig(steps=100_000, seed=3))


@pytest.mark.parametrize("value", [1.5, True, float("inf"), "1e5"])
def test_non_whole_counts_stay_errors(value):
    """1.5, True, inf and strings are not counts: the usual one-line ConfigError."""
    with pytest.raises(fastnoise.ConfigError) as info:
        fastnoise.RunConfig(steps=value)
    assert info.value.option == "steps"
    assert "\n" not in str(info.value)
    assert coerce("steps", value) is value


def test_simulate_with_float_counts_gives_the_same_table():
    """simulate(steps=1e3, replicas=2e0) is bitwise the table of steps=1000, replicas=2."""
    a = fastnoise.simulate(steps=1e3, replicas=2e0, records=1e1, seed=5.0)
    b = fastnoise.simulate(steps=1000, replicas=2, records=10, seed=5)
    assert a.attrs["config"] == b.attrs["config"]
    assert a.equals(b)


def test_python_m_fastnoise_is_the_fastnoise_command():
    """`python -m fastnoise` and `python -m fastnoise.cli` print what the console script prints."""
    env = {**os.environ, "COLUMNS": "100"}
    script = Path(sys.executable).parent / "fastnoise"
    if not script.exists():
        pytest.skip("no fastnoise console script beside this Python")
    for args in (["--help"], ["run", "--help"], ["sweep", "--help"], ["--version"]):
        expected = subprocess.run([script, *args], capture_output=True, text=True, check=True, env=env).stdout
        assert "Usage: fastnoise" in expected or "version" in expected
        for module in ("fastnoise", "fastnoise.cli"):
            out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=True, env=env)
            assert out.stdout == expected, (module, args)
    bad = subprocess.run([sys.executable, "-m", "fastnoise", "run", "--steps", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "Error: --steps must be between 1 and 4611686018427387904, got 0"


def test_docs_cli_md_is_generated():
    """docs/cli.md is exactly what `python -m fastnoise.cli.docs` writes (regenerate it after changing an option)."""
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/cli.md is stale: python -m fastnoise.cli.docs > docs/cli.md"
    for o in OPTIONS:
        assert f"| `{o.flag.split('/')[0]}`" in committed, o.name


def test_the_entry_point_exits_promptly_after_flushing(tmp_path):
    """``fastnoise.cli.entry`` skips the interpreter's teardown but loses nothing.

    A run piped to files: its summary lines arrive, the table is written, the exit status is the
    command's, and atexit handlers (here one registered by the caller) still run.
    """
    out = tmp_path / "t.parquet"
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('ATEXIT-RAN\\n'))\n"
        "sys.argv = ['fastnoise', 'run', '--steps', '10', '--replicas', '1', '--no-progress', '--out', sys.argv[1]]\n"
        "from fastnoise.cli import entry\n"
        "entry()\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"table: {out} (11 rows)" in res.stdout  # 10 steps: a checkpoint at every step and at 0
    assert "ATEXIT-RAN" in res.stderr
    assert out.is_file()
    bad = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.csv")], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines()[0].startswith("Error: --out ") and "ATEXIT-RAN" in bad.stderr
