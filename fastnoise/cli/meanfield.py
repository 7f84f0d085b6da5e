"""``fastnoise meanfield``: the h -> 0 mean-field flow of a run configuration, written as a run-shaped Parquet table.

(``fastnoise theory``, its old name, is a hidden alias that says so on stderr: the word "theory"
is kept for :mod:`fastnoise.theory`, the closed-form predictions of the paper's theorems.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..config import ConfigError, RunConfig
from .app import COUNT, DEFAULT_RESULTS, check_out, deprecated_alias, fail, main
from .options import config_options


@main.command("meanfield")
@config_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output Parquet file [default: results/meanfield_<parameters>.parquet].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option(
    "--flows",
    type=COUNT,
    default=None,
    help="Flows from the initial weights of replicas 0..N-1 [default: every replica for the neuron, 1 for a two-layer net].",
)
@click.option(
    "--points",
    type=click.IntRange(8, 20),
    default=13,
    show_default=True,
    help="Two-layer nets: log2 of the quasi-Monte Carlo points (scrambled Sobol) the expectations are taken over.",
)
@click.option(
    "--scramblings",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Two-layer nets: independent scramblings of the rule, one flow each; the table holds their mean, "
    "the metadata their largest standard error.",
)
@click.option("--horizon", type=COUNT, default=None, help="Integrate only to this step [default: --steps].")
@click.option("--no-second-moment", is_flag=True, help="Drop the O(h) second-moment terms: plain gradient flow.")
def meanfield_cmd(
    out: Path | None,
    overwrite: bool,
    flows: int | None,
    points: int,
    scramblings: int,
    horizon: int | None,
    no_second_moment: bool,
    **params: Any,
) -> None:
    """Integrate the mean-field flow (h -> 0, time h*t) of a run and write it as a table like the run's.

    Takes the options of `fastnoise run`. The table has the run's columns (null where the flow gives
    no value: updates, active_min, dead, error_train) and source = "meanfield"; one flow per
    replica started from that replica's initial weights (by default every replica for the neuron,
    replica 0 for a two-layer net; --flows N: replicas 0..N-1). Covered: --model neuron (hinge and
    logistic, with or without bias, any --p; expectations in closed form or by quadrature) and
    --model twolayer with --train all (expectations over a quasi-Monte Carlo rule), both with
    --data gaussian and fresh samples.
    """
    try:
        cfg = RunConfig(**params)
    except ConfigError as exc:
        fail(exc.cli_message())
    from ..io import check_writable, write_results
    from ..meanfield import theory, unsupported
    from ..provenance import code_stamp, run_record, utc_now

    why = unsupported(cfg)
    if why is not None:
        fail(f"--{why[0]}: {why[1]}")
    if flows is not None and not 1 <= flows <= cfg.replicas:
        fail(f"--flows must be between 1 and --replicas ({cfg.replicas}), got {flows}")
    if horizon is not None and not 1 <= horizon <= cfg.steps:
        fail(f"--horizon must be between 1 and --steps ({cfg.steps}), got {horizon}")
    check_out(out, ".parquet", "the flow's table is Parquet")
    path = out if out is not None else DEFAULT_RESULTS / f"meanfield_{cfg.default_filename()}"
    try:
        check_writable(path, overwrite)
    except FileExistsError as exc:
        fail(f"--out {exc}")
    except OSError as exc:
        fail(f"--out {exc}")
    started, t0 = utc_now(), time.perf_counter()
    try:
        res = theory(
            cfg, flows=flows, points=points, scramblings=scramblings, horizon=horizon, second_moment=not no_second_moment
        )
    except RuntimeError as exc:  # the integrator failed
        fail(str(exc), code=1)
    record = run_record(started=started, ended=utc_now(), wall_seconds=time.perf_counter() - t0, compile_seconds=0.0, threads=1)
    try:
        write_results(res.table, path, overwrite=overwrite, extra={"meanfield": res.info, "run": record, "code": code_stamp()})
    except OSError as exc:
        fail(f"--out could not write {path}: {exc.strerror or exc}", code=1)
    df = res.table
    last = df[df.step == df.step.max()]
    click.echo(
        f"mean-field flow of {cfg.model}/{cfg.loss}/{'bias' if cfg.bias else 'no bias'}, d={cfg.d}, lr={cfg.lr:.4g}, p={cfg.p:g}"
    )
    for col in ("norm_1", "norm_2", "active_mean", "error_test"):
        if last[col].notna().any():
            start, end = df[df.step == 0][col].mean(), last[col].mean()
            click.echo(f"  {col:<12} mean {start:.4g} at step 0 -> {end:.4g} at step {int(last.step.iloc[0]):,}")
    err = {k: v for k, v in (res.info.get("qmc_se") or {}).items() if v == v}  # NaN with one scrambling
    if err:
        click.echo(
            "  quasi-Monte Carlo standard error (largest over checkpoints): " + ", ".join(f"{k} {v:.2g}" for k, v in err.items())
        )
    click.echo(f"  took {res.info['seconds']:.2f} s ({res.info['method']}, {res.info['nfev']} field evaluations)")
    click.echo(f"  table: {path} ({len(df)} rows)")


main.add_command(deprecated_alias(meanfield_cmd, "theory"))
