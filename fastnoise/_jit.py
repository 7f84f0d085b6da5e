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
``_kernels/`` and this one. Any change to any kernel source recompiles every kernel. The locators
subclass private ``numba.core.caching`` classes; outside the Numba versions in
:data:`NUMBA_TESTED`, or if those classes are missing, nothing is registered and the kernels are
compiled without a disk cache (``CACHING`` is False): a slower start, never a stale kernel.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, NoReturn

import numba
from numba import njit
from numba.core import caching
from numba.core.registry import CPUDispatcher

__all__ = ["CACHING", "KERNEL_SOURCES_STAMP", "NUMBA_TESTED", "InnerDispatcher", "jit"]

_HERE = Path(__file__).resolve().parent
_KERNEL_DIR = _HERE / "_kernels"


def _code_flags() -> bytes:
    """The environment flags that change generated code but not Numba's own cache key."""
    names = ("BOUNDSCHECK", "OPT", "DEBUGINFO_DEFAULT", "FASTMATH", "CPU_NAME", "CPU_FEATURES")
    return repr([(n, str(getattr(numba.config, n, None))) for n in names]).encode()


def _sources_stamp() -> str:
    h = hashlib.sha256()
    for path in sorted(_KERNEL_DIR.glob("*.py")) + [Path(__file__).resolve()]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(_code_flags())  # a bounds-checked build is never served to a plain run, nor the reverse
    return h.hexdigest()


KERNEL_SOURCES_STAMP = _sources_stamp()


def _is_kernel_file(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().parent == _KERNEL_DIR
    except OSError:
        return False


def _package_locator(base: type) -> type:
    class _KernelPackageLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):  # noqa: ANN001, ANN206
            if not _is_kernel_file(py_file):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self) -> str:
            return KERNEL_SOURCES_STAMP

    _KernelPackageLocator.__name__ = f"FastnoiseKernel{base.__name__.lstrip('_')}"
    return _KernelPackageLocator


#: Numba versions whose ``numba.core.caching`` internals (the locator classes and the
#: ``CacheImpl._locator_classes`` list) the locators above were written against; the installed
#: version's cache hit and stamp are checked by tests/kernels/test_layout.py.
NUMBA_TESTED = ((0, 60), (0, 69))


def _numba_version() -> tuple[int, int]:
    major, minor = numba.__version__.split(".")[:2]
    return int(major), int(minor)


def _register_locators(version: tuple[int, int] | None = None) -> bool:
    """Put the package's locators first in Numba's list; False (and nothing changed) when unsupported.

    Relies on private Numba internals, hence the version window and the attribute checks. Where
    either fails, the kernels are compiled without a disk cache (slower start, never stale).
    """
    version = _numba_version() if version is None else version
    lo, hi = NUMBA_TESTED
    if not lo <= version <= hi:
        return False
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    bases = [getattr(caching, n, None) or getattr(caching, "_" + n, None) for n in names]
    classes = getattr(impl, "_locator_classes", None)
    if not isinstance(classes, list) or any(b is None or not hasattr(b, "get_source_stamp") for b in bases):
        return False
    ours = [_package_locator(b) for b in bases if b is not None]
    classes[:0] = ours
    return True


#: Whether kernels are cached on disk (see :func:`_register_locators`).
CACHING = _register_locators()
if not CACHING:
    logging.getLogger(__name__).warning(
        "numba %s is outside the versions fastnoise's kernel cache was checked with (%d.%d to %d.%d): "
        "kernels compile at every start, without a disk cache",
        numba.__version__,
        *NUMBA_TESTED[0],
        *NUMBA_TESTED[1],
    )

_FLAGS = {"cache": CACHING, "nogil": True, "error_model": "numpy", "fastmath": False}

#: Added for a kernel that only compiled code calls (``jit(f, inner=True)``): Numba then generates
#: no Python wrapper (the boxing and unboxing of every argument) and no C wrapper for it, code that
#: would otherwise be generated and optimised for every kernel. A first run (empty cache) spends
#: about a fifth less time compiling. Numba would call such a kernel from Python through a missing
#: wrapper and crash the interpreter, so its dispatcher is an :class:`InnerDispatcher`, which
#: refuses the call.
_INNER = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


class InnerDispatcher(CPUDispatcher):
    """A kernel compiled without Numba's Python wrapper: compiled code calls it, Python cannot."""

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"{self.py_func.__qualname__} is compiled for calls from other kernels only (jit(inner=True)); "
            "call it from compiled code, or compile it without inner=True"
        )


def stamped(dispatcher: object) -> bool:
    """Whether a dispatcher's disk cache is keyed on :data:`KERNEL_SOURCES_STAMP` (one of our locators).

    Checked on every kernel, so that a Numba release which stopped consulting the locators'
    stamp would lose the disk cache (:func:`jit` drops it) rather than serve stale kernels.
    """
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    return getattr(cache_file, "_source_stamp", None) == KERNEL_SOURCES_STAMP


def jit(func: Any = None, *, inner: bool = False, **extra: Any) -> Any:
    """Compile ``func`` with the package's flags (serial kernels); ``inner``: called from compiled code only."""
    flags = {**_FLAGS, **(_INNER if inner else {}), **extra}
    flags["cache"] = bool(flags["cache"]) and CACHING  # never a disk cache the locators do not stamp

    def compile_one(f):
        d = njit(**flags)(f)
        if inner and isinstance(d, CPUDispatcher):  # not under NUMBA_DISABLE_JIT (a plain function)
            d.__class__ = InnerDispatcher  # same layout (no new slots): only the Python call changes
        if flags["cache"] and not getattr(numba.config, "DISABLE_JIT", False) and not stamped(d):
            from numba.core.caching import NullCache

            d._cache = NullCache()
            logging.getLogger(__name__).warning(
                "kernel %s: disk cache not stamped by fastnoise's locator; not cached", f.__name__
            )
        return d

    if func is None:
        return compile_one
    return compile_one(func)
