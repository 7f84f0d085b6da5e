"""Long runs stay exact: renormalisation (hinge, no bias) and underflow detection (the rest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fastnoise.config import RunConfig
from fastnoise.engine import SimulationError, run
from fastnoise.plan import rescaling_exact

# Two-layer hinge net without bias under pure noise: it shrinks by ~5.6e-5 decades per step at
# width 20, d = 30, h = 1/d, so every weight is below 2^-64 (the renormalisation threshold) after
# ~4e5 steps, and the plain run's layers multiply below 2^-900 after ~2.4e6 steps.
SHRINKING = dict(model="twolayer", loss="hinge", bias=False, width=20, d=30, p=1.0, replicas=2, seed=3)


def test_renormalised_run_equals_plain_run_step_for_step():
    """While both are representable, the renormalised run is the plain run scaled by 2^L, exactly."""
    cfg = dict(SHRINKING, steps=600_000, records=61, record_spacing="linear")
    ren = run(**cfg)
    plain = run(**cfg, _renormalize=False)
    assert (ren.log2_scale > 0).all(), "the renormalisation never triggered: the test would prove nothing"
    assert (plain.log2_scale == 0).all()
    a, b = ren.table, plain.table
    exact = [c for c in a.columns if not c.startswith("log10_")]
    # Power-of-two scaling is exact in floating point, so norms and every count agree bitwise.
    pd.testing.assert_frame_equal(a[exact], b[exact], check_exact=True)
    # log10 norms: log10(stored) - L*log10(2) versus log10(plain): equal to rounding.
    for c in ("log10_norm_1", "log10_norm_2"):
        np.testing.assert_allclose(a[c], b[c], rtol=1e-13, atol=1e-12)
    for wr, wp in zip(ren.weights, plain.weights):
        np.testing.assert_array_equal(wr["M"], wp["M"])
        np.testing.assert_array_equal(wr["V"], wp["V"])


def test_decay_rate_is_the_same_past_the_underflow_point():
    """Past where a plain run underflows (and stops), the renormalised run decays at the same rate."""
    steps = 6_000_000
    cfg = dict(SHRINKING, steps=steps, records=13, record_spacing="linear")  # every 5e5 steps
    with pytest.raises(SimulationError, match="underflow"):
        run(**cfg, _renormalize=False)
    df = run(**cfg).table
    assert df.log10_norm_1.min() < -308, "the run did not go past the double range"
    assert (df[df.step == steps].norm_1 == 0.0).all()  # the plain value underflows to 0 ...
    assert np.isfinite(df.log10_norm_1).all()  # ... the log10 column carries it
    mean = df.groupby("step")[["log10_norm_1", "log10_norm_2"]].mean()

    def slope(lo: int, hi: int, col: str) -> float:
        return (mean.loc[hi, col] - mean.loc[lo, col]) / (hi - lo)

    for col in ("log10_norm_1", "log10_norm_2"):
        early = slope(500_000, 2_000_000, col)  # representable without renormalisation
        late = slope(4_500_000, 6_000_000, col)  # beyond the plain run's underflow at ~2.4e6
        assert early < -1e-5
        # Geometric decay: a constant slope. Over 1.5e6 steps and 2 replicas the slope's spread is
        # about 1% (seen across seeds); 5% tolerance.
        assert late == pytest.approx(early, rel=0.05), f"{col}: slope {early:.3e} early, {late:.3e} late"


def test_underflow_without_exact_rescaling_stops_with_a_clear_message():
    """Settings without the scaling symmetry stop at the underflow, naming replica, step and why."""
    cfg = RunConfig(**dict(SHRINKING, steps=3_000_000, records=3))
    assert rescaling_exact(cfg)
    with pytest.raises(SimulationError) as err:
        run(cfg, _renormalize=False)
    msg = str(err.value)
    assert "replica" in msg and "step" in msg and "underflow" in msg and "\n" not in msg
    for other in (dict(loss="logistic"), dict(bias=True), dict(train="hidden")):
        assert not rescaling_exact(cfg.replace(**other))


def test_non_finite_weights_stop_the_run():
    """A learning rate that blows the weights up stops the run with the replica and step."""
    with pytest.raises(SimulationError, match=r"replica \d+: non-finite .* at step \d+"):
        run(model="twolayer", width=8, lr=1e200, steps=1000, replicas=2)


@pytest.mark.parametrize(
    "params",
    [
        dict(model="neuron", d=5),
        dict(model="twolayer", width=6, d=4),
        dict(model="mlp", widths=(5, 4, 3), d=4),
        dict(model="mlp", widths=(4, 4), d=3, activation="leaky"),
    ],
    ids=["neuron", "twolayer", "mlp3", "mlp-leaky"],
)
def test_renormalisation_at_the_first_check_is_exact(params):
    """Weights far below 2^-64 from the start: every model's check renormalises at step 1024.

    Where the rescaling is exact (hinge, no bias: neuron, two-layer, ReLU mlp) the renormalised
    table equals the plain one bitwise; leaky units break the homogeneity, so there the kernel
    must not rescale at all. Small and short enough to run with the kernels interpreted
    (tests/kernel_modes.txt), which covers the check and rescale paths of every model.
    """
    cfg = RunConfig(**params, init_scale=1e-25, lr=0.5, p=1.0, steps=2100, records=3, replicas=1, seed=1)
    ren = run(cfg)
    plain = run(cfg, _renormalize=False)
    if rescaling_exact(cfg):
        assert (ren.log2_scale > 0).all(), "the renormalisation never triggered: the test would prove nothing"
    else:
        assert (ren.log2_scale == 0).all()
    exact = [c for c in ren.table.columns if not c.startswith("log10_")]
    pd.testing.assert_frame_equal(ren.table[exact], plain.table[exact], check_exact=True)
