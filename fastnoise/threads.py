"""Threads over replicas: the threads rule, each thread's replicas, the driver a run calls, compiling it.

Replica r goes to thread ``r % nthreads``: each thread owns its replicas' rows of every array, so
the table is the same for any number of threads. A thread calls a driver (``driver._drive``, or
the lane driver through :class:`LaneDrive`) with its replicas and the run's :class:`DriverArgs`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np

from ._kernels import driver
from .errors import ConfigError

__all__ = ["DriverArgs", "LaneDrive", "choose_driver", "compile_driver", "max_threads", "thread_blocks", "thread_count"]

log = logging.getLogger("fastnoise.engine")
#: A compile that takes longer than this is announced (a cached kernel loads in well under it).
COMPILE_NOTICE_SECONDS = 1.0


class DriverArgs(NamedTuple):
    """A driver's arguments after the replicas ``rs``, by name (see ``driver._drive``); passed as ``drive(rs, *args)``."""

    arrays: tuple[np.ndarray, ...]
    scratch: np.ndarray
    state: np.ndarray
    steps_done: np.ndarray
    updates: np.ndarray
    status: np.ndarray
    params: Any
    data: Any
    seg_steps: np.ndarray
    seg_rec: np.ndarray
    out: np.ndarray
    regime: tuple[Any, ...]


def max_threads() -> int:
    """The most threads a run may use: ``NUMBA_NUM_THREADS`` (all cores unless set)."""
    # Numba sets its config attributes at import time through globals(), which mypy cannot see.
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def thread_count(threads: int | None, *, cap: bool = False) -> int:
    """The package's one threads rule: ``None`` means :func:`max_threads`, else 1 ... :func:`max_threads`.

    Parameters
    ----------
    threads : int or None
        The requested count.
    cap : bool
        Lower a count above the maximum to it instead of failing (sweep workers with fewer cores).

    Raises
    ------
    ConfigError
        ``threads`` not an integer in range (named ``threads``; on the CLI ``--threads``).
    """
    nmax = max_threads()
    if threads is None:
        return nmax
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1 or (threads > nmax and not cap):
        raise ConfigError("threads", f"must be between 1 and {nmax}, got {threads!r}")
    return min(int(threads), nmax)


def thread_blocks(replicas: int, nthreads: int) -> list[np.ndarray]:
    """Each thread's replicas: replica r goes to thread ``r % nthreads``."""
    return [np.arange(t, replicas, nthreads, dtype=np.int64) for t in range(nthreads)]


def choose_driver(kern: driver.Kernels, blocks: list[np.ndarray]) -> Any:
    """The driver for these thread blocks: lane groups through the lane driver when the model has one.

    Both drivers give the same table bit for bit (tests/kernels/test_lanes.py); the lane driver advances
    ``driver.LANES`` replicas together and pays off from ``driver.MIN_LANES`` replicas per thread
    (bench/run_bench.py). Specs without a lane step, and interpreted runs, have ``drive_lanes = None``.
    """
    if kern.drive_lanes is None:
        return kern.drive
    if max(len(b) for b in blocks) < driver.MIN_LANES:
        return kern.drive
    return LaneDrive(kern.drive_lanes, kern.drive)


@dataclass(frozen=True)
class LaneDrive:
    """A thread's replicas in lane groups through ``lanes``, any others through ``scalar``.

    Called like a driver. A group is :data:`driver.LANES` consecutive replicas of the block (the
    last one may be shorter); it goes through the lane driver if it has at least
    :data:`driver.MIN_LANES` replicas, all at the same step (a replica that failed stays behind),
    otherwise through the scalar driver. Each is compiled only when a run has such a group, so a
    first run of eight replicas on one thread does not also compile the scalar driver.
    """

    lanes: Any
    scalar: Any

    @staticmethod
    def split(rs: np.ndarray, steps_done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the replicas of ``rs`` in lane groups, the others), each in ``rs``'s order."""
        lane: list[np.ndarray] = []
        other: list[np.ndarray] = []
        for g in range(0, rs.shape[0], driver.LANES):
            group = rs[g : g + driver.LANES]
            same = bool(np.all(steps_done[group] == steps_done[group[0]]))
            (lane if group.shape[0] >= driver.MIN_LANES and same else other).append(group)
        empty = np.zeros(0, np.int64)
        return (np.concatenate(lane) if lane else empty), (np.concatenate(other) if other else empty)

    def __call__(self, rs: np.ndarray, *args: Any) -> None:
        """Advance the replicas ``rs``: lane groups through ``lanes``, the rest through ``scalar``."""
        lane, other = self.split(rs, DriverArgs(*args).steps_done)
        if lane.size:
            self.lanes(lane, *args)
        if other.size:
            self.scalar(other, *args)


def compile_driver(drive: Any, what: str, rs: np.ndarray, args: DriverArgs, blocks: list[np.ndarray] | None = None) -> float:
    """Compile (or load from the cache) the driver ``drive`` for the types of ``(rs, *args)``; seconds taken.

    ``blocks``: the threads' replicas, which tell a :class:`LaneDrive` which of its drivers are needed.
    ``what`` names the kernels in the notice: announced on the ``fastnoise.engine`` logger (INFO)
    once compiling has taken more than :data:`COMPILE_NOTICE_SECONDS` (a first run compiles for
    several seconds, later ones load the cache).
    """
    if isinstance(drive, LaneDrive):  # the drivers the first call's thread blocks need
        parts = [drive.split(b, args.steps_done) for b in blocks or [rs]]
        return (compile_driver(drive.lanes, what, rs, args) if any(p[0].size for p in parts) else 0.0) + (
            compile_driver(drive.scalar, what, rs, args) if any(p[1].size for p in parts) else 0.0
        )
    if not hasattr(drive, "compile") or drive.signatures:  # interpreted (NUMBA_DISABLE_JIT), or compiled already
        return 0.0
    t0 = time.perf_counter()
    notice = threading.Timer(COMPILE_NOTICE_SECONDS, log.info, ("compiling kernels for %s (first run only)...", what))
    notice.daemon = True
    notice.start()
    try:
        drive.compile(tuple(numba.typeof(a) for a in (rs, *args)))
    finally:
        notice.cancel()
    return time.perf_counter() - t0
