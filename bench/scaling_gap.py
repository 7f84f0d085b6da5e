"""Two threads against one thread, with the package's layout between replicas' weights and without parts of it.

Measures what ``_kernels/layout.py``'s ``REPLICA_GAP`` and ``SPREAD`` are for: the speed-up of two
threads over one for a two-layer run of two replicas (each thread then owns one replica; ``--replicas``
for more), with three layouts alternated (A B C A B C ...) in one process, medians quoted:

- "layout": the package's (at least ``REPLICA_GAP`` bytes of zero rows after each replica's block of
  every array, and ``SPREAD`` times the weight matrix's size after it, at most ``SPREAD_MAX``);
- "gap only": ``SPREAD = 0`` (the layout of the commit before the spread);
- "neither": ``REPLICA_GAP = 0`` too (the layout before the gap: one zero row after each replica's
  block of the weight matrix, two cache lines after its other rows).

Tables do not depend on the layout (the padding is never read); this only times.

Usage: ``python bench/scaling_gap.py [--widths 100 1000] [--replicas 2] [--reps 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from run_bench import cpu_name  # bench/ is the script's folder: on sys.path

from fastnoise import engine
from fastnoise._kernels import layout


def _wall(width: int, d: int, replicas: int, threads: int, steps: int) -> float:
    t0 = time.perf_counter()
    engine.run(model="twolayer", width=width, d=d, replicas=replicas, threads=threads, steps=steps, records=2, seed=1)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--d", type=int, default=30)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    base = {"layout": (layout.REPLICA_GAP, layout.SPREAD), "gap only": (layout.REPLICA_GAP, 0), "neither": (0, 0)}
    R = args.replicas
    print(f"CPU: {cpu_name()}; two-layer, d={args.d}, {R} replicas")
    print(f"speed-up = wall(1 thread) / wall(2 threads), median of {args.reps}")
    for width in args.widths:
        steps = int(0.5e9 / (0.15 * width * args.d + 60) * 2 / R)  # about a second per one-thread run
        ups: dict[str, list[float]] = {name: [] for name in base}
        for rep in range(args.reps + 1):
            for name, (gap, spread) in base.items():
                layout.REPLICA_GAP, layout.SPREAD = gap, spread
                if rep == 0:  # compile and warm each
                    _wall(width, args.d, R, 1, 1000)
                    _wall(width, args.d, R, 2, 1000)
                    continue
                ups[name].append(_wall(width, args.d, R, 1, steps) / _wall(width, args.d, R, 2, steps))
        layout.REPLICA_GAP, layout.SPREAD = base["layout"]
        print(f"width {width}: " + ", ".join(f"{name} {statistics.median(u):.2f}x" for name, u in ups.items()), flush=True)


if __name__ == "__main__":
    main()
