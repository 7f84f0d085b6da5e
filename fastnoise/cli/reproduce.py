"""``fastnoise reproduce`` (the slides' figures) and ``fastnoise plot`` (any run table)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from ..data import DatasetError
from ..io import ResultsFileError, check_writable, read_results
from ..reproduce import EXPERIMENTS, plot_table, run_experiment
from . import DEFAULT_RESULTS, check_out, fail, main
from .options import SEED


@main.command("reproduce")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="Say what each experiment is, its parameters and its run time.")
@click.option("--quick", is_flag=True, help="Shrink each experiment to under a minute (for tests).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Tables and figures go to OUT/NAME/.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Root seed.")
def reproduce_cmd(name: str | None, list_: bool, quick: bool, out: Path, seed: int) -> None:
    """Regenerate a figure of the slides: NAME is one of the experiments (see --list) or all."""
    if list_ or name is None:
        for e in EXPERIMENTS.values():
            click.echo(f"{e.name:<7} {e.figure:<10} {e.description}")
            click.echo(f"{'':<18} {e.parameters}; about {e.minutes_full:g} min on 2 cores (--quick: < 1 min)")
        if name is None and not list_:
            fail("give an experiment NAME (" + ", ".join([*EXPERIMENTS, "all"]) + ") or --list")
        return
    if name != "all" and name not in EXPERIMENTS:
        fail(f"NAME {name!r} is not an experiment; allowed: {', '.join([*EXPERIMENTS, 'all'])}")
    names = list(EXPERIMENTS) if name == "all" else [name]
    try:
        check_writable(out / names[0] / "probe.parquet", overwrite=True)
    except OSError as exc:
        fail(f"--out {exc}")
    for n in names:
        click.echo(f"== {n}: {EXPERIMENTS[n].description}{' (quick)' if quick else ''}")
        try:
            summary = run_experiment(n, out, quick=quick, seed=seed)
        except DatasetError as exc:
            fail(str(exc), code=1)
        for key, value in summary.items():
            if key == "figures":
                click.echo("  figure: " + ", ".join(str(p) for p in value))
            elif isinstance(value, pd.DataFrame):
                click.echo("  " + value.to_string().replace("\n", "\n  "))
            elif isinstance(value, float):
                click.echo(f"  {key}: {value:.4g}")
            else:
                click.echo(f"  {key}: {value}")


@main.command("plot")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Figure path (.png; a .pdf is written beside it) [default: beside the table].",
)
def plot_cmd(path: Path, out: Path | None) -> None:
    """Draw norms, active neurons and errors against steps from a table written by `fastnoise run`."""
    check_out(out, ".png", "the figure is written as .png (and a .pdf beside it)")
    try:
        df = read_results(path)
    except ResultsFileError as exc:
        fail(f"PATH {exc}")
    target = out if out is not None else path.with_suffix(".png")
    try:
        check_writable(target, overwrite=True)
    except OSError as exc:
        fail(f"--out {exc}")
    for p in plot_table(df, target):
        click.echo(str(p))
    sys.exit(0)
