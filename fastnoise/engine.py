"""The simulation engine: validate, allocate, run the kernels in chunks, post-check, wrap.

``simulate(config)`` returns one tidy DataFrame (a row per replica and checkpoint).
``run(config)`` returns the same table plus the final weights (used by the tests).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd

from . import _rng, footprint
from . import provenance as _provenance  # noqa: F401  (stamps the sources as imported)
from ._kernels import common as kc
from ._kernels import driver
from ._kernels.draws import BASIS, CUBE, FLIP, GAUSSIAN, TRAINSET, UNIFORM, draw_class_stream, draw_stream
from ._kernels.layout import Geometry
from ._kernels.models import MODELS
from ._kernels.params import Data, Params, Spec
from .config import IMAGE_DATA, ConfigError, RunConfig
from .data.images import image_sets
from .data.synthetic import cube_halfwidth, synthetic_sets
from .schema import config_id, frame_from_arrays

__all__ = ["RunResult", "RunState", "SimulationError", "run", "simulate", "checkpoints"]

ProgressFn = Callable[[int, int], None]
log = logging.getLogger(__name__)
#: A compile that takes longer than this is announced (a cached kernel loads in well under it).
COMPILE_NOTICE_SECONDS = 1.0

_DATA_CODES = {"gaussian": GAUSSIAN, "basis": BASIS, "cube": CUBE}


class SimulationError(RuntimeError):
    """A run that cannot go on (non-finite weights, unavoidable underflow)."""


@dataclass
class RunResult:
    """A finished run: the table, each replica's final weights and their renormalisation scale.

    ``weights`` are at true scale; ``log2_scale`` is the power of two by which renormalisation
    scaled each replica's stored weights (0 when it never did).
    """

    config: RunConfig
    table: pd.DataFrame
    weights: list[dict[str, np.ndarray | float]]
    log2_scale: np.ndarray
    seconds: float
    compile_seconds: float = 0.0


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


def checkpoints(steps: int, records: int, spacing: str) -> np.ndarray:
    """Checkpoint steps: sorted, unique, always 0 and ``steps``; at most ``records`` of them."""
    if spacing == "linear":
        pts = np.rint(np.linspace(0, steps, records)).astype(np.int64)
    else:
        pts = np.rint(np.logspace(0, math.log10(steps), records - 1)).astype(np.int64)
        pts = np.concatenate([[0], pts])
    pts[-1] = steps
    return np.unique(np.clip(pts, 0, steps))


# --------------------------------------------------------------------------- data


def datasets(cfg: RunConfig) -> Data:
    """The sets drawn once per run (shared read-only by all replicas): training, probe, test.

    Synthetic data (:func:`fastnoise.data.synthetic_sets`): probe and test sets are the d basis
    vectors for basis data, otherwise ``probe_size`` and ``n_test`` draws from the input law, drawn
    in the order probe, train, test. Image data (:func:`fastnoise.data.image_sets`): the training
    split (or its first ``n_train`` images), a probe set of ``probe_size`` training images drawn
    once, and the whole test split; pixels in [0, 1], label +1 for even classes and -1 for odd
    ones. ``error_train`` uses the first ``eval_size`` training samples.
    """
    rng = _rng.data_rng(cfg.seed)
    draw = image_sets if cfg.data in IMAGE_DATA else synthetic_sets
    Xtr, Ytr, Xpr, Xte, Yte = draw(cfg, rng)
    m = min(cfg.eval_size, Xtr.shape[0])
    Xev, Yev = Xtr[:m], Ytr[:m].copy()
    if cfg.noise_mode == "fixed":  # SGD sees the corrupted labels; error_train the clean ones
        Ytr = corrupt(cfg, Ytr)
    return Data(*(np.ascontiguousarray(a, dtype=np.float64) for a in (Xtr, Ytr, Xev, Yev, Xpr, Xte, Yte)))


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
        draw = image_sets if cfg.data in IMAGE_DATA else synthetic_sets
        clean = np.asarray(draw(cfg, _rng.data_rng(cfg.seed))[1], dtype=np.float64)
        return float(np.mean(data.Ytr != clean)) if clean.size else 0.0
    return float(cfg.p) if cfg.noise == "flip" else float(cfg.p) * (cfg.classes - 1) / cfg.classes


# --------------------------------------------------------------------------- weights


def initial_weights(cfg: RunConfig, replica: int) -> dict[str, np.ndarray | float]:
    """Replica ``replica``'s initial weights, from its own stream; biases start at 0.

    Neuron: ``{"V": (din,)}``. Two-layer: ``{"M": (width, din), "V": (width,), "b2": float}``;
    with ``train="hidden"``, ``V = (1,..,1,-1,..,-1)``. Ten classes: ``{"M", "V": (10, width),
    "b": (10,)}``. Mlp: ``{"W1": (n_1, d [+1]), ..., "WL": (1, n_{L-1} [+1])}``, bias last column.
    """
    rng = _rng.init_rng(cfg.seed, replica)
    a = cfg.init_scale
    assert a is not None and cfg.d is not None, "RunConfig resolves init_scale and d on construction"

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        if cfg.init == "gaussian":
            return a * rng.standard_normal(shape)
        b = a / math.sqrt(shape[-1]) if cfg.init == "fanin" else a  # fan-in: the inputs of one unit
        return rng.uniform(-b, b, size=shape)

    def rescale(w: np.ndarray) -> np.ndarray:
        if cfg.init_norm is None:
            return w
        nrm = np.linalg.norm(w)
        return w * (cfg.init_norm / nrm) if nrm > 0 else w

    if cfg.model == "neuron":
        V = np.zeros(cfg.din)
        V[: cfg.d] = rescale(draw((cfg.d,)))
        return {"V": V}
    if cfg.model == "mlp":
        return _mlp_weights(cfg, draw, rescale)
    k = cfg.width
    M = np.zeros((k, cfg.din))
    M[:, : cfg.d] = rescale(draw((k, cfg.d)))
    if cfg.classes > 2:
        return {"M": M, "V": rescale(draw((cfg.classes, k))), "b": np.zeros(cfg.classes)}
    if cfg.train == "hidden":
        V = np.concatenate([np.ones(k // 2), -np.ones(k // 2)])
    else:
        V = rescale(draw((k,)))
    return {"M": M, "V": V, "b2": 0.0}


def _mlp_weights(
    cfg: RunConfig, draw: Callable[[tuple[int, ...]], np.ndarray], rescale: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray | float]:
    """Layers drawn in order W1, W2, ..., output: with one hidden layer, the two-layer net's draws."""
    assert cfg.d is not None, "RunConfig resolves d on construction"
    dims = [cfg.d, *cfg.hidden_widths]
    b = int(cfg.bias)
    out: dict[str, np.ndarray | float] = {}
    for l in range(1, len(dims)):
        W = np.zeros((dims[l], dims[l - 1] + b))
        W[:, : dims[l - 1]] = rescale(draw((dims[l], dims[l - 1])))
        out[f"W{l}"] = W
    k = dims[-1]
    last = np.zeros((1, k + b))
    if cfg.train == "hidden":
        last[0, :k] = np.concatenate([np.ones(k // 2), -np.ones(k // 2)])
    else:
        last[0, :k] = rescale(draw((k,)))
    out[f"W{len(dims)}"] = last
    return out


def kernel_model(cfg: RunConfig) -> str:
    """The kernel model a run uses (the ten-class net is its own kernel)."""
    if cfg.model == "twolayer" and cfg.classes > 2:
        return "multiclass"
    return cfg.model


def geometry(cfg: RunConfig) -> Geometry:
    """The shapes of a run's arrays (see :mod:`fastnoise._kernels.layout`).

    Minibatches and weight decay copy and rescale every replica's weight arrays whole at each step
    (:func:`regime_arrays`), so their runs have no spread after the weight matrix (``layout.SPREAD``).
    """
    widths = () if cfg.model == "neuron" else cfg.hidden_widths
    spread = cfg.batch == 1 and cfg.weight_decay == 0.0
    return Geometry(
        kernel_model(cfg), cfg.d, cfg.bias, widths, cfg.classes, cfg.trained_layers, np.dtype(cfg.dtype), spread=spread
    )


def kernel_spec(cfg: RunConfig) -> Spec:
    """The compile-time options of a run's kernel: loss, input law, activation, sparse inputs."""
    trainset = cfg.n_train is not None or cfg.data in IMAGE_DATA
    return Spec(
        loss=kc.HINGE if cfg.loss == "hinge" else kc.LOGISTIC,
        data=TRAINSET if trainset else _DATA_CODES[cfg.data],
        act=kc.LEAKY if cfg.activation == "leaky" else kc.RELU,
        sparse=cfg.data in IMAGE_DATA,
        noise=FLIP if cfg.noise == "flip" else UNIFORM,
        smooth=cfg.label_smoothing > 0.0 and cfg.classes == 2,  # C classes: the targets are parameters
        batch=cfg.batch > 1,
        decay=cfg.weight_decay > 0.0,
        epochs=cfg.sampling == "epochs",
    )


def kernel_params(cfg: RunConfig, renormalize: bool = True) -> Params:
    """The run's parameters as the kernels read them."""
    geo = geometry(cfg)
    net = cfg.model != "neuron"
    assert cfg.lr is not None, "RunConfig resolves lr on construction"
    e = cfg.label_smoothing
    return Params(
        d=cfg.d,
        din=cfg.din,
        lr=float(cfg.lr),
        p=0.0 if cfg.noise_mode == "fixed" else float(cfg.p),  # fixed: the training labels carry the noise
        cube_k=cfg.cube_dims,
        cube_c=cube_halfwidth(cfg.cube_dims),
        bias=cfg.bias,
        errors=cfg.errors,
        renorm=renormalize and rescaling_exact(cfg),
        train_v=cfg.train == "all",
        k=cfg.hidden_widths[-1] if net else 1,
        kp=geo.kp,
        classes=cfg.classes,
        depth=geo.depth,
        leak=float(cfg.leak) if cfg.leak is not None else 0.0,
        smooth=float(e),
        batch=int(cfg.batch),
        decay=float(cfg.weight_decay),
        **(dict(renorm_below=kc.RENORM_BELOW_F32, underflow_product=kc.UNDERFLOW_PRODUCT_F32) if cfg.dtype == "float32" else {}),
    )


def kernels(cfg: RunConfig, spec: Spec | None = None) -> driver.Kernels:
    """The compiled kernels of a run (built once per model and spec, then cached)."""
    return driver.build(MODELS[kernel_model(cfg)], kernel_spec(cfg) if spec is None else spec)


def rescaling_exact(cfg: RunConfig) -> bool:
    """Whether scaling all weights by one factor maps trajectories to trajectories.

    True for the two-layer hinge net without bias training both layers: every update scales
    with the weights and the sign of N(x) is unchanged. Then the engine renormalises by powers
    of two (exact) and carries the scale, so runs never underflow. A depth-L mlp (hinge, no bias,
    every layer trained) is L-homogeneous: weights c*W follow the image of (W, h) only with the
    step h * c**(2 - L), so its kernel rescales the step with the weights (see ``_kernels/mlp.py``).
    """
    if cfg.weight_decay > 0.0:  # (l/2)|W|^2 breaks the homogeneity
        return False
    if cfg.model == "mlp":
        return cfg.loss == "hinge" and not cfg.bias and cfg.train == "all"
    return cfg.model == "twolayer" and cfg.loss == "hinge" and not cfg.bias and cfg.train == "all" and cfg.classes == 2


def _segments(points: np.ndarray, chunk: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
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


def _chunk_steps(cfg: RunConfig, geo: Geometry, nthreads: int) -> int:
    """Steps per kernel call: about a quarter of a second of work, so progress moves."""
    macs = geo.din * geo.kps[0] + sum(int(geo.dims[l]) * int(geo.kps[l]) for l in range(1, geo.depth - 1))
    ns = 60.0 if cfg.model == "neuron" else 60.0 + 0.15 * macs
    waves = math.ceil(cfg.replicas / max(1, nthreads))
    return max(1024, int(0.25e9 / (ns * waves)))


def max_threads() -> int:
    """The most threads a run may use: ``NUMBA_NUM_THREADS`` (all cores unless set)."""
    # Numba sets its config attributes at import time through globals(), which mypy cannot see.
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def thread_count(threads: int | None, *, cap: bool = False) -> int:
    """The package's one threads rule: ``None`` means :func:`max_threads`, else 1 ... :func:`max_threads`.

    Parameters
    ----------
    threads : int or None
        The requested count.
    cap : bool
        Lower a count above the maximum to it instead of failing (sweep workers with fewer cores).

    Raises
    ------
    ConfigError
        ``threads`` not an integer in range (named ``threads``; on the CLI ``--threads``).
    """
    nmax = max_threads()
    if threads is None:
        return nmax
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1 or (threads > nmax and not cap):
        raise ConfigError("threads", f"must be between 1 and {nmax}, got {threads!r}")
    return min(int(threads), nmax)


def run(
    config: RunConfig | None = None,
    *,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    resume: RunState | None = None,
    on_call: Callable[[RunState], None] | None = None,
    _renormalize: bool = True,
    **params: Any,
) -> RunResult:
    """Run a simulation and return its table and final weights.

    Parameters
    ----------
    config : RunConfig, optional
        The run; if omitted, built from ``params`` (the fields of :class:`RunConfig`).
    threads : int, optional
        Threads over replicas (default: ``NUMBA_NUM_THREADS``, all cores). Results do not depend on it.
    progress : callable, optional
        Called as ``progress(steps_done, steps_total)`` between chunks.
    resume : RunState, optional
        Continue from this state (as handed to ``on_call`` by a run of the same configuration and
        code; see :mod:`fastnoise.checkpoint`). The result is bitwise that of an uninterrupted run.
    on_call : callable, optional
        Called with the :class:`RunState` after every kernel call (a checkpointer); it may raise
        to stop the run.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        A parameter outside its range; :class:`fastnoise.footprint.MemoryLimitError` when the
        run would not fit in the available memory.
    SimulationError
        Non-finite weights, or an underflow this setting cannot rescale away.
    """
    cfg = config if config is not None else RunConfig(**params)
    if config is not None and params:
        cfg = config.replace(**params)
    nthreads = thread_count(threads)
    footprint.check(cfg)
    t_start = time.perf_counter()
    data = datasets(cfg)
    geo = geometry(cfg)
    arrays, S = geo.pack([initial_weights(cfg, r) for r in range(cfg.replicas)])
    P = kernel_params(cfg, _renormalize)
    points = checkpoints(cfg.steps, cfg.records, cfg.record_spacing)
    R, C = cfg.replicas, len(points)
    nthreads = min(nthreads, R)
    if resume is None:
        st = RunState(
            chunk=_chunk_steps(cfg, geo, nthreads),
            calls=0,
            steps=0,
            arrays=arrays,
            S=S,
            state=_rng.kernel_state(cfg.seed, cfg.replicas),
            steps_done=np.zeros(R, np.int64),
            updates=np.zeros(R, np.int64),
            status=np.zeros((R, kc.STATUS_WORDS), np.int64),
            out=np.full((R, C, geo.n_metrics), np.nan),
            order=initial_order(cfg, data.Xtr.shape[0]),
        )
    else:
        st = _adopt(resume, arrays, geo.kept(arrays), S)
    kern = kernels(cfg)
    reg = regime_arrays(cfg, st)
    # Replica r goes to thread r % nthreads: each thread owns its replicas' rows of every array.
    blocks = [np.arange(t, R, nthreads, dtype=np.int64) for t in range(nthreads)]
    calls = _segments(points, st.chunk)
    first = (blocks[0], st.arrays, st.S, st.state, st.steps_done, st.updates, st.status, P, data, *calls[0][:2], st.out, reg)
    drive = choose_driver(kern, blocks)
    compile_seconds = _compile(drive, cfg, first, blocks)
    pool = ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="fastnoise") if nthreads > 1 else None
    try:
        if progress is not None:  # compiled: the work proper starts (and a resumed run is this far)
            progress(st.steps, cfg.steps)
        for seg_steps, seg_rec, n in calls[st.calls :]:
            args: tuple[Any, ...] = (
                st.arrays,
                st.S,
                st.state,
                st.steps_done,
                st.updates,
                st.status,
                P,
                data,
                seg_steps,
                seg_rec,
                st.out,
                reg,
            )
            if pool is None:
                drive(blocks[0], *args)
            else:
                for fut in [pool.submit(drive, rs, *args) for rs in blocks]:
                    fut.result()
            _raise_on_status(st.status, cfg)
            st.calls += 1
            st.steps += n
            if on_call is not None:
                on_call(st)
            if progress is not None:
                progress(st.steps, cfg.steps)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    table = frame_from_arrays(cfg, points, st.out)
    table.attrs["regimes"] = {config_id(cfg): {"flip_rate": flip_rate(cfg, data), "samples_per_step": cfg.batch}}
    final = geo.unpack(st.arrays, st.status[:, kc.S_LOG2])
    seconds = time.perf_counter() - t_start
    return RunResult(cfg, table, final, st.status[:, kc.S_LOG2].copy(), seconds, compile_seconds)


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
        packed, _ = geometry(one).pack([_trained_ones(cfg, initial_weights(one, 0))])
        masks = tuple(np.ascontiguousarray(m.reshape(-1)) for m in packed if m.dtype.kind == "f")
    else:
        masks = tuple(np.zeros(0) for _ in flats)
    width = 2 * T if cfg.batch > 1 else T if cfg.weight_decay > 0.0 else 0
    return st.order, flats, np.zeros((R, width)), masks


def _trained_ones(cfg: RunConfig, w: dict[str, Any]) -> dict[str, Any]:
    """``w``'s layout with 1.0 on every trained weight (biases included) and 0.0 on the fixed ones."""
    out: dict[str, Any] = {}
    for name, value in w.items():
        if cfg.model == "mlp":
            on = int(name[1:]) in cfg.trained_layers
        else:  # the neuron's V; a two-layer net's M (layer 1), and V, b2 / b (the output layer) unless hidden-only
            on = cfg.model == "neuron" or name == "M" or cfg.train == "all"
        out[name] = np.full(np.shape(value), 1.0 if on else 0.0) if np.ndim(value) else (1.0 if on else 0.0)
    return out


def _adopt(saved: RunState, arrays: tuple[np.ndarray, ...], kept: tuple[np.ndarray, ...], S: np.ndarray) -> RunState:
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


def choose_driver(kern: driver.Kernels, blocks: list[np.ndarray]) -> Any:
    """The driver for these thread blocks: lane groups through the lane driver when the model has one.

    Both drivers give the same table bit for bit (tests/kernels/test_lanes.py); the lane driver advances
    ``driver.LANES`` replicas together and pays off from ``driver.MIN_LANES`` replicas per thread
    (bench/run_bench.py). Specs without a lane step, and interpreted runs, have ``drive_lanes = None``.
    """
    if kern.drive_lanes is None:
        return kern.drive
    if max(len(b) for b in blocks) < driver.MIN_LANES:
        return kern.drive
    return LaneDrive(kern.drive_lanes, kern.drive)


@dataclass(frozen=True)
class LaneDrive:
    """A thread's replicas in lane groups through ``lanes``, any others through ``scalar``.

    Called like a driver. A group is :data:`driver.LANES` consecutive replicas of the block (the
    last one may be shorter); it goes through the lane driver if it has at least
    :data:`driver.MIN_LANES` replicas, all at the same step (a replica that failed stays behind),
    otherwise through the scalar driver. Each is compiled only when a run has such a group, so a
    first run of eight replicas on one thread does not also compile the scalar driver.
    """

    lanes: Any
    scalar: Any

    @staticmethod
    def split(rs: np.ndarray, steps_done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the replicas of ``rs`` in lane groups, the others), each in ``rs``'s order."""
        lane: list[np.ndarray] = []
        other: list[np.ndarray] = []
        for g in range(0, rs.shape[0], driver.LANES):
            group = rs[g : g + driver.LANES]
            same = bool(np.all(steps_done[group] == steps_done[group[0]]))
            (lane if group.shape[0] >= driver.MIN_LANES and same else other).append(group)
        empty = np.zeros(0, np.int64)
        return (np.concatenate(lane) if lane else empty), (np.concatenate(other) if other else empty)

    def __call__(self, rs: np.ndarray, *args: Any) -> None:
        lane, other = self.split(rs, args[3])  # args[3]: steps_done
        if lane.size:
            self.lanes(lane, *args)
        if other.size:
            self.scalar(other, *args)


def _compile(drive: Any, cfg: RunConfig, args: tuple[Any, ...], blocks: list[np.ndarray] | None = None) -> float:
    """Compile (or load from the cache) the driver ``drive`` for ``args``' types; seconds taken.

    ``blocks``: the threads' replicas, which tell a :class:`LaneDrive` which of its drivers are needed.

    Announces itself on the ``fastnoise.engine`` logger (INFO) once it has taken more than
    :data:`COMPILE_NOTICE_SECONDS`: a first run compiles for several seconds, later ones load the cache.
    """
    if isinstance(drive, LaneDrive):  # the drivers the first call's thread blocks need
        parts = [drive.split(rs, args[4]) for rs in blocks or [args[0]]]  # args[4]: steps_done
        return (_compile(drive.lanes, cfg, args) if any(p[0].size for p in parts) else 0.0) + (
            _compile(drive.scalar, cfg, args) if any(p[1].size for p in parts) else 0.0
        )
    if not hasattr(drive, "compile") or drive.signatures:  # interpreted (NUMBA_DISABLE_JIT), or compiled already
        return 0.0
    t0 = time.perf_counter()
    notice = threading.Timer(
        COMPILE_NOTICE_SECONDS, log.info, ("compiling kernels for %s/%s (first run only)...", kernel_model(cfg), cfg.loss)
    )
    notice.daemon = True
    notice.start()
    try:
        drive.compile(tuple(numba.typeof(a) for a in args))
    finally:
        notice.cancel()
    return time.perf_counter() - t0


def _raise_on_status(status: np.ndarray, cfg: RunConfig) -> None:
    bad = np.flatnonzero(status[:, kc.S_CODE] != kc.OK)
    if bad.size == 0:
        return
    r = int(bad[0])
    code, step = int(status[r, kc.S_CODE]), int(status[r, kc.S_STEP])
    if code == kc.NONFINITE:
        raise SimulationError(
            f"replica {r}: non-finite network output or weights at step {step} (lr={cfg.lr:g}); nothing was written"
        )
    why = "renormalisation is off" if rescaling_exact(cfg) else "this setting has no exact rescaling"
    limit = int(math.log2(kernel_params(cfg).underflow_product))  # float64: 2^-900; float32: 2^-100
    raise SimulationError(
        f"replica {r}: weights underflow at step {step} (the largest weights of the layers multiply to below 2^{limit}) "
        f"and {why} ({cfg.model}, {cfg.loss}, {'bias' if cfg.bias else 'no bias'}, train {cfg.train}); "
        "the run stops here, nothing was written: use fewer --steps"
    )


def simulate(
    config: RunConfig | None = None, *, threads: int | None = None, progress: ProgressFn | None = None, **params: Any
) -> pd.DataFrame:
    """Run a simulation and return its tidy table (one row per replica and checkpoint).

    Parameters
    ----------
    config : RunConfig, optional
        The run; if omitted, built from ``params`` (the fields of :class:`RunConfig`).
    threads : int, optional
        Numba threads (default: all). Results do not depend on it.
    progress : callable, optional
        Called as ``progress(steps_done, steps_total)`` between chunks.
    **params
        Fields of :class:`RunConfig`, e.g. ``model="twolayer", width=120``.

    Returns
    -------
    pandas.DataFrame
        Columns as in :mod:`fastnoise.schema`; ``df.attrs["config"]`` holds the configuration.
    """
    return run(config, threads=threads, progress=progress, **params).table


def apply_step(cfg: RunConfig, weights: dict[str, Any], x: np.ndarray, y: float) -> tuple[dict[str, Any], float]:
    """One SGD step of the compiled kernel on a given sample, from given weights.

    Parameters
    ----------
    cfg : RunConfig
        Model, loss, bias, train and lr (data, p and the schedule are ignored).
    weights : dict
        As returned by :func:`initial_weights` (``V``; or ``M``, ``V``, ``b2``; or ``W1`` ... ``WL``).
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
    P = kernel_params(one, renormalize=False)
    dense = kernel_spec(one)._replace(data=GAUSSIAN, sparse=False)  # x is given: no one-hot or sparse path
    kern = kernels(one, dense)
    w = kern.view(arrays, S, 0, P)
    w[0][: one.d] = x
    if one.classes > 2:
        kern.update(-1, int(y), P, P.lr, *w)
        out = float("nan")  # C scores, not one output
    else:
        out = float(kern.update(-1, float(y), P, P.lr, *w)[0])
    return geo.unpack(arrays, np.zeros(1, np.int64))[0], out


def sample_stream(cfg: RunConfig, replica: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n`` samples replica ``replica`` trains on: ``(x, clean label, label)``.

    The same draws, in the same order, as the kernels make (for tests and references): the noise
    convention, epochs' permutations and, with ``noise_mode="fixed"``, the corrupted training
    labels (then "clean" is the example's stored label, already noisy). With minibatches the
    samples of a step are consecutive.
    """
    data = datasets(cfg)
    P = kernel_params(cfg)
    code = kernel_spec(cfg).data
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
    draw_stream(row, n, cfg.d, code, data.Xtr, data.Ytr, P.cube_c, cfg.cube_dims, P.p, xs, clean, ys, flip, order)
    return xs, clean, ys
