"""Before/after timing of two checkouts in separate processes, alternated: A B A B ... per setting.

Usage (from the repository root)::

    git worktree add /tmp/before <commit>
    python bench/ab_processes.py /tmp/before . --pairs 5

For when ``bench/paired.py`` (both versions in one process) cannot load the ``before`` checkout:
commits before 2026-12-08 import their kernels by the absolute name ``fastnoise._kernels``, so a
renamed copy of them runs the current package's kernels. Each process compiles (or loads its
cache), then times a setting three times on one thread and reports its fastest ns per
replica-step; a pair is one ``before`` process then one ``after`` process. Printed: the CPU model,
the medians of both sides and the median of the pair ratios (after / before). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CODE = """
import json, sys, time
from fastnoise.engine import run
p = json.loads(sys.argv[1]); steps = int(sys.argv[2]); R = p.pop("replicas", 1)
run(steps=1000, records=2, seed=1, replicas=R, threads=1, **p)
ts = []
for _ in range(3):
    t = time.perf_counter(); run(steps=steps, records=2, seed=1, replicas=R, threads=1, **p); ts.append(time.perf_counter() - t)
print(min(ts) / steps / R * 1e9)
"""

SETTINGS = [
    ("neuron d=30, 1 replica", dict(model="neuron", lr=1 / 30), 2_000_000),
    ("neuron d=30, 8 replicas (lanes)", dict(model="neuron", lr=1 / 30, replicas=8), 500_000),
    ("two-layer K=100", dict(model="twolayer", width=100), 500_000),
    ("two-layer K=100 bias", dict(model="twolayer", width=100, bias=True), 500_000),
    ("two-layer K=1000", dict(model="twolayer", width=1000), 50_000),
    ("neuron n_train=1000 p=0.3", dict(model="neuron", lr=1 / 30, n_train=1000, p=0.3), 2_000_000),
]


def ns_per_step(checkout: Path, params: dict, steps: int) -> float:
    """One process of ``checkout``'s package: its fastest of three timed runs, ns per replica-step."""
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    cmd = [sys.executable, "-c", CODE, json.dumps(params), str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--only", default=None, help="only the settings whose name contains this text")
    args = ap.parse_args()
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    print(f"CPU: {cpu}; one thread; ns per replica-step; {args.pairs} alternated pairs of processes")
    print("| setting | before | after | after / before (median of pairs) |\n|---|---:|---:|---:|")
    for name, params, steps in SETTINGS:
        if args.only and args.only not in name:
            continue
        a, b = [], []
        for _ in range(args.pairs):
            a.append(ns_per_step(args.before, params, steps))
            b.append(ns_per_step(args.after, params, steps))
        ratio = statistics.median(y / x for x, y in zip(a, b, strict=True))
        print(f"| {name} | {statistics.median(a):.1f} | {statistics.median(b):.1f} | {ratio:.3f} |", flush=True)


if __name__ == "__main__":
    main()
