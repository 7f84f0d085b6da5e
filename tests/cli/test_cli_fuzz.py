"""Bad input never reaches a traceback: 1,200 seeded CLI invocations with invalid values.

Each invocation gets one to three invalid values in randomly chosen options of a command (the
rest valid), through click's test runner, so nothing runs: the command must refuse before any
work with exit 2, one stderr line ``Error: ...`` naming one of the bad options, and no exception
other than the CLI's own exit. The generator is seeded (``random.Random(20261201)``), so a
failure is reproducible from the printed arguments.
"""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from fastnoise.cli import main
from fastnoise.options import OPTIONS

SEED = 20261201
N_RUN = 800
N_OTHER = 400

# Invalid texts per option kind: out of range, not a number, not whole, not finite, not a choice.
_BAD_COUNT = ["-1", "0", "abc", "1.5", "1e400", "nan", "", "2**3", "1e30"]
_BAD_FLOAT = ["abc", "nan", "inf", "-inf", "", "1e400", "--"]
_BAD_CHOICE = ["bogus", "", "NEURON ", "10x"]


def _bad_values(opt) -> list[str]:
    if opt.kind == "count":
        vals = [v for v in _BAD_COUNT if not (v == "0" and opt.lo == 0) and not (v == "1e30" and (opt.hi or 0) >= 1e30)]
        if opt.hi is not None and opt.hi < 10**30:
            vals.append(str(int(opt.hi) + 1))
        if opt.lo is not None and opt.lo > 0:
            vals.append(str(int(opt.lo) - 1))
        return vals
    if opt.kind == "float":
        vals = list(_BAD_FLOAT)
        if opt.lo is not None:
            vals.append(repr(float(opt.lo) - 1.0))
        if opt.hi is not None:
            vals.append(repr(float(opt.hi) + 1.0))
        return vals
    if opt.kind == "choice":
        return _BAD_CHOICE
    if opt.kind == "widths":
        return ["0", "a,b", "3,-1", "", "1.5"]
    if opt.name == "train":
        return ["bogus", "0", "1,2,3,4,5,6", ""]
    return []


FUZZABLE = [o for o in OPTIONS if _bad_values(o)]
# Cheap valid base: even a mistaken acceptance would only start a tiny run.
RUN_BASE = ["run", "--steps", "50", "--replicas", "1", "--records", "2", "--no-progress"]


def _run_cases(rng: random.Random) -> list[tuple[list[str], set[str]]]:
    cases = []
    for _ in range(N_RUN):
        chosen = rng.sample(FUZZABLE, rng.randint(1, 3))
        args = list(RUN_BASE)
        for opt in chosen:
            args += [f"--{opt.name.replace('_', '-')}", rng.choice(_bad_values(opt))]
        cases.append((args, {f"--{o.name.replace('_', '-')}" for o in chosen}))
    return cases


BAD_SETS = ["bogus=1", "steps", "lr=abc", "=3"]
BAD_DURATIONS = ["soon", "", "-5m", "5x", "nan", "1e99h", "m"]


def _other_cases(rng: random.Random, tmp: str) -> list[tuple[list[str], set[str]]]:
    seeds = ["-1", "1e30", "abc", "1.5", "9223372036854775808", ""]
    makers = [
        lambda: (["check", "--seed", rng.choice(seeds), "--out", tmp], {"--seed"}),
        lambda: (["check", "--only", rng.choice(["bogus", "", "L2"]), "--out", tmp], {"--only"}),
        lambda: (["reproduce", "fig1", "--quick", "--seed", rng.choice(seeds), "--out", tmp], {"--seed"}),
        lambda: (["reproduce", rng.choice(["fig9", "bogus", ""]), "--out", tmp], {"NAME", "fig9", "bogus", "''"}),
        lambda: (["sweep", "--grid", rng.choice(["p", "=1", "bogus=1,2", "p=", "p=1,,2", "steps=x"]), "--out", tmp], {"--grid"}),
        lambda: (["sweep", "--grid", "p=0,1", "--set", rng.choice(BAD_SETS), "--out", tmp], {"--set"}),
        lambda: (["sweep", "--grid", "p=0,1", "--workers", rng.choice(["-1", "0", "abc"]), "--out", tmp], {"--workers"}),
        lambda: (["plot", f"{tmp}/t.parquet", "--out", f"{tmp}/f.{rng.choice(['jpg', 'svg', 'txt'])}"], {"--out"}),
        lambda: (["run", "--steps", "50", "--out", f"{tmp}/no/such/x.parquet"], {"--out"}),
        lambda: (["run", "--steps", "50", "--threads", rng.choice(["0", "-3", "1000", "x"])], {"--threads"}),
        lambda: (["run", "--steps", "50", "--checkpoint-every", rng.choice(BAD_DURATIONS)], {"--checkpoint-every"}),
        lambda: (["run", "--steps", "50", "--log-every", rng.choice(BAD_DURATIONS)], {"--log-every"}),
    ]
    return [rng.choice(makers)() for _ in range(N_OTHER)]


def _check(result, args: list[str], named: set[str]) -> None:
    where = f"args={args!r}"
    assert result.exit_code == 2, f"{where}: exit {result.exit_code}, {result.stderr!r}, {result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{where}: {result.exception!r}"
    assert "Traceback" not in result.stderr, where
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), f"{where}: {result.stderr!r}"
    assert any(n in lines[0] for n in named), f"{where}: none of {sorted(named)} named in {lines[0]!r}"


def test_fuzzed_invalid_cli_input_is_always_a_one_line_usage_error(tmp_path):
    rng = random.Random(SEED)
    runner = CliRunner()
    cases = _run_cases(rng) + _other_cases(rng, str(tmp_path))
    assert len(cases) >= 1000
    for args, named in cases:
        _check(runner.invoke(main, args), args, named)
    assert not any(tmp_path.iterdir()), "a refused command wrote something"


@pytest.mark.parametrize("opt", FUZZABLE, ids=lambda o: o.name)
def test_every_fuzzable_option_has_invalid_values(opt):
    assert _bad_values(opt)
