"""TLS for a sweep's Dask client: the ``Security`` built from ``--tls-*`` files or Dask's configuration, checked before any work.

An open Dask scheduler runs any code any client sends it, on every worker (docs/sweep.md); a
``tls://`` address with client certificates is the way to close it. :func:`client_security`
loads the CA, the certificate and the key up front, so a wrong path, a key that does not match,
an encrypted key (OpenSSL would prompt on the terminal) or a ``tls://`` address with no client
certificate anywhere is a one-line :class:`~fastnoise.sweep.errors.SweepError`, not a hang.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .errors import SweepError, import_distributed, one_line

__all__ = ["client_security", "uses_tls"]

_TLS_SCHEMES = ("tls", "wss")


def uses_tls(address: str | None) -> bool:
    """Whether a scheduler address is a TLS one (``tls://``, ``wss://``)."""
    return (address or "").split("://", 1)[0].lower() in _TLS_SCHEMES


def client_security(address: str, files: Mapping[str, str]) -> Any:
    """The Client's ``security`` for ``address``: a Security of ``files``, or None (Dask's default).

    Parameters
    ----------
    address : str
        The scheduler address.
    files : mapping
        The given TLS files by option: ``--tls-ca-file``, ``--tls-cert``, ``--tls-key``.

    Raises
    ------
    SweepError
        TLS files with a non-TLS address, half a pair, a certificate without key, an encrypted or
        unloadable key, or a TLS address with no client certificate in the options or the config.
    """
    where = f"--scheduler {address}"
    if files and not uses_tls(address):
        raise SweepError(f"{', '.join(files)} need a TLS address, --scheduler tls://HOST:PORT; got {address!r}")
    if not files and not uses_tls(address):
        return None  # plain TCP: the Client's default, as before
    distributed = import_distributed("--scheduler")
    import dask

    if files:
        if "--tls-ca-file" not in files or "--tls-cert" not in files:
            raise SweepError("--tls-ca-file and --tls-cert go together (--tls-key too, unless the cert file holds the key)")
        ca, cert, key = files["--tls-ca-file"], files["--tls-cert"], files.get("--tls-key")
        security = distributed.Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
        what, key_option = ", ".join(f"{k} {v}" for k, v in files.items()), "--tls-key"
    elif dask.config.get("distributed.client.security-loader", None):
        return None  # the configured loader decides, at connection time
    else:
        try:
            security = distributed.Security()
        except ValueError as exc:  # e.g. distributed.comm.tls.min-version: 1.1
            raise SweepError(f"{where}: Dask's configuration distributed.comm.tls.*: {one_line(exc)}") from None
        ca, cert, key = security.tls_ca_file, security.tls_client_cert, security.tls_client_key
        if not (ca and cert):
            raise SweepError(
                f"{where} needs a client certificate: give --tls-ca-file and --tls-cert (and --tls-key), or set "
                "distributed.comm.tls.ca-file and distributed.comm.tls.client.cert (.key) in Dask's configuration"
            )
        what, key_option = "Dask's configuration distributed.comm.tls.*", "distributed.comm.tls.client.key"
    texts: dict[str, bytes] = {}
    for path in {p for p in (cert, key) if p and "\n" not in p}:  # a path, not an in-memory PEM
        with contextlib.suppress(OSError), open(path, "rb") as f:
            texts[path] = f.read(1 << 20)
    if key is None and b"PRIVATE KEY" not in texts.get(cert, b"PRIVATE KEY"):
        raise SweepError(f"{what}: {cert} holds no private key; give the key's file ({key_option})")
    if any(b"ENCRYPTED" in text for text in texts.values()):  # OpenSSL would ask for the passphrase on the terminal
        raise SweepError(f"{what}: the private key is encrypted; Dask needs an unencrypted key (openssl ... -nodes)")
    try:
        security.get_connection_args("client")  # loads the CA, the certificate and the key
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise SweepError(f"{what}: cannot load the TLS files: {one_line(exc)}") from None
    return security
