"""Atomic file writes: the one rule every writer of the package follows.

A file appears under its real name complete or not at all. :func:`atomic_write` opens a
temporary file in the target's folder (same file system, so the rename is atomic) under a unique
name (``.<name>.<random>.tmp``: two writers of one target never share a temporary), hands it to
the caller, then flushes, fsyncs, gives it the permissions of an ordinary new file, renames it
onto the target and fsyncs the folder so that the rename itself survives a power cut. Any failure,
including ``KeyboardInterrupt``, removes the temporary and leaves the target as it was.

Permission policy (one for the whole package): a written file gets ``0o666`` less the process's
umask, as ``open(path, "w")`` would give it. The umask is read from ``/proc/self/status`` where
the kernel reports it, never by setting it (``os.umask`` changes it for every thread of the
process); where it cannot be read the usual ``0o022`` is assumed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_mode",
    "fsync_dir",
    "remove_stale_temporaries",
]

#: Every temporary file the package writes ends with this (and starts with a dot).
TEMP_SUFFIX = ".tmp"
_DEFAULT_UMASK = 0o022


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _DEFAULT_UMASK


def file_mode() -> int:
    """The permission bits of a file written by the package: ``0o666`` less the umask."""
    return 0o666 & ~_umask()


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Write ``path`` atomically: yields an open temporary file, published on a clean exit.

    Parameters
    ----------
    path : str or os.PathLike
        The target. Its folder must exist (creating folders is the caller's decision).
    mode : {"wb", "w"}
        Binary or text (UTF-8).

    Yields
    ------
    file object
        The temporary file, open for writing. Its name (``f.name``) may be handed to a library
        that writes by path (pyarrow, matplotlib) as long as the caller does not close ``f``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, mode, encoding="utf-8" if mode == "w" else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); returns the path."""
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`); returns the path."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def remove_stale_temporaries(
    folder: str | os.PathLike[str], older_than: float, suffixes: tuple[str, ...] = (TEMP_SUFFIX,)
) -> int:
    """Remove hidden temporary files under ``folder`` older than ``older_than`` seconds (left by killed writers).

    Returns the number removed. Younger ones may belong to a writer still running and are kept.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    now = time.time()
    n = 0
    for p in root.rglob(".*"):
        if p.name.endswith(suffixes):
            with contextlib.suppress(OSError):
                if p.is_file() and now - p.stat().st_mtime > older_than:
                    p.unlink()
                    n += 1
    return n
