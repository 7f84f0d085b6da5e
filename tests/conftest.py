"""Shared by every test folder: import paths, CLI helpers, the shared configuration, the reference comparison.

- The tests sit in one folder per layer of the package (``kernels``, ``engine``, ``datasets``,
  ``io``, ``sweep``, ``cli``, ``science``, ``vocab``: the models, tasks and losses); the helper
  modules stay here, beside this file (the toy task and loss of ``vocab`` too), and are imported
  as top-level modules (``from reference import ...``, ``from golden import ...``, ``import
  faults``): ``tests/`` is put on ``sys.path`` below, in every process that loads this file
  (each xdist worker does, before it imports a test module), whatever pytest's import mode.
  ``python tests/golden.py`` finds its neighbours the same way (a script's folder is on its path).
  Test modules import what they share from here the same way (``from conftest import cases``).
- ``TINY`` / ``tiny_config``: the one kernel variant the tests that do not test kernels share.
- ``compare_to_reference``: the engine against tests/reference.py on identical draws, step by step;
  ``COMPARISONS``: every case it runs, by family (``cases(family)`` parametrizes a test over them).
- Where a cold run's time goes, measured ("compile time" below).
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fastnoise import RunConfig

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


# --------------------------------------------------------------------------- CLI helpers

CLI_BASE = ["run", "--steps", "200", "--replicas", "1", "--records", "5", "--no-progress"]


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _assert_one_line_error(result, option: str, values: tuple[str, ...]) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line 'Error: ...' naming ``option`` and every value."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line: {result.stderr!r}"
    line = lines[0]
    assert line.startswith("Error:"), line
    assert option in line, f"{option!r} not named in {line!r}"
    for v in values:
        assert v in line, f"value {v!r} not named in {line!r}"
    return line


@pytest.fixture(autouse=True)
def _fastnoise_logger_restored():
    """The "fastnoise" logger as it was before the test.

    The CLI's logging set-up (fastnoise/cli/progress.py) gives the logger a handler of its own and
    stops it propagating, for the rest of the process: after any in-process CLI call, a later test
    in the same worker saw nothing in ``caplog`` (test_compile_notice_is_logged and
    test_a_checkpoint_that_cannot_be_written_does_not_stop_the_run failed whenever a CLI test had
    run before them in their worker, as in both runs of the suite on 2026-12-07 before this fixture).
    """
    logger = logging.getLogger("fastnoise")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


# --------------------------------------------------------------------------- compile time
#
# Where a cold run's time goes (issue 27). Measured on 2026-12-07 on the 2-core development machine
# (shared with two other developers, load average 5-8), before the tests moved into folders, with
# a listener on Numba's "numba:compile" event in each worker (outermost compilations, per test):
# ``PYTHONPATH=$PWD NUMBA_CACHE_DIR=$(mktemp -d) pytest -p no:cacheprovider -n 2 --durations=40``,
# then the same command with the same cache folder.
#
# - Cold: 1351 s (user + sys 678 s); 182 compilations of 150 distinct kernels (entry points and
#   drivers by signature), 1510 s of the two workers' time. Warm: 471 s (user + sys 351 s);
#   69 compilations, 267 s.
# - Only 5 of the 150 kernels were compiled by both workers (34 s, 2 % of the compile time): xdist's
#   ``load`` schedule hands each worker runs of consecutive tests, so a file's variants stay in one
#   worker, and the disk cache (NUMBA_CACHE_DIR, shared) serves the other worker what the first
#   compiled. Each worker does not compile every spec it meets: the disk cache already makes the
#   kernels compile once per run, not once per worker.
# - What the warm run still compiles is never cached on disk, by design: builds with a replaced step
#   (tests/faults.py and test_ahead.py's plain loop, ``driver.build(replace=...)``: 194 s) and the
#   test modules' own ``numba.njit`` wrappers around inner kernels (test_lanes.py, test_vec.py: 73 s;
#   cached, they would be keyed on the test file only and could run stale kernel code).
#
# - After the move into folders (same command, same machine, less loaded: load average 4-6, then
#   near 0): cold 906 s (user + sys 656 s), 185 compilations of the same 150 kernels, 5 of them in
#   both workers (81 s of 1157 s); warm 254 s (user + sys 325 s), 69 compilations, 149 s. The wall
#   times follow the other developers' load; the CPU times moved by 3 % and 7 %.
#
# So neither remedy pays here: compiling every variant in the xdist controller before the workers
# start (pytest_sessionstart, one process per core) does the same compile work before the workers
# run instead of while they run, saves at most the 2 %, and needs a list of variants that goes
# stale; grouping tests by variant (``--dist loadgroup``) makes xdist schedule every ungrouped test
# on its own, which gives up the consecutive batches that keep duplicates rare. The cold run costs
# what it does because the kernel tests need about 150 distinct kernels (each model x loss x input
# law x regime x dtype, 5 to 35 s each on this machine); the tests that do not test kernels add
# none of their own (they use the default variant: TINY below). Re-measure with a new family: the
# listener is ``numba.core.event.register("numba:compile", listener)``.


# --------------------------------------------------------------------------- the shared configuration

#: RunConfig fields of the one kernel variant shared by the tests that do not test kernels (CLI, io,
#: sweep, datasets): the default model, loss and input law (the neuron, hinge, fresh Gaussian
#: inputs), which every default ``fastnoise run`` (CLI_BASE) and the kernel tests compile anyway.
#: A test that needs a run but not a particular kernel takes ``tiny_config`` (or these fields with
#: its own steps or seed: steps, records, replicas, seed, p and d are run-time parameters, not a
#: new variant), so that it costs no compilation of its own in a cold run.
TINY = dict(model="neuron", d=5, p=0.3, steps=200, records=5, replicas=2, seed=7)


@pytest.fixture
def tiny_config() -> RunConfig:
    """A tiny run of the shared kernel variant (see TINY)."""
    return RunConfig(**TINY)


# --------------------------------------------------------------------------- the reference comparison
#
# The compiled engine against the plain-NumPy reference (tests/reference.py), step by step. Both sides
# see identical random draws: the reference trains on ``probes.sample_stream`` from
# ``weights.initial_weights`` and evaluates on ``sets.datasets``; every update, decision and metric
# is recomputed in NumPy. Runs are tiny and record a checkpoint after every step, so a wrong rule
# shows up at the step where it first bites.
#
# Tolerance: the kernels accumulate dot products and norms in a different order than NumPy (and a
# different sigmoid), so results agree to rounding, not bitwise; rtol = 1e-9 (with atol = 1e-12 for
# quantities that pass through 0, such as a bias that starts at 0) leaves six orders of magnitude
# between rounding drift over 50 steps (measured: below 1e-13; a minibatch's accumulator adds about
# an ulp per sample and step, 5e-12 after 3000 steps) and any real rule difference (>= lr * |x|,
# 1e-3 or more). Counts (updates, active and dead units of every layer) and the error fractions
# must match exactly; the checkpoints must be the run's schedule; weights the run does not train
# must come back bitwise unchanged. Each test module's docstring states what its cases cover.

RTOL = 1e-9
ATOL = 1e-12
IMAGES = "IMAGES"  # data_path placeholder in a case, replaced by a tiny image set's folder


def _exact(name: str) -> bool:
    """Counts and error fractions: compared exactly."""
    return name in ("updates", "error_train", "error_test") or name.startswith(("active_", "dead"))


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    """A metric column as float64 with NaN for nulls (the integer columns are nullable Int64)."""
    return table[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _mismatches(table: pd.DataFrame, replica: int, rows: list[dict], rtol: float = RTOL, atol: float = ATOL) -> list[str]:
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
            ok = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        for c in np.flatnonzero(~ok):
            out.append(f"replica {replica} step {steps[c]} {name}: expected {want[c]!r}, got {got[c]!r}")
    return out


def _report(problems: list[str], limit: int = 12) -> str:
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n".join(problems[:limit]) + more


def _untrained(cfg: RunConfig) -> set[str]:
    """The weight keys the run does not train (they must come back bitwise)."""
    from reference import trained_layers

    if cfg.model == "mlp":
        L = len(cfg.hidden_widths) + 1
        return {f"W{l}" for l in set(range(1, L + 1)) - trained_layers(cfg.train, L)}
    return {"V", "b2"} if cfg.model == "twolayer" and cfg.train == "hidden" and cfg.classes == 2 else set()


class Comparison(NamedTuple):
    """What :func:`compare_to_reference` found: every disagreement (one line each), and the
    reference's count of updating steps over all replicas (for the cases' own sanity checks)."""

    problems: list[str]
    reference_updates: int


@functools.cache
def run_once(cfg: RunConfig):
    """``engine.run(cfg)``, once per test process (the comparison and a module's other tests share it)."""
    from fastnoise.engine import run

    return run(cfg)


@functools.cache
def compare_to_reference(cfg: RunConfig, rtol: float = RTOL, atol: float = ATOL) -> Comparison:
    """Run the engine and the reference on ``cfg`` on the same draws; compare at every checkpoint.

    Cached: a module's trajectory test and update-count test look at the same pair of runs.
    """
    from reference import simulate_replica

    from fastnoise.probes import sample_stream
    from fastnoise.schedule import checkpoints
    from fastnoise.sets import datasets
    from fastnoise.weights import initial_weights

    result = run_once(cfg)
    table = result.table
    data = datasets(cfg)
    points = checkpoints(cfg.steps, cfg.records, cfg.record_spacing)
    untrained = _untrained(cfg)
    problems: list[str] = []
    total = 0
    for r in range(cfg.replicas):
        got_steps = table.loc[table["replica"] == r, "step"].to_numpy()
        if not np.array_equal(got_steps, points):
            problems.append(f"replica {r}: checkpoints {got_steps.tolist()}, expected {points.tolist()}")
            continue
        xs, _, ys = sample_stream(cfg, r, cfg.steps * cfg.batch)
        init = initial_weights(cfg, r)
        rows, final = simulate_replica(cfg, init, xs, ys, data, points.tolist())
        total += int(sum(row["updates"] for row in rows))
        problems += _mismatches(table, r, rows, rtol, atol)
        got = result.weights[r]
        if sorted(got) != sorted(final):
            problems.append(f"replica {r} final weights: keys {sorted(got)}, expected {sorted(final)}")
            continue
        for key, want in final.items():
            g = np.asarray(got[key])
            if g.shape != np.shape(want) or not np.allclose(g, want, rtol=rtol, atol=atol):
                problems.append(f"replica {r} final {key}: expected {want!r}, got {g!r}")
            elif key in untrained and not np.array_equal(g, np.asarray(init[key])):
                problems.append(f"replica {r} final {key}: an untrained layer moved from {init[key]!r} to {g!r}")
    return Comparison(problems, total)


# --------------------------------------------------------------------------- the case registry
#
# Every reference comparison of the suite, as in numbagg's COMPARISONS: a named case is a RunConfig
# (its fields, data_path=IMAGES for a tiny image set) and what it is held to (the tolerances above,
# unless it says otherwise). ``family`` names the test module that parametrizes over it:
#
#   reference     kernels/test_reference.py       the neuron and the two-layer net: every loss, input law, bias, train form
#   mlp           kernels/test_mlp_reference.py   1-4 hidden layers, ReLU and leaky, every train form
#   multiclass    kernels/test_multiclass.py      the ten-class net on a tiny image set
#   regimes       kernels/test_regimes.py         smoothing, minibatches, decay, noise conventions, epochs, on every model
#   regimes-long  kernels/test_regimes.py         3000 steps, past the periodic check (compiled runs only)
#
# A new family (a model, a loss, a task) adds its cases here and a test module that parametrizes over
# ``cases(family)``; the comparison itself is compare_to_reference's.


class Case(NamedTuple):
    """One reference comparison: a run, and the tolerances its metrics and final weights are held to."""

    id: str
    family: str
    params: dict[str, Any]
    rtol: float = RTOL
    atol: float = ATOL
    slow: bool = False  # run by ``pytest -m slow`` only (the reason stands where the case is made)

    def config(self, images: str | None = None) -> RunConfig:
        """The case's RunConfig (``images``: the folder that replaces the IMAGES placeholder)."""
        if IMAGES in self.params.values():
            assert images is not None, f"{self.id} trains on the tiny image set: pass its folder"
        return RunConfig(**{k: (images if v == IMAGES else v) for k, v in self.params.items()})

    def compare(self, images: str | None = None) -> Comparison:
        """compare_to_reference on this case, with its tolerances."""
        return compare_to_reference(self.config(images), self.rtol, self.atol)


# ..................................................................... family "reference"

BINARY_VARIANTS = (("neuron", "all"), ("twolayer", "all"), ("twolayer", "hidden"))
BINARY_LOSSES = ("hinge", "logistic")
# (data, n_train): fresh draws from each input law, and a 7-sample training set.
BINARY_DATA = {
    "gaussian": ("gaussian", None),
    "basis": ("basis", None),
    "cube": ("cube", None),
    "gaussian-n7": ("gaussian", 7),
    "cube-n7": ("cube", 7),
    "hypercube": ("hypercube", None),
}
BINARY_WIDTHS_ALL = (5, 4, 13, 6)  # 5 and 13: not multiples of the kernels' 8-unit padding
BINARY_WIDTHS_HIDDEN = (4, 6)
BINARY_DIMS = (3, 4, 5)
BINARY_LR = {"neuron": 0.3, "twolayer": 0.25}
BINARY_STEPS = 50


def binary_params(i: int, model: str, train: str, loss: str, bias: bool, data: str, p: float, **extra) -> dict[str, Any]:
    """The neuron or two-layer case number i (d, width and seed follow i): 50 steps, 2 replicas."""
    kind, n_train = BINARY_DATA[data]
    widths = BINARY_WIDTHS_HIDDEN if train == "hidden" else BINARY_WIDTHS_ALL
    params = dict(
        model=model,
        loss=loss,
        bias=bias,
        train=train,
        data=kind,
        n_train=n_train,
        d=BINARY_DIMS[i % len(BINARY_DIMS)],
        width=widths[i % len(widths)],
        lr=BINARY_LR[model],
        p=p,
        probe_size=16,
        n_test=25,
        steps=BINARY_STEPS,
        records=BINARY_STEPS + 1,
        record_spacing="linear",
        replicas=2,
        seed=1000 + i,
    )
    params.update(extra)
    return params


def binary_config(i: int, model: str, train: str, loss: str, bias: bool, data: str, p: float, **extra) -> RunConfig:
    return RunConfig(**binary_params(i, model, train, loss, bias, data, p, **extra))


def _binary_cases() -> list[Case]:
    """About 90 configurations: full grids on the key axes, representative combos elsewhere.

    - model/train x loss x bias x p in {0, 0.3, 1}, on gaussian data (36 cases);
    - model/train x loss x bias x the other data sets, p cycling through 0, 0.3, 1 (48 cases);
    - a few edge cases: width 1 and 13, d = 1, Gaussian init, log-spaced checkpoints.
    """
    cases: list[Case] = []

    def add(name: str, *args, **extra) -> None:
        i = len(cases)
        cases.append(Case(f"{i}-{name}", "reference", binary_params(i, *args, **extra)))

    for model, train in BINARY_VARIANTS:
        for loss in BINARY_LOSSES:
            for bias in (False, True):
                tag = f"{model}-{train}-{loss}-{'bias' if bias else 'nobias'}"
                for p in (0.0, 0.3, 1.0):
                    add(f"{tag}-gaussian-p{p:g}", model, train, loss, bias, "gaussian", p)
    j = 0
    for model, train in BINARY_VARIANTS:
        for loss in BINARY_LOSSES:
            for bias in (False, True):
                tag = f"{model}-{train}-{loss}-{'bias' if bias else 'nobias'}"
                for data in ("basis", "cube", "gaussian-n7", "cube-n7"):
                    p = (0.0, 0.3, 1.0)[j % 3]
                    j += 1
                    add(f"{tag}-{data}-p{p:g}", model, train, loss, bias, data, p)
    add("twolayer-width1", "twolayer", "all", "hinge", True, "gaussian", 0.3, width=1)
    add("twolayer-width13-cube", "twolayer", "all", "logistic", True, "cube", 0.3, width=13, d=5, cube_dims=3)
    add("hidden-width2-basis", "twolayer", "hidden", "hinge", False, "basis", 1.0, width=2)
    add("neuron-d1", "neuron", "all", "hinge", True, "gaussian", 0.3, d=1, cube_dims=1)
    add("twolayer-d1", "twolayer", "all", "logistic", True, "cube", 0.0, d=1, cube_dims=1)
    add("gaussian-init", "twolayer", "all", "hinge", True, "gaussian", 1.0, init="gaussian", init_scale=0.5)
    add("init-norm", "neuron", "all", "logistic", True, "cube", 1.0, init_norm=0.7)
    add("log-records", "twolayer", "all", "hinge", True, "gaussian", 1.0, records=9, record_spacing="log")
    add("few-linear-records", "neuron", "all", "hinge", False, "basis", 0.3, records=6)
    # The Boolean hypercube: every target, supports out of order, biased bits, the mixture, the
    # rademacher init. Hinge only: the kernels the parity check compiles anyway (bias, train form,
    # target and law are run-time parameters; a logistic hypercube kernel would cost a compile).
    cube = "hypercube"
    add("neuron-hypercube-parity", "neuron", "all", "hinge", True, cube, 0.3, d=5, support="3")
    junta = dict(target="junta", support="4,2", truth_table="+-++", bit_bias=0.3)
    add("neuron-hypercube-junta", "neuron", "all", "hinge", False, cube, 0.0, d=4, **junta)
    add("twolayer-hypercube-parity", "twolayer", "all", "hinge", True, cube, 0.0, d=5, support="1,4,2")
    add(
        "twolayer-hypercube-staircase-mix", "twolayer", "all", "hinge", True, cube, 1.0,
        d=5, target="staircase", support="4", mix=0.5, mix_bias=0.85, init="rademacher",
    )  # fmt: skip
    majority = dict(target="majority", support="2,3", bit_bias=0.7)
    add("hidden-hypercube-majority", "twolayer", "hidden", "hinge", False, cube, 0.3, d=3, **majority)
    return cases


# ..................................................................... family "mlp"

MLP_ACTIVATIONS = ("relu", "leaky")
MLP_LOSSES = ("hinge", "logistic")
MLP_LEAK = 0.1  # far from the default 0.01, so a leaky unit's slope visibly matters
MLP_STEPS = 40
# (data, n_train): fresh Gaussian draws, a 7-sample training set, and the other input laws.
MLP_DATA = {
    "gaussian": ("gaussian", None),
    "gaussian-n7": ("gaussian", 7),
    "cube-n7": ("cube", 7),
    "basis": ("basis", None),
}
MLP_DATA_CYCLE = ("gaussian", "gaussian-n7", "gaussian", "cube-n7", "gaussian-n7", "basis", "gaussian", "gaussian-n7")
MLP_P_CYCLE = (1.0, 0.5)
MLP_DIMS = (3, 4, 5)
# Hidden widths per depth (L - 1 hidden layers, L weight layers): none a multiple of the kernels'
# 8-unit padding, one of 9 (more than a block); with train="hidden" the last hidden width is even.
MLP_WIDTHS = {
    1: ((5,), (7,), (9,)),
    2: ((5, 3), (3, 7), (7, 5)),
    3: ((5, 3, 7), (7, 5, 3), (3, 9, 5)),
    4: ((5, 3, 7, 5), (3, 5, 7, 9), (7, 5, 3, 5)),
}
MLP_WIDTHS_HIDDEN = {1: ((4,), (6,)), 2: ((5, 4), (3, 6)), 3: ((3, 5, 6), (5, 7, 4)), 4: ((5, 3, 7, 4), (3, 5, 5, 6))}
# Eight train forms per depth, one for each (activation, loss, bias) of that depth: "all", "hidden",
# explicit lists with the output layer (L) and without it, single layers, the output alone.
MLP_TRAINS = {
    1: ("all", "hidden", "2", "1,2", "hidden", "all", "1", "2"),
    2: ("all", "1,3", "hidden", "2", "3", "1,2", "2,3", "all"),
    3: ("hidden", "all", "1,3", "2,4", "all", "2", "1,2,3", "3,4"),
    4: ("1,3", "hidden", "all", "2,4,5", "2", "all", "1,3,5", "2,3,4"),
}
# Learning rates by depth: large enough for hinge runs to have both updating and idle steps,
# small enough that 40 steps stay well-conditioned (see tests/kernels/test_mlp_reference.py).
MLP_LR = {1: 0.25, 2: 0.1, 3: 0.05, 4: 0.03}


def mlp_params(
    i: int, widths: tuple[int, ...], activation: str, loss: str, bias: bool, train: str, data: str, p: float, **extra
) -> dict[str, Any]:
    kind, n_train = MLP_DATA[data]
    params = dict(
        model="mlp",
        widths=widths,
        activation=activation,
        loss=loss,
        bias=bias,
        train=train,
        data=kind,
        n_train=n_train,
        d=MLP_DIMS[i % len(MLP_DIMS)],
        lr=MLP_LR[len(widths)],
        p=p,
        probe_size=16,
        n_test=25,
        steps=MLP_STEPS,
        records=MLP_STEPS + 1,
        record_spacing="linear",
        replicas=2,
        seed=2000 + i,
    )
    if activation == "leaky":
        params["leak"] = MLP_LEAK
    params.update(extra)
    return params


def _mlp_cases() -> list[Case]:
    """40 configurations.

    - depth (1-4 hidden layers) x activation x loss x bias, a full grid (32 cases), with the train
      form (``MLP_TRAINS``: eight per depth), the data set and p in {1, 0.5} cycling;
    - edge cases: error_train on part of the training set (eval_size < n_train), the default leak,
      clean labels, Gaussian and fan-in initial weights, init_norm, a width-1 layer, d = 1,
      log-spaced checkpoints.
    """
    cases: list[Case] = []

    def add(name: str, *args, **extra) -> None:
        i = len(cases)
        cases.append(Case(f"{i}-{name}", "mlp", mlp_params(i, *args, **extra)))

    for depth in (1, 2, 3, 4):
        j = 0
        for activation in MLP_ACTIVATIONS:
            for loss in MLP_LOSSES:
                for bias in (False, True):
                    train = MLP_TRAINS[depth][j]
                    pool = MLP_WIDTHS_HIDDEN[depth] if train == "hidden" else MLP_WIDTHS[depth]
                    widths = pool[j % len(pool)]
                    data = MLP_DATA_CYCLE[(j + depth) % len(MLP_DATA_CYCLE)]
                    p = MLP_P_CYCLE[(j + depth) % len(MLP_P_CYCLE)]
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
    return cases


# ..................................................................... family "multiclass"


def _multiclass_cases() -> list[Case]:
    """The ten-class net (784 inputs, width 6) on a tiny image set: loss x bias x p in {0, 0.4, 1}."""
    cases = []
    for loss in ("hinge", "logistic"):
        for bias in (False, True):
            for p in (0.0, 0.4, 1.0):
                params = dict(
                    model="twolayer",
                    data="mnist",
                    data_path=IMAGES,
                    classes=10,
                    width=6,
                    loss=loss,
                    bias=bias,
                    p=p,
                    lr=0.05,
                    init="fanin",
                    steps=40,
                    records=41,
                    record_spacing="linear",
                    replicas=2,
                    seed=3,
                    probe_size=15,
                    eval_size=30,
                )
                cases.append(Case(f"{loss}-{'bias' if bias else 'nobias'}-p{p:g}", "multiclass", params))
    return cases


# ..................................................................... families "regimes" and "regimes-long"

REGIME_STEPS = 40
#: The models, as RunConfig fields (tiny: d = 4, widths <= 6).
REGIME_MODELS: dict[str, dict[str, Any]] = {
    "neuron": dict(model="neuron", lr=0.3),
    "twolayer": dict(model="twolayer", width=5, lr=0.25),
    "hidden": dict(model="twolayer", train="hidden", width=4, lr=0.25),
    "mlp": dict(model="mlp", widths=(5, 3), train="1,3", lr=0.1),  # layer 2 untrained
    "ten": dict(model="twolayer", data="mnist", data_path=IMAGES, classes=10, width=6, lr=0.05, init="fanin", eval_size=12),
}
#: Each option alone, and combinations (the loss is hinge unless given).
REGIMES: dict[str, dict[str, Any]] = {
    "smooth": dict(loss="logistic", label_smoothing=0.2),
    "batch": dict(batch=3),
    "decay": dict(weight_decay=0.1),
    "flip": dict(noise="flip"),
    "fixed": dict(noise_mode="fixed", n_train=7),
    "epochs": dict(sampling="epochs", n_train=7),
    "smooth-batch-decay": dict(loss="logistic", label_smoothing=0.2, batch=2, weight_decay=0.1),
    "batch-decay-epochs-fixed-flip": dict(
        batch=3, weight_decay=0.1, sampling="epochs", noise_mode="fixed", noise="flip", n_train=7
    ),
}


def regime_params(i: int, model: str, regime: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(
        d=4,
        p=0.3,
        probe_size=15,
        n_test=25,
        steps=REGIME_STEPS,
        records=REGIME_STEPS + 1,
        record_spacing="linear",
        replicas=2,
        seed=3000 + i,
        **REGIME_MODELS[model],
    )
    params.update(REGIMES[regime])
    if model == "ten":
        params.pop("d")
        params.update(steps=24, records=7, p=0.4, probe_size=8)  # 784 inputs: fewer, costlier checkpoints
        if "n_train" in params:
            params["n_train"] = 20
    params.update(extra)
    return params


def _regime_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, *args: Any, slow: bool = False, **extra: Any) -> None:
        cases.append(Case(name, "regimes", regime_params(len(cases), *args, **extra), slow=slow))

    # Each option alone on the mlp and the ten-class net is slow (each its own kernels): the default suite
    # keeps every option alone on the neuron and the two-layer nets, and all of them on every model in the
    # two combinations ("smooth-batch-decay", "batch-decay-epochs-fixed-flip").
    for model in REGIME_MODELS:
        for regime in REGIMES:
            add(f"{model}-{regime}", model, regime, slow=model in ("mlp", "ten") and "-" not in regime)
    # Minibatches and weight decay alone with the other loss (every step updates: no hinge condition).
    # The default suite keeps the neuron's and the two-layer net's; the others' are slow (each its own
    # kernels), their logistic minibatches and decay being also in each model's "smooth-batch-decay" case.
    for model in REGIME_MODELS:
        for regime in ("batch", "decay"):
            add(f"{model}-{regime}-logistic", model, regime, loss="logistic", slow=model not in ("neuron", "twolayer"))
    add("twolayer-batch4-bias", "twolayer", "batch", bias=True, batch=4)
    add("neuron-decay-bias-cube", "neuron", "decay", bias=True, data="cube")
    add("hidden-decay-bias", "hidden", "decay", bias=True)
    add("mlp-decay-bias-trainhidden", "mlp", "decay", bias=True, train="hidden", widths=(5, 4))
    add("mlp-smooth-leaky", "mlp", "smooth", widths=(3, 5), activation="leaky", leak=0.1)
    add("neuron-all-logistic", "neuron", "smooth-batch-decay", bias=True, sampling="epochs", n_train=7)
    #: Long runs: past the kernels' periodic check (every 1024 steps), few checkpoints.
    long = [
        ("neuron-long", regime_params(100, "neuron", "batch-decay-epochs-fixed-flip", steps=3000, records=16)),
        ("twolayer-long", regime_params(101, "twolayer", "smooth-batch-decay", steps=3000, records=16)),
        ("twolayer-hinge-batch-long", regime_params(102, "twolayer", "batch", steps=3000, records=16, p=0.5)),
    ]
    return cases + [Case(name, "regimes-long", params) for name, params in long]


#: The registry: every reference comparison of the suite.
COMPARISONS: list[Case] = [*_binary_cases(), *_mlp_cases(), *_multiclass_cases(), *_regime_cases()]
assert len({(c.family, c.id) for c in COMPARISONS}) == len(COMPARISONS), "case ids repeat within a family"


def cases(family: str) -> list[Any]:
    """A family's cases as pytest parameters (``@pytest.mark.parametrize("case", cases("mlp"))``)."""
    found = [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in COMPARISONS if c.family == family]
    assert found, f"no reference cases of family {family!r}"
    return found


# ..................................................................... interrupted runs (checkpoints, curricula)


class StopRun(Exception):
    """Raised by a test's ``on_call`` hook to stop a run between two kernel calls."""


def interrupted(cfg: Any, path: Path, after_calls: int) -> Any:
    """Run ``cfg``, save its checkpoint to ``path`` after ``after_calls`` kernel calls and stop; return the loaded state."""
    from fastnoise import checkpoint, engine

    def stop(st: Any) -> None:
        if st.calls == after_calls:
            checkpoint.save(path, cfg, st)
            raise StopRun

    with pytest.raises(StopRun):
        engine.run(cfg, threads=1, on_call=stop)
    return checkpoint.load(path, cfg)
