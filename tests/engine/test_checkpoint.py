"""Checkpoint and resume: an interrupted run continues bitwise exactly; other configs or code are refused.

In the engine: stop a run after its k-th kernel call, save, resume (with another thread count)
and compare table and final weights with an uninterrupted run, for every kernel model. On the
command line: SIGKILL ``fastnoise run`` at seeded random moments and rerun the same command
until it finishes; the table must equal the uninterrupted run's (3 seeds here, 20 in the slow
test). SIGTERM saves at the end of the current call and exits 143.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import StopRun, interrupted

import fastnoise
from fastnoise import checkpoint, engine
from fastnoise.cli import main

CASES = {
    "neuron": dict(model="neuron", d=8, p=0.3),
    "twolayer": dict(model="twolayer", d=8, width=6, p=0.2, record_spacing="log"),
    "twolayer-bias-logistic": dict(model="twolayer", d=8, width=6, bias=True, loss="logistic", p=0.1),
    "mlp": dict(model="mlp", d=8, widths="6,4", p=0.1, bias=True),
    "twolayer-float32": dict(model="twolayer", d=8, width=20, p=0.2, dtype="float32"),
}


@pytest.fixture
def small_calls(monkeypatch):
    """Kernel calls of 997 steps, so a short run has many call boundaries to stop at."""
    monkeypatch.setattr(engine, "chunk_steps", lambda cfg, geo, nthreads: 997)


@pytest.mark.parametrize("case", list(CASES))
def test_resume_is_bitwise(case, small_calls, tmp_path):
    cfg = fastnoise.RunConfig(**CASES[case], steps=12_000, records=15, replicas=3, seed=5)
    full = engine.run(cfg, threads=2)
    for k in (1, 4, 11):
        st = interrupted(cfg, tmp_path / "c.npz", k)
        assert st.steps == 997 * k
        resumed = engine.run(cfg, threads=2, resume=st)
        pd.testing.assert_frame_equal(resumed.table, full.table, check_exact=True)
        for a, b in zip(resumed.weights, full.weights, strict=True):
            for name in a:
                np.testing.assert_array_equal(a[name], b[name])


def test_resume_twice(small_calls, tmp_path):
    """A resumed run interrupted again resumes again, still bitwise."""
    cfg = fastnoise.RunConfig(**CASES["twolayer"], steps=9000, replicas=2)
    full = engine.run(cfg).table
    path = tmp_path / "c.npz"
    st = interrupted(cfg, path, 2)

    def stop(s):
        if s.calls == 6:
            checkpoint.save(path, cfg, s)
            raise StopRun

    with pytest.raises(StopRun):
        engine.run(cfg, resume=st, on_call=stop)
    pd.testing.assert_frame_equal(engine.run(cfg, resume=checkpoint.load(path, cfg)).table, full, check_exact=True)


def test_refuses_other_config_code_and_damage(small_calls, tmp_path):
    cfg = fastnoise.RunConfig(**CASES["neuron"], steps=5000, replicas=2)
    path = tmp_path / "c.npz"
    interrupted(cfg, path, 2)
    with pytest.raises(checkpoint.CheckpointError, match=r"another configuration: p=0\.3 \(now 0\.4\)"):
        checkpoint.load(path, cfg.replace(p=0.4))
    # other code: rewrite the stamp in the header
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"][()]))
    header["code"]["kernels"] = "0" * 16
    arrays["header"] = np.array(json.dumps(header))
    other = tmp_path / "other.npz"
    with open(other, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(checkpoint.CheckpointError, match="written by other code"):
        checkpoint.load(other, cfg)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(checkpoint.CheckpointError, match="unreadable"):
        checkpoint.load(bad, cfg)


@pytest.mark.parametrize("text,seconds", [("90", 90.0), ("90s", 90.0), ("5m", 300.0), ("1.5h", 5400.0), ("off", 0.0), ("0", 0.0)])
def test_parse_duration(text, seconds):
    assert checkpoint.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1s", "nan", "1e9h"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="checkpoint_every"):
        checkpoint.parse_duration(text)


# --------------------------------------------------------------------------- the command line

#: ~10 kernel calls of a few hundred ms each on one core (chunks are ~0.25 s of work).
RUN_ARGS = ["--model", "twolayer", "--d", "30", "--width", "20", "--p", "0.2", "--steps", "8e6", "--replicas", "4"]
RUN_ARGS += ["--records", "40", "--threads", "1", "--seed", "3", "--checkpoint-every", "0.05s", "--no-progress"]


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fastnoise", "run", *RUN_ARGS, "--out", str(out), *extra]


@pytest.fixture(scope="module")
def reference_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.parquet"
    subprocess.run(_cli(out, "--checkpoint-every", "off"), check=True, capture_output=True)
    return pd.read_parquet(out)


def _kill_and_resume(out: Path, seed: int) -> tuple[pd.DataFrame, int]:
    """SIGKILL the run at random moments until it has been killed 3 times, then let it finish."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(_cli(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run(_cli(out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not checkpoint.checkpoint_path(out).exists()
    return pd.read_parquet(out), kills


def _check_kills(seeds, tmp_path, reference_table):
    resumed = 0
    for seed in seeds:
        out = tmp_path / f"run{seed}.parquet"
        table, kills = _kill_and_resume(out, seed)
        pd.testing.assert_frame_equal(table, reference_table, check_exact=True)
        assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") and p.startswith(f".{out.name}")]
        resumed += kills
    assert resumed > 0  # some kill landed mid-run (else the test proved nothing)


def test_sigkill_and_resume_bitwise(tmp_path, reference_table):
    # One trial (three kills) in the default suite, which must stay near 10 minutes; 22 more in -m slow.
    _check_kills(range(1), tmp_path, reference_table)


@pytest.mark.slow
def test_sigkill_and_resume_bitwise_many(tmp_path, reference_table):
    _check_kills(range(1, 23), tmp_path, reference_table)


def _ignore_sigint() -> None:
    """In the child before it starts Python: SIGINT ignored, as in a job a non-interactive shell puts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    "sig, status, preexec",
    [
        pytest.param(signal.SIGTERM, 143, None, id="sigterm"),
        # (SIGINT from a shell that did not ignore it: the next case, started with SIGINT ignored, is the harder one)
        pytest.param(signal.SIGINT, 130, None, id="sigint", marks=pytest.mark.slow),
        pytest.param(signal.SIGINT, 130, _ignore_sigint, id="sigint-started-ignored"),
    ],
)
def test_sigterm_saves_and_exits_143(tmp_path, reference_table, sig, status, preexec):
    """SIGTERM (143) and SIGINT (130) save the state and stop, also in a run started with SIGINT ignored."""
    out = tmp_path / "t.parquet"
    proc = subprocess.Popen(_cli(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
    ckpt = checkpoint.checkpoint_path(out)
    deadline = time.monotonic() + 60
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the first checkpoint: the run is under way, its signal handlers installed
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal (a very fast machine)")
    assert proc.returncode == status, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    assert checkpoint.checkpoint_path(out).exists() and not out.exists()
    done = subprocess.run(_cli(out), capture_output=True, text=True)
    assert done.returncode == 0 and "resuming from checkpoint" in done.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference_table, check_exact=True)


# --------------------------------------------------------------------------- reruns and refusals (in process)


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


SMALL = ["run", "--steps", "2000", "--replicas", "2", "--no-progress"]


def test_rerun_of_a_finished_command_is_a_no_op(tmp_path):
    out = tmp_path / "a.parquet"
    r = _runner()
    assert r.invoke(main, [*SMALL, "--out", str(out)]).exit_code == 0
    before = out.stat().st_mtime_ns
    again = r.invoke(main, [*SMALL, "--out", str(out)])
    assert again.exit_code == 0 and "already holds this run" in again.output
    assert out.stat().st_mtime_ns == before
    other = r.invoke(main, [*SMALL, "--out", str(out), "--p", "0.5"])
    assert other.exit_code == 2 and "--overwrite" in other.stderr


def test_checkpoint_of_other_config_refused_on_the_cli(tmp_path, small_calls):
    out = tmp_path / "a.parquet"
    cfg = fastnoise.RunConfig(steps=5000, replicas=2, p=0.5)
    interrupted(cfg, checkpoint.checkpoint_path(out), 2)
    r = _runner()
    res = r.invoke(main, ["run", "--steps", "5000", "--replicas", "2", "--p", "0.2", "--out", str(out)])
    assert res.exit_code == 2
    assert "another configuration: p=0.5 (now 0.2)" in res.stderr and "--fresh" in res.stderr
    res = r.invoke(main, ["run", "--steps", "5000", "--replicas", "2", "--p", "0.2", "--out", str(out), "--fresh"])
    assert res.exit_code == 0, res.stderr
    assert not checkpoint.checkpoint_path(out).exists()
    res = r.invoke(main, ["run", "--steps", "5000", "--replicas", "2", "--p", "0.5", "--out", str(tmp_path / "b.parquet")])
    assert res.exit_code == 0


def test_resume_on_the_cli_says_so(tmp_path, small_calls):
    out = tmp_path / "a.parquet"
    cfg = fastnoise.RunConfig(steps=5000, replicas=2, p=0.5)
    interrupted(cfg, checkpoint.checkpoint_path(out), 2)
    res = _runner().invoke(main, ["run", "--steps", "5000", "--replicas", "2", "--p", "0.5", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    assert "resuming from checkpoint" in res.stderr and "at step 1,994 of 5,000" in res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), engine.run(cfg).table.pipe(_plain), check_exact=True)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """A table as it reads back from Parquet."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"plain-{os.getpid()}.parquet"
    fastnoise.io.write_results(df, path, overwrite=True)
    try:
        return pd.read_parquet(path)
    finally:
        path.unlink()


# --------------------------------------------------------------------------- sweeps: long cells checkpoint too


def test_sweep_cell_resumes_from_its_checkpoint(tmp_path, small_calls):
    """compute_cell continues a cell's checkpoint (bitwise) and says from which step."""
    from fastnoise.sweep.executors import checkpoint_file, compute_cell

    cfg = fastnoise.RunConfig(**CASES["twolayer"], steps=9000, replicas=2)
    path = checkpoint_file(tmp_path, "abc")
    interrupted(cfg, path, 3)
    res = compute_cell(cfg.to_dict(), 1, False, path, 1e6)
    assert res.error is None and res.resumed_from_step == 3 * 997
    pd.testing.assert_frame_equal(res.table, engine.run(cfg).table, check_exact=True)
    # a checkpoint of another configuration is not used: the cell starts over
    other = compute_cell(cfg.replace(p=0.3).to_dict(), 1, False, path, 1e6)
    assert other.error is None and other.resumed_from_step is None


SWEEP_ARGS = ["--set", "model=twolayer", "--set", "d=30", "--set", "width=20", "--set", "steps=8e6", "--set", "replicas=4"]
SWEEP_ARGS += ["--set", "records=40", "--grid", "p=0.2", "--threads", "1", "--checkpoint-every", "0.05s", "--no-progress"]


def test_killed_sweep_resumes_its_long_cell_bitwise(tmp_path):
    folder = tmp_path / "sw"
    cmd = [sys.executable, "-m", "fastnoise", "sweep", *SWEEP_ARGS, "--name", "long", "--out", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(folder.glob(".cell-*.ckpt.npz")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.skip("the sweep finished before it could be killed (a very fast machine)")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (ckpt,) = folder.glob(".cell-*.ckpt.npz")
    saved = checkpoint.peek(ckpt)["steps"]
    assert 0 < saved < 8_000_000
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not list(folder.glob(".cell-*.ckpt.npz"))
    (frag,) = folder.glob("**/cell-*.parquet")
    meta = fastnoise.io.read_results(frag).attrs["run"]
    assert meta["resumed_from_step"] == saved
    cfg = fastnoise.RunConfig(model="twolayer", d=30, width=20, steps=8_000_000, replicas=4, records=40, p=0.2)
    got = pd.read_parquet(frag)
    want = _plain(engine.run(cfg).table)
    pd.testing.assert_frame_equal(got[want.columns], want, check_exact=True)


# --------------------------------------------------------------------------- full disks


def test_full_disk_at_the_table_is_one_line_with_the_resume_command(tmp_path, monkeypatch, small_calls):
    import errno

    from fastnoise import io

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io, "write_results", full)  # `fastnoise run` imports io.write_results when it runs
    out = tmp_path / "a.parquet"
    args = ["run", "--steps", "20000", "--replicas", "2", "--checkpoint-every", "0.0001s", "--out", str(out)]
    res = _runner().invoke(main, args)
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot write {out}: No space left on device; the run's state at step")
    resume = shlex.split(line.split("; to resume, run: ")[1])
    assert resume[0] == "fastnoise" and sorted(resume[1:]) == sorted([*args[:6], "0.0001", *args[7:]])
    assert checkpoint.checkpoint_path(out).exists() and not out.exists()
    monkeypatch.undo()
    again = _runner().invoke(main, resume[1:])  # the printed command resumes
    assert again.exit_code == 0 and "resuming from checkpoint" in again.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), _plain(engine.run(fastnoise.RunConfig(steps=20000, replicas=2)).table))


def test_a_checkpoint_that_cannot_be_written_does_not_stop_the_run(tmp_path, monkeypatch, small_calls, caplog):
    import errno

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "save", full)
    cfg = fastnoise.RunConfig(steps=9000, replicas=2)
    keeper = checkpoint.Checkpointer(tmp_path / "c.npz", cfg, 1e-9)
    # A CLI test earlier in this process may have set up the "fastnoise" logger (propagate off): caplog listens at the root.
    monkeypatch.setattr(logging.getLogger("fastnoise"), "propagate", True)
    with caplog.at_level("WARNING", logger="fastnoise.checkpoint"):
        table = engine.run(cfg, on_call=keeper).table
    pd.testing.assert_frame_equal(table, engine.run(cfg).table, check_exact=True)
    assert keeper.saves == 0 and keeper.failed is not None
    assert caplog.text.count("cannot write checkpoint") == 1  # said once, not at every call
