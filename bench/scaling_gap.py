"""Two replicas on two threads against one thread, with and without the gap between replicas' weights.

Measures what ``_kernels/layout.py``'s ``REPLICA_GAP`` is for: the speed-up of two threads over
one for a two-layer run of two replicas (each thread then owns one replica), once with the
package's layout (at least ``REPLICA_GAP`` bytes of zero rows after each replica's block of the
weight matrix) and once without it (``REPLICA_GAP = 0``: the layout before the gap, one zero row after each
replica's block of the weight matrix and two cache lines after its other rows).
The two layouts alternate (A B A B ...) in one process; medians are quoted. Tables do not depend
on the layout (the gap rows are never read); this only times.

Usage: ``python bench/scaling_gap.py [--widths 100 1000] [--reps 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from run_bench import cpu_name  # bench/ is the script's folder: on sys.path

from fastnoise import engine
from fastnoise._kernels import layout


def _wall(width: int, d: int, threads: int, steps: int) -> float:
    t0 = time.perf_counter()
    engine.run(model="twolayer", width=width, d=d, replicas=2, threads=threads, steps=steps, records=2, seed=1)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--d", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    gap = layout.REPLICA_GAP
    print(f"CPU: {cpu_name()}; two-layer, d={args.d}, 2 replicas")
    print(f"speed-up = wall(1 thread) / wall(2 threads), median of {args.reps}")
    for width in args.widths:
        steps = int(0.5e9 / (0.15 * width * args.d + 60))  # about a second per one-thread run
        ups: dict[str, list[float]] = {"gap": [], "no gap": []}
        for _, g in (("gap", gap), ("no gap", 0)):  # compile and warm both
            layout.REPLICA_GAP = g
            _wall(width, args.d, 1, 1000)
            _wall(width, args.d, 2, 1000)
        for _ in range(args.reps):
            for name, g in (("gap", gap), ("no gap", 0)):
                layout.REPLICA_GAP = g
                ups[name].append(_wall(width, args.d, 1, steps) / _wall(width, args.d, 2, steps))
        layout.REPLICA_GAP = gap
        print(
            f"width {width}: 2-thread speed-up {statistics.median(ups['gap']):.2f}x with the gap ({gap} bytes), "
            f"{statistics.median(ups['no gap']):.2f}x without"
        )


if __name__ == "__main__":
    main()
