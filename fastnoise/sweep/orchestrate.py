"""Running a sweep: plan which cells to run, run them on an executor, write each result as it arrives.

:func:`prepare` validates the spec and the folder and decides what to run (nothing is computed or
written); :func:`execute` starts the executor, writes ``_sweep.json`` / ``_sweep.toml``, then each
fragment or failure record as its cell finishes; :func:`run_sweep` does both.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from ..schema import SCHEMA_VERSION
from .executors import DaskExecutor, InlineExecutor, PoolExecutor, _cached_versions
from .spec import HASH_CHARS, Cell, SweepSpec, _fastnoise_version, load_spec
from .store import (
    SWEEP_JSON,
    SWEEP_TOML,
    _check_folder,
    _record_failure,
    _remove_stale_temporaries,
    _write_fragment,
    sweep_status,
)

__all__ = ["CellEvent", "SweepPlan", "SweepReport", "execute", "prepare", "run_sweep"]


@dataclass
class SweepPlan:
    """A validated sweep, ready to run: its folder, its cells, and which of them to run."""

    spec: SweepSpec
    folder: Path
    cells: list[Cell]
    todo: list[Cell]
    skipped: list[Cell]
    previous: dict[str, Any] | None = None


@dataclass(frozen=True)
class CellEvent:
    """A finished cell: ``status`` is ``"done"`` (fragment written) or ``"failed"`` (``error`` set)."""

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

    @property
    def skipped(self) -> list[Cell]:
        """Cells not run because a valid fragment already existed."""
        return self.plan.skipped

    @property
    def ok(self) -> bool:
        """True when no cell failed."""
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
        return SweepPlan(spec, folder, cells, list(cells), [], previous)
    st = sweep_status(spec, out, cells=cells)
    done = {c.hash for c in st.done}
    failed = {c.hash for c, _ in st.failed}
    todo = [c for c in cells if c.hash not in done and not (skip_failed and c.hash in failed)]
    skipped = [c for c in cells if c.hash in done or (skip_failed and c.hash in failed)]
    return SweepPlan(spec, folder, cells, todo, skipped, previous)


def execute(
    plan: SweepPlan,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    *,
    progress: Callable[[CellEvent], None] | None = None,
) -> SweepReport:
    """Run the plan's cells on ``executor`` (default :class:`InlineExecutor`), writing each fragment as it finishes.

    Every finished cell is written at once (hidden temporary file, flushed to disk, renamed), and a
    failed cell is recorded in ``_failed/<hash>.json``; the other cells go on. On an interruption
    (``KeyboardInterrupt``) the executor is stopped, queued cells are dropped, and the exception
    propagates: what was written stays, and the next run resumes.

    Returns
    -------
    SweepReport
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
    abort = True
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        _write_sweep_files(plan)
        if not plan.todo:
            abort = False
            return report
        for cell, res in executor.map(plan.todo):
            if res.error is None and res.versions.get("fastnoise") != _fastnoise_version():
                res.error = (
                    f"VersionMismatch: worker {res.worker} runs fastnoise {res.versions.get('fastnoise')}, "
                    f"the driver {_fastnoise_version()} (the cell id names the driver's version)"
                )
                res.table = None
            if res.error is not None:
                _record_failure(plan.spec, folder, cell, res, executor.kind)
                report.failed.append((cell, res.error))
                event = CellEvent(cell, "failed", res.seconds, res.error, res.worker)
            else:
                path = _write_fragment(plan.spec, folder, cell, res, executor.kind)
                report.done.append(cell)
                event = CellEvent(cell, "done", res.seconds, None, res.worker, path)
            if progress is not None:
                progress(event)
        abort = False
    finally:
        executor.close(abort=abort)
        report.seconds = time.perf_counter() - t0
    return report


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    force: bool = False,
    skip_failed: bool = False,
    progress: Callable[[CellEvent], None] | None = None,
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
    progress : callable, optional
        Called with a :class:`CellEvent` as each cell finishes.

    Returns
    -------
    SweepReport
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    plan = prepare(spec, out, force=force, skip_failed=skip_failed)
    return execute(plan, executor, progress=progress)


def _write_sweep_files(plan: SweepPlan) -> None:
    """Write ``_sweep.json`` (provenance: spec, cells of this and earlier specs, versions) and ``_sweep.toml``."""
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
        "hash": "sha256 of canonical JSON {config: RunConfig.to_dict(), fastnoise: version, schema: schema version}, "
        f"first {HASH_CHARS} hex digits",
        "versions": _cached_versions(),
        "schema_version": SCHEMA_VERSION,
        "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cells": cells,
    }
    atomic_write_text(plan.folder / SWEEP_JSON, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    try:
        toml = spec.to_toml()
    except TypeError:  # a None in the grid (from Python): _sweep.json holds the spec
        with contextlib.suppress(FileNotFoundError):
            (plan.folder / SWEEP_TOML).unlink()
    else:
        atomic_write_text(plan.folder / SWEEP_TOML, toml)
