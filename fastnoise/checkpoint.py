"""Checkpoints: a run's full state on disk, so that an interrupted run resumes bitwise exactly.

A checkpoint is one ``.npz`` file (numpy's zip of arrays) holding the engine's
:class:`~fastnoise.state.RunState` (weights, scratch, random streams, step and update counters,
status words with the renormalisation scale, the metrics recorded so far, the call schedule)
and a JSON header: the format, the run's configuration, the stamp of the code that wrote it
(:func:`fastnoise.provenance.code_stamp`), the steps done and when it was saved. It is written
through :func:`fastnoise.files.atomic_write` (temporary, fsync, rename, fsync of the folder), so
a kill at any moment leaves the previous checkpoint or the new one, never a torn file.

:func:`load` refuses a checkpoint of another configuration or of other code with a one-line
reason (:class:`CheckpointError`); :class:`Checkpointer` is the engine's ``on_call`` callback
that saves every ``every`` seconds of wall time and, when asked to stop (a signal handler calls
:meth:`Checkpointer.request_stop`), saves at the end of the current kernel call and raises
:class:`Stopped`.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, RunConfig
from .files import atomic_write
from .provenance import code_stamp, utc_now

if TYPE_CHECKING:
    from .state import RunState

# numpy and the engine (Numba) are imported by the functions that need them: the command line
# parses --checkpoint-every (parse_duration) and names a run's checkpoint before any of them.

__all__ = ["CheckpointError", "Checkpointer", "Stopped", "checkpoint_path", "load", "parse_duration", "peek", "save"]

FORMAT = "fastnoise-checkpoint-1"
log = logging.getLogger(__name__)
_HEADER = "header"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run (other config or code, damaged file)."""


class Stopped(Exception):  # noqa: N818  (a request, not an error)
    """Raised by :class:`Checkpointer` after saving, when a stop was requested."""

    def __init__(self, signum: int, steps: int) -> None:
        super().__init__(f"stopped by signal {signum} after step {steps}")
        self.signum = signum
        self.steps = steps


def checkpoint_path(out: str | os.PathLike[str]) -> Path:
    """Where the checkpoint of output ``out`` lives: ``.<name>.ckpt.npz`` beside it (hidden from dataset readers)."""
    out = Path(out)
    return out.parent / f".{out.name}.ckpt.npz"


def parse_duration(text: str, option: str = "checkpoint_every") -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"5m"``, ``"1.5h"``; ``"0"`` or ``"off"`` is 0 (never).

    Raises
    ------
    ConfigError
        Not a duration (named ``option``).
    """
    t = str(text).strip().lower()
    if t in ("0", "off", "never", "no"):
        return 0.0
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0}
    unit = t[-1] if t and t[-1] in scale else "s"
    number = t[:-1] if t and t[-1] in scale else t
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(option, f"must be a duration such as 90s, 5m or 1h (or off), got {text!r}") from None
    if not value == value or value < 0 or value * scale[unit] > 1e7:
        raise ConfigError(option, f"must be a duration between 0 and 1e7 s (or off), got {text!r}")
    return value * scale[unit]


def save(path: str | os.PathLike[str], cfg: RunConfig, st: RunState) -> Path:
    """Write ``st`` (a run of ``cfg``) to ``path`` atomically."""
    import numpy as np

    from .plan import geometry
    from .state import RunState

    header = {
        "format": FORMAT,
        "config": cfg.to_dict(),
        "code": code_stamp(),
        "steps": st.steps,
        "total_steps": cfg.steps,
        "calls": st.calls,
        "chunk": st.chunk,
        "n_arrays": len(st.arrays),
        "saved": utc_now(),
    }
    kept = geometry(cfg).kept(st.arrays)  # without the never-touched spread after each weight matrix
    arrays: dict[str, Any] = {f"arrays_{i}": a for i, a in enumerate(kept)}
    arrays.update({name: getattr(st, name) for name in RunState.ARRAYS})
    arrays[_HEADER] = np.array(json.dumps(header, sort_keys=True))
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return Path(path)


def peek(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header of the checkpoint at ``path`` (format, config, code, steps, saved).

    Raises
    ------
    CheckpointError
        Not a readable fastnoise checkpoint.
    """
    import numpy as np

    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # our handle: closed even if np.load fails
            header = json.loads(str(z[_HEADER][()]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise CheckpointError(f"checkpoint {path} is unreadable ({reason}); pass --fresh to start over") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a {FORMAT} file; pass --fresh to start over")
    return header


def _differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k}={a.get(k)!r} (now {b.get(k)!r})" for k in keys[:4]) + (" ..." if len(keys) > 4 else "")


def load(path: str | os.PathLike[str], cfg: RunConfig) -> RunState:
    """The state saved at ``path``, after checking it is a run of ``cfg`` by this code.

    Raises
    ------
    CheckpointError
        Unreadable, of another configuration, or written by other code (another kernel hash).
    """
    import numpy as np

    from .state import RunState

    header = peek(path)
    if header.get("config") != cfg.to_dict():
        raise CheckpointError(
            f"checkpoint {path} is of another configuration: {_differences(header.get('config') or {}, cfg.to_dict())}; "
            "pass --fresh to start over (or rerun the command that wrote it)"
        )
    mine = code_stamp()["kernels"]
    theirs = (header.get("code") or {}).get("kernels")
    if theirs != mine:
        raise CheckpointError(
            f"checkpoint {path} was written by other code (kernels {theirs}, now {mine}); "
            "its state would not continue this code's run: pass --fresh to start over"
        )
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = tuple(z[f"arrays_{i}"] for i in range(int(header["n_arrays"])))
            rest = {name: z[name] for name in RunState.ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged ({type(exc).__name__}: {exc}); pass --fresh to start over") from None
    return RunState(chunk=int(header["chunk"]), calls=int(header["calls"]), steps=int(header["steps"]), arrays=arrays, **rest)


class Checkpointer:
    """The engine's ``on_call``: save every ``every`` seconds, and on a requested stop.

    Parameters
    ----------
    path : path
        The checkpoint file (:func:`checkpoint_path`).
    cfg : RunConfig
        The run.
    every : float
        Seconds of wall time between checkpoints; 0 saves only when a stop is requested. A run
        shorter than ``every`` therefore never writes one.
    """

    def __init__(self, path: str | os.PathLike[str], cfg: RunConfig, every: float) -> None:
        self.path = Path(path)
        self.cfg = cfg
        self.every = float(every)
        self.last = time.monotonic()
        self.saved_steps: int | None = None
        self.saves = 0
        self.failed: OSError | None = None  # the last save's error, if it failed
        self._stop: int | None = None

    def request_stop(self, signum: int) -> None:
        """Save at the end of the current kernel call, then raise :class:`Stopped` (signal-handler safe)."""
        self._stop = signum

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop` was called."""
        return self._stop is not None

    def __call__(self, st: RunState) -> None:
        """Save ``st`` when due (the engine calls this after every kernel call)."""
        now = time.monotonic()
        due = self.every > 0 and now - self.last >= self.every and st.steps < self.cfg.steps
        if due or self._stop is not None:
            try:
                save(self.path, self.cfg, st)
            except OSError as exc:  # a full disk must not end a run that needs no disk until its end
                if self.failed is None:
                    log.warning("cannot write checkpoint %s: %s (the run goes on without it)", self.path, exc.strerror or exc)
                self.failed = exc
            else:
                self.saved_steps = st.steps
                self.saves += 1
                self.failed = None
            self.last = time.monotonic()
        if self._stop is not None:
            raise Stopped(self._stop, st.steps)

    def discard(self) -> None:
        """Remove the checkpoint (the run's table is written)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
