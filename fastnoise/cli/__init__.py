"""The ``fastnoise`` command line (``fastnoise.cli``; console script ``fastnoise``, or ``python -m fastnoise``).

Every usage error is one line on stderr, ``Error: ...``, with exit status 2, before any work.
"""

from __future__ import annotations

from . import check, data, meanfield, reproduce, run, sweep  # noqa: F401  (each adds its command to main)
from .app import COUNT, DEFAULT_RESULTS, check_out, command_line, deprecated_alias, entry, fail, main, verbosity

__all__ = ["COUNT", "DEFAULT_RESULTS", "check_out", "command_line", "deprecated_alias", "entry", "fail", "main", "verbosity"]
