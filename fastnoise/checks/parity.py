"""Sparse parities on the Boolean hypercube: a single neuron stays at chance, a two-layer net learns, later for larger d.

The target is chi_S(x) = x_1 x_2 ... x_k on uniform inputs x in {-1, +1}^d (``--data hypercube``),
without label noise. For k >= 2 the parity has no Fourier weight of degree <= 1
(:func:`fastnoise.theory.character_correlation`): E[y] = 0 and E[y x_j] = 0 for every bit. A
neuron's population hinge loss E[max(0, -y w.x)] is then minimised only at w = 0 (it is convex,
positively homogeneous, and positive at every w != 0, the samples not being linearly separable),
so SGD keeps the neuron's weights in the noise around 0 and its test error at 1/2, although a
halfspace could reach (1 - c_k)/2 (1/4 for k = 2 and 3; :func:`fastnoise.theory.threshold_parity_correlation`).
A two-layer ReLU net with biases learns the parity; SGD needs a number of steps growing with d
(d^(k-1) asymptotically, by the leap-complexity results of Abbe et al. 2023; reported, not asserted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import analysis, theory
from ..engine import run
from . import plots
from .result import CheckResult

__all__ = ["check_parity"]

#: The two-layer net of the check (the example of docs/simulates.md: learns a 3-parity at d = 30 in ~1e4 steps).
NET: dict[str, Any] = dict(model="twolayer", bias=True, width=100, lr=0.05, init="fanin", init_scale=1.0, loss="hinge")
#: Learned: test error at most this.
LEARNED = 0.05
#: The neuron is "at chance" when the 4-standard-error interval of its mean test error lies within 1/2 +- this.
CHANCE_MARGIN = 0.01
NEURON_D = 30


@dataclass(frozen=True)
class Sizes:
    """One mode's sizes: the neuron's (loss, k, h) settings and runs, the net's dimensions and replicas."""

    neuron: tuple[tuple[str, int, float], ...]
    neuron_runs: int
    neuron_steps: int
    neuron_test: int
    dims: tuple[int, ...]
    net_replicas: int
    net_steps: int
    net_records: int
    net_test: int
    k: int = 3


def sizes(mode: str) -> Sizes:
    """The check's sizes in ``mode`` ("quick" or "full")."""
    if mode == "quick":
        return Sizes(
            neuron=(("hinge", 2, 0.1), ("hinge", 3, 0.01), ("hinge", 3, 1.0)),
            neuron_runs=16,
            neuron_steps=30_000,
            neuron_test=4000,
            dims=(15, 30, 45),
            net_replicas=8,
            net_steps=40_000,
            net_records=60,
            net_test=1000,
        )
    settings = tuple((loss, k, h) for loss in ("hinge", "logistic") for k in (2, 3, 4) for h in (0.01, 0.1, 1.0))
    return Sizes(
        neuron=settings,
        neuron_runs=64,
        neuron_steps=100_000,
        neuron_test=4000,
        dims=(15, 30, 45, 60, 90),
        net_replicas=32,
        net_steps=250_000,
        net_records=100,
        net_test=1000,
    )


def _measure_neuron(sz: Sizes, seed: int) -> pd.DataFrame:
    """Per setting and run: the test error at each checkpoint after the start.

    Each run is its own seed (one replica): its test set and its weights are independent of the
    other runs', so the runs' mean errors are independent draws.
    """
    frames = []
    for i, (loss, k, h) in enumerate(sz.neuron):
        for r in range(sz.neuron_runs):
            df = run(
                model="neuron",
                loss=loss,
                bias=True,
                data="hypercube",
                target="parity",
                support=str(k),
                d=NEURON_D,
                lr=h,
                p=0.0,
                steps=sz.neuron_steps,
                records=11,
                record_spacing="linear",
                replicas=1,
                n_test=sz.neuron_test,
                seed=seed + 1000 * (i + 1) + r,
            ).table
            frames.append(_rows(df[df.step > 0], "neuron", loss, k, NEURON_D, h, r))
    return pd.concat(frames, ignore_index=True)


def _rows(table: pd.DataFrame, part: str, loss: str, k: int, d: int, h: float, run: int | None = None) -> pd.DataFrame:
    """A run table's test errors as the check's rows (``run``: the run's number, else its replicas')."""
    runs = table.replica.to_numpy() if run is None else run
    return pd.DataFrame(dict(part=part, loss=loss, k=k, d=d, h=h, run=runs, step=table.step, error_test=table.error_test))


def _measure_net(sz: Sizes, seed: int) -> pd.DataFrame:
    """Per d and replica: the two-layer net's test error at every (log-spaced) checkpoint."""
    frames = []
    for d in sz.dims:
        cfg: dict[str, Any] = dict(
            NET,
            data="hypercube",
            target="parity",
            support=str(sz.k),
            d=d,
            p=0.0,
            steps=sz.net_steps,
            records=sz.net_records,
            record_spacing="log",
            replicas=sz.net_replicas,
            n_test=sz.net_test,
            seed=seed,
        )
        frames.append(_rows(run(**cfg).table, "twolayer", "hinge", sz.k, d, float(NET["lr"])))
    return pd.concat(frames, ignore_index=True)


def first_hits(net: pd.DataFrame) -> pd.DataFrame:
    """Per d and replica: the first checkpoint with test error at most :data:`LEARNED` (inf if none)."""
    recs = []
    for (d, r), g in net.groupby(["d", "run"]):
        hit = g.sort_values("step").step[g.error_test <= LEARNED]
        recs.append(dict(d=d, run=r, time=float(hit.iloc[0]) if len(hit) else math.inf))
    return pd.DataFrame(recs)


def _judge_neuron(res: CheckResult, data: pd.DataFrame, sz: Sizes) -> None:
    """Per setting: the mean test error's 4-s.e. interval within 1/2 +- CHANCE_MARGIN."""
    for loss, k, h in sz.neuron:
        g = data[(data.loss == loss) & (data.k == k) & (data.h == h)]
        e = g.groupby("run").error_test.mean().to_numpy()  # one independent mean per run
        mean = float(e.mean())
        se = float(e.std(ddof=1) / math.sqrt(e.size))
        lo, hi = mean - 4 * se, mean + 4 * se
        best = 0.5 * (1 - theory.threshold_parity_correlation(k))
        res.add(
            f"neuron, {loss}, k={k}, d={NEURON_D}, h={h:g}, {sz.neuron_steps:.3g} steps, {e.size} runs x {sz.neuron_test} tests",
            f"test error 1/2 (the best halfspace: {best:g})",
            f"{mean:.4f} +- {se:.4f} (s.e. over runs; z = {(mean - 0.5) / se:+.1f})" if se > 0 else f"{mean:.4f} in every run",
            f"mean +- 4 s.e. within 1/2 +- {CHANCE_MARGIN}",
            0.5 - CHANCE_MARGIN <= lo and hi <= 0.5 + CHANCE_MARGIN,
        )


def _judge_net(res: CheckResult, net: pd.DataFrame, hits: pd.DataFrame, sz: Sizes) -> None:
    """Learned at d = 30 by the budget; median first-hit times increase with d, by > 1.5x over the range."""
    last = net[net.step == sz.net_steps]
    at30 = last[last.d == 30].error_test.to_numpy()
    t30 = hits[hits.d == 30].time
    res.add(
        f"two-layer, width 100, bias, hinge, k={sz.k}, d=30, h={NET['lr']}, {sz.net_steps:.3g} steps, {at30.size} replicas",
        f"learns: test error <= {LEARNED} by the budget",
        f"worst replica {at30.max():.3f} at the end; <= {LEARNED} from step {t30.median():.0f} (median), {t30.max():.0f} (last)",
        f"every replica <= {LEARNED}",
        bool((at30 <= LEARNED).all()),
    )
    med = hits.groupby("d").time.median()
    q1, q3 = (hits.groupby("d").time.quantile(q, interpolation="lower") for q in (0.25, 0.75))  # inf: not reached
    shown = ", ".join(f"d={d}: {med[d]:.0f} [{q1[d]:.0f}, {q3[d]:.0f}]" for d in med.index)
    m = med.to_numpy()
    finite = bool(np.isfinite(m).all())
    increasing = finite and bool(np.all(np.diff(m) > 0))
    res.add(
        f"two-layer, steps to test error <= {LEARNED}, d in {list(sz.dims)}, {sz.net_replicas} replicas each",
        "grows with d: medians strictly increasing",
        f"median [quartiles] {shown}",
        "strictly increasing, all finite",
        increasing,
    )
    ratio = float(m[-1] / m[0]) if finite else math.nan
    res.add(
        f"two-layer, median steps at d={sz.dims[-1]} over d={sz.dims[0]}",
        "> 1.5 (a time independent of d: 1, up to the replicas' spread of about +-20 %)",
        f"{ratio:.2f}",
        "> 1.5",
        ratio > 1.5,
    )
    reached = hits[np.isfinite(hits.time)]
    slope, _, se = analysis.loglog_fit(reached.d, reached.time)
    res.add(
        "two-layer, steps against d, log-log fit over every replica",
        f"d^{sz.k - 1} asymptotically (leap {sz.k}: d^(leap - 1))",
        f"exponent {slope:.2f} +- {se:.2f}",
        "reported",
        None,
    )


def check_parity(mode: str = "quick", seed: int = 0) -> CheckResult:
    """A k-sparse parity: a neuron cannot learn it, a width-100 two-layer net with biases can, in a time growing with d.

    Rows (see docs/checks.md):

    - **neuron** (hinge, with bias; full mode adds cross-entropy and k = 4), per (k, h), d = 30,
      no noise: the mean test error over independent runs (each its own seed, so its own test set
      and weights; each run's error averaged over its checkpoints after the start) is at chance:
      its interval mean +- 4 s.e. lies within 1/2 +- 0.01. Not exactly 1/2: SGD's noise lends the
      neuron a tiny correlation with the parity (measured over 400 runs: mean error 0.4995 to
      0.4997, 2.5 to 3.5 s.e. below 1/2), and a halfspace could reach 1/4; 0.01 is 1/25 of the way
      from chance to that best halfspace, so any learning fails the row, and so does a neuron
      trained on another target (a majority: error 3/4 on the parity).
    - **two-layer** (width 100, bias, h = 0.05, fanin init), k = 3, no noise: at d = 30 every
      replica's test error is at most 0.05 at the end of the budget; the median number of steps
      to reach it increases strictly with d, and by more than 1.5x from the smallest d to the
      largest (measured: 5.2x from d = 15 to 45, 16x to d = 90; a time independent of d would
      give 1, the quartiles spanning about +-20 %). The fitted exponent is reported against d^(k-1).

    Parameters
    ----------
    mode : {"quick", "full"}
        Sizes (:func:`sizes`): quick 3 neuron settings x 16 runs of 3e4 steps, the net at
        d = 15, 30, 45 with 8 replicas of 4e4 steps; full 18 neuron settings x 64 runs of 1e5
        steps, the net at d = 15 ... 90 with 32 replicas of 2.5e5 steps.
    seed : int
        Root seed of the runs.

    Returns
    -------
    CheckResult
        The rows above; ``plot`` draws ``parity.png``.
    """
    sz = sizes(mode)
    neuron = _measure_neuron(sz, seed)
    net = _measure_net(sz, seed)
    hits = first_hits(net)
    res = CheckResult("parity", "Sparse parity: a neuron stays at chance, a two-layer net learns, later for larger d")
    _judge_neuron(res, neuron, sz)
    _judge_net(res, net, hits, sz)
    res.data = pd.concat([neuron, net], ignore_index=True)
    res.plot = lambda folder: plots.plot_parity(res.data, hits, folder, LEARNED, CHANCE_MARGIN)
    return res
