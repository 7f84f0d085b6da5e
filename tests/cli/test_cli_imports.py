"""The command line imports only what a command needs: help, listings and usage errors load no heavy library.

``import fastnoise.cli`` registers every command; it, ``fastnoise --help``, each command's
``--help``, ``reproduce --list`` and a usage error caught before any work must import neither
Numba, pandas, pyarrow, matplotlib, Dask, scipy nor the engine and its kernels (each costs tenths of
a second at start-up). Each case runs in a fresh interpreter, so whatever this test session has
already imported does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules (and their submodules) the light paths must not import.
HEAVY = ("numba", "pandas", "pyarrow", "matplotlib", "dask", "distributed", "scipy", "fastnoise.engine", "fastnoise._kernels")

# Prints, as JSON, the heavy modules (top-level names of HEAVY, or any submodule of one) that are loaded.
_REPORT = f"""
import json, sys
heavy = {HEAVY!r}
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
sys.__stdout__.write("\\nHEAVY=" + json.dumps(loaded) + "\\n")
"""

# Runs the command line as `python -m fastnoise ARGS` does (runpy, run_name "__main__"), then reports.
# The command ends in os._exit (fastnoise.cli.entry skips the interpreter's teardown), so the report
# is made there too, with the code the process would exit with.
_COMMAND = (
    """
import os, runpy, sys
sys.argv = ["fastnoise", *{args!r}]

def report(code):
"""
    + "\n".join("    " + line for line in _REPORT.strip("\n").splitlines())
    + """
    sys.__stdout__.write("CODE=" + repr(code) + "\\n")
    sys.__stdout__.flush()

_exit = os._exit
os._exit = lambda code: (report(code), _exit(code))
try:
    runpy.run_module("fastnoise", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    report(exc.code)
else:
    report(0)
"""
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def _heavy(res: subprocess.CompletedProcess[str]) -> list[str]:
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("HEAVY=")]
    assert line, f"no report from the subprocess:\n{res.stdout}\n{res.stderr}"
    return json.loads(line[-1].removeprefix("HEAVY="))


def _code(res: subprocess.CompletedProcess[str]) -> str:
    return [ln for ln in res.stdout.splitlines() if ln.startswith("CODE=")][-1].removeprefix("CODE=")


def test_import_fastnoise_cli_registers_every_command_and_loads_nothing_heavy():
    """``import fastnoise.cli`` (every command registered) imports none of the heavy modules."""
    res = _python(
        "import fastnoise.cli\nnames = sorted(fastnoise.cli.main.commands)\nprint('COMMANDS=' + ','.join(names))\n" + _REPORT
    )
    assert res.returncode == 0, res.stderr
    commands = [ln for ln in res.stdout.splitlines() if ln.startswith("COMMANDS=")][0].removeprefix("COMMANDS=").split(",")
    assert {"check", "data", "meanfield", "plot", "reproduce", "run", "sweep", "theory"} <= set(commands)
    assert _heavy(res) == []


def test_import_fastnoise_cli_loads_no_numpy():
    """Nor numpy (cheap to keep out: no command needs it to register its options)."""
    res = _python("import sys, fastnoise.cli\nassert 'numpy' not in sys.modules, 'numpy was imported'")
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], "0"),
        (["--version"], "0"),
        (["run", "--help"], "0"),
        (["sweep", "--help"], "0"),
        (["check", "--help"], "0"),
        (["meanfield", "--help"], "0"),
        (["theory", "--help"], "0"),
        (["plot", "--help"], "0"),
        (["data", "--help"], "0"),
        (["data", "fetch", "--help"], "0"),
        (["reproduce", "--help"], "0"),
        (["reproduce", "--list"], "0"),
        (["run", "--steps", "-1"], "2"),
        (["run", "--checkpoint-every", "soon"], "2"),
        (["meanfield", "--model", "nope"], "2"),
        (["theory", "--model", "nope"], "2"),
        (["check", "--only", "nope"], "2"),
        (["reproduce", "fig9"], "2"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_help_listings_and_usage_errors_load_nothing_heavy(args, code):
    """``python -m fastnoise ARGS``: help, the experiments' list and early usage errors import no heavy module."""
    res = _python(_COMMAND.format(args=args))
    assert _code(res) == code, res.stdout + res.stderr
    assert _heavy(res) == [], f"fastnoise {' '.join(args)} imported heavy modules"


def test_python_m_fastnoise_help_loads_nothing_heavy():
    """The real ``python -m fastnoise --help`` (its imports as ``-X importtime`` lists them) loads no heavy module."""
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "fastnoise", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "Usage: " in res.stdout
    imported = {ln.split("|")[-1].strip() for ln in res.stderr.splitlines() if ln.startswith("import time:")}
    assert "fastnoise.cli.run" in imported  # the listing is real: the commands' modules are in it
    assert sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY)) == []
