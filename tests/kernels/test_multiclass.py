"""Ten classes: the C-output kernel against the NumPy reference, on a tiny image set made here."""

from __future__ import annotations

import golden
import numpy as np
import pytest
from conftest import _report, cases

from fastnoise.config import ConfigError, RunConfig
from fastnoise.probes import sample_stream


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory):
    """A 28x28 ten-class image set: 60 training and 20 test images, 25 % of pixels lit. (tests/golden.py's)"""
    return golden.tiny_images(tmp_path_factory.mktemp("idx"))


# The cases (family "multiclass" of tests/conftest.py's registry): loss x bias x p in {0, 0.4, 1},
# 40 steps, a checkpoint after each; compared by conftest's compare_to_reference.


@pytest.mark.parametrize("case", cases("multiclass"))
def test_multiclass_kernel_matches_reference(tiny_images, case):
    """Every checkpoint's norms, counts and errors, and the final weights, match the reference."""
    cfg = case.config(tiny_images)
    problems = case.compare(tiny_images).problems
    assert not problems, f"{cfg}\n{_report(problems)}"


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
