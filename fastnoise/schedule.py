"""A run's timeline: its checkpoints, and the kernel calls that reach them (numpy only, no kernels)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["checkpoints", "chunk_steps", "segments"]


def checkpoints(steps: int, records: int, spacing: str) -> np.ndarray:
    """Checkpoint steps: sorted, unique, always 0 and ``steps``; at most ``records`` of them."""
    if spacing == "linear":
        pts = np.rint(np.linspace(0, steps, records)).astype(np.int64)
    else:
        pts = np.rint(np.logspace(0, math.log10(steps), records - 1)).astype(np.int64)
        pts = np.concatenate([[0], pts])
    pts[-1] = steps
    return np.unique(np.clip(pts, 0, steps))


def segments(points: np.ndarray, chunk: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Split the timeline into kernel calls of about ``chunk`` steps each.

    Each call is ``(seg_steps, seg_rec, steps)``: run ``seg_steps[s]`` steps, then record into
    checkpoint ``seg_rec[s]`` (or not, when -1).
    """
    calls: list[tuple[np.ndarray, np.ndarray, int]] = []
    cur_steps: list[int] = [0]
    cur_rec: list[int] = [0]  # checkpoint 0 is step 0
    total = 0
    for c in range(1, len(points)):
        gap = int(points[c] - points[c - 1])
        while gap > 0:
            take = min(gap, chunk - total)
            gap -= take
            total += take
            cur_steps.append(take)
            cur_rec.append(c if gap == 0 else -1)
            if total >= chunk:
                calls.append((np.array(cur_steps, np.int64), np.array(cur_rec, np.int64), total))
                cur_steps, cur_rec, total = [], [], 0
    if cur_steps:
        calls.append((np.array(cur_steps, np.int64), np.array(cur_rec, np.int64), total))
    return calls


def chunk_steps(step_ns: float, replicas: int, nthreads: int) -> int:
    """Steps per kernel call: about a quarter of a second of work (a step costing ``step_ns``), so progress moves."""
    waves = math.ceil(replicas / max(1, nthreads))
    return max(1024, int(0.25e9 / (step_ns * waves)))
