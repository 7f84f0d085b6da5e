"""The ``fastnoise`` group and what its commands share: one-line errors, ``fail``, the command line, verbosity.

Each command is a module of this package that imports its group from here and adds itself to it;
:mod:`fastnoise.cli` imports them all.
"""

from __future__ import annotations

import atexit
import os
import shlex
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from .options import COUNT, Count  # noqa: F401  (COUNT: the commands' count type, re-exported)

DEFAULT_RESULTS = Path("results")


class _OneLineErrors(click.Group):
    """Print usage errors as a single line (no usage banner) and exit with status 2."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def entry() -> NoReturn:
    """The console script and ``python -m fastnoise``: the command, then a prompt exit.

    Once a command has returned (its files written, fsynced and renamed), Python's own shutdown
    still clears some 1200 modules (Numba, llvmlite, pandas, pyarrow): about 0.3 s of a warm
    ``fastnoise run`` (bench/run_bench.py's start-up row). Here the atexit handlers run (logging's
    flush, any library's cleanup), standard output and error are flushed, and the process ends
    without that teardown. If a non-daemon thread is still running (fastnoise leaves none; the
    interpreter would wait for it), or outside CPython, the normal exit is used.
    """
    try:
        main(prog_name="fastnoise")
        code: str | int | None = 0
    except SystemExit as exc:
        code = exc.code
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others or not hasattr(atexit, "_run_exitfuncs"):
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        click.echo(code, err=True)  # what sys.exit does with a message
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``Error: message`` on one line and exit (2: bad usage, before any work)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def check_out(out: Path | None, suffix: str, what: str) -> None:
    """An explicit ``--out`` must end in ``suffix`` and lie in an existing folder (none is created for it)."""
    if out is None:
        return
    if out.suffix != suffix:
        fail(f"--out {out}: {what}; give a path ending in {suffix}")
    if not out.parent.is_dir():
        fail(f"--out {out}: folder {out.parent} does not exist (create it first)")


def command_line() -> str:
    """The command being run, as typed words: ``fastnoise [options] COMMAND`` and the arguments given, shell-quoted.

    What a failed run or sweep prints as the command that resumes it.

    Rebuilt from what click parsed (only the values given on the command line, the group's options
    too), so it is the same command however fastnoise was started (console script,
    ``python -m fastnoise``, a test runner).
    """
    chain = []
    ctx: click.Context | None = click.get_current_context()
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.parent
    words: list[str] = []
    for i, c in enumerate(reversed(chain)):
        words += ["fastnoise" if i == 0 else (c.info_name or ""), *_given(c)]
    return shlex.join(words)


def _given(ctx: click.Context) -> list[str]:
    """The command-line words of the parameters of ``ctx`` that were given on the command line."""
    words: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if name is None or name not in ctx.params or ctx.get_parameter_source(name) != click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Argument):
            words += [str(v) for v in (value if isinstance(value, (tuple, list)) else [value])]
            continue
        opt = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.count:
            words += [opt] * int(value)
        elif isinstance(param, click.Option) and param.is_flag:
            if value:
                words.append(opt)
            elif param.secondary_opts:
                words.append(max(param.secondary_opts, key=len))
        else:
            for v in value if param.multiple else [value]:
                words += [opt, *(str(x) for x in (v if isinstance(v, (tuple, list)) else [v]))]
    return words


class _DeprecatedAlias(click.Command):
    """A command's old name: hidden from help and docs, it says it is deprecated on stderr, then runs the command."""

    def __init__(self, target: click.Command, old_name: str) -> None:
        super().__init__(
            old_name,
            context_settings=target.context_settings,
            callback=target.callback,
            params=target.params,
            help=target.help,
            short_help=target.short_help,
            hidden=True,
        )
        self.target = target

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Say the command is deprecated (one line on stderr), then parse as the command does."""
        click.echo(f"fastnoise {self.name} is deprecated: it is now called fastnoise {self.target.name} (same options)", err=True)
        return super().parse_args(ctx, args)


def deprecated_alias(command: click.Command, old_name: str) -> click.Command:
    """A hidden command ``old_name`` that prints a one-line deprecation notice on stderr, then runs ``command``.

    For a renamed command (register it with ``main.add_command``): it takes the same options and
    arguments, is left out of ``--help`` and docs/cli.md, and the notice names the new command.
    """
    return _DeprecatedAlias(command, old_name)


_VERBOSITY = [0]


def verbosity() -> int:
    """-1 with ``-q``, 0 by default, the number of ``-v`` otherwise (set by the ``fastnoise`` group)."""
    return _VERBOSITY[0]


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fastnoise")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr: no progress, no notices.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (repeatable; -v shows debug records).")
def main(quiet: bool, verbose: int) -> None:
    """Per-sample SGD on ReLU networks under label noise (arXiv 2111.02154).

    Options -q/-v go before the command: fastnoise -q run ...
    """
    if quiet and verbose:
        fail("-q/--quiet and -v/--verbose exclude each other; give one")
    _VERBOSITY[0] = -1 if quiet else verbose
    from .progress import configure_logging

    configure_logging(_VERBOSITY[0])
