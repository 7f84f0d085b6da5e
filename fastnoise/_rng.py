"""Per-replica random streams.

Each replica owns a xoshiro256+ generator (4 x uint64 of state) plus a buffer of random label
bits. The state is derived in Python from ``numpy.random.SeedSequence(seed)``: one child per
replica, so a replica's stream depends only on ``(seed, replica)`` and never on the number of
threads. Inside the kernels the state lives in local variables (so it stays in registers) and is
threaded through the draw functions in :mod:`fastnoise._kernels.draws`.

State layout of one replica's row, ``uint64[STATE_WORDS]``:
``s0, s1, s2, s3`` (xoshiro256+), ``bits`` (unused label bits), ``nbits`` (how many).
"""

from __future__ import annotations

import numpy as np

STATE_WORDS = 6

# Children of the run's SeedSequence, by purpose. Replica r's streams are children of
# child(_REPLICAS).spawn(R)[r]: (kernel stream, initial weights).
_DATA, _REPLICAS, _NOISE = 0, 1, 2


def _child(seed: int, purpose: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(purpose,))


def data_rng(seed: int) -> np.random.Generator:
    """Generator for what is drawn once per run (training, test and probe sets)."""
    return np.random.default_rng(_child(seed, _DATA))


def noise_rng(seed: int) -> np.random.Generator:
    """Generator for the fixed corruption of a training set (``noise_mode="fixed"``), apart from every other stream."""
    return np.random.default_rng(_child(seed, _NOISE))


def replica_seeds(seed: int, replica: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(kernel-stream seed, init-weights seed) of one replica; independent of other replicas."""
    base = np.random.SeedSequence(entropy=seed, spawn_key=(_REPLICAS, replica))
    return (
        np.random.SeedSequence(entropy=seed, spawn_key=(*base.spawn_key, 0)),
        np.random.SeedSequence(entropy=seed, spawn_key=(*base.spawn_key, 1)),
    )


def kernel_state(seed: int, replicas: int) -> np.ndarray:
    """Initial xoshiro256+ states of all replicas, shape ``(replicas, STATE_WORDS)``."""
    state = np.zeros((replicas, STATE_WORDS), dtype=np.uint64)
    for r in range(replicas):
        words = replica_seeds(seed, r)[0].generate_state(4, np.uint64)
        if not words.any():  # xoshiro's one forbidden state; astronomically unlikely
            words[0] = 1
        state[r, :4] = words
    return state


def init_rng(seed: int, replica: int) -> np.random.Generator:
    """Generator for one replica's initial weights."""
    return np.random.default_rng(replica_seeds(seed, replica)[1])
