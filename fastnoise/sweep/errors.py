"""The two errors of a sweep (a bad spec, a sweep that cannot start), each one line for the CLI, and their helpers."""

from __future__ import annotations

from typing import Any

__all__ = ["SpecError", "SweepError", "import_distributed", "one_line"]


class SweepError(RuntimeError):
    """A sweep that cannot start: the output folder, the executor or the cluster (one line)."""


class SpecError(ValueError):
    """A bad sweep spec: unreadable file, unknown key, empty grid, a value outside its range (one line)."""


def one_line(exc: BaseException) -> str:
    """``TypeName: message`` on one line (whitespace collapsed)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def import_distributed(option: str) -> Any:
    """The ``distributed`` module, or a SweepError naming ``option`` and how to install Dask."""
    try:
        import distributed
    except ImportError:
        raise SweepError(f"{option} needs Dask: pip install 'fastnoise[dask]' (or: pip install 'dask[distributed]')") from None
    return distributed
