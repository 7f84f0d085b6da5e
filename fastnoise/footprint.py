"""A run's memory, estimated before anything is allocated, against what the machine has free.

:func:`estimate` adds up the large arrays a run holds at its peak: the data sets (training, probe,
test), every replica's weights (twice: the initial draws and the kernels' packed copy, and once
more unpacked at the end), the metrics array and the table built from it (with its Arrow copy
while it is written). It errs on the high side by design: it exists to turn a run that cannot
fit (``--d 1e6`` asks for 8 GB of test inputs) into a one-line refusal instead of a
``MemoryError`` minutes in, not to budget memory to the megabyte. :func:`available` reads what
the machine (and the process's cgroup, in containers and batch jobs) has free.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._kernels.layout import Geometry
from .config import ConfigError, RunConfig
from .models import model_of
from .plan import geometry
from .schedule import checkpoints
from .tasks import get_task

__all__ = ["MemoryLimitError", "available", "check", "estimate", "human"]

_F8 = 8
#: Columns of a table besides the metrics (replica, step, the parameters, config_id), for the estimate.
_TABLE_COLUMNS = 45


class MemoryLimitError(ConfigError):
    """A run whose estimated memory exceeds what the machine has available."""


def human(nbytes: float) -> str:
    """``nbytes`` as ``'7.45 GiB'`` (binary units)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def estimate(cfg: RunConfig, geo: Geometry | None = None) -> dict[str, int]:
    """Bytes a run needs, by part: ``train``, ``probe``, ``test``, ``weights``, ``table``.

    Parameters
    ----------
    cfg : RunConfig
        The run.
    geo : Geometry, optional
        Its arrays' geometry (:attr:`fastnoise.plan.RunPlan.geometry`), if already built.

    Returns
    -------
    dict
        Bytes per part (an upper estimate; see the module docstring).
    """
    geo = geometry(cfg) if geo is None else geo
    sets = get_task(cfg.data).footprint(cfg)
    R = cfg.replicas
    # three copies of the weights; the spread after each weight matrix (layout.SPREAD) only in the
    # live arrays, where no step writes it
    weights = 3 * R * geo.replica_bytes() - 2 * R * geo.spread_bytes()
    rows = R * len(checkpoints(cfg.steps, cfg.records, cfg.record_spacing))
    table = rows * (geo.n_metrics * 3 + _TABLE_COLUMNS * 2) * _F8
    return {**{k: int(v) for k, v in sets.items()}, "weights": int(weights), "table": int(table)}


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available() -> int | None:
    """Bytes the process can still allocate: MemAvailable, lowered to the cgroup's headroom; None if unknown."""
    free: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        free = None
    if free is None and hasattr(os, "sysconf"):
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            free = None
    cg = Path("/sys/fs/cgroup")
    limit, used = _read_int(cg / "memory.max"), _read_int(cg / "memory.current")  # cgroup v2; "max" is no limit
    if limit is not None and used is not None:
        headroom = max(0, limit - used)
        free = headroom if free is None else min(free, headroom)
    return free


def check(cfg: RunConfig, free: int | None = None, geo: Geometry | None = None) -> int:
    """Refuse a run that would not fit in memory; return its estimate in bytes.

    Raises
    ------
    MemoryLimitError
        The estimate exceeds the available memory (named after the largest part's option).
    """
    parts = estimate(cfg, geo)
    total = sum(parts.values())
    free = available() if free is None else free
    if free is None or total <= free:
        return total
    option = {"train": "n_train", "probe": "probe_size", "test": "n_test", "weights": "replicas", "table": "records"}
    big = max(parts, key=lambda k: parts[k])
    name = option[big]
    counts = {"train": cfg.n_train or 0, "probe": cfg.probe_size, "test": cfg.n_test}
    if big in counts and not get_task(cfg.data).dataset and (cfg.d or 0) >= counts[big]:
        name = "d"  # d x count inputs: name the larger factor
    elif big == "weights" and cfg.hidden_widths and max(cfg.hidden_widths) >= (cfg.d or 0):
        name = model_of(cfg).width_option(cfg)
    detail = ", ".join(f"{k} {human(v)}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 1 << 20)
    raise MemoryLimitError(
        name,
        f"makes the run need about {human(total)} ({detail}) but {human(free)} of memory is available; "
        f"lower --{name.replace('_', '-')} or --replicas",
    )
