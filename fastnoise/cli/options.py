"""Click options generated from the run options' declaration (:data:`fastnoise.options.OPTIONS`).

One click parameter type per option kind, each converting text with :func:`fastnoise.options.parse`
(the function sweeps use for ``--set`` / ``--grid``), and :func:`config_options`, the decorator
that gives ``fastnoise run`` one option per RunConfig field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..options import OPTION as OPTION_BY_NAME
from ..options import OPTIONS, Option, coerce, parse, parse_count

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


def checkpoint_every_option(help: str) -> Callable[[F], F]:
    """``--checkpoint-every`` (a :data:`DURATION`, default 5m) with the command's own ``help``."""
    return click.option("--checkpoint-every", type=DURATION, default="5m", show_default=True, help=help)


def progress_options(f: F) -> F:
    """``--log-every`` and ``--no-progress``: how a long command shows its progress (:mod:`.progress`)."""
    f = click.option("--no-progress", is_flag=True, help="No progress bar or progress lines.")(f)
    return click.option(
        "--log-every",
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


class DeclaredOption(click.Option):
    """A click option made from a declared run option (``declared``: its :class:`~fastnoise.options.Option`)."""

    def __init__(self, *args: Any, declared: Option, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
