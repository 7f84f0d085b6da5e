"""Shared by every test folder: the helper modules' import path and the CLI helpers.

The tests sit in one folder per layer of the package (``kernels``, ``engine``, ``datasets``, ``io``,
``sweep``, ``cli``, ``science``); the helper modules stay here, beside this file, and are imported
as top-level modules (``from reference import ...``, ``from golden import ...``, ``import faults``):
``tests/`` is put on ``sys.path`` below, in every process that loads this file (each xdist worker
does, before it imports a test module), whatever pytest's import mode. ``python tests/golden.py``
finds its neighbours the same way (a script's folder is on its path).
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


# --------------------------------------------------------------------------- CLI helpers

CLI_BASE = ["run", "--steps", "200", "--replicas", "1", "--records", "5", "--no-progress"]


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _assert_one_line_error(result, option: str, values: tuple[str, ...]) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line 'Error: ...' naming ``option`` and every value."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line: {result.stderr!r}"
    line = lines[0]
    assert line.startswith("Error:"), line
    assert option in line, f"{option!r} not named in {line!r}"
    for v in values:
        assert v in line, f"value {v!r} not named in {line!r}"
    return line
