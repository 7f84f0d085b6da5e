"""The synthetic input laws (gaussian, basis, cube), their clean labels, and a run's synthetic sets drawn from them.

The kernels draw the same laws sample by sample (``fastnoise/_kernels/draws.py``); the sets here
are the ones drawn once per run, in numpy, from the run's data stream.
"""

from __future__ import annotations

import numpy as np

from ..config import RunConfig

__all__ = ["cube_halfwidth", "synthetic_sets"]


def _target(data: str, X: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """Clean labels [ours]: gaussian sign(x_1); basis +1 on the first ceil(d/2); cube as docs/model.md section 4."""
    if data == "gaussian":
        return np.where(X[:, 0] > 0.0, 1.0, -1.0)
    if data == "basis":
        j = np.argmax(X, axis=1)
        return np.where(2 * j < cfg.d, 1.0, -1.0)
    c = cube_halfwidth(cfg.cube_dims)
    inside = np.all(np.abs(X[:, : cfg.cube_dims]) <= c, axis=1)
    return np.where(inside, 1.0, -1.0)


def cube_halfwidth(k: int) -> float:
    """(1/2)**(1/K): the centred cube that holds half of [-1, 1]^K."""
    return 0.5 ** (1.0 / k)


def _draw_inputs(data: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    if data == "gaussian":
        return rng.standard_normal((n, d))
    if data == "basis":
        return np.eye(d)[rng.integers(0, d, size=n)]
    return rng.uniform(-1.0, 1.0, size=(n, d))


def synthetic_sets(cfg: RunConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A run's synthetic sets: training (only with ``n_train``), probe and test, with clean labels.

    Probe and test sets are the d basis vectors for basis data, otherwise ``probe_size`` and
    ``n_test`` draws from the input law, drawn in the order probe, train, test. Without
    ``n_train`` the training set is empty (the kernels draw fresh samples); without ``errors``
    so is the test set.

    Parameters
    ----------
    cfg : RunConfig
        A synthetic run (``data`` in ``gaussian``, ``basis``, ``cube``).
    rng : numpy.random.Generator
        The run's data stream (:func:`fastnoise._rng.data_rng`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(Xtr, Ytr, Xpr, Xte, Yte)``.
    """
    d = cfg.d
    assert d is not None, "RunConfig resolves d on construction"
    if cfg.data == "basis":
        Xpr = np.eye(d)
    else:
        Xpr = _draw_inputs(cfg.data, cfg.probe_size, d, rng)
    if cfg.n_train is not None:
        Xtr = _draw_inputs(cfg.data, cfg.n_train, d, rng)
        Ytr = _target(cfg.data, Xtr, cfg)
    else:
        Xtr, Ytr = np.zeros((0, d)), np.zeros(0)
    if not cfg.errors:
        Xte, Yte = np.zeros((0, d)), np.zeros(0)
    elif cfg.data == "basis":
        Xte = np.eye(d)
        Yte = _target("basis", Xte, cfg)
    else:
        Xte = _draw_inputs(cfg.data, cfg.n_test, d, rng)
        Yte = _target(cfg.data, Xte, cfg)
    return Xtr, Ytr, Xpr, Xte, Yte
