"""Sweeps on Dask: a real LocalCluster of 2 worker processes on 127.0.0.1 gives, row for row, the in-process dataset.

Skipped when dask.distributed is not installed (``pip install 'fastnoise[dask]'``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import fastnoise.sweep as sw
from fastnoise.cli import main

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fastnoise[dask]')")

KEYS = ["cell", "replica", "step"]
SPEC = """name = "dask"
[base]
steps = 3000
replicas = 2
records = 6
d = 6
[grid]
model = ["neuron", "twolayer"]
width = [6]
lr = [0.01, 0.05]
seed = [0, 1]
"""
N_CELLS = 8


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder).sort_values(KEYS).reset_index(drop=True)


def _runs(folder: Path) -> list[dict]:
    """The ``fastnoise.run`` metadata (worker, threads, executor) of every fragment."""
    return [json.loads(pq.read_metadata(p).metadata[b"fastnoise.run"]) for p in sorted(folder.glob("*.parquet"))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(spec path, in-process dataset folder)."""
    root = tmp_path_factory.mktemp("dask")
    spec = root / "dask.toml"
    spec.write_text(SPEC)
    folder = root / "inline"
    assert sw.run_sweep(spec, folder).ok
    return spec, folder


@pytest.fixture(scope="module")
def cluster():
    """A real Dask LocalCluster: 2 worker processes, one task each, on 127.0.0.1 (started here, not by fastnoise)."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as c:
        yield c


def test_scheduler_sweep_equals_in_process(reference, cluster, tmp_path):
    """--scheduler on a 2-process LocalCluster: same rows as in-process; both workers ran cells, one Numba thread each."""
    spec, inline = reference
    out = tmp_path / "dask"
    result = _runner().invoke(
        main, ["sweep", str(spec), "--out", str(out), "--scheduler", cluster.scheduler_address, "--no-progress"]
    )
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert f"{N_CELLS} run, 0 skipped" in result.stdout
    pd.testing.assert_frame_equal(_read(out), _read(inline), check_exact=True)
    runs = _runs(out)
    assert len(runs) == N_CELLS and all(r["executor"] == "dask" for r in runs)
    assert all(r["numba_threads"] == 1 for r in runs)  # numba.set_num_threads(1) in the task
    pids = {r["worker"].rsplit(":", 1)[1] for r in runs}
    assert str(os.getpid()) not in pids
    assert len(pids) == 2, f"cells ran in {pids}, expected both worker processes"
    # rerun on the cluster: nothing to do
    again = _runner().invoke(
        main, ["sweep", str(spec), "--out", str(out), "--scheduler", cluster.scheduler_address, "--no-progress"]
    )
    assert again.exit_code == 0 and f"0 run, {N_CELLS} skipped" in again.stdout


def test_cluster_local_option_equals_in_process(reference, tmp_path):
    """`fastnoise sweep --cluster local:2` (the console script, in its own process): same rows as in-process, and
    its workers start with NUMBA_NUM_THREADS=1 although spawn re-imports the script, hence numba, first."""
    spec, inline = reference
    out = tmp_path / "local"
    script = shutil.which("fastnoise")
    cmd = [sys.executable, script] if script else [sys.executable, "-m", "fastnoise.cli"]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    proc = subprocess.run(
        [*cmd, "sweep", str(spec), "--out", str(out), "--cluster", "local:2", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    pd.testing.assert_frame_equal(_read(out), _read(inline), check_exact=True)
    runs = _runs(out)
    assert all(r["numba_threads"] == 1 and r["numba_num_threads"] == 1 for r in runs), runs


def test_unreachable_scheduler_fails_before_any_work(reference, tmp_path):
    """A scheduler address where nothing listens: SweepError naming the address; no folder is created."""
    spec, _ = reference
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    plan = sw.prepare(sw.load_spec(spec), tmp_path / "none")
    with pytest.raises(sw.SweepError, match=f"tcp://127.0.0.1:{port}"):
        sw.execute(plan, sw.DaskExecutor(address=f"tcp://127.0.0.1:{port}", timeout=1.0))
    assert not (tmp_path / "none").exists()


def test_a_failing_cell_on_dask_is_recorded_and_the_others_go_on(tmp_path):
    """DaskExecutor(local_workers=2) from Python: lr = 1e308 fails on a worker and is recorded in _failed/ with the
    worker's traceback; the other cell is written; this process's NUMBA_NUM_THREADS is left as it was."""
    before = os.environ.get("NUMBA_NUM_THREADS")
    spec = sw.SweepSpec(name="f", base={"steps": 100, "replicas": 1, "records": 3}, grid={"lr": [0.01, 1e308]})
    report = sw.run_sweep(spec, tmp_path / "ds", executor=sw.DaskExecutor(local_workers=2))
    assert os.environ.get("NUMBA_NUM_THREADS") == before
    assert [c.params for c in report.done] == [{"lr": 0.01}]
    ((cell, error),) = report.failed
    assert cell.params == {"lr": 1e308} and error.startswith("SimulationError")
    record = json.loads((tmp_path / "ds" / "_failed" / f"{cell.hash}.json").read_text())
    assert record["executor"] == "dask" and "Traceback" in record["traceback"]
