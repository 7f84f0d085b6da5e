"""fastnoise: per-sample SGD on ReLU networks under label noise, compiled with Numba.

Reproduces and stress-tests "Regularization by Misclassification in ReLU Neural Networks"
(Cornacchia, Hazla, Nachum, Yehudayoff, arXiv 2111.02154).

Public API: :func:`simulate`, :func:`run`, :class:`RunConfig`, :func:`read_results`,
:func:`write_results`; the open vocabulary: :func:`register_model`, :func:`register_task`,
:func:`register_loss` (with the bases :class:`~fastnoise.models.Model`, :class:`~fastnoise.tasks.Task`,
:class:`~fastnoise.losses.Loss`; see docs/extending.md).

The names are imported on first use (PEP 562 ``__getattr__``): ``import fastnoise`` and the
command line's start-up load neither Numba nor pandas nor pyarrow until a name that needs them
is touched (``fastnoise --help`` runs in a fraction of the time a run's imports take).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

from ._lazy import lazy_attributes

try:
    __version__ = metadata.version("fastnoise")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

#: Public name -> the submodule that defines it.
_LAZY = {
    "ConfigError": "config",
    "RunConfig": "config",
    "RunResult": "engine",
    "SimulationError": "engine",
    "run": "engine",
    "simulate": "engine",
    "ResultsFileError": "io",
    "read_config": "io",
    "read_results": "io",
    "write_results": "io",
    "Model": "models",
    "register_model": "models",
    "Task": "tasks",
    "register_task": "tasks",
    "Loss": "losses",
    "register_loss": "losses",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    from .config import ConfigError, RunConfig
    from .engine import RunResult, SimulationError, run, simulate
    from .io import ResultsFileError, read_config, read_results, write_results
    from .losses import Loss, register_loss
    from .models import Model, register_model
    from .tasks import Task, register_task


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())


__all__ = [
    "ConfigError",
    "Loss",
    "Model",
    "Task",
    "register_loss",
    "register_model",
    "register_task",
    "ResultsFileError",
    "RunConfig",
    "RunResult",
    "SimulationError",
    "__version__",
    "read_config",
    "read_results",
    "run",
    "simulate",
    "write_results",
]
