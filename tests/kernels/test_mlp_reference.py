"""The compiled deep net (``model="mlp"``) against the plain-NumPy reference, step by step.

As in test_reference.py, both sides see identical random draws: the reference (tests/reference.py,
``mlp_step`` / ``mlp_metrics``) trains on ``probes.sample_stream`` from ``weights.initial_weights``
and evaluates on ``sets.datasets``; the engine records a checkpoint after every step, so a wrong
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

import numpy as np
import pytest
from conftest import MLP_ACTIVATIONS as ACTIVATIONS
from conftest import MLP_LOSSES as LOSSES
from conftest import Case, _report, cases, run_once
from reference import (
    mlp_layers,
    mlp_metric_names,
    mlp_output,
    mlp_step,
    mlp_weights,
    net_step,
    trained_layers,
)

from fastnoise import RunConfig
from fastnoise.schema import metric_names
from fastnoise.weights import initial_weights

# The cases (40, family "mlp" of tests/conftest.py's registry): depth (1-4 hidden layers) x
# activation x loss x bias, a full grid, with the train form, the data set and p cycling; and edge
# cases (eval_size < n_train, the default leak, clean labels, Gaussian and fan-in initial weights,
# init_norm, a width-1 layer, d = 1, log-spaced checkpoints). The comparison and its tolerances are
# conftest's compare_to_reference (which also requires untrained layers to come back bitwise).
CASES = cases("mlp")


def _depth(cfg: RunConfig) -> int:
    """L, the number of weight layers (hidden layers + the output)."""
    return len(cfg.widths) + 1


# --------------------------------------------------------------------------- the engine


@pytest.mark.parametrize("case", CASES)
def test_engine_matches_reference(case: Case) -> None:
    """Every metric but ``updates`` at every checkpoint, and the final weights, match the reference."""
    cfg = case.config()
    problems = [q for q in case.compare().problems if " updates:" not in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


@pytest.mark.parametrize("case", CASES)
def test_update_counts_match_reference(case: Case) -> None:
    """``updates`` matches the reference at every checkpoint: hinge counts the misclassified steps,
    logistic every step with a non-zero scale. Hinge cases must also have both updating and idle
    steps (a check of the case)."""
    cfg = case.config()
    comparison = case.compare()
    if cfg.loss == "hinge":
        total = comparison.reference_updates
        assert 0 < total < cfg.steps * cfg.replicas, f"{total} updates in {cfg.steps * cfg.replicas} steps: tune lr"
    problems = [q for q in comparison.problems if " updates:" in q]
    assert not problems, f"{cfg}\n{_report(problems)}"


def test_metric_names() -> None:
    """``schema.metric_names`` lists exactly the reference's metrics, and the table has those columns;
    count columns are integers (nullable Int64)."""
    for depth in (1, 2, 3, 4):
        cfg = next(c.values[0].config() for c in CASES if _depth(c.values[0].config()) == depth + 1)
        want = mlp_metric_names(depth + 1)
        assert sorted(metric_names(cfg)) == sorted(want), depth
        table = run_once(cfg).table
        assert set(want) <= set(table.columns), sorted(set(want) - set(table.columns))
        counts = ("updates", "active_min", "dead", *(f"{m}_{l}" for l in range(1, depth + 1) for m in ("active_min", "dead")))
        for name in counts:
            assert str(table[name].dtype) == "Int64", (name, table[name].dtype)


def test_initial_weights_layout() -> None:
    """``initial_weights``: keys W1..WL, W_l of shape (n_l, n_(l-1) [+1]) and (1, n_(L-1) [+1]) for
    the output, biases (last columns) 0; with train="hidden" the output is (1,..,1,-1,..,-1)."""
    for case in CASES:
        cfg = case.values[0].config()
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
