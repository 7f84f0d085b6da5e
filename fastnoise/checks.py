"""Theorem checks: every claim of the paper (paper.md section 2), measured through the public engine.

Each check runs simulations with :func:`fastnoise.engine.run` (or one SGD step with
:func:`fastnoise.engine.apply_step`), compares them with a prediction from
:mod:`fastnoise.theory` (which shares no code with the engine), and returns a
:class:`CheckResult`: rows of (check, setting, prediction, measured, tolerance, verdict), the
measurements as a DataFrame, and a plot. ``fastnoise check`` and ``tests/test_checks.py`` call
the same functions. ``mode="quick"`` keeps the whole suite to a few minutes on 2 cores;
``mode="full"`` runs larger sizes.

The checks' own tests (``tests/test_checks.py``) hand the engine a deliberately faulty step
(``tests/faults.py``) to show that each check fails when the engine is wrong; nothing here knows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import analysis, theory
from .config import RunConfig
from .engine import apply_step, run
from .plotting import band, save_figure

EPS = np.finfo(np.float64).eps


@dataclass
class Row:
    """One line of a check's report. ``passed`` is None for what is reported but not asserted."""

    check: str
    setting: str
    prediction: str
    measured: str
    tolerance: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "report"}[self.passed]


@dataclass
class CheckResult:
    """A check's rows, its measurements, and a function drawing its plot into a folder."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    plot: Callable[[Path], Path] | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.rows)

    def add(self, setting: str, prediction: str, measured: str, tolerance: str, passed: bool | None) -> None:
        self.rows.append(Row(self.name, setting, prediction, measured, tolerance, None if passed is None else bool(passed)))

    def failures(self) -> str:
        """The failed rows, each saying what was expected and what was measured."""
        return "\n".join(
            f"{r.check} [{r.setting}]: expected {r.prediction} ({r.tolerance}), measured {r.measured}"
            for r in self.rows
            if r.passed is False
        )


def _run(**params: Any) -> Any:
    return run(**params)


# =========================================================================== 1. implicit L2


def check_l2(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 1: on a misclassified sample every layer's norm decreases for 0 < h < h0.

    Every architecture goes through the engine's compiled step (``apply_step``): single neurons,
    two-layer nets, and deep nets (``model="mlp"``) of 2, 3 and 4 weight layers with ReLU and
    leaky-ReLU units, since the theorem is for any architecture. Predictions: the slides'
    expansion with the gradients of :func:`fastnoise.theory.deep_gradients`, and h0 from it.
    """
    res = CheckResult("l2", "Implicit L2 regularisation (Theorem 1)")
    rng = np.random.default_rng(seed)
    n_cases = 200 if mode == "quick" else 2000
    recs = []
    archs = ["neuron", "twolayer"] + [f"mlp{depth}-{act}" for act in ("relu", "leaky") for depth in (2, 3, 4)]
    for arch in archs:
        for case in range(n_cases):
            d = int(rng.integers(2, 13))
            k = int(rng.integers(2, 21))
            x = rng.standard_normal(d)
            if arch in ("neuron", "twolayer"):
                cfg = RunConfig(model=arch, width=k if arch == "twolayer" else 2, d=d, loss="hinge", lr=1.0, replicas=1)
                if arch == "neuron":
                    w = {"V": rng.standard_normal(d)}
                    n = float(w["V"] @ x)
                    layers = [w["V"]]
                else:
                    w = {"M": rng.standard_normal((k, d)), "V": rng.standard_normal(k), "b2": 0.0}
                    n = float(theory.relu(w["M"] @ x) @ w["V"])
                    layers = [w["M"], w["V"]]
                if n == 0.0:
                    continue
                y = -math.copysign(1.0, n)
                if arch == "neuron":
                    grads_sq = [float(x @ x)]
                    predicted = lambda h, w=w, x=x, y=y: [theory.neuron_expansion(w["V"], x, y, h)]  # noqa: E731
                else:
                    pre = w["M"] @ x
                    grads_sq = [float(np.sum(w["V"][pre >= 0] ** 2) * (x @ x)), float(theory.relu(pre) @ theory.relu(pre))]
                    predicted = lambda h, w=w, x=x, y=y: list(theory.twolayer_expansion(w["M"], w["V"], x, y, h))  # noqa: E731

                def measured(h: float, cfg=cfg, w=w, x=x, y=y, arch=arch) -> list[float]:
                    after, _ = apply_step(cfg.replace(lr=h), w, x, y)
                    keys = ["V"] if arch == "neuron" else ["M", "V"]
                    return [float(np.sum(after[key] ** 2) - np.sum(w[key] ** 2)) for key in keys]
            else:
                depth = int(arch[3])
                leaky = arch.endswith("leaky")
                alpha = 0.1 if leaky else 0.0
                widths = [d] + [int(rng.integers(2, 13)) for _ in range(depth - 1)] + [1]
                Ws = [rng.standard_normal((widths[i + 1], widths[i])) / math.sqrt(widths[i]) for i in range(depth)]
                Ws[-1] = Ws[-1].reshape(-1)
                n, grads = theory.deep_gradients(Ws, x, alpha)
                if n == 0.0:
                    continue
                y = -math.copysign(1.0, n)
                layers = Ws
                grads_sq = [float(np.sum(g**2)) for g in grads]
                inner = [float(np.sum(W * g)) for W, g in zip(Ws, grads, strict=True)]
                recs.append(dict(arch=arch, case=case, kind="euler", err=max(abs(i - n) for i in inner) / (abs(n) + 1e-300)))
                predicted = lambda h, y=y, n=n, grads_sq=grads_sq: [theory.step_norm_change(h, y, n, g) for g in grads_sq]  # noqa: E731

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
                wd = {f"W{l + 1}": W.reshape(1, -1) if l == depth - 1 else W for l, W in enumerate(Ws)}

                def measured(h: float, cfg=mcfg, w=wd, x=x, y=y) -> list[float]:
                    after, _ = apply_step(cfg.replace(lr=h), w, x, y)
                    return [float(np.sum(after[key] ** 2) - np.sum(w[key] ** 2)) for key in w]

            h0s = [theory.critical_lr(y, n, g) for g in grads_sq]
            h0 = min(h0s)
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
    df = pd.DataFrame(recs)
    tol = 64 * EPS
    for arch, g in df.groupby("arch", sort=False):
        errs = g.err[g.kind != "euler"]
        via = "engine step"
        res.add(
            f"{arch}, {via}, {g.case.nunique()} cases",
            "change of each layer's |W|^2 = 2hy<W,dN/dW> + h^2|dN/dW|^2",
            f"max error {errs.max():.2g} x |W|^2",
            f"<= {tol:.2g} (64 ulp)",
            errs.max() <= tol,
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
    # Where it stops holding: an output bias B2 makes the hidden layer's first-order term
    # 2hy(N(x) - B2), positive on this misclassified sample.
    d, k = 4, 3
    M = np.abs(rng.standard_normal((k, d + 1)))
    x = np.abs(rng.standard_normal(d)) + 0.1
    V = np.abs(rng.standard_normal(k))
    a = float(theory.relu(M @ np.append(x, 1.0)) @ V)
    b2 = -a - 1.0  # N(x) = a + b2 = -1 < 0 with y = +1: misclassified
    cfg = RunConfig(model="twolayer", bias=True, width=k, d=d, loss="hinge", lr=1e-4, replicas=1)
    w = {"M": M, "V": V, "b2": b2}
    after, n_out = apply_step(cfg, w, x, 1.0)
    dM = float(np.sum(after["M"] ** 2) - np.sum(M**2))
    first = theory.hidden_first_order_with_output_bias(n_out, b2, 1.0, cfg.lr)
    res.add(
        "two-layer with output bias B2, y*N(x) = -1, h = 1e-4",
        "hidden first-order term 2hy(N - B2) > 0: the norm can grow",
        f"N(x) = {n_out:.3g}, 2hy(N - B2) = {first:.3g}, change of |M|^2 = {dM:+.3g}",
        "change > 0 (counterexample shown)",
        n_out < 0 and dM > 0,
    )
    res.data = df

    def plot(folder: Path) -> Path:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        e = df[df.kind != "euler"].err.clip(lower=1e-20)
        axes[0].hist(np.log10(e), bins=40)
        axes[0].axvline(np.log10(tol), color="k", ls="--", label="tolerance (64 ulp)")
        axes[0].set_xlabel("log10 |measured - expansion| / |W|^2")
        axes[0].set_ylabel("steps")
        axes[0].set_title("per-step norm change vs the expansion")
        axes[0].legend()
        us = np.linspace(0.02, 2.5, 60)
        ex = df.query("arch == 'twolayer' and kind == 'below'").case.iloc[0]
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
        meas = np.array(meas)
        pred = np.array([theory.twolayer_expansion(Mx, Vx, xx, yy, u * h0) for u in us])
        axes[1].plot(us, pred[:, 0], "C0-", label="|M|^2 expansion")
        axes[1].plot(us, pred[:, 1], "C1-", label="|V|^2 expansion")
        axes[1].plot(us, meas[:, 0], "C0o", ms=3, label="|M|^2 engine step")
        axes[1].plot(us, meas[:, 1], "C1o", ms=3, label="|V|^2 engine step")
        axes[1].axhline(0, color="k", lw=0.5)
        axes[1].axvline(1, color="k", ls="--", lw=0.8)
        axes[1].set_xlabel("h / h0")
        axes[1].set_ylabel("change of squared norm")
        axes[1].set_title(f"one misclassified sample (example {ex})")
        axes[1].legend(fontsize=8)
        return save_figure(fig, folder, "l2")[0]

    res.plot = plot
    return res


# =========================================================================== 2. gradient flow


def check_flow(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Corollary: with small h each layer's norm is non-increasing up to the O(h^2) term.

    For the hinge rule the first-order term 2hy<W, dN/dW> = 2hyN(x) is <= 0 on every updating
    step of a homogeneous net, so over an interval between checkpoints the squared norm can grow
    only by the second-order sum h^2 * sum |dN/dW|^2. We bound that sum by 3 times its expected
    value (E|x|^2 = d; E sum_fires v_i^2 = |V|^2/2; E|ReLU(Mx)|^2 = |M|^2/2), taking the larger
    norm of the interval's two ends; with >= 100 updates per interval the sum concentrates well
    inside that factor. Networks with bias are run the same way and reported.
    """
    res = CheckResult("flow", "Gradient flow: norms non-increasing up to O(h^2) (Corollary)")
    steps = 200_000 if mode == "quick" else 2_000_000
    R = 4 if mode == "quick" else 8
    d = 30
    settings = [
        ("neuron, pure noise", dict(model="neuron", lr=1 / d**2, p=1.0, data="gaussian"), True),
        ("neuron, cube p=0.5", dict(model="neuron", lr=1 / d**2, p=0.5, data="cube"), True),
        ("two-layer width 50, pure noise", dict(model="twolayer", width=50, lr=0.1 / d, p=1.0, data="gaussian"), True),
        ("two-layer width 50, cube p=0.5", dict(model="twolayer", width=50, lr=0.1 / d, p=0.5, data="cube"), True),
        (
            "two-layer width 50 with bias, pure noise",
            dict(model="twolayer", width=50, bias=True, lr=0.1 / d, p=1.0, data="gaussian"),
            False,
        ),
    ]
    frames = []
    for name, params, homogeneous in settings:
        cfg = dict(d=d, loss="hinge", steps=steps, records=201, record_spacing="linear", replicas=R, seed=seed, **params)
        df = _run(**cfg).table.sort_values(["replica", "step"])
        h = cfg["lr"]
        ex2 = d + (1 if params.get("bias") else 0)  # E|x|^2 (cube: d/3 < d, so d bounds it)
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
        t = pd.DataFrame(rows)
        frames.append(t)
        viol = t[t.rise > t.allowance]
        for col, tc in t.groupby("layer"):
            v = viol[viol.layer == col]
            worst = (tc.rise / tc.allowance).max()
            pred = "non-increasing up to 3x the expected h^2 term" if homogeneous else "no guarantee (not homogeneous)"
            res.add(
                f"{name}, {col}, h = {h:.3g}, {len(tc)} intervals",
                pred,
                f"{len(v)} intervals above; max rise / allowance = {worst:.3g}",
                "0 intervals above" if homogeneous else "reported",
                len(v) == 0 if homogeneous else None,
            )
    data = pd.concat(frames, ignore_index=True)
    res.data = data

    def plot(folder: Path) -> Path:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (key, g) in enumerate(data.groupby(["setting", "layer"], sort=False)):
            ax.plot(g.step, g.rise / g.allowance, ".", ms=2, color=f"C{i}", label=f"{key[0]}: {key[1]}")
        ax.axhline(1.0, color="k", ls="--", label="allowance (3x expected h^2 term)")
        ax.set_xlabel("step")
        ax.set_ylabel("rise of |W|^2 over an interval / allowance")
        ax.set_title("Corollary: no rise beyond the second-order term (homogeneous nets)")
        ax.legend(fontsize=7, markerscale=4)
        return save_figure(fig, folder, "flow")[0]

    res.plot = plot
    return res


# =========================================================================== 3./4. single neuron


def _neuron_grid(mode: str, loss: str) -> list[dict[str, float]]:
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
        cfg = dict(
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
        df = _run(**cfg).table
        plateau = analysis.plateau_level(df, "norm_1")
        t = analysis.time_to_reach(df, "norm_1", 2 * plateau)
        for r in plateau.index:
            out.append(dict(gp, replica=r, plateau=plateau[r], time=t[r], steps=steps))
    return pd.DataFrame(out)


def _slope_row(res: CheckResult, data: pd.DataFrame, axis: str, y: str, expected: float, what: str, tol: float = 0.1) -> float:
    sub = data[data.axis == axis]
    slope, sem, _ = analysis.replica_slopes(sub, axis, y)
    xs = sorted(sub[axis].unique())
    ok = abs(slope - expected) <= tol and np.isfinite(slope)
    res.add(
        f"{what} vs {axis}, {axis} in [{xs[0]:g}, {xs[-1]:g}] ({len(xs)} points, {sub.replica.nunique()} replicas)",
        f"log-log slope {expected:+g}",
        f"{slope:+.3f} +- {sem:.3f} (s.e. over replicas)",
        f"+- {tol}",
        ok,
    )
    return slope


def check_hinge_neuron(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 2(a): hinge neuron under pure noise, x ~ N(0, I_d), no bias.

    Plateau ~ d*h and time to reach it ~ |V0|/h: the four log-log slopes within +-0.1 of the
    theorem's exponents (replicas give the error bars). The plateau is the mean norm over the last
    third of a run three times the mean-field descent time; the time to reach it is the first
    checkpoint at or below twice that level. Fitted constants are reported beside our mean-field
    values sqrt(pi/8) and sqrt(2*pi) (see :mod:`fastnoise.theory`).
    """
    res = CheckResult("hinge-neuron", "Single neuron, hinge, pure noise (Theorem 2a)")
    data = _neuron_runs(mode, "hinge", seed)
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
    res.plot = lambda folder: _plot_neuron(data, folder, "hinge-neuron", "hinge")
    return res


def check_logistic_neuron(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 2(b): cross-entropy neuron under pure noise: plateau ~ sqrt(h), time within the bound.

    The plateau's slope in h must be 0.5 +- 0.1 and, to be told from the hinge's 1.0, at least
    0.3 below it. The time to reach the plateau is compared with the theorem's bound
    |V0| / (m d h^(3/2)): as h -> 0 the ratio time / bound must not grow, i.e. the time's slope in
    h is not steeper than -3/2 (within 0.1).
    """
    res = CheckResult("logistic-neuron", "Single neuron, cross-entropy, pure noise (Theorem 2b)")
    data = _neuron_runs(mode, "logistic", seed)
    slope = _slope_row(res, data, "h", "plateau", theory.LOGISTIC_PLATEAU_EXPONENT_H, "plateau")
    res.add("plateau slope vs hinge's", "distinguishable from 1.0", f"1.0 - slope = {1 - slope:.3f}", ">= 0.3", 1 - slope >= 0.3)
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
    res.plot = lambda folder: _plot_neuron(data, folder, "logistic-neuron", "logistic")
    return res


def _plot_neuron(data: pd.DataFrame, folder: Path, name: str, loss: str) -> Path:
    import matplotlib.pyplot as plt

    panels = [("h", "plateau"), ("h", "time")] + ([("d", "plateau"), ("v0", "time")] if loss == "hinge" else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    expected = {
        ("hinge", "h", "plateau"): 1.0,
        ("hinge", "d", "plateau"): 1.0,
        ("hinge", "h", "time"): -1.0,
        ("hinge", "v0", "time"): 1.0,
        ("logistic", "h", "plateau"): 0.5,
        ("logistic", "h", "time"): -1.5,
    }
    for ax, (axis, y) in zip(np.atleast_1d(axes), panels, strict=True):
        sub = data[data.axis == axis]
        stats = sub.groupby(axis)[y].quantile([0.1, 0.5, 0.9]).unstack()
        xs = stats.index.to_numpy(float)
        ax.fill_between(xs, stats[0.1], stats[0.9], alpha=0.3, label="replicas 10-90 %")
        ax.plot(xs, stats[0.5], "o", label="median")
        slope, icpt, _ = analysis.loglog_fit(xs, stats[0.5])
        ax.plot(xs, 10**icpt * xs**slope, "-", label=f"fit, slope {slope:+.2f}")
        e = expected[(loss, axis, y)]
        gm = np.exp(np.mean(np.log(stats[0.5])))
        gx = np.exp(np.mean(np.log(xs)))
        ax.plot(
            xs,
            gm * (xs / gx) ** e,
            "k--",
            label=f"theorem, slope {e:+g}" + (" (bound)" if (loss, y) == ("logistic", "time") else ""),
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel({"h": "learning rate h", "d": "dimension d", "v0": "|V0|"}[axis])
        ax.set_ylabel({"plateau": "plateau norm", "time": "steps to reach the plateau"}[y])
        ax.legend(fontsize=7)
    fig.suptitle(f"single neuron, {loss}, pure noise, x ~ N(0, I_d)")
    return save_figure(fig, folder, name)[0]


# =========================================================================== 5./6. two-layer nets


def _norms_plot(frames: dict[str, pd.DataFrame], folder: Path, name: str, title: str) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (label, df) in enumerate(frames.items()):
        df = df[df.step > 0]
        for col, ls in (("log10_norm_1", "-"), ("log10_norm_2", ":")):
            agg = df.groupby("step")[col].quantile([0.1, 0.5, 0.9]).unstack()
            axes[0].plot(
                agg.index,
                10 ** agg[0.5] if agg[0.5].min() > -300 else agg[0.5],
                ls,
                color=f"C{i}",
                label=f"{label}: {'first' if col.endswith('1') else 'output'} layer",
            )
        band(axes[1], df, "active_mean", label, f"C{i}")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("Frobenius norm (median over replicas)")
    axes[0].legend(fontsize=7)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("typical active neurons (probe set)")
    axes[1].legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, folder, name)[0]


def check_nobias(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Fig. 2: a two-layer net without bias under pure noise decays, both layers, both losses.

    Prediction: each layer's median norm at the end is at most half its initial value, and no
    neuron dies on the probe set at any checkpoint (a no-bias unit fires on x or on -x).
    """
    res = CheckResult("nobias", "Two-layer, no bias, pure noise: norms decay, no neuron dies (Fig. 2)")
    steps = 200_000 if mode == "quick" else 2_000_000
    R = 4 if mode == "quick" else 8
    frames = {}
    for loss in ("hinge", "logistic"):
        cfg = dict(model="twolayer", loss=loss, width=100, d=30, lr=1 / 30, p=1.0, steps=steps, records=60, replicas=R, seed=seed)
        df = _run(**cfg).table
        frames[loss] = df
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
    res.data = pd.concat([f.assign(setting=k) for k, f in frames.items()], ignore_index=True)
    res.plot = lambda folder: _norms_plot(frames, folder, "nobias", "two-layer, no bias, pure noise (Fig. 2)")
    return res


def check_bias(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Fig. 3: with bias, under pure noise, neurons die: active neurons fall and biases drift negative.

    The slides' setting (d = 30, h = 1/d, width 100, hinge and cross-entropy): the typical number of
    active neurons falls to at most 5% of its start, and the mean hidden bias ends negative. The
    paper's setting (width 120, cross-entropy, h = 1/900, U[-sqrt 3, sqrt 3]), at the length this
    mode allows: active neurons fall by more than 4 standard errors over replicas, biases negative.
    """
    res = CheckResult("bias", "Two-layer with bias, pure noise: dying ReLUs (Fig. 3)")
    quick = mode == "quick"
    R = 4 if quick else 8
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
    frames = {}
    for name, params, steps, to_zero in settings:
        r = _run(model="twolayer", bias=True, d=30, p=1.0, steps=steps, records=60, replicas=R, seed=seed, **params)
        df = r.table
        frames[name] = df
        start = df[df.step == 0].active_mean.to_numpy()
        end = df[df.step == steps].active_mean.to_numpy()
        bias = np.array([w["M"][:, -1].mean() for w in r.weights])
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
    res.data = pd.concat([f.assign(setting=k) for k, f in frames.items()], ignore_index=True)
    res.plot = lambda folder: _norms_plot(frames, folder, "bias", "two-layer with bias, pure noise (Fig. 3)")
    return res


# =========================================================================== 7. sparsification


def check_sparsify(mode: str = "quick", seed: int = 0) -> CheckResult:
    """Theorem 5: step size and sparsification (hidden layer only, V = +-1, basis inputs, hinge).

    Width 2k, M ~ U[-1, 1], pure noise on e_1..e_d (d = 10), 1000 (quick) or 2000 (full) steps
    per input. (Each input's hidden pattern settles within a few hundred steps: its updates move
    all units of one sign together, so N(e_i) soon oscillates about 0 and nothing more dies.)
    h >= 1: every ReLU(M e_i) = 0 in every replica. h <= 1/k: no ReLU(M e_i) is 0, and the
    fraction of its zero coordinates is at most 1/2 + 3/sqrt(2k) (4 binomial standard
    deviations of the initial half, plus room for the units that die while N(e_i) settles; o(1)).
    The mean zero fraction is shown against k to show the trend; h = 1/2 is reported.
    """
    res = CheckResult("sparsify", "Step size and sparsification (Theorem 5)")
    quick = mode == "quick"
    ks = [100, 1000, 10000] if quick else [100, 1000, 10000, 100000]
    per_input = 1000 if quick else 2000
    R = 4 if quick else 8
    d = 10
    recs = []
    for k in ks:
        for label, h in (("1/(4k)", 1 / (4 * k)), ("1/k", 1 / k), ("1/2", 0.5), ("1", 1.0), ("2", 2.0)):
            steps = d * per_input
            df = _run(
                model="twolayer",
                train="hidden",
                width=2 * k,
                d=d,
                data="basis",
                init_scale=1.0,
                lr=h,
                p=1.0,
                steps=steps,
                records=2,
                replicas=R,
                seed=seed,
            ).table
            last = df[df.step == steps]
            for _, row in last.iterrows():
                recs.append(
                    dict(
                        k=k,
                        h_label=label,
                        h=h,
                        replica=int(row.replica),
                        zero_frac_mean=1 - row.active_mean / (2 * k),
                        zero_frac_max=1 - row.active_min / (2 * k),
                        all_zero=row.active_mean == 0,
                        none_zero=row.active_min > 0,
                    )
                )
    data = pd.DataFrame(recs)
    for k, gk in data.groupby("k"):
        for label, g in gk.groupby("h_label", sort=False):
            h = g.h.iloc[0]
            if h >= 1:
                res.add(
                    f"k={k}, h={label}",
                    "every ReLU(M e_i) = 0",
                    f"{int(g.all_zero.sum())}/{len(g)} replicas all zero",
                    "all replicas",
                    bool(g.all_zero.all()),
                )
            elif h <= 1 / k:
                tol = 0.5 + 3 / math.sqrt(2 * k)
                res.add(
                    f"k={k}, h={label}",
                    "no ReLU(M e_i) = 0",
                    f"{int(g.none_zero.sum())}/{len(g)} replicas with none zero",
                    "all replicas",
                    bool(g.none_zero.all()),
                )
                res.add(
                    f"k={k}, h={label}",
                    "zero coordinates of ReLU(M e_i) <= k + o(k) of 2k",
                    f"max fraction {g.zero_frac_max.max():.4f}, mean {g.zero_frac_mean.mean():.4f}",
                    f"<= 1/2 + 3/sqrt(2k) = {tol:.4f}",
                    g.zero_frac_max.max() <= tol,
                )
            else:
                res.add(
                    f"k={k}, h={label}",
                    "between the regimes (not covered)",
                    f"zero fraction {g.zero_frac_mean.mean():.3f}, "
                    f"an all-zero input in {int((g.zero_frac_max == 1).sum())}/{len(g)} replicas",
                    "reported",
                    None,
                )
    trend = data[data.h_label == "1/k"].groupby("k").zero_frac_mean.mean()
    res.add(
        "h = 1/k, mean zero fraction vs k",
        "tends to at most 1/2",
        ", ".join(f"k={k}: {v:.4f}" for k, v in trend.items()),
        "reported",
        None,
    )
    res.data = data

    def plot(folder: Path) -> Path:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, (label, g) in enumerate(data.groupby("h_label", sort=False)):
            s = g.groupby("k").zero_frac_mean.agg(["median", "min", "max"])
            ax.fill_between(s.index, s["min"], s["max"], color=f"C{i}", alpha=0.25)
            ax.plot(s.index, s["median"], "o-", color=f"C{i}", label=f"h = {label}")
        ax.axhline(0.5, color="k", ls="--", lw=0.8, label="1/2")
        ax.set_xscale("log")
        ax.set_xlabel("k (width 2k)")
        ax.set_ylabel("fraction of zero coordinates of ReLU(M e_i)")
        ax.set_title("sparsification: hidden layer only, basis inputs, pure noise, hinge")
        ax.legend(fontsize=8)
        return save_figure(fig, folder, "sparsify")[0]

    res.plot = plot
    return res


# =========================================================================== registry


def run_check(name: str, mode: str = "quick", seed: int = 0) -> CheckResult:
    """Run one check by name; an exception (e.g. the engine stopping on non-finite weights) is a
    failed check that says what went wrong, not a crash."""
    try:
        return CHECKS[name](mode=mode, seed=seed)
    except Exception as exc:  # noqa: BLE001 - reported as the check's failure
        res = CheckResult(name, f"{name} (did not complete)")
        res.add("the whole check", "completes", f"{type(exc).__name__}: {exc}", "no error", False)
        return res


CHECKS: dict[str, Callable[..., CheckResult]] = {
    "l2": check_l2,
    "flow": check_flow,
    "hinge-neuron": check_hinge_neuron,
    "logistic-neuron": check_logistic_neuron,
    "nobias": check_nobias,
    "bias": check_bias,
    "sparsify": check_sparsify,
}
