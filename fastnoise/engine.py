"""The simulation engine: validate, allocate, run the kernels in chunks, post-check, wrap.

``simulate(config)`` returns one tidy DataFrame (a row per replica and checkpoint).
``run(config)`` returns the same table plus the final weights (used by the tests).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _rng, footprint
from . import provenance as _provenance  # noqa: F401  (stamps the sources as imported)
from ._kernels import common as kc
from .config import RunConfig
from .plan import RunPlan, plan, rescaling_exact
from .schedule import chunk_steps, segments, stage_of
from .schema import config_id, frame_from_arrays
from .sets import flip_rate
from .state import RunState, adopt, initial_order, regime_arrays
from .threads import DriverArgs, choose_driver, compile_driver, thread_blocks, thread_count

__all__ = ["RunResult", "RunState", "SimulationError", "run", "simulate"]

ProgressFn = Callable[[int, int], None]
log = logging.getLogger(__name__)


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
        Called with the :class:`~fastnoise.state.RunState` after every kernel call (a checkpointer); it may raise
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
    pl = plan(cfg, _renormalize)
    footprint.check(cfg, geo=pl.geometry)
    t_start = time.perf_counter()
    geo, points = pl.geometry, pl.points
    data = pl.data
    arrays, S = pl.packed()
    R, C = cfg.replicas, len(points)
    nthreads = min(nthreads, R)
    if resume is None:
        st = RunState(
            chunk=chunk_steps(pl.model.step_ns(geo), R, nthreads),
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
        st = adopt(resume, arrays, geo.kept(arrays), S)
    kern = pl.kernels()
    reg = regime_arrays(cfg, st)
    blocks = thread_blocks(R, nthreads)
    # A curriculum's stages: no call runs across a boundary, and each call runs under its stage's
    # parameters (same Numba type: one compiled driver). The random streams run on unchanged.
    starts = [start for start, _ in pl.stages]
    calls = segments(points, st.chunk, starts[1:])

    def args(seg_steps: np.ndarray, seg_rec: np.ndarray, steps_done: int) -> DriverArgs:
        P = pl.stages[stage_of(starts, steps_done)][1]
        return DriverArgs(
            st.arrays, st.S, st.state, st.steps_done, st.updates, st.status, P, data, seg_steps, seg_rec, st.out, reg
        )

    drive = choose_driver(kern, blocks)
    compile_seconds = compile_driver(drive, f"{pl.model.name}/{pl.loss.name}", blocks[0], args(*calls[0][:2], 0), blocks)
    pool = ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="fastnoise") if nthreads > 1 else None
    try:
        if progress is not None:  # compiled: the work proper starts (and a resumed run is this far)
            progress(st.steps, cfg.steps)
        for seg_steps, seg_rec, n in calls[st.calls :]:
            a: tuple[Any, ...] = args(seg_steps, seg_rec, st.steps)
            if pool is None:
                drive(blocks[0], *a)
            else:
                for fut in [pool.submit(drive, rs, *a) for rs in blocks]:
                    fut.result()
            _raise_on_status(st.status, pl)
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


def _raise_on_status(status: np.ndarray, pl: RunPlan) -> None:
    """Raise :class:`SimulationError` for the first replica whose status is not OK."""
    cfg = pl.cfg
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
    limit = int(math.log2(pl.params.underflow_product))  # float64: 2^-900; float32: 2^-100
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
