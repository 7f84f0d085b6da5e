"""The compiled deep net (``model="mlp"``) against the plain-NumPy reference, step by step.

As in test_reference.py, both sides see identical random draws: the reference (tests/reference.py,
``mlp_step`` / ``mlp_metrics``) trains on ``engine.sample_stream`` from ``engine.initial_weights``
and evaluates on ``engine.datasets``; the engine records a checkpoint after every step, so a wrong
rule shows up at the step where it first bites. Runs are tiny (d <= 5, widths <= 9, 40 steps,
2 replicas) and cover 1-4 hidden layers, ReLU and leaky ReLU, both losses, with and without bias,
and every form of ``train`` (all, hidden, explicit layer lists with and without the output layer).

Tolerance: the kernels accumulate dot products and norms in a different order than NumPy (and a
different sigmoid), so results agree to rounding, not bitwise; rtol = 1e-9 (with atol = 1e-12 for
quantities that pass through 0, such as a bias that starts at 0) as in test_reference.py. The
learning rates below keep these runs well-conditioned: against a second NumPy implementation with
other rounding (long-double dot products rounded once, h applied last, long-double sigmoid), over
these 40 cases and 10 seeds each, no metric or final weight differed by more than 2e-12 relative,
and no count differed in 50 seeds each; a real rule difference moves something by >= lr * |delta|,
~1e-3 or more. Counts (updates, active and dead units of every hidden layer) and the error
fractions must match exactly; layers that are not trained must come back bitwise unchanged.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from reference import (
    mlp_layers,
    mlp_metric_names,
    mlp_output,
    mlp_step,
    mlp_weights,
    net_step,
    simulate_replica,
    trained_layers,
)

from fastnoise import RunConfig
from fastnoise.engine import checkpoints, datasets, initial_weights, run, sample_stream
from fastnoise.schema import metric_names

RTOL = 1e-9
ATOL = 1e-12
STEPS = 40
REPLICAS = 2
LEAK = 0.1  # far from the default 0.01, so a leaky unit's slope visibly matters

# --------------------------------------------------------------------------- cases

ACTIVATIONS = ("relu", "leaky")
LOSSES = ("hinge", "logistic")
# (data, n_train): fresh Gaussian draws, a 7-sample training set, and the other input laws.
DATA = {
    "gaussian": ("gaussian", None),
    "gaussian-n7": ("gaussian", 7),
    "cube-n7": ("cube", 7),
    "basis": ("basis", None),
}
DATA_CYCLE = ("gaussian", "gaussian-n7", "gaussian", "cube-n7", "gaussian-n7", "basis", "gaussian", "gaussian-n7")
P_CYCLE = (1.0, 0.5)
DIMS = (3, 4, 5)
# Hidden widths per depth (L - 1 hidden layers, L weight layers): none a multiple of the kernels'
# 8-unit padding, one of 9 (more than a block); with train="hidden" the last hidden width is even.
WIDTHS = {
    1: ((5,), (7,), (9,)),
    2: ((5, 3), (3, 7), (7, 5)),
    3: ((5, 3, 7), (7, 5, 3), (3, 9, 5)),
    4: ((5, 3, 7, 5), (3, 5, 7, 9), (7, 5, 3, 5)),
}
WIDTHS_HIDDEN = {1: ((4,), (6,)), 2: ((5, 4), (3, 6)), 3: ((3, 5, 6), (5, 7, 4)), 4: ((5, 3, 7, 4), (3, 5, 5, 6))}
# Eight train forms per depth, one for each (activation, loss, bias) of that depth: "all", "hidden",
# explicit lists with the output layer (L) and without it, single layers, the output alone.
TRAINS = {
    1: ("all", "hidden", "2", "1,2", "hidden", "all", "1", "2"),
    2: ("all", "1,3", "hidden", "2", "3", "1,2", "2,3", "all"),
    3: ("hidden", "all", "1,3", "2,4", "all", "2", "1,2,3", "3,4"),
    4: ("1,3", "hidden", "all", "2,4,5", "2", "all", "1,3,5", "2,3,4"),
}
# Learning rates by depth: large enough for hinge runs to have both updating and idle steps,
# small enough that 40 steps stay well-conditioned (see the module docstring).
LR = {1: 0.25, 2: 0.1, 3: 0.05, 4: 0.03}


def _params(
    i: int, widths: tuple[int, ...], activation: str, loss: str, bias: bool, train: str, data: str, p: float, **extra
) -> dict:
    kind, n_train = DATA[data]
    params = dict(
        model="mlp",
        widths=widths,
        activation=activation,
        loss=loss,
        bias=bias,
        train=train,
        data=kind,
        n_train=n_train,
        d=DIMS[i % len(DIMS)],
        lr=LR[len(widths)],
        p=p,
        probe_size=16,
        n_test=25,
        steps=STEPS,
        records=STEPS + 1,
        record_spacing="linear",
        replicas=REPLICAS,
        seed=2000 + i,
    )
    if activation == "leaky":
        params["leak"] = LEAK
    params.update(extra)
    return params


def _specs() -> list[tuple[str, dict]]:
    """40 configurations, as (id, RunConfig parameters).

    - depth (1-4 hidden layers) x activation x loss x bias, a full grid (32 cases), with the train
      form (``TRAINS``: eight per depth), the data set and p in {1, 0.5} cycling;
    - edge cases: error_train on part of the training set (eval_size < n_train), the default leak,
      clean labels, Gaussian and fan-in initial weights, init_norm, a width-1 layer, d = 1,
      log-spaced checkpoints.
    """
    specs: list[tuple[str, dict]] = []

    def add(name: str, *args, **extra) -> None:
        i = len(specs)
        specs.append((f"{i}-{name}", _params(i, *args, **extra)))

    for depth in (1, 2, 3, 4):
        j = 0
        for activation in ACTIVATIONS:
            for loss in LOSSES:
                for bias in (False, True):
                    train = TRAINS[depth][j]
                    pool = WIDTHS_HIDDEN[depth] if train == "hidden" else WIDTHS[depth]
                    widths = pool[j % len(pool)]
                    data = DATA_CYCLE[(j + depth) % len(DATA_CYCLE)]
                    p = P_CYCLE[(j + depth) % len(P_CYCLE)]
                    j += 1
                    tag = f"L{depth + 1}-{activation}-{loss}-{'bias' if bias else 'nobias'}-train{train}-{data}-p{p:g}"
                    add(tag, widths, activation, loss, bias, train, data, p)
    add("eval-size", (5, 3), "leaky", "hinge", True, "all", "gaussian-n7", 0.5, n_train=9, eval_size=4)
    add("default-leak", (5, 7), "leaky", "logistic", False, "all", "gaussian", 0.5, leak=0.01)
    add("clean-labels", (7, 5, 3), "relu", "hinge", True, "all", "gaussian", 0.0)
    add("gaussian-init", (5, 3, 7), "leaky", "hinge", False, "1,3", "gaussian", 1.0, init="gaussian", init_scale=0.7)
    add("fanin-init", (5, 7), "relu", "logistic", True, "all", "cube-n7", 0.5, init="fanin")
    add("init-norm", (5, 4), "leaky", "hinge", True, "hidden", "gaussian", 1.0, init_norm=1.5)
    add("width1-d1", (5, 1, 3), "leaky", "logistic", True, "all", "gaussian", 0.5, d=1)
    add("log-records", (5, 7, 3), "leaky", "hinge", True, "all", "gaussian-n7", 0.5, records=9, record_spacing="log")
    return specs


SPECS = _specs()
CASES = [pytest.param(RunConfig(**params), id=name) for name, params in SPECS]


# --------------------------------------------------------------------------- helpers


def _exact(name: str) -> bool:
    """Counts and error fractions: compared exactly."""
    return name in ("updates", "error_train", "error_test") or name.startswith(("active_", "dead"))


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A metric column as float64 with NaN for nulls (the integer columns are nullable Int64)."""
    return table[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _depth(cfg: RunConfig) -> int:
    """L, the number of weight layers (hidden layers + the output)."""
    return len(cfg.widths) + 1


def _mismatches(table: pd.DataFrame, replica: int, rows: list[dict]) -> list[str]:
    """Every (step, metric) where the engine's row differs from the reference's."""
    sub = table[table["replica"] == replica]
    steps = sub["step"].to_numpy()
    out = []
    for name in rows[0]:
        if name not in sub.columns:
            out.append(f"column {name} missing from the table")
            continue
        got = _column(sub, name)
        want = np.array([row[name] for row in rows], dtype=np.float64)
        if _exact(name):
            ok = (got == want) | (np.isnan(got) & np.isnan(want))
        else:
            ok = np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
        for c in np.flatnonzero(~ok):
            out.append(f"replica {replica} step {steps[c]} {name}: expected {want[c]!r}, got {got[c]!r}")
    return out


@functools.cache
def _run(cfg: RunConfig):
    return run(cfg)


@functools.cache
def _compare(cfg: RunConfig) -> list[str]:
    """Run the engine and the reference on ``cfg``; every disagreement, as one line each.

    Cached: the trajectory test and the update-count test look at the same pair of runs.
    """
    result = _run(cfg)
    table = result.table
    data = datasets(cfg)
    points = checkpoints(cfg.steps, cfg.records, cfg.record_spacing)
    untrained = set(range(1, _depth(cfg) + 1)) - trained_layers(cfg.train, _depth(cfg))
    problems: list[str] = []
    for r in range(cfg.replicas):
        got_steps = table.loc[table["replica"] == r, "step"].to_numpy()
        if not np.array_equal(got_steps, points):
            problems.append(f"replica {r}: checkpoints {got_steps.tolist()}, expected {points.tolist()}")
            continue
        xs, _, ys = sample_stream(cfg, r, cfg.steps)
        init = initial_weights(cfg, r)
        rows, final = simulate_replica(cfg, init, xs, ys, data, points)
        problems += _mismatches(table, r, rows)
        got = result.weights[r]
        if sorted(got) != sorted(final):
            problems.append(f"replica {r} final weights: keys {sorted(got)}, expected {sorted(final)}")
            continue
        for key, want in final.items():
            g = np.asarray(got[key])
            if g.shape != want.shape or not np.allclose(g, want, rtol=RTOL, atol=ATOL):
                problems.append(f"replica {r} final {key}: expected {want!r}, got {g!r}")
            elif int(key[1:]) in untrained and not np.array_equal(g, np.asarray(init[key])):
                problems.append(f"replica {r} final {key}: an untrained layer moved from {init[key]!r} to {g!r}")
    return problems


def _reference_updates(cfg: RunConfig) -> int:
    """Total updating steps of all replicas, per the reference."""
    data = datasets(cfg)
    total = 0
    for r in range(cfg.replicas):
        xs, _, ys = sample_stream(cfg, r, cfg.steps)
        rows, _ = simulate_replica(cfg, initial_weights(cfg, r), xs, ys, data, [0, cfg.steps])
        total += int(rows[-1]["updates"])
    return total


def _report(problems: list[str], limit: int = 12) -> str:
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n".join(problems[:limit]) + more


# --------------------------------------------------------------------------- the engine


@pytest.mark.parametrize("cfg", CASES)
def test_engine_matches_reference(cfg: RunConfig) -> None:
    """Every metric but ``updates`` at every checkpoint, and the final weights, match the reference."""
    problems = [q for q in _compare(cfg) if " updates:" not in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


@pytest.mark.parametrize("cfg", CASES)
def test_update_counts_match_reference(cfg: RunConfig) -> None:
    """``updates`` matches the reference at every checkpoint: hinge counts the misclassified steps,
    logistic every step with a non-zero scale. Hinge cases must also have both updating and idle
    steps (a check of the case)."""
    if cfg.loss == "hinge":
        total = _reference_updates(cfg)
        assert 0 < total < cfg.steps * cfg.replicas, f"{total} updates in {cfg.steps * cfg.replicas} steps: tune lr"
    problems = [q for q in _compare(cfg) if " updates:" in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


def test_metric_names() -> None:
    """``schema.metric_names`` lists exactly the reference's metrics, and the table has those columns;
    count columns are integers (nullable Int64)."""
    for depth in (1, 2, 3, 4):
        cfg = next(c.values[0] for c in CASES if _depth(c.values[0]) == depth + 1)
        want = mlp_metric_names(depth + 1)
        assert sorted(metric_names(cfg)) == sorted(want), depth
        table = _run(cfg).table
        assert set(want) <= set(table.columns), sorted(set(want) - set(table.columns))
        counts = ("updates", "active_min", "dead", *(f"{m}_{l}" for l in range(1, depth + 1) for m in ("active_min", "dead")))
        for name in counts:
            assert str(table[name].dtype) == "Int64", (name, table[name].dtype)


def test_initial_weights_layout() -> None:
    """``initial_weights``: keys W1..WL, W_l of shape (n_l, n_(l-1) [+1]) and (1, n_(L-1) [+1]) for
    the output, biases (last columns) 0; with train="hidden" the output is (1,..,1,-1,..,-1)."""
    for _, params in SPECS:
        cfg = RunConfig(**params)
        sizes = (cfg.d, *cfg.widths, 1)
        for r in range(cfg.replicas):
            w = initial_weights(cfg, r)
            assert sorted(w) == sorted(f"W{l}" for l in range(1, len(sizes))), sorted(w)
            for l in range(1, len(sizes)):
                W = np.asarray(w[f"W{l}"])
                assert W.shape == (sizes[l], sizes[l - 1] + int(cfg.bias)), (l, W.shape)
                assert np.all(np.isfinite(W))
                if cfg.bias:
                    assert not W[:, -1].any(), (l, W[:, -1])
            if cfg.train == "hidden":
                k = cfg.widths[-1]
                out = np.asarray(w[f"W{len(sizes) - 1}"])[0, :k]
                np.testing.assert_array_equal(out, np.r_[np.ones(k // 2), -np.ones(k // 2)])


# --------------------------------------------------------------------------- the reference itself


def _draw_case(rng: np.random.Generator, sizes: list[int], bias: bool) -> tuple[list[np.ndarray], np.ndarray]:
    Ws = [rng.standard_normal((sizes[l + 1], sizes[l] + int(bias))) for l in range(len(sizes) - 1)]
    x = rng.standard_normal(sizes[0] + int(bias))
    if bias:
        x[-1] = 1.0
    return Ws, x


@pytest.mark.parametrize("train", ("all", "hidden", "1", "2", "1,2"))
def test_reference_mlp_step_with_one_hidden_layer_is_net_step(train: str) -> None:
    """With one ReLU hidden layer the mlp rule is the two-layer rule, W1 = M and W2 = [V, b2], to
    1e-12 on random weights and inputs (some units at exactly z = 0), both losses, with and without
    bias ("2": the output layer alone, i.e. net_step's output update with M fixed)."""
    rng = np.random.default_rng(11)
    net_train = {"all": "all", "1,2": "all", "hidden": "hidden", "1": "hidden", "2": "all"}[train]
    h = 0.3
    for loss in LOSSES:
        for bias in (False, True):
            counts = []
            for _ in range(200):
                k, d = int(rng.integers(1, 10)), int(rng.integers(1, 6))
                (M, W2), x = _draw_case(rng, [d, k, 1], bias)
                M[rng.integers(k)] *= rng.integers(2)  # half the time a unit at exactly z = 0: it fires
                V, b2 = W2[0, :k], float(W2[0, k]) if bias else 0.0
                y = float(rng.choice([-1.0, 1.0]))
                Ws, counted = mlp_step([M, W2], x, y, loss, h, bias, "relu", 0.01, train)
                M2, V2, b22, c2 = net_step(M, V, b2, x, y, loss, h, bias, net_train)
                if train == "2":
                    M2 = M
                assert counted == c2
                counts.append(counted)
                np.testing.assert_allclose(Ws[0], M2, rtol=0, atol=1e-12)
                np.testing.assert_allclose(Ws[1][0, :k], V2, rtol=0, atol=1e-12)
                if bias:
                    assert abs(Ws[1][0, k] - b22) <= 1e-12
            assert any(counts) and (loss == "logistic" or not all(counts)), (loss, bias)


@pytest.mark.parametrize("bias", (False, True))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_mlp_step_is_a_gradient_step(bias: bool, activation: str) -> None:
    """Logistic loss, every layer trained: the step of layer l is h*y*sigmoid(-y*N)*dN/dW_l, with
    dN/dW_l by central differences (inputs kept away from the kinks), for 1-4 hidden layers."""
    rng = np.random.default_rng(5)
    h, leak = 0.2, 0.3
    checked = 0
    while checked < 40:
        sizes = [int(rng.integers(1, 5)), *(int(rng.integers(1, 7)) for _ in range(1 + checked % 4)), 1]
        Ws, x = _draw_case(rng, sizes, bias)
        zs = []
        a = x
        for W in Ws[:-1]:
            z = W @ a
            zs.append(z)
            a = np.where(z > 0, z, 0.0 if activation == "relu" else leak * z)
            a = np.append(a, 1.0) if bias else a
        if min(float(np.min(np.abs(z))) for z in zs) < 1e-3:
            continue  # a finite difference could cross a kink
        out = float(Ws[-1][0] @ a)
        y = float(rng.choice([-1.0, 1.0]))
        new, counted = mlp_step(Ws, x, y, "logistic", h, bias, activation, leak, "all")
        assert counted
        s = 1.0 / (1.0 + np.exp(y * out))

        def N(layers: list[np.ndarray]) -> float:
            a = x
            for W in layers[:-1]:
                z = W @ a
                a = np.where(z > 0, z, 0.0 if activation == "relu" else leak * z)
                a = np.append(a, 1.0) if bias else a
            return float(layers[-1][0] @ a)

        eps = 1e-6
        for l, W in enumerate(Ws):
            grad = np.zeros_like(W)
            for idx in np.ndindex(W.shape):
                plus = [w.copy() for w in Ws]
                minus = [w.copy() for w in Ws]
                plus[l][idx] += eps
                minus[l][idx] -= eps
                grad[idx] = (N(plus) - N(minus)) / (2 * eps)
            np.testing.assert_allclose(new[l] - W, h * y * s * grad, rtol=1e-6, atol=1e-8)
        checked += 1


def test_reference_untrained_layers_and_weight_dicts() -> None:
    """Layers outside ``train`` keep their weights (delta still flows through them); the dict and
    list forms of the weights are inverse; a hinge step on a correctly classified sample is idle."""
    rng = np.random.default_rng(3)
    Ws, x = _draw_case(rng, [3, 4, 5, 2, 1], True)
    assert [w.shape for w in mlp_layers(mlp_weights(Ws))] == [w.shape for w in Ws]
    out = mlp_step(Ws, x, 1.0, "logistic", 0.1, True, "leaky", 0.1, "all")[0]
    for train in ("hidden", "1,3", "2", "4", "2,3,4"):
        new, _ = mlp_step(Ws, x, 1.0, "logistic", 0.1, True, "leaky", 0.1, train)
        layers = trained_layers(train, 4)
        for l in range(1, 5):
            np.testing.assert_array_equal(new[l - 1], out[l - 1] if l in layers else Ws[l - 1])
    y = 1.0 if mlp_output(Ws, x, True, "leaky", 0.1)[0] > 0 else -1.0  # correctly classified
    new, counted = mlp_step(Ws, x, y, "hinge", 0.1, True, "leaky", 0.1, "all")
    assert not counted
    for a, b in zip(new, Ws, strict=True):
        np.testing.assert_array_equal(a, b)
    new, counted = mlp_step(Ws, x, -y, "hinge", 0.1, True, "leaky", 0.1, "all")
    assert counted and all(not np.array_equal(a, b) for a, b in zip(new, Ws, strict=True))
