"""The fragment store: a sweep folder on disk, its fragments, failure records and status.

Layout of a sweep folder (readers of the dataset skip every ``.``- and ``_``-prefixed name)::

    <folder>/[key=value/...]cell-<hash>.parquet   one fragment per finished cell
    <folder>/[key=value/...].cell-<hash>.parquet.sha256   its checksum (sha256sum format)
    <folder>/.cell-<hash>.lock                    held (flock) by the driver computing the cell
    <folder>/_failed/<hash>.json                  a failed cell: configuration, error, traceback
    <folder>/_sweep.json, _sweep.toml             provenance and the effective spec (see orchestrate)
    <folder>/**/.<name>.<random>.tmp              a file being written (fastnoise.files.atomic_write)

Every file is written through :mod:`fastnoise.files`: a temporary under a name unique to the
writer, fsynced, renamed, the folder fsynced. Temporaries of killed writers (and the ``.staged``
ones of earlier versions) are removed once they are old enough.

A fragment counts as done only when it is this cell's (:func:`fragment_state`), was computed by
the code and schema the driver has now (its ``fastnoise.code`` stamp and schema version; else
*stale*), and its bytes match its checksum (else *damaged*). A write that fails (disk full,
read-only folder) raises :class:`SweepWriteError`, one line naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..files import TEMP_SUFFIX, atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from ..io import results_table
from ..provenance import code_stamp
from ..schema import SCHEMA_VERSION, param_column
from .errors import SweepError
from .spec import _FIELDS, Cell, SweepSpec, _fastnoise_version

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    from .executors import CellResult

__all__ = [
    "CHECKSUM_SUFFIX",
    "FAILED_DIR",
    "FRAGMENT_STATES",
    "LOCK_SUFFIX",
    "PROVENANCE_COLUMNS",
    "SWEEP_JSON",
    "SWEEP_TOML",
    "SweepStatus",
    "SweepWriteError",
    "checksum_path",
    "fragment_state",
    "fragment_valid",
    "lock_path",
    "sweep_status",
]

SWEEP_JSON = "_sweep.json"
SWEEP_TOML = "_sweep.toml"
FAILED_DIR = "_failed"
#: Provenance columns added to every fragment (after the run's own columns).
PROVENANCE_COLUMNS = ("sweep", "cell", "fastnoise_version", "numba_version", "numpy_version", "python_version")
_STALE_TEMP_SECONDS = 600.0
#: Temporaries a sweep folder may hold: fastnoise.files' (``.<name>.<random>.tmp``), writability probes
#: (``.probe``), and the ``.<fragment>.staged`` files of fastnoise versions that staged fragments by name.
_TEMP_SUFFIXES = (TEMP_SUFFIX, ".probe", ".staged")
#: A fragment's checksum sits beside it in ``.<fragment name>.sha256``; a cell's lock is ``.cell-<hash>.lock``.
CHECKSUM_SUFFIX = ".sha256"
LOCK_SUFFIX = ".lock"
#: What :func:`fragment_state` says of a cell's fragment.
FRAGMENT_STATES = ("done", "stale", "damaged", "invalid", "missing")


class SweepWriteError(SweepError):
    """A file of the sweep folder could not be written (disk full, read-only folder, ...): the sweep stops.

    Attributes
    ----------
    path : Path
        The file (or folder) that could not be written.
    reason : str
        The system's reason, e.g. ``No space left on device``.
    errno : int or None
        The ``OSError``'s errno.
    """

    def __init__(self, message: str, path: Path, reason: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.errno = errno


def _write_error(path: Path, exc: OSError, what: str = "write") -> SweepWriteError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SweepWriteError(f"cannot {what} {path}: {reason}", path, reason, exc.errno)


@contextlib.contextmanager
def _writing(path: Path, what: str = "write") -> Iterator[None]:
    """Turn an ``OSError`` of the block into a :class:`SweepWriteError` naming ``path`` and the reason."""
    try:
        yield
    except OSError as exc:
        raise _write_error(path, exc, what) from None


def checksum_path(fragment: str | os.PathLike[str]) -> Path:
    """The checksum file of a fragment: ``.<name>.sha256`` beside it (hidden: dataset readers skip it)."""
    p = Path(fragment)
    return p.with_name(f".{p.name}{CHECKSUM_SUFFIX}")


def lock_path(folder: str | os.PathLike[str], cell_hash: str) -> Path:
    """The lock file of a cell: ``<folder>/.cell-<hash>.lock`` (hidden: dataset readers skip it)."""
    return Path(folder) / f".cell-{cell_hash}{LOCK_SUFFIX}"


def _current_kernels() -> str:
    """The kernel hash of the code in this process (the driver's): fragments of other code are stale."""
    return str(code_stamp()["kernels"])


def fragment_state(path: str | os.PathLike[str], expected_hash: str) -> str:
    """Where the fragment at ``path`` of cell ``expected_hash`` stands: one of :data:`FRAGMENT_STATES`.

    Returns
    -------
    str
        ``"missing"``: no file. ``"invalid"``: not a fragment of this cell (no Parquet footer,
        no fastnoise metadata, another cell's id). ``"stale"``: computed by other code (its
        ``fastnoise.code`` kernel hash is not this process's :func:`~fastnoise.provenance.code_stamp`,
        or it has none: older fastnoise) or written with another table schema
        (``fastnoise.schema_version``). ``"damaged"``: its bytes do not match its checksum file, or
        that file is missing. ``"done"``: none of these. Every state but done is recomputed by a rerun.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "invalid"
    try:
        meta = pq.read_metadata(pa.BufferReader(data)).metadata or {}
        if b"fastnoise.config" not in meta or json.loads(meta.get(b"fastnoise.cell", b"null")) != expected_hash:
            return "invalid"
        code = json.loads(meta.get(b"fastnoise.code", b"null"))
    except (OSError, ValueError, TypeError):  # ArrowInvalid is a ValueError; JSON errors too
        return "invalid"
    schema = meta.get(b"fastnoise.schema_version", b"").decode(errors="replace").strip()
    if not isinstance(code, dict) or code.get("kernels") != _current_kernels() or schema != str(SCHEMA_VERSION):
        return "stale"
    try:
        recorded = checksum_path(p).read_text(encoding="ascii").split()[0]
    except (OSError, ValueError, IndexError):  # missing, unreadable, not ASCII (UnicodeDecodeError), empty
        return "damaged"
    return "done" if recorded == hashlib.sha256(data).hexdigest() else "damaged"


def fragment_valid(path: str | os.PathLike[str], expected_hash: str) -> bool:
    """Whether ``path`` is a finished fragment of cell ``expected_hash``: :func:`fragment_state` is ``"done"``.

    That is: it reads as Parquet, carries the fastnoise metadata with this cell id, was computed
    by the code and schema of this process, and matches its checksum.
    """
    return fragment_state(path, expected_hash) == "done"


@dataclass
class SweepStatus:
    """Where each cell of a spec stands in its folder.

    Attributes
    ----------
    done : list of Cell
        A valid fragment exists (:func:`fragment_state` ``"done"``).
    failed : list of (Cell, dict)
        No valid fragment, and a failure record (``_failed/<hash>.json``, read as a dict).
    invalid : list of Cell
        A fragment file exists but is not this cell's (truncated, foreign, wrong id); it will be rerun.
    stale : list of Cell
        A fragment of other code or another schema; it will be recomputed in place.
    damaged : list of Cell
        A fragment whose bytes do not match its checksum (or without one); it will be recomputed.
    missing : list of Cell
        Nothing yet.
    other_fragments : int
        Fragments in the folder that are not cells of this spec (e.g. from an earlier spec).
    """

    folder: Path
    cells: list[Cell]
    done: list[Cell] = field(default_factory=list)
    failed: list[tuple[Cell, dict[str, Any]]] = field(default_factory=list)
    invalid: list[Cell] = field(default_factory=list)
    missing: list[Cell] = field(default_factory=list)
    other_fragments: int = 0
    stale: list[Cell] = field(default_factory=list)
    damaged: list[Cell] = field(default_factory=list)


def sweep_status(spec: SweepSpec, out: str | os.PathLike[str] | None = None, *, cells: list[Cell] | None = None) -> SweepStatus:
    """Count the spec's cells that are done, failed, invalid, stale, damaged and missing in its folder.

    Every fragment is read in full and checked against its checksum (:func:`fragment_state`).

    Raises
    ------
    SpecError
        The spec is invalid.
    """
    cells = spec.cells() if cells is None else cells
    folder = spec.folder(out)
    st = SweepStatus(folder, cells)
    lists = {"stale": st.stale, "damaged": st.damaged, "invalid": st.invalid, "missing": st.missing}
    for cell in cells:
        state = fragment_state(folder / cell.relpath, cell.hash)
        if state == "done":
            st.done.append(cell)
            continue
        record = _read_failure(folder, cell.hash)
        if record is not None:
            st.failed.append((cell, record))
        else:
            lists[state].append(cell)
    if folder.is_dir():
        ours = {c.relpath for c in cells}
        st.other_fragments = sum(1 for p in _fragment_files(folder) if p.relative_to(folder).as_posix() not in ours)
    return st


def _fragment_files(folder: Path) -> Iterator[Path]:
    """Files a dataset reader would read: ``*.parquet`` not under a ``.``- or ``_``-prefixed name."""
    for p in folder.rglob("*.parquet"):
        rel = p.relative_to(folder).parts
        if not any(part.startswith((".", "_")) for part in rel):
            yield p


def _read_failure(folder: Path, h: str) -> dict[str, Any] | None:
    path = folder / FAILED_DIR / f"{h}.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"error": f"unreadable failure record {path}"}


def _check_folder(spec: SweepSpec, folder: Path) -> dict[str, Any] | None:
    """Refuse a folder that is a file, belongs to another sweep or another layout, or is not writable."""
    if folder.exists() and not folder.is_dir():
        raise SweepError(f"--out {folder} is a file, not a folder")
    previous = None
    if folder.is_dir():
        meta = folder / SWEEP_JSON
        # List first, then look for the sweep file: a driver writes _sweep.json before anything else
        # and never removes it, so if the listing found any file, _sweep.json exists by now. The other
        # order lost a race: no _sweep.json yet, then the listing found the one just written.
        others = any(not p.name.startswith(".") for p in folder.iterdir())
        if meta.exists():
            try:
                previous = json.loads(meta.read_text())
                prev_name = previous["name"]
                prev_part = tuple(previous.get("spec", {}).get("partition_by", ()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SweepError(f"--out {folder} has an unreadable {SWEEP_JSON} ({exc}); fix or remove it") from None
            if prev_name != spec.name:
                raise SweepError(
                    f"--out {folder} holds sweep {prev_name!r}, not {spec.name!r}; use another --out or the same name"
                )
            if prev_part != tuple(spec.partition_by):
                raise SweepError(
                    f"--out {folder} is partitioned by {list(prev_part)}, the spec by {list(spec.partition_by)}; "
                    "use another --out"
                )
        elif others:
            raise SweepError(f"--out {folder} is not empty and is not a sweep folder (no {SWEEP_JSON}); use another --out")
    probe_dir = folder if folder.is_dir() else _existing_parent(folder)
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".fastnoise-", suffix=".probe")
    except OSError as exc:
        raise SweepError(f"--out {folder} is not writable: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return previous


def _existing_parent(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if parent.is_dir():
            return parent
    return Path(".")


def _remove_stale_temporaries(folder: Path, older_than: float = _STALE_TEMP_SECONDS) -> int:
    """Remove temporary files (hidden, ``.tmp`` / ``.probe`` / ``.staged``) left by killed runs, if older than ``older_than`` s.

    Younger ones may belong to another driver writing into the same folder and are kept.
    """
    return remove_stale_temporaries(folder, older_than, _TEMP_SUFFIXES)


# --------------------------------------------------------------------------- writing fragments and failure records


def _with_provenance(table: pd.DataFrame, spec: SweepSpec, cell: Cell, vers: Mapping[str, str]) -> pd.DataFrame:
    """The cell's table plus every parameter not already a column, and the provenance columns."""
    df = table.copy()
    keep: dict[str, Any] = {str(k): table.attrs[k] for k in ("configs", "regimes") if k in table.attrs}
    df.attrs = {}  # pandas deep-copies attrs on every column operation: set them once, at the end
    n = len(df)
    cfg = cell.config
    for name in _FIELDS:
        if name not in df.columns:
            df[name] = param_column(name, getattr(cfg, name), n)  # tables of older schemas lack some
    prov = {
        "sweep": spec.name,
        "cell": cell.hash,
        "fastnoise_version": vers.get("fastnoise", ""),
        "numba_version": vers.get("numba", ""),
        "numpy_version": vers.get("numpy", ""),
        "python_version": vers.get("python", ""),
    }
    for name in PROVENANCE_COLUMNS:
        df[name] = np.full(n, prov[name], dtype=object)
    if spec.partition_by:
        df = df.drop(columns=list(spec.partition_by))
    attrs: dict[Any, Any] = {"config": cfg.to_dict(), **keep}
    df.attrs = attrs
    return df


def _write_fragment(spec: SweepSpec, folder: Path, cell: Cell, res: CellResult, kind: str) -> Path:
    """Write the cell's fragment and its checksum durably, and drop any failure record.

    The Parquet bytes (with page checksums) are built in memory and hashed. The checksum file is
    published first, then the fragment, each by :func:`fastnoise.files.atomic_write_bytes` (hidden
    temporary unique to this writer, fsync, rename): so every fragment a reader can see has its
    checksum beside it. A crash between the two leaves a checksum without a fragment (the cell is
    missing) or, replacing a fragment, the old one with the new checksum (damaged): the cell is
    rerun, never counted done. A fragment that cannot be written takes its new checksum with it.

    Raises
    ------
    SweepWriteError
        A file or folder could not be written (the message names it and the reason).
    """
    assert res.table is not None
    final = folder / cell.relpath
    with _writing(final.parent, "create folder"):
        final.parent.mkdir(parents=True, exist_ok=True)
    df = _with_provenance(res.table, spec, cell, res.versions)
    extra = {
        "sweep": spec.name,
        "cell": cell.hash,
        "cell_params": cell.params,
        "code": res.code,  # the stamp of the code that computed it (the worker's)
        "run": {
            "seconds": round(res.seconds, 6),
            "compile_seconds": round(res.compile_seconds, 6),
            "resumed_from_step": res.resumed_from_step,
            "command": list(sys.argv),
            "worker": res.worker,
            "executor": kind,
            "numba_threads": res.numba_threads,
            "numba_num_threads": res.numba_num_threads,
            "worker_versions": res.versions,
            "written": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    }
    sink = pa.BufferOutputStream()
    pq.write_table(results_table(df, extra), sink, write_page_checksum=True)
    data = sink.getvalue().to_pybytes()
    side = checksum_path(final)
    with _writing(side):
        atomic_write_text(side, f"{hashlib.sha256(data).hexdigest()}  {final.name}\n")  # sha256sum's format
    try:
        with _writing(final):
            atomic_write_bytes(final, data)
    except BaseException:  # an interruption can come after the rename: then the fragment is out, keep its checksum
        if not _holds(final, data):
            with contextlib.suppress(OSError):
                side.unlink()
        raise
    with contextlib.suppress(OSError):  # a record left behind is harmless: a done fragment wins (sweep_status)
        (folder / FAILED_DIR / f"{cell.hash}.json").unlink()
    return final


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at ``path`` has exactly these bytes (False if it cannot be read)."""
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _record_failure(spec: SweepSpec, folder: Path, cell: Cell, res: CellResult, kind: str) -> None:
    """Write ``_failed/<hash>.json``: the cell's configuration, the error and its traceback, where it ran.

    Raises
    ------
    SweepWriteError
        The record could not be written.
    """
    record = {
        "sweep": spec.name,
        "cell": cell.hash,
        "params": cell.params,
        "config": cell.config.to_dict(),
        "error": res.error,
        "traceback": res.traceback,
        "worker": res.worker,
        "executor": kind,
        "fastnoise_version": _fastnoise_version(),
        "code": res.code,
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    path = folder / FAILED_DIR / f"{cell.hash}.json"
    with _writing(path.parent, "create folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    with _writing(path):
        atomic_write_text(path, json.dumps(record, indent=1) + "\n")


# --------------------------------------------------------------------------- cell locks


def _try_lock(folder: Path, cell_hash: str) -> int | None:
    """Take the cell's lock, ``flock(LOCK_EX | LOCK_NB)`` on ``.cell-<hash>.lock``: its open fd, or None if another holds it.

    The lock lasts while the fd is open, and ends when the process dies. Its holder removes the
    file before closing (:func:`_unlock`); a driver that opened the file just before that finds,
    once it has the lock, that the name no longer leads to its file, and tries again. Where there
    is no ``flock`` (Windows) nothing is locked and -1 is returned.

    Raises
    ------
    SweepWriteError
        The lock file cannot be created or locked (read-only folder, no locks on this file system).
    """
    if sys.platform == "win32":
        return -1
    path = lock_path(folder, cell_hash)
    while True:
        with _writing(path, "create lock file"):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # empty, never written: only its lock counts
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another driver computes this cell
            os.close(fd)
            return None
        except OSError as exc:
            os.close(fd)
            raise _write_error(path, exc, "lock") from None
        try:
            now, mine = os.stat(path), os.fstat(fd)
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # released and removed by its holder meanwhile: lock the file now under that name


def _unlock(folder: Path, cell_hash: str, fd: int) -> None:
    """Release a lock of :func:`_try_lock`: remove its file while still holding it, then close it."""
    if fd < 0:
        return
    with contextlib.suppress(OSError):
        lock_path(folder, cell_hash).unlink()
    os.close(fd)
