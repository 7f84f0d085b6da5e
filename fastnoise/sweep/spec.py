"""The sweep spec: a name, a base configuration and a grid, expanded into validated cells with stable ids.

Reads a spec from TOML (or the command line's ``--grid`` / ``--set`` options), writes it back as
TOML, and names every cell by :func:`cell_hash` (sha256 of the canonical JSON of its full
configuration and the fastnoise version; the schema entry of that JSON is frozen, see there).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, RunConfig
from ..io import versions
from ..options import OPTION, OPTIONS, coerce, parse
from .errors import SpecError

__all__ = [
    "CELL_ID_SCHEMA",
    "DEFAULT_ROOT",
    "HASH_CHARS",
    "MAX_CELLS",
    "SPEC_KEYS",
    "STRING_PARAMS",
    "Cell",
    "SweepSpec",
    "cell_hash",
    "load_spec",
    "parse_grid_option",
    "parse_set_option",
    "spec_from_dict",
]

#: Default root of sweep folders: ``results/sweeps/<name>`` (relative to the current directory).
DEFAULT_ROOT = Path("results") / "sweeps"
#: Most cells a spec may expand to (a guard against a mistyped grid).
MAX_CELLS = 1_000_000
#: The top-level keys a spec may have.
SPEC_KEYS = ("base", "description", "grid", "name", "out", "partition_by")
#: Hex digits of a cell id.
HASH_CHARS = 16
#: The ``schema`` entry of every cell id's payload: the table schema's version when ids were defined, frozen.
#: Ids must stay stable: a fragment computed by other code or written with another schema is then found
#: under its cell's id, marked stale and recomputed in place (``store.fragment_state``), instead of being
#: left behind as an orphan under an old id. So this is not ``schema.SCHEMA_VERSION`` and never changes.
CELL_ID_SCHEMA = 2
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig) if not f.name.startswith("_")}
#: Parameters whose value is always a string: the only ones a dataset may be partitioned on.
STRING_PARAMS = tuple(sorted(o.name for o in OPTIONS if o.is_string))


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
        Cell id (16 hex): sha256 of the canonical JSON of ``config`` and the fastnoise version (:func:`cell_hash`).
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
            axes[key] = [coerce(key, v) for v in values]
        for key in self.partition_by:
            if key not in STRING_PARAMS:
                raise SpecError(
                    f"{src}: partition_by {key!r} is not a string parameter (floats and integers stay columns); "
                    f"allowed: {', '.join(STRING_PARAMS)}"
                )
        n = math.prod(len(v) for v in axes.values())
        if n > MAX_CELLS:
            raise SpecError(f"{src}: [grid] expands to {n:,} cells, more than the {MAX_CELLS:,} allowed")
        base = {k: coerce(k, v) for k, v in base.items()}
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
    """``"lr=1e-3,1e-2"`` -> ``("lr", [0.001, 0.01])``; each value read as the parameter's kind (:func:`fastnoise.options.parse`).

    Raises
    ------
    SpecError
        No ``=``, no key, an unknown parameter, an empty value, or a value not of the parameter's
        kind (``--grid steps: 'x' is not an integer``).
    """
    key, values = _split_assignment(text, "--grid")
    tokens = [t.strip() for t in values.split(",")]
    if any(t == "" for t in tokens):
        raise SpecError(f"--grid {text!r} has an empty value; write KEY=V1,V2,...")
    return key, [_parse_value("--grid", key, t) for t in tokens]


def parse_set_option(text: str) -> tuple[str, Any]:
    """``"model=twolayer"`` -> ``("model", "twolayer")`` (a base value, read as the parameter's kind).

    Raises
    ------
    SpecError
        No ``=``, no key, an unknown parameter, an empty value, or a value not of the parameter's kind.
    """
    key, value = _split_assignment(text, "--set")
    if value.strip() == "":
        raise SpecError(f"--set {text!r} has an empty value; write KEY=VALUE")
    return key, _parse_value("--set", key, value.strip())


def cell_hash(config: RunConfig, version: str | None = None) -> str:
    """A cell's id: sha256 of canonical JSON of the full configuration and the fastnoise version.

    The payload is ``{"config": ..., "fastnoise": version, "schema": 2}``: the schema entry is
    :data:`CELL_ID_SCHEMA`, frozen, not the table's current ``SCHEMA_VERSION``, so that ids stay
    stable across schema (and code) changes and an outdated fragment is recomputed in place.

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
        "config": config.identity(),  # the regime options at their defaults are left out: old ids hold
        "fastnoise": version if version is not None else _fastnoise_version(),
        "schema": CELL_ID_SCHEMA,  # frozen, never schema.SCHEMA_VERSION: see CELL_ID_SCHEMA
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


@functools.lru_cache(maxsize=1)
def _fastnoise_version() -> str:
    """The version of the fastnoise this process imported (read once: importlib.metadata is slow)."""
    return versions()["fastnoise"]


def _key(k: str) -> str:
    return str(k).strip().replace("-", "_")


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


def _parse_value(option: str, key: str, text: str) -> Any:
    """One ``--set`` / ``--grid`` value, read by the declaration of parameter ``key``."""
    if key not in OPTION:
        raise SpecError(f"{option} {key} is not a run parameter (allowed: {', '.join(sorted(_FIELDS))})")
    try:
        return parse(key, text)
    except ValueError as exc:
        raise SpecError(f"{option} {key}: {exc}") from None


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
