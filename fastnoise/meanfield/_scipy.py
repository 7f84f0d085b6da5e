"""The scipy functions the flows use, imported on first call.

Importing ``scipy.special``, ``scipy.stats`` and ``scipy.integrate`` costs 0.5-1.5 s; every CLI
command imports this package (``fastnoise check``, ``plot --theory``, ``reproduce``), so scipy is
imported only when a flow is computed. Each wrapper is the scipy function itself after its first
call (an import of a loaded module is a dictionary lookup).
"""

from __future__ import annotations

from typing import Any

__all__ = ["expit", "ndtr", "ndtri", "owens_t", "sobol", "solve_ivp"]


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


def owens_t(h: Any, a: Any) -> Any:
    """``scipy.special.owens_t``: Owen's T function."""
    from scipy.special import owens_t as f

    return f(h, a)


def sobol(d: int, seed: Any) -> Any:
    """``scipy.stats.qmc.Sobol(d, scramble=True, seed=seed)``."""
    from scipy.stats import qmc

    return qmc.Sobol(d, scramble=True, seed=seed)


def solve_ivp(*args: Any, **kwargs: Any) -> Any:
    """``scipy.integrate.solve_ivp``."""
    from scipy.integrate import solve_ivp as f

    return f(*args, **kwargs)
