"""Sweeps: the cartesian product of parameters over a base configuration, one Parquet fragment per cell.

A sweep is described by a :class:`SweepSpec` (usually a TOML file, see ``docs/sweep.md``)::

    name = "demo"
    [base]
    model = "twolayer"
    steps = 100_000
    [grid]
    lr = [1e-3, 1e-2]
    p = [0.0, 0.5, 1.0]
    seed = [0, 1]

Every cell is one :class:`~fastnoise.config.RunConfig` (base values, then the cell's grid values),
run with the engine (its replicas in parallel). Its table, with provenance columns added, is written
as ``<folder>/cell-<hash>.parquet``, where ``<hash>`` is the first 16 hex digits of the sha256 of the
canonical JSON of the cell's full configuration, the fastnoise version and the schema version.

- **Resume and dedupe.** A cell whose fragment exists and is valid (reads as Parquet, carries the
  fastnoise metadata and the same cell hash) is skipped; ``force=True`` reruns it. Changing the
  spec adds only the new cells.
- **Atomic fragments.** The driver writes each fragment under a hidden temporary name, flushes it
  to disk and renames it; temporary names start with ``.`` and never end in ``.parquet``, so
  neither ``pandas.read_parquet(folder)`` / ``pyarrow.dataset`` (which skip ``.`` and ``_`` names)
  nor a ``folder/**/*.parquet`` glob (DuckDB, polars) ever reads one. A killed sweep loses at most
  the cells in flight.
- **Executors.** :class:`InlineExecutor` (cells one after another, all cores on each cell),
  :class:`PoolExecutor` (local worker processes) and :class:`DaskExecutor` (a Dask
  ``LocalCluster`` on loopback, or an existing scheduler). Workers compute and return tables; only
  the driver writes, so workers need no shared filesystem. A cell's table does not depend on the
  executor or on the number of workers or threads.
- **Failures.** A failing cell is recorded in ``<folder>/_failed/<hash>.json`` (configuration,
  error, traceback); the other cells go on.

Beside the fragments, ``_sweep.json`` (provenance: spec, cells, versions) and ``_sweep.toml`` (the
effective spec, runnable again) describe the sweep. Their names start with ``_`` so that dataset
readers skip them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.context
import os
import re
import signal
import socket
import tempfile
import threading
import time
import tomllib
import traceback as _traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _futures_as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .config import ConfigError, RunConfig
from .io import versions, write_results
from .schema import SCHEMA_VERSION

__all__ = [
    "Cell",
    "CellEvent",
    "CellResult",
    "DaskExecutor",
    "InlineExecutor",
    "PoolExecutor",
    "SpecError",
    "SweepError",
    "SweepPlan",
    "SweepReport",
    "SweepSpec",
    "SweepStatus",
    "cell_hash",
    "compute_cell",
    "execute",
    "fragment_valid",
    "load_spec",
    "parse_grid_option",
    "parse_set_option",
    "prepare",
    "run_sweep",
    "sweep_status",
]

#: Default root of sweep folders: ``results/sweeps/<name>`` (relative to the current directory).
DEFAULT_ROOT = Path("results") / "sweeps"
#: Most cells a spec may expand to (a guard against a mistyped grid).
MAX_CELLS = 1_000_000
#: Parameters with string values: the only ones a dataset may be partitioned on.
SPEC_KEYS = ("base", "description", "grid", "name", "out", "partition_by")
HASH_CHARS = 16
SWEEP_JSON = "_sweep.json"
SWEEP_TOML = "_sweep.toml"
FAILED_DIR = "_failed"
_STALE_TEMP_SECONDS = 600.0
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig) if not f.name.startswith("_")}
_INT_FIELDS = {n for n, f in _FIELDS.items() if str(f.type).replace(" ", "") in ("int", "int|None")}
#: Parameters whose value is always a string: the only ones a dataset may be partitioned on.
STRING_PARAMS = tuple(sorted(n for n, f in _FIELDS.items() if str(f.type) == "str"))
#: Provenance columns added to every fragment (after the run's own columns).
PROVENANCE_COLUMNS = ("sweep", "cell", "fastnoise_version", "numba_version", "numpy_version", "python_version")


class SweepError(RuntimeError):
    """A sweep that cannot start: the output folder, the executor or the cluster (one line)."""


class SpecError(ValueError):
    """A bad sweep spec: unreadable file, unknown key, empty grid, a value outside its range (one line)."""


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Cell:
    """One point of the grid.

    Attributes
    ----------
    index : int
        Position in the grid's cartesian product (the order of the axes as given).
    params : dict
        The grid values of this cell (axis -> value).
    config : RunConfig
        The cell's full, validated configuration.
    hash : str
        Cell id: sha256 of the canonical JSON of ``config``, the fastnoise and schema versions (16 hex).
    relpath : str
        Fragment path inside the sweep folder (``[key=value/...]cell-<hash>.parquet``).
    """

    index: int
    params: dict[str, Any]
    config: RunConfig
    hash: str
    relpath: str

    def label(self) -> str:
        """``lr=0.01 p=0.5 seed=1``: the cell's grid values."""
        return " ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: a name, a base configuration and a grid of parameter values.

    Parameters
    ----------
    name : str
        Letters, digits, ``.``, ``_``, ``-``; not starting with ``.`` or ``_``.
    base : dict
        :class:`RunConfig` fields shared by every cell (unset fields take their defaults).
    grid : dict
        Axis name -> non-empty list of values. Cells are the cartesian product, in the axes' order.
    partition_by : tuple of str
        String parameters to partition the dataset on (``model=twolayer/`` folders); default none.
    out : str, optional
        Output folder; default ``results/sweeps/<name>``.
    description : str
        Free text, kept in ``_sweep.json``.
    source : str
        Where the spec came from (a file name, or ``command line``), for error messages.
    """

    name: str
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    partition_by: tuple[str, ...] = ()
    out: str | None = None
    description: str = ""
    source: str = "spec"

    def folder(self, out: str | os.PathLike[str] | None = None) -> Path:
        """The dataset folder: ``out``, else the spec's ``out``, else ``results/sweeps/<name>``."""
        if out is not None:
            return Path(out)
        if self.out is not None:
            return Path(self.out)
        return DEFAULT_ROOT / self.name

    def with_overrides(
        self,
        *,
        name: str | None = None,
        base: Mapping[str, Any] | None = None,
        grid: Mapping[str, list[Any]] | None = None,
        source: str | None = None,
    ) -> SweepSpec:
        """A copy with the name replaced, base values set and grid axes added or replaced."""
        new_base = {**self.base, **{_key(k): v for k, v in (base or {}).items()}}
        new_grid = {**self.grid, **{_key(k): list(v) for k, v in (grid or {}).items()}}
        return dataclasses.replace(self, name=name or self.name, base=new_base, grid=new_grid, source=source or self.source)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the spec."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.out is not None:
            out["out"] = self.out
        if self.partition_by:
            out["partition_by"] = list(self.partition_by)
        out["base"] = dict(self.base)
        out["grid"] = {k: list(v) for k, v in self.grid.items()}
        return out

    def to_toml(self) -> str:
        """The spec as TOML text that :func:`load_spec` reads back to the same spec.

        Raises
        ------
        TypeError
            A grid value TOML cannot hold (``None``, possible only from Python).
        """
        lines = [f"name = {_toml_value(self.name)}"]
        if self.description:
            lines.append(f"description = {_toml_value(self.description)}")
        if self.partition_by:
            lines.append(f"partition_by = {_toml_value(list(self.partition_by))}")
        # None in the base is always the field's default (only optional fields accept it): leave it out.
        lines += ["", "[base]"] + [f"{k} = {_toml_value(v)}" for k, v in self.base.items() if v is not None]
        lines += ["", "[grid]"] + [f"{k} = {_toml_value(v)}" for k, v in self.grid.items()]
        return "\n".join(lines) + "\n"

    def cells(self) -> list[Cell]:
        """Validate the spec and expand it: every cell's configuration is checked before any runs.

        Raises
        ------
        SpecError
            A bad name, no grid, an empty axis, an unknown parameter, a duplicate cell, too many
            cells, or a value outside its range in any cell (the message names the key and value).
        """
        src = self.source
        _check_name(self.name, src)
        base = {_key(k): v for k, v in self.base.items()}
        for k in base:
            if k not in _FIELDS:
                raise SpecError(f"{src}: [base] {k} is not a run parameter (allowed: {', '.join(sorted(_FIELDS))})")
        if not self.grid:
            raise SpecError(f"{src}: [grid] is empty; give at least one parameter with its values, e.g. seed = [0, 1, 2]")
        axes: dict[str, list[Any]] = {}
        for k, values in self.grid.items():
            key = _key(k)
            if key not in _FIELDS:
                raise SpecError(f"{src}: [grid] {key} is not a run parameter (allowed: {', '.join(sorted(_FIELDS))})")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise SpecError(f"{src}: [grid] {key} must be a list of values, got {values!r}")
            if len(values) == 0:
                raise SpecError(f"{src}: [grid] {key} is empty; give at least one value")
            axes[key] = [_coerce(key, v) for v in values]
        for key in self.partition_by:
            if key not in STRING_PARAMS:
                raise SpecError(
                    f"{src}: partition_by {key!r} is not a string parameter (floats and integers stay columns); "
                    f"allowed: {', '.join(STRING_PARAMS)}"
                )
        n = math.prod(len(v) for v in axes.values())
        if n > MAX_CELLS:
            raise SpecError(f"{src}: [grid] expands to {n:,} cells, more than the {MAX_CELLS:,} allowed")
        base = {k: _coerce(k, v) for k, v in base.items()}
        version = _fastnoise_version()
        names = list(axes)
        cells: list[Cell] = []
        seen: dict[str, Cell] = {}
        for index, combo in enumerate(itertools.product(*axes.values())):
            params = dict(zip(names, combo, strict=True))
            try:
                cfg = RunConfig(**{**base, **params})  # from raw values: defaults (lr = 1/d...) resolve per cell
            except ConfigError as exc:
                raise SpecError(_cell_error(src, exc, base, params)) from None
            except TypeError as exc:  # unhashable or odd TOML values
                raise SpecError(f"{src}: cell {_label(params)}: {exc}") from None
            h = cell_hash(cfg, version)
            if h in seen:
                raise SpecError(
                    f"{src}: [grid] gives the same configuration twice: cells {_label(seen[h].params)} and {_label(params)}"
                )
            rel = "/".join([*(f"{k}={getattr(cfg, k)}" for k in self.partition_by), f"cell-{h}.parquet"])
            cell = Cell(index, params, cfg, h, rel)
            seen[h] = cell
            cells.append(cell)
        return cells


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read a sweep spec from a TOML file (structure checked; values are checked by :meth:`SweepSpec.cells`).

    Raises
    ------
    SpecError
        The file cannot be read, is not TOML, or has unknown or malformed keys.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read sweep spec {path}: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}") from None
    return spec_from_dict(data, source=str(path), default_name=path.stem)


def spec_from_dict(data: Mapping[str, Any], *, source: str = "spec", default_name: str | None = None) -> SweepSpec:
    """Build a :class:`SweepSpec` from the TOML structure (``name``, ``[base]``, ``[grid]``, ...).

    Raises
    ------
    SpecError
        Unknown top-level keys, or keys of the wrong type.
    """
    for key in data:
        if key not in SPEC_KEYS:
            raise SpecError(f"{source}: unknown key {key!r} (allowed: {', '.join(SPEC_KEYS)})")
    name = data.get("name", default_name)
    if name is None:
        raise SpecError(f'{source}: no name; add name = "..."')
    if not isinstance(name, str):
        raise SpecError(f"{source}: name must be a string, got {name!r}")
    base = data.get("base", {})
    grid = data.get("grid", {})
    if not isinstance(base, dict):
        raise SpecError(f"{source}: base must be a table ([base]), got {base!r}")
    if not isinstance(grid, dict):
        raise SpecError(f"{source}: grid must be a table ([grid]), got {grid!r}")
    part = data.get("partition_by", [])
    if isinstance(part, str):
        part = [part]
    if not isinstance(part, list) or not all(isinstance(p, str) for p in part):
        raise SpecError(f"{source}: partition_by must be a list of parameter names, got {part!r}")
    out = data.get("out")
    if out is not None and not isinstance(out, str):
        raise SpecError(f"{source}: out must be a folder path (a string), got {out!r}")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise SpecError(f"{source}: description must be a string, got {desc!r}")
    return SweepSpec(
        name=name,
        base={_key(k): v for k, v in base.items()},
        grid={_key(k): v for k, v in grid.items()},
        partition_by=tuple(_key(p) for p in part),
        out=out,
        description=desc,
        source=source,
    )


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """``"lr=1e-3,1e-2"`` -> ``("lr", [0.001, 0.01])``; values are ints, floats, true/false or strings.

    Raises
    ------
    SpecError
        No ``=``, no key, or an empty value.
    """
    key, values = _split_assignment(text, "--grid")
    tokens = [t.strip() for t in values.split(",")]
    if any(t == "" for t in tokens):
        raise SpecError(f"--grid {text!r} has an empty value; write KEY=V1,V2,...")
    return key, [_parse_token(t) for t in tokens]


def parse_set_option(text: str) -> tuple[str, Any]:
    """``"model=twolayer"`` -> ``("model", "twolayer")`` (a base value).

    Raises
    ------
    SpecError
        No ``=``, no key, or an empty value.
    """
    key, value = _split_assignment(text, "--set")
    if value.strip() == "":
        raise SpecError(f"--set {text!r} has an empty value; write KEY=VALUE")
    return key, _parse_token(value.strip())


def cell_hash(config: RunConfig, version: str | None = None) -> str:
    """A cell's id: sha256 of canonical JSON of the full configuration, fastnoise version and schema version.

    Parameters
    ----------
    config : RunConfig
        The cell's configuration.
    version : str, optional
        fastnoise version (default: the installed one).

    Returns
    -------
    str
        The first 16 hex digits.
    """
    payload = {
        "config": config.to_dict(),
        "fastnoise": version if version is not None else _fastnoise_version(),
        "schema": SCHEMA_VERSION,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


@functools.lru_cache(maxsize=1)
def _fastnoise_version() -> str:
    """The version of the fastnoise this process imported (read once: importlib.metadata is slow)."""
    return versions()["fastnoise"]


def _key(k: str) -> str:
    return str(k).strip().replace("-", "_")


def _coerce(key: str, value: Any) -> Any:
    """Whole floats (TOML ``1e6``) become ints for integer parameters."""
    if key in _INT_FIELDS and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _check_name(name: str, src: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SpecError(
            f"{src}: name must be 1-100 letters, digits, '.', '_' or '-', not starting with '.', '_' or '-'; got {name!r}"
        )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _label(params: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={_fmt(v)}" for k, v in params.items()) + ")"


def _cell_error(src: str, exc: ConfigError, base: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    key = exc.option
    if key in params:
        where = f"[grid] {key} = {params[key]!r}"
    elif key in base:
        where = f"[base] {key} = {base[key]!r}"
    else:
        where = f"{key} (default)"
    return f"{src}: {where}: {exc} (cell {_label(params)})"


def _split_assignment(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise SpecError(f"{option} {text!r} has no '='; write KEY=VALUE")
    key, value = text.split("=", 1)
    key = _key(key)
    if not key:
        raise SpecError(f"{option} {text!r} has no parameter name before '='")
    return key, value


def _parse_token(t: str) -> Any:
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        pass
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return t


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


# --------------------------------------------------------------------------- folder, fragments, status


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


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        _publishable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    with _ENV_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _publishable(path: Path) -> None:
    """Give a temporary file (created 0600) the permissions of an ordinary new file (0666 less the umask)."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~_umask())


def _fsync_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temporaries(folder: Path, older_than: float = _STALE_TEMP_SECONDS) -> int:
    """Remove temporary files (hidden, ``.staged`` / ``.tmp``) left by killed runs, if older than ``older_than`` s."""
    if not folder.is_dir():
        return 0
    now = time.time()
    n = 0
    for p in folder.rglob(".*"):
        if p.is_file() and p.name.endswith((".staged", ".tmp", ".probe")):
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > older_than:
                    p.unlink()
                    n += 1
    return n


# --------------------------------------------------------------------------- computing one cell


@dataclass
class CellResult:
    """What a worker sends back for one cell: the table, or the error; and where and how it ran."""

    table: pd.DataFrame | None
    error: str | None
    traceback: str | None
    seconds: float
    worker: str
    numba_threads: int
    versions: dict[str, str]
    numba_num_threads: int = 0  # the worker process's NUMBA_NUM_THREADS (its thread pool size)


@functools.lru_cache(maxsize=1)
def _versions_once() -> tuple[tuple[str, str], ...]:
    return tuple(versions().items())


def _cached_versions() -> dict[str, str]:
    return dict(_versions_once())


def compute_cell(config: Mapping[str, Any], threads: int | None = None, cap_threads: bool = False) -> CellResult:
    """Run one cell where this function is called (in-process, a pool worker or a Dask worker).

    Parameters
    ----------
    config : mapping
        ``RunConfig.to_dict()`` of the cell.
    threads : int, optional
        Threads for the cell's replicas (default: ``NUMBA_NUM_THREADS``); never more than the
        cell's replicas.
    cap_threads : bool
        Use at most the process's ``NUMBA_NUM_THREADS`` instead of failing when ``threads`` is larger
        (workers of a cluster we did not start).

    Returns
    -------
    CellResult
        With ``table`` set, or ``error`` and ``traceback`` when the run raised an exception.
    """
    from .engine import max_threads, run, thread_count

    t0 = time.perf_counter()
    nmax = max_threads()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        k = nmax if threads is None else threads  # reported as is if the count itself is refused
        k = thread_count(threads, cap=cap_threads)
        cfg = RunConfig.from_dict(dict(config))
        # More threads than replicas only adds thread wake-ups (tables do not depend on the thread count).
        k = max(1, min(k, cfg.replicas))
        result = run(cfg, threads=k)
    except Exception as exc:  # a failed cell is reported, the sweep goes on
        tb = _traceback.format_exc()
        return CellResult(None, _one_line(exc), tb, time.perf_counter() - t0, worker, k, _cached_versions(), nmax)
    return CellResult(result.table, None, None, time.perf_counter() - t0, worker, k, _cached_versions(), nmax)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _failure_result(exc: BaseException, worker: str = "") -> CellResult:
    tb = "".join(_traceback.format_exception(exc))
    return CellResult(None, _one_line(exc), tb, 0.0, worker, 0, {})


def _warm_up(configs: Iterable[RunConfig]) -> None:
    """Compile (or load from the on-disk cache) the kernels the cells need, once each, in this process.

    Kernels are specialised per model and per loss, input law, activation and sparse inputs
    (``engine.kernel_spec``); one tiny run per distinct pair compiles each.
    """
    from .engine import kernel_model, kernel_spec, run

    seen = set()
    for cfg in configs:
        key = (kernel_model(cfg), kernel_spec(cfg))
        if key in seen:
            continue
        seen.add(key)
        run(cfg.replace(steps=1, records=2, replicas=1, n_test=1, probe_size=1, eval_size=1), threads=1)


# --------------------------------------------------------------------------- executors


class InlineExecutor:
    """Cells one after another in this process, each cell's replicas on ``threads`` Numba threads.

    Parameters
    ----------
    threads : int, optional
        Numba threads per cell (default: all cores).
    """

    kind = "inline"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def describe(self) -> str:
        """One-line description for the summary."""
        t = "all cores" if self.threads is None else f"{self.threads} thread{'s' * (self.threads != 1)}"
        return f"in-process, {t} per cell"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Nothing to start (the first cell compiles or loads the kernels)."""

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Run the cells in order, yielding each with its result."""
        for cell in cells:
            yield cell, compute_cell(cell.config.to_dict(), self.threads)

    def close(self, abort: bool = False) -> None:
        """Nothing to stop."""


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (processes spawned meanwhile inherit them), then restore."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _EnvSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that starts with extra environment variables (NUMBA_NUM_THREADS before numba loads)."""

    _fastnoise_env: dict[str, str] = {}

    def start(self) -> None:
        with _ENV_LOCK, _patched_environ(self._fastnoise_env):
            super().start()


class _EnvSpawnContext(multiprocessing.context.SpawnContext):
    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__()
        self._env = dict(env)

    def Process(self, *args: Any, **kwargs: Any) -> _EnvSpawnProcess:  # multiprocessing's name
        p = _EnvSpawnProcess(*args, **kwargs)
        p._fastnoise_env = self._env
        return p


def _pool_worker_init(parent_pid: int) -> None:
    """In each pool worker: leave Ctrl-C to the driver, and exit if the driver dies (``kill -9``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True, name="fastnoise-parent-watch").start()


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(1)


class PoolExecutor:
    """A local pool of ``workers`` spawned processes, each running cells on ``worker_threads`` Numba threads.

    ``NUMBA_NUM_THREADS`` is set to ``worker_threads`` in each worker before it imports numba; the
    driver compiles the kernels first, so workers load them from the on-disk cache.
    """

    kind = "pool"

    def __init__(self, workers: int, worker_threads: int = 1) -> None:
        self.workers = workers
        self.worker_threads = worker_threads
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Any] = []

    def describe(self) -> str:
        """One-line description for the summary."""
        return f"{self.workers} worker processes, {self.worker_threads} thread{'s' * (self.worker_threads != 1)} each"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Compile in the driver, then create the pool (workers are spawned as cells are submitted)."""
        _warm_up(configs)
        ctx = _EnvSpawnContext({"NUMBA_NUM_THREADS": str(self.worker_threads)})
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_pool_worker_init, initargs=(os.getpid(),)
        )

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Submit every cell; yield each with its result as it finishes."""
        assert self._pool is not None, "start() first"
        owner = {}
        for cell in cells:
            fut = self._pool.submit(compute_cell, cell.config.to_dict(), self.worker_threads)
            owner[fut] = cell
        self._futures = list(owner)
        for fut in _futures_as_completed(owner):
            cell = owner.pop(fut)
            try:
                res = fut.result()
            except Exception as exc:  # BrokenProcessPool: a worker died (killed, out of memory)
                res = _failure_result(exc)
            yield cell, res

    def close(self, abort: bool = False) -> None:
        """Shut the pool down; with ``abort``, cancel queued cells and terminate the workers."""
        if self._pool is None:
            return
        if abort:
            for fut in self._futures:
                fut.cancel()
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True)
        self._pool = None


def _import_distributed(option: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise SweepError(f"{option} needs Dask: pip install 'fastnoise[dask]' (or: pip install 'dask[distributed]')") from None
    return distributed


class DaskExecutor:
    """Cells as tasks of a Dask distributed cluster: an existing scheduler, or a ``LocalCluster`` on loopback.

    Parameters
    ----------
    address : str, optional
        Scheduler address, e.g. ``tcp://10.0.0.5:8786``. Exclusive with ``local_workers``.
    local_workers : int, optional
        Start a ``LocalCluster`` of this many worker processes (one task each) on 127.0.0.1.
    worker_threads : int, optional
        Numba threads per cell (default 1). A LocalCluster's workers get ``NUMBA_NUM_THREADS`` set
        before they start; on an existing cluster each task runs on at most the worker's
        ``NUMBA_NUM_THREADS`` threads.
    timeout : float
        Seconds to wait for the scheduler and its first worker.
    """

    kind = "dask"

    def __init__(
        self,
        address: str | None = None,
        local_workers: int | None = None,
        worker_threads: int | None = None,
        timeout: float = 10.0,
    ) -> None:
        if (address is None) == (local_workers is None):
            raise ValueError("give exactly one of address and local_workers")
        self.address = address
        self.local_workers = local_workers
        self.worker_threads = 1 if worker_threads is None else worker_threads
        self.timeout = timeout
        self.client: Any = None
        self.cluster: Any = None
        self._futures: list[Any] = []
        self._env_before: dict[str, str | None] = {}

    def describe(self) -> str:
        """One-line description for the summary."""
        t = f"{self.worker_threads} thread{'s' * (self.worker_threads != 1)} per cell"
        if self.local_workers is not None:
            return f"Dask LocalCluster, {self.local_workers} worker processes on 127.0.0.1, {t}"
        return f"Dask scheduler {self.address}, {t}"

    def start(self, configs: Sequence[RunConfig]) -> None:
        """Compile in the driver, then start the LocalCluster or connect to the scheduler.

        Raises
        ------
        SweepError
            Dask missing, the scheduler unreachable, or no worker within ``timeout``.
        """
        option = "--cluster" if self.local_workers is not None else "--scheduler"
        distributed = _import_distributed(option)
        import dask

        _warm_up(configs)
        self._env_before = {"NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")}
        if self.local_workers is not None:
            import logging

            env = {"NUMBA_NUM_THREADS": str(self.worker_threads)}
            # Nanny applies pre-spawn-environ to this process before spawning (and os.environ wins over
            # the config): set it for the start, then restore, so the driver's numba sees no change.
            pre_spawn = {"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": env["NUMBA_NUM_THREADS"]}
            with _ENV_LOCK, _patched_environ(env), dask.config.set(pre_spawn):
                try:
                    self.cluster = distributed.LocalCluster(
                        n_workers=self.local_workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # its HTTP server starts anyway: keep it on loopback
                        env=env,
                        silence_logs=logging.ERROR,
                    )
                except Exception as exc:
                    raise SweepError(
                        f"--cluster local:{self.local_workers}: cannot start a LocalCluster: {_one_line(exc)}"
                    ) from None
            self.client = distributed.Client(self.cluster, timeout=f"{self.timeout}s")
        else:
            try:
                self.client = distributed.Client(self.address, timeout=f"{self.timeout}s")
            except Exception as exc:
                raise SweepError(f"--scheduler {self.address}: cannot connect: {_one_line(exc)}") from None
            try:
                self.client.wait_for_workers(1, timeout=self.timeout)
            except Exception:
                self.close(abort=True)
                raise SweepError(f"--scheduler {self.address} has no workers (waited {self.timeout:g} s)") from None

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, CellResult]]:
        """Submit every cell as a task; yield each with its result as it finishes."""
        import uuid

        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        cap = self.local_workers is None
        owner = {}
        for cell in cells:
            fut = self.client.submit(
                compute_cell,
                cell.config.to_dict(),
                self.worker_threads,
                cap,
                key=f"fastnoise-cell-{cell.hash}-{token}",
                pure=False,
            )
            owner[fut.key] = (fut, cell)
        self._futures = [f for f, _ in owner.values()]
        for fut in as_completed(self._futures):
            _, cell = owner.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # KilledWorker, a worker without fastnoise, a lost connection
                res = _failure_result(exc)
            fut.release()
            yield cell, res

    def close(self, abort: bool = False) -> None:
        """Cancel what is left (with ``abort``), close the client and a LocalCluster we started."""
        if self.client is not None:
            if abort and self._futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(self._futures, force=True)
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
            self.cluster = None
        for k, v in self._env_before.items():  # a Nanny that restarted a worker may have set it again
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- planning and running


@dataclass
class SweepPlan:
    """A validated sweep, ready to run: its folder, its cells, and which of them to run."""

    spec: SweepSpec
    folder: Path
    cells: list[Cell]
    todo: list[Cell]
    skipped: list[Cell]
    previous: dict[str, Any] | None = None


@dataclass(frozen=True)
class CellEvent:
    """A finished cell: ``status`` is ``"done"`` (fragment written) or ``"failed"`` (``error`` set)."""

    cell: Cell
    status: str
    seconds: float
    error: str | None = None
    worker: str = ""
    path: Path | None = None


@dataclass
class SweepReport:
    """What a run of :func:`execute` did."""

    plan: SweepPlan
    executor: str
    done: list[Cell] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped(self) -> list[Cell]:
        """Cells not run because a valid fragment already existed."""
        return self.plan.skipped

    @property
    def ok(self) -> bool:
        """True when no cell failed."""
        return not self.failed


def prepare(
    spec: SweepSpec, out: str | os.PathLike[str] | None = None, *, force: bool = False, skip_failed: bool = False
) -> SweepPlan:
    """Validate everything and decide which cells to run; nothing is computed or written.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    out : path, optional
        Dataset folder (default: the spec's ``out``, else ``results/sweeps/<name>``).
    force : bool
        Rerun every cell, even those with a valid fragment.
    skip_failed : bool
        Do not retry cells with a failure record.

    Raises
    ------
    SpecError
        The spec is invalid (before any cell runs).
    SweepError
        The folder is a file, belongs to another sweep or layout, or is not writable.
    """
    cells = spec.cells()
    folder = spec.folder(out)
    previous = _check_folder(spec, folder)
    if force:
        return SweepPlan(spec, folder, cells, list(cells), [], previous)
    st = sweep_status(spec, out, cells=cells)
    done = {c.hash for c in st.done}
    failed = {c.hash for c, _ in st.failed}
    todo = [c for c in cells if c.hash not in done and not (skip_failed and c.hash in failed)]
    skipped = [c for c in cells if c.hash in done or (skip_failed and c.hash in failed)]
    return SweepPlan(spec, folder, cells, todo, skipped, previous)


def execute(
    plan: SweepPlan,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    *,
    progress: Callable[[CellEvent], None] | None = None,
) -> SweepReport:
    """Run the plan's cells on ``executor`` (default :class:`InlineExecutor`), writing each fragment as it finishes.

    Every finished cell is written at once (hidden temporary file, flushed to disk, renamed), and a
    failed cell is recorded in ``_failed/<hash>.json``; the other cells go on. On an interruption
    (``KeyboardInterrupt``) the executor is stopped, queued cells are dropped, and the exception
    propagates: what was written stays, and the next run resumes.

    Returns
    -------
    SweepReport
    """
    executor = executor if executor is not None else InlineExecutor()
    t0 = time.perf_counter()
    report = SweepReport(plan, executor.describe())
    folder = plan.folder
    if plan.todo:  # start (or connect to) the workers first: a cluster that cannot start leaves no folder behind
        try:
            executor.start([c.config for c in plan.todo])
        except BaseException:
            executor.close(abort=True)
            raise
    abort = True
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        _write_sweep_files(plan)
        if not plan.todo:
            abort = False
            return report
        for cell, res in executor.map(plan.todo):
            if res.error is None and res.versions.get("fastnoise") != _fastnoise_version():
                res.error = (
                    f"VersionMismatch: worker {res.worker} runs fastnoise {res.versions.get('fastnoise')}, "
                    f"the driver {_fastnoise_version()} (the cell id names the driver's version)"
                )
                res.table = None
            if res.error is not None:
                _record_failure(plan, cell, res, executor.kind)
                report.failed.append((cell, res.error))
                event = CellEvent(cell, "failed", res.seconds, res.error, res.worker)
            else:
                path = _write_fragment(plan, cell, res, executor.kind)
                report.done.append(cell)
                event = CellEvent(cell, "done", res.seconds, None, res.worker, path)
            if progress is not None:
                progress(event)
        abort = False
    finally:
        executor.close(abort=abort)
        report.seconds = time.perf_counter() - t0
    return report


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    executor: InlineExecutor | PoolExecutor | DaskExecutor | None = None,
    force: bool = False,
    skip_failed: bool = False,
    progress: Callable[[CellEvent], None] | None = None,
) -> SweepReport:
    """Validate, plan and run a sweep (a :class:`SweepSpec` or the path of a TOML spec).

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep.
    out : path, optional
        Dataset folder (default: the spec's ``out``, else ``results/sweeps/<name>``).
    executor : InlineExecutor, PoolExecutor or DaskExecutor, optional
        Where cells run (default in-process).
    force : bool
        Rerun cells that already have a valid fragment.
    skip_failed : bool
        Do not retry cells that failed before.
    progress : callable, optional
        Called with a :class:`CellEvent` as each cell finishes.

    Returns
    -------
    SweepReport
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    plan = prepare(spec, out, force=force, skip_failed=skip_failed)
    return execute(plan, executor, progress=progress)


def _write_sweep_files(plan: SweepPlan) -> None:
    spec = plan.spec
    cells: dict[str, Any] = {}
    if plan.previous and isinstance(plan.previous.get("cells"), dict):
        cells.update(plan.previous["cells"])  # cells of earlier specs stay described
    for c in plan.cells:
        cells[c.hash] = {"params": c.params, "path": c.relpath}
    doc = {
        "name": spec.name,
        "description": spec.description,
        "spec": spec.to_dict(),
        "hash": "sha256 of canonical JSON {config: RunConfig.to_dict(), fastnoise: version, schema: schema version}, "
        f"first {HASH_CHARS} hex digits",
        "versions": _cached_versions(),
        "schema_version": SCHEMA_VERSION,
        "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cells": cells,
    }
    _atomic_write_text(plan.folder / SWEEP_JSON, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    try:
        toml = spec.to_toml()
    except TypeError:  # a None in the grid (from Python): _sweep.json holds the spec
        with contextlib.suppress(FileNotFoundError):
            (plan.folder / SWEEP_TOML).unlink()
    else:
        _atomic_write_text(plan.folder / SWEEP_TOML, toml)


def _param_column(name: str, value: Any, n: int) -> Any:
    """A constant column for a parameter, typed by the field's annotation (never by the value), so that
    every fragment of a dataset has the same Arrow type for it even where the value is None."""
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


def _with_provenance(table: pd.DataFrame, plan: SweepPlan, cell: Cell, vers: Mapping[str, str]) -> pd.DataFrame:
    """The cell's table plus every parameter not already a column, and the provenance columns."""
    df = table.copy()
    df.attrs = {}  # pandas deep-copies attrs on every column operation: set them once, at the end
    n = len(df)
    cfg = cell.config
    for name in _FIELDS:
        if name not in df.columns:
            df[name] = _param_column(name, getattr(cfg, name), n)
    prov = {
        "sweep": plan.spec.name,
        "cell": cell.hash,
        "fastnoise_version": vers.get("fastnoise", ""),
        "numba_version": vers.get("numba", ""),
        "numpy_version": vers.get("numpy", ""),
        "python_version": vers.get("python", ""),
    }
    for name in PROVENANCE_COLUMNS:
        df[name] = np.full(n, prov[name], dtype=object)
    if plan.spec.partition_by:
        df = df.drop(columns=list(plan.spec.partition_by))
    df.attrs = {"config": cfg.to_dict()}
    return df


def _staged_path(final: Path) -> Path:
    """Where a fragment is written before its rename: hidden, and not ending in ``.parquet``."""
    return final.with_name(f".{final.name}.staged")


def _write_fragment(plan: SweepPlan, cell: Cell, res: CellResult, kind: str) -> Path:
    """Write the fragment durably: hidden staged file, fsync, rename, fsync the folder; drop any failure record."""
    assert res.table is not None
    final = plan.folder / cell.relpath
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = _staged_path(final)
    df = _with_provenance(res.table, plan, cell, res.versions)
    extra = {
        "sweep": plan.spec.name,
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
    try:
        write_results(df, staged, overwrite=True, extra=extra)
        _publishable(staged)
        _fsync_path(staged)
        os.replace(staged, final)
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise
    _fsync_path(final.parent)
    with contextlib.suppress(FileNotFoundError):
        (plan.folder / FAILED_DIR / f"{cell.hash}.json").unlink()
    return final


def _record_failure(plan: SweepPlan, cell: Cell, res: CellResult, kind: str) -> None:
    record = {
        "sweep": plan.spec.name,
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
    _atomic_write_text(plan.folder / FAILED_DIR / f"{cell.hash}.json", json.dumps(record, indent=1) + "\n")
