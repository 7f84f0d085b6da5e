"""Sweeps on a TLS Dask cluster: certificates made here, a real ``dask scheduler`` and ``dask worker`` started from the
command line, the CLI's ``--tls-*`` options and Dask's own TLS configuration, and clients without a valid certificate
refused with one line.

Skipped when dask.distributed is not installed (``pip install 'fastnoise[dask]'``) or ``openssl`` is not on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

import fastnoise.sweep as sw
from fastnoise.cli import main

dask = pytest.importorskip("dask", reason="dask is not installed (pip install 'fastnoise[dask]')")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'fastnoise[dask]')")

OPENSSL = shutil.which("openssl")
DASK = Path(sys.executable).parent / "dask"  # the console script installed with distributed
pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not on PATH (needed to make the test certificates)"),
    pytest.mark.skipif(not DASK.exists(), reason=f"no dask command line beside {sys.executable}"),
]

KEYS = ["cell", "replica", "step"]
SPEC = """name = "tls"
[base]
model = "neuron"
steps = 500
replicas = 2
records = 4
d = 6
[grid]
lr = [0.01, 0.05]
"""
N_CELLS = 2
START_TIMEOUT = 90.0  # seconds for the scheduler and the worker to come up (a bound, not a measurement)


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        return CliRunner()


def _read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder).sort_values(KEYS).reset_index(drop=True)


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run([str(OPENSSL), *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _self_signed(folder: Path, name: str) -> None:
    _openssl(
        folder, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
    )  # fmt: skip


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA; a certificate for the scheduler and worker and one for the client, both signed by it; a "rogue"
    self-signed certificate (another CA); an encrypted copy of the client key. The same commands as docs/sweep.md."""
    folder = tmp_path_factory.mktemp("certs")
    _self_signed(folder, "ca")
    for name in ("cluster", "client"):
        _openssl(
            folder, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
        )  # fmt: skip
        _openssl(
            folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2",
        )  # fmt: skip
    _self_signed(folder, "rogue")
    _openssl(folder, "pkey", "-in", "client.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key")
    names = ["ca.pem", "cluster.pem", "cluster.key", "client.pem", "client.key", "rogue.pem", "rogue.key", "encrypted.key"]
    return {n: folder / n for n in names}


def _client_tls(certs: dict[str, Path], cert: str = "client") -> list[str]:
    return [
        "--tls-ca-file",
        str(certs["ca.pem"]),
        "--tls-cert",
        str(certs[f"{cert}.pem"]),
        "--tls-key",
        str(certs[f"{cert}.key"]),
    ]


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each started process group (the worker's nanny and its worker process), then SIGKILL what is left."""
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(folder.glob("*.log")))


@pytest.fixture(scope="module")
def tls_cluster(certs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    """A real TLS cluster on 127.0.0.1: ``dask scheduler --protocol tls`` and one ``dask worker``, both with the cluster
    certificate and no dashboard; killed at the end of the module whatever happens. Returns the scheduler address."""
    folder = tmp_path_factory.mktemp("tls-cluster")
    procs: list[subprocess.Popen] = []
    request.addfinalizer(lambda: _stop(procs))
    tls = ["--tls-ca-file", str(certs["ca.pem"]), "--tls-cert", str(certs["cluster.pem"]), "--tls-key", str(certs["cluster.key"])]
    no_dashboard = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]  # its HTTP server starts anyway
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}

    def spawn(args: list[str], log: str) -> None:
        with open(folder / log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [str(DASK), *args], stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=env, start_new_session=True
                )
            )

    scheduler_file = folder / "scheduler.json"
    spawn(
        ["scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0", *no_dashboard, *tls,
         "--scheduler-file", str(scheduler_file)],
        "scheduler.log",
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    address = None
    while address is None:
        assert procs[0].poll() is None, f"dask scheduler exited\n{_logs(folder)}"
        assert time.monotonic() < deadline, f"dask scheduler did not start\n{_logs(folder)}"
        try:
            address = json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.2)
    assert address.startswith("tls://127.0.0.1:"), address
    spawn(
        ["worker", address, "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1", *no_dashboard, *tls,
         "--local-directory", str(folder / "worker")],
        "worker.log",
    )  # fmt: skip
    security = distributed.Security(
        tls_ca_file=str(certs["ca.pem"]),
        tls_client_cert=str(certs["client.pem"]),
        tls_client_key=str(certs["client.key"]),
        require_encryption=True,
    )
    with distributed.Client(address, security=security, timeout="30s") as client:
        try:
            client.wait_for_workers(1, timeout=START_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"no worker registered with the TLS scheduler\n{_logs(folder)}")
    return address


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(spec path, in-process dataset folder)."""
    root = tmp_path_factory.mktemp("tls-ref")
    spec = root / "tls.toml"
    spec.write_text(SPEC)
    folder = root / "inline"
    assert sw.run_sweep(spec, folder).ok
    return spec, folder


def test_tls_sweep_with_certificates_equals_in_process(tls_cluster, certs, reference, tmp_path):
    """--scheduler tls://... with --tls-ca-file/--tls-cert/--tls-key: every cell ran on the TLS worker, and the
    fragments equal the in-process run's, row for row."""
    spec, inline = reference
    out = tmp_path / "tls"
    args = ["sweep", str(spec), "--out", str(out), "--scheduler", tls_cluster, *_client_tls(certs), "--no-progress"]
    result = _runner().invoke(main, args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert f"{N_CELLS} run, 0 skipped, 0 failed" in result.stdout.replace(" (already done)", "")
    assert f"TLS with --tls-cert {certs['client.pem']}" in result.stderr
    pd.testing.assert_frame_equal(_read(out), _read(inline), check_exact=True)
    runs = [json.loads(pq.read_metadata(p).metadata[b"fastnoise.run"]) for p in sorted(out.glob("cell-*.parquet"))]
    assert len(runs) == N_CELLS and all(r["executor"] == "dask" for r in runs)
    assert {r["worker"].rsplit(":", 1)[1] for r in runs} != {str(os.getpid())}


def test_tls_settings_from_a_dask_config_file_are_used(tls_cluster, certs, reference, tmp_path):
    """No --tls-* options: the Client's default Security() takes the certificates from a YAML file in $DASK_CONFIG
    (distributed.comm.tls.ca-file, .client.cert, .client.key). Run as the console command, in its own process."""
    spec, inline = reference
    config = tmp_path / "dask-config"
    config.mkdir()
    (config / "tls.yaml").write_text(
        "distributed:\n  comm:\n    require-encryption: true\n    tls:\n"
        f"      ca-file: {certs['ca.pem']}\n      client:\n        cert: {certs['client.pem']}\n"
        f"        key: {certs['client.key']}\n"
    )
    out = tmp_path / "from-config"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env.update(DASK_CONFIG=str(config), HOME=str(tmp_path))  # only this file: no ~/.config/dask of the machine
    proc = subprocess.run(
        [sys.executable, "-m", "fastnoise.cli", "sweep", str(spec), "--out", str(out), "--scheduler", tls_cluster,
         "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "TLS settings from Dask's configuration" in proc.stderr
    pd.testing.assert_frame_equal(_read(out), _read(inline), check_exact=True)


NO_TLS_CONFIG = {
    "distributed.comm.tls.ca-file": None,
    "distributed.comm.tls.client.cert": None,
    "distributed.comm.tls.client.key": None,
    "distributed.comm.require-encryption": None,
    "distributed.client.security-loader": None,
}


def _assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit 2, no traceback, and exactly one ``Error:`` line (the last on stderr) holding every fragment."""
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@pytest.mark.parametrize(
    "how, fragments",
    [
        ("no certificates", ["needs a client certificate", "--tls-ca-file", "distributed.comm.tls.client.cert"]),
        ("another CA's certificate", ["cannot connect", "signed by its CA"]),
        ("plain tcp", ["cannot connect"]),
    ],
)
def test_a_client_without_a_valid_certificate_is_refused(tls_cluster, certs, reference, tmp_path, how, fragments):
    """The TLS scheduler lets no one in without a certificate of its CA: with none (and none in Dask's configuration),
    with a self-signed one, or over plain TCP, the sweep stops with one line, exit 2, no traceback, no folder."""
    spec, _ = reference
    out = tmp_path / "refused"
    address, tls = tls_cluster, []
    if how == "another CA's certificate":
        tls = ["--tls-ca-file", str(certs["ca.pem"]), "--tls-cert", str(certs["rogue.pem"]), "--tls-key", str(certs["rogue.key"])]
    if how == "plain tcp":
        address = tls_cluster.replace("tls://", "tcp://")
    with dask.config.set(NO_TLS_CONFIG):
        result = _runner().invoke(main, ["sweep", str(spec), "--out", str(out), "--scheduler", address, *tls, "--no-progress"])
    line = _assert_one_line_error(result, *fragments)
    assert address in line
    assert not out.exists()


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--scheduler", "tls://127.0.0.1:9", "--tls-ca-file", "@tmp/missing.pem"], ["'--tls-ca-file'", "does not exist"]),
        (["--scheduler", "tls://127.0.0.1:9", "--tls-cert", "@tmp"], ["'--tls-cert'", "is a directory"]),
        (["--tls-ca-file", "@ca.pem", "--tls-cert", "@client.pem"], ["--tls-ca-file, --tls-cert", "only with --scheduler"]),
        (["--cluster", "local:1", "--tls-key", "@client.key"], ["--tls-key", "only with --scheduler", "--cluster"]),
        (["--scheduler", "tcp://127.0.0.1:9", "--tls-ca-file", "@ca.pem", "--tls-cert", "@client.pem"], ["tls://", "tcp://"]),
        (["--scheduler", "tls://127.0.0.1:9", "--tls-ca-file", "@ca.pem"], ["--tls-ca-file and --tls-cert go together"]),
        (["--scheduler", "tls://127.0.0.1:9", "--tls-ca-file", "@ca.pem", "--tls-cert", "@client.pem"], ["no private key"]),
        (
            [
                "--scheduler",
                "tls://127.0.0.1:9",
                "--tls-ca-file",
                "@ca.pem",
                "--tls-cert",
                "@client.pem",
                "--tls-key",
                "@rogue.key",
            ],
            ["cannot load the TLS files", "--tls-key"],
        ),
        (
            [
                "--scheduler",
                "tls://127.0.0.1:9",
                "--tls-ca-file",
                "@ca.pem",
                "--tls-cert",
                "@client.pem",
                "--tls-key",
                "@encrypted.key",
            ],
            ["encrypted"],
        ),  # fmt: skip
        (["--scheduler", "tls://127.0.0.1:9"], ["needs a client certificate"]),
    ],
)
def test_bad_tls_options_are_one_line_errors_before_any_work(certs, tmp_path, args, fragments):
    """Every bad --tls-* combination is refused before anything is compiled, connected to or written."""
    paths = {"@tmp": tmp_path, "@tmp/missing.pem": tmp_path / "missing.pem", **{f"@{n}": p for n, p in certs.items()}}
    args = [str(paths[a]) if a.startswith("@") else a for a in args]
    out = tmp_path / "out"
    with dask.config.set(NO_TLS_CONFIG):
        result = _runner().invoke(main, ["sweep", "--grid", "lr=0.01,0.02", "--out", str(out), *args, "--no-progress"])
    _assert_one_line_error(result, *fragments)
    assert result.stderr.startswith("Error:")  # nothing started: not even the sweep's summary line
    assert not out.exists()
