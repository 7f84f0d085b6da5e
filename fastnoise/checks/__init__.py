"""Theorem checks: every claim of the paper (docs/model.md section 2), measured through the public engine.

Each check runs simulations with :func:`fastnoise.engine.run` (or one SGD step with
:func:`fastnoise.engine.apply_step`), compares them with a prediction from
:mod:`fastnoise.theory` (which shares no code with the engine), and returns a
:class:`CheckResult`: rows of (check, setting, prediction, measured, tolerance, verdict), the
measurements as a DataFrame, and a plot. ``fastnoise check`` and ``tests/test_checks.py`` call
the same functions. ``mode="quick"`` keeps the whole suite to a few minutes on 2 cores;
``mode="full"`` runs larger sizes.

One module per theorem family (:mod:`.l2`, :mod:`.flow`, :mod:`.neuron`, :mod:`.nets`,
:mod:`.sparsify`, and :mod:`.meanfield`, the h -> 0 flow against whole curves), each measuring,
then judging the measurements into rows; the figures are
drawn apart, by :mod:`.plots`, only when a result's ``plot`` is called. The result model is
:mod:`.result`. This module holds the registry (:data:`CHECKS`) and :func:`run_check`.

The checks' own tests (``tests/test_checks.py``) hand the engine a deliberately faulty step
(``tests/faults.py``) to show that each check fails when the engine is wrong; nothing here knows.
"""

from __future__ import annotations

from collections.abc import Callable

from .batch import check_batch_neuron
from .flow import check_flow
from .l2 import check_l2
from .meanfield import check_meanfield
from .nets import check_bias, check_nobias
from .neuron import check_hinge_neuron, check_logistic_neuron
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
    try:
        return CHECKS[name](mode=mode, seed=seed)
    except Exception as exc:  # noqa: BLE001 - reported as the check's failure
        res = CheckResult(name, f"{name} (did not complete)")
        res.add("the whole check", "completes", f"{type(exc).__name__}: {exc}", "no error", False)
        return res


#: The checks by name, in the order ``fastnoise check`` runs them.
CHECKS: dict[str, Callable[..., CheckResult]] = {
    "l2": check_l2,
    "flow": check_flow,
    "hinge-neuron": check_hinge_neuron,
    "logistic-neuron": check_logistic_neuron,
    "nobias": check_nobias,
    "bias": check_bias,
    "sparsify": check_sparsify,
    "batch-neuron": check_batch_neuron,
    "meanfield": check_meanfield,
}
