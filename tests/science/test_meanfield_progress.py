"""``fastnoise meanfield`` at work: its stepped integration, its progress, its cost estimate and refusal, and stopping on signals.

No test here measures wall time: the estimate's refusal is checked on its rule (tau_slide, the
budget), the notices by their order, and the signals by what they leave behind.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import fastnoise.meanfield as mf
from fastnoise import RunConfig
from fastnoise.cli import main
from fastnoise.losses import get_loss
from fastnoise.meanfield import Monitor, estimate, theory
from fastnoise.meanfield import cost as cost_mod
from fastnoise.meanfield.flow import neuron_rhs
from fastnoise.meanfield.integrate import solve
from fastnoise.stopping import Interrupted, stop_on_signals, stoppable

ROOT = Path(__file__).resolve().parents[2]

#: The slides' Fig. 2(b): two-layer net, hinge, no bias, width 100, d = 30, h = 1/30, to tau = 10.
FIG2B = ["--model", "twolayer", "--loss", "hinge", "--no-bias", "--width", "100", "--lr", str(1 / 30), "--steps", "300"]


def _stop_after(evaluations: int) -> Monitor:
    """A monitor that asks to stop once ``evaluations`` field evaluations are done (as a signal handler would)."""

    def report(mon: Monitor) -> None:
        if mon.nfev >= evaluations and not mon.signum:
            mon.request_stop(signal.SIGINT)

    return Monitor(report)


# --------------------------------------------------------------------------- the stepped integration


def test_the_stepped_integration_gives_solve_ivps_numbers():
    """integrate.solve is solve_ivp's loop written out: the same states at the same times, bitwise, and the same count."""
    from scipy.integrate import solve_ivp

    rhs = neuron_rhs("logistic", 0.4, 10, 0.01, True)
    y0 = np.array([0.3, 2.0, 0.1, 0.0])
    taus = np.linspace(0.0, 40.0, 9)
    ref = solve_ivp(rhs, (0.0, 40.0), y0, method="Radau", t_eval=taus, rtol=1e-8, atol=1e-12)
    mon = Monitor()
    got = solve(rhs, y0, taus, "Radau", 1e-8, 1e-12, monitor=mon)
    assert got.complete and np.array_equal(got.t, ref.t) and np.array_equal(got.y, ref.y)
    assert got.nfev == ref.nfev and mon.nfev >= ref.nfev  # the monitor also counts the Jacobian's differences
    assert mon.finished == 1


def test_a_stop_keeps_the_neuron_flows_checkpoints_passed():
    """Stopped in the second of three flows: the first whole, the second up to where it got, the third absent.

    Every row kept is the uninterrupted table's row (same solver, same steps up to the stop).
    """
    cfg = RunConfig(model="neuron", loss="logistic", bias=True, d=8, p=0.5, steps=5000, records=15, replicas=3)
    full = theory(cfg)
    per_flow = full.info["nfev"] / 3
    part = theory(cfg, monitor=_stop_after(int(1.4 * per_flow)))
    info = part.info
    assert info["complete"] is False and full.info["complete"] is True
    stop = info["stopped"]
    n = full.table.step.nunique()
    assert stop["signal"] == signal.SIGINT and stop["flows_finished"] == 1
    assert stop["checkpoints_reached"][0] == n and 0 < stop["checkpoints_reached"][1] < n and stop["checkpoints_reached"][2] == 0
    assert set(part.table.replica) == {0, 1} and info["horizon_step"] == part.table.step.max() == stop["last_step"]
    merged = part.table.merge(full.table, on=["replica", "step"], suffixes=("", "_full"))
    assert len(merged) == len(part.table)
    np.testing.assert_array_equal(merged.norm_1, merged.norm_1_full)


def test_a_stop_in_a_nets_second_scrambling_averages_what_each_checkpoint_had():
    """Two scramblings, stopped in the second: checkpoints both passed are the full mean; later ones the first's alone."""
    cfg = RunConfig(model="twolayer", loss="logistic", bias=True, d=5, width=4, lr=0.05, steps=400, records=12, replicas=1)
    full = theory(cfg, points=9, scramblings=2)
    one = theory(cfg, points=9, scramblings=1)  # the first scrambling (same seed), alone
    part = theory(cfg, points=9, scramblings=2, monitor=_stop_after(int(0.75 * full.info["nfev"])))
    assert part.info["complete"] is False and part.info["stopped"]["flows_finished"] == 0
    n = full.table.step.nunique()
    assert len(part.table) == n  # the first scrambling passed every checkpoint
    got, both, first = (t.table.norm_1.to_numpy() for t in (part, full, one))
    k = int(np.argmin(got == both))  # the first checkpoint the second scrambling did not pass
    assert 1 < k < n, k
    np.testing.assert_array_equal(got[:k], both[:k])
    np.testing.assert_array_equal(got[k:], first[k:])
    assert part.info["qmc_se"]["log10_norm_1"] >= 0


def test_a_stop_before_any_checkpoint_leaves_an_empty_table_and_no_standard_error():
    cfg = RunConfig(model="twolayer", loss="hinge", d=6, width=6, lr=0.02, steps=100, records=12, replicas=1)
    part = theory(cfg, points=9, scramblings=2, monitor=_stop_after(0))
    assert part.table.empty and part.info["complete"] is False
    assert all(math.isnan(v) for v in part.info["qmc_se"].values())


def test_the_monitor_takes_one_stop_and_a_second_signal_interrupts():
    """First signal: the monitor stops the flow; second: nothing takes it, Interrupted (exit 130/143 in the CLI)."""
    mon = Monitor()
    with stop_on_signals(), stoppable(mon):
        signal.raise_signal(signal.SIGINT)
        assert mon.signum == signal.SIGINT
        with pytest.raises(Interrupted) as exc:
            signal.raise_signal(signal.SIGTERM)
    assert exc.value.signum == signal.SIGTERM
    mon.plan(4, 2.0)
    mon.finished, mon.tau = 1, 1.0
    assert mon.fraction == pytest.approx(1.5 / 4)


# --------------------------------------------------------------------------- the estimate and the refusal


def test_the_losses_say_whether_their_step_is_discontinuous():
    assert get_loss("hinge").discontinuous and not get_loss("logistic").discontinuous


def test_a_hinge_net_past_tau_slide_is_refused_and_the_horizon_offered_is_within_it():
    """tau_slide = 0.6 sqrt(width) min(1, sqrt(30 / d)); the logistic net to the same tau is not refused."""
    cfg = RunConfig(model="twolayer", loss="hinge", width=16, d=30, lr=1 / 30, steps=300)
    c = estimate(cfg, points=9)
    assert c.discontinuous and c.tau_slide == pytest.approx(0.6 * 4.0)
    assert c.sliding and c.refused
    step = c.feasible_step
    assert 0 < step * c.h <= c.tau_slide < (step + 1) * c.h
    assert c.integrations == 2 and c.evaluations() == pytest.approx(2 * (100 + 500 * 10))
    wide = estimate(RunConfig(model="twolayer", loss="hinge", width=16, d=120, lr=1 / 30, steps=300), points=9)
    assert wide.tau_slide == pytest.approx(0.6 * 4.0 * 0.5)
    smooth = estimate(RunConfig(model="twolayer", loss="logistic", width=16, d=30, lr=1 / 30, steps=300), points=9)
    assert not smooth.discontinuous and math.isinf(smooth.tau_slide) and not smooth.refused
    neuron = estimate(RunConfig(model="neuron"))  # the slides' Fig. 1: 8 flows to tau = 1111, seconds
    assert not neuron.refused and not neuron.discontinuous


def test_over_the_budget_is_refused_and_the_horizon_offered_is_the_largest_within_it(monkeypatch):
    cfg = RunConfig(model="twolayer", loss="logistic", width=16, d=30, lr=1 / 30, steps=3000)
    c = estimate(cfg, points=9)
    monkeypatch.setattr(cost_mod, "BUDGET_SECONDS", c.seconds() / 3)
    assert c.refused and not c.sliding
    step = c.feasible_step
    assert 0 < step < c.steps
    assert c.seconds(step * c.h) <= cost_mod.BUDGET_SECONDS < c.seconds((step + 1) * c.h)


def test_cli_refuses_the_fig2b_setting_in_one_line_before_integrating(tmp_path, monkeypatch):
    """The user's report: to tau = 10 the hinge net's flow slides; one line, exit 2, what to do instead, no file."""

    def never(*args, **kwargs):
        raise AssertionError("the flow must not be integrated")

    monkeypatch.setattr(mf, "theory", never)
    out = tmp_path / "f.parquet"
    r = CliRunner().invoke(main, ["meanfield", *FIG2B, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: --steps 300 (tau = h * step = 10)")
    for word in ("discontinuous", "--horizon 180", "--loss logistic", "--force"):
        assert word in r.stderr, word
    assert not out.exists()


def test_cli_force_integrates_what_the_estimate_refuses_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cost_mod, "BUDGET_SECONDS", 0.0)  # everything is over the budget
    opts = ["--model", "neuron", "--d", "5", "--steps", "300", "--replicas", "2", "--records", "8"]
    refused = CliRunner().invoke(main, ["meanfield", *opts, "--out", str(tmp_path / "a.parquet")])
    assert refused.exit_code == 2 and "--force" in refused.stderr and "the limit is" in refused.stderr
    lines = []
    from fastnoise.cli import meanfield as cli_mf

    monkeypatch.setattr(cli_mf.log, "info", lambda fmt, *args: lines.append(fmt % args))
    forced = CliRunner().invoke(main, ["meanfield", *opts, "--force", "--out", str(tmp_path / "a.parquet")])
    assert forced.exit_code == 0, forced.output
    assert lines and "out of reach by the estimate" in lines[0] and "estimated" in lines[0]
    meta = pq.read_schema(tmp_path / "a.parquet").metadata
    assert json.loads(meta[b"fastnoise.meanfield"])["complete"] is True


# --------------------------------------------------------------------------- progress and signals, in a subprocess

#: Logistic net, width 30, to tau = 30: estimated at minutes, so it is still integrating when the signal comes.
LONG = ["--model", "twolayer", "--loss", "logistic", "--width", "30", "--lr", str(1 / 30), "--steps", "900", "--records", "40"]


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_after_the_first_progress_line_writes_the_flow_so_far(tmp_path, sig, status):
    """On a non-terminal stderr: the estimate first, then a progress line (tau, evaluations, rate, remaining);
    a signal then leaves the flow integrated so far as the table, marked partial, with the run's exit status."""
    out = tmp_path / "mf.parquet"
    cmd = [sys.executable, "-m", "fastnoise", "meanfield", *LONG, "--log-every", "1s", "--out", str(out)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "field evaluations (" in line:
            proc.send_signal(sig)
            break
    stdout, rest = proc.communicate(timeout=120)
    stderr = "".join(seen) + rest
    assert proc.returncode == status, stderr
    assert "estimated" in seen[0] and "field evaluations of" in seen[0], seen  # the estimate is the first notice
    progress = seen[-1]
    assert "tau " in progress and " of 30" in progress and "/s)" in progress and "remaining" in progress
    assert "Interrupted at tau" in stderr and "marked partial" in stderr
    assert "(partial)" in stdout
    meta = json.loads(pq.read_schema(out).metadata[b"fastnoise.meanfield"])
    assert meta["complete"] is False and meta["stopped"]["signal"] == sig
    table = pq.read_table(out).to_pandas()
    assert 0 < table.step.max() == meta["horizon_step"] < 900


def test_plot_theory_skips_an_out_of_reach_flow_with_a_reason(tmp_path):
    """`plot --theory` takes the same estimate: a hinge net past tau_slide is named on stderr and drawn without its flow."""
    table = tmp_path / "run.parquet"
    opts = ["--model", "twolayer", "--loss", "hinge", "--width", "4", "--lr", str(1 / 30), "--steps", "300", "--replicas", "2"]
    assert CliRunner().invoke(main, ["run", *opts, "--out", str(table), "--no-progress"]).exit_code == 0
    r = CliRunner().invoke(main, ["plot", str(table), "--theory", "--out", str(tmp_path / "fig.png")])
    assert r.exit_code == 0, r.output
    assert "--theory: no flow for configuration" in r.stderr and "out of reach" in r.stderr and "--horizon" in r.stderr
    assert (tmp_path / "fig.png").exists()
