"""Paired before/after timing of two checkouts of fastnoise, alternating A B A B, on one machine.

Usage (from the repository root)::

    git worktree add /tmp/before <commit>
    python bench/paired.py /tmp/before . --reps 5

Each measurement is a fresh process, pinned to one core when ``taskset`` exists, that imports the
checkout, runs the setting once (compile, or load the cache), then times three runs of ``steps``
steps on one thread, one replica, and keeps the fastest. Printed with the CPU model: the medians
of each side, the median of the per-pair ratios (after / before) and the ratio of the fastest
runs (on a shared virtual machine, noise only adds time, so minima are the steadier figure).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

SETTINGS = [
    ("single neuron d=30", dict(model="neuron", lr=1 / 30), 3_000_000),
    ("two-layer K=100", dict(model="twolayer", width=100), 600_000),
    ("two-layer K=1000", dict(model="twolayer", width=1000), 60_000),
    ("two-layer K=100 bias", dict(model="twolayer", width=100, bias=True), 600_000),
    ("two-layer K=100 logistic", dict(model="twolayer", width=100, loss="logistic"), 600_000),
]
EXTRA_B = [
    ("mlp (100,) ", dict(model="mlp", widths=(100,)), 600_000),
    ("mlp (1000,)", dict(model="mlp", widths=(1000,)), 60_000),
    ("mlp (100,100,100)", dict(model="mlp", widths=(100, 100, 100), init="fanin"), 100_000),
]

CODE = """
import sys, time, json
sys.path.insert(0, {root!r})
import fastnoise
params = json.loads({params!r})
fastnoise.simulate(steps=2048, replicas=1, records=2, threads=1, **params)
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    fastnoise.simulate(steps={steps}, replicas=1, records=2, threads=1, **params)
    best = min(best, time.perf_counter() - t)
print(best / {steps} * 1e9)
"""
PIN = ["taskset", "-c", "1"] if shutil.which("taskset") else []


def ns_per_step(root: Path, params: dict, steps: int) -> float:
    code = CODE.format(root=str(root.resolve()), params=json.dumps(params), steps=steps)
    out = subprocess.run([*PIN, sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    return float(out.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="", help="run only the settings whose name contains this text")
    args = ap.parse_args()
    print(f"CPU: {cpu_name()}; {args.reps} pairs per setting, medians")
    print("| setting | before ns/step | after ns/step | after / before (median of pairs) | after / before (fastest runs) |")
    print("|---|---:|---:|---:|---:|")
    for name, params, steps in SETTINGS:
        if args.only not in name:
            continue
        a, b = [], []
        for _ in range(args.reps):
            a.append(ns_per_step(args.before, params, steps))
            b.append(ns_per_step(args.after, params, steps))
        ratio = statistics.median(y / x for x, y in zip(a, b, strict=True))
        print(f"| {name} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | {ratio:.3f} | {min(b) / min(a):.3f} |")
    for name, params, steps in EXTRA_B:
        if args.only not in name:
            continue
        b = [ns_per_step(args.after, params, steps) for _ in range(args.reps)]
        print(f"| {name} | – | {statistics.median(b):.1f} | – | – |")


if __name__ == "__main__":
    main()
