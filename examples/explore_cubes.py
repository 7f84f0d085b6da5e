"""Where does label noise lower the test error on the cubes task? A small, reproducible search.

    python examples/explore_cubes.py [--out results/cubes-explore]

Runs the cubes task (a square, K = 2, among d - 2 = 58 distractors, h = 1/60, bias, two-layer)
over initialisation x loss x width x training-set size x length x p, with 2 replicas each, and writes one table
(`explore.parquet`) plus a summary (`explore.md`): for each setting, the test error at p = 0, the
best p and its test error, and whether the gain exceeds 2 standard errors of the difference.
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import pandas as pd

from fastnoise.engine import run
from fastnoise.io import write_results

BASE = dict(model="twolayer", bias=True, data="cube", d=60, cube_dims=2, lr=1 / 60, n_test=5000, records=12)
GRID = dict(
    init=("uniform", "fanin"), loss=("logistic", "hinge"), width=(200, 800), n_train=(500, 2000), steps=(100_000, 1_000_000)
)
PS = (0.0, 0.2, 0.4)
R = 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("results/cubes-explore"))
    args = ap.parse_args()
    rows = []
    for i, values in enumerate(itertools.product(*GRID.values())):
        setting = dict(zip(GRID, values, strict=True))
        for p in PS:
            df = run(**BASE, **setting, p=p, replicas=R, seed=100 + i).table
            end = df[df.step == setting["steps"]]
            for _, r in end.iterrows():
                rows.append(
                    dict(
                        setting,
                        p=p,
                        replica=int(r.replica),
                        error_test=r.error_test,
                        error_train=r.error_train,
                        active_mean=r.active_mean,
                    )
                )
        print(setting, flush=True)  # noqa: T201 - a script, not the library
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(table, args.out / "explore.parquet", overwrite=True)
    lines = [
        "| init | loss | width | n | steps | test err p=0 | best p | test err best | gain | 2 s.e. | helps |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, g in table.groupby(list(GRID)):
        m = g.groupby("p").error_test.agg(["mean", "var", "count"])
        best = m["mean"].idxmin()
        gain = m.loc[0.0, "mean"] - m.loc[best, "mean"]
        se = math.sqrt(m.loc[0.0, "var"] / m.loc[0.0, "count"] + m.loc[best, "var"] / m.loc[best, "count"])
        lines.append(
            f"| {' | '.join(str(k) for k in key)} | {m.loc[0.0, 'mean']:.3f} | {best:g} | {m.loc[best, 'mean']:.3f} | "
            f"{gain:+.3f} | {2 * se:.3f} | {'yes' if best > 0 and gain > 2 * se else 'no'} |"
        )
    (args.out / "explore.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
