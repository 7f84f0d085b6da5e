"""docs/cli.md, generated from the click command tree and the run options' declaration.

``python -m fastnoise.cli.docs > docs/cli.md`` (or ``python -m fastnoise.cli.docs docs/cli.md``)
writes every command's usage, description and options (type, default, allowed values, help);
tests/cli/test_cli_options.py checks that the committed file is exactly what this renders.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import click

from ..files import atomic_write_text
from ..options import GROUPS, Option
from .app import main
from .options import DeclaredOption, GroupedCommand, RunKeysCommand, declared_groups, group_title, option_group

_REGENERATE = "python -m fastnoise.cli.docs > docs/cli.md"
_UNSET = getattr(click.core, "UNSET", object())  # click >= 8.3: the default of a parameter given none


def _cell(text: Any) -> str:
    """Text for a Markdown table cell (pipes escaped, on one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _description(help_text: str | None) -> list[str]:
    r"""A command's docstring as Markdown: paragraphs joined, ``\b`` blocks as code blocks."""
    out: list[str] = []
    for para in inspect.cleandoc(help_text or "").split("\n\n"):
        lines = para.splitlines()
        if lines and lines[0].strip() == "\b":
            out += ["```", *lines[1:], "```", ""]
        elif lines:
            out += [" ".join(line.strip() for line in lines), ""]
    return out


def _declared(param: click.Parameter) -> Option | None:
    """The declared run option behind ``param`` (an option of ``fastnoise run``), if any."""
    return param.declared if isinstance(param, DeclaredOption) else None


def _type(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    if isinstance(param.type, click.Choice):
        return "choice"
    return param.type.name


def _default(param: click.Parameter, ctx: click.Context) -> str:
    opt = _declared(param)
    if opt is not None and opt.default is None:
        return _cell(opt.default_text)
    if isinstance(param, click.Argument) or param.multiple:
        return ""
    default = param.get_default(ctx, call=False)
    if default is _UNSET:
        return ""
    if isinstance(param, click.Option) and param.secondary_opts and isinstance(default, bool):
        return _code(param.opts[0] if default else param.secondary_opts[0])
    if default is None or default is False or default == () or callable(default):
        return ""
    return _code(str(default))


def _allowed(param: click.Parameter) -> str:
    opt = _declared(param)
    if opt is not None and opt.kind not in ("flag", "choice"):
        return _cell(opt.range_text())
    if isinstance(param.type, click.Choice):
        return ", ".join(_code(str(c)) for c in param.type.choices)
    return ""


def _help(param: click.Parameter) -> str:
    opt = _declared(param)
    if opt is not None:
        return _cell(opt.help + ".")
    if isinstance(param, click.Argument):
        return "(argument)"
    return _cell(getattr(param, "help", None) or "")


def _spelling(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        names = ", ".join(f"`{o}`" for o in param.opts)
        if param.secondary_opts:
            names += " / " + ", ".join(f"`{o}`" for o in param.secondary_opts)
        return names
    return _code(param.human_readable_name)


def _table(params: list[click.Parameter], ctx: click.Context) -> list[str]:
    """The Markdown table of ``params``: spelling, type, default, allowed values, help."""
    out = ["| Option | Type | Default | Allowed | Description |", "|---|---|---|---|---|"]
    for p in params:
        out.append(f"| {_spelling(p)} | {_type(p)} | {_default(p, ctx)} | {_allowed(p)} | {_help(p)} |")
    return [*out, ""]


def _by_group(params: list[click.Parameter]) -> list[tuple[str, list[click.Parameter]]]:
    """``params`` by group, in :data:`~fastnoise.options.GROUPS`' order (titled); those without one last, as ``Other options``."""
    groups: dict[str | None, list[click.Parameter]] = {g: [] for g in GROUPS}
    groups[None] = []
    for p in params:
        groups[option_group(p)].append(p)
    return [(group_title(g) if g is not None else "Other options", ps) for g, ps in groups.items() if ps]


def _command(cmd: click.Command, ctx: click.Context, path: str) -> list[str]:
    out = [f"## `{path}`", ""]
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    out += ["```", f"{path} {usage}".rstrip(), "```", ""]
    out += _description(cmd.help)
    params = [p for p in cmd.get_params(ctx) if p is not cmd.get_help_option(ctx)]
    if isinstance(cmd, GroupedCommand):  # one table per group, as its --help shows them
        for title, group in _by_group(params):
            out += [f"### {title}", "", *_table(group, ctx)]
    elif params:
        out += _table(params, ctx)
    if isinstance(cmd, RunKeysCommand):
        out += [f"{cmd.run_keys_heading}:", "", "| Group | Keys |", "|---|---|"]
        out += [f"| {group_title(g)} | {', '.join(_code(o.name) for o in opts)} |" for g, opts in declared_groups()]
        out.append("")
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            if sub.hidden:  # a deprecated alias (fastnoise theory): documented under its new name only
                continue
            out += _command(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True), f"{path} {name}")
    return out


def render() -> str:
    """The text of docs/cli.md."""
    ctx = main.make_context("fastnoise", [], resilient_parsing=True)
    head = [
        "# Command line reference",
        "",
        f"Generated by `{_REGENERATE}` from the click commands and the run options'",
        "declaration (`fastnoise/options.py`: the options of `fastnoise run` are the fields of `RunConfig`);",
        "do not edit by hand. `python -m fastnoise` is the same as the `fastnoise` command; every command",
        "takes `-h` / `--help`; counts accept `1e6` notation.",
        "",
    ]
    return "\n".join(head + _command(main, ctx, "fastnoise")).rstrip("\n") + "\n"


def write(argv: list[str] | None = None) -> None:
    """Print docs/cli.md, or write it to the path given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        raise SystemExit(f"usage: {_REGENERATE} (or: python -m fastnoise.cli.docs PATH)")
    if args:
        atomic_write_text(args[0], render())
    else:
        click.echo(render(), nl=False)


if __name__ == "__main__":
    write()
