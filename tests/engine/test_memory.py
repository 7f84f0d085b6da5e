"""The memory estimate (fastnoise.footprint): a run that cannot fit is refused before it starts.

(Split out of tests/io/test_provenance.py, whose tests are about the files a run writes.)
"""

from __future__ import annotations

import pytest
from conftest import _runner

import fastnoise
from fastnoise import footprint
from fastnoise.cli import main
from fastnoise.config import RunConfig


def test_memory_estimate_refuses_a_run_that_cannot_fit(monkeypatch):
    cfg = RunConfig(d=1_000_000, steps=10)
    parts = footprint.estimate(cfg)
    assert parts["test"] == 0  # pure noise: no test set
    assert parts["probe"] == 1000 * 1_000_000 * 8  # 1000 probe inputs of 10^6 coordinates: the 7.45 GiB the issue met
    with pytest.raises(
        footprint.MemoryLimitError, match=r"^d makes the run need about [78]\.\d+ GiB \(probe 7\.45 GiB.* but 4 GiB"
    ):
        footprint.check(cfg, free=4 << 30)
    assert footprint.check(RunConfig(steps=10), free=4 << 30) < 1 << 20
    monkeypatch.setattr(footprint, "available", lambda: 4 << 30)
    res = _runner().invoke(main, ["run", "--d", "1e6", "--steps", "10"])
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: --d makes the run need about") and len(res.stderr.strip().splitlines()) == 1
    with pytest.raises(footprint.MemoryLimitError):
        fastnoise.simulate(cfg)


def test_memory_estimate_names_replicas_for_many_weights():
    cfg = RunConfig(model="twolayer", d=30, width=1000, replicas=100_000, steps=10, records=2)
    with pytest.raises(footprint.MemoryLimitError, match="^width|^replicas"):
        footprint.check(cfg, free=1 << 30)


def test_available_memory_is_known_here():
    free = footprint.available()
    assert free is None or free > 0
