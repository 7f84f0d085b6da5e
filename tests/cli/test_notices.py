"""No command silent for minutes: ``check``, ``reproduce`` and ``sweep`` say what they start before the heavy work.

Each test replaces the heavy call (a check, an experiment, the sweep's reading of its folder) by
one that records the notices logged so far: the notice must come first. Nothing here is timed.
"""

from __future__ import annotations

import logging
import threading

import pytest
from click.testing import CliRunner

from fastnoise.cli import main
from fastnoise.cli import progress as prog

log = logging.getLogger("fastnoise.cli")


@pytest.fixture()
def notices(monkeypatch):
    """The messages logged on the CLI's logger (``fastnoise.cli``), in order."""
    lines: list[str] = []
    monkeypatch.setattr(log, "info", lambda fmt, *args: lines.append(fmt % args))
    return lines


def test_check_announces_each_check_before_running_it(notices, monkeypatch, tmp_path):
    from fastnoise.checks import CheckResult
    from fastnoise.cli import check as cli_check

    seen = []

    def fake(name, mode, seed):
        seen.append((name, list(notices)))
        res = CheckResult(name, f"{name} title")
        res.add("a setting", "x", "x", "exact", True)
        return res

    monkeypatch.setattr(cli_check, "run_check", fake)
    r = CliRunner().invoke(main, ["check", "--only", "l2", "--only", "flow", "--no-plots", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert [name for name, _ in seen] == ["l2", "flow"]
    assert seen[0][1] == ["check 1/2: l2 (quick mode)..."]
    assert seen[1][1][-1] == "check 2/2: flow (quick mode)..."


def test_reproduce_announces_each_experiment_with_its_expected_time(notices, monkeypatch, tmp_path):
    from fastnoise.cli import reproduce as cli_reproduce

    seen = []

    def fake(name, out, quick, seed):
        seen.append(list(notices))
        return {"answer": 1.0}

    monkeypatch.setattr(cli_reproduce, "run_experiment", fake)
    r = CliRunner().invoke(main, ["reproduce", "fig2", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    (before,) = seen
    assert len(before) == 1 and before[0].startswith("reproduce 1/1: fig2 (Fig. 2; about ") and "min on 2 cores" in before[0]


def test_sweep_says_it_is_checking_an_existing_folder_before_reading_it(notices, monkeypatch, tmp_path):
    """A rerun reads and checksums every fragment before its first line: a notice comes first."""
    import fastnoise.sweep as sweep_pkg

    folder = tmp_path / "sw"
    folder.mkdir()
    (folder / "anything").write_text("x")
    seen = []

    def fake(spec, out, force=False, skip_failed=False):
        seen.append(list(notices))
        raise sweep_pkg.SweepError("stop here")

    monkeypatch.setattr(sweep_pkg, "prepare", fake)
    r = CliRunner().invoke(main, ["sweep", "--name", "t", "--grid", "p=0,1", "--out", str(folder), "--no-progress"])
    assert r.exit_code == 2 and "stop here" in r.stderr
    assert seen == [[f"sweep t: checking which cells are done in {folder} (each fragment is read)..."]]


def test_heartbeat_lines_only_on_a_non_terminal_and_not_when_off(monkeypatch):
    """A long job without counted progress: 'still running, elapsed' lines from a timer thread."""
    lines: list[str] = []
    got = threading.Event()

    def record(fmt, *args):
        lines.append(fmt % args)
        got.set()

    monkeypatch.setattr(prog.log, "info", record)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    with prog.Heartbeat(True, "check nobias", 0.01):
        assert got.wait(60)
    assert lines[0].startswith("check nobias: still running, elapsed ")
    assert not prog.Heartbeat(False, "x", 0.01).enabled and not prog.Heartbeat(True, "x", 0.0).enabled
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert not prog.Heartbeat(True, "x", 0.01).enabled


def test_progress_can_log_its_first_line_before_log_every(monkeypatch):
    """first_log: the first line as soon as the quiet period is over, not after --log-every (the mean-field flow's)."""
    lines: list[str] = []
    monkeypatch.setattr(prog, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(prog.log, "info", lambda fmt, *args: lines.append(fmt % args))
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    late = prog.Progress(True, 100, "late", log_every=3600.0)
    early = prog.Progress(True, 100, "early", log_every=3600.0, first_log=0.0)
    for p in (late, early):
        p.update(0)
        p.update(10)
    assert len(lines) == 1 and lines[0].startswith("early: 0 / 100 steps (0%)")  # then every log_every
