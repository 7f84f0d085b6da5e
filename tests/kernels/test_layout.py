"""Package structure: imports point one way, and kernel caches notice any kernel change."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import fastnoise
from fastnoise import _jit, plan

PKG = Path(fastnoise.__file__).resolve().parent
# Kernels may use the standard library's typing helpers; never pandas, pyarrow, click or logging.
# llvmlite: the lane kernels' LLVM vector IR (_kernels/lanes.py), built through numba.extending.intrinsic.
KERNEL_ALLOWED = {"numpy", "numba", "llvmlite", "math", "__future__", "fastnoise._jit", "typing", "types", "collections.abc"}


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
    return out


def test_kernels_import_only_numpy_numba_and_jit():
    """Kernels (fastnoise._kernels) import numpy, numba, math, typing, _jit and each other: nothing else."""
    for path in (PKG / "_kernels").glob("*.py"):
        for mod in _imports(path, "fastnoise._kernels"):
            top = mod.split(".")[0]
            ok = mod in KERNEL_ALLOWED or top in KERNEL_ALLOWED or mod.startswith("fastnoise._kernels")
            assert ok, f"{path.name} imports {mod}"


def _package_of(path: Path) -> str:
    """The dotted package a module of fastnoise/ belongs to (``fastnoise.sweep`` for fastnoise/sweep/spec.py)."""
    return ".".join(["fastnoise", *path.relative_to(PKG).parent.parts])


def test_nothing_in_the_library_imports_the_cli():
    """Dependencies point kernels <- engine <- io/analysis <- cli; no library module (subpackages too) imports the CLI."""
    library = [p for p in PKG.rglob("*.py") if p.relative_to(PKG).parts[0] not in ("cli", "__main__.py")]
    assert any(p.parent != PKG for p in library)  # the subpackages are scanned
    for path in library:
        name = path.relative_to(PKG)
        for mod in _imports(path, _package_of(path)):
            assert not mod.startswith("fastnoise.cli"), f"{name} imports {mod}"
            assert mod.split(".")[0] not in {"click", "cli"}, f"{name} imports {mod}"


def test_the_cli_is_inside_the_package():
    """The CLI is fastnoise/cli/ (no top-level cli/ folder) and imports the library relatively."""
    assert (PKG / "cli" / "__init__.py").is_file()
    assert not (PKG.parent / "cli").exists()
    for path in (PKG / "cli").glob("*.py"):
        for mod in _imports(path, "fastnoise.cli"):
            assert mod.split(".")[0] != "cli", f"cli/{path.name} imports {mod}"


def test_every_kernel_is_cached_with_one_stamp_for_all_kernel_sources():
    """Each kernel's cache stamp hashes every kernel file, so editing draws.py recompiles run_neuron."""
    from fastnoise import RunConfig

    h = hashlib.sha256()
    for path in sorted((PKG / "_kernels").glob("*.py")) + [PKG / "_jit.py"]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(_jit._code_flags())
    assert _jit.KERNEL_SOURCES_STAMP == h.hexdigest()
    for model in ("neuron", "twolayer", "mlp"):
        kernel = plan.kernels(RunConfig(model=model)).drive
        locator = kernel._cache._impl.locator
        assert locator.get_source_stamp() == _jit.KERNEL_SOURCES_STAMP
        assert _jit.stamped(kernel)


def test_an_unchecked_numba_version_registers_no_locator():
    """Outside NUMBA_TESTED the private caching internals are left alone (nothing registered)."""
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    before = list(impl._locator_classes)
    hi = _jit.NUMBA_TESTED[1]
    assert _jit._register_locators((hi[0], hi[1] + 1)) is False
    assert _jit._register_locators((0, 1)) is False
    assert impl._locator_classes == before
    assert _jit.CACHING  # the installed Numba is one the locators were checked with


def test_without_locators_kernels_compile_uncached(tmp_path):
    """The fallback: an unchecked Numba version gives kernels without a disk cache (never a stale one)."""
    code = (
        "import numba; numba.__version__ = '0.99.0'\n"
        "from fastnoise import _jit, plan\n"
        "from fastnoise.config import RunConfig\n"
        "k = plan.kernels(RunConfig(model='neuron'))\n"
        "print(_jit.CACHING, type(k.drive._cache).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split() == ["False", "NullCache"], out
    assert "without a disk cache" in out.stderr


def test_stamp_changes_when_any_kernel_file_changes(tmp_path, monkeypatch):
    """Changing one byte of any kernel source changes the stamp (stale caches are never used)."""
    for path in (PKG / "_kernels").glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(_jit, "_KERNEL_DIR", tmp_path)
    before = _jit._sources_stamp()
    (tmp_path / "draws.py").write_bytes((tmp_path / "draws.py").read_bytes() + b"\n# edit\n")
    assert _jit._sources_stamp() != before


def test_specialised_kernels_load_from_the_disk_cache_in_a_new_process(tmp_path):
    """The driver's per-spec copies are cached on disk: a second process compiles nothing.

    (Closures over model functions would not be: Numba keys them on pickled dispatchers, which
    differ in every process; see fastnoise/_kernels/driver.py.)
    """
    import os
    import subprocess
    import sys

    code = (
        "from fastnoise import plan, simulate\n"
        "simulate(model='neuron', loss='logistic', data='cube', steps=2000, replicas=2)\n"
        "from fastnoise import RunConfig\n"
        "k = plan.kernels(RunConfig(model='neuron', loss='logistic', data='cube')).drive\n"
        "print(sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values()))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["0", "1"], first.stdout + first.stderr
    assert second.stdout.split() == ["1", "0"], second.stdout + second.stderr


def test_the_package_declares_its_types():
    """py.typed ships with the package (PEP 561), so type checkers read its annotations."""
    assert (PKG / "py.typed").is_file()


def test_code_flags_change_the_stamp(monkeypatch):
    """NUMBA_BOUNDSCHECK (not in Numba's cache key) changes ours: checked and plain builds never mix."""
    import numba

    before = _jit._sources_stamp()
    monkeypatch.setattr(numba.config, "BOUNDSCHECK", 1)
    assert _jit._sources_stamp() != before


def test_a_dispatcher_our_locator_did_not_stamp_is_recognised(tmp_path):
    """A cached function outside the kernels gets Numba's own stamp: stamped() says so (jit would drop its cache)."""
    from numba import njit

    src = tmp_path / "mod_outside.py"
    src.write_text("def f(x):\n    return x + 1\n")
    import importlib.util

    spec = importlib.util.spec_from_file_location("mod_outside", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert not _jit.stamped(njit(cache=True)(mod.f))


def test_interpreted_kernels_do_not_warn_about_the_cache(tmp_path):
    """With NUMBA_DISABLE_JIT=1 (CI's coverage run) there is no cache to check: no warning per kernel."""
    import os

    code = "import fastnoise as fn; fn.simulate(steps=50, replicas=1, records=2)"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "not stamped" not in out.stderr


def test_inner_kernels_refuse_a_python_call():
    """Kernels compiled without Numba's Python wrapper (jit(inner=True)) raise instead of crashing.

    The engine calls only the drivers, VIEW and UPDATE from Python; every other specialised
    template, and the helpers only kernels call, are inner.
    """
    import numpy as np
    import pytest

    from fastnoise import RunConfig
    from fastnoise._kernels import draws
    from fastnoise._kernels.vec import COMPILED

    if not COMPILED:
        pytest.skip("interpreted kernels (NUMBA_DISABLE_JIT) are plain functions")
    assert isinstance(draws.next_u64, _jit.InnerDispatcher)
    with pytest.raises(TypeError, match="inner=True"):
        draws.next_u64(np.zeros(4, np.uint64))
    kern = plan.kernels(RunConfig(model="neuron"))
    for entry in (kern.drive, kern.drive_lanes, kern.view, kern.update):
        assert not isinstance(entry, _jit.InnerDispatcher)
    # the step loop the driver calls is one of the inner templates
    inner = [v for v in kern.drive.py_func.__globals__.values() if isinstance(v, _jit.InnerDispatcher)]
    assert any(d.py_func.__name__ == "_steps" for d in inner)


def test_generated_step_loops_show_their_source_and_are_cached():
    """The step loops are generated source: linecache shows their lines (to Numba's errors), our locator caches them."""
    import inspect

    from fastnoise import RunConfig
    from fastnoise._kernels.loops import _steps_template

    f = _steps_template(("x", "V"), ahead=True)
    assert inspect.getsource(f).startswith("def _steps(P, D, n, t0, st, status, order, flats, r, buf, masks, x2, x, V):")
    steps = plan.kernels(RunConfig(model="neuron")).drive.py_func.__globals__["STEPS"]
    assert Path(steps.py_func.__code__.co_filename).name == "loops__steps_ahead__x_V.py"
    assert _jit.stamped(steps)
