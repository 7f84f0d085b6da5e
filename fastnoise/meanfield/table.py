"""Mean-field tables shaped like runs: the flow from a run's initial weights at its checkpoints, with ``source = "meanfield"``.

:func:`theory` takes a :class:`~fastnoise.config.RunConfig` (the same options as ``fastnoise run``),
starts one flow from each of the first ``flows`` replicas' initial weights (drawn by
:func:`fastnoise.weights.initial_weights`, so a flow and a simulation of the same configuration start
from the same weights), integrates it to every checkpoint step t at tau = h t, and returns a table
with exactly the run's columns (:mod:`fastnoise.schema`, the same ``config_id``) plus ``source``. A
metric the flow does not give is null: ``updates``, ``active_min``, ``dead`` (counts over the probe
set) and ``error_train``; ``error_test`` is the clean error of the whole law, not of a test sample.
Two-layer flows are run once per scrambling of the quasi-Monte Carlo rule; the table holds their
mean and ``info["qmc_se"]`` the largest standard error over the scramblings (an estimate of the
rule's error, with scramblings - 1 degrees of freedom).

**Partial tables.** Given a :class:`~fastnoise.meanfield.integrate.Monitor`, :func:`theory` reports
its progress there and stops when the monitor asks (a signal, in ``fastnoise meanfield``): the table
then holds what was integrated, which ``info`` says: ``complete`` false, ``stopped`` (the signal,
the flows finished, the last step in the table) and ``horizon_step`` the last step any flow
reached. Each flow keeps the checkpoints it passed (flows not started have no rows); a net's
checkpoint is the mean over the scramblings that passed it, and ``qmc_se`` is taken over the
checkpoints every scrambling passed. A finished table has ``complete`` true.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..models import get_model
from ..provenance import MEANFIELD_SOURCES, kernel_hash
from ..schedule import checkpoints
from ..schema import frame_from_arrays, metric_names
from ..weights import initial_weights
from .flow import neuron_flow, twolayer_flow
from .integrate import Monitor
from .twolayer import TwoLayerField

__all__ = ["SOURCE", "TheoryResult", "flip_parameter", "flow_count", "theory", "unsupported"]

#: The value of the ``source`` column of a mean-field table.
SOURCE = "meanfield"
#: Two-layer metrics averaged over the scramblings (and reported with their standard error).
_NET_METRICS = ("log10_norm_1", "log10_norm_2", "bias_norm_1", "bias_norm_2", "active_mean", "error")


def unsupported(cfg: RunConfig) -> tuple[str, str] | None:
    """Why the flow does not cover ``cfg``, as (option, reason); None when it does.

    The flow needs Gaussian inputs drawn fresh at every step, the neuron or the two-layer net with
    both layers trained and two classes, d >= 2, one sample per step, no weight decay and no label
    smoothing.
    """
    if cfg.model not in _FLOWS:
        return "model", f"the mean-field flow covers the neuron and the two-layer net, got {cfg.model}"
    if cfg.data != "gaussian":
        return "data", f"the mean-field flow is for Gaussian inputs, got {cfg.data}"
    if cfg.n_train is not None:
        return "n-train", "the mean-field flow is for fresh samples at every step (no training set)"
    if cfg.classes != 2:
        return "classes", f"the mean-field flow is for two classes, got {cfg.classes}"
    if get_model(cfg.model).hidden and cfg.train != "all":
        return "train", f"the mean-field flow trains both layers (train all), got {cfg.train}"
    if cfg.d is not None and cfg.d < 2:
        return "d", f"the mean-field flow needs d >= 2, got {cfg.d}"
    # Training regimes the flow does not model (read with defaults: older configurations lack them).
    for name, plain in (("batch", 1), ("weight_decay", 0.0), ("label_smoothing", 0.0)):
        value = getattr(cfg, name, plain)
        if value != plain:
            return name.replace("_", "-"), f"the mean-field flow is for the paper's rule ({name} {plain}), got {value}"
    return None


def flip_parameter(cfg: RunConfig) -> float:
    """The label-noise parameter the expectations take: twice the flip rate (``noise="flip"`` flips with rate p)."""
    return 2.0 * cfg.p if getattr(cfg, "noise", "uniform") == "flip" else cfg.p


@dataclass
class TheoryResult:
    """A mean-field table (run columns plus ``source``) and what produced it (``info``, JSON-ready)."""

    table: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _schedule(cfg: RunConfig, horizon: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The run's checkpoint steps up to ``horizon`` and their times tau = h * step."""
    points = checkpoints(cfg.steps, cfg.records, cfg.record_spacing)
    if horizon is not None:
        points = points[points <= horizon]
    assert cfg.lr is not None, "RunConfig resolves lr on construction"
    return points, float(cfg.lr) * points.astype(float)


def theory(
    cfg: RunConfig,
    *,
    flows: int | None = None,
    points: int = 13,
    scramblings: int = 2,
    horizon: int | None = None,
    second_moment: bool = True,
    method: str | None = None,
    rtol: float | None = None,
    monitor: Monitor | None = None,
) -> TheoryResult:
    """The mean-field flow of a run configuration, as a run-shaped table.

    Parameters
    ----------
    cfg : RunConfig
        The run (see :func:`unsupported` for what the flow covers).
    flows : int, optional
        Flows from the initial weights of replicas 0 .. flows-1 (default: every replica for the
        neuron, one for a two-layer net).
    points : int
        Two-layer only: log2 of the number of quasi-Monte Carlo points.
    scramblings : int
        Two-layer only: independent scramblings of the rule; the table holds the mean of their
        flows, ``info["qmc_se"]`` the largest standard error (needs >= 2; NaN with 1).
    horizon : int, optional
        Integrate only to this step (the table ends at the last checkpoint at or before it).
    second_moment : bool
        Keep the O(h) second-moment terms (False: plain gradient flow).
    method, rtol : optional
        ``solve_ivp``'s method and relative tolerance (defaults: Radau, 1e-8 for the neuron;
        RK45, 1e-5 for the nets).
    monitor : Monitor, optional
        Told of the integrations' progress (:meth:`Monitor.plan` is called here); when it asks
        to stop, the table holds what was integrated (see the module docstring).

    Returns
    -------
    TheoryResult

    Raises
    ------
    ValueError
        A configuration the flow does not cover, or ``flows`` above the replicas.
    """
    why = unsupported(cfg)
    if why is not None:
        raise ValueError(f"--{why[0]}: {why[1]}")
    n_flows = flow_count(cfg, flows)
    if not 1 <= n_flows <= cfg.replicas:
        raise ValueError(f"--flows must be between 1 and --replicas ({cfg.replicas}), got {n_flows}")
    kind = _FLOWS[cfg.model]
    steps, taus = _schedule(cfg, horizon)
    assert cfg.lr is not None
    h = float(cfg.lr)
    t0 = time.perf_counter()
    info: dict[str, Any] = {
        "second_moment": second_moment,
        "flows": n_flows,
        "horizon_step": int(steps[-1]),
        "code": kernel_hash(patterns=MEANFIELD_SOURCES),  # the flow's own sources (the kernels' are in fastnoise.code)
    }
    mon = monitor if monitor is not None else Monitor()
    per_flow = scramblings if kind.scrambled else 1  # integrations per flow, one after another
    mon.plan(n_flows * per_flow, float(taus[-1]))
    rows, reached, extra = kind.rows(
        cfg, taus, n_flows, h, second_moment, method or kind.method, rtol or kind.rtol, points, scramblings, mon
    )
    info.update(extra)
    info["seconds"] = time.perf_counter() - t0
    info["complete"] = mon.finished == mon.solves
    if not info["complete"]:
        last = int(steps[max(int(reached.max()), 1) - 1])
        info["horizon_step"] = last
        info["stopped"] = {
            "signal": mon.signum,
            "flows_finished": mon.finished // per_flow,
            "last_step": last,
            "checkpoints_reached": [int(n) for n in reached],
        }
    return TheoryResult(_table(cfg, steps, rows, reached), info)


def flow_count(cfg: RunConfig, flows: int | None = None) -> int:
    """How many flows :func:`theory` integrates: ``flows``, else every replica for the neuron, one for a net."""
    if flows is not None:
        return flows
    return cfg.replicas if _FLOWS[cfg.model].one_per_replica else 1


#: What a row-builder returns: per-flow metric arrays over the checkpoints, the checkpoints each flow reached, info.
_Rows = tuple[list[dict[str, np.ndarray]], np.ndarray, dict[str, Any]]


def _neuron_rows(
    cfg: RunConfig,
    taus: np.ndarray,
    n: int,
    h: float,
    second_moment: bool,
    method: str,
    rtol: float,
    m: int,
    scramblings: int,
    monitor: Monitor,
) -> _Rows:
    """The neuron's flow from each of the first ``n`` replicas' weights (``m``, ``scramblings``: unused, the nets' rule)."""
    V0 = np.stack([np.asarray(initial_weights(cfg, r)["V"], float) for r in range(n)])
    path = neuron_flow(
        V0,
        taus,
        loss=cfg.loss,
        p=flip_parameter(cfg),
        h=h,
        bias=cfg.bias,
        second_moment=second_moment,
        method=method,
        rtol=rtol,
        monitor=monitor,
    )
    rows = []
    for r in range(n):
        nrm = path.norm[r]
        row = {"norm_1": nrm, "log10_norm_1": np.log10(np.maximum(nrm, 1e-300))}
        if cfg.bias:
            row["bias_norm_1"] = np.sqrt(np.maximum(path.b2[r], 0.0))
        if cfg.errors:
            row["error_test"] = path.error[r]
        rows.append(row)
    closure = "order parameters (overlap a, off-target energy q, mean bias b, Var b); exact one-step expectations"
    info = {"closure": closure, "method": method, "rtol": rtol, "nfev": path.nfev, "quadrature_error": path.quadrature_error}
    return rows, path.reached, info


def _net_rows(
    cfg: RunConfig,
    taus: np.ndarray,
    n: int,
    h: float,
    second_moment: bool,
    method: str,
    rtol: float,
    m: int,
    scramblings: int,
    monitor: Monitor,
) -> _Rows:
    assert cfg.d is not None
    fields = [
        TwoLayerField(cfg.d, cfg.bias, cfg.loss, flip_parameter(cfg), m=m, seed=cfg.seed * 1000 + s) for s in range(scramblings)
    ]
    rows, se_max, nfev = [], dict.fromkeys(_NET_METRICS, 0.0), 0
    reached = np.zeros(n, np.int64)
    T = len(taus)
    compared = False  # some checkpoint passed by every scrambling (not so if stopped in the first)
    for r in range(n):
        w = initial_weights(cfg, r)
        M0, V0 = np.asarray(w["M"], float), np.asarray(w["V"], float)
        paths = []
        for f in fields:
            if monitor.signum:
                break
            paths.append(
                twolayer_flow(f, M0, V0, taus, h=h, second_moment=second_moment, method=method, rtol=rtol, monitor=monitor)
            )
        nfev += sum(p.nfev for p in paths)
        # Checkpoint j of scrambling i is passed when j < len(path_i.tau) (all of them unless stopped).
        passed = np.arange(T)[None, :] < np.array([len(p.tau) for p in paths], dtype=np.int64).reshape(-1, 1)
        count = passed.sum(axis=0)
        reached[r] = int(np.sum(count > 0))

        def stacked(k: str, paths: list[Any] = paths) -> np.ndarray:
            out = np.full((len(paths), T), np.nan)
            for i, p in enumerate(paths):
                out[i, : len(p.tau)] = getattr(p, k)
            return out

        mean = {k: np.where(passed, stacked(k), 0.0).sum(axis=0) / np.maximum(count, 1) for k in _NET_METRICS}
        every = count == scramblings  # checkpoints every scrambling passed
        if scramblings > 1 and every.any():
            compared = True
            for k in _NET_METRICS:
                se = np.std(stacked(k)[:, every], axis=0, ddof=1) / math.sqrt(scramblings)
                if np.isfinite(se).any():
                    se_max[k] = max(se_max[k], float(np.nanmax(se)))
        row = {
            "log10_norm_1": mean["log10_norm_1"],
            "log10_norm_2": mean["log10_norm_2"],
            "norm_1": np.power(10.0, mean["log10_norm_1"]),
            "norm_2": np.power(10.0, mean["log10_norm_2"]),
            "active_mean": mean["active_mean"],
        }
        if cfg.bias:
            row["bias_norm_1"], row["bias_norm_2"] = mean["bias_norm_1"], mean["bias_norm_2"]
        if cfg.errors:
            row["error_test"] = mean["error"]
        rows.append(row)
    closure = (
        "mean weights; each hidden row's noise along its direction (exact E|W_i|^2); a linear-noise variance per "
        "output weight, damped by E[e' ReLU_i^2], entering the row's drift as eta_i E[e' ReLU_i 1_i x]"
    )
    info = {
        "closure": closure,
        "method": method,
        "rtol": rtol,
        "nfev": nfev,
        "qmc_points": 2**m,
        "scramblings": scramblings,
        "qmc_se": {k: (v if scramblings > 1 and compared else math.nan) for k, v in se_max.items()},
    }
    return rows, reached, info


def _table(cfg: RunConfig, steps: np.ndarray, rows: list[dict[str, np.ndarray]], reached: np.ndarray) -> pd.DataFrame:
    """The run's columns (null where the flow gives nothing) and ``source``; flow r's first ``reached[r]`` checkpoints."""
    names = metric_names(cfg)
    out = np.full((len(rows), len(steps), len(names)), np.nan)
    for r, row in enumerate(rows):
        for j, name in enumerate(names):
            if name in row:
                out[r, :, j] = row[name]
    df = frame_from_arrays(cfg, steps, out)
    df["source"] = SOURCE
    if np.any(reached < len(steps)):  # stopped: only what was integrated (frame_from_arrays is replica-major)
        keep = (np.arange(len(steps))[None, :] < reached[:, None]).ravel()
        df = df[keep].reset_index(drop=True)
    return df


@dataclass(frozen=True)
class _Flow:
    """The mean field's form for one model: its table's rows, its integrator, and how it is run by default.

    ``scrambled``: its expectations are taken over a quasi-Monte Carlo rule, one integration per
    scrambling (the net); otherwise in closed form or by quadrature (the neuron), smooth in the state.
    """

    rows: Callable[..., _Rows]
    method: str
    rtol: float
    one_per_replica: bool
    scrambled: bool


#: The models the mean field has a flow for.
_FLOWS: dict[str, _Flow] = {
    "neuron": _Flow(_neuron_rows, "Radau", 1e-8, one_per_replica=True, scrambled=False),
    "twolayer": _Flow(_net_rows, "RK45", 1e-5, one_per_replica=False, scrambled=True),
}
