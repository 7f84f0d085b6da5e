"""``fastnoise data``: fetch MNIST once into the cache, and describe the data sets (see fastnoise.data)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import fail, main

if TYPE_CHECKING:
    import numpy as np

    from ..data import ImageDataset

# fastnoise.data (and numpy) are imported by the commands that use them, not by `fastnoise --help`.


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB"


@main.group("data")
def data_group() -> None:
    """MNIST and Fashion-MNIST: fetch once, then load with no network.

    MNIST is fetched into the cache ($FASTNOISE_DATA, else ~/.cache/fastnoise/data) by
    `fastnoise data fetch mnist`; Fashion-MNIST comes from Debian's dataset-fashion-mnist
    (/usr/share/datasets/fashion-mnist/). Any folder of the four standard IDX files works too.
    """


@data_group.command("fetch")
@click.argument("name", metavar="NAME")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default: $FASTNOISE_DATA, else ~/.cache/fastnoise/data).",
)
@click.option("--force", is_flag=True, help="Download again even if a valid cached copy exists.")
def fetch_cmd(name: str, cache: Path | None, force: bool) -> None:
    """Download NAME (mnist) once, verify its checksums and store a compact copy in the cache.

    A valid cached copy is reused. Nothing is left in the cache if the download fails or does
    not match the pinned checksums. Exit status 1 when it cannot be fetched.
    """
    from ..data import SOURCES, DatasetError, cache_paths, default_cache_dir, fetch

    if name not in SOURCES:
        if name == "fashion-mnist":
            fail("fashion-mnist is not fetched: install it with `apt-get install dataset-fashion-mnist`, or pass an IDX folder")
        fail(f"NAME {name!r} is not a data set that can be fetched; allowed: {', '.join(SOURCES)}")
    folder = (cache if cache is not None else default_cache_dir()).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        fail(f"--cache {folder} is not a writable folder: {exc.strerror or exc}")

    def announce(label: str) -> None:
        click.echo(f"{name}: downloading {label} ...")

    try:
        result = fetch(name, folder, force=force, on_download=announce)
    except DatasetError as exc:
        fail(str(exc), code=1)
    except OSError as exc:
        fail(f"cannot write the cache {folder}: {exc.strerror or exc}", code=1)
    npz, meta = cache_paths(name, folder)
    if result.reused:
        click.echo(f"{name}: already cached and verified: {npz} (nothing downloaded; --force to fetch again)")
        return
    click.echo(f"{name}: downloaded {_size(result.download_bytes)}, verified and cached in {result.seconds:.1f} s")
    click.echo("  sha256 of the download and of all four arrays verified against the pinned values")
    click.echo(f"  cached: {npz} ({_size(npz.stat().st_size)}) and {meta.name}")


def _counts(y: np.ndarray) -> str:
    import numpy as np

    counts = np.bincount(y)
    return " ".join(f"{c}:{n}" for c, n in enumerate(counts) if n)


def _describe(ds: ImageDataset) -> None:
    import numpy as np

    from ..data import ARRAYS

    click.echo(ds.name)
    click.echo(f"  source:  {ds.source}")
    shape = ds.image_shape
    pixels = f"{ds.x_train.shape[1]} pixels" + (f" ({shape[0]} x {shape[1]})" if shape else "")
    for split in ("train", "test"):
        x = getattr(ds, f"x_{split}")
        y = getattr(ds, f"y_{split}")
        click.echo(f"  {split + ':':<8} {x.shape[0]} images x {pixels}, {x.dtype}; labels {y.dtype}, {len(np.unique(y))} classes")
    for split in ("train", "test"):
        click.echo(f"  classes ({split}): {_counts(getattr(ds, f'y_{split}'))}")
    click.echo("  sha256 of the arrays' bytes:")
    for key in ARRAYS:
        click.echo(f"    {key:<8} {ds.sha256[key]}")
    match = ds.matches_pinned()
    if match is not None:
        verdict = "match" if match else "do NOT match"
        click.echo(f"  these {verdict} the checksums pinned for {ds.name} in fastnoise.data.PINNED_SHA256")


def _status(name: str) -> str:
    from ..data import DatasetError, load

    try:
        ds = load(name)
    except DatasetError as exc:
        return f"{name}: {exc}"
    return f"{name}: {ds.x_train.shape[0]} train + {ds.x_test.shape[0]} test images, verified; {ds.source}"


@data_group.command("info")
@click.argument("name", metavar="[NAME]", required=False)
@click.option(
    "--path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="An IDX folder (the 4 standard files, .gz or plain) or a cache folder made with fetch --cache.",
)
def info_cmd(name: str | None, path: Path | None) -> None:
    """Describe a data set: shapes, class counts, source, checksums, where it is.

    With no NAME, list the known data sets and whether each is available. Exit status 1 when
    NAME is missing or corrupt (the message says how to get it).
    """
    from ..data import DATASETS, DatasetError, cache_paths, default_cache_dir, load, load_idx_folder

    if name is not None and name not in DATASETS:
        fail(f"NAME {name!r} is not a known data set; allowed: {', '.join(DATASETS)}")
    if name is None and path is None:
        click.echo(f"cache: {default_cache_dir()}")
        for known in DATASETS:
            click.echo(_status(known))
        return
    try:
        if name is not None:
            ds = load(name, path)
        else:
            assert path is not None
            cached = [n for n in DATASETS if cache_paths(n, path)[0].exists()]
            if cached:
                for i, n in enumerate(cached):
                    if i:
                        click.echo()
                    _describe(load(n, path))
                return
            ds = load_idx_folder(path)
    except DatasetError as exc:
        fail(str(exc), code=1)
    _describe(ds)
