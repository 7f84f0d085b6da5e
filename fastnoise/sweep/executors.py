"""Where cells run: in this process, a local pool of processes, or a Dask cluster; and running one cell.

Every executor has the same small interface (``kind``, ``describe()``, ``start(configs)``,
``map(cells)`` yielding ``(cell, CellResult)`` as cells finish, ``close(abort)``). Workers only
compute and return tables (:func:`compute_cell`); the driver writes, so workers need no shared
filesystem. A cell's table does not depend on the executor or on the number of workers or threads.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.context
import os
import signal
import socket
import threading
import time
import traceback as _traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _futures_as_completed
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import engine
from ..checkpoint import Stopped
from ..config import RunConfig
from ..io import versions
from ..models import model_of
from ..plan import kernel_spec
from ..provenance import code_stamp
from ..runfile import FileRun
from ..threads import max_threads, thread_count
from .errors import SweepError, import_distributed, one_line
from .security import client_security, uses_tls
from .spec import Cell

log = logging.getLogger(__name__)

__all__ = ["CellResult", "DaskExecutor", "InlineExecutor", "PoolExecutor", "checkpoint_file", "compute_cell"]


# --------------------------------------------------------------------------- computing one cell


@dataclass
class CellResult:
    """What a worker sends back for one cell: the table, or the error; and where and how it ran."""

    table: pd.DataFrame | None
    error: str | None
    traceback: str | None
    seconds: float
    worker: str
    numba_threads: int
    versions: dict[str, str]
    numba_num_threads: int = 0  # the worker process's NUMBA_NUM_THREADS (its thread pool size)
    #: ``provenance.code_stamp()`` of the process that computed the cell (None: it never got that far);
    #: the fragment records it, and the driver refuses a result whose kernel hash is not its own.
    code: dict[str, Any] | None = None
    compile_seconds: float = 0.0  # of ``seconds``, compiling (or loading) kernels
    resumed_from_step: int | None = None  # the cell continued a checkpoint of this many steps


def checkpoint_file(folder: str | os.PathLike[str], cell_hash: str) -> str:
    """Where a cell's checkpoint lives in its sweep folder (hidden from dataset readers)."""
    return os.path.join(folder, f".cell-{cell_hash}.ckpt.npz")


@functools.lru_cache(maxsize=1)
def _versions_once() -> tuple[tuple[str, str], ...]:
    return tuple(versions().items())


def _cached_versions() -> dict[str, str]:
    return dict(_versions_once())


def compute_cell(
    config: Mapping[str, Any],
    threads: int | None = None,
    cap_threads: bool = False,
    checkpoint: str | None = None,
    checkpoint_every: float = 0.0,
) -> CellResult:
    """Run one cell where this function is called (in-process, a pool worker or a Dask worker).

    Parameters
    ----------
    config : mapping
        ``RunConfig.to_dict()`` of the cell.
    threads : int, optional
        Threads for the cell's replicas (default: ``NUMBA_NUM_THREADS``); never more than the
        cell's replicas.
    cap_threads : bool
        Use at most the process's ``NUMBA_NUM_THREADS`` instead of failing when ``threads`` is larger
        (workers of a cluster we did not start).
    checkpoint : str, optional
        A checkpoint file (:func:`checkpoint_file`): resume from it when it holds this cell's run by
        this code (otherwise start over), and save to it every ``checkpoint_every`` seconds.
    checkpoint_every : float
        Seconds between checkpoints (0: none).

    Returns
    -------
    CellResult
        With ``table`` set, or ``error`` and ``traceback`` when the run raised an exception; ``code``
        is this process's :func:`~fastnoise.provenance.code_stamp` (the code that computed the table).

    Raises
    ------
    Stopped
        A stop signal asked the cell to stop (:func:`fastnoise.runfile.stop_on_signals`, in the
        driver's process): its state is saved to ``checkpoint``; the sweep stops.
    """
    t0 = time.perf_counter()
    nmax = max_threads()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stamp: dict[str, Any] | None = None
    try:
        k = nmax if threads is None else threads  # reported as is if the count itself is refused
        stamp = code_stamp()  # here, in the computing process: its sources, not the driver's
        k = thread_count(threads, cap=cap_threads)
        cfg = RunConfig.from_dict(dict(config))
        # More threads than replicas only adds thread wake-ups (tables do not depend on the thread count).
        k = max(1, min(k, cfg.replicas))
        job = FileRun(cfg, checkpoint if checkpoint_every > 0 else None, checkpoint_every, code=stamp)
        job.resume(strict=False)  # another code's or a damaged checkpoint: the cell starts over
        result = job.run(threads=k)
    except Stopped:  # a stop signal (fastnoise.runfile.stop_on_signals): the state is saved, the sweep stops
        raise
    except Exception as exc:  # a failed cell is reported, the sweep goes on
        tb = _traceback.format_exc()
        return CellResult(None, one_line(exc), tb, time.perf_counter() - t0, worker, k, _cached_versions(), nmax, stamp)
    seconds = time.perf_counter() - t0
    resumed = job.resumed_from_step
    versions = _cached_versions()
    return CellResult(result.table, None, None, seconds, worker, k, versions, nmax, stamp, result.compile_seconds, resumed)


def _failure_result(exc: BaseException, worker: str = "") -> CellResult:
    tb = "".join(_traceback.format_exception(exc))
    return CellResult(None, one_line(exc), tb, 0.0, worker, 0, {})


def _warm_up(configs: Iterable[RunConfig]) -> None:
    """Compile (or load from the on-disk cache) the kernels the cells need, once each, in this process.

    Kernels are specialised per model and per loss, input law, activation and sparse inputs
    (``plan.kernel_spec``); one tiny run per distinct pair compiles each.
    """
    seen = set()
    for cfg in configs:
        key = (model_of(cfg).name, kernel_spec(cfg))
        if key in seen:
            continue
        seen.add(key)
        engine.run(cfg.replace(steps=1, records=2, replicas=1, n_test=1, probe_size=1, eval_size=1), threads=1)


# --------------------------------------------------------------------------- executors


class _Checkpointing:
    """Executors whose workers see the sweep folder (this process, local processes): cells checkpoint there.

    The driver sets :attr:`checkpoints` to ``(folder, seconds)`` before :meth:`map`; a cell then
    saves its state to :func:`checkpoint_file` every ``seconds`` and resumes from it when a
    killed sweep is rerun. (A Dask worker may be on another machine, so Dask cells do not.)
    """

    checkpoints: tuple[str, float] | None = None

    def _checkpoint(self, cell: Cell) -> tuple[str | None, float]:
        if self.checkpoints is None:
            return None, 0.0
        folder, every = self.checkpoints
        return checkpoint_file(folder, cell.hash), every


class InlineExecutor(_Checkpointing):
    """Cells one after another in this process, each cell's replicas on ``threads`` Numba threads.

    Parameters
    ----------
    threads : int, optional
        Numba threads per cell (default: all cores).
    """

    kind = "inline"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def describe(self) -> str:
        """One-line description for the summary."""
        t = "all cores" if self.threads is None else f"{self.threads} thread{'s' * (self.threads != 1)}"
        return f"in-process, {t} per cell"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Nothing to start (the first cell compiles or loads the kernels)."""

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Run the cells in order, yielding each with its result."""
        for cell in cells:
            yield cell, compute_cell(cell.config.to_dict(), self.threads, False, *self._checkpoint(cell))

    def close(self, abort: bool = False) -> None:
        """Nothing to stop."""


#: Held while os.environ is patched for processes being spawned (a pool worker, a LocalCluster's nannies), so
#: that two drivers in one process never interleave their patches and restores.
_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (processes spawned meanwhile inherit them), then restore."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _EnvSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that starts with extra environment variables (NUMBA_NUM_THREADS before numba loads)."""

    _fastnoise_env: dict[str, str] = {}

    def start(self) -> None:
        with _ENV_LOCK, _patched_environ(self._fastnoise_env):
            super().start()


class _EnvSpawnContext(multiprocessing.context.SpawnContext):
    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__()
        self._env = dict(env)

    def Process(self, *args: Any, **kwargs: Any) -> _EnvSpawnProcess:  # type: ignore[override]  # multiprocessing's name
        p = _EnvSpawnProcess(*args, **kwargs)
        p._fastnoise_env = self._env
        return p


def _pool_worker_init(parent_pid: int) -> None:
    """In each pool worker: leave Ctrl-C to the driver, and exit if the driver dies (``kill -9``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True, name="fastnoise-parent-watch").start()


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(1)


class PoolExecutor(_Checkpointing):
    """A local pool of ``workers`` spawned processes, each running cells on ``worker_threads`` Numba threads.

    ``NUMBA_NUM_THREADS`` is set to ``worker_threads`` in each worker before it imports numba; the
    driver compiles the kernels first, so workers load them from the on-disk cache.
    """

    kind = "pool"

    def __init__(self, workers: int, worker_threads: int = 1) -> None:
        self.workers = workers
        self.worker_threads = worker_threads
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        """One-line description for the summary."""
        return f"{self.workers} worker processes, {self.worker_threads} thread{'s' * (self.worker_threads != 1)} each"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Compile in the driver, then create the pool (workers are spawned as cells are submitted)."""
        _warm_up(configs)
        ctx = _EnvSpawnContext({"NUMBA_NUM_THREADS": str(self.worker_threads)})
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_pool_worker_init, initargs=(os.getpid(),)
        )

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Submit every cell; yield each with its result as it finishes."""
        assert self._pool is not None, "start() first"
        owner = {}
        for cell in cells:
            fut = self._pool.submit(compute_cell, cell.config.to_dict(), self.worker_threads, False, *self._checkpoint(cell))
            owner[fut] = cell
        for fut in _futures_as_completed(owner):
            cell = owner.pop(fut)
            try:
                res = fut.result()
            except Exception as exc:  # BrokenProcessPool: a worker died (killed, out of memory)
                res = _failure_result(exc)
            yield cell, res

    def close(self, abort: bool = False) -> None:
        """Shut the pool down; with ``abort``, cancel queued cells and terminate the workers."""
        if self._pool is None:
            return
        if abort:
            # The queued cells are cancelled by shutdown, in the pool's own thread: cancelling them from here
            # raced with that thread marking them failed once the workers were gone (an InvalidStateError
            # traceback on stderr after Ctrl-C, Python 3.11).
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True)
        self._pool = None


class DaskExecutor:
    """Cells as tasks of a Dask distributed cluster: an existing scheduler, or a ``LocalCluster`` on loopback.

    Parameters
    ----------
    address : str, optional
        Scheduler address, e.g. ``tcp://10.0.0.5:8786``. Exclusive with ``local_workers``.
    local_workers : int, optional
        Start a ``LocalCluster`` of this many worker processes (one task each) on 127.0.0.1.
    worker_threads : int, optional
        Numba threads per cell (default 1). A LocalCluster's workers get ``NUMBA_NUM_THREADS`` set
        before they start; on an existing cluster each task runs on at most the worker's
        ``NUMBA_NUM_THREADS`` threads.
    timeout : float
        Seconds to wait for the scheduler and its first worker.
    tls_ca_file, tls_cert, tls_key : str or path, optional
        With a ``tls://`` (or ``wss://``) ``address``: PEM files of the cluster's CA, this client's
        certificate and its key (or the key appended to the certificate file), for a
        ``Security(..., require_encryption=True)``. Without them the Client's default applies:
        ``distributed.client.security-loader`` if configured, else ``Security()``, which reads
        ``distributed.comm.tls.*`` from Dask's configuration (YAML in ``~/.config/dask``,
        ``$DASK_CONFIG``, ``/etc/dask``; ``DASK_DISTRIBUTED__COMM__TLS__...`` variables). Bad TLS
        settings, or a ``tls://`` address with no client certificate anywhere, raise SweepError here.
    """

    kind = "dask"

    def __init__(
        self,
        address: str | None = None,
        local_workers: int | None = None,
        worker_threads: int | None = None,
        timeout: float = 10.0,
        tls_ca_file: str | os.PathLike[str] | None = None,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
    ) -> None:
        if (address is None) == (local_workers is None):
            raise ValueError("give exactly one of address and local_workers")
        self.address = address
        self.local_workers = local_workers
        self.worker_threads = 1 if worker_threads is None else worker_threads
        self.timeout = timeout
        self.client: Any = None
        self.cluster: Any = None
        self._futures: list[Any] = []
        self._env_before: dict[str, str | None] = {}
        files = {"--tls-ca-file": tls_ca_file, "--tls-cert": tls_cert, "--tls-key": tls_key}
        self._tls_files = {k: os.fspath(v) for k, v in files.items() if v is not None}
        if self._tls_files and address is None:
            raise ValueError("tls_ca_file, tls_cert and tls_key are for an existing cluster (address)")
        #: The Client's ``security``: built from the TLS files, else None (the Client's default, Dask's config).
        self.security: Any = client_security(address, self._tls_files) if address is not None else None

    def _uses_tls(self) -> bool:
        return uses_tls(self.address)

    def describe(self) -> str:
        """One-line description for the summary."""
        t = f"{self.worker_threads} thread{'s' * (self.worker_threads != 1)} per cell"
        if self.local_workers is not None:
            return f"Dask LocalCluster, {self.local_workers} worker processes on 127.0.0.1, {t}"
        if self._tls_files:
            return f"Dask scheduler {self.address}, TLS with --tls-cert {self._tls_files['--tls-cert']}, {t}"
        if self._uses_tls():
            return f"Dask scheduler {self.address}, TLS settings from Dask's configuration, {t}"
        return f"Dask scheduler {self.address}, {t}"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Compile in the driver, then start the LocalCluster or connect to the scheduler.

        Raises
        ------
        SweepError
            Dask missing, the scheduler unreachable, or no worker within ``timeout``.
        """
        option = "--cluster" if self.local_workers is not None else "--scheduler"
        distributed = import_distributed(option)
        import dask

        _warm_up(configs)
        self._env_before = {"NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")}
        if self.local_workers is not None:
            env = {"NUMBA_NUM_THREADS": str(self.worker_threads)}
            # Nanny applies pre-spawn-environ to this process before spawning (and os.environ wins over
            # the config): set it for the start, then restore, so the driver's numba sees no change.
            pre_spawn = {"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": env["NUMBA_NUM_THREADS"]}
            with _ENV_LOCK, _patched_environ(env), dask.config.set(pre_spawn):
                try:
                    self.cluster = distributed.LocalCluster(
                        n_workers=self.local_workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # its HTTP server starts anyway: keep it on loopback
                        env=env,
                        silence_logs=logging.ERROR,
                    )
                except Exception as exc:
                    raise SweepError(
                        f"--cluster local:{self.local_workers}: cannot start a LocalCluster: {one_line(exc)}"
                    ) from None
            self.client = distributed.Client(self.cluster, timeout=f"{self.timeout}s")
        else:
            try:
                self.client = distributed.Client(self.address, timeout=f"{self.timeout}s", security=self.security)
            except Exception as exc:
                hint = ""
                if self._uses_tls():
                    hint = " (is the scheduler started with --protocol tls, and is the certificate signed by its CA?)"
                raise SweepError(f"--scheduler {self.address}: cannot connect: {one_line(exc)}{hint}") from None
            try:
                self.client.wait_for_workers(1, timeout=self.timeout)
            except Exception:
                self.close(abort=True)
                raise SweepError(f"--scheduler {self.address} has no workers (waited {self.timeout:g} s)") from None

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Submit every cell as a task; yield each with its result as it finishes."""
        import uuid

        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        cap = self.local_workers is None
        owner = {}
        for cell in cells:
            fut = self.client.submit(
                compute_cell,
                cell.config.to_dict(),
                self.worker_threads,
                cap,
                key=f"fastnoise-cell-{cell.hash}-{token}",
                pure=False,
            )
            owner[fut.key] = (fut, cell)
        self._futures = [f for f, _ in owner.values()]
        for fut in as_completed(self._futures):
            _, cell = owner.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # KilledWorker, a worker without fastnoise, a lost connection
                res = _failure_result(exc)
            fut.release()
            yield cell, res

    def close(self, abort: bool = False) -> None:
        """Cancel what is left (with ``abort``), close the client and a LocalCluster we started."""
        if self.client is not None:
            if abort and self._futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(self._futures, force=True)
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
            self.cluster = None
        for k, v in self._env_before.items():  # a Nanny that restarted a worker may have set it again
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
