"""``fastnoise run``: one simulation, written as a Parquet table."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from fastnoise.config import ACTIVATIONS, DATA, INITS, LOSSES, MODELS, SPACINGS, ConfigError, RunConfig
from fastnoise.datasets import DatasetError
from fastnoise.engine import SimulationError, run, thread_count
from fastnoise.io import check_writable, write_results

from . import COUNT, DEFAULT_RESULTS, fail, main


class Progress:
    """A stderr progress bar that appears only for runs longer than a couple of seconds."""

    def __init__(self, enabled: bool, replicas: int) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.shown = 0
        self.replicas = replicas

    def __call__(self, done: int, total: int) -> None:
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
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command("run")
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="neuron",
    show_default=True,
    help="Single neuron, two-layer ReLU net, or a deep net (mlp, hidden widths --widths).",
)
@click.option(
    "--loss", type=click.Choice(LOSSES), default="hinge", show_default=True, help="Hinge (perceptron rule) or cross-entropy."
)
@click.option("--bias/--no-bias", default=False, show_default=True, help="Bias on the neuron / on every layer.")
@click.option(
    "--train",
    type=str,
    default="all",
    show_default=True,
    help="all layers; hidden (every layer but the output, fixed to +-1); mlp: a list of layers such as 1,3.",
)
@click.option(
    "--data",
    type=click.Choice(DATA),
    default="gaussian",
    show_default=True,
    help="Input law: N(0, I_d), standard basis, [-1, 1]^d, or an image set (mnist, fashion-mnist).",
)
@click.option("--d", "d", type=COUNT, default=None, help="Input dimension [default: 30; 784 for image data].")
@click.option("--width", type=COUNT, default=100, show_default=True, help="Hidden units (two-layer).")
@click.option("--widths", type=str, default=None, help="mlp: hidden layer widths, e.g. 64,32,16 [default: --width].")
@click.option(
    "--activation", type=click.Choice(ACTIVATIONS), default="relu", show_default=True, help="mlp: ReLU or leaky-ReLU units."
)
@click.option("--leak", type=float, default=None, help="mlp, --activation leaky: slope below 0 [default: 0.01].")
@click.option("--lr", type=float, default=None, help="Learning rate h [default: 1/d^2 neuron, 1/d two-layer].")
@click.option(
    "--p",
    "p",
    type=float,
    default=1.0,
    show_default=True,
    help="Label noise rate: relabel uniformly with probability p (1 = pure noise).",
)
@click.option("--n-train", type=COUNT, default=None, help="Fixed training set of this size [default: fresh samples each step].")
@click.option("--data-path", type=str, default=None, help="Image data: a folder of IDX files instead of the cached copy.")
@click.option(
    "--classes",
    type=click.Choice(["2", "10"]),
    default="2",
    show_default=True,
    help="Image data: even vs odd (2) or the ten classes (10, a 10-output net).",
)
@click.option(
    "--eval-size", type=COUNT, default=10_000, show_default=True, help="Training samples on which error_train is measured."
)
@click.option("--n-test", type=COUNT, default=1000, show_default=True, help="Test set size (labelled runs).")
@click.option(
    "--probe-size", type=COUNT, default=1000, show_default=True, help="Probe inputs for active neurons (basis: e_1..e_d)."
)
@click.option("--cube-dims", type=COUNT, default=2, show_default=True, help="K: coordinates that decide the cube label.")
@click.option(
    "--init",
    type=click.Choice(INITS),
    default="uniform",
    show_default=True,
    help="Weight law U[-a, a] or N(0, a^2); biases start at 0.",
)
@click.option("--init-scale", type=float, default=None, help="a [default: sqrt(3) uniform, 1 gaussian].")
@click.option("--init-norm", type=float, default=None, help="Rescale each trained layer's initial weights to this norm.")
@click.option("--steps", type=COUNT, default=1_000_000, show_default=True, help="SGD steps per replica (1e6 notation accepted).")
@click.option(
    "--records", type=COUNT, default=100, show_default=True, help="Checkpoints per replica (at most; 0 and the last step always)."
)
@click.option("--record-spacing", type=click.Choice(SPACINGS), default="log", show_default=True, help="Checkpoint spacing.")
@click.option("--replicas", type=COUNT, default=8, show_default=True, help="Independent replicas, run in parallel.")
@click.option("--seed", type=COUNT, default=0, show_default=True, help="Root of all random streams.")
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
    params["classes"] = int(params["classes"])
    try:
        cfg = RunConfig(**params)
    except ConfigError as exc:
        fail(exc.cli_message())
    try:
        thread_count(threads)
    except ConfigError as exc:
        fail(exc.cli_message())
    path = out if out is not None else DEFAULT_RESULTS / cfg.default_filename()
    try:
        check_writable(path, overwrite)
    except FileExistsError as exc:
        fail(f"--out {exc}")
    except OSError as exc:
        fail(f"--out {exc}")
    progress = Progress(not no_progress, cfg.replicas)
    try:
        result = run(cfg, threads=threads, progress=progress)
    except (SimulationError, DatasetError) as exc:
        progress.close()
        fail(str(exc), code=1)
    finally:
        progress.close()
    write_results(result.table, path, overwrite=overwrite)
    _summary(result, path)


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
