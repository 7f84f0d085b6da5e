"""Stopping a command on SIGINT (Ctrl-C) and SIGTERM alike: at a clean point if the work can stop there, else at once.

``fastnoise run``, ``sweep`` and ``meanfield`` wrap their work in :func:`stop_on_signals`. Work that can
stop cleanly registers itself for the while it computes (:func:`stoppable`): a run saves its state at
the end of its current kernel call (:class:`fastnoise.runfile.FileRun`), a mean-field flow keeps what
it integrated so far (:class:`fastnoise.meanfield.flow.Monitor`). The first signal asks each of them
to stop (:meth:`Stoppable.request_stop`); when none is registered, or at a second signal,
:class:`Interrupted` is raised at once. The command then exits with :data:`EXIT_STATUS` (130 for
SIGINT, 143 for SIGTERM).

This module imports nothing of the package (nor Numba): the mean-field command uses it without the engine.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["EXIT_STATUS", "Interrupted", "Stoppable", "stop_on_signals", "stoppable"]

#: The exit status of a command stopped by each signal (128 + its number, as a shell reports a signal's death).
EXIT_STATUS: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Stoppable(Protocol):
    """Work that can stop at a clean point when asked."""

    def request_stop(self, signum: int) -> bool:
        """Ask the work to stop at its next clean point (signal-handler safe).

        Returns False when nothing was asked: the work cannot stop cleanly, or was asked already
        (a second signal then stops the command at once).
        """
        ...


#: The work computing in this process now (:func:`stoppable`): a stop signal asks it to stop.
_RUNNING: list[Stoppable] = []


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM with no work that could stop cleanly first (or a second signal): stop at once.

    A ``KeyboardInterrupt``, so that whatever is under way unwinds as on Ctrl-C (atomic writes
    remove their temporaries, a sweep stops its executor); ``signum`` says which signal it was.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def stoppable(job: Stoppable) -> Iterator[None]:
    """Within the block, a stop signal asks ``job`` to stop (:meth:`Stoppable.request_stop`) instead of interrupting."""
    _RUNNING.append(job)
    try:
        yield
    finally:
        _RUNNING.remove(job)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop the command the same way, whatever disposition it inherited.

    Python keeps SIGINT ignored when the process started with it ignored (a job put in the
    background with ``&`` by a non-interactive shell), so Ctrl-C alone would not stop it: here both
    signals get the one handler explicitly, and their previous dispositions come back after the
    block. The handler asks all work registered with :func:`stoppable` to stop at its next clean
    point; when none takes the request, it raises :class:`Interrupted` at once. Outside the main
    thread (where handlers cannot be installed) the block runs with the dispositions it has.

    Pool workers of a sweep ignore SIGINT and die on SIGTERM: the parent, which runs this
    handler, stops them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_stop_signal) for sig in EXIT_STATUS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: installed by other than Python, cannot be put back
                signal.signal(sig, handler)


def _on_stop_signal(signum: int, frame: Any) -> None:
    asked = [job for job in list(_RUNNING) if job.request_stop(signum)]
    if not asked:
        raise Interrupted(signum)
