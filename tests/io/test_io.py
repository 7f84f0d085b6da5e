"""Parquet output: round trip, provenance metadata, atomic writes, read errors, and the CLI's file handling."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import fastnoise
import fastnoise.io
from fastnoise.cli import main
from fastnoise.schema import SCHEMA_VERSION

CONFIGS = {
    # Nulls: norm_2 / width of a neuron, errors under pure noise, n_train.
    "neuron-pure-noise": dict(model="neuron", d=6, steps=2000, records=10, replicas=2, seed=3),
    # Every column filled: labelled data, a training set, biases, init_norm.
    "twolayer-labelled": dict(
        model="twolayer", loss="logistic", bias=True, d=5, width=6, p=0.3, n_train=40, n_test=50, probe_size=30,
        init="gaussian", init_norm=2.0, steps=2000, records=12, replicas=2, seed=7,
    ),
}  # fmt: skip


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def run_table(request):
    """(config, table) of a small run, one per entry of CONFIGS."""
    cfg = fastnoise.RunConfig(**CONFIGS[request.param])
    return cfg, fastnoise.simulate(cfg)


@pytest.fixture
def written(tmp_path, run_table):
    """(config, table, path) with the table written by write_results."""
    cfg, df = run_table
    path = tmp_path / "run.parquet"
    assert fastnoise.write_results(df, path) == path
    return cfg, df, path


# --------------------------------------------------------------------------- round trip


def test_round_trip_rows_and_dtypes(written):
    """read_results gives back the same rows, columns and dtypes, exactly."""
    cfg, df, path = written
    back = fastnoise.read_results(path)
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()


def test_round_trip_config_attr(written):
    """attrs['config'] read back equals the run's config dict."""
    cfg, df, path = written
    assert df.attrs["config"] == cfg.to_dict()
    assert fastnoise.read_results(path).attrs["config"] == cfg.to_dict()


def test_versions_and_schema_metadata(written):
    """attrs['versions'] names numba/numpy/pandas/pyarrow/fastnoise at their installed versions; schema version set."""
    _, _, path = written
    back = fastnoise.read_results(path)
    versions = back.attrs["versions"]
    for name in ("numba", "numpy", "pandas", "pyarrow", "fastnoise"):
        assert versions[name] == metadata.version(name), name
    assert back.attrs["schema_version"] == SCHEMA_VERSION


def test_read_config_round_trip(written):
    """read_config returns a RunConfig equal to the one that made the run."""
    cfg, _, path = written
    got = fastnoise.read_config(path)
    assert isinstance(got, fastnoise.RunConfig)
    assert got == cfg
    assert got.to_dict() == cfg.to_dict()


def test_plain_pyarrow_reads_file(written):
    """pyarrow.parquet.read_table alone reads the file: rows, columns, and the JSON config in the metadata."""
    cfg, df, path = written
    table = pq.read_table(path)
    assert table.num_rows == len(df)
    assert table.column_names == list(df.columns)
    meta = table.schema.metadata
    assert json.loads(meta[b"fastnoise.config"]) == cfg.to_dict()
    assert int(meta[b"fastnoise.schema_version"]) == SCHEMA_VERSION


def test_polars_reads_file_if_installed(written):
    """If polars is installed it reads the file with the same shape (polars is not required)."""
    pl = pytest.importorskip("polars")
    _, df, path = written
    assert pl.read_parquet(path).shape == df.shape


def test_duckdb_reads_file_if_installed(written):
    """DuckDB reads the file: same row count, and the same mean of a metric column."""
    duckdb = pytest.importorskip("duckdb")
    _, df, path = written
    con = duckdb.connect()
    n, mean = con.execute(f"select count(*), avg(norm_1) from read_parquet('{path}')").fetchall()[0]
    assert n == len(df)
    assert mean == pytest.approx(df.norm_1.mean(), rel=1e-12)


# --------------------------------------------------------------------------- interrupted writes

INTERRUPTIONS = [
    pytest.param(KeyboardInterrupt, id="KeyboardInterrupt"),
    pytest.param(OSError, id="OSError-disk-full"),
]


def _partial_writer(monkeypatch, exc_type):
    """Make pq.write_table (as fastnoise.io calls it) write half a real Parquet file, then raise exc_type."""
    real = fastnoise.io.pq.write_table

    def fake(table, where, *args, **kwargs):
        buf = io.BytesIO()
        real(table, buf, *args, **kwargs)
        data = buf.getvalue()
        if hasattr(where, "write"):  # an open file (fastnoise.files.atomic_write's temporary)
            where.write(data[: len(data) // 2])
            where.flush()
        else:
            Path(where).write_bytes(data[: len(data) // 2])
        raise exc_type(28, "No space left on device") if exc_type is OSError else exc_type()

    monkeypatch.setattr(fastnoise.io.pq, "write_table", fake)


@pytest.mark.parametrize("exc_type", INTERRUPTIONS)
def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch, run_table, exc_type):
    """A write interrupted mid-file leaves neither the target nor any temporary file in the folder."""
    _, df = run_table
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "run.parquet"
    _partial_writer(monkeypatch, exc_type)
    with pytest.raises(exc_type):
        fastnoise.write_results(df, path)
    assert not path.exists()
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("exc_type", INTERRUPTIONS)
def test_interrupted_overwrite_keeps_previous_file(tmp_path, monkeypatch, run_table, exc_type):
    """An interrupted overwrite leaves the previous file byte-for-byte unchanged and no temporary files."""
    cfg, df = run_table
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "run.parquet"
    fastnoise.write_results(df, path)
    before = path.read_bytes()
    _partial_writer(monkeypatch, exc_type)
    newer = fastnoise.simulate(cfg.replace(seed=cfg.seed + 1))
    with pytest.raises(exc_type):
        fastnoise.write_results(newer, path, overwrite=True)
    assert path.read_bytes() == before
    assert list(folder.iterdir()) == [path]
    monkeypatch.undo()
    pd.testing.assert_frame_equal(fastnoise.read_results(path), df, check_exact=True)


def test_overwrite_replaces_and_leaves_no_temporaries(tmp_path, run_table):
    """write_results(overwrite=True) replaces the file's contents and leaves only that file."""
    cfg, df = run_table
    path = tmp_path / "run.parquet"
    fastnoise.write_results(df, path)
    newer = fastnoise.simulate(cfg.replace(seed=cfg.seed + 1))
    fastnoise.write_results(newer, path, overwrite=True)
    assert fastnoise.read_config(path).seed == cfg.seed + 1
    pd.testing.assert_frame_equal(fastnoise.read_results(path), newer, check_exact=True)
    assert list(tmp_path.iterdir()) == [path]


# --------------------------------------------------------------------------- read errors


def _make_missing(path: Path) -> None:
    pass


def _make_text(path: Path) -> None:
    path.write_text("replica,step\n0,0\n")


def _make_empty(path: Path) -> None:
    path.write_bytes(b"")


def _make_plain_parquet(path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2, 3]}), path)


def _make_truncated(path: Path) -> None:
    df = fastnoise.simulate(steps=200, replicas=1, records=5)
    fastnoise.write_results(df, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _make_bad_config_json(path: Path) -> None:
    table = pa.table({"a": [1]}).replace_schema_metadata({b"fastnoise.config": b"{not json"})
    pq.write_table(table, path)


BAD_FILES = [
    pytest.param(_make_missing, id="missing"),
    pytest.param(_make_text, id="not-parquet-text"),
    pytest.param(_make_empty, id="not-parquet-empty"),
    pytest.param(_make_truncated, id="truncated-parquet"),
    pytest.param(_make_plain_parquet, id="parquet-without-fastnoise-metadata"),
    pytest.param(_make_bad_config_json, id="parquet-with-corrupt-fastnoise-config"),
]


@pytest.mark.parametrize("make", BAD_FILES)
def test_read_results_bad_file(tmp_path, make):
    """read_results raises ResultsFileError with a one-line message naming the file."""
    path = tmp_path / "bad.parquet"
    make(path)
    with pytest.raises(fastnoise.ResultsFileError) as info:
        fastnoise.read_results(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg


@pytest.mark.parametrize("make", BAD_FILES)
def test_read_config_bad_file(tmp_path, make):
    """read_config raises the same ResultsFileError as read_results."""
    path = tmp_path / "bad.parquet"
    make(path)
    with pytest.raises(fastnoise.ResultsFileError):
        fastnoise.read_config(path)


def test_read_results_missing_file_says_missing(tmp_path):
    """The message for a missing file says that the file does not exist (not only 'cannot read')."""
    path = tmp_path / "nope.parquet"
    with pytest.raises(fastnoise.ResultsFileError) as info:
        fastnoise.read_results(path)
    msg = str(info.value)
    rest = msg.replace(str(path), "").lower()  # the words must not come from the path itself
    assert any(w in rest for w in ("no such file", "not found", "does not exist", "missing")), msg


# --------------------------------------------------------------------------- CLI


RUN_ARGS = ["run", "--steps", "2000", "--replicas", "2", "--records", "10", "--d", "7", "--no-progress"]


def test_cli_run_writes_file(tmp_path):
    """`fastnoise run --out F` exits 0, writes F (readable, right config) and prints a summary naming F."""
    out = tmp_path / "run.parquet"
    result = _runner().invoke(main, [*RUN_ARGS, "--out", str(out)])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert out.is_file()
    assert str(out) in result.stdout
    back = fastnoise.read_results(out)
    cfg = fastnoise.read_config(out)
    assert (cfg.steps, cfg.replicas, cfg.d, cfg.records) == (2000, 2, 7, 10)
    assert sorted(back.replica.unique()) == [0, 1]
    assert back.step.max() == 2000
    assert list(tmp_path.iterdir()) == [out]


def test_cli_default_out_under_results(tmp_path, monkeypatch):
    """Without --out the file goes to ./results/ with a name that spells the parameters."""
    monkeypatch.chdir(tmp_path)
    args = [*RUN_ARGS, "--p", "0.5", "--seed", "3"]
    result = _runner().invoke(main, args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    files = list((tmp_path / "results").iterdir())
    assert len(files) == 1, files
    name = files[0].name
    assert name.endswith(".parquet")
    for token in ("neuron", "hinge", "gaussian", "d7", "p0.5", "steps2000", "R2", "seed3"):
        assert token in name, (token, name)
    cfg = fastnoise.RunConfig(d=7, p=0.5, seed=3, steps=2000, replicas=2, records=10)
    assert name == cfg.default_filename()
    assert name in result.stdout
    assert fastnoise.read_config(files[0]) == cfg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_cli_overwrite_replaces(tmp_path):
    """--overwrite replaces an existing --out with the new run, leaving no temporary files."""
    out = tmp_path / "run.parquet"
    first = _runner().invoke(main, [*RUN_ARGS, "--seed", "0", "--out", str(out)])
    assert first.exit_code == 0, first.stderr
    assert fastnoise.read_config(out).seed == 0
    second = _runner().invoke(main, [*RUN_ARGS, "--seed", "1", "--out", str(out), "--overwrite"])
    assert second.exit_code == 0, (second.stdout, second.stderr, second.exception)
    assert fastnoise.read_config(out).seed == 1
    expected = fastnoise.simulate(fastnoise.RunConfig(d=7, seed=1, steps=2000, replicas=2, records=10))
    pd.testing.assert_frame_equal(fastnoise.read_results(out), expected, check_exact=True)
    assert list(tmp_path.iterdir()) == [out]


def test_a_run_removes_its_own_stale_temporaries(tmp_path):
    """A killed run's temporary (.out.parquet.<random>.tmp) is removed by the next run of that output, if old.

    Young temporaries (a writer may still be running) and other outputs' temporaries are kept.
    """
    out = tmp_path / "out.parquet"
    old = tmp_path / ".out.parquet.dead00000000.tmp"
    young = tmp_path / ".out.parquet.live00000000.tmp"
    other = tmp_path / ".other.parquet.dead00000000.tmp"
    for p in (old, young, other):
        p.write_bytes(b"partial")
    for p in (old, other):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    result = _runner().invoke(main, [*RUN_ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and not old.exists()
    assert young.exists() and other.exists()


def test_sigterm_during_a_run_leaves_nothing_behind(tmp_path):
    """SIGTERM mid-run: exit 143, no output and no temporary in the folder, only the checkpoint."""
    out = tmp_path / "out.parquet"
    cmd = [sys.executable, "-m", "fastnoise", "run", "--steps", "1e9", "--replicas", "1", "--no-progress", "--out", str(out)]
    warm = [*cmd[:5], "1000", *cmd[6:-1], str(tmp_path / "warm" / "w.parquet")]
    (tmp_path / "warm").mkdir()
    subprocess.run(warm, check=True, capture_output=True, cwd=tmp_path)  # compile (or load) the kernels first
    shutil.rmtree(tmp_path / "warm")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(8.0)  # imports and kernel loading done, the run under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    # no output and no temporary: only the state saved for a resume (tests/engine/test_checkpoint.py)
    assert [p.name for p in tmp_path.iterdir()] == [".out.parquet.ckpt.npz"]
