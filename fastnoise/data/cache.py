"""The verified cache: a fetched data set stored once as ``NAME.npz`` + ``NAME.json``, checked on every load.

:func:`fetch` obtains a data set from its pinned sources (:data:`~fastnoise.data.sources.SOURCES`),
checks every checksum, and writes the compact copy with :func:`fastnoise.files.atomic_write` (each
file complete under its name or not at all, mode ``0o666`` less the umask). :func:`_load_cache`
reads it back, checking each array against the recorded and the pinned sha256.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write
from .base import ARRAYS, DATASETS, PINNED_SHA256, DatasetError, ImageDataset, array_sha256
from .sources import SOURCES, _how_to_get

__all__ = ["CACHE_FORMAT", "FetchResult", "cache_paths", "default_cache_dir", "fetch"]

CACHE_FORMAT = 1


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
        # Our own handle: np.load leaves its file open when a damaged zip fails inside it.
        with open(npz, "rb") as fh, np.load(fh, allow_pickle=False) as z:
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
    # Each file goes to a temporary name and is renamed only once complete: npz first (the inner block), then json.
    # An interruption before the npz's rename leaves the previous cache untouched; one between the renames leaves a
    # new npz beside the old json, which is still valid (the arrays are pinned, so both describe the same bytes) or
    # else reported as corrupt with the advice to re-fetch. No partial file is ever left under either name.
    with atomic_write(meta_path, "wb") as fj:
        fj.write((json.dumps(meta, indent=2) + "\n").encode())
        with atomic_write(npz, "wb") as fz:
            # Any: mypy would match a dict of arrays against numpy's ``allow_pickle: bool`` (numpy >= 2.1) too.
            members: dict[str, Any] = {k: arrays[k] for k in ARRAYS}
            np.savez_compressed(fz, **members)
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
