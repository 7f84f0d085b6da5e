"""``fastnoise run --help`` lists its options in panels (model, task and data, label noise, ...).

Every run option is declared with a group (fastnoise/options.py, ``Option.group``); ``run``'s own
options (``--threads``, ``--out``, ...) have one too. The help shows one section per group in
``GROUPS``' order, plain text; ``fastnoise sweep --help`` lists the keys of ``--set`` / ``--grid``
by the same groups, and docs/cli.md has one table per group.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from fastnoise.cli import main
from fastnoise.cli.docs import render
from fastnoise.cli.options import GroupedOption, group_title, option_group
from fastnoise.options import GROUPS, OPTION, OPTIONS, Option

HEADING = re.compile(r"^(\S.*):$")


def _help(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _sections(text: str) -> dict[str, list[str]]:
    """Heading -> the option spellings listed under it (the first word of each ``  --x`` line)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = HEADING.match(line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None and re.match(r"^  -", line):
            out[current].append(line.split()[0].rstrip(","))
    return out


def test_every_declared_option_has_a_group():
    """A declared option without a group cannot be written; each one's group is one of GROUPS."""
    for o in OPTIONS:
        assert o.group in GROUPS, o.name
    with pytest.raises(TypeError, match="group"):
        Option("x", "count", 1, "X", "X.")  # type: ignore[call-arg]


def test_every_option_of_run_belongs_to_exactly_one_group():
    """Each option of `fastnoise run` (declared or its own: --threads, --out, ...) has a group; --help alone has none."""
    params = main.commands["run"].params  # (without --help; a click.Context of its own would change its spelling)
    assert len(params) > len(OPTIONS)
    for p in params:
        assert isinstance(p, GroupedOption) and p.group in GROUPS, f"option {p.name} of fastnoise run has no group"


def test_a_grouped_option_refuses_an_unknown_group():
    with pytest.raises(ValueError, match="'misc' is not one of model, task and data"):
        GroupedOption(["--x"], group="misc")


def test_run_help_shows_one_section_per_group_in_order():
    """Sections in GROUPS' order, each listing its options in declaration order; --help last, under Options."""
    text = _help("run")
    sections = _sections(text)
    titles = [group_title(g) for g in GROUPS]
    assert list(sections) == [*titles, "Options"]
    assert sections["Options"] == ["-h"]
    params = main.commands["run"].params
    for g in GROUPS:
        expected = [p.opts[0] for p in params if option_group(p) == g]
        assert expected and sections[group_title(g)] == expected, g
    listed = [o for opts in sections.values() for o in opts]
    assert len(listed) == len(set(listed)) == len(params) + 1  # each option once, plus -h
    assert sections["Model"][:2] == ["--model", "--bias"] and "--p" in sections["Label noise"]
    assert sections["Output"] == ["--out", "--overwrite"] and "--threads" in sections["Execution"]


def test_run_help_is_plain_text_with_one_description_column():
    """No terminal escapes; every option's description starts in the same column in every section."""
    text = _help("run")
    assert "\x1b" not in text and "─" not in text
    columns = {
        len(line) - len(line.split("  ", 2)[-1].lstrip())
        for line in text.splitlines()
        if re.match(r"^  --?\w[^ ]*( [^ ]+)?  +\S", line) and len(line.split()[0]) < 28
    }
    assert len(columns) == 1, columns


def test_sweep_help_lists_the_run_options_by_group():
    """`fastnoise sweep --help`: --set names the list; every declared option once, under its group's title."""
    text = _help("sweep")
    assert "--set KEY=VALUE" in text and "listed below, by group" in " ".join(text.split())
    tail = text.split("Run options for --set, --grid and a spec's [base] and [grid]", 1)[1]
    rows: dict[str, list[str]] = {}
    current = None
    for line in tail.splitlines()[1:]:
        title = next((group_title(g) for g in GROUPS if line.startswith("  " + group_title(g) + "  ")), None)
        if title is not None:
            current = title
            line = line[len("  " + title) :]
        assert current is not None, line
        rows.setdefault(current, []).extend(k.strip() for k in line.split(",") if k.strip())
    assert list(rows) == [group_title(g) for g in GROUPS if any(o.group == g for o in OPTIONS)]
    for title, keys in rows.items():
        assert keys == [o.name for o in OPTIONS if group_title(o.group) == title], title
    assert sorted(k for keys in rows.values() for k in keys) == sorted(OPTION)


def test_docs_have_one_table_per_group_of_run_options():
    """docs/cli.md's `fastnoise run`: a `### Title` per group, each option's row under its group."""
    doc = render()
    run = doc.split("## `fastnoise run`", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", run, flags=re.M)
    titles = parts[1::2]
    assert titles == [group_title(g) for g in GROUPS]
    for title, body in zip(titles, parts[2::2], strict=True):
        spelled = re.findall(r"^\| `(--[\w-]+)`", body, flags=re.M)
        assert spelled == [
            p.opts[0]
            for p in main.commands["run"].params
            if option_group(p) is not None and group_title(option_group(p) or "") == title
        ], title
    sweep = doc.split("## `fastnoise sweep`", 1)[1]
    for o in OPTIONS:
        assert f"`{o.name}`" in sweep, o.name
