"""The one place where Numba flags are set.

Every kernel in :mod:`fastnoise._kernels` is compiled through :func:`jit`, so the flags below
hold for the whole package (replicas run in parallel on threads, not ``prange``; see
``_kernels/driver.py``):

- ``cache=True``: compiled code is written to disk and reused by the next process. Numba puts the
  cache beside the sources when that folder is writable, otherwise in the user's cache folder;
  ``NUMBA_CACHE_DIR`` overrides both.
- ``fastmath`` is never enabled: the kernels' output is compared with a plain-NumPy reference,
  and the hinge rule branches on the sign of ``y * N(x)``, so reassociation could change a run.
- ``error_model="numpy"``: a division by zero gives inf/nan (caught by the post-checks) instead
  of raising inside a kernel.
- ``boundscheck`` is left to Numba's ``NUMBA_BOUNDSCHECK`` environment variable, so the tests can
  run with ``NUMBA_BOUNDSCHECK=1``.

Cache freshness: Numba keys a cached function on the source of *its own file* only, so a change
to ``draws.py`` would leave ``run_neuron`` (in ``neuron.py``) running stale, inlined draws from
the cache. The locators registered below give every kernel one stamp: a hash of all files in
``_kernels/`` and this one. Any change to any kernel source recompiles every kernel.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba import njit
from numba.core import caching

__all__ = ["jit", "KERNEL_SOURCES_STAMP"]

_HERE = Path(__file__).resolve().parent
_KERNEL_DIR = _HERE / "_kernels"


def _sources_stamp() -> str:
    h = hashlib.sha256()
    for path in sorted(_KERNEL_DIR.glob("*.py")) + [Path(__file__).resolve()]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


KERNEL_SOURCES_STAMP = _sources_stamp()


def _is_kernel_file(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().parent == _KERNEL_DIR
    except OSError:
        return False


def _package_locator(base: type) -> type:
    class _KernelPackageLocator(base):  # type: ignore[misc, valid-type]
        @classmethod
        def from_function(cls, py_func, py_file):  # noqa: ANN001, ANN206
            if not _is_kernel_file(py_file):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self) -> str:
            return KERNEL_SOURCES_STAMP

    _KernelPackageLocator.__name__ = f"FastnoiseKernel{base.__name__.lstrip('_')}"
    return _KernelPackageLocator


def _register_locators() -> None:
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    bases = [getattr(caching, n, None) or getattr(caching, "_" + n) for n in names]
    ours = [_package_locator(b) for b in bases]
    impl._locator_classes[:0] = ours


_register_locators()

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def jit(func=None, **extra):
    """Compile ``func`` with the package's flags (serial kernels)."""
    flags = {**_FLAGS, **extra}
    if func is None:
        return lambda f: njit(**flags)(f)
    return njit(**flags)(func)
