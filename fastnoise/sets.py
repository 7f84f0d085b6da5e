"""The sets a run draws once (training, error evaluation, probe, test) and the label noise fixed on them."""

from __future__ import annotations

import numpy as np

from . import _rng
from ._kernels.params import Data
from .config import RunConfig
from .tasks import get_task

__all__ = ["corrupt", "datasets", "flip_rate"]


def datasets(cfg: RunConfig) -> Data:
    """The sets drawn once per run (shared read-only by all replicas): training, probe, test.

    The task draws them (:meth:`fastnoise.tasks.Task.sets`) from the run's data stream: for a
    synthetic law, probe and test sets are the d basis vectors for basis data, otherwise
    ``probe_size`` and ``n_test`` draws from the input law, drawn in the order probe, train,
    test; for image data, the training split (or its first ``n_train`` images), a probe set of
    ``probe_size`` training images drawn once, and the whole test split (pixels in [0, 1], label
    +1 for even classes and -1 for odd ones). ``error_train`` uses the first ``eval_size``
    training samples. With ``noise_mode="fixed"`` SGD sees the training labels corrupted once
    (:func:`corrupt`), ``error_train`` the clean ones.
    """
    task = get_task(cfg.data)
    Xtr, Ytr, Xpr, Xte, Yte = task.sets(cfg, _rng.data_rng(cfg.seed))
    m = min(cfg.eval_size, Xtr.shape[0])
    Xev, Yev = Xtr[:m], Ytr[:m].copy()
    if cfg.noise_mode == "fixed":
        Ytr = corrupt(cfg, Ytr)
    ints, reals = task.kernel_arrays(cfg)
    sets = (np.ascontiguousarray(a, dtype=np.float64) for a in (Xtr, Ytr, Xev, Yev, Xpr, Xte, Yte))
    return Data(*sets, np.ascontiguousarray(ints, dtype=np.int64), np.ascontiguousarray(reals, dtype=np.float64))


def corrupt(cfg: RunConfig, labels: np.ndarray) -> np.ndarray:
    """The training labels after one draw of noise per example (``noise_mode="fixed"``), from the run's noise stream.

    Each example's label is, with probability p, replaced by a uniform draw from all labels
    (``noise="uniform"``) or from the other labels (``"flip"``): two classes ±1, or class indices.
    """
    rng = _rng.noise_rng(cfg.seed)
    n = labels.shape[0]
    hit = rng.random(n) < cfg.p
    y = np.array(labels, dtype=np.float64)
    new: np.ndarray
    if cfg.classes > 2:
        C = cfg.classes
        if cfg.noise == "flip":
            k = rng.integers(0, C - 1, size=n)
            new = np.asarray(np.where(k < y, k, k + 1), dtype=np.float64)
        else:
            new = np.asarray(rng.integers(0, C, size=n), dtype=np.float64)
    elif cfg.noise == "flip":
        new = -y
    else:
        new = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return np.where(hit, new, y)


def flip_rate(cfg: RunConfig, data: Data | None = None) -> float:
    """The fraction of labels the noise changes: its expectation for fresh noise, the realised one for fixed.

    Fresh noise flips a label with probability p (``flip``) or p (C - 1) / C (``uniform``: the
    replacement may be the clean label itself; two classes: p/2).
    """
    if cfg.noise_mode == "fixed":
        data = datasets(cfg) if data is None else data
        clean = np.asarray(get_task(cfg.data).sets(cfg, _rng.data_rng(cfg.seed))[1], dtype=np.float64)
        return float(np.mean(data.Ytr != clean)) if clean.size else 0.0
    return float(cfg.p) if cfg.noise == "flip" else float(cfg.p) * (cfg.classes - 1) / cfg.classes
