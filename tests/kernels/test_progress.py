"""The hypercube's progress columns (target_corr, mass_support, mass_off, fourier_*), recorded by the kernels.

Each column is held to :func:`reference.progress_metrics` (plain numpy, from the weights the engine
returns and the probe set) at the first and the last checkpoint; renormalised runs report them at
true scale, bitwise the plain run's; a learned 3-sparse parity shows in them; and every other
task's table keeps exactly its columns. Tiny runs: one compiled spec per model (the two-layer
net's, shared by the default tests; the neuron's, the mlp's and float32 are marked slow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import reference as ref

from fastnoise import RunConfig, plan, schema
from fastnoise._kernels.columns import metric_names as model_names
from fastnoise.engine import run
from fastnoise.sets import datasets
from fastnoise.tasks import registered_tasks
from fastnoise.tasks.hypercube import boolean_labels, parse_support, parse_truth_table, progress_names
from fastnoise.weights import initial_weights

#: A support out of order (5 before 3) and off the first bits, so that names, the kernel's subset order
#: and its coordinates are all tested; 7 bits, 64 probe inputs, a few hundred steps.
TINY = dict(data="hypercube", d=7, support="2,5,3", steps=300, records=3, replicas=2, probe_size=64, n_test=32, seed=5)
#: Weights far below 2^-64 from the start (as test_longrun's): the hinge nets without bias
#: renormalise at the first check (step 1024).
TINY_RENORM = dict(TINY, steps=1100, init_scale=1e-25, lr=0.5, p=1.0, bias=False)

CASES = {
    "twolayer-bias-junta": dict(model="twolayer", width=6, bias=True, target="junta", truth_table="+--++-+-", p=0.2),
    "twolayer-renorm": dict(TINY_RENORM, model="twolayer", width=6),
    "neuron-bias": dict(model="neuron", bias=True, lr=0.1, p=0.1),
    "mlp-renorm": dict(TINY_RENORM, model="mlp", widths=(5, 4)),
    "twolayer-float32": dict(model="twolayer", width=6, bias=True, dtype="float32", p=0.1),
}
SLOW = ("neuron-bias", "mlp-renorm", "twolayer-float32")


def _config(name: str) -> RunConfig:
    return RunConfig(**{**TINY, **CASES[name]})


def _numpy_columns(cfg: RunConfig, w: dict, data) -> dict[str, float]:
    """The progress columns of one replica's weights ``w`` (true scale), from the reference."""
    X = data.Xpr
    Xe = ref.extend(X, cfg.bias)
    if cfg.model == "neuron":
        out, W1 = ref.neuron_output(w["V"], Xe), np.asarray(w["V"])[None, : cfg.d]
    elif cfg.model == "twolayer":
        out, W1 = ref.net_output(w["M"], w["V"], w["b2"], Xe), np.asarray(w["M"])[:, : cfg.d]
    else:
        Ws = ref.mlp_layers(w)
        out, W1 = ref.mlp_output(Ws, Xe, cfg.bias, cfg.activation, cfg.leak), Ws[0][:, : cfg.d]
    support = parse_support(cfg.support, cfg.d)
    table = parse_truth_table(cfg.truth_table, len(support)) if cfg.target == "junta" else None
    y = boolean_labels(X, support, cfg.target, table)
    m = ref.progress_metrics(out, W1, X, support, y)
    m["_scale_out"] = float(np.mean(np.abs(out)))
    m["_scale_w"] = float(np.max(np.abs(W1)))
    return m


def _assert_row_matches(row: pd.Series, want: dict[str, float], where: str) -> None:
    # The kernel sums the probe set's products in order, numpy pairwise or through BLAS: the two
    # differ by rounding, a few ulps of the sum of |terms| (64 terms: below 1e-13 of the scale).
    # float32 nets compute N(x) in float32 (the reference in float64): there about 1e-6 of the scale.
    tol = 1e-5 if row["dtype"] == "float32" else 1e-11
    for name in progress_names(parse_support(row["support"], int(row["d"]))):
        scale = want["_scale_w"] if name.startswith("mass") else want["_scale_out"]
        got, exp = row[name], want[name]
        assert abs(got - exp) <= tol * scale, f"{where}: {name} = {got!r}, numpy {exp!r} (scale {scale:.3g})"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES])
def test_progress_columns_are_numpy_of_the_weights(name):
    """At step 0 (the initial weights) and at the end (the final weights), every replica's columns are numpy's."""
    cfg = _config(name)
    res = run(cfg, threads=1)
    df, data = res.table, datasets(cfg)
    names = progress_names(parse_support(cfg.support, cfg.d))
    assert names[3:] == ["fourier_2", "fourier_5", "fourier_3", "fourier_2_5", "fourier_2_3", "fourier_5_3", "fourier_2_5_3"]
    assert list(df.columns[: len(schema.metric_names(cfg)) + 2][-len(names) :]) == names  # after the model's columns
    if "renorm" in name:
        assert (res.log2_scale > 0).all(), "the renormalisation never triggered: the true scale would go untested"
    for r in range(cfg.replicas):
        rows = df[df.replica == r].set_index("step")
        _assert_row_matches(rows.loc[0], _numpy_columns(cfg, initial_weights(cfg, r), data), f"replica {r}, step 0")
        _assert_row_matches(rows.loc[cfg.steps], _numpy_columns(cfg, res.weights[r], data), f"replica {r}, the end")
    assert df[names].notna().all().all()


def test_renormalised_progress_columns_are_the_plain_runs_bitwise():
    """Stored weights 2**log2 times the true ones: N(x) and the masses are scaled back exactly (powers of two)."""
    cfg = _config("twolayer-renorm")
    ren, plain = run(cfg, threads=1), run(cfg, threads=1, _renormalize=False)
    assert (ren.log2_scale > 0).all() and (plain.log2_scale == 0).all()
    names = progress_names(parse_support(cfg.support, cfg.d))
    pd.testing.assert_frame_equal(ren.table[names], plain.table[names], check_exact=True)
    assert (ren.table[names].abs() > 0).all().all()  # representable: the comparison is not of zeros


def test_a_learned_parity_shows_in_its_fourier_coefficients():
    """The 3-sparse parity on 30 bits (docs/table.md's example): learned in ~1e4 steps, and the columns show how.

    Over 1000 probe inputs a coefficient's sampling noise is about rms(N)/30; this run's outputs
    end near +-0.13 (so a noise of ~0.005): the full-support coefficient ends above 0.05 and at least
    three times the largest lower-order one among fourier_1 and fourier_1_2 (seen: 5x and 12x); at
    initialisation it is not the largest. The mass ratio starts within 20 % of 1 (300 support
    weights against 2700: a spread of ~4 %) and ends above 1.5 (seen: 2.0 and 2.3).
    """
    cfg = RunConfig(
        model="twolayer",
        data="hypercube",
        bias=True,
        d=30,
        width=100,
        lr=0.05,
        init="fanin",
        p=0.0,
        steps=20_000,
        replicas=2,
        records=2,
        record_spacing="linear",
        n_test=1000,
    )
    df = run(cfg, threads=1).table
    ratio = df.mass_support / df.mass_off
    start, end = df[df.step == 0], df[df.step == cfg.steps]
    assert (end.error_test < 0.1).all(), end.error_test
    assert (end.target_corr > 0.05).all() and (end.fourier_1_2_3 == end.target_corr).all()  # parity: the same sum
    low = np.maximum(end.fourier_1.abs(), end.fourier_1_2.abs())
    assert (end.fourier_1_2_3.abs() > 3 * low).all(), end[["fourier_1", "fourier_1_2", "fourier_1_2_3"]]
    lower = start[[c for c in progress_names((0, 1, 2))[3:-1]]].abs().max(axis=1)
    assert (start.fourier_1_2_3.abs() < lower).all()
    assert ratio[start.index].between(0.8, 1.25).all() and (ratio[end.index] > 1.5).all(), ratio


def test_other_tasks_tables_keep_their_columns():
    """Only a task that names columns of its own adds any (and only then does the spec name a metrics part)."""
    for task in registered_tasks():
        if task.dataset:
            continue
        cfg = RunConfig(data=task.name, model="twolayer", width=4, d=5)
        extra = task.extra_metrics(cfg)
        assert schema.metric_names(cfg) == model_names(cfg.depth, False) + extra
        assert plan.geometry(cfg).n_metrics == len(schema.metric_names(cfg))
        assert plan.kernel_spec(cfg).metrics == (task.name if extra else "")
        assert bool(extra) == (task.name == "hypercube")


def test_progress_names():
    """By degree, then lexicographic in support positions; bits 1-based in support order; k > 4: the support only."""
    assert progress_names((0, 1, 2)) == [
        "target_corr",
        "mass_support",
        "mass_off",
        *("fourier_1", "fourier_2", "fourier_3", "fourier_1_2", "fourier_1_3", "fourier_2_3", "fourier_1_2_3"),
    ]
    assert progress_names((4, 0))[3:] == ["fourier_5", "fourier_1", "fourier_5_1"]
    assert len(progress_names(tuple(range(4)))) == 3 + 15
    assert progress_names(tuple(range(5)))[3:] == ["fourier_1_2_3_4_5"]


def test_the_vocabulary_and_the_kernels_agree_on_the_fourier_bound():
    from fastnoise._kernels import progress
    from fastnoise.tasks import hypercube

    assert hypercube.FOURIER_ALL_MAX == progress.FOURIER_ALL_MAX
