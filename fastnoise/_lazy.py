"""Lazy public names for a package (PEP 562), written once for ``fastnoise``, its checks and experiments.

A package lists ``name -> submodule`` and gets a module ``__getattr__`` that imports the submodule
on first use (then caches the value in the package's namespace) and a ``__dir__`` that lists the
lazy names too. Why: ``fastnoise --help`` and usage errors must not pay for Numba, pandas or
pyarrow, which the submodules import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public ``names`` live in the given submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping of str to str
        Public name -> the submodule (relative to ``package``) that defines it.
    namespace : dict
        The package's ``globals()``: a value, once imported, is stored there.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
