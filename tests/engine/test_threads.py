"""Runs called from threads: safe under any Numba threading layer, and one rule for thread counts.

Replicas run on a Python thread pool over serial ``nogil`` kernels (fastnoise/_kernels/driver.py),
so Numba's threading layer is never entered: the workqueue layer, which aborts when two threads
launch parallel kernels at once, cannot be reached. These tests hold the package to that design.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnoise
from fastnoise import _jit, threads
from fastnoise.config import ConfigError

KERNELS = Path(fastnoise.__file__).resolve().parent / "_kernels"


def test_no_kernel_uses_numbas_threading_layer():
    """No prange, no parallel=True: nothing a non-thread-safe layer could break."""
    assert "parallel" not in _jit._FLAGS
    for path in KERNELS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            assert not (isinstance(node, ast.Name) and node.id == "prange"), path
            assert not (isinstance(node, ast.Attribute) and node.attr == "prange"), path
            assert not (isinstance(node, ast.keyword) and node.arg == "parallel"), path


def test_concurrent_runs_under_the_workqueue_layer_agree_with_serial_runs(tmp_path):
    """Three Python threads each run a 2-thread simulation at once under NUMBA_THREADING_LAYER=workqueue.

    Every run finishes (no abort, no deadlock: the subprocess has a timeout) and its table equals
    the same run done alone on one thread, bit for bit.
    """
    code = """
import threading
import numba
import fastnoise as fn
kw = dict(model="twolayer", width=8, d=6, steps=3000, replicas=3, records=4, seed=5)
alone = fn.simulate(threads=1, **kw)
out = [None] * 3
def work(i):
    out[i] = fn.simulate(threads=2, **kw)
ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
assert all(o is not None and o.equals(alone) for o in out)
print("layer", numba.config.THREADING_LAYER, "ok")
"""
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["layer", "workqueue", "ok"]


def test_thread_count_is_the_one_rule():
    nmax = threads.max_threads()
    assert threads.thread_count(None) == nmax
    assert threads.thread_count(1) == 1
    assert threads.thread_count(nmax + 5, cap=True) == nmax
    for bad in (0, -1, nmax + 1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="threads must be between 1 and"):
            threads.thread_count(bad)
