"""What a run carries from one kernel call to the next (:class:`RunState`), and the training regime's arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import RunConfig
from .plan import geometry
from .weights import initial_weights, trained_ones

__all__ = ["RunState", "adopt", "initial_order", "regime_arrays"]


@dataclass
class RunState:
    """Everything a run carries from one kernel call to the next: resuming from it is bitwise exact.

    The weights (``arrays``, in the kernels' layout) and scratch ``S``, the random streams
    ``state``, the step and update counters, the status words (which hold the renormalisation
    scale), the metrics recorded so far ``out``, the schedule's ``chunk`` (steps per call) and how
    many of its calls are done (``calls``, ``steps``). The arrays are the live ones between calls:
    a callback that keeps them must copy (or write) them before it returns.
    """

    chunk: int
    calls: int
    steps: int
    arrays: tuple[np.ndarray, ...]
    S: np.ndarray
    state: np.ndarray
    steps_done: np.ndarray
    updates: np.ndarray
    status: np.ndarray
    out: np.ndarray
    order: np.ndarray  # epochs: each replica's permutation of the training rows and its position (last column)

    #: Names of the array fields, in order (``arrays`` is stored as ``arrays_0``, ``arrays_1``, ...).
    ARRAYS = ("S", "state", "steps_done", "updates", "status", "out", "order")


def initial_order(cfg: RunConfig, n: int) -> np.ndarray:
    """Epochs' state per replica: rows 0..n-1 then the position n, so the first draw shuffles (else a dummy)."""
    if cfg.sampling != "epochs":
        return np.zeros((cfg.replicas, 1), np.int64)
    return np.tile(np.append(np.arange(n, dtype=np.int64), n), (cfg.replicas, 1))


def regime_arrays(cfg: RunConfig, st: RunState) -> tuple[Any, ...]:
    """The kernels' training-regime arrays ``(order, flats, buf, masks)`` (see ``driver._drive``).

    ``flats`` are flat aliases of the weight arrays (views: the kernels write through them);
    ``masks`` mark the trained weights with 1.0 (a net of ones in the trained layers, packed like
    the weights: padding and fixed layers 0.0); ``buf`` holds each replica's W0 (and, with
    minibatches, the sum of the step's changes).
    """
    R = cfg.replicas
    weights = [a for a in st.arrays if a.dtype.kind == "f"]  # not the deep nets' int64 layer table
    flats = tuple(a.reshape(R, -1) for a in weights)
    for a, f in zip(weights, flats, strict=True):
        assert np.shares_memory(a, f), "a weight array is not contiguous: its flat alias would be a copy"
    T = sum(f.shape[1] for f in flats)
    if cfg.weight_decay > 0.0:
        one = cfg.replace(replicas=1)
        packed, _ = geometry(one).pack([trained_ones(cfg, initial_weights(one, 0))])
        masks = tuple(np.ascontiguousarray(m.reshape(-1)) for m in packed if m.dtype.kind == "f")
    else:
        masks = tuple(np.zeros(0) for _ in flats)
    width = 2 * T if cfg.batch > 1 else T if cfg.weight_decay > 0.0 else 0
    return st.order, flats, np.zeros((R, width)), masks


def adopt(saved: RunState, arrays: tuple[np.ndarray, ...], kept: tuple[np.ndarray, ...], S: np.ndarray) -> RunState:
    """A saved state in this run's freshly packed (aligned) ``arrays``; shapes must agree.

    The state is copied through ``kept``, the arrays' views without the spread
    (:meth:`.layout.Geometry.kept`: what a checkpoint holds).
    """
    mine = (*kept, S)
    theirs = (*saved.arrays, saved.S)
    if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs, strict=True)):
        raise ValueError("the saved state's weight arrays do not have this run's shapes")
    for a, b in zip(mine, theirs, strict=True):
        a[...] = b
    return RunState(saved.chunk, saved.calls, saved.steps, arrays, S, *(np.array(getattr(saved, n)) for n in RunState.ARRAYS[1:]))
