"""A run's timeline: its checkpoints, its stages, and the kernel calls that reach them (numpy only, no kernels).

A *stage* is a stretch of steps with one input law (a curriculum, :meth:`fastnoise.tasks.Task.schedule`):
stage i (0-based here, 1-based in the table) runs from step ``starts[i]`` (the number of steps
done before its first step) up to the next start. No kernel call runs across a stage boundary
(:func:`segments` ends a call there), so every call runs under one stage's kernel parameters.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["checkpoints", "chunk_steps", "segments", "stage_column", "stage_of"]


def checkpoints(steps: int, records: int, spacing: str) -> np.ndarray:
    """Checkpoint steps: sorted, unique, always 0 and ``steps``; at most ``records`` of them."""
    if spacing == "linear":
        pts = np.rint(np.linspace(0, steps, records)).astype(np.int64)
    else:
        pts = np.rint(np.logspace(0, math.log10(steps), records - 1)).astype(np.int64)
        pts = np.concatenate([[0], pts])
    pts[-1] = steps
    return np.unique(np.clip(pts, 0, steps))


def segments(points: np.ndarray, chunk: int, cuts: Sequence[int] = ()) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Split the timeline into kernel calls of about ``chunk`` steps each.

    Each call is ``(seg_steps, seg_rec, steps)``: run ``seg_steps[s]`` steps, then record into
    checkpoint ``seg_rec[s]`` (or not, when -1). A call also ends after step ``cut`` for every
    ``cut`` in ``cuts`` (stage boundaries, increasing, each in 1 ... ``points[-1] - 1``): the
    steps after it are the next call's. Without cuts the calls are those of every run before
    curricula existed.
    """
    at = [int(c) for c in cuts]
    if any(b <= a for a, b in zip([0, *at], at, strict=False)):
        raise ValueError(f"stage boundaries must be positive and increasing, got {at}")
    calls: list[tuple[np.ndarray, np.ndarray, int]] = []
    cur_steps: list[int] = [0]
    cur_rec: list[int] = [0]  # checkpoint 0 is step 0
    total = 0
    done = 0  # steps up to the end of the current call so far
    cut = iter([*at, -1])
    nxt = next(cut)
    for c in range(1, len(points)):
        gap = int(points[c] - points[c - 1])
        while gap > 0:
            take = min(gap, chunk - total, nxt - done if nxt > 0 else gap)
            gap -= take
            total += take
            done += take
            cur_steps.append(take)
            cur_rec.append(c if gap == 0 else -1)
            at_cut = done == nxt
            if at_cut:
                nxt = next(cut)
            if total >= chunk or at_cut:
                calls.append((np.array(cur_steps, np.int64), np.array(cur_rec, np.int64), total))
                cur_steps, cur_rec, total = [], [], 0
    if cur_steps:
        calls.append((np.array(cur_steps, np.int64), np.array(cur_rec, np.int64), total))
    return calls


def stage_of(starts: Sequence[int], steps_done: int) -> int:
    """The stage (0-based index into ``starts``) whose law the next step draws from, ``steps_done`` steps in."""
    return bisect.bisect_right(starts, steps_done) - 1


def stage_column(starts: Sequence[int], points: np.ndarray) -> np.ndarray:
    """The table's ``stage`` at each checkpoint (1-based): the stage of the last step before it (step 0: stage 1)."""
    last = np.maximum(np.asarray(points, np.int64) - 1, 0)  # the last step taken, 0-based
    return np.searchsorted(np.asarray(starts, np.int64), last, side="right").astype(np.int64)


def chunk_steps(step_ns: float, replicas: int, nthreads: int) -> int:
    """Steps per kernel call: about a quarter of a second of work (a step costing ``step_ns``), so progress moves."""
    waves = math.ceil(replicas / max(1, nthreads))
    return max(1024, int(0.25e9 / (step_ns * waves)))
