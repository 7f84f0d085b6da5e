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

__all__ = [
    "check_writable",
    "concat_results",
    "read_config",
    "read_configs",
    "read_results",
    "results_table",
    "versions",
    "write_parquet",
    "write_results",
]

_KEY_CONFIG = b"fastnoise.config"
_KEY_CONFIGS = b"fastnoise.configs"
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

    That is every configuration the rows hold (``df.attrs["configs"]``: config id -> configuration;
    see :func:`concat_results`), the configuration itself when there is one
    (``df.attrs["config"]``, else null), the versions, the schema version and the seed; plus one
    ``fastnoise.<key>`` entry (JSON) per item of ``extra``. Used by :func:`write_results` and by
    the sweep's fragments, so both read back alike.
    """
    plain = df.copy(deep=False)
    plain.attrs = {}  # pandas deep-copies attrs on every column access
    table = pa.Table.from_pandas(plain, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    config = df.attrs.get("config", {})
    configs = df.attrs.get("configs")
    if configs is not None:
        if "config_id" in df.columns and set(df["config_id"].unique()) != set(configs):
            raise ValueError("the table's config_id column and its attrs['configs'] disagree (concatenate with concat_results)")
        meta[_KEY_CONFIGS] = json.dumps(configs, sort_keys=True).encode()
        if len(configs) != 1:
            config = None
    meta[_KEY_CONFIG] = json.dumps(config, sort_keys=True).encode()
    meta[_KEY_VERSIONS] = json.dumps(versions(), sort_keys=True).encode()
    meta[_KEY_SCHEMA] = str(SCHEMA_VERSION).encode()
    meta[_KEY_SEED] = str((config or {}).get("seed", "")).encode()
    if df.attrs.get("regimes"):  # per config id: the applied flip rate and samples per step
        meta[b"fastnoise.regimes"] = json.dumps(df.attrs["regimes"], sort_keys=True).encode()
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

    The file's key-value metadata holds the configurations (``df.attrs["configs"]``,
    ``df.attrs["config"]``), the versions, the schema version and the seed (:func:`results_table`).
    An interrupted write leaves no file under ``path``.
    """
    path = check_writable(path, overwrite)
    return write_parquet(results_table(df, extra), path)


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_results`.

    Returns
    -------
    pandas.DataFrame
        The rows; ``attrs["configs"]`` (config id -> configuration, for tables of schema 3),
        ``attrs["config"]`` (the configuration as a dict, see :meth:`fastnoise.RunConfig.from_dict`; None
        when the table holds several), ``attrs["versions"]`` and ``attrs["schema_version"]``
        hold the metadata.

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
    configs = df.attrs.get("configs")
    if configs is not None and not (isinstance(configs, dict) and all(isinstance(c, dict) for c in configs.values())):
        raise ResultsFileError(f"{path} has malformed fastnoise metadata: the configurations are not a mapping of mappings")
    if not isinstance(df.attrs["config"], dict) and not (df.attrs["config"] is None and configs):
        raise ResultsFileError(f"{path} has malformed fastnoise metadata: the configuration is not a mapping")
    return df


def read_configs(path: str | os.PathLike[str]) -> dict[str, RunConfig]:
    """Every configuration a results file holds, by config id (the ``config_id`` column).

    Tables written before schema 3 hold one configuration, returned under the id ``""``; a table
    that is not of runs (a check's summary) holds none.
    """
    attrs = read_results(path).attrs
    configs = attrs.get("configs") or ({"": attrs["config"]} if attrs["config"] else {})
    return {cid: RunConfig.from_dict(c) for cid, c in configs.items()}


def read_config(path: str | os.PathLike[str]) -> RunConfig:
    """The :class:`~fastnoise.RunConfig` of a results file of one run.

    Raises
    ------
    ResultsFileError
        The file holds several configurations (use :func:`read_configs` and the ``config_id`` column).
    """
    configs = read_configs(path)
    if len(configs) != 1:
        raise ResultsFileError(
            f"{path} holds {len(configs)} configurations; use read_configs() and the config_id column to tell its rows apart"
        )
    return next(iter(configs.values()))


def concat_results(frames: list[pd.DataFrame], **columns: list[Any]) -> pd.DataFrame:
    """Concatenate run tables into one, keeping every run's configuration.

    Parameters
    ----------
    frames : list of DataFrame
        Tables of :func:`fastnoise.simulate` (or read back), each with ``attrs["configs"]``.
    **columns
        Extra constant columns, one value per frame (``setting=["a", "b"]``).

    Returns
    -------
    DataFrame
        The rows in order; ``attrs["configs"]`` maps every config id in the ``config_id`` column to
        its configuration, ``attrs["config"]`` is the configuration when all rows share one.
    """
    configs: dict[str, Any] = {}
    regimes: dict[str, Any] = {}
    parts = []
    for i, f in enumerate(frames):
        configs.update(f.attrs.get("configs") or {})
        regimes.update(f.attrs.get("regimes") or {})
        extra = {name: values[i] for name, values in columns.items()}
        part = f.assign(**extra) if extra else f.copy(deep=False)
        part.attrs = {}
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if "config_id" in out.columns:
        configs = {cid: configs[cid] for cid in dict.fromkeys(out["config_id"])}
    out.attrs = {"configs": configs, "config": next(iter(configs.values())) if len(configs) == 1 else None}
    if regimes:
        out.attrs["regimes"] = {cid: regimes[cid] for cid in configs if cid in regimes}
    return out
