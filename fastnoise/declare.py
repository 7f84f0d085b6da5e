"""How a run option is declared: the :class:`Option` record, its kinds and its help groups.

:mod:`fastnoise.options` declares the table of options with it. This module imports nothing from
the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["GROUPS", "KINDS", "Option"]

#: The groups of run options, a panel each of ``fastnoise run --help`` and docs/cli.md, in this order.
GROUPS = ("model", "task and data", "label noise", "training regime", "recording", "execution", "output")

#: ``count``: a non-negative integer (text may say ``1e6``); ``float``: a real number; ``choice``:
#: one of ``choices``; ``flag``: true or false (``--x/--no-x``); ``text``: a string; ``widths``:
#: hidden widths (``64,32,16``, ``64x32x16`` or a sequence of ints).
KINDS = ("count", "float", "choice", "flag", "text", "widths")


@dataclass(frozen=True)
class Option:
    """One run parameter: a field of :class:`~fastnoise.config.RunConfig` and an option of ``fastnoise run``.

    Attributes
    ----------
    name : str
        Field name (``n_train``); the CLI spells it ``--n-train``.
    kind : str
        One of :data:`KINDS`.
    default
        The field's default (``None``: resolved from other fields, see ``default_text``).
    help : str
        One line for ``fastnoise run --help`` and docs/cli.md (no final period, no default).
    doc : str
        The description in RunConfig's docstring (numpydoc).
    choices : tuple
        Allowed values of a ``choice``.
    lo, hi : int or float or None
        The allowed range, both ends included unless ``lo_open`` (``hi=None``: no upper bound).
    lo_open : bool
        ``lo`` itself is excluded (``lr > 0``).
    optional : bool
        ``None`` is allowed (and is the default).
    default_text : str
        What a ``None`` default means, shown as ``[default: ...]``.
    doc_type : str
        The numpydoc type, when the one derived from ``kind`` does not say it all.
    group : str
        One of :data:`GROUPS` (required, keyword-only): its panel in ``fastnoise run --help``.
    """

    name: str
    kind: str
    default: Any
    help: str
    doc: str
    choices: tuple[Any, ...] = ()
    lo: int | float | None = None
    hi: int | float | None = None
    lo_open: bool = False
    optional: bool = False
    default_text: str = ""
    doc_type: str = ""
    group: str = field(kw_only=True)

    @property
    def flag(self) -> str:
        """The CLI spelling: ``--n-train`` (``--bias/--no-bias`` for a flag)."""
        cli = "--" + self.name.replace("_", "-")
        return f"{cli}/--no-{cli[2:]}" if self.kind == "flag" else cli

    @property
    def integer(self) -> bool:
        """Whether the value is an int (a count, or a choice among ints such as ``classes``)."""
        return self.kind == "count" or (self.kind == "choice" and all(type(c) is int for c in self.choices))

    @property
    def is_string(self) -> bool:
        """Whether the value is always a string (a choice among strings, or required text)."""
        if self.kind == "choice":
            return all(isinstance(c, str) for c in self.choices)
        return self.kind == "text" and not self.optional

    def cli_help(self) -> str:
        """The ``--help`` line: ``help``, then ``[default: default_text]`` for a resolved default."""
        return self.help + (f" [default: {self.default_text}]" if self.default_text else "") + "."

    def range_text(self) -> str:
        """The allowed range as RunConfig's messages say it: ``>= 1``, ``between 2 and 10000000``, ``> 0``, ``in [0, 1]``."""
        lo, hi = self.lo, self.hi
        if lo is None:
            return ""
        if self.kind in ("count", "widths"):
            each = "each " if self.kind == "widths" else ""
            return f"{each}>= {lo}" if hi is None else f"{each}between {lo} and {hi}"
        if hi is None:
            return f"{'>' if self.lo_open else '>='} {lo:g}"
        return f"in {'(' if self.lo_open else '['}{lo:g}, {hi:g}]"

    def type_doc(self) -> str:
        """The numpydoc type: ``{"log", "linear"}``, ``int or None``, ``float``, ``bool``."""
        if self.doc_type:
            return self.doc_type
        if self.kind == "choice":
            return "{" + ", ".join(f'"{c}"' if isinstance(c, str) else str(c) for c in self.choices) + "}"
        base = {"count": "int", "float": "float", "flag": "bool", "text": "str"}[self.kind]
        return base + (" or None" if self.optional else "")
