"""Provenance: every row names its configuration, files record code, command, host and times.

The memory check before a run is tested in tests/engine/test_memory.py."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fastnoise
from fastnoise import io, plan, provenance, schema, threads
from fastnoise.cli import main
from fastnoise.config import RunConfig


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def test_every_field_is_a_column_and_config_id_names_it():
    cfg = RunConfig(steps=500, replicas=2, records=4, p=0.25, init_scale=0.5)
    df = fastnoise.simulate(cfg)
    fields = list(cfg.to_dict())
    assert set(fields) <= set(df.columns) and "config_id" in df.columns
    row = df.iloc[0]
    for name in ("steps", "replicas", "records", "init_scale", "p", "eval_size", "record_spacing"):
        assert row[name] == getattr(cfg, name), name
    assert set(df.config_id) == {schema.config_id(cfg)}
    assert df.attrs["configs"] == {schema.config_id(cfg): cfg.to_dict()}


def test_concatenated_tables_keep_each_config(tmp_path):
    a = fastnoise.simulate(steps=500, replicas=2, records=3, p=0.0)
    b = fastnoise.simulate(steps=800, replicas=3, records=3, p=0.5, n_train=50)
    both = io.concat_results([a, b], setting=["a", "b"])
    path = tmp_path / "both.parquet"
    io.write_results(both, path)
    back = io.read_results(path)
    configs = io.read_configs(path)
    assert len(configs) == 2
    for cid, g in back.groupby("config_id"):
        cfg = configs[cid]
        assert set(g.steps) == {cfg.steps} and set(g.replicas) == {cfg.replicas} and set(g.p) == {cfg.p}
        assert g.replica.nunique() == cfg.replicas
    with pytest.raises(io.ResultsFileError, match="holds 2 configurations; use read_configs"):
        io.read_config(path)
    assert back.attrs["config"] is None
    # the ids and the configs must agree, or the table is refused before anything is written
    bad = both.copy()
    bad.attrs = {"configs": a.attrs["configs"], "config": None}
    with pytest.raises(ValueError, match="disagree"):
        io.write_results(bad, tmp_path / "bad.parquet")


def test_one_run_table_reads_back_its_config(tmp_path):
    cfg = RunConfig(steps=300, replicas=1, records=3)
    io.write_results(fastnoise.simulate(cfg), tmp_path / "a.parquet")
    assert io.read_config(tmp_path / "a.parquet") == cfg


def test_committed_multi_config_tables_describe_their_rows():
    """The repository's tables of many runs: read_config refuses them, read_configs names every row's config."""
    root = Path(__file__).resolve().parents[2] / "results"
    for name in ("cubes/cubes.parquet", "mnist/mnist.parquet", "mnist10/mnist10.parquet"):
        path = root / name
        if not path.exists():
            continue
        df = io.read_results(path)
        configs = io.read_configs(path)
        assert set(df.config_id) == set(configs), name
        for cid, g in df.groupby("config_id"):
            c = configs[cid]
            assert set(g.p) == {c.p} and set(g.steps) == {c.steps} and set(g.n_train.dropna()) <= {c.n_train}, name
        with pytest.raises(io.ResultsFileError):
            io.read_config(path)


def test_run_file_records_command_host_times_and_code(tmp_path):
    out = tmp_path / "a.parquet"
    res = _runner().invoke(main, ["run", "--steps", "1000", "--replicas", "2", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    attrs = io.read_results(out).attrs
    run = attrs["run"]
    assert {"command", "host", "started", "ended", "wall_seconds", "compile_seconds"} <= set(run)
    assert run["ended"] >= run["started"] and run["wall_seconds"] >= run["compile_seconds"] >= 0
    assert attrs["code"]["kernels"] == provenance.code_stamp()["kernels"]
    assert "compile excluded" in res.output


def test_kernel_hash_follows_the_sources(tmp_path):
    pkg = Path(fastnoise.__file__).resolve().parent
    copy = tmp_path / "fastnoise"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = provenance.kernel_hash(copy)
    assert before == provenance.kernel_hash(pkg)
    (copy / "_kernels" / "neuron.py").write_text((copy / "_kernels" / "neuron.py").read_text() + "\n# edited\n")
    assert provenance.kernel_hash(copy) != before
    (copy / "cli" / "run.py").write_text("# not result-computing\n")
    after = provenance.kernel_hash(copy)
    (copy / "cli" / "run.py").write_text("# still not\n")
    assert provenance.kernel_hash(copy) == after


# --------------------------------------------------------------------------- logging and progress


def test_quiet_and_verbose_exclude_each_other():
    res = _runner().invoke(main, ["-q", "-v", "run", "--steps", "10"])
    assert res.exit_code == 2 and "exclude each other" in res.stderr


def test_compile_notice_is_logged(monkeypatch, caplog):
    """A compile slower than the notice threshold is announced on the fastnoise.engine logger."""

    monkeypatch.setattr(threads, "COMPILE_NOTICE_SECONDS", 0.0)
    # A CLI test earlier in this process may have set up the "fastnoise" logger (propagate off): caplog listens at the root.
    monkeypatch.setattr(logging.getLogger("fastnoise"), "propagate", True)
    calls = []

    class SlowDrive:
        signatures: list = []

        def compile(self, sig):
            calls.append(sig)
            import time

            time.sleep(0.2)

    kern = plan.kernels(RunConfig(steps=10))
    fake = kern._replace(drive=SlowDrive())
    with caplog.at_level(logging.INFO, logger="fastnoise.engine"):
        seconds = threads.compile_driver(fake.drive, "neuron/hinge", np.zeros(1, np.int64), ())
    assert seconds >= 0.2 and calls
    assert "compiling kernels for neuron/hinge (first run only)" in caplog.text


def test_progress_lines_when_stderr_is_not_a_terminal(monkeypatch):
    from fastnoise.cli import progress as prog

    lines = []
    monkeypatch.setattr(prog, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(prog.log, "info", lambda fmt, *args: lines.append(fmt % args))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    p = prog.Progress(True, 1000, "8 replicas", per_unit=8, log_every=0.0001)
    p.update(0, 1000)
    import time

    time.sleep(0.01)
    p.update(500, 1000)
    p.close()
    assert lines and "8 replicas: 500 / 1,000 steps (50%)" in lines[-1]
    assert "steps/s" in lines[-1] and "elapsed" in lines[-1] and "remaining" in lines[-1]


def test_progress_rate_counts_from_the_first_update(monkeypatch):
    """The first update marks the end of compiling: a resumed or compiled run's rate excludes what came before."""
    from fastnoise.cli import progress as prog

    p = prog.Progress(False, 1000, "x")
    p.update(400, 1000)  # resumed at 400
    assert p.start == 400


def test_log_every_off_and_quiet(tmp_path):
    res = _runner().invoke(main, ["-q", "run", "--steps", "1000", "--replicas", "1", "--out", str(tmp_path / "a.parquet")])
    assert res.exit_code == 0 and res.stderr == ""
    res = _runner().invoke(main, ["run", "--log-every", "soon", "--steps", "10"])
    assert res.exit_code == 2 and "--log-every" in res.stderr


def test_summary_rate_excludes_compile(monkeypatch, tmp_path):
    """The summary's rate divides by wall minus compile seconds, and says how long the compile took."""
    from fastnoise import engine

    real = engine.run
    seen = []

    def slow_compile(*a, **k):
        r = real(*a, **k)
        seen.append(r.seconds)
        r.compile_seconds, r.seconds = 3.0, r.seconds + 3.0
        return r

    monkeypatch.setattr(engine, "run", slow_compile)  # `fastnoise run` imports engine.run when it runs
    res = _runner().invoke(main, ["run", "--steps", "1000", "--replicas", "1", "--out", str(tmp_path / "a.parquet")])
    assert res.exit_code == 0, res.stderr
    assert "of which 3.00 s compiling kernels" in res.output
    shown = float(res.output.split("compiling kernels (")[1].split(" steps/s")[0])
    assert shown == pytest.approx(1000 / seen[0], rel=1e-2)  # printed to 3 digits


def test_editing_a_kernel_in_a_copy_of_the_package_makes_a_sweep_recompute(tmp_path):
    """A sweep run by a copy of the package; a comment added to a kernel source; the rerun recomputes every cell."""
    import os
    import subprocess

    pkg = Path(fastnoise.__file__).resolve().parent
    root = tmp_path / "copy"
    shutil.copytree(pkg, root / "fastnoise", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_DISABLE_JIT": "1"}  # interpreted: no compile of the copy
    cmd = [sys.executable, "-m", "fastnoise", "sweep", "--name", "edit", "--out", str(tmp_path / "sw"), "--no-progress"]
    cmd += ["--set", "steps=40", "--set", "replicas=1", "--set", "d=3", "--set", "records=3", "--grid", "p=0,1"]

    def sweep(*extra: str) -> str:
        res = subprocess.run([*cmd, *extra], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        return res.stderr + res.stdout

    first = sweep()
    assert (
        str(root)
        in subprocess.run(
            [sys.executable, "-c", "import fastnoise; print(fastnoise.__file__)"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        ).stdout
    )  # the copy is what ran
    assert "2 to run" in first
    assert "0 to run" in sweep()
    kernel = root / "fastnoise" / "_kernels" / "neuron.py"
    kernel.write_text(kernel.read_text() + "\n# an edit that changes no number, still other code\n")
    status = sweep("--status")
    assert "2 stale" in status, status
    again = sweep()
    assert "2 to run" in again, again
    assert "0 to run" in sweep()
