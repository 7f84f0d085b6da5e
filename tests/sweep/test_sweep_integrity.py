"""Sweep results a researcher can trust: stale, damaged and locked cells, and write errors.

- Every fragment records the code stamp of the process that computed it; a fragment of other code
  or of another table schema is stale, found under its (stable) cell id and recomputed in place.
- Every fragment has a sha256 checksum beside it (hidden); a flipped byte makes it damaged.
- A driver locks each cell it computes; two drivers on one folder compute every cell once.
- A full disk or a read-only folder stops the sweep with one ``Error:`` line and the command that resumes it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import threading
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from cells import CellCounter
from click.testing import CliRunner

import fastnoise
import fastnoise.io
import fastnoise.schema
import fastnoise.sweep as sw
import fastnoise.sweep.executors as sw_executors
import fastnoise.sweep.orchestrate as sw_orchestrate
import fastnoise.sweep.spec as sw_spec
import fastnoise.sweep.store as sw_store
from fastnoise.cli import main
from fastnoise.provenance import code_stamp

KEYS = ["cell", "replica", "step"]
SMALL = "steps = 300\nreplicas = 2\nrecords = 5\nd = 5\n"
SPEC = f"""name = "small"
[base]
{SMALL}
[grid]
lr = [0.001, 0.01]
p = [0.5, 1.0]
"""
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _cli(*args: str):
    return _runner().invoke(main, ["sweep", *args, "--no-progress"])


def _read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder).sort_values(KEYS).reset_index(drop=True)


def _cells(spec: Path) -> list[sw.Cell]:
    return sw.load_spec(spec).cells()


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """(spec path, dataset folder) of SPEC run in-process; tests that change the folder copy it first."""
    root = tmp_path_factory.mktemp("small")
    spec = root / "small.toml"
    spec.write_text(SPEC)
    folder = root / "ds"
    assert sw.run_sweep(spec, folder).ok
    return spec, folder


@pytest.fixture
def sweep_copy(small_sweep, tmp_path):
    spec, folder = small_sweep
    dst = tmp_path / "ds"
    shutil.copytree(folder, dst)
    return spec, dst


@pytest.fixture
def fresh(tmp_path):
    """(spec path, an empty dataset folder that exists)."""
    spec = tmp_path / "small.toml"
    spec.write_text(SPEC)
    folder = tmp_path / "ds"
    folder.mkdir()
    return spec, folder


def _rewrite(path: Path, edit) -> None:
    """Rewrite a fragment with edited metadata (``edit(meta)`` changes the dict) and a matching checksum."""
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    edit(meta)
    pq.write_table(table.replace_schema_metadata(meta), path)
    _sidecar(path).write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")


# --------------------------------------------------------------------------- code stamps and stale fragments


def test_each_fragment_records_the_stamp_of_the_process_that_computed_it(fresh, monkeypatch):
    """fastnoise.code is the computing process's code_stamp() (set in compute_cell: here a marked copy of it)."""
    spec, folder = fresh
    worker_stamp = {**code_stamp(), "commit": "stamp-of-the-worker"}
    monkeypatch.setattr(sw_executors, "code_stamp", lambda: worker_stamp)
    assert sw.run_sweep(spec, folder).ok
    for cell in _cells(spec):
        meta = pq.read_metadata(folder / cell.relpath).metadata
        assert json.loads(meta[b"fastnoise.code"]) == worker_stamp
    assert len(sw.sweep_status(sw.load_spec(spec), folder).done) == 4


def test_fragments_of_other_code_or_schema_are_stale_and_recomputed_in_place(sweep_copy, monkeypatch):
    """Other kernels, no stamp (older fastnoise), another schema version: 3 stale cells; --status says so; the rerun
    recomputes exactly those, under the same names, and the table equals the original."""
    spec, folder = sweep_copy
    cells = _cells(spec)
    rows = _read(folder)
    other = {**code_stamp(), "kernels": "0123456789abcdef"}
    _rewrite(folder / cells[0].relpath, lambda m: m.update({b"fastnoise.code": json.dumps(other).encode()}))
    _rewrite(folder / cells[1].relpath, lambda m: m.pop(b"fastnoise.code"))
    _rewrite(folder / cells[2].relpath, lambda m: m.update({b"fastnoise.schema_version": b"1"}))
    st = sw.sweep_status(sw.load_spec(spec), folder)
    assert {c.hash for c in st.stale} == {c.hash for c in cells[:3]}
    assert [c.hash for c in st.done] == [cells[3].hash] and not st.damaged and not st.invalid and st.other_fragments == 0
    status = _cli("--status", str(spec), "--out", str(folder))
    assert status.exit_code == 0
    assert "1 done, 0 missing, 0 failed, 3 stale, 0 damaged" in status.stdout
    assert "3 stale: computed by other code" in status.stdout and "a rerun recomputes them" in status.stdout
    counter = CellCounter(monkeypatch)
    result = _cli(str(spec), "--out", str(folder))
    assert result.exit_code == 0, result.stderr
    assert "3 to run (3 stale: recomputed)" in result.stderr
    assert counter.hashes == {c.hash for c in cells[:3]} and len(counter.configs) == 3
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(c.relpath for c in cells)
    assert len(sw.sweep_status(sw.load_spec(spec), folder).done) == 4
    pd.testing.assert_frame_equal(_read(folder), rows, check_exact=True)


def test_cell_ids_outlive_a_schema_change(sweep_copy, monkeypatch):
    """A new table schema changes no cell id: the old fragments are found, stale (not orphans), and recomputed in place."""
    spec, folder = sweep_copy
    before = [(c.hash, c.relpath) for c in _cells(spec)]
    for module in (fastnoise.schema, fastnoise.io, sw_store):  # the table schema is now 99
        monkeypatch.setattr(module, "SCHEMA_VERSION", 99)
    monkeypatch.setattr(sw_spec, "SCHEMA_VERSION", 99, raising=False)  # in case the cell id read it
    assert [(c.hash, c.relpath) for c in _cells(spec)] == before
    st = sw.sweep_status(sw.load_spec(spec), folder)
    assert len(st.stale) == 4 and st.other_fragments == 0
    counter = CellCounter(monkeypatch)
    assert sw.run_sweep(spec, folder).ok
    assert len(counter.configs) == 4
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(rel for _, rel in before)
    assert all(pq.read_metadata(folder / rel).metadata[b"fastnoise.schema_version"] == b"99" for _, rel in before)
    assert len(sw.sweep_status(sw.load_spec(spec), folder).done) == 4


def test_a_worker_running_other_code_is_refused(fresh, monkeypatch):
    """A result computed by other code (another kernel hash) would be stale at once: the cell fails, nothing is written."""
    spec, folder = fresh
    monkeypatch.setattr(sw_executors, "code_stamp", lambda: {"kernels": "fedcba9876543210", "commit": None, "dirty": None})
    report = sw.run_sweep(spec, folder)
    assert len(report.failed) == 4 and all(
        err.startswith("CodeMismatch") and "fedcba9876543210" in err for _, err in report.failed
    )
    assert list(folder.glob("*.parquet")) == []


# --------------------------------------------------------------------------- checksums


def test_fragments_carry_checksums_that_readers_skip(sweep_copy):
    """Each fragment has .<name>.sha256 beside it (sha256sum format) and Parquet page checksums; pandas, pyarrow,
    DuckDB and polars read only the fragments, with checksum and lock files in the folder."""
    spec, folder = sweep_copy
    cells = _cells(spec)
    for cell in cells:
        path = folder / cell.relpath
        assert _sidecar(path).read_text() == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        pq.read_table(path, page_checksum_verification=True)
    (folder / f".cell-{cells[0].hash}.lock").touch()
    n = 4 * 2 * 5
    assert len(pd.read_parquet(folder)) == n
    assert sorted(Path(f).name for f in pads.dataset(folder, format="parquet").files) == sorted(c.relpath for c in cells)
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql(f"select count(*) from read_parquet('{folder}/**/*.parquet')").fetchall()[0] == (n,)
    pl = pytest.importorskip("polars")
    assert pl.read_parquet(f"{folder}/**/*.parquet").height == n


def _flip_a_data_page_byte(path: Path) -> None:
    """Flip one byte in the middle of the largest column chunk's pages (the footer stays intact)."""
    meta = pq.read_metadata(path)
    chunks = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
    chunk = max(chunks, key=lambda c: c.total_compressed_size)
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    pos = start + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    assert pos < len(data) - meta.serialized_size - 8  # before the footer
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_flipped_byte_is_damaged_and_recomputed(sweep_copy, monkeypatch):
    """One byte flipped inside a data page (footer intact): --status reports the cell damaged; the rerun recomputes
    just it; the table read afterwards equals the original."""
    spec, folder = sweep_copy
    cells = _cells(spec)
    rows = _read(folder)
    path = folder / cells[1].relpath
    _flip_a_data_page_byte(path)
    pq.read_metadata(path)  # still reads as Parquet: only the checksum tells
    with pytest.raises(OSError, match="CRC"):  # the page checksums tell too
        pq.read_table(path, page_checksum_verification=True)
    st = sw.sweep_status(sw.load_spec(spec), folder)
    assert [c.hash for c in st.damaged] == [cells[1].hash] and not st.invalid and len(st.done) == 3
    status = _cli("--status", str(spec), "--out", str(folder))
    assert "3 done, 0 missing, 0 failed, 0 stale, 1 damaged" in status.stdout
    assert f"damaged: cell {cells[1].hash}" in status.stdout
    counter = CellCounter(monkeypatch)
    result = _cli(str(spec), "--out", str(folder))
    assert result.exit_code == 0, result.stderr
    assert counter.hashes == {cells[1].hash} and len(counter.configs) == 1
    pd.testing.assert_frame_equal(_read(folder), rows, check_exact=True)
    assert sw_store.fragment_state(path, cells[1].hash) == "done"


def test_a_missing_checksum_is_damaged(sweep_copy, monkeypatch):
    """A fragment without its checksum file is not trusted: damaged, recomputed, and the checksum is back."""
    spec, folder = sweep_copy
    cell = _cells(spec)[0]
    _sidecar(folder / cell.relpath).unlink()
    assert sw_store.fragment_state(folder / cell.relpath, cell.hash) == "damaged"
    counter = CellCounter(monkeypatch)
    assert sw.run_sweep(spec, folder).ok
    assert counter.hashes == {cell.hash}
    assert sw.fragment_valid(folder / cell.relpath, cell.hash)


# --------------------------------------------------------------------------- locks


def _hold(folder: Path, h: str) -> int:
    """Lock cell h as another driver would (its lock file, flock LOCK_EX); close the fd to release."""
    fd = os.open(folder / f".cell-{h}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_a_cell_locked_by_another_driver_is_left_to_it(fresh, monkeypatch):
    """A held cell is not run and not failed (exit 0, a note on stderr); its lock file is not touched; once released,
    the next run computes it and removes the lock file."""
    spec, folder = fresh
    cells = _cells(spec)
    lock = folder / f".cell-{cells[0].hash}.lock"
    fd = _hold(folder, cells[0].hash)
    counter = CellCounter(monkeypatch)
    try:
        result = _cli(str(spec), "--out", str(folder))
        assert result.exit_code == 0, result.stderr
        assert "3 run, 0 skipped (already done), 0 failed" in result.stdout
        assert "1 cell(s) held by another driver (not run here): 0 done by it, 1 still running" in result.stderr
        assert counter.hashes == {c.hash for c in cells[1:]}
        assert not (folder / "_failed").exists() and lock.exists()
        st = sw.sweep_status(sw.load_spec(spec), folder)
        assert (len(st.done), len(st.missing), len(st.failed)) == (3, 1, 0)
    finally:
        os.close(fd)
    assert sw.run_sweep(spec, folder).ok
    assert counter.hashes == {c.hash for c in cells} and len(counter.configs) == 4
    assert not lock.exists()


def test_held_cells_the_other_driver_finishes_count_as_done(fresh, small_sweep, monkeypatch):
    """A cell held by another driver that finishes it before this driver ends counts as done by it, not as held."""
    spec, folder = fresh
    _, reference = small_sweep
    cells = _cells(spec)
    fd = _hold(folder, cells[0].hash)
    real = sw.compute_cell

    def compute(config, *args, **kwargs):
        if sw.cell_hash(fastnoise.RunConfig.from_dict(config)) == cells[-1].hash:  # meanwhile, the other driver finishes
            for name in (cells[0].relpath, f".{cells[0].relpath}.sha256"):
                shutil.copy(reference / name, folder / name)
            (folder / f".cell-{cells[0].hash}.lock").unlink()
            os.close(fd)
        return real(config, *args, **kwargs)

    monkeypatch.setattr(sw_executors, "compute_cell", compute)
    report = sw.run_sweep(spec, folder)
    assert report.ok and [c.hash for c in report.elsewhere] == [cells[0].hash] and not report.held
    assert {c.hash for c in report.done} == {c.hash for c in cells[1:]}
    assert len(sw.sweep_status(sw.load_spec(spec), folder).done) == 4


def test_cells_finished_by_another_driver_after_planning_are_not_recomputed(fresh, monkeypatch):
    """Once it holds a cell's lock, a driver looks again: a fragment another driver wrote since the plan (with or
    without --force) is done, not recomputed."""
    spec, folder = fresh
    the_spec = sw.load_spec(spec)
    plan = sw.prepare(the_spec, folder)
    assert sw.run_sweep(spec, folder).ok  # the other driver
    forced = sw.prepare(the_spec, folder, force=True)
    assert sw.run_sweep(spec, folder, force=True).ok  # the other driver, forced too
    counter = CellCounter(monkeypatch)
    for p in (plan, forced):
        report = sw.execute(p)
        assert report.ok and not report.done and len(report.elsewhere) == 4
    assert counter.configs == []


def test_two_drivers_compute_every_cell_once(tmp_path, monkeypatch):
    """Two drivers on one folder at once (threads): each cell is computed exactly once, by one of them; both
    succeed; the dataset is complete; no lock file is left. The first computation waits until the other driver
    has found a cell held, so the drivers really overlap (without locks it would wait forever)."""
    spec = sw.SweepSpec(name="twice", base={"steps": 50, "replicas": 1, "records": 3}, grid={"seed": list(range(6))})
    folder = tmp_path / "ds"
    held = threading.Event()
    computed: list[str] = []
    guard = threading.Lock()
    real = sw.compute_cell

    def compute(config, *args, **kwargs):
        with guard:
            computed.append(sw.cell_hash(fastnoise.RunConfig.from_dict(config)))
            first = len(computed) == 1
        if first:
            assert held.wait(timeout=120), "the other driver never found a cell held"
        return real(config, *args, **kwargs)

    monkeypatch.setattr(sw_executors, "compute_cell", compute)
    start = threading.Barrier(2)
    reports: list[sw.SweepReport] = []
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            start.wait(timeout=60)
            progress = lambda event: held.set() if event.status == "held" else None  # noqa: E731
            reports.append(sw.run_sweep(spec, folder, executor=sw.InlineExecutor(threads=1), progress=progress))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    cells = spec.cells()
    assert sorted(computed) == sorted(c.hash for c in cells)  # each exactly once
    assert len(reports) == 2 and all(r.ok for r in reports)
    assert sorted(c.hash for r in reports for c in r.done) == sorted(c.hash for c in cells)
    assert all(sw.fragment_valid(folder / c.relpath, c.hash) for c in cells)
    assert sorted(pd.read_parquet(folder)["cell"].unique()) == sorted(c.hash for c in cells)
    assert not list(folder.glob(".*.lock"))


def test_a_sweep_file_written_while_the_folder_is_checked_is_read(tmp_path, monkeypatch):
    """The race two drivers once lost (CI, under load): the second driver checked for _sweep.json
    (not there yet), the first wrote it, then the second listed the folder, found a file and refused
    it as "not a sweep folder". Here the other driver's write lands exactly in that gap: while the
    folder is listed. The folder is then recognised as the same sweep's."""
    spec = sw.SweepSpec(name="race", base={"steps": 20, "replicas": 1, "records": 2}, grid={"seed": [1]})
    folder = tmp_path / "ds"
    folder.mkdir()
    sw.run_sweep(spec, tmp_path / "model")  # a real _sweep.json of this spec, to appear mid-check
    written = (tmp_path / "model" / sw.SWEEP_JSON).read_text()
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == folder and not (folder / sw.SWEEP_JSON).exists():
            (folder / sw.SWEEP_JSON).write_text(written)  # the other driver, just now
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    previous = sw_store._check_folder(spec, folder)
    assert previous is not None and previous["name"] == "race"


def test_a_lock_file_left_by_a_killed_driver_is_taken_over(fresh, monkeypatch):
    """A lock file nobody holds (its driver died: the lock went with it) does not block the cell."""
    spec, folder = fresh
    cells = _cells(spec)
    lock = folder / f".cell-{cells[0].hash}.lock"
    lock.touch()
    counter = CellCounter(monkeypatch)
    report = sw.run_sweep(spec, folder)
    assert report.ok and not report.held and len(counter.configs) == 4
    assert not lock.exists()


def test_pool_driver_leaves_held_cells_to_their_driver(fresh):
    """The process pool's driver claims its cells when it submits them: a held one is left alone, the rest computed."""
    spec, folder = fresh
    cells = _cells(spec)
    fd = _hold(folder, cells[2].hash)
    try:
        report = sw.run_sweep(spec, folder, executor=sw.PoolExecutor(1))
    finally:
        os.close(fd)
    assert report.ok and [c.hash for c in report.held] == [cells[2].hash]
    assert {c.hash for c in report.done} == {c.hash for i, c in enumerate(cells) if i != 2}
    assert not (folder / cells[2].relpath).exists() and not (folder / "_failed").exists()


def test_dask_driver_leaves_held_cells_to_their_driver(fresh):
    """The same on a Dask LocalCluster: the driver holds the locks, the workers only compute."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    spec, folder = fresh
    cells = _cells(spec)
    fd = _hold(folder, cells[0].hash)
    try:
        report = sw.run_sweep(spec, folder, executor=sw.DaskExecutor(local_workers=1))
    finally:
        os.close(fd)
    assert report.ok and [c.hash for c in report.held] == [cells[0].hash]
    assert {c.hash for c in report.done} == {c.hash for c in cells[1:]}
    assert [p.name for p in folder.glob(".*.lock")] == [f".cell-{cells[0].hash}.lock"]  # only the one this test held


# --------------------------------------------------------------------------- write errors


def _fail_on(monkeypatch, module, name: str, when, exc: OSError) -> list[Path]:
    """Make ``module.name`` (a writer taking the path first) raise ``exc`` when ``when(path, n)``; returns the paths tried."""
    real = getattr(module, name)
    tried: list[Path] = []

    def writer(path, *args, **kwargs):
        tried.append(Path(path))
        if when(Path(path), len(tried)):
            raise exc
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module, name, writer)
    return tried


def _one_error_line(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _resume(line: str):
    """Run the command the error line ends with (after 'to resume, run: ')."""
    words = shlex.split(line.split("to resume, run: ", 1)[1])
    assert words[:2] == ["fastnoise", "sweep"]
    return _runner().invoke(main, words[1:])


def test_disk_full_on_the_third_fragment_stops_with_one_line_and_resumes(fresh, monkeypatch):
    """ENOSPC writing the 3rd fragment: exit 1, one Error line naming the file and the reason, the cell recorded as
    failed, the command to resume; no traceback; the first 2 fragments intact, nothing else a reader would see; the
    4th cell not run. That command, once the disk has room, completes the sweep."""
    spec, folder = fresh
    cells = _cells(spec)
    counter = CellCounter(monkeypatch)
    fragments = _fail_on(monkeypatch, sw_store, "atomic_write_bytes", lambda p, n: n == 3, ENOSPC)
    result = _cli(str(spec), "--out", str(folder))
    line = _one_error_line(result)
    third = folder / cells[2].relpath
    assert fragments == [folder / c.relpath for c in cells[:3]]
    assert line.startswith(f"Error: cannot write {third}: No space left on device; ")
    assert f"cell {cells[2].hash} ({cells[2].label()}) is recorded as failed in {folder / '_failed'}/" in line
    assert "the sweep stopped (2 of 4 cells written by this run)" in line
    assert line.endswith(
        f"; to resume, run: {shlex.join(['fastnoise', 'sweep', str(spec), '--out', str(folder), '--no-progress'])}"
    )
    assert len(counter.configs) == 3
    assert all(sw.fragment_valid(folder / c.relpath, c.hash) for c in cells[:2])
    visible = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )
    assert visible == sorted(c.relpath for c in cells[:2])
    assert not _sidecar(third).exists() and not list(folder.glob(".*.tmp")) and not list(folder.glob(".*.lock"))
    record = json.loads((folder / "_failed" / f"{cells[2].hash}.json").read_text())
    assert "No space left on device" in record["error"]
    before = {c.relpath: (folder / c.relpath).stat().st_mtime_ns for c in cells[:2]}
    monkeypatch.undo()  # the disk has room again
    counter = CellCounter(monkeypatch)
    again = _resume(line)
    assert again.exit_code == 0, again.stderr
    assert counter.hashes == {cells[2].hash, cells[3].hash}
    assert {rel: (folder / rel).stat().st_mtime_ns for rel in before} == before
    st = sw.sweep_status(sw.load_spec(spec), folder)
    assert len(st.done) == 4 and not st.failed and list((folder / "_failed").glob("*.json")) == []


def test_the_resume_command_is_the_command_given(tmp_path, monkeypatch):
    """Inline --grid/--set (repeated), flags and a folder with a space: the command to resume is those arguments,
    shell-quoted, and running it (once there is room) finishes the sweep."""
    folder = tmp_path / "my sweep"
    args = ["--name", "x", "--grid", "seed=0,1", "--set", "steps=50", "--set", "replicas=1", "--out", str(folder)]
    args += ["--threads", "1", "--no-progress"]
    _fail_on(monkeypatch, sw_store, "atomic_write_bytes", lambda p, n: n == 2, ENOSPC)
    line = _one_error_line(_runner().invoke(main, ["sweep", *args]))
    tail = line.rsplit("; to resume, run: ", 1)[1]
    words = shlex.split(tail)  # the space is quoted: one word
    assert words[:2] == ["fastnoise", "sweep"] and sorted(words[2:]) == sorted(args)  # in the options' order
    assert words[words.index("--set") : words.index("--set") + 4] == ["--set", "steps=50", "--set", "replicas=1"]
    monkeypatch.undo()
    again = _resume(line)
    assert again.exit_code == 0, again.stderr
    assert "1 run, 1 skipped" in again.stdout


def test_disk_full_for_the_failure_record_too_is_said(fresh, monkeypatch):
    """When _failed/ cannot be written either, the Error line says the cell could not be recorded there."""
    spec, folder = fresh
    cell = _cells(spec)[0]
    _fail_on(monkeypatch, sw_store, "atomic_write_bytes", lambda p, n: True, ENOSPC)
    _fail_on(monkeypatch, sw_store, "atomic_write_text", lambda p, n: "_failed" in p.parts, ENOSPC)
    line = _one_error_line(_cli(str(spec), "--out", str(folder)))
    assert f"cannot write {folder / cell.relpath}: No space left on device" in line
    assert f"could not be recorded as failed in {folder / '_failed'}/ either: No space left on device" in line
    assert "to resume, run: fastnoise sweep" in line
    assert not list(folder.glob("*.parquet")) and not list(folder.glob(".*.sha256"))


def test_a_checksum_that_cannot_be_written_leaves_no_fragment(fresh, monkeypatch):
    """The checksum is published before the fragment: if it cannot be written, no fragment appears for readers."""
    spec, folder = fresh
    cells = _cells(spec)
    second = _sidecar(folder / cells[1].relpath)
    _fail_on(monkeypatch, sw_store, "atomic_write_text", lambda p, n: p == second, ENOSPC)
    with pytest.raises(sw_store.SweepWriteError) as info:
        sw.run_sweep(spec, folder)
    assert info.value.path == second and info.value.errno == errno.ENOSPC and info.value.reason == "No space left on device"
    assert sorted(p.name for p in folder.glob("*.parquet")) == [cells[0].relpath]
    assert sw.fragment_valid(folder / cells[0].relpath, cells[0].hash)


@pytest.mark.parametrize("published", [True, False], ids=["after-the-rename", "before-the-rename"])
def test_an_interruption_while_publishing_leaves_no_fragment_without_its_checksum(fresh, monkeypatch, published):
    """Ctrl-C (or SIGTERM) while the fragment is published: once renamed it keeps its checksum (done); before, no
    fragment and no checksum. Either way the next run has only the rest to do."""
    spec, folder = fresh
    cell = _cells(spec)[0]
    real = sw_store.atomic_write_bytes

    def interrupted(path, data):
        if published:
            real(path, data)  # renamed; then the signal arrives (say, during the folder's fsync)
        raise KeyboardInterrupt

    monkeypatch.setattr(sw_store, "atomic_write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sw.run_sweep(spec, folder)
    path = folder / cell.relpath
    assert sw_store.fragment_state(path, cell.hash) == ("done" if published else "missing")
    assert _sidecar(path).exists() == published


@pytest.mark.parametrize(
    "err, reason",
    [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")],
    ids=["read-only", "no-permission"],
)
def test_a_folder_that_cannot_be_written_stops_before_any_cell(fresh, monkeypatch, err, reason):
    """_sweep.json cannot be written: one Error line naming it and the reason, exit 1, nothing computed."""
    spec, folder = fresh
    counter = CellCounter(monkeypatch)
    _fail_on(monkeypatch, sw_orchestrate, "atomic_write_text", lambda p, n: True, OSError(err, os.strerror(err)))
    line = _one_error_line(_cli(str(spec), "--out", str(folder)))
    assert line.startswith(f"Error: cannot write {folder / '_sweep.json'}: {reason}; the sweep stopped (0 of 4 cells")
    assert "to resume, run: fastnoise sweep" in line
    assert counter.configs == []


def test_a_failure_record_that_cannot_be_written_stops_the_sweep(tmp_path, monkeypatch):
    """A failing cell whose record cannot be written: the Error line names the record, the cell and its error."""
    spec = tmp_path / "f.toml"
    spec.write_text(f'name = "f"\n[base]\n{SMALL}[grid]\nlr = [1e308, 0.01]\n')
    folder = tmp_path / "ds"
    bad = _cells(spec)[0]
    _fail_on(
        monkeypatch, sw_store, "atomic_write_text", lambda p, n: "_failed" in p.parts, OSError(errno.EACCES, "Permission denied")
    )
    line = _one_error_line(_cli(str(spec), "--out", str(folder)))
    assert line.startswith(f"Error: cannot write {folder / '_failed' / (bad.hash + '.json')}: Permission denied; ")
    assert f"cell {bad.hash} (lr=1e+308) failed (SimulationError" in line and "is not recorded in" in line
