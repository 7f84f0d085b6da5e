"""Click options generated from the run options' declaration (:data:`fastnoise.options.OPTIONS`).

One click parameter type per option kind, each converting text with :func:`fastnoise.options.parse`
(the function sweeps use for ``--set`` / ``--grid``), :func:`config_options`, the decorator
that gives ``fastnoise run`` one option per RunConfig field, and the grouped help:
:class:`GroupedOption` (an option with a group of :data:`fastnoise.options.GROUPS`) and
:class:`GroupedCommand`, whose ``--help`` lists its options in one section per group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..options import GROUPS, OPTIONS, Option, coerce, parse, parse_count
from ..options import OPTION as OPTION_BY_NAME

F = TypeVar("F", bound=Callable[..., Any])

_TYPE_NAMES = {"count": "integer", "float": "float", "text": "text", "widths": "text"}


class OptionType(click.ParamType):
    """The value of one declared option, read from text by :func:`fastnoise.options.parse`."""

    def __init__(self, option: Option) -> None:
        self.option = option
        self.name = _TYPE_NAMES[option.kind]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Command-line text through :func:`fastnoise.options.parse`; a Python value through ``coerce``."""
        if not isinstance(value, str):
            return coerce(self.option.name, value)
        try:
            return parse(self.option.name, value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class OptionChoice(click.Choice):
    """A declared choice (``--model``); choices among ints (``--classes``) give ints."""

    def __init__(self, option: Option) -> None:
        super().__init__([str(c) for c in option.choices])
        self.option = option

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """One of the declared choices, converted to the option's type."""
        return parse(self.option.name, super().convert(str(value), param, ctx))


class Count(click.ParamType):
    """A non-negative integer; also accepts 1e6-style notation when it is a whole number (as run counts do)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """An int as is; text such as ``1e6`` if it is a whole number."""
        if isinstance(value, int):
            return value
        try:
            return parse_count(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


COUNT = Count()


class Ranged(OptionType):
    """A declared integer option read from text and held to its declared range (``--seed`` of check/reproduce)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The value, or a usage error naming the allowed range."""
        v = super().convert(value, param, ctx)
        lo, hi = self.option.lo, self.option.hi
        if isinstance(v, bool) or not isinstance(v, int) or (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(f"must be an integer between {lo} and {hi}, got {value!r}", param, ctx)
        return v


class Duration(click.ParamType):
    """A duration: ``90``, ``90s``, ``5m``, ``1.5h`` (seconds as a float); ``off`` or ``0`` is 0."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """Seconds, or a usage error."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        from ..checkpoint import parse_duration

        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(getattr(exc, "message", str(exc)), param, ctx)


DURATION = Duration()


class GroupedOption(click.Option):
    """A click option that belongs to one group of :data:`fastnoise.options.GROUPS` (a section of :class:`GroupedCommand`'s help).

    Parameters
    ----------
    *args, **kwargs
        What :class:`click.Option` takes.
    group : str
        One of :data:`fastnoise.options.GROUPS`; a command that is not a :class:`GroupedCommand`
        ignores it.

    Raises
    ------
    ValueError
        ``group`` is not one of :data:`fastnoise.options.GROUPS`.
    """

    def __init__(self, *args: Any, group: str, **kwargs: Any) -> None:
        if group not in GROUPS:
            raise ValueError(f"option group {group!r} is not one of {', '.join(GROUPS)}")
        super().__init__(*args, **kwargs)
        self.group = group


def option_group(param: click.Parameter) -> str | None:
    """The group of ``param`` (one of :data:`fastnoise.options.GROUPS`), or ``None`` if it has none (``--help``)."""
    return param.group if isinstance(param, GroupedOption) else None


def group_title(group: str) -> str:
    """A group's heading: ``Task and data``."""
    return group[:1].upper() + group[1:]


class GroupedCommand(click.Command):
    """A command whose ``--help`` lists its options in one section per group, in :data:`~fastnoise.options.GROUPS`' order.

    Each :class:`GroupedOption` goes under its group's heading (``Model:``, ``Task and data:``,
    ...), in the order the command declares them; options without a group (``-h, --help``) come
    last, under ``Options:``. The help stays plain text (click's own formatter): one column of
    option names aligned across all sections.
    """

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write one section per group that has options, then the options without a group."""
        sections: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
        others: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            group = option_group(param)
            (others if group is None else sections[group]).append(record)
        listed = [(group_title(g), rows) for g, rows in sections.items() if rows]
        if others:
            listed.append(("Options", others))
        _write_sections(formatter, listed)


def _write_sections(formatter: click.HelpFormatter, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
    """Write each ``(heading, rows)`` as a help section, the rows' second column aligned across sections."""
    names = [name for _, rows in sections for name, _ in rows]
    width = min(max((len(n) for n in names), default=0), _COL_MAX)
    for heading, rows in sections:
        with formatter.section(heading):
            formatter.write_dl([(name.ljust(width), text) for name, text in rows], col_max=_COL_MAX)


#: click's widest first column (longer option names get a line of their own).
_COL_MAX = 30


def declared_groups() -> list[tuple[str, list[Option]]]:
    """The declared run options by group: ``(group, options)`` for each group that has some, in :data:`GROUPS`' order."""
    return [(g, [o for o in OPTIONS if o.group == g]) for g in GROUPS if any(o.group == g for o in OPTIONS)]


class RunKeysCommand(click.Command):
    """A command whose ``--help`` ends with the run options its ``KEY=VALUE`` options take, by group (``fastnoise sweep``).

    The section :attr:`run_keys_heading` lists each group of :data:`~fastnoise.options.GROUPS`
    that has declared run options, with their names as a spec writes them (``n_train``; the
    command line also reads ``n-train``).
    """

    run_keys_heading = "Run options for --set, --grid and a spec's [base] and [grid] (see fastnoise run --help)"

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The options as click writes them, then the run options by group."""
        super().format_options(ctx, formatter)
        with formatter.section(self.run_keys_heading):
            formatter.write_dl([(group_title(g), ", ".join(o.name for o in opts)) for g, opts in declared_groups()])


def checkpoint_every_option(help: str) -> Callable[[F], F]:
    """``--checkpoint-every`` (a :data:`DURATION`, default 5m, group ``execution``) with the command's own ``help``."""
    return click.option(
        "--checkpoint-every", cls=GroupedOption, group="execution", type=DURATION, default="5m", show_default=True, help=help
    )


def progress_options(f: F) -> F:
    """``--log-every`` and ``--no-progress`` (group ``execution``): how a long command shows its progress (:mod:`.progress`)."""
    f = click.option(
        "--no-progress", cls=GroupedOption, group="execution", is_flag=True, help="No progress bar or progress lines."
    )(f)
    return click.option(
        "--log-every",
        cls=GroupedOption,
        group="execution",
        type=DURATION,
        default="30s",
        show_default=True,
        help="When stderr is not a terminal: one progress line this often (off: none).",
    )(f)


#: ``--seed`` for the commands that are not ``run`` (which validates it through RunConfig).
SEED = Ranged(OPTION_BY_NAME["seed"])


def click_type(option: Option) -> click.ParamType | None:
    """The click type of a declared option (``None`` for a flag)."""
    if option.kind == "flag":
        return None
    if option.kind == "choice":
        return OptionChoice(option)
    return OptionType(option)


class DeclaredOption(GroupedOption):
    """A click option made from a declared run option (``declared``: its :class:`~fastnoise.options.Option`; its group)."""

    def __init__(self, *args: Any, declared: Option, **kwargs: Any) -> None:
        super().__init__(*args, group=declared.group, **kwargs)
        self.declared = declared


def click_option(option: Option) -> Callable[[F], F]:
    """The ``click.option`` decorator of one declared option: its spelling, type, default and help."""
    kwargs: dict[str, Any] = {"default": option.default, "show_default": option.default is not None, "help": option.cli_help()}
    if option.kind != "flag":
        kwargs["type"] = click_type(option)
    return click.option(option.flag, option.name, cls=DeclaredOption, declared=option, **kwargs)


def config_options(f: F) -> F:
    """Decorate a command with one option per RunConfig field, in the declaration's order."""
    for option in reversed(OPTIONS):
        f = click_option(option)(f)
    return f
