"""``fastnoise sweep``: a grid of runs written as one Parquet dataset, resumable, on one machine or a Dask cluster."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from ..engine import max_threads
from ..sweep import (
    FAILED_DIR,
    CellEvent,
    DaskExecutor,
    InlineExecutor,
    PoolExecutor,
    SpecError,
    SweepError,
    SweepSpec,
    execute,
    load_spec,
    parse_grid_option,
    parse_set_option,
    prepare,
    sweep_status,
)
from . import COUNT, fail, main

_CLUSTER_RE = re.compile(r"^local:(\d+)$")
_SCHEDULER_RE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class _SweepProgress:
    """Progress over cells on stderr (a bar with done / failed / skipped and ETA when stderr is a terminal).

    Failed cells are always reported, one line each, with their grid values and error.
    """

    def __init__(self, enabled: bool, total: int, skipped: int, name: str, folder: Path) -> None:
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.done = 0
        self.failed = 0
        self.skipped = skipped
        self.total = total
        self.folder = folder
        self.bar: Any = None
        if self.enabled:
            self.bar = click.progressbar(
                length=total,
                label=f"sweep {name}",
                file=sys.stderr,
                show_eta=True,
                show_pos=True,
                item_show_func=lambda _: f"done {self.done}, failed {self.failed}, skipped {self.skipped}",
            )
            self.bar.__enter__()
            self.bar.render_progress()

    def __call__(self, event: CellEvent) -> None:
        if event.status == "done":
            self.done += 1
        else:
            self.failed += 1
            line = (
                f"failed: cell {event.cell.hash} ({event.cell.label()}): {event.error} "
                f"[configuration: {self.folder / FAILED_DIR / (event.cell.hash + '.json')}]"
            )
            if self.bar is not None:
                click.echo("\r\033[K", nl=False, err=True)
            click.echo(line, err=True)
        if self.bar is not None:
            self.bar.update(1, current_item=event)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that the executor is stopped cleanly."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


@main.command("sweep")
@click.argument("spec", required=False, metavar="[SPEC.toml]")
@click.option("--grid", "grids", multiple=True, metavar="KEY=V1,V2,...", help="A grid axis (adds to or replaces the spec's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A base value for every cell (overrides the spec's).")
@click.option("--name", default=None, help="Sweep name [default: the spec's name, else its file name, else 'sweep'].")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Dataset folder [default: the spec's out, else results/sweeps/<name>].",
)
@click.option("--workers", type=COUNT, default=None, help="Run cells in N local worker processes.")
@click.option("--cluster", default=None, metavar="local:N", help="Start a Dask LocalCluster of N workers on 127.0.0.1.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help="Submit cells to an existing Dask scheduler.")
@click.option("--threads", type=COUNT, default=None, help="In-process: threads per cell [default: all cores].")
@click.option(
    "--worker-threads", type=COUNT, default=None, help="--workers/--cluster/--scheduler: threads per cell [default: 1]."
)
@click.option("--force", is_flag=True, help="Rerun every cell, even those already done.")
@click.option("--skip-failed", is_flag=True, help="Do not retry cells that failed before.")
@click.option("--status", "status_only", is_flag=True, help="Only say how many cells are done, missing, failed; run nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def sweep_cmd(
    spec: str | None,
    grids: tuple[str, ...],
    sets: tuple[str, ...],
    name: str | None,
    out: Path | None,
    workers: int | None,
    cluster: str | None,
    scheduler: str | None,
    threads: int | None,
    worker_threads: int | None,
    force: bool,
    skip_failed: bool,
    status_only: bool,
    no_progress: bool,
) -> None:
    """Run a grid of simulations (the cartesian product of the grid's values over a base configuration).

    Each cell's table is written as its own Parquet fragment, cell-<hash>.parquet, in one dataset
    folder that pandas, pyarrow, DuckDB and polars read directly. Rerunning skips the cells already
    done; an interrupted sweep loses at most the cells in flight. Exit status: 0 when every cell is
    done, 1 when some failed, 2 for bad input (nothing is run), 130 when interrupted (143 on SIGTERM).

    \b
    Examples:
      fastnoise sweep examples/sweep.toml
      fastnoise sweep --name lr-p --set steps=1e5 --grid lr=1e-3,1e-2 --grid p=0,0.5,1
      fastnoise sweep examples/sweep.toml --workers 2
      fastnoise sweep examples/sweep.toml --scheduler tcp://10.0.0.5:8786
      fastnoise sweep --status examples/sweep.toml
    """
    try:
        the_spec = _build_spec(spec, grids, sets, name)
        if status_only:
            _print_status(the_spec, out)
            return
        executor = _executor(workers, cluster, scheduler, threads, worker_threads, max_threads())
        plan = prepare(the_spec, out, force=force, skip_failed=skip_failed)
    except (SpecError, SweepError) as exc:
        fail(str(exc))
    total = len(plan.cells)
    click.echo(
        f"sweep {the_spec.name}: {total} cell{'s' * (total != 1)}, {len(plan.todo)} to run, "
        f"{len(plan.skipped)} already done -> {plan.folder} ({executor.describe()})",
        err=True,
    )
    progress = _SweepProgress(not no_progress, len(plan.todo), len(plan.skipped), the_spec.name, plan.folder)
    in_main = threading.current_thread() is threading.main_thread()  # signal handlers only there
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    t0 = time.perf_counter()
    try:
        report = execute(plan, executor, progress=progress)
    except SweepError as exc:
        progress.close()
        fail(str(exc))
    except KeyboardInterrupt as exc:
        progress.close()
        left = len(plan.todo) - progress.done - progress.failed
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        click.echo(
            f"sweep {the_spec.name} {what}: {progress.done} cells written, {progress.failed} failed, {left} not run; "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(143 if isinstance(exc, _Terminated) else 130)
    finally:
        progress.close()
        if in_main:
            signal.signal(signal.SIGTERM, old_term)
    seconds = time.perf_counter() - t0
    click.echo(
        f"sweep {the_spec.name}: {len(report.done)} run, {len(report.skipped)} skipped (already done), "
        f"{len(report.failed)} failed in {seconds:.1f} s -> {plan.folder}"
    )
    if report.failed:
        click.echo(f"  {len(report.failed)} cell(s) failed; see {plan.folder / FAILED_DIR}/ and rerun to retry", err=True)
        sys.exit(1)


def _once(option: str, pairs: list[tuple[str, Any]], hint: str) -> dict[str, Any]:
    """The pairs as a dict; a key given twice is an error (the later one would silently win)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(f"{option} {key} given twice; {hint}")
        out[key] = value
    return out


def _build_spec(spec: str | None, grids: tuple[str, ...], sets: tuple[str, ...], name: str | None) -> SweepSpec:
    if spec is None and not grids:
        raise SpecError("give a SPEC.toml or at least one --grid KEY=V1,V2,...")
    grid = _once("--grid", [parse_grid_option(g) for g in grids], "give all its values in one --grid KEY=V1,V2,...")
    base = _once("--set", [parse_set_option(s) for s in sets], "give it once")
    if spec is not None:
        the_spec = load_spec(spec)
        source = spec if not (grids or sets) else f"{spec} with --grid/--set"
    else:
        the_spec = SweepSpec(name="sweep")
        source = "command line"
    return the_spec.with_overrides(name=name, base=base, grid=grid, source=source)


def _executor(
    workers: int | None,
    cluster: str | None,
    scheduler: str | None,
    threads: int | None,
    worker_threads: int | None,
    nmax: int,
) -> InlineExecutor | PoolExecutor | DaskExecutor:
    chosen = [opt for opt, v in (("--workers", workers), ("--cluster", cluster), ("--scheduler", scheduler)) if v is not None]
    if len(chosen) > 1:
        raise SweepError(f"{' and '.join(chosen)} exclude each other; give one")
    if threads is not None:
        if chosen:
            raise SweepError(f"--threads is for in-process runs; with {chosen[0]} use --worker-threads")
        if not 1 <= threads <= nmax:
            raise SweepError(f"--threads must be between 1 and {nmax}, got {threads}")
    if worker_threads is not None:
        if not chosen:
            raise SweepError("--worker-threads needs --workers, --cluster or --scheduler (in-process runs use --threads)")
        hi = 1024 if scheduler is not None else nmax
        if not 1 <= worker_threads <= hi:
            raise SweepError(f"--worker-threads must be between 1 and {hi}, got {worker_threads}")
    if workers is not None:
        if not 1 <= workers <= 1024:
            raise SweepError(f"--workers must be between 1 and 1024, got {workers}")
        return PoolExecutor(workers, worker_threads or 1)
    if cluster is not None:
        m = _CLUSTER_RE.match(cluster)
        if not m or not 1 <= int(m.group(1)) <= 1024:
            raise SweepError(f"--cluster must be local:N with N between 1 and 1024, got {cluster!r}")
        _require_dask("--cluster")
        return DaskExecutor(local_workers=int(m.group(1)), worker_threads=worker_threads)
    if scheduler is not None:
        if not _SCHEDULER_RE.match(scheduler):
            raise SweepError(f"--scheduler must be an address like tcp://HOST:PORT, got {scheduler!r}")
        _require_dask("--scheduler")
        return DaskExecutor(address=scheduler, worker_threads=worker_threads)
    return InlineExecutor(threads)


def _require_dask(option: str) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SweepError(f"{option} needs Dask: pip install 'fastnoise[dask]' (or: pip install 'dask[distributed]')") from None


def _print_status(spec: SweepSpec, out: Path | None) -> None:
    st = sweep_status(spec, out)
    n = len(st.cells)
    missing = len(st.missing) + len(st.invalid)
    line = f"sweep {spec.name}: {n} cell{'s' * (n != 1)} in {st.folder}: "
    line += f"{len(st.done)} done, {missing} missing, {len(st.failed)} failed"
    if st.invalid:
        line += f" ({len(st.invalid)} of the missing have an unreadable fragment that will be rewritten)"
    click.echo(line)
    for cell, record in st.failed[:20]:
        click.echo(f"  failed: cell {cell.hash} ({cell.label()}): {record.get('error', '?')}")
    if len(st.failed) > 20:
        click.echo(f"  ... and {len(st.failed) - 20} more in {st.folder / FAILED_DIR}/")
    if st.other_fragments:
        click.echo(f"  the folder also holds {st.other_fragments} fragment(s) of cells not in this spec")
