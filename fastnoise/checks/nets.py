"""Two-layer nets under pure noise (Figs. 2 and 3): without bias the norms decay; with bias the neurons die."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..engine import run
from ..io import concat_results
from . import plots
from .result import CheckResult

__all__ = ["check_bias", "check_nobias"]


def _nobias_sizes(mode: str) -> tuple[int, int]:
    """(steps, replicas) of the no-bias check."""
    return (200_000, 4) if mode == "quick" else (2_000_000, 8)


def _measure_nobias(mode: str, seed: int) -> dict[str, pd.DataFrame]:
    """One run table per loss."""
    steps, R = _nobias_sizes(mode)
    frames = {}
    for loss in ("hinge", "logistic"):
        cfg: dict[str, Any] = dict(
            model="twolayer", loss=loss, width=100, d=30, lr=1 / 30, p=1.0, steps=steps, records=60, replicas=R, seed=seed
        )
        frames[loss] = run(**cfg).table
    return frames


def _judge_nobias(frames: dict[str, pd.DataFrame], mode: str) -> CheckResult:
    """Per loss: each layer's norm at least halved (worst replica), no dead neuron."""
    res = CheckResult("nobias", "Two-layer, no bias, pure noise: norms decay, no neuron dies (Fig. 2)")
    steps, R = _nobias_sizes(mode)
    for loss, df in frames.items():
        first, last = df[df.step == 0], df[df.step == steps]
        for col, name in (("log10_norm_1", "first layer"), ("log10_norm_2", "output layer")):
            drop = float((last[col].to_numpy() - first[col].to_numpy()).max())
            res.add(
                f"{loss}, width 100, d 30, h 1/d, {steps:.0e} steps, {R} replicas",
                f"{name} norm decays",
                f"log10(end/start) = {drop:+.3g} (worst replica)",
                "<= log10(1/2) = -0.301",
                drop <= -math.log10(2),
            )
        dead = int(df.dead.max())
        res.add(f"{loss}: dead neurons on 1000 probe inputs", "0 at every checkpoint", f"max {dead}", "0", dead == 0)
    res.data = concat_results(list(frames.values()), setting=list(frames))
    return res


def check_nobias(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Fig. 2: a two-layer net without bias under pure noise decays, both layers, both losses.

    Prediction: each layer's median norm at the end is at most half its initial value, and no
    neuron dies on the probe set at any checkpoint (a no-bias unit fires on x or on -x).

    Parameters
    ----------
    mode : {"quick", "full"}
        2e5 steps and 4 replicas, or 2e6 steps and 8 replicas, per loss.
    seed : int
        Seed of the runs.

    Returns
    -------
    CheckResult
        Per loss, a decay row per layer and a dead-neuron row; ``plot`` draws ``nobias.png``.
    """
    frames = _measure_nobias(mode, seed)
    res = _judge_nobias(frames, mode)
    res.plot = lambda folder: plots.plot_norms(frames, folder, "nobias", "two-layer, no bias, pure noise (Fig. 2)")
    return res


def _bias_settings(mode: str) -> tuple[int, list[tuple[str, dict[str, Any], int, bool]]]:
    """Replicas and the settings of the bias check: (name, parameters, steps, active units fall to 0)."""
    quick = mode == "quick"
    settings = [
        ("slides, hinge", dict(width=100, lr=1 / 30, loss="hinge"), 200_000 if quick else 2_000_000, True),
        ("slides, cross-entropy", dict(width=100, lr=1 / 30, loss="logistic"), 200_000 if quick else 2_000_000, True),
        (
            "paper, cross-entropy, h=1/900",
            dict(width=120, lr=1 / 900, loss="logistic"),
            2_000_000 if quick else 50_000_000,
            False,
        ),
    ]
    return (4 if quick else 8), settings


def _measure_bias(mode: str, seed: int) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """Per setting: the run table, and each replica's mean hidden bias at the end."""
    R, settings = _bias_settings(mode)
    frames, biases = {}, {}
    for name, params, steps, _ in settings:
        r = run(model="twolayer", bias=True, d=30, p=1.0, steps=steps, records=60, replicas=R, seed=seed, **params)
        frames[name] = r.table
        biases[name] = np.array([np.asarray(w["M"])[:, -1].mean() for w in r.weights])
    return frames, biases


def _judge_bias(frames: dict[str, pd.DataFrame], biases: dict[str, np.ndarray], mode: str) -> CheckResult:
    """Per setting: active neurons fall, biases end negative, the first-layer norm (reported)."""
    res = CheckResult("bias", "Two-layer with bias, pure noise: dying ReLUs (Fig. 3)")
    R, settings = _bias_settings(mode)
    for name, _, steps, to_zero in settings:
        df, bias = frames[name], biases[name]
        start = df[df.step == 0].active_mean.to_numpy()
        end = df[df.step == steps].active_mean.to_numpy()
        if to_zero:
            ratio = float(np.max(end / start))
            res.add(
                f"{name}, {steps:.0e} steps, {R} replicas",
                "active neurons fall toward 0",
                f"end / start = {ratio:.3g} (worst replica; {start.mean():.1f} -> {end.mean():.2f})",
                "<= 0.05",
                ratio <= 0.05,
            )
        else:
            fall = float(np.mean(start - end))
            se = float(np.std(start - end, ddof=1) / math.sqrt(R))
            res.add(
                f"{name}, {steps:.0e} steps, {R} replicas",
                "active neurons fall",
                f"{start.mean():.1f} -> {end.mean():.1f} (fall {fall:.2f} +- {se:.2f})",
                "fall > 4 s.e.",
                fall > 4 * se,
            )
        res.add(
            f"{name}: mean hidden bias at the end",
            "negative",
            f"{bias.mean():+.3g} (max over replicas {bias.max():+.3g})",
            "every replica < 0",
            bool((bias < 0).all()),
        )
        n1 = df.groupby("step").norm_1.median()
        res.add(
            f"{name}: first-layer norm",
            "weights do not vanish (the net dies through its biases)",
            f"{n1.iloc[0]:.1f} -> {n1.iloc[-1]:.1f}",
            "reported",
            None,
        )
    res.data = concat_results(list(frames.values()), setting=list(frames))
    return res


def check_bias(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Fig. 3: with bias, under pure noise, neurons die: active neurons fall and biases drift negative.

    The slides' setting (d = 30, h = 1/d, width 100, hinge and cross-entropy): the typical number of
    active neurons falls to at most 5% of its start, and the mean hidden bias ends negative. The
    paper's setting (width 120, cross-entropy, h = 1/900, U[-sqrt 3, sqrt 3]), at the length this
    mode allows: active neurons fall by more than 4 standard errors over replicas, biases negative.

    Parameters
    ----------
    mode : {"quick", "full"}
        Run lengths (see ``_bias_settings``) and replicas (4 or 8).
    seed : int
        Seed of the runs.

    Returns
    -------
    CheckResult
        Per setting: active neurons, final biases, first-layer norm; ``plot`` draws ``bias.png``.
    """
    frames, biases = _measure_bias(mode, seed)
    res = _judge_bias(frames, biases, mode)
    res.plot = lambda folder: plots.plot_norms(frames, folder, "bias", "two-layer with bias, pure noise (Fig. 3)")
    return res
