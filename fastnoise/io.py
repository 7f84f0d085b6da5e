"""Parquet output: atomic writes with the run's provenance, and reading back."""

from __future__ import annotations

import functools
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .config import RunConfig
from .files import atomic_write
from .schema import SCHEMA_VERSION

__all__ = ["check_writable", "read_results", "results_table", "versions", "write_parquet", "write_results"]

_KEY_CONFIG = b"fastnoise.config"
_KEY_VERSIONS = b"fastnoise.versions"
_KEY_SCHEMA = b"fastnoise.schema_version"
_KEY_SEED = b"fastnoise.seed"


class ResultsFileError(ValueError):
    """A results file that cannot be read as a fastnoise table."""


def versions() -> dict[str, str]:
    """Versions of fastnoise, its dependencies and Python."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    out = [("python", platform.python_version())]
    for name in ("fastnoise", "numba", "llvmlite", "numpy", "pandas", "pyarrow"):
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "unknown"))
    return tuple(out)


def check_writable(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Fail early (before any work) if ``path`` cannot be written.

    Raises
    ------
    FileExistsError
        The file exists and ``overwrite`` is false.
    PermissionError, OSError
        The folder cannot be created or written.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a file path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise PermissionError(f"{path} is not writable: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return path


def results_table(df: pd.DataFrame, extra: Mapping[str, Any] | None = None) -> pa.Table:
    """A run's table as Arrow, with the provenance every results file carries in its metadata.

    That is the configuration (``df.attrs["config"]``), the versions, the schema version and the
    seed; plus one ``fastnoise.<key>`` entry (JSON) per item of ``extra``. Used by
    :func:`write_results` and by the sweep's fragments, so both read back alike.
    """
    plain = df.copy(deep=False)
    plain.attrs = {}  # pandas deep-copies attrs on every column access
    table = pa.Table.from_pandas(plain, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    config = df.attrs.get("config", {})
    meta[_KEY_CONFIG] = json.dumps(config, sort_keys=True).encode()
    meta[_KEY_VERSIONS] = json.dumps(versions(), sort_keys=True).encode()
    meta[_KEY_SCHEMA] = str(SCHEMA_VERSION).encode()
    meta[_KEY_SEED] = str(config.get("seed", "")).encode()
    for key, value in (extra or {}).items():
        meta[f"fastnoise.{key}".encode()] = json.dumps(value, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write an Arrow table to ``path`` durably (:func:`fastnoise.files.atomic_write`)."""
    with atomic_write(path) as f:
        pq.write_table(table, f)
    return Path(path)


def write_results(
    df: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False, extra: dict[str, Any] | None = None
) -> Path:
    """Write a run's table to Parquet atomically (temporary file, fsync, rename; see :mod:`fastnoise.files`).

    The file's key-value metadata holds the configuration (``df.attrs["config"]``), the versions,
    the schema version and the seed (:func:`results_table`). An interrupted write leaves no file
    under ``path``.
    """
    path = check_writable(path, overwrite)
    return write_parquet(results_table(df, extra), path)


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_results`.

    Returns
    -------
    pandas.DataFrame
        The rows; ``attrs["config"]`` (a dict, see :meth:`RunConfig.from_dict`),
        ``attrs["versions"]`` and ``attrs["schema_version"]`` hold the metadata.

    Raises
    ------
    ResultsFileError
        The file is missing, not Parquet, or has no fastnoise metadata.
    """
    path = Path(path)
    if not path.exists():
        raise ResultsFileError(f"cannot read {path}: no such file")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsFileError(f"cannot read {path} as Parquet: {reason}") from None
    meta = table.schema.metadata or {}
    if _KEY_CONFIG not in meta:
        raise ResultsFileError(f"{path} is Parquet but not a fastnoise table (no {_KEY_CONFIG.decode()} metadata)")
    df = table.to_pandas()
    try:
        df.attrs["config"] = json.loads(meta[_KEY_CONFIG])
        df.attrs["versions"] = json.loads(meta.get(_KEY_VERSIONS, b"{}"))
        df.attrs["schema_version"] = int(meta.get(_KEY_SCHEMA, b"0"))
        for key, value in meta.items():
            k = key.decode(errors="replace")
            if k.startswith("fastnoise.") and key not in (_KEY_CONFIG, _KEY_VERSIONS, _KEY_SCHEMA, _KEY_SEED):
                df.attrs[k.removeprefix("fastnoise.")] = json.loads(value)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ResultsFileError(f"{path} has malformed fastnoise metadata: {exc}") from None
    if not isinstance(df.attrs["config"], dict):
        raise ResultsFileError(f"{path} has malformed fastnoise metadata: the configuration is not a mapping")
    return df


def read_config(path: str | os.PathLike[str]) -> RunConfig:
    """The :class:`RunConfig` stored in a results file."""
    return RunConfig.from_dict(read_results(path).attrs["config"])
