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
canonical JSON of the cell's full configuration and the fastnoise version (the schema entry of
the payload is frozen at 2, so that ids stay stable across schema changes).

- **Resume and dedupe.** A cell whose fragment is *done* (its checksum matches, it reads as
  Parquet with the same cell id, it was computed by this code and schema) is skipped;
  ``force=True`` reruns it. A fragment of other kernel code or another schema is *stale*, one
  whose bytes do not match its checksum is *damaged*: both are recomputed in place
  (:func:`~fastnoise.sweep.store.fragment_state`). Changing the spec adds only the new cells.
- **Checkpoints.** In-process and pool cells save their state every ``checkpoint_every`` seconds
  (``.cell-<hash>.ckpt.npz``); a rerun after a kill resumes a long cell bitwise.
- **Locks.** Before computing a cell the driver takes ``.cell-<hash>.lock`` (``flock``, released
  if the driver dies); a second driver on the same folder skips the cells the first holds.
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
  error, traceback); the other cells go on. A file that cannot be written (full disk, read-only
  folder) stops the sweep with :class:`~fastnoise.sweep.store.SweepWriteError`.

Beside the fragments, ``_sweep.json`` (provenance: spec, cells, versions) and ``_sweep.toml`` (the
effective spec, runnable again) describe the sweep. Their names start with ``_`` so that dataset
readers skip them.

Modules: :mod:`~fastnoise.sweep.spec` (the spec and its cells), :mod:`~fastnoise.sweep.store` (the
folder: fragments, failure records, status), :mod:`~fastnoise.sweep.executors` (where cells run),
:mod:`~fastnoise.sweep.orchestrate` (planning and running); their public names are all here.
"""

from __future__ import annotations

from .errors import SpecError, SweepError
from .executors import CellResult, DaskExecutor, InlineExecutor, PoolExecutor, checkpoint_file, compute_cell
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
from .store import (
    FAILED_DIR,
    PROVENANCE_COLUMNS,
    SWEEP_JSON,
    SWEEP_TOML,
    SweepStatus,
    SweepWriteError,
    fragment_state,
    fragment_valid,
    sweep_status,
)

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
    "SweepWriteError",
    "cell_hash",
    "checkpoint_file",
    "compute_cell",
    "execute",
    "fragment_state",
    "fragment_valid",
    "load_spec",
    "parse_grid_option",
    "parse_set_option",
    "prepare",
    "run_sweep",
    "spec_from_dict",
    "sweep_status",
]
