"""The mean-field flow (fastnoise.meanfield): its expectations against the engine's own steps, its integration, its tables.

Tolerances, each stated where it is used:

- an expectation against a Monte Carlo mean of the engine's steps (``fastnoise.probes.apply_step``
  on seeded draws): within 5 standard errors of the mean (SE = sample s.d. / sqrt(n)); with the
  quasi-Monte Carlo rule of the two-layer net, 5 times the combined error sqrt(SE_MC^2 + SE_QMC^2),
  SE_QMC from 4 independent scramblings;
- a flow against an independent integration (another method, tolerances 100 to 1000 times
  tighter): within 100 times the looser relative tolerance (the global error of an adaptive solver
  is a small multiple of its local tolerance over these horizons);
- conservation of the balance |M_i|^2 - v_i^2 by the gradient flow: to 1e-5 relative (100 times the
  integrator's 1e-7 tolerance), far below the O(h) drift (> 1e-2) that the second-moment terms cause.
"""

from __future__ import annotations

import math

import faults
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fastnoise import RunConfig, analysis, checks, theory
from fastnoise.cli import main
from fastnoise.cli.docs import render
from fastnoise.engine import run
from fastnoise.io import concat_results, read_results, write_results
from fastnoise.meanfield import SOURCE
from fastnoise.meanfield import neuron as nm
from fastnoise.meanfield import theory as mean_field
from fastnoise.meanfield.flow import neuron_flow, twolayer_flow
from fastnoise.meanfield.twolayer import TwoLayerField, active_mean
from fastnoise.probes import apply_step
from fastnoise.provenance import MEANFIELD_SOURCES, kernel_hash
from fastnoise.reproduce.dying import half_time
from fastnoise.weights import initial_weights

SEED = 20261201


def _labels(rng, x1, p, n):
    """Clean label sign(x_1), replaced by a uniform draw with probability p (docs/model.md 1.7)."""
    clean = np.where(x1 > 0, 1.0, -1.0)
    return np.where(rng.random(n) < p, np.where(rng.random(n) < 0.5, 1.0, -1.0), clean)


def _within(estimate, mean, se, what, k=5.0):
    z = np.abs(np.asarray(estimate) - np.asarray(mean)) / np.asarray(se)
    assert np.all(z <= k), f"{what}: |exact - MC| / SE = {np.round(z, 2)} (estimate {estimate}, MC {mean})"


def _neuron_mc(loss, bias, a, r, b, p, d, n, seed):
    """The five one-step expectations from n engine steps at V = (a, r, 0, ..., [b])."""
    h = 0.01
    cfg = RunConfig(model="neuron", loss=loss, bias=bias, d=d, lr=h)
    V = np.zeros(d + int(bias))
    V[0], V[1] = a, r
    if bias:
        V[d] = b
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = _labels(rng, X[:, 0], p, n)
    vals = np.empty((n, 5))
    for j in range(n):
        dV = (apply_step(cfg, {"V": V}, X[j], Y[j])[0]["V"] - V) / h
        vals[j] = [dV[0], dV[:d] @ V[:d], dV[d] if bias else 0.0, dV[:d] @ dV[:d], dV[d] ** 2 if bias else 0.0]
    return vals.mean(0), vals.std(0, ddof=1) / math.sqrt(n)


NEURON_STATES = [
    ("hinge", False, 1.2, 2.0, 0.0, 1.0),
    ("hinge", True, 0.7, 0.4, -0.5, 0.3),
    ("logistic", False, -1.5, 1.0, 0.0, 0.0),
    ("logistic", True, 2.5, 0.3, 0.4, 0.6),
]


@pytest.mark.parametrize(("loss", "bias", "a", "r", "b", "p"), NEURON_STATES)
def test_neuron_expectations_match_the_engine(loss, bias, a, r, b, p):
    """Each of the five expectations (closed form or quadrature) within 5 SE of 4000 engine steps (seeded)."""
    d = 6
    mean, se = _neuron_mc(loss, bias, a, r, b, p, d, 4000, SEED)
    exact = nm.moments(loss, a, r, b, p, d).as_array()
    keep = [0, 1, 3] + ([2, 4] if bias else [])  # without a bias, b and its square are not moved
    _within(exact[keep], mean[keep], se[keep], f"{loss} bias={bias} (a, r, b, p) = {(a, r, b, p)}")


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["hinge", "logistic"])
@pytest.mark.parametrize("state", [(0.3, 3.0, 1.0, 1.0), (4.0, 0.2, -0.3, 0.1), (-0.5, 0.05, 2.0, 0.8)])
def test_neuron_expectations_match_the_engine_long(loss, state):
    """The same at 40000 steps per state, over sharper states (large overlap, tiny off-target part)."""
    a, r, b, p = state
    mean, se = _neuron_mc(loss, True, a, r, b, p, 5, 40_000, SEED + 1)
    _within(nm.moments(loss, a, r, b, p, 5).as_array(), mean, se, f"{loss} {state}")


@pytest.mark.parametrize("state", [(1.0, 2.0, 0.0, 1.0), (0.7, 0.3, -0.5, 0.3), (3.0, 0.05, 0.2, 0.2), (0.01, 4.0, -3.0, 0.6)])
def test_hinge_closed_forms_equal_the_quadrature(state):
    """Two derivations of the hinge expectations: Owen's T (bivariate quadrants) and the 1-D rule with indicators, to 1e-12."""
    a, r, b, p = state
    closed = nm.hinge_moments(a, r, b, p, 30).as_array()
    quad = nm._quadrature(a, r, b, p, 30, "hinge", 1)
    np.testing.assert_allclose(closed, quad, rtol=0, atol=1e-12)


def test_logistic_quadrature_error_bound_is_small():
    """The logistic rule's error bound (panels halved) is below 1e-10 at states from init to plateau."""
    for state in [(1.0, 5.0, 0.0), (3.0, 0.02, 0.5), (0.0, 0.03, 0.0), (-2.0, 1.0, -1.0)]:
        assert nm.quadrature_error("logistic", *state, 0.4, 30) < 1e-10


def test_logistic_quadrature_at_zero_off_target_norm():
    """r = 0 (V along e_1): the label's edge coincides with the panel edge at 0; the rule must not break there."""
    m = nm.logistic_moments(0.7, 0.0, 0.1, 0.3, 10)
    assert np.all(np.isfinite(m.as_array()))
    near = nm.logistic_moments(0.7, 1e-9, 0.1, 0.3, 10)
    np.testing.assert_allclose(m.as_array(), near.as_array(), rtol=1e-6, atol=1e-9)


def test_clean_error_closed_form():
    """P(sign(x_1) N(x) <= 0): 1/2 at a = 0, arccos(a/n)/pi without bias, and a Monte Carlo value with one."""
    assert nm.clean_error(0.0, 1.0, 0.0) == pytest.approx(0.5, abs=1e-12)
    assert nm.clean_error(1.0, 1.0, 0.0) == pytest.approx(0.25, abs=1e-12)  # arccos(1/sqrt 2)/pi
    rng = np.random.default_rng(SEED)
    u, g = rng.standard_normal((2, 400_000))
    mc = np.mean(np.where(u > 0, 1, -1) * (0.8 * u + 0.6 * g - 0.4) <= 0)
    assert abs(nm.clean_error(0.8, 0.6, -0.4) - mc) <= 5 * math.sqrt(mc * (1 - mc) / 400_000)


def _net_mc(cfg, w, n, seed):
    """Per-sample first and second moments of the engine's two-layer step, divided by h and h^2."""
    h, d = cfg.lr, cfg.d
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = _labels(rng, X[:, 0], cfg.p, n)
    k = w["M"].shape[0]
    rows = []
    for j in range(n):
        new = apply_step(cfg, w, X[j], Y[j])[0]
        dM = (new["M"] - w["M"]) / h
        dv = (new["V"] - w["V"]) / h
        db = (new["b2"] - w["b2"]) / h
        dW = dM[:, :d]
        dB = dM[:, d] if cfg.bias else np.zeros(k)
        rows.append(np.concatenate([dW.ravel(), dB, dv, [db], np.sum(dW * dW, 1), dB**2, dv**2, [db**2]]))
    A = np.array(rows)
    return A.mean(0), A.std(0, ddof=1) / math.sqrt(n)


def _net_exact(cfg, w, scramblings=4, m=13):
    """The same moments from the QMC rule: mean over scramblings and its standard error."""
    vals = []
    for s in range(scramblings):
        f = TwoLayerField(cfg.d, cfg.bias, cfg.loss, cfg.p, m=m, seed=s)
        mo = f.moments(w["M"], w["V"], w["b2"])
        vals.append(np.concatenate([mo.GW.ravel(), mo.GB, mo.Gv, [mo.Gb2], mo.SW, mo.SB, mo.Sv, [mo.Sb2]]))
    V = np.array(vals)
    return V.mean(0), V.std(0, ddof=1) / math.sqrt(scramblings)


@pytest.mark.parametrize(("loss", "bias", "p"), [("hinge", False, 1.0), ("logistic", True, 0.5)])
def test_twolayer_expectations_match_the_engine(loss, bias, p):
    """Drifts and per-unit second moments of the QMC rule within 5 combined SE of 3000 engine steps (seeded)."""
    cfg = RunConfig(model="twolayer", loss=loss, bias=bias, d=5, width=4, lr=0.01, p=p, init_scale=1.0)
    w = initial_weights(cfg, 0)
    if bias:
        w["M"][:, -1] = [0.3, -0.4, 0.1, -1.0]
        w["b2"] = 0.2
    mc, se_mc = _net_mc(cfg, w, 3000, SEED)
    exact, se_q = _net_exact(cfg, w)
    k, d = 4, 5
    # layout: GW (k d), GB (k), Gv (k), Gb2, SW (k), SB (k), Sv (k), Sb2
    keep = np.ones(len(exact), bool)
    if not bias:  # without a bias the engine moves neither the hidden biases nor b2
        o = k * d
        for lo, hi in ((o, o + k), (o + 2 * k, o + 2 * k + 1), (o + 3 * k + 1, o + 4 * k + 1), (o + 5 * k + 1, o + 5 * k + 2)):
            keep[lo:hi] = False
    se = np.hypot(se_mc, se_q)
    _within(exact[keep], mc[keep], np.maximum(se[keep], 1e-12), f"{loss} bias={bias} p={p}")


def test_twolayer_noise_slopes_match_the_engine():
    """Dv_i = E[e'(N) ReLU_i^2] (logistic) is the slope of the engine's mean output step in v_i (1500 common draws)."""
    cfg = RunConfig(model="twolayer", loss="logistic", bias=True, d=5, width=3, lr=0.01, p=0.4, init_scale=1.0)
    w = initial_weights(cfg, 0)
    eps = 0.05
    rng = np.random.default_rng(SEED)
    n = 1500
    X = rng.standard_normal((n, 5))
    Y = _labels(rng, X[:, 0], cfg.p, n)
    diffs = []
    for j in range(n):
        row = []
        for i in range(3):
            up = {**w, "V": w["V"] + eps * np.eye(3)[i]}
            dn = {**w, "V": w["V"] - eps * np.eye(3)[i]}
            gu = (apply_step(cfg, up, X[j], Y[j])[0]["V"][i] - up["V"][i]) / cfg.lr
            gd = (apply_step(cfg, dn, X[j], Y[j])[0]["V"][i] - dn["V"][i]) / cfg.lr
            row.append((gu - gd) / (2 * eps))
        diffs.append(row)
    D = np.array(diffs)
    mc, se_mc = D.mean(0), D.std(0, ddof=1) / math.sqrt(n)
    exact = np.array(
        [TwoLayerField(5, True, "logistic", cfg.p, m=14, seed=s).moments(w["M"], w["V"], w["b2"]).Dv for s in range(4)]
    )
    # the central difference's bias is O(eps^2 E[e'''] ReLU^4) ~ 1e-4 here, far below the MC error
    _within(exact.mean(0), mc, np.hypot(se_mc, exact.std(0, ddof=1) / 2), "Dv")


def test_active_mean_closed_form():
    """sum_i Phi(B_i / |W_i|) against the fraction of firing units over 200000 Gaussian inputs."""
    rng = np.random.default_rng(SEED)
    M = np.c_[rng.standard_normal((6, 4)), [0.5, -1.0, 2.0, 0.0, -3.0, 0.2]]
    X = rng.standard_normal((200_000, 4))
    counts = ((X @ M[:, :4].T + M[:, 4]) > 0).sum(1)
    assert abs(active_mean(M, True) - counts.mean()) <= 5 * counts.std() / math.sqrt(len(X))


def test_neuron_flow_agrees_with_an_independent_integration():
    """Radau (rtol 1e-8) against DOP853 (rtol 1e-11) through the decay and onto the plateau: within 100 x 1e-8."""
    cfg = RunConfig(model="neuron", loss="logistic", bias=True, d=30, p=0.3, lr=1 / 900)
    V0 = np.asarray(initial_weights(cfg, 0)["V"])
    taus = np.linspace(0, 30, 31)
    a = neuron_flow(V0, taus, loss="logistic", p=0.3, h=1 / 900, bias=True)
    b = neuron_flow(V0, taus, loss="logistic", p=0.3, h=1 / 900, bias=True, method="DOP853", rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(a.norm, b.norm, rtol=1e-6)
    np.testing.assert_allclose(a.error, b.error, rtol=0, atol=1e-6)


def test_hinge_neuron_plateau_is_the_closed_form():
    """Pure noise, no bias: the flow's plateau is sqrt(pi/8) d h (fastnoise.theory), which is exact for E|V| in stationarity."""
    cfg = RunConfig(model="neuron", loss="hinge", d=30, lr=1 / 900)
    V0 = np.asarray(initial_weights(cfg, 0)["V"])
    path = neuron_flow(V0, np.array([0.0, 60.0, 100.0]), loss="hinge", p=1.0, h=1 / 900, bias=False)
    assert path.norm[0, -1] == pytest.approx(theory.neuron_hinge_plateau(30, 1 / 900), rel=1e-6)
    assert path.norm[0, -2] == pytest.approx(path.norm[0, -1], rel=1e-6)


def _small_net(loss, bias):
    cfg = RunConfig(model="twolayer", loss=loss, bias=bias, d=6, width=6, lr=0.02, p=1.0)
    w = initial_weights(cfg, 0)
    return cfg, TwoLayerField(6, bias, loss, 1.0, m=11, seed=0), np.asarray(w["M"]), np.asarray(w["V"])


@pytest.mark.parametrize(("loss", "bias", "T"), [("logistic", True, 3.0), ("hinge", False, 2.0)])
def test_twolayer_flow_agrees_with_an_independent_integration(loss, bias, T):
    """RK45 (rtol 1e-5, the default) against RK23 (rtol 1e-7): norms and active units within 100 x 1e-5.

    The field over a fixed point set jumps by O(1/points) wherever a unit's firing boundary crosses
    a point, so tight tolerances cost many steps: hence the short horizon and RK23.
    """
    cfg, _, M0, V0 = _small_net(loss, bias)
    f = TwoLayerField(6, bias, loss, 1.0, m=10, seed=0)
    taus = np.linspace(0, T, 4)
    a = twolayer_flow(f, M0, V0, taus, h=cfg.lr, rtol=1e-5, method="RK45")
    b = twolayer_flow(f, M0, V0, taus, h=cfg.lr, rtol=1e-7, atol=1e-11, method="RK23")
    for col in ("log10_norm_1", "log10_norm_2", "active_mean"):
        np.testing.assert_allclose(getattr(a, col), getattr(b, col), rtol=1e-3, err_msg=col)


@pytest.mark.parametrize("bias", [True, False])
def test_gradient_flow_conserves_the_balance_and_the_noise_breaks_it(bias):
    """|M_i|^2 - v_i^2 per unit: constant (1e-5 relative) under gradient flow; the O(h) terms move it by > 1 %.

    Logistic loss: the hinge's gradient flow is driven by sign(N) and, over a fixed point set, is too
    rough for a tight tolerance (the balance identity itself holds sample by sample for both).
    """
    cfg, _, M0, V0 = _small_net("logistic", bias)
    f = TwoLayerField(6, bias, "logistic", 1.0, m=10, seed=0)
    taus = np.linspace(0, 4, 3)
    flow = twolayer_flow(f, M0, V0, taus, h=cfg.lr, second_moment=False, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(flow.balance, np.broadcast_to(flow.balance[0], flow.balance.shape), rtol=1e-5)
    noisy = twolayer_flow(f, M0, V0, taus, h=cfg.lr)
    drift = np.abs(noisy.balance[-1] - noisy.balance[0]) / np.abs(noisy.balance[0])
    assert drift.max() > 1e-2, "with the second-moment terms the balance must move"


def test_theory_table_reads_like_a_run(tmp_path):
    """Same columns as the run plus source, the same config_id, one row per (flow, checkpoint); Parquet round trip."""
    cfg = RunConfig(model="twolayer", loss="logistic", bias=True, d=5, width=4, lr=0.05, steps=400, records=12, replicas=3)
    res = mean_field(cfg, flows=2, points=9, scramblings=2)
    sim = run(cfg).table
    assert list(res.table.columns) == [*sim.columns, "source"]
    assert (res.table.source == SOURCE).all() and set(res.table.config_id) == set(sim.config_id)
    assert len(res.table) == 2 * sim.step.nunique()
    assert res.table.norm_1.notna().all() and res.table.updates.isna().all()
    assert res.info["qmc_se"]["log10_norm_1"] >= 0
    path = write_results(res.table, tmp_path / "t.parquet", extra={"meanfield": res.info})
    back = read_results(path)
    assert back.attrs["meanfield"]["scramblings"] == 2 and back.source.iloc[0] == SOURCE


def test_flow_rows_are_a_configuration_of_their_own_in_analysis(tmp_path):
    """A flow concatenated with its run is not pooled with it: ``source`` enters the configuration key."""
    cfg = RunConfig(model="neuron", d=5, lr=0.04, steps=300, records=8, replicas=2)
    both = concat_results([run(cfg).table, mean_field(cfg).table])
    assert analysis.config_key(both) == ["source"]
    assert len(analysis.configs(both)) == 2
    assert analysis.config_key(mean_field(cfg).table) == []


def test_flow_tables_stamp_the_flow_code_apart_from_the_kernels():
    """``info["code"]`` hashes fastnoise/meanfield (an edit there leaves simulated sweeps valid, and shows here)."""
    cfg = RunConfig(model="neuron", d=5, lr=0.04, steps=300, records=8, replicas=1)
    code = mean_field(cfg).info["code"]
    assert code == kernel_hash(patterns=MEANFIELD_SOURCES) != kernel_hash()
    assert len(code) == 16


def test_half_time_interpolates_in_log_steps():
    """The dying experiment's half-time: first crossing of half the start, interpolated in log step; NaN if none."""
    g = pd.DataFrame({"step": [0, 10, 100, 1000], "active_mean": [10.0, 9.0, 7.0, 3.0]})
    # 7 -> 3 between steps 100 and 1000: half (5) is halfway, at 10^2.5
    assert half_time(g) == pytest.approx(10**2.5)
    assert math.isnan(half_time(g.assign(active_mean=[10.0, 9.0, 8.0, 6.0])))
    assert half_time(g.iloc[::-1]) == pytest.approx(10**2.5)  # row order does not matter


def test_cli_meanfield_and_plot_overlay(tmp_path):
    """`fastnoise meanfield` writes the table; `fastnoise plot --theory` draws it over the run."""
    runner = CliRunner()
    opts = ["--model", "neuron", "--steps", "3000", "--replicas", "2", "--records", "20"]
    out = tmp_path / "mf.parquet"
    r = runner.invoke(main, ["meanfield", *opts, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "norm_1" in r.output and len(read_results(out)) > 0
    table = tmp_path / "run.parquet"
    assert runner.invoke(main, ["run", *opts, "--out", str(table), "--no-progress"]).exit_code == 0
    r = runner.invoke(main, ["plot", str(table), "--theory", "--out", str(tmp_path / "fig.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fig.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "mlp"], "--model"),
        (["--data", "basis"], "--data"),
        (["--model", "twolayer", "--train", "hidden"], "--train"),
        (["--replicas", "2", "--flows", "5"], "--flows"),
        (["--points", "3"], "--points"),
        (["--n-train", "100"], "--n-train"),
        (["--steps", "1000", "--horizon", "5000"], "--horizon"),
    ],
)
def test_cli_meanfield_refuses_what_it_does_not_cover(args, named, tmp_path):
    """One line, exit 2, naming the option, and no file."""
    r = CliRunner().invoke(main, ["meanfield", *args, "--out", str(tmp_path / "x.parquet")])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and named in r.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_cli_theory_is_a_deprecated_alias_of_meanfield(tmp_path):
    """`fastnoise theory` (the old name) says once on stderr that it is now `fastnoise meanfield`, then runs it:
    the same summary and the same table; it is in neither `fastnoise --help` nor docs/cli.md."""
    opts = ["--model", "neuron", "--d", "5", "--steps", "300", "--replicas", "2", "--records", "8"]
    new = CliRunner().invoke(main, ["meanfield", *opts, "--out", str(tmp_path / "new.parquet")])
    old = CliRunner().invoke(main, ["theory", *opts, "--out", str(tmp_path / "old.parquet")])
    assert new.exit_code == old.exit_code == 0, old.output
    (notice,) = old.stderr.splitlines()
    assert "fastnoise theory is deprecated" in notice and "fastnoise meanfield" in notice
    assert new.stderr == ""

    def summary(r, name):  # the timing line differs
        return [line.replace(name, "X") for line in r.stdout.splitlines() if "took" not in line]

    assert summary(old, "old.parquet") == summary(new, "new.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "old.parquet"), pd.read_parquet(tmp_path / "new.parquet"))
    usage = CliRunner().invoke(main, ["theory", "--model", "nope"])
    assert usage.exit_code == 2 and usage.stderr.splitlines()[0] == notice
    assert "theory " not in CliRunner().invoke(main, ["--help"]).stdout
    assert "## `fastnoise theory`" not in render() and "## `fastnoise meanfield`" in render()


@pytest.mark.parametrize(
    ("fault", "failing_row"),
    [
        # flip_sign compiles faulty kernels of its own (~10 s): run with pytest -m slow
        pytest.param("flip_sign", "neuron, hinge, pure noise", marks=pytest.mark.slow),
        ("ignore_noise", "neuron, hinge, bias, p=0.5"),
    ],
)
def test_meanfield_check_passes_and_fails_when_the_engine_is_wrong(fault, failing_row, monkeypatch):
    """The quick mean-field check passes; a broken engine (sign flipped, label noise ignored) leaves the
    flow's band, and the check fails on that row.

    Both halves are one test (not the quick check in test_checks.py's list and this one apart) because the
    flows depend on no kernel and are computed once per process: the faulty half reuses them, and only the
    simulations rerun with the faulty step.
    """
    ok = checks.run_check("meanfield", mode="quick", seed=0)
    assert ok.rows and any(r.passed is not None for r in ok.rows)
    assert ok.passed, "\n" + ok.failures()
    # (limited to the neuron's hinge runs, where the expected row is: no faulty kernels for the others)
    faults.inject(monkeypatch, fault, only={"model": "neuron", "loss": "hinge"})
    res = checks.run_check("meanfield", mode="quick", seed=0)
    assert not res.passed
    failed = [r.setting for r in res.rows if r.passed is False]
    assert any(s.startswith(failing_row) for s in failed) or failed == ["the whole check"], failed
