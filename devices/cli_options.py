"""Command-line options every device CLI shares: how it trusts the broker and the hub (TLS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from protocol.broker_tls import TlsConfigError, TlsSettings

F = TypeVar("F", bound=Callable[..., Any])

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def tls_options(fn: F) -> F:
    """``--ca-file``, ``--cert-file``, ``--key-file`` (passed to the command as ``ca_file`` etc.)."""
    fn = click.option("--key-file", type=_FILE, default=None, envvar="OFFICEHUB_KEY_FILE",
                      help="Private key of --cert-file.")(fn)
    fn = click.option("--cert-file", type=_FILE, default=None, envvar="OFFICEHUB_CERT_FILE",
                      help="Client certificate (PEM) for a broker that requires one (mutual TLS).")(fn)
    fn = click.option("--ca-file", type=_FILE, default=None, envvar="OFFICEHUB_CA_FILE",
                      help="CA (PEM) to trust for an mqtts:// broker and the hub's HTTPS (claim, downloads); "
                           "default: the system store. A hub with a private CA also hands it out at claim.")(fn)
    return fn


def tls_from_options(*, ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> TlsSettings | None:
    if (cert_file is None) != (key_file is None):
        raise click.UsageError("--cert-file and --key-file go together")
    if ca_file is None and cert_file is None:
        return None
    tls = TlsSettings(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
    try:
        tls.client_context()  # a bad PEM or a key that does not match is reported now, not on connect
    except TlsConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return tls
