"""Theorem checks: every claim of the paper (docs/model.md section 2), measured through the public engine.

Each check runs simulations with :func:`fastnoise.engine.run` (or one SGD step with
:func:`fastnoise.probes.apply_step`), compares them with a prediction from
:mod:`fastnoise.theory` (which shares no code with the engine), and returns a
:class:`CheckResult`: rows of (check, setting, prediction, measured, tolerance, verdict), the
measurements as a DataFrame, and a plot. ``fastnoise check`` and ``tests/science/test_checks.py`` call
the same functions. ``mode="quick"`` keeps the whole suite to a few minutes on 2 cores;
``mode="full"`` runs larger sizes.

One module per theorem family (:mod:`.l2`, :mod:`.flow`, :mod:`.neuron`, :mod:`.nets`,
:mod:`.sparsify`, :mod:`.meanfield`, the h -> 0 flow against whole curves, and :mod:`.parity`,
sparse parities on the hypercube), each measuring,
then judging the measurements into rows; the figures are
drawn apart, by :mod:`.plots`, only when a result's ``plot`` is called. The result model is
:mod:`.result`. This module holds the registry (:data:`CHECKS`) and :func:`run_check`.

The registry is light: the check modules (and Numba, pandas, the engine they import) are loaded
when a check is looked up in :data:`CHECKS`, or when another name of this module is first touched
(PEP 562 ``__getattr__``), so ``fastnoise check --help`` can list the checks' names cheaply.

The checks' own tests (``tests/science/test_checks.py``) hand the engine a deliberately faulty step
(``tests/faults.py``) to show that each check fails when the engine is wrong; nothing here knows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    from .batch import check_batch_neuron
    from .flow import check_flow
    from .l2 import check_l2
    from .meanfield import check_meanfield
    from .nets import check_bias, check_nobias
    from .neuron import check_hinge_neuron, check_logistic_neuron
    from .parity import check_parity
    from .result import EPS, CheckResult, Row
    from .sparsify import check_sparsify

__all__ = [
    "CHECKS",
    "EPS",
    "CheckResult",
    "Row",
    "check_batch_neuron",
    "check_bias",
    "check_flow",
    "check_hinge_neuron",
    "check_l2",
    "check_logistic_neuron",
    "check_meanfield",
    "check_nobias",
    "check_parity",
    "check_sparsify",
    "run_check",
]


def run_check(name: str, mode: str = "quick", seed: int = 0) -> CheckResult:
    """Run one check by name: an exception is a failed check, not a crash.

    An exception (e.g. the engine stopping on non-finite weights) becomes a failed check that says
    what went wrong.

    Parameters
    ----------
    name : str
        A key of :data:`CHECKS`.
    mode : {"quick", "full"}
        The check's sizes.
    seed : int
        Root seed of its runs.

    Returns
    -------
    CheckResult
        The check's result, or one failed row ``the whole check`` naming the exception.
    """
    from .result import CheckResult

    try:
        return CHECKS[name](mode=mode, seed=seed)
    except Exception as exc:  # noqa: BLE001 - reported as the check's failure
        res = CheckResult(name, f"{name} (did not complete)")
        res.add("the whole check", "completes", f"{type(exc).__name__}: {exc}", "no error", False)
        return res


class _Registry(Mapping[str, Callable[..., "CheckResult"]]):
    """A read-only mapping name -> check function whose keys cost nothing and whose values are imported on access.

    ``entries`` maps each name to ``"module:function"`` (a module of this package).
    """

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> Callable[..., CheckResult]:
        module, _, function = self._entries[name].partition(":")
        check: Callable[..., CheckResult] = getattr(importlib.import_module(f".{module}", __name__), function)
        return check

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"CHECKS({self._entries!r})"


#: Each check's name -> ``"module:function"`` (a module of this package), in the order ``fastnoise check`` runs them.
_ENTRIES = {
    "l2": "l2:check_l2",
    "flow": "flow:check_flow",
    "hinge-neuron": "neuron:check_hinge_neuron",
    "logistic-neuron": "neuron:check_logistic_neuron",
    "nobias": "nets:check_nobias",
    "bias": "nets:check_bias",
    "sparsify": "sparsify:check_sparsify",
    "batch-neuron": "batch:check_batch_neuron",
    "meanfield": "meanfield:check_meanfield",
    "parity": "parity:check_parity",
}

#: The checks by name, in the order ``fastnoise check`` runs them (each value: the check function).
CHECKS: Mapping[str, Callable[..., CheckResult]] = _Registry(_ENTRIES)

#: Public name -> the submodule that defines it: the result model's names and every check function.
_LAZY = {
    "EPS": "result",
    "CheckResult": "result",
    "Row": "result",
    **{function: module for module, _, function in (target.partition(":") for target in _ENTRIES.values())},
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
