"""``fastnoise check``: every theorem of the paper, measured (see fastnoise.checks)."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from ..checks import CHECKS, run_check
from .app import DEFAULT_RESULTS, fail, main, verbosity
from .options import SEED, progress_options
from .progress import Heartbeat

log = logging.getLogger("fastnoise.cli")


@main.command("check")
@click.option("--full", is_flag=True, help="Larger sizes (slower) instead of the quick mode.")
@click.option("--only", "only", multiple=True, metavar="NAME", help=f"Run only this check (repeatable): {', '.join(CHECKS)}.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS / "check",
    show_default=True,
    help="Folder for the measurements (Parquet) and plots (PNG).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Root seed of the checks' runs.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@progress_options
def check_cmd(
    full: bool, only: tuple[str, ...], out: Path, seed: int, no_plots: bool, log_every: float, no_progress: bool
) -> None:
    """Check each theorem numerically: prediction, measurement, tolerance, verdict.

    Exit status 0 when every check passes, 1 when any fails. Each check is announced on stderr as
    it starts (check 3/9: NAME); when stderr is not a terminal, a line every --log-every says a
    long check is still running.
    """
    unknown = [n for n in only if n not in CHECKS]
    if unknown:
        fail(f"--only {unknown[0]!r} is not a check; allowed: {', '.join(CHECKS)}")
    import pandas as pd

    from ..io import check_writable, write_results

    names = list(only) or list(CHECKS)
    mode = "full" if full else "quick"
    try:
        check_writable(out / "rows.parquet", overwrite=True)
    except OSError as exc:
        fail(f"--out {exc}")
    all_rows = []
    failed = []
    beat = not no_progress and verbosity() >= 0
    for i, name in enumerate(names, 1):
        log.info("check %d/%d: %s (%s mode)...", i, len(names), name, mode)
        t0 = time.perf_counter()
        with Heartbeat(beat, f"check {name}", log_every):
            res = run_check(name, mode=mode, seed=seed)
        dt = time.perf_counter() - t0
        verdict = "pass" if res.passed else "FAIL"
        click.echo(f"\n== {name}: {res.title} [{verdict}, {dt:.1f} s]")
        width = max((len(r.setting) for r in res.rows), default=0)
        for r in res.rows:
            click.echo(f"  {r.verdict:<6} {r.setting:<{width}}  predicted: {r.prediction}")
            click.echo(f"  {'':<6} {'':<{width}}  measured:  {r.measured}   (tolerance {r.tolerance})")
        if not res.passed:
            failed.append(res)
        if not res.data.empty:
            data = res.data.copy()
            # the runs' configurations when the check's table holds their rows (config_id), else none
            configs = res.data.attrs.get("configs") if "config_id" in data.columns else None
            data.attrs = {"configs": configs, "config": res.data.attrs.get("config")} if configs else {}
            write_results(
                data, out / f"{name}.parquet", overwrite=True, extra={"check": {"name": name, "mode": mode, "seed": seed}}
            )
        if not no_plots and res.plot is not None and res.passed is not None and len(res.data):
            path = res.plot(out)
            click.echo(f"  plot: {path}")
        all_rows += [
            dict(
                check=r.check,
                setting=r.setting,
                prediction=r.prediction,
                measured=r.measured,
                tolerance=r.tolerance,
                verdict=r.verdict,
                mode=mode,
                seed=seed,
            )
            for r in res.rows
        ]
    table = pd.DataFrame(all_rows)
    write_results(table, out / "rows.parquet", overwrite=True, extra={"check": {"mode": mode, "seed": seed}})
    n_pass = len(names) - len(failed)
    click.echo(f"\n{n_pass}/{len(names)} checks passed ({mode} mode); measurements and plots in {out}/")
    if failed:
        click.echo("Failed:", err=True)
        for res in failed:
            click.echo(res.failures(), err=True)
        sys.exit(1)
