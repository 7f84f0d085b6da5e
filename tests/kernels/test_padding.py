"""The kernels' memory layout (fastnoise/_kernels/layout.py): replicas padded apart.

Each replica's block of a net's arrays is followed by zeros, so that threads on different replicas
do not share the pages the prefetchers read ahead in. (Split out of tests/engine/test_threads.py,
which holds the thread-safety design.)
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnoise import engine, plan, weights
from fastnoise.models import tenclass


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
        geo = Geometry(tenclass.MODEL, 784, False, (64,), classes=10)
        rng = np.random.default_rng(0)
        drawn = [{"M": rng.standard_normal((64, 784)), "V": rng.standard_normal((10, 64)), "b": np.ones(10)}] * R
    else:
        cfg = engine.RunConfig(replicas=R, **params)
        geo = plan.geometry(cfg)
        drawn = [weights.initial_weights(cfg, r) for r in range(R)]
    arrays, S = geo.pack(drawn)
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
    geo = plan.geometry(cfg)
    rows, cols = geo.blocks()["Wm"]
    used = rows * cols * geo.dtype.itemsize
    arrays, _ = geo.pack([weights.initial_weights(cfg, r) for r in range(R)])
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
