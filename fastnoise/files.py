"""Atomic file writes: the one rule every writer of the package follows.

A file appears under its real name complete or not at all. :func:`atomic_write` opens a
temporary file in the target's folder (same file system, so the rename is atomic) under a unique
name (``.<name>.<random>.tmp``: two writers of one target never share a temporary), hands it to
the caller, then flushes, fsyncs, gives it the permissions of an ordinary new file, renames it
onto the target and fsyncs the folder so that the rename itself survives a power cut. Any failure,
including ``KeyboardInterrupt``, removes the temporary and leaves the target as it was.

Permission policy (one for the whole package): the temporary is created with mode ``0o666``, so
the kernel applies the process's umask and the folder's default ACLs exactly as for any newly
created file; nothing is chmod-ed afterwards and the umask is never read or set (``os.umask``
changes it for every thread of the process). Replacing a file gives the new file these
permissions, not the old file's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "remove_stale_temporaries",
]

#: Every temporary file the package writes ends with this (and starts with a dot).
TEMP_SUFFIX = ".tmp"


def _create_temporary(folder: Path, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.tmp`` in ``folder``, created exclusively with mode 0o666 (less the umask)."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name} in {folder}")


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
        The temporary file, open for writing; write through it (pyarrow and matplotlib accept
        file objects). Closing it inside the block is an error.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    fd, tmp = _create_temporary(target.parent, target.name)
    try:
        with os.fdopen(fd, mode, encoding="utf-8" if mode == "w" else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
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
    folder: str | os.PathLike[str],
    older_than: float,
    suffixes: tuple[str, ...] = (TEMP_SUFFIX,),
    prefix: str = ".",
    recursive: bool = True,
) -> int:
    """Remove hidden temporary files under ``folder`` older than ``older_than`` seconds (left by killed writers).

    Returns the number removed. Younger ones may belong to a writer still running and are kept.
    With ``prefix`` (e.g. ``".out.parquet."``) only the temporaries of that one target are considered.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    now = time.time()
    n = 0
    for p in root.rglob(".*") if recursive else root.glob(".*"):
        if p.name.startswith(prefix) and p.name.endswith(suffixes):
            with contextlib.suppress(OSError):
                if p.is_file() and now - p.stat().st_mtime > older_than:
                    p.unlink()
                    n += 1
    return n
