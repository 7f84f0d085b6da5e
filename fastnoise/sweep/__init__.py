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
- **Atomic fragments.** The driver writes each fragment under a hidden temporary name unique to
  the writer (``.cell-<hash>.parquet.<random>.tmp``, :func:`fastnoise.files.atomic_write`), flushes
  it to disk and renames it; temporary names start with ``.`` and never end in ``.parquet``, so
  neither ``pandas.read_parquet(folder)`` / ``pyarrow.dataset`` (which skip ``.`` and ``_`` names)
  nor a ``folder/**/*.parquet`` glob (DuckDB, polars) ever reads one. A killed sweep loses at most
  the cells in flight; two drivers on one folder never share a temporary (the last rename wins).
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

Modules: :mod:`~fastnoise.sweep.spec` (the spec and its cells), :mod:`~fastnoise.sweep.store` (the
folder: fragments, failure records, status), :mod:`~fastnoise.sweep.executors` (where cells run),
:mod:`~fastnoise.sweep.orchestrate` (planning and running); their public names are all here.
"""

from __future__ import annotations

from .errors import SpecError, SweepError
from .executors import CellResult, DaskExecutor, InlineExecutor, PoolExecutor, compute_cell
from .orchestrate import CellEvent, SweepPlan, SweepReport, execute, prepare, run_sweep
from .spec import (
    DEFAULT_ROOT,
    HASH_CHARS,
    MAX_CELLS,
    SPEC_KEYS,
    STRING_PARAMS,
    Cell,
    SweepSpec,
    cell_hash,
    load_spec,
    parse_grid_option,
    parse_set_option,
    spec_from_dict,
)
from .store import FAILED_DIR, PROVENANCE_COLUMNS, SWEEP_JSON, SWEEP_TOML, SweepStatus, fragment_valid, sweep_status

__all__ = [
    "DEFAULT_ROOT",
    "FAILED_DIR",
    "HASH_CHARS",
    "MAX_CELLS",
    "PROVENANCE_COLUMNS",
    "SPEC_KEYS",
    "STRING_PARAMS",
    "SWEEP_JSON",
    "SWEEP_TOML",
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
    "spec_from_dict",
    "sweep_status",
]
