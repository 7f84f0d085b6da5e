"""Memory layout, in one place: padding, metric columns, scratch rows, packing and unpacking.

The kernels index arrays with the functions here (compiled) and the engine allocates, packs and
unpacks with them (plain Python), so the two cannot disagree.

Rules:
- **Padding**: every vector the kernels loop over is padded to a multiple of :data:`LINE` (8
  doubles, one cache line; a float32 net's hidden width to 16 floats, also one line) with
  zeros that never contribute and stay zero; each replica's row
  of a shared array ends with at least :data:`PAD` more doubles, so replicas never share a cache
  line; arrays are 64-byte aligned. A net's arrays (its weights are read and written row by row at
  every step) end each replica's block with at least :data:`REPLICA_GAP` bytes of zeros, so that no
  4 KiB page holds two replicas' data (:func:`replica_block`); the weight matrix's block is followed
  by :data:`SPREAD` times its size (untouched address space, left out of checkpoints), except in
  minibatch and weight-decay runs, which copy the weights whole.
- **Weights**: the neuron's V is one row ``W[r, 0:din]``. A hidden layer is stored transposed,
  ``T[j, i] = M[i, j]`` (row j = input j, the bias row last), so every inner loop runs over hidden
  units: contiguous, vectorisable, no reductions. The output layer of a binary net is a row
  ``Wv[r, 0:kp]`` = V with the output bias at ``Wv[r, kp]``; of the C-class net, ``Wv[r, c*kp + i]``
  = V[c, i] and ``Wv[r, C*kp + c]`` = b[c].
- **Deep nets** (mlp) stack their hidden layers' transposed blocks in one ``Wm[r]`` of
  ``kpmax`` columns, layer l from row ``roff[l-1]``; a one-hidden-layer mlp has exactly the
  two-layer net's weight arrays (plus its layer table).
- **Metric columns** of ``out[replica, checkpoint, :]``: the 12 base columns (schema v1), then
  for nets deeper than two layers ``norm_l, log10_norm_l, bias_norm_l`` of layers 3..L, then for
  an mlp ``active_mean_l, active_min_l, dead_l`` of every hidden layer, then the task's own
  (``Geometry.extra_metrics`` of them: the hypercube's progress measures, :mod:`.progress`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._jit import jit

LINE = 8  # doubles per cache line: the padding unit
ALIGN = 64  # bytes
PAD = 16  # doubles after each replica's row
#: Bytes of zeros after each replica's block of a net's arrays: two 4 KiB pages. The L2
#: prefetchers fetch ahead within a page (and into the next one), so with replicas' blocks a
#: cache line or a row apart, the thread streaming through replica r's weights pulled in lines of
#: replica r + 1 that the other thread was writing. Measured on an Intel Xeon, two replicas on
#: two threads at width 100: 1.3-1.4x the one-thread speed with the old padding (one zero row of
#: Wm, two lines after the other rows), 1.9x with the gap (``python bench/scaling_gap.py``).
REPLICA_GAP = 8192
#: A net's weight matrix (the array its step streams through) is followed, in each replica's block,
#: by untouched address space of SPREAD times the replica's own matrix, at most SPREAD_MAX bytes (at
#: least REPLICA_GAP): on an AMD EPYC (Zen 5) two threads still slowed each other down with the
#: replicas' matrices two pages apart, and less the further apart they were (two replicas on two
#: threads at width 1000: 1.37x the one-thread speed with 8 KiB between them, 1.42x with 32 KiB,
#: 1.68x with 128 KiB, 1.91x with 512 KiB; width 400: 1.26x, 1.70x with its own size, 1.87x with
#: twice it). Only the weight matrix matters (a larger gap in the output row or the scratch gave
#: nothing). The spread is never read or written, so its pages are never touched; checkpoints
#: leave it out (:meth:`Geometry.kept`).
SPREAD = 2
SPREAD_MAX = 1 << 19

# --------------------------------------------------------------------------- metric columns
# (declared in .columns, which imports nothing: the table's schema and the mean field read them without Numba)
from . import columns as _columns  # noqa: E402
from .columns import (  # noqa: E402, F401  (the kernels' column indices)
    BASE_NAMES,
    M_ACT_MEAN,
    M_ACT_MIN,
    M_BIAS1,
    M_BIAS2,
    M_DEAD,
    M_ERR_TEST,
    M_ERR_TRAIN,
    M_LOG1,
    M_LOG2,
    M_NORM1,
    M_NORM2,
    M_UPDATES,
    N_BASE,
    metric_names,
)


@jit
def padded(n):
    """n rounded up to a whole number of cache lines (of doubles)."""
    return (n + LINE - 1) // LINE * LINE


# The column of a layer's metrics, for the kernels (compiled from the plain functions in .columns).
col_norm = jit(_columns.col_norm)
col_log = jit(_columns.col_log)
col_bias = jit(_columns.col_bias)
col_active = jit(_columns.col_active)


# --------------------------------------------------------------------------- scratch rows
# Two-layer and C-class nets: one scratch row per replica, x (padded din), then pre, g, fired
# (kp each), then for C classes the scores s and errors e (padded C each).


@jit
def net_scratch(din, kp, classes):
    """Offsets (pre, g, fired, s, e, end) of a net's scratch row; x starts at 0."""
    xo = padded(din)
    cp = padded(classes) if classes > 2 else 0
    return xo, xo + kp, xo + 2 * kp, xo + 3 * kp, xo + 3 * kp + cp, xo + 3 * kp + 2 * cp


# Deep nets: a (rows, cols) scratch block per replica: row 0 is x; hidden layer l owns rows
# MLP_ROWS * (l - 1) + 1 + (R_PRE, R_ACT, R_DELTA, R_FIRED).
MLP_ROWS = 4
R_PRE, R_ACT, R_DELTA, R_FIRED = range(4)


@jit
def mlp_row(l, what):
    """Scratch row of quantity ``what`` (R_PRE, R_ACT, R_DELTA, R_FIRED) of hidden layer ``l``."""
    return 1 + MLP_ROWS * (l - 1) + what


# Deep nets' layer table G (int64, 4 x (L + 1), shared by all replicas, the third of the mlp's
# arrays): G[G_DIMS, l] = n_l (n_0 = d, n_L = 1); for layer l = 1..L at column l - 1: G[G_KPS]
# its padded width, G[G_ROFF] its first stored row (hidden layers), G[G_TRAINED] 1 if trained.
# (A table, not fields of Params: arrays inside Params would be reference-counted at every call
# that takes Params, i.e. at every step; measured +80 ns per step of the single neuron.)
G_DIMS, G_KPS, G_ROFF, G_TRAINED = range(4)


# --------------------------------------------------------------------------- allocation


def replica_block(block: tuple[int, ...], gap: int, dtype: Any = np.float64) -> tuple[int, ...]:
    """The stored shape of one replica's block of a shared array (axis 0 of the array is the replica).

    A vector (``(n,)``) is padded to whole cache lines, then gets at least :data:`PAD` more
    elements and at least ``gap`` bytes (whole lines); a matrix (``(rows, cols)``, ``cols`` a
    whole number of lines) gets at least one extra row, and at least ``gap`` bytes of them. The
    padding is zero and never read, so results do not depend on it.
    """
    itemsize = np.dtype(dtype).itemsize
    per_line = ALIGN // itemsize
    if len(block) == 1:
        extra = max(PAD, -(-gap // ALIGN) * per_line)
        return (-(-block[0] // per_line) * per_line + extra,)
    rows, cols = block
    return (rows + max(1, -(-gap // (cols * itemsize))), cols)


def aligned_zeros(shape: tuple[int, ...], pad: int = PAD, dtype: Any = np.float64) -> np.ndarray:
    """A zero array of ``shape`` (float64 unless ``dtype``), 64-byte aligned; with ``pad``, the last
    axis gets ``pad`` extra elements (rounded to whole cache lines) so that rows never share a cache line."""
    itemsize = np.dtype(dtype).itemsize
    per_line = ALIGN // itemsize
    if pad:
        shape = (*shape[:-1], -(-shape[-1] // per_line) * per_line + pad)
    size = int(np.prod(shape))
    raw = np.zeros(size + per_line, dtype=dtype)
    offset = (-raw.ctypes.data % ALIGN) // itemsize
    return raw[offset : offset + size].reshape(shape)


class Geometry:
    """The shapes of one run's arrays, from the model's sizes (no RunConfig: kernels-side module).

    Parameters
    ----------
    model : the model (:class:`fastnoise.models.Model`), asked for what is its own: its depth, its
    per-replica blocks, how its weights are packed and unpacked, whether its tables are deep and its
    weights stream (``depth``, ``blocks``, ``pack``, ``unpack``, ``deep``, ``streams``).
    d : input dimension; bias : a bias on every layer; widths : hidden widths (nets);
    classes : outputs of the C-class net; dtype : the weights' and scratch's element type
    (float64; float32 for the two-layer net: hidden widths then pad to 16, one cache line);
    spread : a net's weight matrix is followed by :data:`SPREAD` (untouched address space);
    extra_metrics : the task's own metric columns, after the model's (``Task.extra_metrics``).
    """

    def __init__(
        self,
        model: Any,
        d: int,
        bias: bool,
        widths: tuple[int, ...] = (),
        classes: int = 2,
        trained: tuple[int, ...] = (),
        dtype: Any = np.float64,
        spread: bool = True,
        extra_metrics: int = 0,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.extra_metrics = extra_metrics
        self.spread = spread
        line = ALIGN // self.dtype.itemsize  # elements per cache line (LINE for float64)
        self.model = model
        self.d = d
        self.bias = bias
        self.din = d + int(bias)
        self.widths = tuple(widths)
        self.classes = classes
        self.depth = model.depth(self.widths)
        self.dims = np.array([d, *self.widths, 1], dtype=np.int64)
        self.kps = np.array([-(-n // line) * line for n in self.widths] + [LINE], dtype=np.int64)
        rows = [int(self.dims[l - 1]) + int(bias) for l in range(1, self.depth)]
        self.roff = np.array([0, *np.cumsum(rows)], dtype=np.int64)[: self.depth]
        self.rows_total = int(sum(rows))
        self.kpmax = int(self.kps[:-1].max()) if self.widths else LINE
        self.trained = tuple(trained)
        self.gap = REPLICA_GAP if model.streams else 0  # the neuron's rows stay in L1: no streaming

    def blocks(self) -> dict[str, tuple[int, ...]]:
        """One replica's block of each per-replica array (weights ``W`` or ``Wm``, ``Wv``; scratch ``S``),
        before :func:`replica_block`'s padding (the model's own)."""
        return self.model.blocks(self)

    def replica_bytes(self) -> int:
        """Bytes of one replica's weights and scratch as stored (padding included, the spread too)."""
        item = self.dtype.itemsize
        return sum(int(np.prod(self._stored(name))) * item for name in self.blocks())

    def spread_rows(self) -> int:
        """Rows of the weight matrix's spread (:data:`SPREAD`) after each replica's block; 0 for the neuron."""
        if not (self.gap and self.spread):
            return 0
        rows, cols = self.blocks()["Wm"]
        row = cols * self.dtype.itemsize
        spread = min(SPREAD * rows * row, SPREAD_MAX) - (replica_block((rows, cols), self.gap, self.dtype)[0] - rows) * row
        return max(0, -(-spread // row))

    def _stored(self, name: str) -> tuple[int, ...]:
        shape = replica_block(self.blocks()[name], self.gap, self.dtype)
        if name == "Wm":
            return (shape[0] + self.spread_rows(), *shape[1:])
        return shape

    def spread_bytes(self) -> int:
        """Bytes of one replica's spread (in :meth:`replica_bytes`; address space no step touches)."""
        rows = self.spread_rows()
        return rows * self.blocks()["Wm"][1] * self.dtype.itemsize if rows else 0

    def kept(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Views of the weight arrays without the spread (what a checkpoint saves and restores)."""
        n = self.spread_rows()
        if not n:
            return arrays
        return (arrays[0][:, : arrays[0].shape[1] - n], *arrays[1:])

    def zeros(self, R: int, name: str) -> np.ndarray:
        """``R`` replicas' blocks of the array ``name``, zero, aligned, padded, the spread included."""
        return aligned_zeros((R, *self._stored(name)), pad=0, dtype=self.dtype)

    @staticmethod
    def scale(log2: Any) -> float:
        """The factor from stored weights to true ones for a replica renormalised by ``2**log2``."""
        return math.ldexp(1.0, -int(log2))

    def layer_table(self) -> np.ndarray:
        """The deep nets' layer table G (see G_DIMS ... G_TRAINED)."""
        L = self.depth
        G = np.zeros((4, L + 1), dtype=np.int64)
        G[G_DIMS] = self.dims
        G[G_KPS, :L] = self.kps
        G[G_ROFF, :L] = self.roff
        G[G_TRAINED, :L] = [int(l in self.trained) for l in range(1, L + 1)]
        return G

    @property
    def kp(self) -> int:
        """Padded width of the (last) hidden layer."""
        return int(self.kps[-2]) if self.widths else LINE

    @property
    def n_metrics(self) -> int:
        """Columns of the kernels' output rows: the model's, then the task's."""
        return len(metric_names(self.depth, self.model.deep)) + self.extra_metrics

    def pack(self, weights: list[dict[str, Any]]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Weight arrays and the scratch buffer of every replica, in the kernels' layout (the model's)."""
        return self.model.pack(self, weights)

    def unpack(self, arrays: tuple[np.ndarray, ...], log2: np.ndarray) -> list[dict[str, Any]]:
        """Each replica's weights at true scale (stored weights are 2**log2 times larger)."""
        return self.model.unpack(self, arrays, log2)
