"""How a client reaches the broker: the broker URL and the TLS context, one implementation for the
hub and every device.

It lives in protocol/ because both sides need it and it needs neither (standard library only; paho
takes the finished ``ssl.SSLContext`` through ``tls_set_context``). A hub importing it from
``devices.runtime`` would load the whole device agent (outbox, executor) just to parse a URL.

Rules both sides get from here: ``mqtts://`` means TLS (default port 8883), the server certificate
is always verified, and its host name is checked unless a caller turns that off on purpose.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PLAIN_SCHEMES = {"mqtt": 1883, "tcp": 1883}
TLS_SCHEMES = {"mqtts": 8883}


class TlsConfigError(ValueError):
    """A TLS file is missing, unreadable or not what it should be; the message names it."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://host:port`` (default 1883) or ``mqtts://host:port`` (TLS, default 8883)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if (scheme not in PLAIN_SCHEMES and scheme not in TLS_SCHEMES) or not parts.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port or mqtts://host:port, got {url!r}")
    tls = scheme in TLS_SCHEMES
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"broker URL {url!r} has an invalid port") from exc
    return BrokerAddress(parts.hostname, port or (TLS_SCHEMES[scheme] if tls else PLAIN_SCHEMES[scheme]), tls)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """What a client trusts and presents. No CA at all means the system's trust store.

    ``ca_file`` and ``ca_pem`` (the PEM text a hub hands a device at claim time) are both trusted
    when both are given. ``cert_file``/``key_file`` are the optional client certificate (mutual TLS).
    """

    ca_file: Path | None = None
    ca_pem: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True

    @property
    def has_ca(self) -> bool:
        return self.ca_file is not None or bool(self.ca_pem)

    def client_context(self, *, system_roots: bool = False) -> ssl.SSLContext:
        """A verifying client context. With a CA configured, only that CA is trusted (a private CA
        pins the broker), unless ``system_roots`` adds the system store too (HTTPS downloads, where
        the hub may sit behind a proxy with a public certificate)."""
        if (self.cert_file is None) != (self.key_file is None):
            raise TlsConfigError("a client certificate needs both its certificate and its key file")
        if self.has_ca and not system_roots:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies and checks host names; trusts nothing yet
        else:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)  # the system trust store
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.has_ca:
            if self.ca_file is not None:
                ca = _readable(self.ca_file, "CA file")
                _load(lambda: ctx.load_verify_locations(cafile=str(ca)), ca, "CA file")
            if self.ca_pem:
                try:
                    ctx.load_verify_locations(cadata=self.ca_pem)
                except (ssl.SSLError, ValueError) as exc:
                    raise TlsConfigError(f"the CA certificate received at claim time is not valid PEM: {exc}") from exc
        if self.cert_file is not None and self.key_file is not None:
            cert, key = _readable(self.cert_file, "client certificate"), _readable(self.key_file, "client key")
            _load(lambda: ctx.load_cert_chain(certfile=str(cert), keyfile=str(key)), cert,
                  "client certificate/key pair")
        ctx.check_hostname = self.check_hostname
        return ctx


def server_context(*, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """Load a server certificate and key as a server would, to report a bad pair before serving."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert, key = _readable(cert_file, "certificate"), _readable(key_file, "key")
    _load(lambda: ctx.load_cert_chain(certfile=str(cert), keyfile=str(key)), cert, "certificate/key pair")
    return ctx


def read_pem(path: Path, what: str) -> str:
    """The text of a PEM CA bundle, checked to hold at least one certificate."""
    _readable(path, what)
    try:
        text = Path(path).read_text()
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (OSError, UnicodeDecodeError, ssl.SSLError, ValueError) as exc:
        raise TlsConfigError(f"the {what} {path} holds no usable PEM certificate: {exc}") from exc
    return text


def _readable(path: Path, what: str) -> Path:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise TlsConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    return path


def _load(fn: Callable[[], None], path: Path, what: str) -> None:
    try:
        fn()
    except (ssl.SSLError, ValueError) as exc:
        raise TlsConfigError(f"the {what} {path} is not usable (PEM expected; does the key match?): {exc}") from exc
