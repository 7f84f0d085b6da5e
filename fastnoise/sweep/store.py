"""The fragment store: a sweep folder on disk, its fragments, failure records and status.

Layout of a sweep folder (readers of the dataset skip every ``.``- and ``_``-prefixed name)::

    <folder>/[key=value/...]cell-<hash>.parquet   one fragment per finished cell
    <folder>/_failed/<hash>.json                  a failed cell: configuration, error, traceback
    <folder>/_sweep.json, _sweep.toml             provenance and the effective spec (see orchestrate)
    <folder>/**/.<name>.<random>.tmp              a file being written (fastnoise.files.atomic_write)

Every file is written through :mod:`fastnoise.files`: a temporary under a name unique to the
writer, fsynced, renamed, the folder fsynced. Two drivers on one folder therefore never share a
temporary; the last rename of a fragment wins, with the same content. Temporaries of killed
writers (and the ``.staged`` ones of earlier versions) are removed once they are old enough.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..files import TEMP_SUFFIX, atomic_write_text, remove_stale_temporaries
from ..io import results_table, write_parquet
from .errors import SweepError
from .spec import _FIELDS, Cell, SweepSpec, _fastnoise_version

if TYPE_CHECKING:
    from .executors import CellResult

__all__ = [
    "FAILED_DIR",
    "PROVENANCE_COLUMNS",
    "SWEEP_JSON",
    "SWEEP_TOML",
    "SweepStatus",
    "fragment_valid",
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


def fragment_valid(path: str | os.PathLike[str], expected_hash: str) -> bool:
    """Whether ``path`` is a finished fragment of cell ``expected_hash``.

    Valid means: it reads as Parquet (footer and magic bytes intact), carries the fastnoise
    configuration metadata, and its stored cell id equals ``expected_hash``.
    """
    try:
        meta = pq.read_metadata(path).metadata or {}
        if b"fastnoise.config" not in meta:
            return False
        return json.loads(meta.get(b"fastnoise.cell", b"null")) == expected_hash
    except (OSError, ValueError, TypeError):  # ArrowInvalid is a ValueError; JSON errors too
        return False


@dataclass
class SweepStatus:
    """Where each cell of a spec stands in its folder.

    Attributes
    ----------
    done : list of Cell
        A valid fragment exists.
    failed : list of (Cell, dict)
        No valid fragment, and a failure record (``_failed/<hash>.json``, read as a dict).
    invalid : list of Cell
        A fragment file exists but is not valid (truncated, foreign, wrong id); it will be rerun.
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


def sweep_status(spec: SweepSpec, out: str | os.PathLike[str] | None = None, *, cells: list[Cell] | None = None) -> SweepStatus:
    """Count the spec's cells that are done, failed, invalid and missing in its folder.

    Raises
    ------
    SpecError
        The spec is invalid.
    """
    cells = spec.cells() if cells is None else cells
    folder = spec.folder(out)
    st = SweepStatus(folder, cells)
    for cell in cells:
        path = folder / cell.relpath
        if path.exists() and fragment_valid(path, cell.hash):
            st.done.append(cell)
            continue
        record = _read_failure(folder, cell.hash)
        if record is not None:
            st.failed.append((cell, record))
        elif path.exists():
            st.invalid.append(cell)
        else:
            st.missing.append(cell)
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
        elif any(not p.name.startswith(".") for p in folder.iterdir()):
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


def _param_column(name: str, value: Any, n: int) -> Any:
    """A constant column for a parameter, typed by the field's annotation (never by the value).

    So every fragment of a dataset has the same Arrow type for it, even where the value is None.
    """
    kind = str(_FIELDS[name].type).replace(" ", "")
    if kind == "bool":
        return np.full(n, bool(value))
    if kind == "int":
        return np.full(n, value, dtype=np.int64)
    if kind == "int|None":
        return pd.array([value] * n, dtype="Int64")
    if kind in ("float", "float|None"):
        return np.full(n, np.nan if value is None else float(value))
    if kind == "str":
        return np.full(n, value, dtype=object)
    # str | None and anything else: a nullable string column (JSON for non-strings)
    text = value if (value is None or isinstance(value, str)) else json.dumps(value, sort_keys=True)
    return pd.array([text] * n, dtype=pd.StringDtype())


def _with_provenance(table: pd.DataFrame, spec: SweepSpec, cell: Cell, vers: Mapping[str, str]) -> pd.DataFrame:
    """The cell's table plus every parameter not already a column, and the provenance columns."""
    df = table.copy()
    df.attrs = {}  # pandas deep-copies attrs on every column operation: set them once, at the end
    n = len(df)
    cfg = cell.config
    for name in _FIELDS:
        if name not in df.columns:
            df[name] = _param_column(name, getattr(cfg, name), n)
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
    df.attrs = {"config": cfg.to_dict()}
    return df


def _write_fragment(spec: SweepSpec, folder: Path, cell: Cell, res: CellResult, kind: str) -> Path:
    """Write the cell's fragment durably (:func:`fastnoise.files.atomic_write`) and drop any failure record.

    Parquet goes into a temporary under a name unique to this writer (hidden, not ending in
    ``.parquet``), which is fsynced and only then renamed onto ``cell-<hash>.parquet``. Two drivers
    writing the same cell each publish their own complete file; the last rename wins.
    """
    assert res.table is not None
    final = folder / cell.relpath
    final.parent.mkdir(parents=True, exist_ok=True)
    df = _with_provenance(res.table, spec, cell, res.versions)
    extra = {
        "sweep": spec.name,
        "cell": cell.hash,
        "cell_params": cell.params,
        "run": {
            "seconds": round(res.seconds, 6),
            "worker": res.worker,
            "executor": kind,
            "numba_threads": res.numba_threads,
            "numba_num_threads": res.numba_num_threads,
            "worker_versions": res.versions,
            "written": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    }
    write_parquet(results_table(df, extra), final)
    with contextlib.suppress(FileNotFoundError):
        (folder / FAILED_DIR / f"{cell.hash}.json").unlink()
    return final


def _record_failure(spec: SweepSpec, folder: Path, cell: Cell, res: CellResult, kind: str) -> None:
    """Write ``_failed/<hash>.json``: the cell's configuration, the error and its traceback, where it ran."""
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
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    (folder / FAILED_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / FAILED_DIR / f"{cell.hash}.json", json.dumps(record, indent=1) + "\n")
