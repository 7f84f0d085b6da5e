"""The IDX reader: MNIST-format files (gzip or plain), singly or as a folder of the four standard files.

Fashion-MNIST comes this way from Debian's ``dataset-fashion-mnist`` package
(``/usr/share/datasets/fashion-mnist/``), and any folder of MNIST-format files works the same.
"""

from __future__ import annotations

import gzip
import os
import zlib
from io import BufferedIOBase
from pathlib import Path

import numpy as np

from .base import ARRAYS, DatasetError, ImageDataset, array_sha256

__all__ = ["load_idx_folder", "read_idx"]

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


def _read_at_most(f: BufferedIOBase, n: int) -> bytes:
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
            f: BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
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
