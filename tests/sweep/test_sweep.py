"""Sweeps: spec validation, cell ids, fragments, resume and dedupe, failures, status, readers, the process pool,
and interrupted sweeps (killed from the test) that resume without recomputing or duplicating cells.

Dask executors are tested in test_sweep_dask.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from cells import CellCounter
from click.testing import CliRunner

import fastnoise
import fastnoise.engine
import fastnoise.sweep as sw
import fastnoise.sweep.spec as sw_spec
from fastnoise.cli import main
from fastnoise.provenance import code_stamp

KEYS = ["cell", "replica", "step"]
# Every cell tiny: a missing rule shows as a failed assertion, not a long run.
SMALL = "steps = 300\nreplicas = 2\nrecords = 5\nd = 5\n"
SPEC = f"""name = "small"
[base]
{SMALL}
[grid]
lr = [0.001, 0.01]
p = [0.5, 1.0]
"""


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _cli(*args: str):
    return _runner().invoke(main, ["sweep", *args, "--no-progress"])


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _read(folder: Path) -> pd.DataFrame:
    """The whole dataset, the way a user reads it, in a canonical row order."""
    return pd.read_parquet(folder).sort_values(KEYS).reset_index(drop=True)


def _fragments(folder: Path) -> dict[str, tuple[int, int]]:
    """Fragment file name -> (inode, mtime_ns): changes when a fragment is rewritten."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.parquet")}


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """(spec path, dataset folder) of SPEC run in-process; tests that change the folder copy it first."""
    root = tmp_path_factory.mktemp("small")
    spec = _write(root / "small.toml", SPEC)
    folder = root / "ds"
    report = sw.run_sweep(spec, folder)
    assert report.ok and len(report.done) == 4
    return spec, folder


@pytest.fixture
def sweep_copy(small_sweep, tmp_path):
    spec, folder = small_sweep
    dst = tmp_path / "ds"
    shutil.copytree(folder, dst)
    return spec, dst


# --------------------------------------------------------------------------- spec, cells, ids


def test_cells_are_the_cartesian_product_in_axis_order():
    """3 x 2 x 2 axes give 12 cells, in the order of the axes as written (last axis fastest)."""
    spec = sw.SweepSpec(name="x", base={"steps": 10}, grid={"lr": [0.1, 0.2, 0.3], "p": [0.0, 1.0], "seed": [0, 7]})
    cells = spec.cells()
    assert len(cells) == 12
    assert [c.params for c in cells[:3]] == [
        {"lr": 0.1, "p": 0.0, "seed": 0},
        {"lr": 0.1, "p": 0.0, "seed": 7},
        {"lr": 0.1, "p": 1.0, "seed": 0},
    ]
    for c in cells:
        assert c.config == fastnoise.RunConfig(steps=10, **c.params)
    assert len({c.hash for c in cells}) == 12


def test_defaults_resolve_per_cell_not_from_the_base():
    """With no lr, each cell's lr is 1/d^2 of its own d (the base is not resolved once and copied)."""
    cells = sw.SweepSpec(name="x", grid={"d": [10, 20]}).cells()
    assert [c.config.lr for c in cells] == [1 / 100, 1 / 400]


def test_cell_id_is_sha256_of_canonical_config_and_versions():
    """The id is sha256(canonical JSON of {config, fastnoise version, schema: 2})[:16]; 0 and 0.0 are one cell.

    The schema entry is frozen at 2, the table schema's version when ids were defined (ids outlive schema
    changes: test_sweep_integrity.py), so the ids of every existing fragment stay what they were."""
    cfg = fastnoise.RunConfig(p=0, steps=10)
    assert sw_spec.CELL_ID_SCHEMA == 2
    # the training-regime and hypercube options (added later) are left out at their defaults, so old ids hold
    later = (*fastnoise.config.REGIME_FIELDS, *fastnoise.config.LATER_FIELDS)
    old_fields = {k: v for k, v in cfg.to_dict().items() if k not in later}
    assert cfg.identity() == old_fields
    payload = {"config": old_fields, "fastnoise": metadata.version("fastnoise"), "schema": 2}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert sw.cell_hash(cfg) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert sw.cell_hash(fastnoise.RunConfig(p=0.0, steps=10)) == sw.cell_hash(cfg)
    assert sw.cell_hash(cfg.replace(batch=2)) != sw.cell_hash(cfg)  # a non-default regime is part of the id
    assert sw.cell_hash(cfg, "9.9.9") != sw.cell_hash(cfg)
    assert sw.cell_hash(fastnoise.RunConfig(p=0.0, steps=11)) != sw.cell_hash(cfg)
    (cell,) = sw.SweepSpec(name="x", base={"steps": 10}, grid={"p": [0]}).cells()
    assert cell.relpath == f"cell-{sw.cell_hash(cfg)}.parquet"


def test_spec_toml_round_trip_and_inline_parsing(tmp_path):
    """to_toml() reads back to the same cells; --grid/--set values parse as int, float, bool or string; 1e3 steps is 1000."""
    key, values = sw.parse_grid_option("lr=1e-3, 0.01")
    assert (key, values) == ("lr", [0.001, 0.01])
    assert sw.parse_grid_option("bias=true,False") == ("bias", [True, False])
    assert sw.parse_grid_option("n-train=10,20") == ("n_train", [10, 20])
    assert sw.parse_set_option("model=twolayer") == ("model", "twolayer")
    spec = sw.SweepSpec(name="rt").with_overrides(
        base=dict([sw.parse_set_option("steps=1e3"), sw.parse_set_option("model=twolayer")]),
        grid=dict([("data", ["gaussian", "cube"]), ("bias", [True, False]), ("lr", [0.001])]),
    )
    cells = spec.cells()
    assert cells[0].config.steps == 1000
    back = sw.load_spec(_write(tmp_path / "rt.toml", spec.to_toml()))
    assert [c.hash for c in back.cells()] == [c.hash for c in cells]


# --------------------------------------------------------------------------- bad input: before any work

BAD_SPECS = [
    # (spec text, substrings the one-line error must contain)
    pytest.param(f"[base]\n{SMALL}[grid]\nlrr = [0.1]\n", ("lrr", "not a run parameter"), id="unknown-grid-parameter"),
    pytest.param(f"[base]\n{SMALL}stepz = 10\n[grid]\nlr = [0.1]\n", ("stepz",), id="unknown-base-parameter"),
    pytest.param(f"[base]\n{SMALL}[grid]\nlr = []\n", ("lr", "empty"), id="empty-axis"),
    pytest.param(f"[base]\n{SMALL}[grid]\n", ("[grid]", "empty"), id="empty-grid"),
    pytest.param(f"[base]\n{SMALL}", ("[grid]", "empty"), id="no-grid"),
    pytest.param(f"[base]\n{SMALL}[grid]\nlr = 0.1\n", ("lr", "list", "0.1"), id="axis-not-a-list"),
    pytest.param(f"[base]\n{SMALL}[grid]\np = [0.5, 1.5]\n", ("p = 1.5", "[0, 1]", "got 1.5"), id="p-out-of-range-in-one-cell"),
    pytest.param(
        f'[base]\n{SMALL}model = "twolayer"\ntrain = "hidden"\n[grid]\nwidth = [4, 5]\n',
        ("width = 5", "even", "got 5"),
        id="odd-width-in-one-cell",
    ),
    pytest.param(f"[base]\n{SMALL}lr = -1.0\n[grid]\nseed = [0, 1]\n", ("[base] lr = -1.0", "got -1"), id="bad-base-value"),
    pytest.param(f'[base]\n{SMALL}[grid]\nd = [10, "x"]\n', ("d = 'x'", "integer"), id="wrong-type"),
    pytest.param(f"[base]\n{SMALL}[grid]\np = [0, 0.0]\n", ("same configuration twice", "p=0"), id="duplicate-cell"),
    pytest.param(f'nme = "x"\n[base]\n{SMALL}[grid]\nlr = [0.1]\n', ("nme", "unknown key"), id="unknown-top-level-key"),
    pytest.param(f'name = "_hidden"\n[base]\n{SMALL}[grid]\nlr = [0.1]\n', ("name", "_hidden"), id="bad-name"),
    pytest.param(
        f'partition_by = ["lr"]\n[base]\n{SMALL}[grid]\nlr = [0.1]\n', ("partition_by", "'lr'", "string"), id="float-partition"
    ),
    pytest.param("name = [\n", ("not valid TOML",), id="not-toml"),
]


@pytest.mark.parametrize("text, needles", BAD_SPECS)
def test_bad_spec_fails_before_any_cell_runs(tmp_path, monkeypatch, text, needles):
    """Exit 2, exactly one 'Error:' line naming the key and value, nothing on stdout, no folder, no cell run."""
    counter = CellCounter(monkeypatch)
    spec = _write(tmp_path / "bad.toml", text)
    out = tmp_path / "out"
    result = _cli(str(spec), "--out", str(out))
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not out.exists()
    assert counter.configs == []


BAD_INVOCATIONS = [
    pytest.param(["missing.toml"], ("missing.toml", "No such file"), id="missing-file"),
    pytest.param(["."], ("cannot read", "Is a directory"), id="directory"),
    pytest.param(["--grid", "lr="], ("--grid", "empty"), id="grid-empty-value"),
    pytest.param(["--grid", "lr"], ("--grid", "'lr'", "="), id="grid-no-equals"),
    pytest.param(["--grid", "foo=1,2"], ("foo", "not a run parameter"), id="grid-unknown"),
    pytest.param(["--grid", "p=0.5,2", "--set", "steps=10"], ("p = 2", "got 2"), id="grid-out-of-range"),
    pytest.param(["--set", "steps=10"], ("SPEC.toml", "--grid"), id="nothing-to-sweep"),
    pytest.param(["--grid", "seed=0,1", "--workers", "0"], ("--workers", "got 0"), id="workers-zero"),
    pytest.param(
        ["--grid", "seed=0,1", "--workers", "2", "--cluster", "local:2"], ("--workers", "--cluster"), id="two-executors"
    ),
    pytest.param(["--grid", "seed=0,1", "--cluster", "local:x"], ("--cluster", "local:x"), id="cluster-format"),
    pytest.param(["--grid", "seed=0,1", "--scheduler", "10.0.0.1"], ("--scheduler", "10.0.0.1"), id="scheduler-format"),
    pytest.param(["--grid", "seed=0,1", "--threads", "100000"], ("--threads", "100000"), id="threads-range"),
    pytest.param(["--grid", "seed=0,1", "--worker-threads", "2"], ("--worker-threads",), id="worker-threads-inline"),
]


@pytest.mark.parametrize("args, needles", BAD_INVOCATIONS)
def test_bad_invocation_fails_before_any_cell_runs(tmp_path, monkeypatch, args, needles):
    """Unreadable specs, bad --grid/--set and bad executor options: exit 2, one line naming the value, no folder."""
    monkeypatch.chdir(tmp_path)
    counter = CellCounter(monkeypatch)
    result = _cli(*args)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not (tmp_path / "results").exists()
    assert counter.configs == []


def test_missing_dask_is_a_one_line_error(tmp_path, monkeypatch):
    """--cluster without dask.distributed installed: exit 2 and the install command, before any work."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` raise ImportError
    result = _cli("--grid", "seed=0,1", "--out", str(tmp_path / "o"), "--cluster", "local:2")
    assert result.exit_code == 2
    assert "pip install 'fastnoise[dask]'" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_folder_of_another_sweep_or_with_other_files_is_refused(small_sweep, tmp_path):
    """A folder holding another sweep, or files that are not a sweep, is not written into."""
    _, folder = small_sweep
    result = _cli("--name", "other", "--grid", "seed=0,1", "--out", str(folder))
    assert result.exit_code == 2 and "holds sweep 'small', not 'other'" in result.stderr
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    result = _cli("--grid", "seed=0,1", "--out", str(stray))
    assert result.exit_code == 2 and "not a sweep folder" in result.stderr
    assert sorted(p.name for p in stray.iterdir()) == ["notes.txt"]


# --------------------------------------------------------------------------- the dataset


def test_each_fragment_is_the_engine_table_plus_provenance(small_sweep):
    """Each fragment equals simulate(cell config) on the engine's columns; provenance in columns and metadata."""
    spec, folder = small_sweep
    cells = sw.load_spec(spec).cells()
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(c.relpath for c in cells)
    version = metadata.version("fastnoise")
    for cell in cells:
        back = fastnoise.read_results(folder / cell.relpath)
        expected = fastnoise.simulate(cell.config)
        pd.testing.assert_frame_equal(back[list(expected.columns)], expected, check_exact=True)
        assert (back["sweep"] == "small").all() and (back["cell"] == cell.hash).all()
        assert (back["fastnoise_version"] == version).all()
        assert (back["numba_version"] == metadata.version("numba")).all()
        assert (back["steps"] == 300).all() and (back["replicas"] == 2).all()  # parameters not in the run table
        assert back.attrs["config"] == cell.config.to_dict()
        assert back.attrs["cell"] == cell.hash and back.attrs["sweep"] == "small"
        assert back.attrs["cell_params"] == cell.params
        assert sw.fragment_valid(folder / cell.relpath, cell.hash)
    meta = json.loads((folder / "_sweep.json").read_text())
    assert meta["name"] == "small" and set(meta["cells"]) == {c.hash for c in cells}
    assert sw.load_spec(folder / "_sweep.toml").cells() == cells


def _plant_debris(folder: Path) -> None:
    """What a kill -9 can leave: a complete fragment under its temporary name (fastnoise.files'), half of
    one, a complete staged fragment of an earlier version (``.<name>.staged``), and a failure record."""
    frag = next(folder.glob("cell-*.parquet"))
    data = frag.read_bytes()
    (folder / ".cell-0123456789abcdef.parquet.a1b2c3.tmp").write_bytes(data)
    (folder / ".cell-0123456789abcdef.parquet.x1y2.tmp").write_bytes(data[: len(data) // 2])
    shutil.copy(frag, folder / ".cell-0123456789abcdef.parquet.staged")
    (folder / "_failed").mkdir(exist_ok=True)
    (folder / "_failed" / "0123456789abcdef.json").write_text("{}")


def test_dataset_reads_in_one_line_with_pandas_pyarrow_duckdb_polars(sweep_copy):
    """The README one-liners read exactly the 4 fragments' rows, ignoring temporary files and _-prefixed files."""
    _, folder = sweep_copy
    _plant_debris(folder)
    n = 4 * 2 * 5  # cells x replicas x checkpoints
    df = pd.read_parquet(folder)
    assert len(df) == n and df["cell"].nunique() == 4
    assert pads.dataset(folder, format="parquet").to_table().num_rows == n
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql(f"select count(*), count(distinct cell) from read_parquet('{folder}/**/*.parquet')").fetchall()[0] == (n, 4)
    pl = pytest.importorskip("polars")
    got = pl.read_parquet(f"{folder}/**/*.parquet")
    assert got.height == n and got["cell"].n_unique() == 4


def test_every_fragment_has_the_same_schema(tmp_path):
    """Parameter columns are typed by the field, not the value: init_norm None in one cell and 2.0 in another,
    and data_path None everywhere, still give one Arrow schema, so the fragments merge into one dataset."""
    spec = sw.SweepSpec(name="schema", base={"steps": 50, "replicas": 1, "records": 3}, grid={"init_norm": [None, 2.0]})
    folder = tmp_path / "ds"
    assert sw.run_sweep(spec, folder).ok
    schemas = [pq.read_schema(p).remove_metadata() for p in sorted(folder.glob("*.parquet"))]
    assert len(schemas) == 2 and schemas[0].equals(schemas[1]), (schemas[0], schemas[1])
    df = pd.read_parquet(folder)
    assert df["init_norm"].isna().sum() == 3 and (df["init_norm"] == 2.0).sum() == 3  # 3 rows per cell
    if "data_path" in df.columns:
        assert df["data_path"].isna().all()


def test_partitioned_dataset_keeps_string_keys_as_folders(tmp_path):
    """partition_by = ["model"]: model=<value>/ folders; every reader gets the column back; floats stay columns."""
    spec = _write(
        tmp_path / "part.toml",
        f'name = "part"\npartition_by = ["model"]\n[base]\n{SMALL}width = 4\n'
        '[grid]\nmodel = ["neuron", "twolayer"]\nlr = [0.01, 0.02]\n',
    )
    folder = tmp_path / "ds"
    assert sw.run_sweep(spec, folder).ok
    assert {p.parent.name for p in folder.rglob("cell-*.parquet")} == {"model=neuron", "model=twolayer"}
    one = next(folder.rglob("cell-*.parquet"))
    assert "model" not in pq.read_schema(one).names and "lr" in pq.read_schema(one).names
    df = pd.read_parquet(folder)
    assert len(df) == 40 and df.groupby("model", observed=True).size().to_dict() == {"neuron": 20, "twolayer": 20}
    assert df["lr"].dtype == "float64"
    assert pads.dataset(folder, format="parquet", partitioning="hive").to_table().column("model").unique().to_pylist()
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql(
        f"select count(distinct model) from read_parquet('{folder}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()[0] == (2,)
    pl = pytest.importorskip("polars")
    assert pl.read_parquet(f"{folder}/**/*.parquet", hive_partitioning=True)["model"].n_unique() == 2
    assert len(sw.sweep_status(sw.load_spec(spec), folder).done) == 4


# --------------------------------------------------------------------------- resume and dedupe


def test_rerun_skips_every_done_cell(sweep_copy, monkeypatch):
    """Running the same spec again computes nothing and leaves every fragment untouched (same inode and mtime)."""
    spec, folder = sweep_copy
    before = _fragments(folder)
    counter = CellCounter(monkeypatch)
    result = _cli(str(spec), "--out", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "0 run, 4 skipped" in result.stdout
    assert counter.configs == []
    assert _fragments(folder) == before


def test_force_reruns_and_gives_the_same_table(sweep_copy, monkeypatch):
    """--force recomputes every cell and rewrites its fragment with identical rows."""
    spec, folder = sweep_copy
    before, rows = _fragments(folder), _read(folder)
    counter = CellCounter(monkeypatch)
    result = _cli(str(spec), "--out", str(folder), "--force")
    assert result.exit_code == 0, result.stderr
    assert len(counter.configs) == 4
    after = _fragments(folder)
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in after)
    pd.testing.assert_frame_equal(_read(folder), rows, check_exact=True)


def test_changing_the_spec_adds_only_the_new_cells(sweep_copy, monkeypatch):
    """A new value on an axis (inline --grid replaces the axis) runs only the 2 new cells."""
    spec, folder = sweep_copy
    before = _fragments(folder)
    counter = CellCounter(monkeypatch)
    result = _cli(str(spec), "--out", str(folder), "--grid", "lr=0.001,0.01,0.1")
    assert result.exit_code == 0, result.stderr
    assert [c["lr"] for c in counter.configs] == [0.1, 0.1]
    after = _fragments(folder)
    assert len(after) == 6 and all(after[k] == v for k, v in before.items())
    assert _read(folder).groupby("cell").size().tolist() == [10] * 6


def test_old_temporary_files_are_removed_recent_ones_kept(sweep_copy):
    """A run removes temporaries of killed runs older than 10 minutes (fastnoise.files' ``.tmp`` ones and the
    ``.staged`` ones of earlier versions); a recent one (maybe another driver's) stays."""
    spec, folder = sweep_copy
    old = [folder / ".cell-00000000000000aa.parquet.k3j4h5.tmp", folder / ".cell-00000000000000aa.parquet.staged"]
    new = [folder / ".cell-00000000000000bb.parquet.q7w8e9.tmp", folder / ".cell-00000000000000bb.parquet.staged"]
    for path in old + new:
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    for path in old:
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert sw.run_sweep(spec, folder).ok
    assert not any(p.exists() for p in old) and all(p.exists() for p in new)


def test_two_drivers_on_one_folder_both_finish(tmp_path):
    """Two sweeps of one spec into one folder at the same time (two threads, as two drivers would): each writes
    its own temporaries, neither fails, and every cell ends as exactly one valid fragment, no temporary left."""
    spec = sw.SweepSpec(name="twice", base={"steps": 50, "replicas": 1, "records": 3}, grid={"seed": [0, 1, 2, 3, 4, 5]})
    folder = tmp_path / "ds"
    start = threading.Barrier(2)
    reports: list[sw.SweepReport] = []
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            start.wait(timeout=60)
            reports.append(sw.run_sweep(spec, folder, executor=sw.InlineExecutor(threads=1)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(reports) == 2 and all(r.ok for r in reports)
    cells = spec.cells()
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")) == sorted(c.relpath for c in cells)
    assert all(sw.fragment_valid(folder / c.relpath, c.hash) for c in cells)
    # hidden files left: only each fragment's checksum (no temporary, no lock)
    assert sorted(p.name for p in folder.rglob(".*")) == sorted(f".cell-{c.hash}.parquet.sha256" for c in cells)
    assert sorted(pd.read_parquet(folder)["cell"].unique()) == sorted(c.hash for c in cells)


def test_invalid_fragments_are_detected_and_recomputed(sweep_copy, monkeypatch):
    """A truncated fragment, a Parquet file without fastnoise metadata and another cell's fragment are all rerun."""
    spec, folder = sweep_copy
    cells = sw.load_spec(spec).cells()
    a, b, c, d = (folder / cell.relpath for cell in cells)
    data = a.read_bytes()
    a.write_bytes(data[: len(data) // 2])
    pq.write_table(pa.table({"x": [1.0]}), b)
    shutil.copy(d, c)  # valid Parquet, but the stored cell id is d's
    st = sw.sweep_status(sw.load_spec(spec), folder)
    assert {x.hash for x in st.invalid} == {cells[0].hash, cells[1].hash, cells[2].hash} and len(st.done) == 1
    counter = CellCounter(monkeypatch)
    assert sw.run_sweep(spec, folder).ok
    assert counter.hashes == {cells[0].hash, cells[1].hash, cells[2].hash}
    assert all(sw.fragment_valid(folder / cell.relpath, cell.hash) for cell in cells)


def test_a_new_code_version_names_new_cells(sweep_copy, monkeypatch):
    """Cell ids include the fastnoise version: after an upgrade every cell is run again (old fragments stay)."""
    spec, folder = sweep_copy
    monkeypatch.setattr(sw_spec, "_fastnoise_version", lambda: "99.0.0")
    plan = sw.prepare(sw.load_spec(spec), folder)
    assert len(plan.todo) == 4 and not plan.skipped
    assert sw.sweep_status(sw.load_spec(spec), folder).other_fragments == 4


# --------------------------------------------------------------------------- failures and status


def test_failing_cell_is_reported_recorded_and_the_others_go_on(tmp_path):
    """lr = 1e308 overflows: exit 1, stderr names the cell's values and the error, _failed/<id>.json holds the config."""
    spec = _write(tmp_path / "f.toml", f'name = "f"\n[base]\n{SMALL}[grid]\nlr = [0.01, 1e308]\nseed = [0, 1]\n')
    folder = tmp_path / "ds"
    result = _cli(str(spec), "--out", str(folder))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "2 run, 0 skipped (already done), 2 failed" in result.stdout
    failed_lines = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed_lines) == 2
    assert all("lr=1e+308" in line and "SimulationError" in line and "non-finite" in line for line in failed_lines)
    bad = [c for c in sw.load_spec(spec).cells() if c.params["lr"] == 1e308]
    for cell in bad:
        record = json.loads((folder / "_failed" / f"{cell.hash}.json").read_text())
        assert record["config"] == cell.config.to_dict() and record["params"] == cell.params
        assert record["error"].startswith("SimulationError") and "Traceback" in record["traceback"]
    assert len(list(folder.glob("cell-*.parquet"))) == 2
    status = _cli("--status", str(spec), "--out", str(folder))
    assert status.exit_code == 0
    assert "4 cells" in status.stdout and "2 done, 0 missing, 2 failed" in status.stdout
    assert status.stdout.count("SimulationError") == 2


def test_failure_record_goes_when_the_cell_succeeds(tmp_path, monkeypatch):
    """A cell that failed once (here: a fake error) is retried on the next run, and its record removed."""
    spec = sw.SweepSpec(name="retry", base={"steps": 100, "replicas": 1, "records": 3}, grid={"seed": [0, 1]})
    folder = tmp_path / "ds"
    real = fastnoise.engine.run

    def flaky(cfg, **kw):
        if cfg.seed == 1:
            raise fastnoise.SimulationError("fake failure for seed 1")
        return real(cfg, **kw)

    monkeypatch.setattr(fastnoise.engine, "run", flaky)
    report = sw.run_sweep(spec, folder)
    assert [c.params for c, _ in report.failed] == [{"seed": 1}] and "fake failure" in report.failed[0][1]
    assert len(list((folder / "_failed").glob("*.json"))) == 1
    skipped = sw.run_sweep(spec, folder, skip_failed=True)
    assert not skipped.done and not skipped.failed and len(skipped.skipped) == 2
    monkeypatch.setattr(fastnoise.engine, "run", real)
    report = sw.run_sweep(spec, folder)
    assert [c.params for c in report.done] == [{"seed": 1}] and report.ok
    assert list((folder / "_failed").glob("*.json")) == []
    st = sw.sweep_status(spec, folder)
    assert (len(st.done), len(st.failed), len(st.missing)) == (2, 0, 0)


def test_status_before_and_during(tmp_path, small_sweep):
    """--status runs nothing and creates nothing: all missing before; after adding an axis value, the new ones missing."""
    spec, folder = small_sweep
    fresh = tmp_path / "fresh"
    result = _cli("--status", str(spec), "--out", str(fresh))
    assert result.exit_code == 0 and "4 cells" in result.stdout and "0 done, 4 missing, 0 failed" in result.stdout
    assert not fresh.exists()
    result = _cli("--status", str(spec), "--out", str(folder), "--grid", "p=0.5,1.0,0.0")
    assert "6 cells" in result.stdout and "4 done, 2 missing, 0 failed" in result.stdout


# --------------------------------------------------------------------------- process pool


def test_process_pool_gives_the_same_dataset(small_sweep, tmp_path):
    """--workers 2: the dataset equals the in-process one row for row; workers run with NUMBA_NUM_THREADS=1 and
    stamp their fragments with their code (the same as the driver's)."""
    spec, folder = small_sweep
    out = tmp_path / "pool"
    result = _cli(str(spec), "--out", str(out), "--workers", "2")
    assert result.exit_code == 0, result.stderr
    pd.testing.assert_frame_equal(_read(out), _read(folder), check_exact=True)
    for frag in out.glob("*.parquet"):
        meta = pq.read_metadata(frag).metadata
        run = json.loads(meta[b"fastnoise.run"])
        assert run["executor"] == "pool" and run["numba_threads"] == 1 and run["numba_num_threads"] == 1
        assert run["worker"].split(":")[-1] != str(os.getpid())
        assert json.loads(meta[b"fastnoise.code"])["kernels"] == code_stamp()["kernels"]


# --------------------------------------------------------------------------- interrupted sweeps

SLOW_CELLS = 8


def _slow_spec(tmp_path: Path) -> Path:
    """8 cells of ~0.2-0.4 s each (one replica of 3e6 neuron steps on one thread)."""
    return _write(
        tmp_path / "slow.toml",
        f'name = "slow"\n[base]\nsteps = 3_000_000\nreplicas = 1\nrecords = 20\n[grid]\nseed = {list(range(SLOW_CELLS))}\n',
    )


def _start(args: list[str], cwd: Path, **popen) -> subprocess.Popen:
    """The CLI in a child process; its output goes to files (a pipe could be held open by an orphaned worker)."""
    cmd = [sys.executable, "-m", "fastnoise.cli", "sweep", *args, "--no-progress"]
    with open(cwd / "stdout.txt", "w") as out, open(cwd / "stderr.txt", "w") as err:
        return subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True, **popen)


def _ignore_sigint() -> None:
    """In the child before it starts Python: SIGINT ignored, as in a job a non-interactive shell puts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _output(cwd: Path) -> tuple[str, str]:
    return (cwd / "stdout.txt").read_text(), (cwd / "stderr.txt").read_text()


def _wait_for_fragments(proc: subprocess.Popen, folder: Path, n: int, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while len(list(folder.glob("cell-*.parquet"))) < n:
        assert proc.poll() is None, f"sweep ended early with status {proc.returncode}"
        assert time.monotonic() - t0 < timeout, "no fragments appeared"
        time.sleep(0.01)


def _check_resume(spec: Path, folder: Path, monkeypatch) -> None:
    """After an interruption: what is there is valid; a rerun computes exactly the rest; nothing missing or doubled."""
    cells = sw.load_spec(spec).cells()
    written = _fragments(folder)
    assert 0 < len(written) < SLOW_CELLS, f"the kill should land mid-sweep: {len(written)} of {SLOW_CELLS} cells written"
    by_name = {c.relpath: c for c in cells}
    for name in written:  # every file a reader would pick up is a complete fragment
        assert sw.fragment_valid(folder / name, by_name[name].hash), name
    partial = pd.read_parquet(folder)  # readers see exactly the finished cells
    assert sorted(partial["cell"].unique()) == sorted(by_name[name].hash for name in written)
    counter = CellCounter(monkeypatch)
    assert sw.run_sweep(spec, folder).ok
    assert counter.hashes == {c.hash for c in cells if c.relpath not in written}
    assert len(counter.configs) == SLOW_CELLS - len(written)
    after = _fragments(folder)
    assert all(after[k] == v for k, v in written.items())  # finished cells were not recomputed
    df = _read(folder)
    assert sorted(df["cell"].unique()) == sorted(c.hash for c in cells)
    assert not df.duplicated(KEYS).any()
    assert df.groupby("cell").size().eq(len(df) // SLOW_CELLS).all()
    leftovers = [p.name for p in folder.rglob("*") if p.is_file() and not p.name.startswith("_") and p.suffix != ".parquet"]
    assert all(name.startswith(".") for name in leftovers), leftovers  # any temporary is hidden, never *.parquet


def test_kill_9_mid_sweep_then_resume(tmp_path, monkeypatch):
    """kill -9 the sweep after some cells: only complete fragments exist; the rerun computes only the others."""
    spec = _slow_spec(tmp_path)
    folder = tmp_path / "ds"
    proc = _start([str(spec), "--out", str(folder), "--threads", "1"], tmp_path)
    _wait_for_fragments(proc, folder, 2)
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    _check_resume(spec, folder, monkeypatch)


@pytest.mark.parametrize(
    "sig, executor, status, word",
    [
        pytest.param(signal.SIGINT, ["--workers", "2"], 130, "interrupted", id="ctrl-c-pool"),
        pytest.param(signal.SIGINT, ["--threads", "1"], 130, "interrupted", id="ctrl-c-in-process", marks=pytest.mark.slow),
        pytest.param(signal.SIGTERM, ["--workers", "2"], 143, "terminated", id="sigterm-pool"),
        # (SIGTERM to an in-process sweep: the same handler as Ctrl-C in-process above, with the other status)
        pytest.param(signal.SIGTERM, ["--threads", "1"], 143, "terminated", id="sigterm-in-process", marks=pytest.mark.slow),
    ],
)
def test_signal_mid_sweep_stops_cleanly_then_resume(tmp_path, monkeypatch, sig, executor, status, word):
    """Ctrl-C / SIGTERM: exit 130 / 143 with a note saying how to resume; workers are stopped; the rerun resumes."""
    spec = _slow_spec(tmp_path)
    folder = tmp_path / "ds"
    proc = _start([str(spec), "--out", str(folder), *executor], tmp_path)
    _wait_for_fragments(proc, folder, 2)
    proc.send_signal(sig)
    _check_stopped(proc, tmp_path, status, word)
    _check_resume(spec, folder, monkeypatch)


def _check_stopped(proc: subprocess.Popen, cwd: Path, status: int, word: str) -> None:
    """The sweep stopped promptly with ``status`` and said how to resume; a cell that says it saved its state did."""
    t0 = time.monotonic()
    rc = proc.wait(timeout=30)
    out, err = _output(cwd)
    assert rc == status, (out, err)
    assert time.monotonic() - t0 < 10, "the sweep did not stop promptly"
    assert word in err and "run the same command again to resume" in err and "Traceback" not in err
    saved = list((cwd / "ds").glob(".cell-*.ckpt.npz"))
    assert ("saved its state" in err) == bool(saved), (err, saved)


@pytest.mark.parametrize(
    "executor, group",
    [
        pytest.param(["--threads", "1"], False, id="in-process"),
        pytest.param(["--workers", "2"], False, id="pool", marks=pytest.mark.slow),  # pool-process-group: the pool too
        pytest.param(["--workers", "2"], True, id="pool-process-group"),
    ],
)
def test_sigint_stops_a_sweep_started_with_sigint_ignored(tmp_path, monkeypatch, executor, group):
    """Started as a non-interactive shell's background job (SIGINT ignored), the sweep still stops on SIGINT,
    sent to it or, as a terminal's Ctrl-C does, to its whole process group (whose pool workers leave it to the driver)."""
    spec = _slow_spec(tmp_path)
    folder = tmp_path / "ds"
    proc = _start([str(spec), "--out", str(folder), *executor], tmp_path, preexec_fn=_ignore_sigint, start_new_session=group)
    _wait_for_fragments(proc, folder, 2)
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    _check_stopped(proc, tmp_path, 130, "interrupted")
    _check_resume(spec, folder, monkeypatch)


def test_pool_workers_exit_when_the_driver_is_killed(tmp_path):
    """kill -9 of a --workers driver leaves no orphaned worker process behind (they watch their parent)."""
    psutil = pytest.importorskip("psutil")
    spec = _slow_spec(tmp_path)
    folder = tmp_path / "ds"
    proc = _start([str(spec), "--out", str(folder), "--workers", "2"], tmp_path)
    _wait_for_fragments(proc, folder, 1)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "the pool should have worker processes"
    proc.kill()
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:  # do not leave them running if the check fails
        p.kill()
    assert not alive, f"orphaned workers: {alive}"
