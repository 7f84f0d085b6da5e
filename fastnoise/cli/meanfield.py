"""``fastnoise meanfield``: the h -> 0 mean-field flow of a run configuration, written as a run-shaped Parquet table.

(``fastnoise theory``, its old name, is a hidden alias that says so on stderr: the word "theory"
is kept for :mod:`fastnoise.theory`, the closed-form predictions of the paper's theorems.)
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import ConfigError, RunConfig
from .app import COUNT, DEFAULT_RESULTS, check_out, deprecated_alias, fail, main, verbosity
from .options import config_options, progress_options
from .progress import QUIET_SECONDS, Progress, duration

if TYPE_CHECKING:
    from ..meanfield import Cost, Monitor

# scipy, pandas and the flow (fastnoise.meanfield) are imported by meanfield_cmd once its options
# are valid; the engine (Numba) never is: stopping on signals comes from fastnoise.stopping.

log = logging.getLogger("fastnoise.cli")


class FlowProgress(Progress):
    """The progress of ``fastnoise meanfield``: tau reached of tau total, field evaluations, their rate, the time left.

    Fed by the flow's :class:`~fastnoise.meanfield.Monitor` (call it with the monitor); counts the
    work in thousandths of the whole (every integration to tau_end). On a non-terminal stderr the
    first line comes as soon as the quiet period is over (:data:`~.progress.QUIET_SECONDS`), the
    next ones every ``log_every`` seconds.
    """

    _UNITS = 1000

    def __init__(self, enabled: bool, label: str, log_every: float) -> None:
        super().__init__(enabled, self._UNITS, label, unit="field evaluations", log_every=log_every, first_log=QUIET_SECONDS)
        self.monitor: Monitor | None = None
        self.nfev_from = 0

    def __call__(self, monitor: Monitor) -> None:  # type: ignore[override]
        """The monitor's report: progress in thousandths of the total tau."""
        if self.monitor is None:
            self.nfev_from = monitor.nfev
        self.monitor = monitor
        self.update(int(monitor.fraction * self._UNITS))

    def _count(self) -> str:
        mon = self.monitor
        if mon is None:
            return ""
        text = f"tau {mon.tau:.4g} of {mon.tau_end:.4g}"
        if mon.solves > 1:
            text += f" (integration {min(mon.finished + 1, mon.solves)} of {mon.solves})"
        return text

    def _status(self, now: float) -> str:
        mon = self.monitor
        nfev = mon.nfev if mon is not None else 0
        per_second = (nfev - self.nfev_from) / max(now - (self.rate_from or self.t0), 1e-9)
        return (
            f"{nfev:,} field evaluations ({per_second:.3g}/s), elapsed {duration(now - self.t0)}, "
            f"remaining ~{duration(self._left(now))}"
        )

    def update(self, done: int, total: int | None = None) -> None:
        """As :meth:`Progress.update`; the bar's text also says how far in tau."""
        if self.bar is not None:
            self.bar.label = f"{self.label}: {self._count()}"
        super().update(done, total)


def _refusal(cfg: RunConfig, cost: Cost) -> str:
    """The one-line reason ``fastnoise meanfield`` gives for refusing ``cost``, and what to do instead."""
    from ..meanfield.cost import BUDGET_SECONDS

    where = f"--steps {cfg.steps:,}" if cost.steps == cfg.steps else f"--horizon {cost.steps:,}"
    what = f"{where} (tau = h * step = {cost.tau:.4g}) is out of reach of the mean-field flow: "
    if cost.sliding:
        what += (
            f"its field is discontinuous ({cfg.loss} loss over a point set) and past tau ~ {cost.tau_slide:.2g} "
            f"(width {cfg.hidden_widths[0]}, d {cfg.d}) its flows slide along the jumps, where the integrator's steps collapse"
        )
        instead = ["--loss logistic (a continuous field)"]
    else:
        what += (
            f"estimated {cost.evaluations():,.0f} field evaluations of {cost.seconds_per_evaluation:.2g} s, "
            f"~{duration(cost.seconds())} (the limit is {duration(BUDGET_SECONDS)})"
        )
        instead = []
        if cost.scrambled:
            instead.append("a smaller --width, --points or --scramblings")
        if cost.flows > 1:
            instead.append("fewer --flows")
    step = cost.feasible_step
    if step > 0:
        when = duration(cost.seconds(step * cost.h))
        instead.insert(0, f"integrate to a shorter step with --horizon {step} (tau {step * cost.h:.3g}, ~{when})")
    advice = f"; instead: {', or '.join(instead)}" if instead else ""
    return f"{what}{advice}; --force integrates anyway (Ctrl-C keeps what was integrated)"


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
@click.option(
    "--force",
    is_flag=True,
    help="Integrate even a flow the cost estimate puts out of reach (past the hinge nets' tau_slide, or over an hour).",
)
@progress_options
def meanfield_cmd(
    out: Path | None,
    overwrite: bool,
    flows: int | None,
    points: int,
    scramblings: int,
    horizon: int | None,
    no_second_moment: bool,
    force: bool,
    log_every: float,
    no_progress: bool,
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

    \b
    Cost: before integrating, the flow's cost is estimated (one field evaluation timed, times the
    evaluations its kind of field needs) and flows out of reach are refused with what to do instead
    (exit 2): a hinge net past tau ~ 0.6 sqrt(width) (its flows slide along the field's jumps), or
    anything estimated over an hour. --force integrates anyway. Progress: a bar on a terminal, else
    a line every --log-every. Ctrl-C or SIGTERM: the flow integrated so far is written as the table
    (marked partial: fastnoise.meanfield "complete" false), exit 130 (143 on SIGTERM).
    """
    try:
        cfg = RunConfig(**params)
    except ConfigError as exc:
        fail(exc.cli_message())
    from ..io import check_writable, write_results
    from ..meanfield import Monitor, estimate, theory, unsupported
    from ..provenance import code_stamp, run_record, utc_now
    from ..stopping import EXIT_STATUS, Interrupted, stop_on_signals, stoppable

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
    kw: dict[str, Any] = dict(flows=flows, points=points, scramblings=scramblings, horizon=horizon)
    desc = f"{cfg.model}/{cfg.loss}/{'bias' if cfg.bias else 'no bias'}"
    # Ctrl-C and SIGTERM (even if SIGINT was inherited ignored): the integration stops at its next
    # field evaluation and keeps what it integrated (the monitor, registered while it runs); before
    # and after it, or at a second signal, the command stops at once.
    try:
        with stop_on_signals():
            cost = estimate(cfg, second_moment=not no_second_moment, **kw)
            if cost.refused and not force:
                fail(_refusal(cfg, cost))
            if cost.seconds() >= QUIET_SECONDS or cost.refused:
                log.info(
                    "mean-field flow of %s to tau = %.4g (step %s): %s integration%s, estimated %s field evaluations "
                    "of %.2g s, ~%s%s",
                    desc,
                    cost.tau,
                    f"{cost.steps:,}",
                    cost.integrations,
                    "s" * (cost.integrations != 1),
                    f"{cost.evaluations():,.0f}",
                    cost.seconds_per_evaluation,
                    duration(cost.seconds()),
                    " (out of reach by the estimate: --force)" if cost.refused else "",
                )
            shown = not no_progress and verbosity() >= 0
            progress = FlowProgress(shown, f"mean-field flow to tau = {cost.tau:.4g}", log_every)
            monitor = Monitor(progress)
            started, t0 = utc_now(), time.perf_counter()
            try:
                with stoppable(monitor):
                    res = theory(cfg, second_moment=not no_second_moment, monitor=monitor, **kw)
            except RuntimeError as exc:  # the integrator failed
                progress.close()
                fail(str(exc), code=1)
            finally:
                progress.close()
            record = run_record(
                started=started, ended=utc_now(), wall_seconds=time.perf_counter() - t0, compile_seconds=0.0, threads=1
            )
            extra = {"meanfield": res.info, "run": record, "code": code_stamp()}
            try:
                write_results(res.table, path, overwrite=overwrite, extra=extra)
            except OSError as exc:
                fail(f"--out could not write {path}: {exc.strerror or exc}", code=1)
    except Interrupted as exc:  # before or after the integration, or a second signal
        click.echo(f"Interrupted; nothing written to {path}.", err=True)
        sys.exit(EXIT_STATUS[exc.signum])
    _summary(cfg, res, path, desc)
    if not res.info["complete"]:
        stop = res.info["stopped"]
        where = f" in integration {monitor.finished + 1} of {monitor.solves}" if monitor.solves > 1 else ""
        click.echo(
            f"Interrupted at tau {monitor.tau:.4g} of {cost.tau:.4g}{where}: the checkpoints reached (to step "
            f"{stop['last_step']:,} of {cost.steps:,}) are in {path}, marked partial (fastnoise.meanfield complete = false).",
            err=True,
        )
        sys.exit(EXIT_STATUS[monitor.signum])


def _summary(cfg: RunConfig, res: Any, path: Path, desc: str) -> None:
    """The command's report on stdout: the metrics at the first and last step, the error estimate, the cost, the file."""
    df = res.table
    click.echo(
        f"mean-field flow of {desc}, d={cfg.d}, lr={cfg.lr:.4g}, p={cfg.p:g}{'' if res.info['complete'] else ' (partial)'}"
    )
    if df.empty:
        click.echo(f"  took {res.info['seconds']:.2f} s; no checkpoint reached: the table {path} is empty")
        return
    last = df[df.step == df.step.max()]
    for col in ("norm_1", "norm_2", "active_mean", "error_test"):
        if last[col].notna().any():
            start, end = df[df.step == 0][col].mean(), last[col].mean()
            click.echo(f"  {col:<12} mean {start:.4g} at step 0 -> {end:.4g} at step {int(last.step.iloc[0]):,}")
    err = {k: v for k, v in (res.info.get("qmc_se") or {}).items() if v == v}  # NaN with one scrambling
    if err:
        click.echo(
            "  quasi-Monte Carlo standard error (largest over checkpoints): " + ", ".join(f"{k} {v:.2g}" for k, v in err.items())
        )
    took = f"{res.info['seconds']:.2f} s" if res.info["seconds"] < 60 else duration(res.info["seconds"])
    click.echo(f"  took {took} ({res.info['method']}, {res.info['nfev']:,} field evaluations)")
    click.echo(f"  table: {path} ({len(df)} rows)")


main.add_command(deprecated_alias(meanfield_cmd, "theory"))
