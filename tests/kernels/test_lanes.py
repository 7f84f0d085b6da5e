"""Replicas in SIMD lanes (``fastnoise/_kernels/lanes.py``): bit for bit the scalar kernels.

The lane driver must give the scalar driver's tables and final weights exactly, for every
setting it accepts, any number of replicas and threads, through kernel-call boundaries and
through a replica's failure. The scalar driver is itself held to tables written before the lanes
existed (``tests/golden.py``, the ``neuron-lanes-*`` cases).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

import fastnoise
from fastnoise import SimulationError, _rng, engine, plan
from fastnoise import threads as threads_module
from fastnoise._kernels import driver
from fastnoise._kernels import lanes as lanes_module
from fastnoise._kernels.draws import _ZIG_R, load_state, normal, store_state
from fastnoise._kernels.lanes import LANES, ROW_BITS, ROW_NBITS, S_ROWS, lane_normals, lane_normals_fused, vaxpy, vdot

pytestmark = pytest.mark.skipif(
    bool(numba.config.DISABLE_JIT),  # type: ignore[attr-defined]
    reason="the lanes are LLVM vector intrinsics: compiled only (interpreted runs use the scalar driver)",
)


@numba.njit
def _scalar_normals(state, n, out):
    for r in range(state.shape[0]):
        st = load_state(state[r])
        for t in range(n):
            out[r, t], st = normal(st)
        store_state(state[r], st)


@numba.njit
def _lane_normals(S, n, d, out, draw):
    X = np.zeros(d * LANES)
    for t in range(n // d):
        draw(S, X, d)
        for i in range(d):
            for lane in range(LANES):
                out[lane, t * d + i] = X[i * LANES + lane]


@pytest.fixture(params=[True, False], ids=["gathers", "loads"])
def lookup(request, monkeypatch):
    """Both forms of the ziggurat's table lookups (lanes.LOOKUP_GATHER), whatever this machine uses.

    The flag is read when a kernel compiles, so the tests compile their own (uncached) copies of the
    functions under it: ``fresh(f)``.
    """
    monkeypatch.setattr(lanes_module, "LOOKUP_GATHER", request.param)
    return lambda f: numba.njit(f.py_func)


@pytest.mark.parametrize("d", [30, 7, 1])
def test_lane_normals_are_each_lanes_scalar_stream(d, lookup):
    n = 60_060  # 480k draws: about 7,000 slow-path draws and 40 from the tail (|x| > R); a multiple of d
    state = _rng.kernel_state(11, LANES)
    want = np.zeros((LANES, n))
    _scalar_normals(state.copy(), n, want)
    S = np.zeros(S_ROWS * LANES, np.uint64)
    for k, row in enumerate((0, 1, 2, 3, ROW_BITS, ROW_NBITS)):  # lanes.lane_state's rows
        S[row * LANES : (row + 1) * LANES] = state[:, k]
    got = np.zeros((LANES, n))
    lookup(_lane_normals)(S, n, d, got, lookup(lane_normals))
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert (np.abs(want) > _ZIG_R).sum() > 0  # the tail branch of the slow path was taken


@numba.njit
def _vdot(V, X, n, out):
    vdot(V, X, n, out)


@numba.njit
def _vaxpy(V, X, n, hy, go):
    vaxpy(V, X, n, hy, go)


def test_vdot_and_vaxpy_are_the_scalar_loops():
    rng = np.random.default_rng(0)
    n = 13
    V = rng.standard_normal(n * LANES) * 10.0 ** rng.integers(-300, 300, n * LANES)
    X = rng.standard_normal(n * LANES)
    V[5] = -0.0  # a signed zero on a lane that does not move keeps its sign
    out = np.zeros(LANES)
    _vdot(V, X, n, out)
    for lane in range(LANES):
        s = 0.0
        for i in range(n):
            s += V[i * LANES + lane] * X[i * LANES + lane]
        assert out[lane] == s or (math.isnan(out[lane]) and math.isnan(s))
    hy = rng.standard_normal(LANES)
    go = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    want = V.copy()
    for lane in range(LANES):
        if go[lane] != 0.0:
            for i in range(n):
                want[i * LANES + lane] += hy[lane] * X[i * LANES + lane]
    _vaxpy(V, X, n, hy, go)
    assert np.array_equal(V.view(np.uint64), want.view(np.uint64))


@numba.njit
def _in_turn(S, X, V, XC, XP, acc, hy, go, d, n, draw):
    for _ in range(n):
        vaxpy(V, XP, d, hy, go)
        vdot(V, XC, d, acc)
        draw(S, X, d)
        XC[:] = X  # the next round's dot is over these draws (and its update over the last ones)
        hy[0] = -hy[0]


@numba.njit
def _fused(S, X, V, XC, XP, acc, hy, go, d, n):
    for _ in range(n):
        lane_normals_fused(S, X, d, V, XC, XP, acc, hy, go)
        XC[:] = X
        hy[0] = -hy[0]


@pytest.mark.parametrize("d", [30, 7, 1])
def test_fused_draws_are_the_update_the_dot_and_the_draws_in_turn(d, lookup):
    """lane_normals_fused gives vaxpy, then vdot, then lane_normals bit for bit: V, the dot, the draws, the streams.

    8,000 rounds of 8 x d draws: at d = 30 about 3,500 draws leave the fast path, so the update and
    the dot are carried across the fast path's exits and re-entries.
    """
    rng = np.random.default_rng(d)
    state = _rng.kernel_state(12, LANES)
    S = np.zeros(S_ROWS * LANES, np.uint64)
    for k, row in enumerate((0, 1, 2, 3, ROW_BITS, ROW_NBITS)):
        S[row * LANES : (row + 1) * LANES] = state[:, k]
    V, XC, XP = (rng.standard_normal(d * LANES) for _ in range(3))
    hy = rng.standard_normal(LANES) * 1e-3
    go = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    want = [a.copy() for a in (S, np.zeros(d * LANES), V, XC, XP, np.zeros(LANES), hy, go)]
    got = [a.copy() for a in want]
    lookup(_in_turn)(*want, d, 8_000, lookup(lane_normals))
    lookup(_fused)(*got, d, 8_000)
    for w, g, name in zip(want, got, ("S", "X", "V", "XC", "XP", "acc", "hy", "go"), strict=True):
        assert np.array_equal(w.view(np.uint8), g.view(np.uint8)), name
    assert np.isfinite(want[2]).all() and (want[2] != V).any()  # the updates happened


SETTINGS = {
    "hinge-pure-noise": dict(p=1.0),
    "hinge-p03-bias": dict(p=0.3, bias=True),
    "hinge-p0-d7": dict(p=0.0, d=7),
    "logistic-p05": dict(loss="logistic", p=0.5),
    "logistic-smooth": dict(loss="logistic", p=0.2, label_smoothing=0.1),
    "flip": dict(p=0.2, noise="flip"),
    "flip-pure": dict(p=1.0, noise="flip"),  # a label with no draw (as p = 0)
    "big-step-linear": dict(p=1.0, lr=0.5, record_spacing="linear"),
    "errors-d5": dict(p=0.1, d=5, eval_size=64, n_test=64),
    # The hypercube's own lane draw: uniform bits (every lane's word at once), and biased bits with the
    # mixture over two words per input (lane by lane), a majority with ties; one spec (hinge) for both.
    "hypercube-pure-noise": dict(data="hypercube", p=1.0),
    "hypercube-biased-mix-d70": dict(
        data="hypercube", d=70, bit_bias=0.3, mix=0.3, target="majority", support="4,60,2,9", p=0.2, bias=True
    ),
}


def _run(monkeypatch, lanes: bool, threads: int, chunk: int | None = None, **params):
    """A run through the engine's lane drive (groups below driver.MIN_LANES: the scalar driver) or the scalar one."""
    chosen = []
    real = threads_module.choose_driver

    def choose(kern, blocks):
        d = real(kern, blocks) if lanes else kern.drive
        chosen.append(isinstance(d, threads_module.LaneDrive))
        return d

    monkeypatch.setattr(engine, "choose_driver", choose)
    if chunk is not None:
        monkeypatch.setattr(engine, "chunk_steps", lambda *a: chunk)
    res = engine.run(fastnoise.RunConfig(model="neuron", **params), threads=threads)
    assert chosen == [lanes]
    return res


def _same(a, b):
    assert a.table.equals(b.table)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        for k in wa:
            assert np.array_equal(np.asarray(wa[k]).view(np.uint8), np.asarray(wb[k]).view(np.uint8)), k


#: Settings whose lane step the default suite leaves to the golden tables, which the scalar driver wrote
#: before the lanes existed (neuron-lanes-logistic-bias-flip-r12, neuron-lanes-smooth-d7-r11: the logistic
#: and bias paths); each compiles a lane and a scalar driver of its own (`pytest -m slow` runs them).
SLOW_SETTINGS = {"hinge-p03-bias", "logistic-p05"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SETTINGS else n for n in sorted(SETTINGS)])
# 13 replicas on one thread (two lane groups, 8 and 5) is slow: 11 on two threads is a group of 6 and one of
# 5 on each, and test_a_short_last_group_goes_through_the_scalar_driver covers a group below MIN_LANES.
@pytest.mark.parametrize(("replicas", "threads"), [(8, 1), pytest.param(13, 1, marks=pytest.mark.slow), (11, 2)])
def test_lane_driver_gives_the_scalar_tables(monkeypatch, name, replicas, threads):
    params = dict(SETTINGS[name], replicas=replicas, steps=6_000, records=12, seed=5)
    _same(_run(monkeypatch, True, threads, **params), _run(monkeypatch, False, threads, **params))


def test_a_short_last_group_goes_through_the_scalar_driver(monkeypatch):
    """12 replicas on one thread: a lane group of 8, then 4 (below MIN_LANES) through the scalar driver."""
    params = dict(SETTINGS["hinge-p03-bias"], replicas=12, steps=3_000, records=6, seed=2)
    _same(_run(monkeypatch, True, 1, **params), _run(monkeypatch, False, 1, **params))


def test_lane_split():
    """Groups of LANES consecutive replicas; short groups, and groups whose replicas are at different steps, are scalar."""
    assert driver.MIN_LANES == 5 and driver.LANES == 8  # the cases below are written for these
    rs = np.arange(3, 23, dtype=np.int64)  # 20 replicas: groups of 8, 8 and 4
    steps = np.zeros(30, np.int64)
    lane, other = threads_module.LaneDrive.split(rs, steps)
    assert lane.tolist() == list(range(3, 19)) and other.tolist() == list(range(19, 23))
    steps[12] = 5  # the second group (11..18) is no longer at one step
    lane, other = threads_module.LaneDrive.split(rs, steps)
    assert lane.tolist() == list(range(3, 11)) and other.tolist() == list(range(11, 23))
    lane, other = threads_module.LaneDrive.split(rs[:5], steps)  # one group of MIN_LANES
    assert lane.tolist() == list(range(3, 8)) and other.size == 0


def test_a_lane_only_run_compiles_no_scalar_driver(monkeypatch):
    """Eight replicas on one thread need the lane driver only (the scalar one is not compiled for them)."""
    compiled = []
    real = threads_module.compile_driver

    def spy(drive, what, rs, args, blocks=None):
        if not isinstance(drive, threads_module.LaneDrive):
            compiled.append(drive)
        return real(drive, what, rs, args, blocks)

    monkeypatch.setattr(threads_module, "compile_driver", spy)
    monkeypatch.setattr(engine, "compile_driver", spy)
    cfg = fastnoise.RunConfig(model="neuron", replicas=8, steps=100, seed=3)
    kern = plan.kernels(cfg)
    engine.run(cfg, threads=1)
    assert compiled == [kern.drive_lanes]


def test_lane_driver_across_kernel_calls(monkeypatch):
    """Many short kernel calls (each a lane group's load and store), checkpoints between them."""
    params = dict(p=0.7, bias=True, replicas=9, steps=20_000, records=25, record_spacing="linear", seed=1)
    _same(_run(monkeypatch, True, 1, chunk=1000, **params), _run(monkeypatch, False, 1, **params))


@pytest.mark.parametrize(
    "params",
    [
        dict(lr=1e308, p=1.0),  # the weights overflow: non-finite output
        dict(lr=1e-300, init_scale=1e-300, p=1.0),  # below 2**-900: the underflow stop at the first check
    ],
    ids=["nonfinite", "underflow"],
)
def test_a_failing_lane_fails_as_the_scalar_replica(monkeypatch, params):
    with pytest.raises(SimulationError) as lanes:
        _run(monkeypatch, True, 1, replicas=9, steps=5_000, **params)
    with pytest.raises(SimulationError) as scalar:
        _run(monkeypatch, False, 1, replicas=9, steps=5_000, **params)
    assert str(lanes.value) == str(scalar.value)


def test_only_eligible_specs_have_lanes():
    """Gaussian inputs and the paper's step: other input laws and regimes keep the scalar driver."""
    assert plan.kernels(fastnoise.RunConfig(model="neuron")).drive_lanes is not None
    for params in (dict(data="basis", d=12), dict(batch=4), dict(weight_decay=1e-3), dict(model="twolayer")):
        cfg = fastnoise.RunConfig(**{"model": "neuron", **params})
        assert plan.kernels(cfg).drive_lanes is None, params


@pytest.mark.parametrize(
    "params",
    [
        dict(lr=1e308, p=1.0, record_spacing="linear"),  # non-finite outputs inside a stretch of lane steps
        dict(lr=1e-300, init_scale=1e-300, p=1.0),  # the underflow stop at the first check
        dict(lr=1e308, p=0.5, bias=True, record_spacing="linear"),  # the noise draws from s0..s3 (not label bits only)
    ],
    ids=["nonfinite", "underflow", "nonfinite-noisy"],
)
def test_a_failed_lane_keeps_the_scalar_replicas_state(monkeypatch, params):
    """After every kernel call, with failed replicas left behind (the run goes on): the same streams, counters, weights.

    A lane that fails while the next sample is already drawn must store its stream as it was
    before that draw (``neuron.lane_decide``), as the scalar replica does.
    """
    monkeypatch.setattr(engine, "_raise_on_status", lambda status, cfg: None)
    monkeypatch.setattr(engine, "chunk_steps", lambda *a: 700)
    runs = []
    for lanes in (True, False):
        seen = []

        def keep(st, seen=seen):
            seen.append([np.array(a) for a in (st.state, st.steps_done, st.updates, st.status, *st.arrays)])

        real = threads_module.choose_driver
        monkeypatch.setattr(engine, "choose_driver", (lambda k, b: real(k, b)) if lanes else (lambda k, b: k.drive))
        cfg = fastnoise.RunConfig(model="neuron", replicas=9, steps=3_000, seed=4, **params)
        engine.run(cfg, threads=1, on_call=keep)
        monkeypatch.setattr(engine, "choose_driver", real)
        runs.append(seen)
    assert len(runs[0]) == len(runs[1]) == 5
    for a, b in zip(*runs, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x.view(np.uint8), y.view(np.uint8))
    assert (runs[0][-1][3][:8, 0] != 0).all()  # the lane group's replicas all failed
