"""``dtype="float32"`` (``--dtype float32``): the two-layer net in single precision.

The float64 engine is the reference here: it equals ``tests/reference.py`` bit for bit (see
test_reference.py), so a float32 run is held to a float64 run of the same seed and options.
The two see the same draws (inputs are drawn in float64 and rounded to float32) and take the
same decisions (the hinge's ``y N(x) <= 0``, each unit's ``M_i . x >= 0``) as long as none falls
within float32 rounding of 0. After such an event the two trajectories part by O(h), as two
float64 runs from initial weights one rounding apart would: that is chaos of the dynamics, not
error. The horizons below contain no such event (the hinge runs check equal update counts); the
logistic loss moves every unit with a non-zero output weight at every step, so its horizon is
shorter (at 1000 steps one of its replicas meets a gating decision within rounding).

Tolerance, derived rather than fitted: each step rounds every stored weight to float32 (relative
2**-24) and computes N(x) from sums of at most d + 1 products, each term rounded once, so one
step adds a relative error of at most (d + 2) * 2**-24 to the weights; over T steps the errors add
at most linearly: ``T * (d + 2) * 2**-24`` (2.0e-3 at T = 1000, d = 30). Typical errors are far
smaller (random rounding adds as sqrt(T)); the bound is the worst case, so a real defect (a wrong
update, a missed renormalisation, a factor lost in unpacking) is many times larger than it.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import fastnoise
from fastnoise import SimulationError
from fastnoise.config import ConfigError, RunConfig

BASE = dict(model="twolayer", d=30, width=40, steps=1000, records=6, replicas=2, seed=11, threads=1)


def _bound(steps: int, d: int) -> float:
    return steps * (d + 2) * 2.0**-24


def _max_rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize(
    "extra",
    [dict(), dict(bias=True), dict(loss="logistic", steps=300), dict(p=0.2), dict(train="hidden"), dict(data="cube")],
    ids=["hinge", "bias", "logistic", "p0.2", "hidden", "cube"],
)
def test_float32_tracks_float64_within_rounding(extra):
    params = {**BASE, **extra}
    r64 = fastnoise.engine.run(**params)
    r32 = fastnoise.engine.run(**params, dtype="float32")
    assert r32.config.dtype == "float32"
    assert np.array_equal(r32.table["updates"].to_numpy(), r64.table["updates"].to_numpy())  # same decisions
    bound = _bound(params["steps"], params["d"])
    for col in ("norm_1", "norm_2"):
        assert _max_rel(r32.table[col], r64.table[col]) <= bound, col
    for w32, w64 in zip(r32.weights, r64.weights, strict=True):
        for name in ("M", "V"):
            assert w32[name].dtype == np.float64  # final weights come back as float64 arrays
            assert _max_rel(w32[name], w64[name]) <= bound, name
    # and it is not float64 in disguise: single-precision rounding shows
    assert not np.array_equal(r32.weights[0]["M"], r64.weights[0]["M"])


def test_float32_is_the_same_for_any_thread_count():
    params = {**BASE, "replicas": 5, "dtype": "float32"}
    one = fastnoise.engine.run(**params)
    two = fastnoise.engine.run(**{**params, "threads": 2})
    assert one.table.equals(two.table)
    for a, b in zip(one.weights, two.weights, strict=True):
        assert np.array_equal(a["M"], b["M"]) and np.array_equal(a["V"], b["V"])


def test_float32_renormalises_below_its_own_threshold():
    # init norm 1e-15 < 2**-32: the first check (step 1024) rescales the float32 weights by a power
    # of two (exact); float64 (threshold 2**-64) does not. True-scale results still agree.
    params = {**BASE, "steps": 3000, "init_norm": 1e-15}
    r64 = fastnoise.engine.run(**params)
    r32 = fastnoise.engine.run(**params, dtype="float32")
    assert (r64.log2_scale == 0).all() and (r32.log2_scale > 0).all()
    assert np.array_equal(r32.table["updates"].to_numpy(), r64.table["updates"].to_numpy())
    bound = _bound(params["steps"], params["d"])
    assert _max_rel(r32.table["norm_1"], r64.table["norm_1"]) <= bound
    for w32, w64 in zip(r32.weights, r64.weights, strict=True):
        assert _max_rel(w32["M"], w64["M"]) <= bound


def test_float32_stops_before_leaving_its_range():
    # the logistic loss has no exact rescaling: from weights of norm 1e-25 (largest weights of the
    # two layers multiplying to about 1e-53) float32 stops at the first check with the underflow
    # message (below 2**-100); float64 (below 2**-900) runs the same setting to the end
    params = {**BASE, "loss": "logistic", "init_norm": 1e-25, "steps": 2000}
    assert fastnoise.engine.run(**params).table["step"].max() == 2000
    with pytest.raises(SimulationError, match=r"^replica 0: weights underflow at step 1024 .*below 2\^-100\)"):
        fastnoise.engine.run(**params, dtype="float32")


@pytest.mark.parametrize(
    "params", [dict(model="neuron"), dict(model="mlp", widths=(8, 8)), dict(model="twolayer", classes=10, data="mnist")]
)
def test_float32_only_for_the_binary_two_layer_net(params):
    with pytest.raises(ConfigError, match="^dtype float32 needs --model twolayer"):
        RunConfig(**params, dtype="float32")


def test_dtype_is_part_of_the_config_but_not_of_old_ids():
    a = RunConfig(model="twolayer")
    b = RunConfig(model="twolayer", dtype="float32")
    assert "dtype" not in a.identity() and b.identity()["dtype"] == "float32"
    assert a.default_filename() != b.default_filename()
    with pytest.raises(ConfigError, match="^dtype must be one of float64, float32"):
        RunConfig(dtype="float16")


@pytest.mark.skipif(bool(numba.config.DISABLE_JIT), reason="compiled kernels only")  # type: ignore[attr-defined]
def test_float32_layout_pads_hidden_units_to_a_cache_line():
    from fastnoise.plan import geometry

    geo = geometry(RunConfig(model="twolayer", width=40, dtype="float32"))
    (Wm, Wv), S = geo.pack([fastnoise.weights.initial_weights(RunConfig(model="twolayer", width=40), 0)])
    assert geo.kp == 48 and Wm.dtype == np.float32 and S.dtype == np.float32
    assert Wm.ctypes.data % 64 == 0 and Wm.strides[1] % 64 == 0
