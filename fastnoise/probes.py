"""Probes into the compiled kernels for tests, references and theorem checks: one step, a replica's samples."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import _rng, plan
from ._jit import jit
from ._kernels.draws import draw_class_stream, draw_stream, draw_stream_of
from ._kernels.samplers import LAW_CODES
from .config import RunConfig
from .plan import geometry, kernel_params, kernel_spec
from .sets import datasets
from .state import initial_order

__all__ = ["apply_step", "sample_stream"]


def apply_step(cfg: RunConfig, weights: dict[str, Any], x: np.ndarray, y: float) -> tuple[dict[str, Any], float]:
    """One SGD step of the compiled kernel on a given sample, from given weights.

    Parameters
    ----------
    cfg : RunConfig
        Model, loss, bias, train and lr (data, p and the schedule are ignored).
    weights : dict
        As returned by :func:`fastnoise.weights.initial_weights` (``V``; or ``M``, ``V``, ``b2``; or ``W1`` ... ``WL``).
    x : ndarray, shape (d,)
        The input, without the bias coordinate.
    y : float
        The label, +1 or -1 (ten classes: the class index).

    Returns
    -------
    (dict, float)
        The weights after the step (new arrays) and N(x) before it (NaN with ten classes).
    """
    one = cfg.replace(replicas=1)
    geo = geometry(one)
    arrays, S = geo.pack([weights])
    P = kernel_params(one, renormalize=False, geo=geo)
    dense = kernel_spec(one)._replace(sampler="gaussian", sparse=False)  # x is given: no one-hot or sparse path
    kern = plan.kernels(one, dense)  # looked up at call time (tests/faults.py replaces it)
    w = kern.view(arrays, S, 0, P)
    w[0][: one.d] = x
    if one.classes > 2:
        kern.update(-1, int(y), P, P.lr, *w)
        out = float("nan")  # C scores, not one output
    else:
        out = float(kern.update(-1, float(y), P, P.lr, *w)[0])
    return geo.unpack(arrays, np.zeros(1, np.int64))[0], out


@functools.cache
def _compiled_draw(part: Any) -> Any:
    """A sampler's draw compiled as written (once per process: each new dispatcher recompiles ``draw_stream_of``)."""
    return jit(part.draw, cache=False)


def sample_stream(cfg: RunConfig, replica: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n`` samples replica ``replica`` trains on: ``(x, clean label, label)``.

    The same draws, in the same order, as the kernels make (for tests and references): the noise
    convention, epochs' permutations and, with ``noise_mode="fixed"``, the corrupted training
    labels (then "clean" is the example's stored label, already noisy). With minibatches the
    samples of a step are consecutive. A curriculum's stages (:func:`fastnoise.plan.stage_params`)
    switch the law at the same steps as the kernels do.
    """
    data = datasets(cfg)
    P = kernel_params(cfg)
    part = plan.sampler(cfg)
    row = _rng.kernel_state(cfg.seed, replica + 1)[replica].copy()
    flip = cfg.noise == "flip"
    order = initial_order(cfg.replace(replicas=1), data.Xtr.shape[0])[0] if cfg.sampling == "epochs" else None
    assert cfg.d is not None, "RunConfig resolves d on construction"
    xs = np.zeros((n, cfg.d))
    clean = np.zeros(n)
    ys = np.zeros(n)
    if cfg.classes > 2:
        clean_i = np.zeros(n, np.int64)
        ys_i = np.zeros(n, np.int64)
        draw_class_stream(row, n, cfg.d, data.Xtr, data.Ytr, cfg.classes, P.p, xs, clean_i, ys_i, flip, order)
        return xs, clean_i.astype(float), ys_i.astype(float)
    stages = plan.stage_params(cfg, P)
    ends = [min(start * cfg.batch, n) for start, _ in stages[1:]] + [n]  # each stage's last sample (exclusive)
    draw = None if part.name in LAW_CODES else _compiled_draw(part)
    lo = 0
    for (_, Ps), hi in zip(stages, ends, strict=True):  # the row carries the stream from stage to stage
        if hi <= lo:
            continue
        out = (xs[lo:hi], clean[lo:hi], ys[lo:hi])
        if draw is None:
            code = LAW_CODES[part.name]
            draw_stream(row, hi - lo, cfg.d, code, data.Xtr, data.Ytr, Ps.cube_c, Ps.cube_k, Ps.p, *out, flip, order)
        else:  # a sampler without a law code (the hypercube's, or one from outside the package), compiled as written
            draw_stream_of(draw, row, hi - lo, Ps, data, *out, flip, order)
        lo = hi
    return xs, clean, ys
