"""The gradient-flow corollary: over long runs each layer's norm rises no more than the O(h^2) term allows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine import run
from . import plots
from .result import CheckResult

__all__ = ["check_flow"]

_D = 30
#: (name, run parameters, homogeneous): the corollary is asserted for the homogeneous nets only.
_SETTINGS: list[tuple[str, dict[str, Any], bool]] = [
    ("neuron, pure noise", dict(model="neuron", lr=1 / _D**2, p=1.0, data="gaussian"), True),
    ("neuron, cube p=0.5", dict(model="neuron", lr=1 / _D**2, p=0.5, data="cube"), True),
    ("two-layer width 50, pure noise", dict(model="twolayer", width=50, lr=0.1 / _D, p=1.0, data="gaussian"), True),
    ("two-layer width 50, cube p=0.5", dict(model="twolayer", width=50, lr=0.1 / _D, p=0.5, data="cube"), True),
    (
        "two-layer width 50 with bias, pure noise",
        dict(model="twolayer", width=50, bias=True, lr=0.1 / _D, p=1.0, data="gaussian"),
        False,
    ),
]


def _intervals(name: str, params: dict[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """Per replica, layer and interval between checkpoints: the rise of |W|^2 and its allowance."""
    h = params["lr"]
    ex2 = _D + (1 if params.get("bias") else 0)  # E|x|^2 (cube: d/3 < d, so d bounds it)
    rows = []
    for r, g in df.groupby("replica"):
        n1 = g.norm_1.to_numpy()
        n2 = g.norm_2.to_numpy()
        upd = g.updates.to_numpy()[1:].astype(float)
        if params["model"] == "neuron":
            layers = [("norm_1", n1, h * h * upd * ex2)]
        else:
            big1 = np.maximum(n1[:-1], n1[1:]) ** 2
            big2 = np.maximum(n2[:-1], n2[1:]) ** 2
            layers = [("norm_1", n1, h * h * upd * big2 / 2 * ex2), ("norm_2", n2, h * h * upd * big1 / 2 * ex2)]
        for col, n, expect in layers:
            rise = np.diff(n**2)
            for i in range(len(rise)):
                rows.append(
                    dict(
                        setting=name,
                        replica=r,
                        layer=col,
                        step=int(g.step.iloc[i + 1]),
                        rise=rise[i],
                        allowance=3 * expect[i],
                        updates=upd[i],
                    )
                )
    return pd.DataFrame(rows)


def _measure(mode: str, seed: int) -> pd.DataFrame:
    """Run every setting and tabulate its intervals."""
    steps = 200_000 if mode == "quick" else 2_000_000
    R = 4 if mode == "quick" else 8
    frames = []
    for name, params, _ in _SETTINGS:
        cfg: dict[str, Any] = dict(
            d=_D, loss="hinge", steps=steps, records=201, record_spacing="linear", replicas=R, seed=seed, **params
        )
        df = run(**cfg).table.sort_values(["replica", "step"])
        frames.append(_intervals(name, params, df))
    return pd.concat(frames, ignore_index=True)


def _judge(data: pd.DataFrame) -> CheckResult:
    """One row per setting and layer: the intervals whose rise exceeds the allowance."""
    res = CheckResult("flow", "Gradient flow: norms non-increasing up to O(h^2) (Corollary)")
    for name, params, homogeneous in _SETTINGS:
        t = data[data.setting == name]
        viol = t[t.rise > t.allowance]
        for col, tc in t.groupby("layer"):
            v = viol[viol.layer == col]
            worst = (tc.rise / tc.allowance).max()
            pred = "non-increasing up to 3x the expected h^2 term" if homogeneous else "no guarantee (not homogeneous)"
            res.add(
                f"{name}, {col}, h = {params['lr']:.3g}, {len(tc)} intervals",
                pred,
                f"{len(v)} intervals above; max rise / allowance = {worst:.3g}",
                "0 intervals above" if homogeneous else "reported",
                len(v) == 0 if homogeneous else None,
            )
    res.data = data
    return res


def check_flow(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Corollary: with small h each layer's norm is non-increasing up to the O(h^2) term.

    For the hinge rule the first-order term 2hy<W, dN/dW> = 2hyN(x) is <= 0 on every updating
    step of a homogeneous net, so over an interval between checkpoints the squared norm can grow
    only by the second-order sum h^2 * sum |dN/dW|^2. We bound that sum by 3 times its expected
    value (E|x|^2 = d; E sum_fires v_i^2 = |V|^2/2; E|ReLU(Mx)|^2 = |M|^2/2), taking the larger
    norm of the interval's two ends; with >= 100 updates per interval the sum concentrates well
    inside that factor. Networks with bias are run the same way and reported.

    Parameters
    ----------
    mode : {"quick", "full"}
        2e5 steps and 4 replicas, or 2e6 steps and 8 replicas, per setting.
    seed : int
        Root seed of the runs.

    Returns
    -------
    CheckResult
        One row per setting and layer; ``plot`` draws ``flow.png``.
    """
    data = _measure(mode, seed)
    res = _judge(data)
    res.plot = lambda folder: plots.plot_flow(data, folder)
    return res
