"""Counting the sweep cells computed, for the tests that check what a (re)run computes."""

from __future__ import annotations

import fastnoise
import fastnoise.sweep as sw
import fastnoise.sweep.executors as sw_executors


class CellCounter:
    """Wraps compute_cell (where the executors call it) and records the configurations computed."""

    def __init__(self, monkeypatch):
        self.configs: list[dict] = []
        real = sw.compute_cell

        def counting(config, *args, **kwargs):
            self.configs.append(dict(config))
            return real(config, *args, **kwargs)

        monkeypatch.setattr(sw_executors, "compute_cell", counting)

    @property
    def hashes(self) -> set[str]:
        """The cell hashes of the configurations computed."""
        return {sw.cell_hash(fastnoise.RunConfig.from_dict(c)) for c in self.configs}
