"""``reproduce parity``: learning parities on the Boolean hypercube with per-sample SGD, in four parts.

Every run is a two-layer ReLU net with biases, the hinge loss (the perceptron rule: a step only
when y N(x) <= 0) and fresh inputs x in {-1, +1}^d (``--data hypercube``), labelled by the parity
of the first k bits. A replica has *learned* at the first checkpoint where its test error (clean
labels, :data:`LEARNED`) is below 5 %.

- **(a) time to learn against d and k** (:data:`SCALING`): k = 2, 3 (and 4), d = 10 ... 60, the
  prototype's width 100, h = 0.05 and fan-in init U[-1/sqrt(d), 1/sqrt(d)], p = 0; checkpoints
  log-spaced at a relative resolution :data:`RESOLUTION`; the exponent of time ~ d^alpha per k.
- **(b) label noise against the step** (:data:`NOISE_P` x :data:`NOISE_H`) at d = 30, k = 3: the runs
  of one cell last the same tau = h t (:data:`NOISE_TAU`), with checkpoints every tau/400; whether
  a cell learns, stays learned, how often it forgets, and the norms and active neurons beside.
  The noise is the paper's convention (``--noise uniform``: a label is redrawn with probability p,
  so it flips with probability p/2); the prototype's cell (p = 0.4, h = 0.05, 1e6 steps) is also
  run as ``--noise flip`` (flip rate 0.4), since its "p = 0.4" does not say which it meant.
- **(c) curriculum** (:data:`CURRICULUM`): biased inputs Rad(q) first, then uniform ones
  (``--curriculum bit-bias=q:N1,bit-bias=0.5``, arXiv 2301.13833), against uniform inputs only, at
  the same total number of steps, on harder parities (k = 5 at d = 30, k = 4 at d = 50); the
  test set is uniform in every arm.
- **(d) initialisation** (:data:`INIT_ARMS`) on almost-full parities (arXiv 2412.04910): d = 20,
  k = 20 and 19, width 300, h = 0.003: Rademacher +-1/sqrt(d) weights, with Gaussian perturbations
  sigma = 1/d and constant sigma, against Gaussian and fan-in uniform weights of the same variance.

The tables (one Parquet per part, ``parity_<part>.parquet``) are what the figures and
``summary.md`` are drawn from (:mod:`.parity_report`); the measures are in :mod:`.parity_analysis`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import RunConfig
from ..engine import run
from ..io import concat_results, write_results
from ..threads import max_threads
from .parity_analysis import LEARNED

__all__ = [
    "BASE",
    "CURRICULUM",
    "INIT_ARMS",
    "LEARNED",
    "NOISE_H",
    "NOISE_P",
    "NOISE_TAU",
    "RESOLUTION",
    "SCALING",
    "Sizes",
    "compact",
    "log_records",
    "parity",
]

#: What every run shares: the prototype's net (width 100, biases, hinge) on fresh hypercube inputs.
BASE: dict[str, Any] = dict(
    model="twolayer", data="hypercube", bias=True, loss="hinge", width=100, init="fanin", init_scale=1.0, p=0.0, target="parity"
)
#: Evaluation sizes: 1000 test inputs (a learned replica's 5 % is 50 errors, s.e. 0.7 points), small
#: training and probe sets (error_train and the active neurons are read, not thresholded).
EVAL: dict[str, Any] = dict(n_test=1000, eval_size=200, probe_size=500)
#: Relative spacing of part (a)'s and (c)'s log-spaced checkpoints: a time to learn is known to 3 %.
RESOLUTION = 0.03

#: (a): (k, step budget, replicas) at each d of :data:`SCALING_D`, h = :data:`SCALING_H`.
SCALING: tuple[tuple[int, int, int], ...] = ((2, 200_000, 16), (3, 1_000_000, 16), (4, 2_000_000, 8))
SCALING_D: tuple[int, ...] = (10, 20, 30, 40, 50, 60)
SCALING_H = 0.05

#: (b): label noise p (``--noise uniform``) x step h at d = 30, k = 3; every run lasts tau = h t = NOISE_TAU.
NOISE_D, NOISE_K = 30, 3
NOISE_P: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4)
NOISE_H: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1)
NOISE_TAU = 20_000.0
NOISE_RECORDS = 401
NOISE_REPLICAS = 6
#: The prototype's cell (p, h, steps), run under both conventions.
PROTOTYPE = (0.4, 0.05, 1_000_000)

#: (c): (d, k, total steps) and the arms: (q of the first stage, its steps); (0.5, 0) is uniform only.
CURRICULUM_SETTINGS: tuple[tuple[int, int, int], ...] = ((30, 5, 1_000_000), (50, 4, 1_000_000))
CURRICULUM: tuple[tuple[float, int], ...] = ((0.5, 0), (0.9, 10_000), (0.9, 30_000), (0.75, 30_000))
CURRICULUM_REPLICAS = 8
CURRICULUM_H = 0.05

#: (d): d, the parities' k, and the net: width 300, h = 0.003 (width 100 stalled at 10-25 % error).
INIT_D = 20
INIT_K: tuple[int, ...] = (20, 19)
INIT_NET: dict[str, Any] = dict(width=300, lr=0.003, steps=1_000_000, replicas=6)


def _init_arms(d: int) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, init options): Rademacher +-a (a = 1/sqrt(d)), sigma in {0, 1/d, 0.25, 0.5, 1}; N(0, a^2); U[-sqrt3 a, sqrt3 a]."""
    a = 1.0 / math.sqrt(d)
    rad = [(f"rademacher, sigma={s}", dict(init="rademacher", init_scale=a, init_sigma=v)) for s, v in _sigmas(d)]
    return (
        *rad,
        ("gaussian N(0, 1/d)", dict(init="gaussian", init_scale=a)),
        ("fan-in uniform, variance 1/d", dict(init="fanin", init_scale=math.sqrt(3.0))),
    )


def _sigmas(d: int) -> tuple[tuple[str, float], ...]:
    return (("0", 0.0), ("1/d", 1.0 / d), ("0.25", 0.25), ("0.5", 0.5), ("1", 1.0))


INIT_ARMS = _init_arms(INIT_D)


@dataclass(frozen=True)
class Sizes:
    """The sizes of one ``reproduce parity`` (the full one, or ``--quick``'s)."""

    scaling: tuple[tuple[int, int, int], ...]
    scaling_d: tuple[int, ...]
    noise_p: tuple[float, ...]
    noise_h: tuple[float, ...]
    noise_tau: float
    noise_records: int
    noise_replicas: int
    prototype: tuple[float, float, int] | None
    curriculum_settings: tuple[tuple[int, int, int], ...]
    curriculum: tuple[tuple[float, int], ...]
    curriculum_replicas: int
    init_d: int
    init_k: tuple[int, ...]
    init_net: dict[str, Any]
    width: int
    #: Indices into :func:`_init_arms`' list (None: every arm).
    init_arms: tuple[int, ...] | None = None

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        """The full sizes, or the quick ones: tiny d and width, a few replicas and steps, one compiled kernel.

        Quick: every run shares the model, loss, input law and noise convention (uniform) of the
        full runs, so all of them use one compiled step loop; the prototype's flip-noise cell is
        left out (it would compile a second), and (d) runs three arms (Rademacher with sigma 0
        and 1, Gaussian).
        """
        if not quick:
            return cls(
                SCALING, SCALING_D, NOISE_P, NOISE_H, NOISE_TAU, NOISE_RECORDS, NOISE_REPLICAS, PROTOTYPE,
                CURRICULUM_SETTINGS, CURRICULUM, CURRICULUM_REPLICAS, INIT_D, INIT_K, INIT_NET, BASE["width"],
            )  # fmt: skip
        return cls(
            ((2, 4000, 3),),
            (6, 10),
            (0.0, 0.4),
            (0.05, 0.1),
            100.0,
            21,
            2,
            None,
            ((8, 3, 3000),),
            ((0.5, 0), (0.9, 500)),
            2,
            8,
            (8,),
            dict(width=16, lr=0.01, steps=2000, replicas=2),
            16,
            (0, 4, 5),
        )


def log_records(steps: int, resolution: float = RESOLUTION) -> int:
    """Checkpoints for log spacing from step 1 to ``steps`` at relative spacing ``resolution`` (and step 0)."""
    return int(math.ceil(math.log(steps) / math.log1p(resolution))) + 2


#: Run-table columns the written tables leave out: the log norms (log10 of the norms, which never underflow
#: here) and the hypercube's Fourier columns (``target_corr`` is the full support's), which no part reads.
DROPPED_PREFIXES = ("log10_norm_", "fourier_", "target_corr")
#: Columns written as float32 (7 digits; the errors, thresholded at 0.05 and 0.4, stay float64).
FLOAT32 = ("norm_1", "norm_2", "bias_norm_1", "bias_norm_2", "active_mean", "mass_support", "mass_off")


def compact(table: pd.DataFrame) -> pd.DataFrame:
    """The run table as written: without :data:`DROPPED_PREFIXES` columns, :data:`FLOAT32` columns as float32.

    The runs' tables hold ~50 float columns per checkpoint; these are the measures the report
    reads and the mechanism's columns, at a quarter of the size.
    """
    keep = [c for c in table.columns if not str(c).startswith(DROPPED_PREFIXES)]
    out = table[keep].astype({c: "float32" for c in FLOAT32 if c in keep})
    out.attrs = dict(table.attrs)
    return out


def _cpu() -> str:
    """The processor's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _runs(configs: list[tuple[dict[str, Any], RunConfig]], log: Callable[[str], None]) -> pd.DataFrame:
    """Run each configuration; one table with the labels of each as constant columns."""
    frames = []
    for labels, cfg in configs:
        r = run(cfg)
        what = {**labels, "d": cfg.d, "k": cfg.support, "h": cfg.lr, "p": cfg.p, "steps": cfg.steps}
        log(f"{', '.join(f'{k}={v}' for k, v in what.items())}: {r.seconds:.1f} s")
        frames.append(r.table)
    keys = list(configs[0][0])
    return concat_results(frames, **{k: [lab[k] for lab, _ in configs] for k in keys})


def scaling_configs(s: Sizes, seed: int) -> list[tuple[dict[str, Any], RunConfig]]:
    """Part (a): one run per (k, d), log-spaced checkpoints at :data:`RESOLUTION`."""
    out = []
    for k, steps, R in s.scaling:
        for d in s.scaling_d:
            cfg = RunConfig(
                **{**BASE, "width": s.width}, **EVAL, d=d, support=str(k), lr=SCALING_H, steps=steps, replicas=R,
                records=log_records(steps), record_spacing="log", seed=seed + 1000 * k + d,
            )  # fmt: skip
            out.append(({"part": "a", "k": k}, cfg))
    return out


def noise_configs(s: Sizes, seed: int) -> list[tuple[dict[str, Any], RunConfig]]:
    """Part (b): one run per (p, h) at d = 30, k = 3, each to tau = h t = ``noise_tau``; then the prototype's cell twice."""
    out = []
    common = dict(**{**BASE, "width": s.width}, **EVAL, d=NOISE_D, support=str(NOISE_K), record_spacing="linear")
    for i, p in enumerate(s.noise_p):
        for j, h in enumerate(s.noise_h):
            steps = int(round(s.noise_tau / h))
            cfg = RunConfig(
                **{**common, "p": p}, lr=h, steps=steps, records=s.noise_records, replicas=s.noise_replicas,
                seed=seed + 100 * i + j,
            )  # fmt: skip
            out.append(({"part": "grid", "convention": "uniform"}, cfg))
    if s.prototype is not None:
        p, h, steps = s.prototype
        for noise in ("uniform", "flip"):
            cfg = RunConfig(
                **{**common, "p": p}, noise=noise, lr=h, steps=steps, records=s.noise_records,
                replicas=s.noise_replicas, seed=seed + 777,
            )  # fmt: skip
            out.append(({"part": "prototype", "convention": noise}, cfg))
    return out


def curriculum_configs(s: Sizes, seed: int) -> list[tuple[dict[str, Any], RunConfig]]:
    """Part (c): each arm at each (d, k), the same total steps and seed (so the same initial weights) per setting."""
    out = []
    for i, (d, k, steps) in enumerate(s.curriculum_settings):
        for q, n1 in s.curriculum:
            cur = f"bit-bias={q:g}:{n1},bit-bias=0.5" if n1 else None
            cfg = RunConfig(
                **{**BASE, "width": s.width}, **EVAL, d=d, support=str(k), lr=CURRICULUM_H, curriculum=cur, steps=steps,
                replicas=s.curriculum_replicas, records=log_records(steps), record_spacing="log", seed=seed + 50 + i,
            )  # fmt: skip
            arm = f"q={q:g} for {n1:,} steps, then uniform" if n1 else "uniform only"
            out.append(({"arm": arm, "k": k, "q": q, "switch": n1}, cfg))
    return out


def init_configs(s: Sizes, seed: int) -> list[tuple[dict[str, Any], RunConfig]]:
    """Part (d): each initialisation at each k, on d = ``init_d``, the net of ``init_net``."""
    out = []
    net = s.init_net
    for i, k in enumerate(s.init_k):
        arms = _init_arms(s.init_d)
        for arm, init in arms if s.init_arms is None else [arms[j] for j in s.init_arms]:
            cfg = RunConfig(
                **{**BASE, **init, "width": net["width"]}, **{**EVAL, "n_test": 2000}, d=s.init_d, support=str(k),
                lr=net["lr"], steps=net["steps"], replicas=net["replicas"], records=log_records(net["steps"], 0.05),
                record_spacing="log", seed=seed + 900 + i,
            )  # fmt: skip
            out.append(({"arm": arm, "k": k}, cfg))
    return out


#: The parts: name -> the configurations of its runs.
PARTS: dict[str, Callable[[Sizes, int], list[tuple[dict[str, Any], RunConfig]]]] = {
    "scaling": scaling_configs,
    "noise": noise_configs,
    "curriculum": curriculum_configs,
    "init": init_configs,
}


def parity(out: Path, quick: bool = False, seed: int = 0, parts: tuple[str, ...] = tuple(PARTS)) -> dict[str, Any]:
    """Run the four parts (or ``parts``), write ``parity_<part>.parquet`` under ``out``, then the figures and summary.

    Parameters
    ----------
    out : Path
        The experiment's folder.
    quick : bool
        For tests: d = 6 and 10, width 16, a few thousand steps and 2-3 replicas, two cells of each
        grid; one compiled kernel for all (see :meth:`Sizes.of`).
    seed : int
        Root seed.
    parts : tuple of str
        The parts to run (the others' tables, if present under ``out``, are reported as they are).

    Returns
    -------
    dict
        The headline numbers of each part (from :func:`fastnoise.reproduce.parity_report.report`),
        the figures and the summary files.
    """
    import logging
    import time

    from .parity_report import report

    logger = logging.getLogger("fastnoise.reproduce.parity")
    sizes = Sizes.of(quick)
    out.mkdir(parents=True, exist_ok=True)
    for name in parts:
        t0 = time.perf_counter()

        def say(msg: str, part: str = name) -> None:
            logger.info("parity %s: %s", part, msg)

        table = _runs(PARTS[name](sizes, seed), say)
        extra = {"seconds": time.perf_counter() - t0, "quick": quick, "cpu": _cpu(), "threads": max_threads(), "root_seed": seed}
        write_results(compact(table), out / f"parity_{name}.parquet", overwrite=True, extra=extra)
    return report(out)
