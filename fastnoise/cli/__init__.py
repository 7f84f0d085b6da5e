"""The ``fastnoise`` command line (``fastnoise.cli``; console script ``fastnoise``, or ``python -m fastnoise``).

Every usage error is one line on stderr, ``Error: ...``, with exit status 2, before any work.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def fail(message: str, code: int = 2) -> None:
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


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fastnoise")
def main() -> None:
    """Per-sample SGD on ReLU networks under label noise (arXiv 2111.02154)."""


def _register() -> None:
    # One module per command; imported here so that `fastnoise.cli:main` sees them all.
    from . import check as _check  # noqa: F401
    from . import data as _data  # noqa: F401
    from . import reproduce as _reproduce  # noqa: F401
    from . import run as _run  # noqa: F401
    from . import sweep as _sweep  # noqa: F401


_register()
