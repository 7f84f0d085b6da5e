"""Ten classes: the C-output kernel against the NumPy reference, on a tiny image set made here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from reference import extend, multiclass_errors, multiclass_step

from fastnoise.config import ConfigError, RunConfig
from fastnoise.engine import checkpoints, datasets, initial_weights, run, sample_stream


def _write_idx(path, arr):
    dims = arr.shape
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + b"".join(struct.pack(">I", n) for n in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory):
    """A 28x28 ten-class image set: 60 training and 20 test images, 25 % of pixels lit."""
    folder = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(5)
    for split, n in (("train", 60), ("t10k", 20)):
        x = (rng.random((n, 28, 28)) < 0.25) * rng.integers(1, 256, size=(n, 28, 28))
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", x)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n))
    return str(folder)


CASES = [(loss, bias, p) for loss in ("hinge", "logistic") for bias in (False, True) for p in (0.0, 0.4, 1.0)]


@pytest.mark.parametrize(("loss", "bias", "p"), CASES)
def test_multiclass_kernel_matches_reference(tiny_images, loss, bias, p):
    """Every checkpoint's norms, counts and errors, and the final weights, match the reference."""
    steps = 40
    cfg = RunConfig(
        model="twolayer",
        data="mnist",
        data_path=tiny_images,
        classes=10,
        width=6,
        loss=loss,
        bias=bias,
        p=p,
        lr=0.05,
        init="fanin",
        steps=steps,
        records=steps + 1,
        record_spacing="linear",
        replicas=2,
        seed=3,
        probe_size=15,
        eval_size=30,
    )
    res = run(cfg)
    data = datasets(cfg)
    points = checkpoints(steps, steps + 1, "linear")
    for r in range(cfg.replicas):
        xs, _, ys = sample_stream(cfg, r, steps)
        w = initial_weights(cfg, r)
        M, V, b = w["M"].copy(), w["V"].copy(), w["b"].copy()
        Xs = extend(xs, bias)
        rows = res.table[res.table.replica == r].set_index("step")
        updates = 0
        t = 0
        for point in points:
            while t < point:
                M, V, b, upd = multiclass_step(M, V, b, Xs[t], int(ys[t]), loss, cfg.lr, bias)
                updates += upd
                t += 1
            row = rows.loc[point]
            # Kernel and reference sum in different orders: compare to rounding.
            np.testing.assert_allclose(row.norm_1, np.linalg.norm(M), rtol=1e-9)
            np.testing.assert_allclose(row.norm_2, np.linalg.norm(np.concatenate([V.ravel(), b])), rtol=1e-9)
            assert row.updates == updates
            updates = 0
            act = extend(data.Xpr, bias) @ M.T > 0
            assert row.active_mean == pytest.approx(act.sum(axis=1).mean())
            assert row.dead == int((~act.any(axis=0)).sum())
            assert row.error_test == pytest.approx(multiclass_errors(M, V, b, extend(data.Xte, bias), data.Yte))
            assert row.error_train == pytest.approx(multiclass_errors(M, V, b, extend(data.Xev, bias), data.Yev))
        fw = res.weights[r]
        np.testing.assert_allclose(fw["M"], M, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fw["V"], V, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fw["b"], b, rtol=1e-9, atol=1e-12)


def test_ten_class_noise_draws_from_all_classes(tiny_images):
    """With p the label differs from the clean one at rate p * 9/10 (5 standard errors, n = 100000)."""
    n, p = 100_000, 0.5
    cfg = RunConfig(model="twolayer", data="mnist", data_path=tiny_images, classes=10, width=4, p=p, replicas=1, seed=9)
    _, clean, noisy = sample_stream(cfg, 0, n)
    rate = float(np.mean(clean != noisy))
    q = p * 0.9
    assert abs(rate - q) <= 5 * np.sqrt(q * (1 - q) / n)
    assert set(np.unique(noisy)) == set(range(10))


def test_ten_classes_need_images_and_the_full_net():
    """classes=10 is rejected, with a one-line message, outside its setting."""
    for kw in (dict(classes=10), dict(classes=10, data="mnist", model="neuron"), dict(classes=3, data="mnist", model="twolayer")):
        with pytest.raises(ConfigError, match="classes"):
            RunConfig(**kw)
