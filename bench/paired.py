"""Paired before/after timing of two checkouts of fastnoise, alternating A B A B in one process.

Usage (from the repository root)::

    git worktree add /tmp/before <commit>
    python bench/paired.py /tmp/before . --reps 9

The ``before`` package is copied to a temporary folder as ``fastnoise_before`` (the package uses
only relative imports), so both versions live in one process and are timed alternately on the
same core: no process-to-process variation of clock speed or placement enters the ratio. For
each setting both sides run once to compile (or load their caches), then ``--reps`` times each,
alternating, ``steps`` steps on one thread (one replica unless the setting says). Printed with the CPU model: the median
ns/step of each side, the median of the per-pair ratios (after / before) and the ratio of the
fastest runs (on a shared virtual machine noise only adds time, so minima are the steadier
figure). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Both packages compile into a cache of their own: the package's on-disk cache must never hold a kernel
# compiled beside the renamed copy (an index naming fastnoise_before cannot be read by a later process).
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="fastnoise-paired-cache-"))

SETTINGS = [
    ("single neuron d=30", dict(model="neuron", lr=1 / 30), 2_000_000),
    ("single neuron d=30, 8 replicas (lanes)", dict(model="neuron", lr=1 / 30, replicas=8), 300_000),
    ("single neuron d=30, 8 replicas (lanes), p=0.3", dict(model="neuron", lr=1 / 30, replicas=8, p=0.3), 300_000),
    ("two-layer K=100", dict(model="twolayer", width=100), 400_000),
    ("two-layer K=1000", dict(model="twolayer", width=1000), 40_000),
    ("two-layer K=100 bias", dict(model="twolayer", width=100, bias=True), 400_000),
    ("two-layer K=100 logistic", dict(model="twolayer", width=100, loss="logistic"), 400_000),
    ("mlp (100,100), depth 3, fan-in init", dict(model="mlp", widths=(100, 100), init="fanin"), 150_000),
    # MNIST's sparse inputs (needs `fastnoise data fetch mnist`, else skipped), timed as the steps'
    # marginal cost (see ns_per_step): loading the set and the records would otherwise dominate
    (
        "MNIST two-layer K=256 (steps alone)",
        dict(model="twolayer", width=256, data="mnist", lr=0.01, eval_size=1, probe_size=1),
        150_000,  # about 1.3 s of steps against about 0.5 s of loading and records: the difference is steady
    ),
]
#: Settings only the newer side has: (name, parameters, steps, the two-layer setting to compare
#: with, how many of its steps the row is compared with). Depth 3 at width 100 (two hidden layers
#: of 100) against three two-layer K=100 steps: the issue's yardstick for its arithmetic.
AFTER_ONLY = [
    ("mlp (100,)", dict(model="mlp", widths=(100,)), 400_000, "two-layer K=100", 1),
    ("mlp (1000,)", dict(model="mlp", widths=(1000,)), 40_000, "two-layer K=1000", 1),
    ("mlp (100,100), depth 3, fan-in init", dict(model="mlp", widths=(100, 100), init="fanin"), 150_000, "two-layer K=100", 3),
    ("mlp (100,100,100), fan-in init", dict(model="mlp", widths=(100, 100, 100), init="fanin"), 60_000, None, 1),
]


def ns_per_step(pkg, params: dict, steps: int) -> float:
    """Wall time per replica-step of one run on one thread (one replica unless ``params`` says).

    Image data: the steps' marginal cost, a run of ``steps`` minus one of ``steps // 10``, so that
    loading the data set and the records (an image run's errors use its whole test split) cancel.
    """
    params = {"replicas": 1, **params}
    t = time.perf_counter()
    pkg.simulate(steps=steps, records=2, threads=1, **params)
    wall = time.perf_counter() - t
    if params.get("data") in ("mnist", "fashion-mnist"):
        short = steps // 10
        t = time.perf_counter()
        pkg.simulate(steps=short, records=2, threads=1, **params)
        return (wall - (time.perf_counter() - t)) / ((steps - short) * params["replicas"]) * 1e9
    return wall / (steps * params["replicas"]) * 1e9


def available(pkg, params: dict) -> bool:
    """Whether a setting can run here (an image setting needs its data set in the cache)."""
    try:
        ns_per_step(pkg, params, 2048)
    except Exception as exc:  # the engine's DatasetError: name it and go on
        print(f"skipped ({type(exc).__name__}: {exc})", flush=True)
        return False
    return True


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load(before: Path, after: Path, tmp: Path):
    shutil.copytree(before / "fastnoise", tmp / "fastnoise_before", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path[:0] = [str(tmp), str(after.resolve())]
    return importlib.import_module("fastnoise_before"), importlib.import_module("fastnoise")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--only", default="", help="run only the settings whose name contains this text")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    with tempfile.TemporaryDirectory() as tmp:
        old, new = load(args.before, args.after, Path(tmp))
        print(f"CPU: {cpu_name()}; one thread; ns per replica-step; {args.reps} alternating pairs per setting")
        print("| setting | before ns/step | after ns/step | after / before (median of pairs) | after / before (fastest) |")
        print("|---|---:|---:|---:|---:|")
        for name, params, steps in SETTINGS:
            if args.only not in name or not (available(old, params) and available(new, params)):
                continue
            a, b = [], []
            for _ in range(args.reps):
                a.append(ns_per_step(old, params, steps))
                b.append(ns_per_step(new, params, steps))
            ratio = statistics.median(y / x for x, y in zip(a, b, strict=True))
            # a marginal cost is a difference of two times: noise moves it both ways, so its minimum means nothing
            fastest = "–" if params.get("data") in ("mnist", "fashion-mnist") else f"{min(b) / min(a):.3f}"
            print(f"| {name} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | {ratio:.3f} | {fastest} |")
        by_name = {name: params for name, params, _ in SETTINGS}
        for name, params, steps, versus, times in AFTER_ONLY:
            if args.only not in name:
                continue
            ns_per_step(new, params, 2048)
            if versus is None:
                b = [ns_per_step(new, params, steps) for _ in range(args.reps)]
                print(f"| {name} | – | {statistics.median(b):.1f} | – | – |")
                continue
            # against the newer side's own kernel for the same net, alternated (median of pairs)
            ns_per_step(new, by_name[versus], 2048)
            a, b = [], []
            for _ in range(args.reps):
                a.append(ns_per_step(new, by_name[versus], steps))
                b.append(ns_per_step(new, params, steps))
            ratio = statistics.median(y / (times * x) for x, y in zip(a, b, strict=True))
            what = f"{times} x {versus}" if times > 1 else versus
            print(f"| {name} | – | {statistics.median(b):.1f} | – | {ratio:.3f} x {what} (median of pairs) |")


if __name__ == "__main__":
    main()
