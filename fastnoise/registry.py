"""One registry of named entries, shared by the models, the tasks and the losses: register, list, look up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .errors import ConfigError

__all__ = ["Registry"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...  # noqa: D102


E = TypeVar("E", bound=_Named)


class Registry(Generic[E]):
    """Entries by name, in the order registered (the built-in ones first).

    Parameters
    ----------
    kind : str
        What an entry is, for messages (``"model"``).
    option : str
        The configuration field that names an entry (``"model"``, ``"data"``): a name that is not
        registered is a :class:`~fastnoise.errors.ConfigError` of that option.
    dashes : bool
        Names may contain dashes (``fashion-mnist``); otherwise a name is an identifier (it names
        compiled kernels).
    listed : callable, optional
        Which entries the option accepts (default: all; a model's forms are registered, not listed).
    """

    def __init__(self, kind: str, option: str, *, dashes: bool = False, listed: Callable[[E], bool] | None = None) -> None:
        self.kind = kind
        self.option = option
        self.dashes = dashes
        self.listed: Callable[[E], bool] = listed or (lambda entry: True)
        self._entries: dict[str, E] = {}

    def register(self, entry: E) -> E:
        """Add ``entry``; returns it. Raises ValueError for a name that is not allowed or already taken."""
        name = entry.name
        plain = name.replace("-", "_") if self.dashes and isinstance(name, str) else name
        if not isinstance(plain, str) or not plain.isidentifier():
            what = "(dashes allowed)" if self.dashes else "(it names compiled kernels)"
            raise ValueError(f"a {self.kind}'s name must be an identifier {what}, got {name!r}")
        if name in self._entries and self._entries[name] is not entry:
            raise ValueError(f"a {self.kind} named {name!r} is registered already")
        self._entries[name] = entry
        return entry

    def entries(self) -> tuple[E, ...]:
        """Every registered entry, listed or not."""
        return tuple(self._entries.values())

    def names(self) -> tuple[str, ...]:
        """The names the option accepts."""
        return tuple(name for name, entry in self._entries.items() if self.listed(entry))

    def get(self, name: str) -> E:
        """The entry the option names. Raises ConfigError (the option's) naming the allowed ones."""
        entry = self._entries.get(name) if isinstance(name, str) else None
        if entry is None or not self.listed(entry):
            raise ConfigError(self.option, f"must be one of {', '.join(self.names())}; got {name!r}")
        return entry
