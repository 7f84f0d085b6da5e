"""``fastnoise run``: one simulation, written as a Parquet table (its run options generated from fastnoise.options)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, RunConfig
from ..data import DatasetError
from ..engine import SimulationError, run, thread_count
from ..files import remove_stale_temporaries
from ..io import check_writable, write_results
from . import COUNT, DEFAULT_RESULTS, check_out, fail, main
from .options import config_options


class Progress:
    """A stderr progress bar that appears only for runs longer than a couple of seconds."""

    def __init__(self, enabled: bool, replicas: int) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.shown = 0
        self.replicas = replicas

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` steps (the engine's progress callback)."""
        if not self.enabled:
            return
        if self.bar is None:
            elapsed = time.perf_counter() - self.t0
            if elapsed < 2.0 or done >= total:
                return
            self.bar = click.progressbar(length=total, label=f"{self.replicas} replicas", file=sys.stderr, show_eta=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        """Finish the bar, if one was shown."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command("run")
@config_options
@click.option(
    "--threads", type=COUNT, default=None, help="Threads over replicas [default: all cores]; results never depend on it."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output Parquet file [default: results/<parameters>.parquet].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def run_cmd(threads: int | None, out: Path | None, overwrite: bool, no_progress: bool, **params: Any) -> None:
    """Run a simulation and write its table as Parquet.

    With no options: the slides' Fig. 1 (single neuron, hinge, d = 30, lr = 1/d^2, pure noise,
    Gaussian inputs, 10^6 steps, 8 replicas).
    """
    try:
        cfg = RunConfig(**params)
    except ConfigError as exc:
        fail(exc.cli_message())
    try:
        thread_count(threads)
    except ConfigError as exc:
        fail(exc.cli_message())
    check_out(out, ".parquet", "a run's table is Parquet")
    path = out if out is not None else DEFAULT_RESULTS / cfg.default_filename()
    try:
        check_writable(path, overwrite)
    except FileExistsError as exc:
        fail(f"--out {exc}")
    except OSError as exc:
        fail(f"--out {exc}")
    # A run killed while writing (kill -9, power cut) leaves its temporary: remove this output's old ones.
    remove_stale_temporaries(path.parent, STALE_SECONDS, prefix=f".{path.name}.", recursive=False)
    # SIGTERM as Ctrl-C: unwinds through the writer, which removes its temporary (exit 143).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    progress = Progress(not no_progress, cfg.replicas)
    try:
        try:
            result = run(cfg, threads=threads, progress=progress)
        except (SimulationError, DatasetError) as exc:
            progress.close()
            fail(str(exc), code=1)
        finally:
            progress.close()
        write_results(result.table, path, overwrite=overwrite)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    _summary(result, path)


#: A temporary of this run's output older than this is a dead writer's (writing a table takes seconds).
STALE_SECONDS = 60.0


def _terminate(signum: int, frame: Any) -> None:
    click.echo("Terminated.", err=True)
    sys.exit(143)


def _summary(result: Any, path: Path) -> None:
    cfg, df = result.config, result.table
    first = df[df.step == 0]
    last = df[df.step == cfg.steps]
    rate = cfg.steps * cfg.replicas / result.seconds
    desc = f"{cfg.model}/{cfg.loss}/{'bias' if cfg.bias else 'no bias'}"
    if cfg.model == "twolayer":
        desc += f", width {cfg.width}, train {cfg.train}"
    elif cfg.model == "mlp":
        act = cfg.activation if cfg.activation == "relu" else f"leaky {cfg.leak:g}"
        desc += f", widths {','.join(map(str, cfg.hidden_widths))}, {act}, train {cfg.train}"
    click.echo(f"{desc}, {cfg.data} d={cfg.d}, lr={cfg.lr:.4g}, p={cfg.p:g}: {cfg.replicas} replicas x {cfg.steps:,} steps")
    if cfg.model == "neuron":
        cols = ["norm_1", "error_test"]
    else:
        cols = [f"norm_{l}" for l in range(1, cfg.depth + 1)] + ["active_mean", "error_test"]
        if cfg.model == "mlp":
            cols += [f"active_mean_{l}" for l in range(2, cfg.depth)]
    for col in cols:
        a, b = first[col].mean(), last[col].mean()
        if a == a:  # not NaN
            click.echo(f"  {col:<12} mean {a:.4g} at step 0 -> {b:.4g} at step {cfg.steps:,}")
    click.echo(f"  took {result.seconds:.2f} s ({rate:.3g} steps/s over all replicas)")
    click.echo(f"  table: {path} ({len(df)} rows)")
