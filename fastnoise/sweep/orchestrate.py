"""Running a sweep: plan which cells to run, run them on an executor, write each result as it arrives.

:func:`prepare` validates the spec and the folder and decides what to run (nothing is computed or
written); :func:`execute` starts the executor, writes ``_sweep.json`` / ``_sweep.toml``, claims each
cell's lock, then writes each fragment or failure record as its cell finishes; :func:`run_sweep`
does both.

Locks are taken and held by the driver, which is also the only writer, so they work alike for
every executor: a cell run in-process is claimed just before it runs (two drivers share the work);
a pool or a cluster queues every cell at once, so all are claimed when submitted. A cell another
driver holds is left to it; at the end, those it finished count as done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from ..provenance import code_stamp
from ..schema import SCHEMA_VERSION
from .executors import CellResult, DaskExecutor, InlineExecutor, PoolExecutor, _cached_versions, checkpoint_file
from .spec import CELL_ID_SCHEMA, HASH_CHARS, Cell, SweepSpec, _fastnoise_version, load_spec
from .store import (
    FAILED_DIR,
    SWEEP_JSON,
    SWEEP_TOML,
    SweepStatus,
    SweepWriteError,
    _check_folder,
    _current_kernels,
    _record_failure,
    _remove_stale_temporaries,
    _try_lock,
    _unlock,
    _write_fragment,
    _writing,
    fragment_state,
    sweep_status,
)

__all__ = ["CellEvent", "SweepPlan", "SweepReport", "execute", "prepare", "run_sweep"]

#: A cell saves its state this often (seconds; ``fastnoise sweep --checkpoint-every``).
DEFAULT_CHECKPOINT_SECONDS = 300.0


@dataclass
class SweepPlan:
    """A validated sweep, ready to run: its folder, its cells, and which of them to run.

    ``status`` is the folder as planned (None with ``force``); ``force`` reruns done cells, and
    ``seen`` then holds each fragment's (inode, mtime) at planning, to tell one another driver rewrote.
    """

    spec: SweepSpec
    folder: Path
    cells: list[Cell]
    todo: list[Cell]
    skipped: list[Cell]
    previous: dict[str, Any] | None = None
    status: SweepStatus | None = None
    force: bool = False
    seen: dict[str, tuple[int, int] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CellEvent:
    """A cell this run is through with, and how: ``status``.

    ``"done"`` (fragment written), ``"failed"`` (``error`` set), ``"held"`` (another driver holds its
    lock: not run here) or ``"elsewhere"`` (another driver finished it since the plan: not run here).
    """

    cell: Cell
    status: str
    seconds: float
    error: str | None = None
    worker: str = ""
    path: Path | None = None


@dataclass
class SweepReport:
    """What a run of :func:`execute` did."""

    plan: SweepPlan
    executor: str
    done: list[Cell] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)
    seconds: float = 0.0
    #: Cells another driver was computing (their locks were held) and had not finished at the end.
    held: list[Cell] = field(default_factory=list)
    #: Cells another driver finished while this one ran (found done after taking the lock, or at the end).
    elsewhere: list[Cell] = field(default_factory=list)

    @property
    def skipped(self) -> list[Cell]:
        """Cells not run because a valid fragment already existed."""
        return self.plan.skipped

    @property
    def ok(self) -> bool:
        """True when no cell failed (cells held by another driver are its business)."""
        return not self.failed


def prepare(
    spec: SweepSpec, out: str | os.PathLike[str] | None = None, *, force: bool = False, skip_failed: bool = False
) -> SweepPlan:
    """Validate everything and decide which cells to run; nothing is computed or written.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    out : path, optional
        Dataset folder (default: the spec's ``out``, else ``results/sweeps/<name>``).
    force : bool
        Rerun every cell, even those with a valid fragment.
    skip_failed : bool
        Do not retry cells with a failure record.

    Raises
    ------
    SpecError
        The spec is invalid (before any cell runs).
    SweepError
        The folder is a file, belongs to another sweep or layout, or is not writable.
    """
    cells = spec.cells()
    folder = spec.folder(out)
    previous = _check_folder(spec, folder)
    if force:
        seen = {c.hash: _file_id(folder / c.relpath) for c in cells}
        return SweepPlan(spec, folder, cells, list(cells), [], previous, None, True, seen)
    st = sweep_status(spec, out, cells=cells)
    done = {c.hash for c in st.done}
    failed = {c.hash for c, _ in st.failed}
    todo = [c for c in cells if c.hash not in done and not (skip_failed and c.hash in failed)]
    skipped = [c for c in cells if c.hash in done or (skip_failed and c.hash in failed)]
    return SweepPlan(spec, folder, cells, todo, skipped, previous, st)


def execute(
    plan: SweepPlan,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    *,
    progress: Callable[[CellEvent], None] | None = None,
    checkpoint_every: float = DEFAULT_CHECKPOINT_SECONDS,
) -> SweepReport:
    """Run the plan's cells on ``executor`` (default :class:`InlineExecutor`), writing each fragment as it finishes.

    Cells run in this process or in local worker processes save their state every
    ``checkpoint_every`` seconds (0: never) to ``.cell-<hash>.ckpt.npz`` in the folder, so a long
    cell of a killed sweep resumes where it was (bitwise; :mod:`fastnoise.checkpoint`); the file
    goes once the cell's fragment is written. Dask cells do not checkpoint (a worker may not see
    the folder).

    Before a cell runs, this driver takes its lock (``.cell-<hash>.lock``); a cell whose lock another
    driver holds is skipped (``report.held``), one found done once locked is counted as done by
    another driver (``report.elsewhere``), as are held cells done by the end. Every finished cell
    is written at once (hidden temporary file, flushed to disk, renamed), and a failed cell is
    recorded in ``_failed/<hash>.json``; the other cells go on. On an interruption
    (``KeyboardInterrupt``) the executor is stopped, queued cells are dropped, and the exception
    propagates: what was written stays, and the next run resumes.

    Returns
    -------
    SweepReport

    Raises
    ------
    SweepWriteError
        A file could not be written (disk full, read-only folder): the sweep stops at once (the
        message names the file, the reason and what was recorded); the cell not written is recorded
        as failed when ``_failed/`` can still be written.
    """
    executor = executor if executor is not None else InlineExecutor()
    t0 = time.perf_counter()
    report = SweepReport(plan, executor.describe())
    folder = plan.folder
    if plan.todo:  # start (or connect to) the workers first: a cluster that cannot start leaves no folder behind
        try:
            executor.start([c.config for c in plan.todo])
        except BaseException:
            executor.close(abort=True)
            raise
    if isinstance(executor, InlineExecutor | PoolExecutor):
        executor.checkpoints = (str(folder), checkpoint_every) if checkpoint_every > 0 else None
    abort = True
    locks: dict[str, int] = {}
    try:
        try:
            with _writing(folder, "create folder"):
                folder.mkdir(parents=True, exist_ok=True)
            _remove_stale_temporaries(folder)
            _write_sweep_files(plan)
        except SweepWriteError as exc:
            raise _stopped(plan, report, exc) from None
        # In-process cells are claimed one at a time, just before each runs, so two drivers share the work;
        # a pool or a cluster queues all its cells at once, so they are claimed together, when submitted.
        batches = [[c] for c in plan.todo] if isinstance(executor, InlineExecutor) else [plan.todo]
        for batch in batches:
            try:
                mine = [c for c in batch if _claim(plan, c, locks, report, progress)]
            except SweepWriteError as exc:
                raise _stopped(plan, report, exc) from None
            if not mine:
                continue
            for cell, res in executor.map(mine):
                try:
                    event = _finish(plan, cell, res, executor.kind, report)
                except SweepWriteError as exc:
                    raise _stopped(plan, report, exc, cell, res, executor.kind) from None
                with contextlib.suppress(FileNotFoundError):  # written or failed: its state is of no more use
                    os.unlink(checkpoint_file(folder, cell.hash))
                _unlock(folder, cell.hash, locks.pop(cell.hash))
                if progress is not None:
                    progress(event)
        for cell in list(report.held):  # finished by their driver meanwhile?
            if fragment_state(folder / cell.relpath, cell.hash) == "done":
                report.held.remove(cell)
                report.elsewhere.append(cell)
        abort = False
    finally:
        for h, fd in locks.items():
            _unlock(folder, h, fd)
        executor.close(abort=abort)
        report.seconds = time.perf_counter() - t0
    return report


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _claim(
    plan: SweepPlan, cell: Cell, locks: dict[str, int], report: SweepReport, progress: Callable[[CellEvent], None] | None
) -> bool:
    """Take the cell's lock for this driver (True), or leave the cell to the driver that holds it or finished it (False)."""
    fd = _try_lock(plan.folder, cell.hash)
    event = None
    if fd is None:
        report.held.append(cell)
        event = CellEvent(cell, "held", 0.0)
    else:
        path = plan.folder / cell.relpath
        if fragment_state(path, cell.hash) == "done" and (not plan.force or _file_id(path) != plan.seen.get(cell.hash)):
            _unlock(plan.folder, cell.hash, fd)  # another driver finished it since the plan
            report.elsewhere.append(cell)
            event = CellEvent(cell, "elsewhere", 0.0, path=path)
        else:
            locks[cell.hash] = fd
            return True
    if progress is not None:
        progress(event)
    return False


def _finish(plan: SweepPlan, cell: Cell, res: CellResult, kind: str, report: SweepReport) -> CellEvent:
    """Write a cell's result: its fragment, or (an error, a worker of other code) its failure record."""
    if res.error is None and res.versions.get("fastnoise") != _fastnoise_version():
        res.error = (
            f"VersionMismatch: worker {res.worker} runs fastnoise {res.versions.get('fastnoise')}, "
            f"the driver {_fastnoise_version()} (the cell id names the driver's version)"
        )
        res.table = None
    kernels = _current_kernels()
    if res.error is None and (res.code or {}).get("kernels") != kernels:
        res.error = (
            f"CodeMismatch: worker {res.worker} computes with code {(res.code or {}).get('kernels')} (kernel hash), "
            f"the driver with {kernels}: its fragment would be stale at once; run the workers on the driver's code"
        )
        res.table = None
    if res.error is not None:
        _record_failure(plan.spec, plan.folder, cell, res, kind)
        report.failed.append((cell, res.error))
        return CellEvent(cell, "failed", res.seconds, res.error, res.worker)
    path = _write_fragment(plan.spec, plan.folder, cell, res, kind)
    report.done.append(cell)
    return CellEvent(cell, "done", res.seconds, None, res.worker, path)


def _stopped(
    plan: SweepPlan,
    report: SweepReport,
    exc: SweepWriteError,
    cell: Cell | None = None,
    res: CellResult | None = None,
    kind: str = "",
) -> SweepWriteError:
    """The error that stops the sweep: ``exc``, what became of the cell not written, and how far the sweep got."""
    note = ""
    if cell is not None and res is not None:
        where = plan.folder / FAILED_DIR
        if res.error is None:  # computed, not written: record it as failed, if _failed/ can still be written
            failed = dataclasses.replace(res, table=None, error=f"SweepWriteError: {exc}", traceback=None)
            try:
                _record_failure(plan.spec, plan.folder, cell, failed, kind)
            except SweepWriteError as again:
                note = f"; cell {cell.hash} ({cell.label()}) could not be recorded as failed in {where}/ either: {again.reason}"
            else:
                note = f"; cell {cell.hash} ({cell.label()}) is recorded as failed in {where}/"
            report.failed.append((cell, failed.error or ""))
        else:  # the failure record itself could not be written
            note = f"; cell {cell.hash} ({cell.label()}) failed ({res.error}) and is not recorded in {where}/"
            report.failed.append((cell, res.error))
    written = f"{len(report.done)} of {len(plan.todo)} cells written by this run"
    return SweepWriteError(f"{exc}{note}; the sweep stopped ({written})", exc.path, exc.reason, exc.errno)


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    force: bool = False,
    skip_failed: bool = False,
    progress: Callable[[CellEvent], None] | None = None,
    checkpoint_every: float = DEFAULT_CHECKPOINT_SECONDS,
) -> SweepReport:
    """Validate, plan and run a sweep (a :class:`SweepSpec` or the path of a TOML spec).

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep.
    out : path, optional
        Dataset folder (default: the spec's ``out``, else ``results/sweeps/<name>``).
    executor : InlineExecutor, PoolExecutor or DaskExecutor, optional
        Where cells run (default in-process).
    force : bool
        Rerun cells that already have a valid fragment.
    skip_failed : bool
        Do not retry cells that failed before.
    checkpoint_every : float
        Seconds between a long cell's checkpoints (0: none; see :func:`execute`).
    progress : callable, optional
        Called with a :class:`CellEvent` as each cell finishes.

    Returns
    -------
    SweepReport
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    plan = prepare(spec, out, force=force, skip_failed=skip_failed)
    return execute(plan, executor, progress=progress, checkpoint_every=checkpoint_every)


def _write_sweep_files(plan: SweepPlan) -> None:
    """Write ``_sweep.json`` (provenance: spec, cells of this and earlier specs, versions) and ``_sweep.toml``.

    Raises
    ------
    SweepWriteError
        Either cannot be written.
    """
    spec = plan.spec
    cells: dict[str, Any] = {}
    if plan.previous and isinstance(plan.previous.get("cells"), dict):
        cells.update(plan.previous["cells"])  # cells of earlier specs stay described
    for c in plan.cells:
        cells[c.hash] = {"params": c.params, "path": c.relpath}
    doc = {
        "name": spec.name,
        "description": spec.description,
        "spec": spec.to_dict(),
        "hash": f"sha256 of canonical JSON {{config: RunConfig.to_dict(), fastnoise: version, schema: {CELL_ID_SCHEMA}}} "
        f"(schema frozen, so ids outlive schema changes), first {HASH_CHARS} hex digits",
        "versions": _cached_versions(),
        "code": code_stamp(),
        "schema_version": SCHEMA_VERSION,
        "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cells": cells,
    }
    with _writing(plan.folder / SWEEP_JSON):
        atomic_write_text(plan.folder / SWEEP_JSON, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    try:
        toml = spec.to_toml()
    except TypeError:  # a None in the grid (from Python): _sweep.json holds the spec
        with _writing(plan.folder / SWEEP_TOML, "remove"), contextlib.suppress(FileNotFoundError):
            (plan.folder / SWEEP_TOML).unlink()
    else:
        with _writing(plan.folder / SWEEP_TOML):
            atomic_write_text(plan.folder / SWEEP_TOML, toml)
