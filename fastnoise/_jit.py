"""The one place where Numba flags are set.

Every kernel in :mod:`fastnoise._kernels` is compiled through :func:`jit` (serial) or
:func:`pjit` (``parallel=True``, used only for the loop over replicas), so the flags below hold
for the whole package:

- ``cache=True``: compiled code is written to disk and reused by the next process. Numba puts the
  cache beside the sources when that folder is writable, otherwise in the user's cache folder;
  ``NUMBA_CACHE_DIR`` overrides both.
- ``fastmath`` is never enabled: the kernels' output is compared with a plain-NumPy reference,
  and the hinge rule branches on the sign of ``y * N(x)``, so reassociation could change a run.
- ``error_model="numpy"``: a division by zero gives inf/nan (caught by the post-checks) instead
  of raising inside a kernel.
- ``boundscheck`` is left to Numba's ``NUMBA_BOUNDSCHECK`` environment variable, so the tests can
  run with ``NUMBA_BOUNDSCHECK=1``.
"""

from __future__ import annotations

from numba import njit, prange

__all__ = ["jit", "pjit", "prange"]

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def jit(func=None, **extra):
    """Compile ``func`` with the package's flags (serial kernels)."""
    flags = {**_FLAGS, **extra}
    if func is None:
        return lambda f: njit(**flags)(f)
    return njit(**flags)(func)


def pjit(func):
    """Compile ``func`` with the package's flags and ``parallel=True`` (replica loops)."""
    return njit(parallel=True, **_FLAGS)(func)
