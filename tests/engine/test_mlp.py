"""Deep nets (``--model mlp``) beyond the step-by-step reference: the two-layer identity, exact
rescaling past the normal range, validation, the CLI and sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fastnoise import ConfigError, RunConfig, run
from fastnoise.cli import main
from fastnoise.io import read_results
from fastnoise.schema import SCHEMA_VERSION

SHARED = ("loss", "bias", "train", "data", "d", "width", "widths", "activation", "leak", "lr", "p", "n_train", "init", "seed")


@pytest.mark.parametrize(
    "params",
    [
        dict(width=12, steps=5_000),
        # Slow (each compiles an mlp and a two-layer spec of its own): the default suite holds each of these
        # mlp settings to the NumPy reference (tests/kernels/test_mlp_reference.py: logistic with bias,
        # trained hidden layers only, basis data, training sets) and keeps this equality for the plain and
        # the renormalised net.
        pytest.param(dict(width=9, bias=True, loss="logistic", steps=5_000), marks=pytest.mark.slow),
        pytest.param(dict(width=16, train="hidden", data="basis", d=10, lr=1.0, steps=3_000), marks=pytest.mark.slow),
        pytest.param(dict(width=10, data="cube", p=0.5, n_train=40, d=5, steps=4_000), marks=pytest.mark.slow),
        dict(width=20, seed=3, steps=500_000, records=20, record_spacing="linear"),  # renormalises
    ],
)
def test_one_hidden_layer_mlp_is_the_two_layer_net(params):
    """Same seed and options: the mlp's table equals the two-layer net's, bit for bit, and its weights too."""
    base = dict(replicas=2, **params)
    a = run(model="twolayer", **base)
    b = run(model="mlp", **base)
    assert (b.table.model == "mlp").all()
    cols = [c for c in a.table.columns if c not in ("model", "config_id")]  # the configurations differ there
    pd.testing.assert_frame_equal(a.table[cols], b.table[cols], check_exact=True)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa["M"], wb["W1"][:, :])
        np.testing.assert_array_equal(np.append(wa["V"], wa["b2"]) if params.get("bias") else wa["V"], wb["W2"][0])
    np.testing.assert_array_equal(a.log2_scale, b.log2_scale)


@pytest.mark.parametrize("widths", [(6, 5), (5, 4, 3)])
def test_deep_renormalised_run_is_the_plain_run_scaled(widths):
    """Depth L >= 3, hinge, no bias: weights c*W with step h*c^(2-L) follow the plain run exactly.

    Initial weights far below 2^-64 make the kernel renormalise at its first check (step 1024), so
    a short run compares a renormalised trajectory with the plain one at every checkpoint.
    """
    cfg = dict(model="mlp", widths=widths, d=4, init_scale=1e-25, lr=0.5, p=1.0, steps=20_000, records=12, replicas=2)
    ren = run(**cfg)
    plain = run(**cfg, _renormalize=False)
    assert (ren.log2_scale > 0).all(), "the renormalisation never triggered: the test would prove nothing"
    exact = [c for c in ren.table.columns if not c.startswith("log10_")]
    pd.testing.assert_frame_equal(ren.table[exact], plain.table[exact], check_exact=True)
    assert (ren.table.updates.sum()) > 0
    for wr, wp in zip(ren.weights, plain.weights, strict=True):
        for key in wr:
            np.testing.assert_array_equal(wr[key], wp[key])


@pytest.mark.parametrize(
    ("params", "option", "text"),
    [
        (dict(model="twolayer", widths=(3, 4)), "widths", "applies only to --model mlp"),
        (dict(model="mlp", widths="3,a"), "widths", "list of integers"),
        (dict(model="mlp", widths=(3, 0)), "widths", "between 1 and"),
        (dict(model="mlp", widths=()), "widths", "at least one"),
        (dict(model="twolayer", activation="leaky"), "activation", "needs --model mlp"),
        (dict(model="mlp", activation="tanh"), "activation", "must be one of"),
        (dict(model="mlp", activation="leaky", leak=0.0), "leak", "(0, 1]"),
        (dict(model="mlp", activation="leaky", leak=float("nan")), "leak", "finite"),
        (dict(model="mlp", leak=0.1), "leak", "only with --activation leaky"),
        (dict(model="mlp", widths=(4, 4), train="0,1"), "train", "layers 1..3"),
        (dict(model="mlp", widths=(4, 4), train="4"), "train", "layers 1..3"),
        (dict(model="twolayer", train="1"), "train", "must be one of all, hidden"),
        (dict(model="mlp", widths=(4, 3), train="hidden"), "widths", "even"),
    ],
)
def test_bad_mlp_options_are_one_line_errors(params, option, text):
    with pytest.raises(ConfigError) as err:
        RunConfig(**params)
    assert err.value.option == option and text in str(err.value)


def test_widths_spellings_and_train_lists_normalise():
    assert RunConfig(model="mlp", widths="8x4").widths == (8, 4) == RunConfig(model="mlp", widths=[8, 4]).widths
    assert RunConfig(model="mlp", widths=8).widths == (8,)
    assert RunConfig(model="mlp", widths=(4, 4, 4), train="3, 1").train == "1,3"
    assert RunConfig(model="mlp", widths=(4, 4, 4), train="1+3").train == "1,3"
    assert RunConfig(model="mlp", widths=(4, 4), train="3,2,1").train == "all"
    assert RunConfig(model="mlp").hidden_widths == (100,)
    assert RunConfig(model="mlp", activation="leaky").leak == 0.01 and RunConfig(model="mlp").leak is None


def test_cli_runs_a_deep_net(tmp_path):
    """`fastnoise run --model mlp --widths ...` writes every layer's columns; bad input is exit 2."""
    out = tmp_path / "deep.parquet"
    args = ["run", "--model", "mlp", "--widths", "6,5,4", "--activation", "leaky", "--leak", "0.1", "--bias"]
    res = CliRunner().invoke(main, [*args, "--d", "5", "--steps", "2000", "--replicas", "2", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    df = read_results(out)
    for col in ("norm_4", "log10_norm_4", "bias_norm_4", "active_mean_3", "dead_2", "widths", "activation", "leak"):
        assert col in df.columns
    assert (df.widths == "6,5,4").all() and (df.leak == 0.1).all()
    assert df.attrs["schema_version"] == SCHEMA_VERSION
    bad = CliRunner().invoke(main, ["run", "--model", "mlp", "--widths", "6,x", "--out", str(tmp_path / "b.parquet")])
    assert bad.exit_code == 2 and "--widths" in bad.stderr and bad.stderr.count("\n") == 1
