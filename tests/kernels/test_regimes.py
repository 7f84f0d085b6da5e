"""Training regimes: label smoothing, minibatches, weight decay, noise conventions, fixed noise, epochs.

- The engine against the plain-NumPy reference (tests/reference.py), step by step on identical
  draws (``probes.sample_stream``, ``weights.initial_weights``, ``sets.datasets``), for every
  option alone and in combinations, on every model: the neuron, the two-layer net (both layers
  trained, and ``train="hidden"``), an mlp training a subset of its layers, and the ten-class net;
  every metric at every checkpoint and the final weights. Untrained weights must come back bitwise.
- The label streams: each noise convention's flip rate (fresh and fixed noise), a fixed label per
  example across epochs, epochs that visit every example once, error_train on clean labels.
- The defaults are today's rule (bitwise); bad options are one-line CLI errors; sweeps carry the
  options as columns and their flip rate and samples per step in ``attrs["regimes"]``.

Tolerance: test_reference.py's (rtol = 1e-9, atol = 1e-12; counts and error fractions exact).
Besides the dot-product order, the engine forms a minibatch step as W0 + (sum of ((W0 + u_i) - W0)) / b
in an accumulator, the reference as W0 + mean(u_i): the two are rounded differently, by about one
ulp of W0 per sample and step, so they agree to ~1e-12 relative, not bitwise. Measured (largest
difference of a norm or final weight, relative to the largest weight): below 4e-15 on the 40-step
cases, 5e-12 on the 3000-step hinge minibatch run; a real rule difference (a wrong divisor, a
missing decay or smoothing term) moves a weight by about h * l * |W| or h * e / 2, 1e-3 or more.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import ATOL, CLI_BASE, RTOL, Case, _assert_one_line_error, _report, _runner, cases
from golden import _write_idx, tiny_images
from reference import extend

import fastnoise
import fastnoise.sweep as sw
from fastnoise import RunConfig
from fastnoise.cli import main
from fastnoise.config import REGIME_FIELDS
from fastnoise.engine import run
from fastnoise.io import read_results
from fastnoise.probes import sample_stream
from fastnoise.schema import config_id
from fastnoise.sets import datasets, flip_rate
from fastnoise.sweep import spec_from_dict
from fastnoise.weights import initial_weights

INTERPRETED = bool(numba.config.DISABLE_JIT)  # type: ignore[attr-defined]  # NUMBA_DISABLE_JIT=1: kernels run as Python

# --------------------------------------------------------------------------- cases

# Families "regimes" and "regimes-long" of tests/conftest.py's registry: every option (REGIMES)
# alone and in combinations on every model (REGIME_MODELS: the neuron, the two-layer net, its
# train="hidden" form, an mlp with an untrained layer, the ten-class net), minibatches and decay
# with the logistic loss, a few with bias or other data; and three 3000-step runs.
CASES = cases("regimes")
#: Long runs: past the kernels' periodic check (every 1024 steps), few checkpoints.
LONG = cases("regimes-long")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> str:
    """golden.py's tiny ten-class image set: 60 training and 20 test images."""
    return tiny_images(tmp_path_factory.mktemp("regime-idx"))


@pytest.fixture(scope="module")
def many_images(tmp_path_factory: pytest.TempPathFactory) -> str:
    """4000 training images (a few lit pixels each) and 10 test images: enough labels for a rate test."""
    folder = tmp_path_factory.mktemp("regime-idx-large")
    rng = np.random.default_rng(8)
    for split, n in (("train", 4000), ("t10k", 10)):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", (rng.random((n, 28, 28)) < 0.02) * 200)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n))
    return str(folder)


# --------------------------------------------------------------------------- engine vs reference


@pytest.mark.parametrize("case", CASES)
def test_engine_matches_reference(case: Case, images: str) -> None:
    """Every metric at every checkpoint (``updates``: steps where some sample updated) and the final
    weights match the reference. A check of the case: binary hinge runs have both updating and idle
    steps (the ten-class hinge rule, on 24 steps of random labels, updates at almost every step)."""
    cfg = case.config(images)
    problems, total = case.compare(images)
    assert not problems, f"{cfg}\n{_report(problems)}"
    if cfg.loss == "hinge" and cfg.classes == 2:
        assert 0 < total < cfg.steps * cfg.replicas, f"{total} updating steps in {cfg.steps * cfg.replicas}: tune lr"


@pytest.mark.skipif(INTERPRETED, reason="3000 interpreted steps: compiled runs only (as tests/kernels/test_longrun.py)")
@pytest.mark.parametrize("case", LONG)
def test_long_runs_match_reference(case: Case, images: str) -> None:
    """3000 steps, past the periodic check (every 1024 steps): still the reference's trajectory."""
    cfg = case.config(images)
    problems, _ = case.compare(images)
    assert not problems, f"{cfg}\n{_report(problems)}"


def test_minibatch_of_two_is_the_mean_of_two_perceptron_updates() -> None:
    """batch = 2, hinge neuron, written out here: V <- V + (h/2) * sum of y_i x_i over the misclassified
    samples of the step, both judged at V before the step. Some steps must have exactly one such sample."""
    cfg = RunConfig(
        model="neuron", d=3, lr=0.5, p=0.3, steps=30, records=31, record_spacing="linear", replicas=1, batch=2, seed=4
    )
    res = run(cfg)
    xs, _, ys = sample_stream(cfg, 0, 2 * cfg.steps)
    V = np.asarray(initial_weights(cfg, 0)["V"], dtype=np.float64)
    moved = []
    for t in range(cfg.steps):
        step = np.zeros(3)
        wrong = 0
        for i in (2 * t, 2 * t + 1):
            if ys[i] * (V @ xs[i]) <= 0:
                step += ys[i] * xs[i]
                wrong += 1
        V = V + 0.5 * step / 2  # h = 0.5
        moved.append(wrong)
    np.testing.assert_allclose(res.weights[0]["V"], V, rtol=RTOL, atol=ATOL)
    assert res.table["updates"].sum() == sum(w > 0 for w in moved)
    assert 1 in moved and 0 in moved and 2 in moved, moved


def test_weight_decay_acts_on_a_hinge_step_without_update() -> None:
    """Basis data in d = 2 without noise, from initial weights that classify both samples correctly
    (V_1 > 0 > V_2): the hinge rule never updates, yet weight decay scales V by (1 - h*l) at every step."""
    base: dict[str, Any] = dict(model="neuron", data="basis", d=2, p=0.0, lr=0.5, weight_decay=0.2, steps=12, replicas=1)
    base.update(records=4, record_spacing="linear")  # checkpoints 0, 4, 8, 12

    def correct(seed: int) -> bool:
        V = np.asarray(initial_weights(RunConfig(**base, seed=seed), 0)["V"])
        return bool(V[0] > 0 > V[1])  # label +1 on e_1, -1 on e_2

    cfg = RunConfig(**base, seed=next(s for s in range(100) if correct(s)))
    res = run(cfg)
    V0 = np.asarray(initial_weights(cfg, 0)["V"])
    np.testing.assert_allclose(res.weights[0]["V"], V0 * (1 - 0.5 * 0.2) ** 12, rtol=1e-14)
    assert res.table["updates"].sum() == 0
    norms = res.table["norm_1"].to_numpy()
    np.testing.assert_allclose(norms[1:] / norms[:-1], (1 - 0.5 * 0.2) ** 4, rtol=1e-14)


# --------------------------------------------------------------------------- the label streams

N_LABELS = 40_000


def _five_se(q: float, n: int) -> float:
    """5 standard errors of a proportion q over n independent labels."""
    return 5 * math.sqrt(q * (1 - q) / n)


@pytest.mark.parametrize("noise", ("uniform", "flip"))
@pytest.mark.parametrize("classes", (2, 10))
def test_fresh_noise_flip_rate(noise: str, classes: int, images: str) -> None:
    """Fresh noise, from sample_stream's (clean, label) pairs: the label differs from the clean one at
    rate p/2 (uniform, 2 classes), p (flip), p*9/10 (uniform, 10 classes), within 5 standard errors
    (n = 40000 labels, p = 0.4: SE = sqrt(q(1-q)/n) <= 0.0025); flip never relabels to the clean
    class; sets.flip_rate is the formula."""
    p = 0.4
    if classes == 2:
        cfg = RunConfig(model="neuron", d=4, p=p, noise=noise, replicas=1, seed=21)
    else:
        cfg = RunConfig(
            model="twolayer", data="mnist", data_path=images, classes=10, width=4, p=p, noise=noise, replicas=1, seed=21
        )
    q = {("uniform", 2): p / 2, ("flip", 2): p, ("uniform", 10): p * 9 / 10, ("flip", 10): p}[noise, classes]
    _, clean, ys = sample_stream(cfg, 0, N_LABELS)
    rate = float(np.mean(ys != clean))
    assert abs(rate - q) < _five_se(q, N_LABELS), (rate, q)
    assert flip_rate(cfg) == pytest.approx(q, rel=1e-15)
    if classes == 10:
        assert set(np.unique(ys)) == set(range(10))
    if noise == "uniform":  # a redraw from all labels keeps the clean one 1/C of the time: the rate is below p
        assert rate < p - _five_se(p, N_LABELS)


@pytest.mark.parametrize("noise", ("uniform", "flip"))
@pytest.mark.parametrize("classes", (2, 10))
def test_fixed_noise_flip_rate(noise: str, classes: int, many_images: str) -> None:
    """Fixed noise: the training labels of sets.datasets differ from the clean ones (the same run
    with fresh noise) at rate p/2, p, p*9/10, p, within 5 standard errors (n = 4000 examples, p = 0.5:
    SE <= 0.0079); sets.flip_rate is that realised fraction; the evaluation labels stay clean;
    SGD sees p = 0 (sample_stream's labels are the stored ones)."""
    p, n = 0.5, 4000
    if classes == 2:
        base: dict[str, Any] = dict(model="neuron", d=4, n_train=n)
    else:
        base = dict(model="twolayer", data="mnist", data_path=many_images, classes=10, width=4)
    cfg = RunConfig(**base, p=p, noise=noise, noise_mode="fixed", replicas=1, seed=22)
    clean_sets = datasets(cfg.replace(noise_mode="fresh"))
    sets = datasets(cfg)
    assert sets.Ytr.shape == (n,)
    np.testing.assert_array_equal(sets.Xtr, clean_sets.Xtr)
    np.testing.assert_array_equal(sets.Yev, clean_sets.Ytr[: len(sets.Yev)])  # error_train's labels: clean
    changed = sets.Ytr != clean_sets.Ytr
    q = {("uniform", 2): p / 2, ("flip", 2): p, ("uniform", 10): p * 9 / 10, ("flip", 10): p}[noise, classes]
    assert abs(float(np.mean(changed)) - q) < _five_se(q, n), (float(np.mean(changed)), q)
    assert flip_rate(cfg) == float(np.mean(changed))
    assert set(np.unique(sets.Ytr)) == set(np.unique(clean_sets.Ytr))
    xs, clean, ys = sample_stream(cfg, 0, 500)
    np.testing.assert_array_equal(ys, clean)  # no fresh noise on top
    rows = [int(np.flatnonzero((sets.Xtr == x).all(axis=1))[0]) for x in xs[:50]]
    np.testing.assert_array_equal(ys[:50], sets.Ytr[rows])


def _rows(xs: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The training row of every sample (inputs are distinct Gaussian draws)."""
    return np.array([int(np.flatnonzero((X == x).all(axis=1))[0]) for x in xs])


def test_fixed_labels_stay_across_epochs_and_error_train_is_clean() -> None:
    """Fixed noise with epochs: every visit of example i carries the same label, the corrupted
    datasets(cfg).Ytr[i], and some of them differ from the clean labels; the engine's error_train is
    the error of its final weights on the clean labels, not on the corrupted ones."""
    cfg = RunConfig(
        model="neuron", d=4, n_train=20, p=0.6, noise="flip", noise_mode="fixed", sampling="epochs", steps=100, replicas=2
    )
    sets = datasets(cfg)
    clean = datasets(cfg.replace(noise_mode="fresh")).Ytr
    for r in range(cfg.replicas):
        xs, _, ys = sample_stream(cfg, r, 100)  # five epochs
        rows = _rows(xs, sets.Xtr)
        for i in range(20):
            labels = set(ys[rows == i])
            assert labels == {sets.Ytr[i]}, (r, i, labels)
    assert np.any(sets.Ytr != clean) and np.any(sets.Ytr == clean)
    res = run(cfg)
    for r in range(cfg.replicas):
        V = np.asarray(res.weights[r]["V"])
        wrong_clean = float(np.mean(clean * (sets.Xtr @ V) <= 0))
        wrong_noisy = float(np.mean(sets.Ytr * (sets.Xtr @ V) <= 0))
        got = res.table.loc[(res.table.replica == r) & (res.table.step == cfg.steps), "error_train"].item()
        assert got == wrong_clean and wrong_clean != wrong_noisy, (got, wrong_clean, wrong_noisy)


@pytest.mark.parametrize("classes", (2, 10))
def test_epochs_visit_every_example_once_per_epoch(classes: int, images: str) -> None:
    """sampling="epochs": in each replica, samples 0..n-1 are a permutation of the n training rows, and
    so are samples n..2n-1; the two epochs' orders differ, and so do the replicas'."""
    if classes == 2:
        cfg = RunConfig(model="neuron", d=4, n_train=20, p=0.0, sampling="epochs", replicas=2, seed=5)
    else:
        cfg = RunConfig(
            model="twolayer", data="mnist", data_path=images, classes=10, width=4, n_train=20, sampling="epochs", replicas=2
        )
    X = extend(datasets(cfg).Xtr, False)
    n = 20
    orders = []
    for r in range(cfg.replicas):
        xs, _, _ = sample_stream(cfg, r, 2 * n)
        rows = _rows(xs, X)
        first, second = rows[:n], rows[n:]
        assert sorted(first) == list(range(n)) and sorted(second) == list(range(n)), (r, rows)
        assert not np.array_equal(first, second)
        orders.append(rows)
    assert not np.array_equal(orders[0], orders[1])
    # Drawing with replacement instead: some row repeats within the first n samples.
    xs, _, _ = sample_stream(cfg.replace(sampling="replace"), 0, n)
    assert len(set(_rows(xs, X))) < n


# --------------------------------------------------------------------------- defaults


REGIME_DEFAULTS: dict[str, Any] = dict(
    batch=1, weight_decay=0.0, label_smoothing=0.0, noise="uniform", noise_mode="fresh", sampling="replace", dtype="float64"
)


@pytest.mark.parametrize(
    "params",
    [
        dict(model="neuron", d=4, p=0.3, steps=500, replicas=2),
        dict(model="twolayer", width=5, loss="logistic", bias=True, d=4, p=0.3, n_train=7, steps=500, replicas=2),
        dict(model="mlp", widths=(5, 3), d=4, p=0.3, steps=500, replicas=2),
    ],
    ids=("neuron", "twolayer", "mlp"),
)
def test_explicit_defaults_are_todays_tables(params: dict[str, Any]) -> None:
    """The regime options at their defaults, given explicitly, are the same run: bitwise the same table
    and the same config_id (ids of earlier runs hold), and attrs["regimes"] reports p/2 and 1 sample per step."""
    assert set(REGIME_DEFAULTS) == set(REGIME_FIELDS)
    plain = fastnoise.simulate(RunConfig(**params))
    explicit = fastnoise.simulate(RunConfig(**params, **REGIME_DEFAULTS))
    pd.testing.assert_frame_equal(plain, explicit, check_exact=True)
    cid = config_id(RunConfig(**params))
    assert "batch" not in RunConfig(**params).identity()
    assert explicit.attrs["regimes"] == {cid: {"flip_rate": 0.15, "samples_per_step": 1}}


# --------------------------------------------------------------------------- validation

CLI_RULES = [
    pytest.param(["--noise-mode", "fixed"], "--noise-mode", ("fixed", "--n-train"), id="fixed-without-training-set"),
    pytest.param(["--sampling", "epochs"], "--sampling", ("epochs", "--n-train"), id="epochs-without-training-set"),
    pytest.param(["--label-smoothing", "0.1"], "--label-smoothing", ("hinge",), id="smoothing-with-hinge"),
    pytest.param(["--label-smoothing", "1", "--loss", "logistic"], "--label-smoothing", ("got 1",), id="smoothing-one"),
    pytest.param(["--label-smoothing", "1"], "--label-smoothing", (), id="smoothing-one-hinge"),
    pytest.param(["--batch", "0"], "--batch", ("got 0",), id="batch-zero"),
    pytest.param(["--weight-decay", "-1"], "--weight-decay", ("got -1",), id="weight-decay-negative"),
    pytest.param(["--noise", "bogus"], "--noise", ("'bogus'",), id="noise-unknown"),
    pytest.param(["--noise-mode", "bogus"], "--noise-mode", ("'bogus'",), id="noise-mode-unknown"),
    pytest.param(["--sampling", "bogus"], "--sampling", ("'bogus'",), id="sampling-unknown"),
]


@pytest.mark.parametrize(("args", "option", "values"), CLI_RULES)
def test_cli_rejects_bad_regimes(tmp_path: Path, args: list[str], option: str, values: tuple[str, ...]) -> None:
    """Exit 2, one 'Error:' line naming the option (and the value or the conflict), nothing written."""
    out = tmp_path / "sub" / "x.parquet"
    result = _runner().invoke(main, [*CLI_BASE, *args, "--out", str(out)])
    _assert_one_line_error(result, option, values)
    assert list(tmp_path.iterdir()) == [], "an output file or folder was created"


API_RULES = [
    pytest.param(dict(noise_mode="fixed"), "noise_mode", id="fixed-without-training-set"),
    pytest.param(dict(sampling="epochs"), "sampling", id="epochs-without-training-set"),
    pytest.param(dict(label_smoothing=0.1), "label_smoothing", id="smoothing-with-hinge"),
    pytest.param(dict(label_smoothing=1.0, loss="logistic"), "label_smoothing", id="smoothing-one"),
    pytest.param(dict(batch=0), "batch", id="batch-zero"),
    pytest.param(dict(weight_decay=-1.0), "weight_decay", id="weight-decay-negative"),
    pytest.param(dict(noise="bogus"), "noise", id="noise-unknown"),
]


@pytest.mark.parametrize(("kwargs", "name"), API_RULES)
def test_runconfig_rejects_bad_regimes(kwargs: dict, name: str) -> None:
    """The same rules through the Python API: a ConfigError naming the parameter."""
    with pytest.raises(fastnoise.ConfigError) as info:
        RunConfig(**kwargs)
    assert info.value.option == name


# --------------------------------------------------------------------------- sweeps


def test_sweep_over_batch_and_noise(tmp_path: Path) -> None:
    """A sweep spec with a grid over batch and noise runs; every row carries the regime columns with its
    cell's values, and each fragment's attrs["regimes"] maps its config id to the flip rate and samples per step."""
    base: dict[str, Any] = dict(
        model="neuron", d=4, p=0.4, steps=60, records=4, replicas=2, n_train=9, weight_decay=0.05, sampling="epochs"
    )
    spec = spec_from_dict({"name": "regimes", "base": base, "grid": {"batch": [1, 2], "noise": ["uniform", "flip"]}})
    folder = tmp_path / "sweep"
    assert sw.run_sweep(spec, folder).ok
    fragments = sorted(folder.glob("*.parquet"))
    assert len(fragments) == 4
    seen = set()
    for path in fragments:
        df = read_results(path)
        for name in REGIME_FIELDS:
            assert name in df.columns, name
            assert df[name].nunique() == 1, name
        b, noise = int(df["batch"].iloc[0]), df["noise"].iloc[0]
        seen.add((b, noise))
        assert (df["noise_mode"] == "fresh").all() and (df["sampling"] == "epochs").all()
        assert (df["weight_decay"] == 0.05).all() and (df["label_smoothing"] == 0.0).all()
        cfg = RunConfig(**base, batch=b, noise=noise)
        cid = config_id(cfg)
        assert set(df["config_id"]) == {cid}
        assert df.attrs["regimes"] == {cid: {"flip_rate": 0.4 if noise == "flip" else 0.2, "samples_per_step": b}}
        # The cell's table is the run's.
        want = fastnoise.simulate(cfg)
        np.testing.assert_array_equal(df.sort_values(["replica", "step"])["norm_1"].to_numpy(), want["norm_1"].to_numpy())
    assert seen == {(1, "uniform"), (1, "flip"), (2, "uniform"), (2, "flip")}
