"""``fastnoise run``: one simulation, written as a Parquet table (its run options generated from fastnoise.options)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, RunConfig
from .app import COUNT, DEFAULT_RESULTS, check_out, command_line, fail, main, verbosity
from .options import GroupedCommand, GroupedOption, checkpoint_every_option, config_options, progress_options
from .progress import Progress, duration

# The engine (Numba), pandas and pyarrow are imported by run_cmd once its configuration is valid:
# `fastnoise --help` and a usage error load none of them.

log = logging.getLogger("fastnoise.cli")


@main.command("run", cls=GroupedCommand)
@config_options
@click.option(
    "--threads",
    cls=GroupedOption,
    group="execution",
    type=COUNT,
    default=None,
    help="Threads over replicas [default: all cores]; results never depend on it.",
)
@click.option(
    "--out",
    cls=GroupedOption,
    group="output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output Parquet file [default: results/<parameters>.parquet].",
)
@click.option("--overwrite", cls=GroupedOption, group="output", is_flag=True, help="Replace an existing output file.")
@checkpoint_every_option("Save the run's full state this often (90s, 5m, 1h; off: never); a rerun of the same command resumes.")
@click.option(
    "--fresh",
    cls=GroupedOption,
    group="execution",
    is_flag=True,
    help="Ignore (and replace) a checkpoint of this output: start from step 0.",
)
@progress_options
def run_cmd(
    threads: int | None,
    out: Path | None,
    overwrite: bool,
    checkpoint_every: float,
    fresh: bool,
    log_every: float,
    no_progress: bool,
    **params: Any,
) -> None:
    """Run a simulation and write its table as Parquet.

    With no options: the slides' Fig. 1 (single neuron, hinge, d = 30, lr = 1/d^2, pure noise,
    Gaussian inputs, 10^6 steps, 8 replicas).

    \b
    Interruptions: a run saves its state every --checkpoint-every (beside the output, as
    .<name>.ckpt.npz) and on Ctrl-C or SIGTERM; the same command resumes it, and the table is
    bitwise that of an uninterrupted run. Rerunning a finished command does nothing.
    """
    try:
        cfg = RunConfig(**params)
    except ConfigError as exc:
        fail(exc.cli_message())
    # Function-local imports for start-up speed: the service loads the engine (Numba), pandas and pyarrow.
    from ..checkpoint import CheckpointError, Stopped, checkpoint_path, peek
    from ..data import DatasetError
    from ..engine import SimulationError
    from ..footprint import MemoryLimitError
    from ..footprint import check as check_memory
    from ..io import check_writable
    from ..runfile import EXIT_STATUS, FileRun, Interrupted, holds_run, stop_on_signals
    from ..threads import thread_count

    try:
        thread_count(threads)
    except ConfigError as exc:
        fail(exc.cli_message())
    check_out(out, ".parquet", "a run's table is Parquet")
    path = out if out is not None else DEFAULT_RESULTS / cfg.default_filename()
    ckpt = checkpoint_path(path)
    if path.exists() and not overwrite and holds_run(path, cfg):
        ckpt.unlink(missing_ok=True)  # a kill after the table's rename left it behind
        click.echo(f"{path} already holds this run (same configuration and code); nothing to do (--overwrite reruns it)")
        return
    try:
        check_writable(path, overwrite)
    except FileExistsError as exc:
        fail(f"--out {exc} (it holds another run or other code's)")
    except OSError as exc:
        fail(f"--out {exc}")
    try:
        check_memory(cfg)
    except MemoryLimitError as exc:
        fail(exc.cli_message())
    job = FileRun(cfg, ckpt, checkpoint_every)
    if not fresh:
        try:
            resume = job.resume()
        except CheckpointError as exc:
            fail(str(exc))
        if resume is not None:
            saved = peek(ckpt).get("saved", "?")
            click.echo(f"resuming from checkpoint {ckpt} at step {resume.steps:,} of {cfg.steps:,} (saved {saved})", err=True)
    job.remove_stale_temporaries(path)
    shown = not no_progress and verbosity() >= 0
    progress = Progress(shown, cfg.steps, f"{cfg.replicas} replicas", per_unit=cfg.replicas, log_every=log_every)
    # Ctrl-C and SIGTERM (even if SIGINT was inherited ignored): save at the end of the current kernel call, then exit.
    try:
        with stop_on_signals():
            result = job.run(threads=threads, progress=progress)
    except (SimulationError, DatasetError) as exc:
        progress.close()
        fail(str(exc), code=1)
    except Stopped as exc:
        progress.close()
        click.echo(
            f"Interrupted at step {exc.steps:,} of {cfg.steps:,}; state saved to {ckpt}: rerun the same command to resume.",
            err=True,
        )
        sys.exit(EXIT_STATUS[exc.signum])
    except Interrupted as exc:  # a second signal while the state was being saved
        progress.close()
        keeper = job.keeper
        if keeper is not None and keeper.saved_steps is not None:
            kept = f"the state saved at step {keeper.saved_steps:,} is kept in {ckpt}: rerun the same command to resume"
        else:
            kept = "no state was saved: the rerun starts over"
        click.echo(f"Interrupted; {kept}.", err=True)
        sys.exit(EXIT_STATUS[exc.signum])
    finally:
        progress.close()
    try:
        job.write(path, overwrite=overwrite)
    except OSError as exc:  # disk full, read-only folder: nothing under the real name (atomic write)
        keeper = job.keeper
        if keeper is not None and keeper.saves and keeper.failed is None:
            kept = f"the run's state at step {keeper.saved_steps:,} is kept in {ckpt}"
        else:
            kept = "no checkpoint could be kept: the rerun starts over"
        why = exc.strerror or str(exc)
        fail(f"cannot write {path}: {why}; {kept}; to resume, run: {command_line()}", code=1)
    _summary(result, path, job.resumed_from_step or 0)


def _summary(result: Any, path: Path, resumed: int) -> None:
    cfg, df = result.config, result.table
    first = df[df.step == 0]
    last = df[df.step == cfg.steps]
    work = max(result.seconds - result.compile_seconds, 1e-9)
    rate = (cfg.steps - resumed) * cfg.replicas / work
    from ..models import get_model  # (the vocabulary loads numpy: not at the CLI's start-up)

    model = get_model(cfg.model)
    desc = f"{cfg.model}/{cfg.loss}/{'bias' if cfg.bias else 'no bias'}{model.describe(cfg)}"
    click.echo(f"{desc}, {cfg.data} d={cfg.d}, lr={cfg.lr:.4g}, p={cfg.p:g}: {cfg.replicas} replicas x {cfg.steps:,} steps")
    for col in model.summary_columns(cfg):
        a, b = first[col].mean(), last[col].mean()
        if a == a:  # not NaN
            click.echo(f"  {col:<12} mean {a:.4g} at step 0 -> {b:.4g} at step {cfg.steps:,}")
    compiled = f", of which {result.compile_seconds:.2f} s compiling kernels" if result.compile_seconds >= 0.05 else ""
    since = f" since step {resumed:,}" if resumed else ""
    took = f"{result.seconds:.2f} s" if result.seconds < 60 else duration(result.seconds)
    click.echo(f"  took {took}{compiled} ({rate:.3g} steps/s over all replicas{since}, compile excluded)")
    click.echo(f"  table: {path} ({len(df)} rows)")
