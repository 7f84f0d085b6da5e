"""Running one configuration to one file: the service behind ``fastnoise run`` and every sweep cell.

A run to a file is four steps, each done here and nowhere else:

1. **Resume**: continue the run's checkpoint (:mod:`fastnoise.checkpoint`) when it holds this
   configuration computed by this code (:meth:`FileRun.resume`).
2. **Run**: the engine (:func:`fastnoise.engine.run`), with a :class:`~fastnoise.checkpoint.Checkpointer`
   that saves the state every ``every`` seconds and when a stop is requested (:meth:`FileRun.run`).
3. **Provenance**: the stamp of the code that computed the table (taken in the computing
   process), the start and end times, wall and compile seconds, the step resumed from and the
   checkpoints saved (:meth:`FileRun.provenance`, :mod:`fastnoise.provenance`).
4. **Write**: the table with that provenance in its metadata, atomically (:func:`write_table`:
   a temporary, fsynced, renamed; :mod:`fastnoise.files`); then the checkpoint goes.

``fastnoise run`` does all four in one process (:meth:`FileRun.write`). A sweep cell does the first
three where it runs (a pool or Dask worker, which may see no shared disk) and returns the table
with the facts; the sweep's driver writes the fragment with its own bookkeeping (provenance
columns, checksum, lock: :mod:`fastnoise.sweep.store`). The callers keep their messages: this
module prints nothing.

**Stopping.** ``fastnoise run`` and ``fastnoise sweep`` stop alike on SIGINT (Ctrl-C) and SIGTERM
through :func:`stop_on_signals` (:mod:`fastnoise.stopping`, re-exported here): a run in progress in
this process saves its state at the end of its current kernel call and raises
:class:`~fastnoise.checkpoint.Stopped`; with none (a sweep waiting for its pool, writing a
fragment), or at a second signal, :class:`Interrupted` is raised at once. The command then exits
with :data:`EXIT_STATUS` (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from . import engine
from . import io as results_io
from .checkpoint import Checkpointer, CheckpointError, load
from .config import RunConfig
from .files import remove_stale_temporaries
from .provenance import code_stamp, run_record, utc_now
from .stopping import EXIT_STATUS, Interrupted, stop_on_signals, stoppable
from .threads import thread_count

__all__ = ["EXIT_STATUS", "STALE_SECONDS", "FileRun", "Interrupted", "holds_run", "stop_on_signals", "write_table"]

log = logging.getLogger(__name__)

#: A temporary of a run's output or checkpoint older than this is a dead writer's (writing a table takes seconds).
STALE_SECONDS = 60.0


class FileRun:
    """One configuration run toward one file: resume, run, provenance, write.

    Parameters
    ----------
    cfg : RunConfig
        The run.
    checkpoint : path, optional
        Its checkpoint file (:func:`fastnoise.checkpoint.checkpoint_path` for a run's output,
        ``fastnoise.sweep.checkpoint_file`` for a cell): resumed from by :meth:`resume`, saved to
        every ``every`` seconds and on :meth:`request_stop`. None: no checkpoint at all.
    every : float
        Seconds of wall time between checkpoints (0: only when a stop is requested).
    code : dict, optional
        The stamp of the code computing the run (default: :func:`~fastnoise.provenance.code_stamp`
        of this process, taken now).

    Attributes
    ----------
    keeper : Checkpointer or None
        The engine's ``on_call`` (None without ``checkpoint``).
    state : RunState or None
        The state :meth:`resume` found, from which :meth:`run` continues.
    result : RunResult or None
        Set by :meth:`run`.
    """

    def __init__(
        self,
        cfg: RunConfig,
        checkpoint: str | os.PathLike[str] | None = None,
        every: float = 0.0,
        *,
        code: dict[str, Any] | None = None,
    ) -> None:
        self.config = cfg
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.keeper = Checkpointer(self.checkpoint, cfg, every) if self.checkpoint is not None else None
        self.code = code_stamp() if code is None else code
        self.state: engine.RunState | None = None
        self.result: engine.RunResult | None = None
        self.threads = 0
        self.started = ""
        self.ended = ""
        self.wall_seconds = 0.0

    @property
    def resumed_from_step(self) -> int | None:
        """The step the run continued from (None: it started at step 0)."""
        return self.state.steps if self.state is not None else None

    @property
    def checkpoints_saved(self) -> int:
        """How many checkpoints this run wrote."""
        return self.keeper.saves if self.keeper is not None else 0

    def resume(self, *, strict: bool = True) -> engine.RunState | None:
        """Load the checkpoint, if there is one, for :meth:`run` to continue from.

        Parameters
        ----------
        strict : bool
            A checkpoint of another configuration or code, or a damaged one, raises (a run's
            owner decides); else it is logged as a warning and the run starts over (a sweep cell).

        Returns
        -------
        RunState or None
            The state found (also in :attr:`state`), or None: no checkpoint file.

        Raises
        ------
        CheckpointError
            With ``strict``: the checkpoint cannot continue this run.
        """
        self.state = None
        if self.checkpoint is None or not self.checkpoint.exists():
            return None
        try:
            self.state = load(self.checkpoint, self.config)
        except CheckpointError as exc:
            if strict:
                raise
            log.warning("checkpoint not used, the run starts over: %s", exc)
        return self.state

    def remove_stale_temporaries(self, output: str | os.PathLike[str]) -> int:
        """Remove the temporaries a writer of ``output`` or of the checkpoint left when killed (kill -9, power cut).

        Only those older than :data:`STALE_SECONDS`, and only this output's; returns how many.
        """
        out = Path(output)
        prefixes = [f".{out.name}."] + ([f".{self.checkpoint.name}."] if self.checkpoint is not None else [])
        return sum(remove_stale_temporaries(out.parent, STALE_SECONDS, prefix=p, recursive=False) for p in prefixes)

    def request_stop(self, signum: int) -> bool:
        """Ask the run to save its state at the end of the current kernel call and stop (signal-handler safe).

        Returns False (nothing asked) when the run has no checkpoint to save to, or was asked already.
        """
        if self.keeper is None or self.keeper.stop_requested:
            return False
        self.keeper.request_stop(signum)
        return True

    def run(self, threads: int | None = None, progress: engine.ProgressFn | None = None) -> engine.RunResult:
        """Run the engine from :attr:`state` (or step 0), checkpointing through :attr:`keeper`.

        Parameters
        ----------
        threads : int, optional
            Threads over replicas (default all cores); the table does not depend on it.
        progress : callable, optional
            The engine's ``progress(steps_done, steps_total)``.

        Returns
        -------
        RunResult

        Raises
        ------
        Stopped
            A stop was requested (:meth:`request_stop`): the state is saved to the checkpoint.
        SimulationError, DatasetError, ConfigError
            As :func:`fastnoise.engine.run`.
        """
        self.threads = thread_count(threads)
        self.started, t0 = utc_now(), time.perf_counter()
        with stoppable(self):  # a stop signal now asks this run to save and stop (stop_on_signals)
            self.result = engine.run(self.config, threads=threads, progress=progress, resume=self.state, on_call=self.keeper)
        self.wall_seconds = time.perf_counter() - t0
        self.ended = utc_now()
        return self.result

    def provenance(self) -> dict[str, Any]:
        """The metadata a run's file carries about the run: ``{"run": record, "code": stamp}``.

        ``run`` is :func:`~fastnoise.provenance.run_record` (command, host, times, wall and compile
        seconds) with the threads, the step resumed from and the checkpoints saved.
        """
        if self.result is None:
            raise RuntimeError("run() first")
        record = run_record(
            started=self.started,
            ended=self.ended,
            wall_seconds=self.wall_seconds,
            compile_seconds=self.result.compile_seconds,
            threads=self.threads,
            resumed_from_step=self.resumed_from_step,
            checkpoints_saved=self.checkpoints_saved,
        )
        return {"run": record, "code": self.code}

    def write(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the run's table with its :meth:`provenance` to ``path`` atomically, then remove the checkpoint.

        Raises
        ------
        OSError
            The table could not be written (nothing is under ``path``; the checkpoint stays).
        """
        if self.result is None:
            raise RuntimeError("run() first")
        out = write_table(self.result.table, path, extra=self.provenance(), overwrite=overwrite)
        self.discard_checkpoint()
        return out

    def discard_checkpoint(self) -> None:
        """Remove the checkpoint (the table is written)."""
        if self.keeper is not None:
            self.keeper.discard()


def write_table(
    table: pd.DataFrame, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None, overwrite: bool = False
) -> Path:
    """Write a run's table to Parquet atomically, with ``extra`` as ``fastnoise.<key>`` metadata.

    See :func:`fastnoise.io.write_results` (the configurations, versions, schema and seed go in
    the metadata too) and :func:`fastnoise.files.atomic_write`: nothing appears under ``path``
    unless the whole file is written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    OSError
        The file could not be written (disk full, read-only folder).
    """
    return results_io.write_results(table, path, overwrite=overwrite, extra=extra)


def holds_run(path: str | os.PathLike[str], cfg: RunConfig) -> bool:
    """Whether ``path`` is a table of exactly this run, computed by this code (so rerunning would change nothing)."""
    try:
        meta = results_io.read_results(path).attrs
    except results_io.ResultsFileError:
        return False
    return meta.get("config") == cfg.to_dict() and (meta.get("code") or {}).get("kernels") == code_stamp()["kernels"]
