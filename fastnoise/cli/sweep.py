"""``fastnoise sweep``: a grid of runs written as one Parquet dataset, resumable, on one machine or a Dask cluster."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .app import COUNT, command_line, fail, main, verbosity
from .options import RunKeysCommand, checkpoint_every_option, progress_options
from .progress import duration

if TYPE_CHECKING:
    from ..sweep import CellEvent, DaskExecutor, InlineExecutor, PoolExecutor, SweepPlan, SweepSpec

# fastnoise.sweep (pandas, pyarrow) and the engine (Numba) are imported by the functions that use
# them: `fastnoise sweep --help` loads none of them.

log = logging.getLogger("fastnoise.cli")

_CLUSTER_RE = re.compile(r"^local:(\d+)$")
_SCHEDULER_RE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class _SweepProgress:
    """Progress over cells on stderr: a bar (done / failed / skipped, elapsed, ETA) on a terminal, else log lines.

    When stderr is not a terminal, a line every ``log_every`` seconds (from a timer thread, so a
    long cell still shows a sign of life). Failed cells are always reported, one line each, with
    their grid values and error. Cells left to another driver (its lock held, or finished by it)
    count as skipped.
    """

    def __init__(self, enabled: bool, total: int, skipped: int, name: str, folder: Path, log_every: float = 30.0) -> None:
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self.name = name
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if enabled and total > 0 and not sys.stderr.isatty() and log_every > 0:
            self._ticker = threading.Thread(target=self._tick, args=(log_every,), name="fastnoise-progress", daemon=True)
            self._ticker.start()
        self.done = 0
        self.failed = 0
        self.others = 0  # cells held or finished by another driver
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
                item_show_func=lambda _: f"{self._counts()}, elapsed {duration(time.perf_counter() - self.t0)}",
            )
            self.bar.__enter__()
            self.bar.render_progress()

    def __call__(self, event: CellEvent) -> None:
        from ..sweep import FAILED_DIR

        if event.status == "done":
            self.done += 1
        elif event.status in ("held", "elsewhere"):
            self.others += 1
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

    def _counts(self) -> str:
        return f"done {self.done}, failed {self.failed}, skipped {self.skipped + self.others}"

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            elapsed = time.perf_counter() - self.t0
            finished = self.done + self.failed + self.others
            left = (self.total - finished) * elapsed / finished if finished else float("inf")
            log.info(
                "sweep %s: %d / %d cells (%s), elapsed %s, remaining ~%s",
                self.name,
                finished,
                self.total,
                self._counts(),
                duration(elapsed),
                duration(left),
            )

    def close(self) -> None:
        self._stop.set()
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command("sweep", cls=RunKeysCommand)
@click.argument("spec", required=False, metavar="[SPEC.toml]")
@click.option(
    "--grid",
    "grids",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="A grid axis (adds to or replaces the spec's); KEY is a run option (listed below).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="A base value for every cell (overrides the spec's); KEY is a run option (listed below, by group).",
)
@click.option("--name", default=None, help="Sweep name [default: the spec's name, else its file name, else 'sweep'].")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Dataset folder [default: the spec's out, else results/sweeps/<name>].",
)
@click.option("--workers", type=COUNT, default=None, help="Run cells in N local worker processes.")
@click.option("--cluster", default=None, metavar="local:N", help="Start a Dask LocalCluster of N workers on 127.0.0.1.")
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Submit cells to an existing Dask scheduler (tls://HOST:PORT: encrypted, see --tls-*).",
)
@click.option(
    "--tls-ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="--scheduler tls://: the cluster's CA certificate (PEM) [default: Dask's config, distributed.comm.tls.ca-file].",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="--scheduler tls://: this client's certificate (PEM), signed by that CA [default: distributed.comm.tls.client.cert].",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="--scheduler tls://: the certificate's unencrypted private key (PEM) [default: in the --tls-cert file].",
)
@click.option("--threads", type=COUNT, default=None, help="In-process: threads per cell [default: all cores].")
@click.option(
    "--worker-threads", type=COUNT, default=None, help="--workers/--cluster/--scheduler: threads per cell [default: 1]."
)
@click.option("--force", is_flag=True, help="Rerun every cell, even those already done.")
@click.option("--skip-failed", is_flag=True, help="Do not retry cells that failed before.")
@click.option(
    "--status",
    "status_only",
    is_flag=True,
    help="Only say how many cells are done, missing, failed, stale (other code) or damaged; run nothing.",
)
@checkpoint_every_option("In-process and --workers cells save their state this often (off: never); a rerun resumes a long cell.")
@progress_options
def sweep_cmd(
    spec: str | None,
    grids: tuple[str, ...],
    sets: tuple[str, ...],
    name: str | None,
    out: Path | None,
    workers: int | None,
    cluster: str | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    threads: int | None,
    worker_threads: int | None,
    force: bool,
    skip_failed: bool,
    status_only: bool,
    checkpoint_every: float,
    log_every: float,
    no_progress: bool,
) -> None:
    """Run a grid of simulations (the cartesian product of the grid's values over a base configuration).

    Each cell's table is written as its own Parquet fragment, cell-<hash>.parquet, in one dataset
    folder that pandas, pyarrow, DuckDB and polars read directly. Rerunning skips the cells already
    done and recomputes stale ones (other code or schema) and damaged ones (checksum mismatch); an
    interrupted sweep loses at most the cells in flight; cells another driver holds are left to it.
    Exit status: 0 when every cell is done (or held by another driver), 1 when some failed or a file
    could not be written, 2 for bad input (nothing is run), 130 when interrupted (143 on SIGTERM).

    \b
    Examples:
      fastnoise sweep examples/sweep.toml
      fastnoise sweep --name lr-p --set steps=1e5 --grid lr=1e-3,1e-2 --grid p=0,0.5,1
      fastnoise sweep examples/sweep.toml --workers 2
      fastnoise sweep examples/sweep.toml --scheduler tcp://10.0.0.5:8786
      fastnoise sweep --status examples/sweep.toml
    """
    from ..checkpoint import Stopped
    from ..runfile import EXIT_STATUS, stop_on_signals
    from ..sweep import FAILED_DIR, SpecError, SweepError, execute, prepare
    from ..sweep.store import SweepWriteError
    from ..threads import max_threads

    try:
        the_spec = _build_spec(spec, grids, sets, name)
        if status_only:
            _print_status(the_spec, out)
            return
        executor = _executor(
            workers, cluster, scheduler, threads, worker_threads, max_threads(), (tls_ca_file, tls_cert, tls_key)
        )
        folder = the_spec.folder(out)
        if not force and folder.is_dir() and any(folder.iterdir()):  # every fragment is read and checksummed
            log.info("sweep %s: checking which cells are done in %s (each fragment is read)...", the_spec.name, folder)
        plan = prepare(the_spec, out, force=force, skip_failed=skip_failed)
    except (SpecError, SweepError) as exc:
        fail(str(exc))
    total = len(plan.cells)
    click.echo(
        f"sweep {the_spec.name}: {total} cell{'s' * (total != 1)}, {len(plan.todo)} to run{_redo_note(plan)}, "
        f"{len(plan.skipped)} already done -> {plan.folder} ({executor.describe()})",
        err=True,
    )
    shown = not no_progress and verbosity() >= 0
    progress = _SweepProgress(shown, len(plan.todo), len(plan.skipped), the_spec.name, plan.folder, log_every)
    t0 = time.perf_counter()
    try:
        # Ctrl-C and SIGTERM, even if inherited ignored: an in-process cell saves its state, the pool is stopped.
        with stop_on_signals():
            report = execute(plan, executor, progress=progress, checkpoint_every=checkpoint_every)
    except SweepWriteError as exc:  # disk full, read-only folder: the sweep stopped; exit 1, no traceback
        progress.close()
        fail(f"{exc}; to resume, run: {command_line()}", code=1)
    except SweepError as exc:
        progress.close()
        fail(str(exc))
    except (KeyboardInterrupt, Stopped) as exc:  # runfile.Interrupted is a KeyboardInterrupt
        progress.close()
        signum = getattr(exc, "signum", signal.SIGINT)
        left = len(plan.todo) - progress.done - progress.failed - progress.others
        what = "terminated" if signum == signal.SIGTERM else "interrupted"
        saved = f" (the cell in progress saved its state at step {exc.steps:,})" if isinstance(exc, Stopped) else ""
        click.echo(
            f"sweep {the_spec.name} {what}: {progress.done} cells written, {progress.failed} failed, {left} not run{saved}; "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(EXIT_STATUS.get(signum, 130))
    finally:
        progress.close()
    seconds = time.perf_counter() - t0
    click.echo(
        f"sweep {the_spec.name}: {len(report.done)} run, {len(report.skipped)} skipped (already done), "
        f"{len(report.failed)} failed in {seconds:.1f} s -> {plan.folder}"
    )
    if report.elsewhere or report.held:
        click.echo(
            f"  {len(report.elsewhere) + len(report.held)} cell(s) held by another driver (not run here): "
            f"{len(report.elsewhere)} done by it, {len(report.held)} still running; see --status",
            err=True,
        )
    if report.failed:
        click.echo(f"  {len(report.failed)} cell(s) failed; see {plan.folder / FAILED_DIR}/ and rerun to retry", err=True)
        sys.exit(1)


def _redo_note(plan: SweepPlan) -> str:
    """`` (2 stale, 1 damaged: recomputed)``: why cells that have a fragment are run again (empty if none)."""
    st = plan.status
    if st is None:
        return ""
    parts = [f"{len(x)} {word}" for x, word in ((st.stale, "stale"), (st.damaged, "damaged"), (st.invalid, "unreadable")) if x]
    return f" ({', '.join(parts)}: recomputed)" if parts else ""


def _once(option: str, pairs: list[tuple[str, Any]], hint: str) -> dict[str, Any]:
    """The pairs as a dict; a key given twice is an error (the later one would silently win)."""
    from ..sweep import SpecError

    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(f"{option} {key} given twice; {hint}")
        out[key] = value
    return out


def _build_spec(spec: str | None, grids: tuple[str, ...], sets: tuple[str, ...], name: str | None) -> SweepSpec:
    from ..sweep import SpecError, SweepSpec, load_spec, parse_grid_option, parse_set_option

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
    tls: tuple[Path | None, Path | None, Path | None] = (None, None, None),
) -> InlineExecutor | PoolExecutor | DaskExecutor:
    """The executor the options name; ``tls`` is (--tls-ca-file, --tls-cert, --tls-key), for --scheduler only."""
    from ..sweep import DaskExecutor, InlineExecutor, PoolExecutor, SweepError

    chosen = [opt for opt, v in (("--workers", workers), ("--cluster", cluster), ("--scheduler", scheduler)) if v is not None]
    if len(chosen) > 1:
        raise SweepError(f"{' and '.join(chosen)} exclude each other; give one")
    tls_given = [opt for opt, v in zip(("--tls-ca-file", "--tls-cert", "--tls-key"), tls, strict=True) if v is not None]
    if tls_given and scheduler is None:
        where = f"; {chosen[0]} needs none" if chosen else ""
        raise SweepError(f"{', '.join(tls_given)}: only with --scheduler tls://HOST:PORT (a cluster you started){where}")
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
        ca, cert, key = tls
        return DaskExecutor(address=scheduler, worker_threads=worker_threads, tls_ca_file=ca, tls_cert=cert, tls_key=key)
    return InlineExecutor(threads)


def _require_dask(option: str) -> None:
    from ..sweep import SweepError

    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SweepError(f"{option} needs Dask: pip install 'fastnoise[dask]' (or: pip install 'dask[distributed]')") from None


def _print_status(spec: SweepSpec, out: Path | None) -> None:
    from ..provenance import code_stamp
    from ..schema import SCHEMA_VERSION
    from ..sweep import FAILED_DIR, sweep_status

    st = sweep_status(spec, out)
    n = len(st.cells)
    missing = len(st.missing) + len(st.invalid)
    line = f"sweep {spec.name}: {n} cell{'s' * (n != 1)} in {st.folder}: "
    line += f"{len(st.done)} done, {missing} missing, {len(st.failed)} failed, {len(st.stale)} stale, {len(st.damaged)} damaged"
    if st.invalid:
        line += f" ({len(st.invalid)} of the missing have an unreadable fragment that will be rewritten)"
    click.echo(line)
    if st.stale:
        click.echo(
            f"  {len(st.stale)} stale: computed by other code or with another table schema than this fastnoise "
            f"(kernels {code_stamp()['kernels']}, schema {SCHEMA_VERSION}); a rerun recomputes them"
        )
    if st.damaged:
        click.echo(f"  {len(st.damaged)} damaged: the file does not match its checksum (or has none); a rerun recomputes them")
        for cell in st.damaged[:20]:
            click.echo(f"  damaged: cell {cell.hash} ({cell.label()}): {st.folder / cell.relpath}")
    for cell, record in st.failed[:20]:
        click.echo(f"  failed: cell {cell.hash} ({cell.label()}): {record.get('error', '?')}")
    if len(st.failed) > 20:
        click.echo(f"  ... and {len(st.failed) - 20} more in {st.folder / FAILED_DIR}/")
    if st.other_fragments:
        click.echo(f"  the folder also holds {st.other_fragments} fragment(s) of cells not in this spec")
