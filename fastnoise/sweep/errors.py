"""The two errors of a sweep: a bad spec, and a sweep that cannot start (each a one-line message for the CLI)."""

from __future__ import annotations

__all__ = ["SpecError", "SweepError"]


class SweepError(RuntimeError):
    """A sweep that cannot start: the output folder, the executor or the cluster (one line)."""


class SpecError(ValueError):
    """A bad sweep spec: unreadable file, unknown key, empty grid, a value outside its range (one line)."""
