"""fastnoise: per-sample SGD on ReLU networks under label noise, compiled with Numba.

Reproduces and stress-tests "Regularization by Misclassification in ReLU Neural Networks"
(Cornacchia, Hazla, Nachum, Yehudayoff, arXiv 2111.02154).

Public API: :func:`simulate`, :func:`run`, :class:`RunConfig`, :func:`read_results`,
:func:`write_results`.
"""

from __future__ import annotations

from importlib import metadata

from .config import ConfigError, RunConfig
from .engine import RunResult, SimulationError, run, simulate
from .io import ResultsFileError, read_config, read_results, write_results

try:
    __version__ = metadata.version("fastnoise")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "ConfigError",
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
