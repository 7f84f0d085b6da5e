"""What the CLI tells people while it works: logging set-up, and progress on a terminal or in a log.

The library logs through :mod:`logging` (logger ``fastnoise``, e.g. the engine's "compiling
kernels" notice); :func:`configure_logging` sends those records to stderr at the level that
``-q`` / ``-v`` choose. :class:`Progress` shows a long job's progress: a bar with rate, elapsed
and remaining time when stderr is a terminal, otherwise one log line every ``log_every`` seconds
(batch and cluster logs see a sign of life). Both wait a couple of seconds before showing
anything, so short jobs stay quiet; a job may ask for its first log line as soon as that wait is
over (``first_log``) rather than after ``log_every``. :class:`Heartbeat` is the sign of life of a
job whose progress is not counted (a check, an experiment): on a non-terminal stderr, a line
every ``log_every`` seconds saying it is still running.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import TracebackType
from typing import Any

import click

__all__ = ["Heartbeat", "Progress", "configure_logging", "duration", "rate"]

log = logging.getLogger("fastnoise.cli")

#: Nothing is shown for jobs shorter than this.
QUIET_SECONDS = 2.0


class _StderrHandler(logging.StreamHandler):
    """A stream handler on whatever ``sys.stderr`` is at each record (click's test runner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbosity: int) -> None:
    """Send the package's log records to stderr: -1 warnings only (``-q``), 0 info, 1+ debug (``-v``)."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logger = logging.getLogger("fastnoise")
    for h in list(logger.handlers):
        if getattr(h, "_fastnoise_cli", False):
            logger.removeHandler(h)
    handler = _StderrHandler()
    stamp = "" if sys.stderr.isatty() else "%(asctime)s "
    handler.setFormatter(logging.Formatter(f"{stamp}%(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
    handler._fastnoise_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def duration(seconds: float) -> str:
    """``3725.0`` as ``'1:02:05'``; under a minute as ``'42 s'``."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def rate(per_second: float, unit: str) -> str:
    """``3.1e7 steps/s``."""
    return f"{per_second:.3g} {unit}/s"


class Progress:
    """Progress of a job of ``total`` units: a terminal bar, or log lines every ``log_every`` seconds.

    Parameters
    ----------
    enabled : bool
        False shows nothing (``--no-progress``, ``-q``).
    total : int
        Units of work (steps; cells).
    label : str
        What the job is (``"8 replicas"``; ``"sweep grid"``).
    unit : str
        For the rate (``"steps"``).
    per_unit : int
        Rate multiplier: a step of ``R`` replicas is ``R`` replica-steps.
    log_every : float
        Seconds between log lines when stderr is not a terminal (0: none).
    start : int
        Units already done when the job starts (a resumed run). The rate counts from the first
        :meth:`update` (the engine calls it once before its first step, after compiling).
    first_log : float, optional
        Seconds from the start before the first log line may be written (default ``log_every``;
        :data:`QUIET_SECONDS` for a job that should show a sign of life at once). Later lines
        come every ``log_every`` seconds.
    """

    def __init__(
        self,
        enabled: bool,
        total: int,
        label: str,
        *,
        unit: str = "steps",
        per_unit: int = 1,
        log_every: float = 30.0,
        start: int = 0,
        first_log: float | None = None,
    ) -> None:
        self.enabled = enabled and total > 0
        self.tty = sys.stderr.isatty()
        self.total = total
        self.label = label
        self.unit = unit
        self.per_unit = per_unit
        self.log_every = log_every
        self.t0 = time.perf_counter()
        self.start = start
        self.done = start
        # the first line is due first_log seconds after the start, the next ones log_every after the last
        self.last_log = self.t0 - (log_every - first_log if first_log is not None else 0.0)
        self.bar: Any = None
        self.shown = 0
        self.rate_from: float | None = None  # when the timed part (after compiling) started

    def _rate(self, now: float) -> float:
        t = self.rate_from if self.rate_from is not None else self.t0
        return (self.done - self.start) * self.per_unit / max(now - t, 1e-9)

    def _left(self, now: float) -> float:
        """Seconds left at the rate so far (inf before any progress)."""
        r = self._rate(now) / self.per_unit
        return (self.total - self.done) / r if r > 0 else float("inf")

    def _status(self, now: float) -> str:
        r = self._rate(now)
        return f"{rate(r, self.unit)}, elapsed {duration(now - self.t0)}, remaining ~{duration(self._left(now))}"

    def _count(self) -> str:
        """How much is done, for a log line: ``500 / 1,000 steps``."""
        return f"{self.done:,} / {self.total:,} {self.unit}"

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` of the units are finished (the engine's progress callback signature)."""
        if self.rate_from is None:  # the first call: the work proper starts now (compile done)
            self.rate_from = time.perf_counter()
            self.start = done
        self.done = done
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.t0 < QUIET_SECONDS or (self.bar is None and done >= self.total):
            return
        if not self.tty:
            if self.log_every > 0 and now - self.last_log >= self.log_every:
                self.last_log = now
                pct = 100.0 * done / self.total
                log.info("%s: %s (%.0f%%), %s", self.label, self._count(), pct, self._status(now))
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=self.total,
                label=self.label,
                file=sys.stderr,
                show_eta=False,
                item_show_func=lambda _: self._status(time.perf_counter()),
            )
            self.bar.__enter__()
            self.bar.update(self.start)
            self.shown = self.start
        self.bar.update(done - self.shown, current_item=done)
        self.shown = done

    __call__ = update

    def close(self) -> None:
        """Finish the bar, if one was shown."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class Heartbeat:
    """A context manager: while its block runs, a log line ``<label>: still running, elapsed 1:30`` every ``log_every`` seconds.

    Only when stderr is not a terminal (a terminal sees the command's own output) and ``enabled``
    (``--no-progress`` and ``-q`` turn it off); the lines come from a daemon timer thread, so a job
    that reports nothing for minutes (one long check or experiment) still shows a sign of life.

    Parameters
    ----------
    enabled : bool
        False shows nothing.
    label : str
        What is running (``"check nobias"``).
    log_every : float
        Seconds between lines (0: none).
    """

    def __init__(self, enabled: bool, label: str, log_every: float = 30.0) -> None:
        self.enabled = enabled and log_every > 0 and not sys.stderr.isatty()
        self.label = label
        self.log_every = log_every
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        """Start the clock (and the lines)."""
        self.t0 = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._tick, name="fastnoise-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop the lines."""
        self._stop.set()

    def _tick(self) -> None:
        while not self._stop.wait(self.log_every):
            log.info("%s: still running, elapsed %s", self.label, duration(time.perf_counter() - self.t0))
