"""Golden tables: small runs of every existing setting, written by the engine before a refactor.

``tests/kernels/test_golden.py`` reruns each case and requires the metric columns to be *bitwise* equal
to the stored table (the brief: refactors keep results). ``python tests/golden.py`` writes the
tables of new cases only; ``python tests/golden.py --all`` rewrites every table: only when a change
is meant to alter results, and say so in the commit.
"""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "data" / "golden"

#: name -> RunConfig fields. Short runs, several checkpoints, two or three replicas.
CASES: dict[str, dict] = {
    "neuron-hinge": dict(model="neuron", steps=20_000, replicas=3),
    "neuron-logistic-bias": dict(model="neuron", loss="logistic", bias=True, steps=20_000, replicas=3),
    "neuron-basis-p05": dict(model="neuron", data="basis", p=0.5, d=12, steps=5_000, replicas=2),
    "neuron-cube-ntrain": dict(model="neuron", data="cube", p=0.2, n_train=50, d=6, steps=5_000, replicas=2),
    "twolayer-hinge": dict(model="twolayer", width=20, steps=20_000, replicas=3),
    "twolayer-hinge-w100": dict(model="twolayer", width=100, steps=3_000, replicas=2),
    "twolayer-hinge-w1000": dict(model="twolayer", width=1000, d=10, steps=300, replicas=2, records=10),
    "twolayer-logistic-bias": dict(model="twolayer", width=13, loss="logistic", bias=True, steps=20_000, replicas=3),
    "twolayer-hinge-bias-gaussian-init": dict(model="twolayer", width=9, bias=True, init="gaussian", steps=10_000, replicas=2),
    "twolayer-hidden-basis": dict(
        model="twolayer", train="hidden", width=16, data="basis", d=10, lr=1.0, steps=5_000, replicas=2
    ),
    "twolayer-cube-ntrain-p05": dict(model="twolayer", width=12, data="cube", p=0.5, n_train=40, d=5, steps=10_000, replicas=2),
    "twolayer-renorm": dict(model="twolayer", width=20, seed=3, steps=500_000, replicas=2, records=20, record_spacing="linear"),
    "twolayer-linear-fanin": dict(model="twolayer", width=10, init="fanin", record_spacing="linear", steps=4_000, replicas=2),
    "images-binary": dict(model="twolayer", width=6, data="mnist", data_path="IMAGES", steps=2_000, replicas=2, records=8),
    "images-ten-hinge": dict(model="twolayer", width=6, data="mnist", data_path="IMAGES", classes=10, steps=2_000, replicas=2),
    "images-ten-logistic-bias": dict(
        model="twolayer",
        width=6,
        data="mnist",
        data_path="IMAGES",
        classes=10,
        loss="logistic",
        bias=True,
        p=0.3,
        steps=2_000,
        replicas=2,
    ),
    "images-neuron": dict(model="neuron", data="mnist", data_path="IMAGES", p=0.1, steps=2_000, replicas=2, records=8),
    # Enough replicas for the lane driver (``_kernels/lanes.py``) on one or two threads; written by the
    # scalar driver before the lanes existed (2026-12-01), so the lanes are held to its tables.
    "neuron-lanes-hinge-r10": dict(model="neuron", p=1.0, steps=20_000, replicas=10),
    "neuron-lanes-logistic-bias-flip-r12": dict(
        model="neuron", loss="logistic", bias=True, noise="flip", p=0.3, steps=10_000, replicas=12, seed=2
    ),
    "neuron-lanes-smooth-d7-r11": dict(
        model="neuron", loss="logistic", label_smoothing=0.1, p=0.2, d=7, steps=10_000, replicas=11, seed=3
    ),
    # Added before the open-vocabulary refactor (2026-12-07): the deep nets, the training regimes and
    # float32, so that the refactor is held to every existing setting's table, not the first ones only.
    "mlp-relu-hinge": dict(model="mlp", widths=(8, 6), steps=5_000, replicas=2),
    "mlp-renorm-long": dict(model="mlp", widths=(6, 5), seed=4, steps=200_000, replicas=2, records=12),
    "mlp-leaky-logistic-bias-train13": dict(
        model="mlp", widths=(8, 6, 4), activation="leaky", loss="logistic", bias=True, train="1,3", steps=3_000, replicas=2
    ),
    "mlp-hidden-cube": dict(model="mlp", widths=(6, 4), train="hidden", data="cube", p=0.3, d=8, steps=4_000, replicas=2),
    "twolayer-flip-fixed-ntrain": dict(
        model="twolayer", width=10, noise="flip", noise_mode="fixed", n_train=40, p=0.3, d=6, steps=5_000, replicas=2
    ),
    "twolayer-batch4-decay": dict(model="twolayer", width=8, batch=4, weight_decay=0.01, p=0.5, d=7, steps=3_000, replicas=2),
    "twolayer-logistic-smooth-epochs": dict(
        model="twolayer",
        width=7,
        loss="logistic",
        label_smoothing=0.1,
        sampling="epochs",
        n_train=25,
        p=0.2,
        d=5,
        steps=4_000,
        replicas=2,
    ),
    "neuron-epochs-batch3": dict(model="neuron", sampling="epochs", batch=3, n_train=30, p=0.1, d=9, steps=3_000, replicas=2),
    "neuron-decay-basis": dict(model="neuron", data="basis", weight_decay=0.001, p=0.2, d=8, steps=4_000, replicas=2),
    "twolayer-float32-w64": dict(model="twolayer", width=64, dtype="float32", d=20, steps=20_000, replicas=2),
    "twolayer-float32-logistic-bias": dict(
        model="twolayer", width=33, dtype="float32", loss="logistic", bias=True, d=9, steps=5_000, replicas=2
    ),
    "images-mlp": dict(model="mlp", widths=(7, 5), data="mnist", data_path="IMAGES", steps=2_000, replicas=2, records=8),
    "images-ten-fixed-flip-smooth": dict(
        model="twolayer",
        width=6,
        data="mnist",
        data_path="IMAGES",
        classes=10,
        loss="logistic",
        label_smoothing=0.05,
        noise="flip",
        noise_mode="fixed",
        p=0.3,
        steps=2_000,
        replicas=2,
    ),
}


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + b"".join(struct.pack(">I", n) for n in arr.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def tiny_images(folder: Path) -> str:
    """A fixed 28x28 ten-class image set (60 train, 20 test, 25 % of pixels lit) in IDX files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for split, n in (("train", 60), ("t10k", 20)):
        x = (rng.random((n, 28, 28)) < 0.25) * rng.integers(1, 256, size=(n, 28, 28))
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", x)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n))
    return str(folder)


def config(name: str, images: str):
    from fastnoise import RunConfig

    params = dict(CASES[name])
    if params.get("data_path") == "IMAGES":
        params["data_path"] = images
    return RunConfig(**params)


def main() -> None:
    import tempfile

    from fastnoise import simulate

    HERE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        images = tiny_images(Path(tmp))
        for name in CASES:
            if (HERE / f"{name}.parquet").exists() and "--all" not in sys.argv:
                continue  # written before a change: kept (pass --all to rewrite every table)
            df = simulate(config(name, images))
            df.attrs = {}
            if CASES[name].get("data_path"):  # a temporary folder (and the id that hashes it), not a result
                df = df.drop(columns=["data_path", "config_id"])
            df.to_parquet(HERE / f"{name}.parquet", index=False)


if __name__ == "__main__":
    main()
