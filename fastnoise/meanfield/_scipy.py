"""The scipy functions the flows use, imported on first call.

Importing ``scipy.special``, ``scipy.stats`` and ``scipy.integrate`` costs 0.5-1.5 s; every CLI
command imports this package (``fastnoise check``, ``plot --theory``, ``reproduce``), so scipy is
imported only when a flow is computed. Each wrapper is the scipy function itself after its first
call (an import of a loaded module is a dictionary lookup).
"""

from __future__ import annotations

from typing import Any

__all__ = ["expit", "ndtr", "ndtri", "ode_solver", "owens_t", "sobol"]


def expit(x: Any) -> Any:
    """``scipy.special.expit``: the logistic sigmoid."""
    from scipy.special import expit as f

    return f(x)


def ndtr(x: Any) -> Any:
    """``scipy.special.ndtr``: the standard normal distribution function Phi."""
    from scipy.special import ndtr as f

    return f(x)


def ndtri(x: Any) -> Any:
    """``scipy.special.ndtri``: Phi^-1."""
    from scipy.special import ndtri as f

    return f(x)


def ode_solver(method: str) -> Any:
    """The ``scipy.integrate`` solver class ``solve_ivp`` uses for ``method`` (``"RK45"``, ``"Radau"``, ...)."""
    import scipy.integrate

    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    return getattr(scipy.integrate, method)


#: ``solve_ivp``'s methods (each a solver class of ``scipy.integrate`` of that name).
_METHODS = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")


def owens_t(h: Any, a: Any) -> Any:
    """``scipy.special.owens_t``: Owen's T function."""
    from scipy.special import owens_t as f

    return f(h, a)


def sobol(d: int, seed: Any) -> Any:
    """``scipy.stats.qmc.Sobol(d, scramble=True, seed=seed)``."""
    from scipy.stats import qmc

    return qmc.Sobol(d, scramble=True, seed=seed)
