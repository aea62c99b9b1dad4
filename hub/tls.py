"""The hub's TLS settings checked and turned into what uses them: the broker clients'
``TlsSettings`` and the CA handed to devices at claim time (uvicorn takes the HTTPS files as they are).

``check_tls`` runs when settings load, so a missing file, a certificate without its key or a key
that does not match fails ``officehub serve`` at once with the setting's name, not on first connect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from protocol.broker_tls import TlsConfigError, TlsSettings, parse_broker_url, read_pem, server_context


class TlsSettingsSource(Protocol):
    """The TLS part of ``hub.settings.Settings`` (a protocol, so settings can check themselves here
    without an import cycle)."""

    @property
    def tls_certfile(self) -> Path | None: ...
    @property
    def tls_keyfile(self) -> Path | None: ...
    @property
    def broker_certfile(self) -> Path | None: ...
    @property
    def broker_keyfile(self) -> Path | None: ...
    @property
    def broker_ca_file(self) -> Path | None: ...
    @property
    def device_ca_file(self) -> Path | None: ...
    @property
    def broker_tls_check_hostname(self) -> bool: ...
    @property
    def broker_url(self) -> str | None: ...
    @property
    def public_url(self) -> str | None: ...


def _pair(cert: object, key: object, cert_name: str, key_name: str) -> None:
    if (cert is None) != (key is None):
        have, missing = (cert_name, key_name) if key is None else (key_name, cert_name)
        raise ValueError(f"OFFICEHUB_{have.upper()} is set but OFFICEHUB_{missing.upper()} is not: set both or "
                         "neither")


def check_tls(settings: TlsSettingsSource) -> None:
    """Raise ValueError (shown as a configuration error) for an unusable TLS setting."""
    s = settings
    _pair(s.tls_certfile, s.tls_keyfile, "tls_certfile", "tls_keyfile")
    _pair(s.broker_certfile, s.broker_keyfile, "broker_certfile", "broker_keyfile")
    try:
        if s.tls_certfile is not None and s.tls_keyfile is not None:
            server_context(cert_file=s.tls_certfile, key_file=s.tls_keyfile)
            if s.public_url is not None and not s.public_url.lower().startswith("https://"):
                raise ValueError(f"OFFICEHUB_PUBLIC_URL is {s.public_url!r} but the hub serves only HTTPS "
                                 "(tls_certfile): devices would get download links that do not work; use https://")
        tls = broker_tls(s)
        if tls is not None:
            if s.broker_url is None or not parse_broker_url(s.broker_url).tls:
                # A CA next to a plain URL reads like "the link is encrypted" while it is not.
                raise ValueError("broker TLS settings (broker_ca_file, broker_certfile, broker_tls_check_hostname) "
                                 "are set but OFFICEHUB_BROKER_URL is not "
                                 "mqtts://host:port: the broker link would not be encrypted")
            tls.client_context()
        device_ca_pem(s)
    except TlsConfigError as exc:
        raise ValueError(str(exc)) from exc


def broker_tls(settings: TlsSettingsSource) -> TlsSettings | None:
    """What the hub's MQTT clients (ingest, dynsec admin) trust and present; None: defaults."""
    s = settings
    if s.broker_ca_file is None and s.broker_certfile is None and s.broker_tls_check_hostname:
        return None
    return TlsSettings(ca_file=s.broker_ca_file, cert_file=s.broker_certfile, key_file=s.broker_keyfile,
                       check_hostname=s.broker_tls_check_hostname)


def device_ca_pem(settings: TlsSettingsSource) -> str | None:
    """The CA bundle a claimed device is told to trust (broker and HTTPS); None: public CAs."""
    path = settings.device_ca_file or settings.broker_ca_file
    return read_pem(path, "device CA file") if path is not None else None

