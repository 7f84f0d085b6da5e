"""Theorem 1 (implicit L2 regularisation): one engine step on a misclassified sample, against the expansion."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import theory
from ..config import RunConfig
from ..probes import apply_step
from . import plots
from .result import EPS, CheckResult

__all__ = ["check_l2"]

#: Tolerance of the per-step norm change against the expansion, as a fraction of the squared norms.
TOL = 64 * EPS
_ARCHS = ["neuron", "twolayer"] + [f"mlp{depth}-{act}" for act in ("relu", "leaky") for depth in (2, 3, 4)]


def _step_changes(h: float, cfg: RunConfig, w: dict[str, Any], x: np.ndarray, y: float, keys: list[str]) -> list[float]:
    """The engine's step at ``h``: the change of each listed layer's squared norm."""
    after, _ = apply_step(cfg.replace(lr=h), w, x, y)
    return [float(np.sum(after[key] ** 2) - np.sum(w[key] ** 2)) for key in keys]


def _neuron_prediction(h: float, V: np.ndarray, x: np.ndarray, y: float) -> list[float]:
    return [theory.neuron_expansion(V, x, y, h)]


def _twolayer_prediction(h: float, M: np.ndarray, V: np.ndarray, x: np.ndarray, y: float) -> list[float]:
    return list(theory.twolayer_expansion(M, V, x, y, h))


def _deep_prediction(h: float, y: float, n: float, grads_sq: list[float]) -> list[float]:
    return [theory.step_norm_change(h, y, n, g) for g in grads_sq]


#: One drawn case: y, N(x), each layer's |dN/dW|^2, the layers, the predicted and measured changes as functions of h.
_Case = tuple[float, float, list[float], list[np.ndarray], Callable[[float], list[float]], Callable[[float], list[float]]]


def _case(arch: str, case: int, rng: np.random.Generator, recs: list[dict[str, Any]]) -> _Case | None:
    """Draw one random case of ``arch`` (None if N(x) = 0); a deep net's Euler identity goes to ``recs``."""
    d = int(rng.integers(2, 13))
    k = int(rng.integers(2, 21))
    x = rng.standard_normal(d)
    predicted: Callable[[float], list[float]]
    if arch in ("neuron", "twolayer"):
        cfg = RunConfig(model=arch, width=k if arch == "twolayer" else 2, d=d, loss="hinge", lr=1.0, replicas=1)
        w: dict[str, Any]
        if arch == "neuron":
            w = {"V": rng.standard_normal(d)}
            n = float(w["V"] @ x)
            layers = [w["V"]]
        else:
            w = {"M": rng.standard_normal((k, d)), "V": rng.standard_normal(k), "b2": 0.0}
            n = float(theory.relu(w["M"] @ x) @ w["V"])
            layers = [w["M"], w["V"]]
        if n == 0.0:
            return None
        y = -math.copysign(1.0, n)
        if arch == "neuron":
            grads_sq = [float(x @ x)]
            predicted = functools.partial(_neuron_prediction, V=w["V"], x=x, y=y)
        else:
            pre = w["M"] @ x
            grads_sq = [float(np.sum(w["V"][pre >= 0] ** 2) * (x @ x)), float(theory.relu(pre) @ theory.relu(pre))]
            predicted = functools.partial(_twolayer_prediction, M=w["M"], V=w["V"], x=x, y=y)
        keys = ["V"] if arch == "neuron" else ["M", "V"]
        return y, n, grads_sq, layers, predicted, functools.partial(_step_changes, cfg=cfg, w=w, x=x, y=y, keys=keys)
    depth = int(arch[3])
    leaky = arch.endswith("leaky")
    alpha = 0.1 if leaky else 0.0
    widths = [d] + [int(rng.integers(2, 13)) for _ in range(depth - 1)] + [1]
    Ws = [rng.standard_normal((widths[i + 1], widths[i])) / math.sqrt(widths[i]) for i in range(depth)]
    Ws[-1] = Ws[-1].reshape(-1)
    n, grads = theory.deep_gradients(Ws, x, alpha)
    if n == 0.0:
        return None
    y = -math.copysign(1.0, n)
    grads_sq = [float(np.sum(g**2)) for g in grads]
    inner = [float(np.sum(W * g)) for W, g in zip(Ws, grads, strict=True)]
    recs.append(dict(arch=arch, case=case, kind="euler", err=max(abs(i - n) for i in inner) / (abs(n) + 1e-300)))
    mcfg = RunConfig(
        model="mlp",
        widths=tuple(widths[1:-1]),
        activation="leaky" if leaky else "relu",
        leak=alpha if leaky else None,
        d=d,
        loss="hinge",
        lr=1.0,
        replicas=1,
    )
    wd: dict[str, Any] = {f"W{l + 1}": W.reshape(1, -1) if l == depth - 1 else W for l, W in enumerate(Ws)}
    predicted = functools.partial(_deep_prediction, y=y, n=n, grads_sq=grads_sq)
    return y, n, grads_sq, Ws, predicted, functools.partial(_step_changes, cfg=mcfg, w=wd, x=x, y=y, keys=list(wd))


def _measure(mode: str, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """The steps of every architecture below and above h0, and the output-bias counterexample."""
    rng = np.random.default_rng(seed)
    n_cases = 200 if mode == "quick" else 2000
    recs: list[dict[str, Any]] = []
    for arch in _ARCHS:
        for case in range(n_cases):
            drawn = _case(arch, case, rng, recs)
            if drawn is None:
                continue
            y, n, grads_sq, layers, predicted, measured = drawn
            h0 = min(theory.critical_lr(y, n, g) for g in grads_sq)
            scale = sum(float(np.sum(W**2)) for W in layers)
            for u in (1e-3, 0.1, 0.5, 0.9):
                h = u * h0
                meas, pred = measured(h), predicted(h)
                resolvable = [abs(p) > 1e3 * EPS * scale for p in pred]
                recs.append(
                    dict(
                        arch=arch,
                        case=case,
                        kind="below",
                        u=u,
                        err=max(abs(a - b) for a, b in zip(meas, pred, strict=True)) / scale,
                        all_decrease=all(m < 0 for m, r in zip(meas, resolvable, strict=True) if r),
                        resolvable=all(resolvable),
                        pred_decrease=all(p < 0 for p in pred),
                    )
                )
            h = 2.0 * h0
            meas, pred = measured(h), predicted(h)
            recs.append(
                dict(
                    arch=arch,
                    case=case,
                    kind="above",
                    u=2.0,
                    err=max(abs(a - b) for a, b in zip(meas, pred, strict=True)) / scale,
                    some_increase=any(m > 0 for m in meas),
                )
            )
    # Where it stops holding: an output bias B2 makes the hidden layer's first-order term
    # 2hy(N(x) - B2), positive on this misclassified sample.
    d, k = 4, 3
    M = np.abs(rng.standard_normal((k, d + 1)))
    x = np.abs(rng.standard_normal(d)) + 0.1
    V = np.abs(rng.standard_normal(k))
    a = float(theory.relu(M @ np.append(x, 1.0)) @ V)
    b2 = -a - 1.0  # N(x) = a + b2 = -1 < 0 with y = +1: misclassified
    h = 1e-4
    cfg = RunConfig(model="twolayer", bias=True, width=k, d=d, loss="hinge", lr=h, replicas=1)
    after, n_out = apply_step(cfg, {"M": M, "V": V, "b2": b2}, x, 1.0)
    counter = {
        "n_out": n_out,
        "first": theory.hidden_first_order_with_output_bias(n_out, b2, 1.0, h),
        "dM": float(np.sum(after["M"] ** 2) - np.sum(M**2)),
    }
    return pd.DataFrame(recs), counter


def _judge(df: pd.DataFrame, counter: dict[str, float]) -> CheckResult:
    """The rows of Theorem 1 from the measured steps and the counterexample."""
    res = CheckResult("l2", "Implicit L2 regularisation (Theorem 1)")
    for arch, g in df.groupby("arch", sort=False):
        errs = g.err[g.kind != "euler"]
        via = "engine step"
        res.add(
            f"{arch}, {via}, {g.case.nunique()} cases",
            "change of each layer's |W|^2 = 2hy<W,dN/dW> + h^2|dN/dW|^2",
            f"max error {errs.max():.2g} x |W|^2",
            f"<= {TOL:.2g} (64 ulp)",
            errs.max() <= TOL,
        )
        if (g.kind == "euler").any():
            e = g.err[g.kind == "euler"].max()
            res.add(
                f"{arch}, Euler identity",
                "<W_l, dN/dW_l> = N(x) for every layer (homogeneity)",
                f"max rel. error {e:.2g}",
                "<= 1e-12",
                e <= 1e-12,
            )
        below = g[g.kind == "below"]
        ok = below[below.resolvable]
        res.add(
            f"{arch}, h = u*h0, u in {{1e-3, .1, .5, .9}}",
            "every layer's norm strictly decreases",
            f"{int(ok.all_decrease.sum())}/{len(ok)} steps ({len(below) - len(ok)} below rounding, skipped)",
            "all",
            bool(ok.all_decrease.all()),
        )
        above = g[g.kind == "above"]
        res.add(
            f"{arch}, h = 2*h0",
            "some layer's norm increases",
            f"{int(above.some_increase.sum())}/{len(above)} steps",
            "all",
            bool(above.some_increase.all()),
        )
    n_out, first, dM = counter["n_out"], counter["first"], counter["dM"]
    res.add(
        "two-layer with output bias B2, y*N(x) = -1, h = 1e-4",
        "hidden first-order term 2hy(N - B2) > 0: the norm can grow",
        f"N(x) = {n_out:.3g}, 2hy(N - B2) = {first:.3g}, change of |M|^2 = {dM:+.3g}",
        "change > 0 (counterexample shown)",
        n_out < 0 and dM > 0,
    )
    res.data = df
    return res


def example_curve(seed: int) -> dict[str, Any]:
    """One misclassified two-layer sample (width 6, d = 5): norm changes against h / h0, engine and expansion.

    Parameters
    ----------
    seed : int
        The check's seed; the sample is drawn from ``seed + 1``.

    Returns
    -------
    dict
        ``u`` (h / h0, 60 values in [0.02, 2.5]), ``predicted`` and ``measured``: arrays of shape
        (60, 2), the changes of |M|^2 and |V|^2 by the expansion and by the engine's step.
    """
    us = np.linspace(0.02, 2.5, 60)
    rng2 = np.random.default_rng(seed + 1)
    Mx = rng2.standard_normal((6, 5))
    Vx = rng2.standard_normal(6)
    xx = rng2.standard_normal(5)
    nn = float(theory.relu(Mx @ xx) @ Vx)
    yy = -math.copysign(1.0, nn)
    pre = Mx @ xx
    h0 = min(
        theory.critical_lr(yy, nn, float(np.sum(Vx[pre >= 0] ** 2) * (xx @ xx))),
        theory.critical_lr(yy, nn, float(theory.relu(pre) @ theory.relu(pre))),
    )
    c6 = RunConfig(model="twolayer", width=6, d=5, loss="hinge", lr=1.0, replicas=1)
    meas = []
    for u in us:
        after, _ = apply_step(c6.replace(lr=u * h0), {"M": Mx, "V": Vx, "b2": 0.0}, xx, yy)
        meas.append((np.sum(after["M"] ** 2) - np.sum(Mx**2), np.sum(after["V"] ** 2) - np.sum(Vx**2)))
    pred = np.array([theory.twolayer_expansion(Mx, Vx, xx, yy, u * h0) for u in us])
    return {"u": us, "predicted": pred, "measured": np.array(meas)}


def _plot(folder: Path, df: pd.DataFrame, seed: int) -> Path:
    return plots.plot_l2(df, example_curve(seed), folder, TOL)


def check_l2(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 1: on a misclassified sample every layer's norm decreases for 0 < h < h0.

    Every architecture goes through the engine's compiled step (``apply_step``): single neurons,
    two-layer nets, and deep nets (``model="mlp"``) of 2, 3 and 4 weight layers with ReLU and
    leaky-ReLU units, since the theorem is for any architecture. Predictions: the slides'
    expansion with the gradients of :func:`fastnoise.theory.deep_gradients`, and h0 from it.

    Parameters
    ----------
    mode : {"quick", "full"}
        200 or 2000 random cases per architecture.
    seed : int
        Seed of the random cases.

    Returns
    -------
    CheckResult
        Rows per architecture (expansion, Euler identity, below and above h0) and the output-bias
        counterexample; ``plot`` draws ``l2.png``.
    """
    df, counter = _measure(mode, seed)
    res = _judge(df, counter)
    res.plot = functools.partial(_plot, df=df, seed=seed)
    return res
