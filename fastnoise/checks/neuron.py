"""Theorem 2 (a single neuron under pure noise): the plateau and the time to reach it, hinge and cross-entropy."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis, theory
from ..engine import run
from . import plots
from .result import CheckResult, _slope_row

__all__ = ["check_hinge_neuron", "check_logistic_neuron"]


def _neuron_grid(mode: str, loss: str) -> list[dict[str, Any]]:
    """The grid points (h, d, |V0|), each on one axis; the hinge adds the d and |V0| axes."""
    if mode == "quick":
        hs, ds, v0s = [1e-3, 3e-3, 1e-2, 3e-2], [10, 30, 100], [5.0, 10.0, 20.0, 40.0]
    else:
        hs, ds, v0s = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2], [10, 20, 30, 60, 100], [5.0, 10.0, 20.0, 40.0, 80.0]
    grid = [dict(axis="h", h=h, d=30, v0=10.0) for h in hs]
    if loss == "hinge":
        grid += [dict(axis="d", h=3e-3, d=d, v0=10.0) for d in ds]
        grid += [dict(axis="v0", h=3e-3, d=30, v0=v0) for v0 in v0s]
    return grid


def _neuron_runs(mode: str, loss: str, seed: int) -> pd.DataFrame:
    """Plateau and time to reach it, per replica, for each point of the grid."""
    R = 16 if mode == "quick" else 64
    out = []
    for i, gp in enumerate(_neuron_grid(mode, loss)):
        t_pred = theory.neuron_hinge_time(gp["v0"], gp["h"])
        steps = int(3 * t_pred) + 2000
        cfg: dict[str, Any] = dict(
            model="neuron",
            loss=loss,
            d=int(gp["d"]),
            lr=gp["h"],
            p=1.0,
            init_norm=gp["v0"],
            steps=steps,
            records=400,
            record_spacing="linear",
            replicas=R,
            seed=seed + i,
        )
        df = run(**cfg).table
        plateau = analysis.plateau_level(df, "norm_1")
        t = analysis.time_to_reach(df, "norm_1", 2 * plateau)
        for r in plateau.index:
            out.append(dict(gp, replica=r, plateau=plateau[r], time=t[r], steps=steps))
    return pd.DataFrame(out)


def _judge_hinge(data: pd.DataFrame) -> CheckResult:
    """The four slopes of Theorem 2(a) and the fitted constants."""
    res = CheckResult("hinge-neuron", "Single neuron, hinge, pure noise (Theorem 2a)")
    _slope_row(res, data, "h", "plateau", theory.HINGE_PLATEAU_EXPONENT_H, "plateau")
    _slope_row(res, data, "d", "plateau", theory.HINGE_PLATEAU_EXPONENT_D, "plateau")
    _slope_row(res, data, "h", "time", theory.HINGE_TIME_EXPONENT_H, "time to plateau")
    _slope_row(res, data, "v0", "time", theory.HINGE_TIME_EXPONENT_V0, "time to plateau")
    c_p = float((data.plateau / (data.d * data.h)).median())
    c_t = float((data.time * data.h / data.v0).median())
    res.add(
        "plateau / (d h), all grid points",
        f"O(1); mean-field sqrt(pi/8) = {math.sqrt(math.pi / 8):.3f}",
        f"{c_p:.3f} (median)",
        "reported",
        None,
    )
    res.add(
        "time * h / |V0|, all grid points",
        f"O(1/m) = O(1); mean-field sqrt(2 pi) = {math.sqrt(2 * math.pi):.3f} to reach 0",
        f"{c_t:.3f} (median, to reach 2x plateau)",
        "reported",
        None,
    )
    res.data = data
    return res


def _judge_logistic(data: pd.DataFrame) -> CheckResult:
    """The plateau slope of Theorem 2(b) and the time against its bound (adds the ``bound`` and ``ratio`` columns)."""
    res = CheckResult("logistic-neuron", "Single neuron, cross-entropy, pure noise (Theorem 2b)")
    slope = _slope_row(res, data, "h", "plateau", theory.LOGISTIC_PLATEAU_EXPONENT_H, "plateau")
    res.add("plateau slope vs hinge's", "distinguishable from 1.0", f"1.0 - slope = {1 - slope:.3f}", ">= 0.3", 1 - slope >= 0.3)
    data = data.copy()
    data["bound"] = [theory.neuron_time_bound(v, int(d), h, "logistic") for v, d, h in zip(data.v0, data.d, data.h, strict=True)]
    data["ratio"] = data.time / data.bound
    t_slope, t_sem, _ = analysis.replica_slopes(data, "h", "time")
    res.add(
        "time to plateau vs h",
        "no steeper than the bound's h^(-3/2)",
        f"slope {t_slope:+.3f} +- {t_sem:.3f}",
        ">= -1.5 - 0.1",
        t_slope >= -1.6,
    )
    by_h = data.groupby("h").ratio.median()
    res.add(
        "time / bound |V0|/(m d h^1.5), m = 1/4",
        "bounded as h -> 0",
        ", ".join(f"h={h:g}: {v:.2f}" for h, v in by_h.items()),
        "reported",
        None,
    )
    c = float((data.plateau / np.sqrt(data.h * data.d / 2)).median())
    res.add("plateau / sqrt(h d / 2)", "mean-field 1 (our derivation)", f"{c:.3f} (median)", "reported", None)
    res.data = data
    return res


def check_hinge_neuron(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 2(a): hinge neuron under pure noise, x ~ N(0, I_d), no bias.

    Plateau ~ d*h and time to reach it ~ |V0|/h: the four log-log slopes within +-0.1 of the
    theorem's exponents (replicas give the error bars). The plateau is the mean norm over the last
    third of a run three times the mean-field descent time; the time to reach it is the first
    checkpoint at or below twice that level. Fitted constants are reported beside our mean-field
    values sqrt(pi/8) and sqrt(2*pi) (see :mod:`fastnoise.theory`).

    Parameters
    ----------
    mode : {"quick", "full"}
        Grid size and replicas (16 or 64).
    seed : int
        Root seed; grid point ``i`` runs with ``seed + i``.

    Returns
    -------
    CheckResult
        Four slope rows and two reported constants; ``plot`` draws ``hinge-neuron.png``.
    """
    data = _neuron_runs(mode, "hinge", seed)
    res = _judge_hinge(data)
    res.plot = lambda folder: plots.plot_neuron(data, folder, "hinge-neuron", "hinge")
    return res


def check_logistic_neuron(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 2(b): cross-entropy neuron under pure noise: plateau ~ sqrt(h), time within the bound.

    The plateau's slope in h must be 0.5 +- 0.1 and, to be told from the hinge's 1.0, at least
    0.3 below it. The time to reach the plateau is compared with the theorem's bound
    |V0| / (m d h^(3/2)): as h -> 0 the ratio time / bound must not grow, i.e. the time's slope in
    h is not steeper than -3/2 (within 0.1).

    Parameters
    ----------
    mode : {"quick", "full"}
        Grid size and replicas (16 or 64).
    seed : int
        Root seed; grid point ``i`` runs with ``seed + i``.

    Returns
    -------
    CheckResult
        The plateau slope, its distance from the hinge's, the time against the bound; ``plot``
        draws ``logistic-neuron.png``.
    """
    res = _judge_logistic(_neuron_runs(mode, "logistic", seed))
    data = res.data
    res.plot = lambda folder: plots.plot_neuron(data, folder, "logistic-neuron", "logistic")
    return res
