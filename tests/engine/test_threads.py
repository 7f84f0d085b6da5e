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

import numpy as np
import pytest

import fastnoise
from fastnoise import _jit, engine
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
    nmax = engine.max_threads()
    assert engine.thread_count(None) == nmax
    assert engine.thread_count(1) == 1
    assert engine.thread_count(nmax + 5, cap=True) == nmax
    for bad in (0, -1, nmax + 1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="threads must be between 1 and"):
            engine.thread_count(bad)


@pytest.mark.parametrize(
    "params",
    [
        dict(model="twolayer", width=100),
        dict(model="twolayer", width=1000, bias=True),
        dict(model="twolayer", width=100, dtype="float32"),
        dict(model="twolayer", classes=10, width=64),
        dict(model="mlp", widths=(40, 24)),
    ],
    ids=["twolayer", "wide-bias", "float32", "multiclass", "mlp"],
)
def test_no_page_holds_two_replicas_of_a_net(params):
    """Each replica's block of a net's arrays is followed by at least two 4 KiB pages of zeros.

    So that two threads, each on its own replicas, never share a 4 KiB page the L2 prefetchers read
    ahead in (measured: 1.4x instead of 1.9x on two threads; bench/scaling_gap.py). The gap is the
    array's replica stride less the bytes of the block the kernels use; packing leaves it zero.
    """
    from fastnoise._kernels.layout import Geometry

    R = 3
    if params.get("classes"):  # the ten-class net (image data: its weights made up here)
        geo = Geometry("multiclass", 784, False, (64,), classes=10)
        rng = np.random.default_rng(0)
        weights = [{"M": rng.standard_normal((64, 784)), "V": rng.standard_normal((10, 64)), "b": np.ones(10)}] * R
    else:
        cfg = engine.RunConfig(replicas=R, **params)
        geo = engine.geometry(cfg)
        weights = [engine.initial_weights(cfg, r) for r in range(R)]
    arrays, S = geo.pack(weights)
    named = dict(zip(("Wm", "Wv"), arrays[:2], strict=True)) | {"S": S}
    for name, block in geo.blocks().items():
        a = named[name]
        assert a.flags.c_contiguous and a.ctypes.data % 64 == 0, name
        used = int(np.prod(block)) * a.itemsize
        assert a.strides[0] - used >= 2 * 4096, (name, a.strides[0], used)
        flat = a.reshape(R, -1)
        assert not flat[:, int(np.prod(block)) :].any(), name  # the gap is zeros


@pytest.mark.parametrize(
    "params, spread",
    [
        (dict(model="twolayer", width=100), True),
        (dict(model="twolayer", width=1000), True),
        (dict(model="twolayer", width=1000, dtype="float32"), True),
        (dict(model="mlp", widths=(40, 24)), True),
        (dict(model="twolayer", width=100, batch=4), False),
        (dict(model="twolayer", width=100, weight_decay=0.01), False),
    ],
    ids=["twolayer", "wide", "float32", "mlp", "batch", "decay"],
)
def test_weight_matrices_of_neighbouring_replicas_are_spread_apart(params, spread, tmp_path):
    """A net's weight matrix is followed by SPREAD times its size (at most SPREAD_MAX) of zeros that
    no step writes and no checkpoint holds; minibatch and decay runs (which copy the weights whole)
    keep the plain gap.

    Why: on an AMD EPYC two threads slowed each other down with neighbouring replicas' matrices
    only two pages apart (layout.SPREAD; python bench/scaling_gap.py).
    """
    from fastnoise import checkpoint
    from fastnoise._kernels import layout

    R = 2
    cfg = engine.RunConfig(replicas=R, steps=3000, records=3, **params)
    geo = engine.geometry(cfg)
    rows, cols = geo.blocks()["Wm"]
    used = rows * cols * geo.dtype.itemsize
    arrays, _ = geo.pack([engine.initial_weights(cfg, r) for r in range(R)])
    free = arrays[0].strides[0] - used
    want = max(min(layout.SPREAD * used, layout.SPREAD_MAX), 2 * 4096) if spread else 2 * 4096
    assert want <= free < want + arrays[0].strides[1], (free, want)
    kept = geo.kept(arrays)[0]
    assert np.shares_memory(kept, arrays[0]) and kept.shape[1] == arrays[0].shape[1] - geo.spread_rows()
    assert (geo.spread_rows() > 0) == spread

    saved = {}

    def look(st):
        saved["Wm"] = st.arrays[0].copy()
        checkpoint.save(tmp_path / "c.npz", cfg, st)

    engine.run(cfg, threads=2, on_call=look)
    Wm = saved["Wm"]
    assert not Wm[:, kept.shape[1] :].any()  # the spread (and the gap before it) stays zero
    assert Wm[:, :rows].any()
    with np.load(tmp_path / "c.npz") as z:
        assert z["arrays_0"].shape == kept.shape  # the checkpoint leaves the spread out
