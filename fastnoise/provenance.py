"""Where a result came from: the stamp of the code that computed it, and a run's own record.

:func:`code_stamp` identifies the code that turns a configuration into numbers: a hash of the
sources of the modules that compute results (:data:`RESULT_SOURCES`: the kernels, the JIT
flags, the random streams, the engine, the data laws and the table's schema) plus, when the
package sits in a git work tree, the commit and whether those sources differ from it. Editing
any of them under ``pip install -e`` changes the hash, so a sweep never reuses a cell computed by
other code (:mod:`fastnoise.sweep.store`) and a checkpoint of other code is refused
(:mod:`fastnoise.checkpoint`). Comments count as edits: the hash is of the bytes, on purpose
(deciding which edits cannot change a result is exactly the judgement the stamp exists to avoid).

:func:`run_record` is what a results file says about the run itself: command line, host, start
and end times, wall and compile seconds.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["MEANFIELD_SOURCES", "RESULT_SOURCES", "code_stamp", "kernel_hash", "run_record", "utc_now"]

_PACKAGE = Path(__file__).resolve().parent

#: The package's sources (globs relative to the package folder) whose bytes enter the stamp.
RESULT_SOURCES = (
    "_kernels/*.py",
    "_jit.py",
    "_rng.py",
    "engine.py",
    "plan.py",
    "schedule.py",
    "sets.py",
    "state.py",
    "threads.py",
    "weights.py",
    "schema.py",
    "config.py",
    "models/*.py",
    "tasks/*.py",
    "losses/*.py",
    "data/images.py",
)

#: The mean-field flow's sources (``fastnoise meanfield``): stamped apart, in a flow table's
#: ``fastnoise.meanfield`` entry, so that editing the flow does not make every simulated sweep stale.
MEANFIELD_SOURCES = ("meanfield/*.py",)


def _source_files(root: Path = _PACKAGE, patterns: tuple[str, ...] = RESULT_SOURCES) -> list[Path]:
    files: set[Path] = set()
    for pattern in patterns:
        files.update(root.glob(pattern))
    return sorted(files)


def kernel_hash(root: str | os.PathLike[str] | None = None, patterns: tuple[str, ...] = RESULT_SOURCES) -> str:
    """sha256 (first 16 hex digits) of the result-computing sources, names and bytes, in path order.

    Parameters
    ----------
    root : path, optional
        A package folder (default: this installed package).
    patterns : tuple of str
        Globs relative to it (default :data:`RESULT_SOURCES`; :data:`MEANFIELD_SOURCES` for the flow).
    """
    base = Path(root) if root is not None else _PACKAGE
    h = hashlib.sha256()
    for path in _source_files(base, patterns):
        h.update(path.relative_to(base).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _git(*args: str) -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(_PACKAGE), *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


#: The hash of the sources as this process imported them (the engine imports this module): an edit
#: made while a process runs does not change what that process says it computed with.
_KERNELS_AT_IMPORT = kernel_hash()


@functools.lru_cache(maxsize=1)
def _stamp() -> tuple[str, str | None, bool | None]:
    kernels = _KERNELS_AT_IMPORT
    top = _git("rev-parse", "--show-toplevel")
    if top is None:
        return kernels, None, None
    commit = _git("rev-parse", "HEAD")
    paths = [str(p) for p in _source_files()]
    changed = _git("status", "--porcelain", "--untracked-files=all", "--", *paths)
    return kernels, commit, (None if changed is None else changed != "")


def code_stamp() -> dict[str, Any]:
    """The stamp of the code in this process: ``{"kernels": hash, "commit": sha or None, "dirty": bool or None}``.

    ``kernels`` (:func:`kernel_hash`) decides whether two results came from the same code;
    ``commit`` and ``dirty`` are for people (None outside a git work tree). The hash is taken when
    the package is imported, the git facts on the first call; both once per process.
    """
    kernels, commit, dirty = _stamp()
    return {"kernels": kernels, "commit": commit, "dirty": dirty}


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the millisecond."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def run_record(
    *, started: str, ended: str, wall_seconds: float, compile_seconds: float, argv: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A run's own provenance, kept in its file's metadata (``fastnoise.run``).

    Parameters
    ----------
    started, ended : str
        UTC times (:func:`utc_now`).
    wall_seconds : float
        Wall time of the run, compile included.
    compile_seconds : float
        Of that, the time spent compiling (or loading cached) kernels.
    argv : list of str, optional
        The command line (default: ``sys.argv``).
    **extra
        More items (``threads``, ``resumed_from`` ...).
    """
    return {
        "command": list(sys.argv if argv is None else argv),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "pid": os.getpid(),
        "started": started,
        "ended": ended,
        "wall_seconds": round(float(wall_seconds), 6),
        "compile_seconds": round(float(compile_seconds), 6),
        **extra,
    }
