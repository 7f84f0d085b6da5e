"""The shared configuration of the tests that do not test kernels (tests/conftest.py's TINY) is the
default kernel variant: the one a default ``fastnoise run`` (conftest's CLI_BASE) and the kernel
tests compile anyway, so that a CLI, io or sweep test using it compiles nothing of its own."""

from __future__ import annotations

from conftest import TINY

from fastnoise import RunConfig, engine, plan
from fastnoise.models import model_of


def test_tiny_config_is_the_default_kernel_variant(tiny_config: RunConfig) -> None:
    default = RunConfig()
    assert tiny_config == RunConfig(**TINY)
    assert model_of(tiny_config).name == model_of(default).name
    assert plan.kernel_spec(tiny_config) == plan.kernel_spec(default)
    assert tiny_config.dtype == default.dtype


def test_tiny_config_runs(tiny_config: RunConfig) -> None:
    table = engine.run(tiny_config).table
    assert sorted(set(table["replica"])) == [0, 1]
    assert table["step"].max() == tiny_config.steps
