"""Claim on first start: trade a one-time claim token for this device's identity and broker
credentials over HTTPS, and keep them in the workdir (owner-only) for every later start.

A hub with a private CA hands that CA out with the credentials (``ca_pem``); the device trusts it for
the broker (mqtts) and the hub's HTTPS from then on. The very first request, the claim itself, is
verified with ``--ca-file`` (or the system store): the token must not go to an impostor.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

from protocol.broker_tls import TlsSettings

CREDENTIALS_FILE = "credentials.json"


class ClaimFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    device_id: str
    kind: str
    broker_url: str
    username: str | None
    password: str | None
    firmware_public_key: str
    hub_url: str
    broker_auth: str
    ca_pem: str | None = None  # the CA the hub handed out (None: public CAs / plain MQTT)


def load_credentials(workdir: Path) -> DeviceCredentials | None:
    path = Path(workdir) / CREDENTIALS_FILE
    if not path.exists():
        return None
    try:
        return DeviceCredentials(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ClaimFailed(f"{path} is unreadable ({exc}); remove it and claim again with a new token") from exc


def save_credentials(workdir: Path, creds: DeviceCredentials) -> Path:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / CREDENTIALS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(creds), f)
    os.replace(tmp, path)
    (workdir / "firmware-key.pub").write_text(creds.firmware_public_key)
    return path


def _retry_after(res: httpx.Response) -> float:
    try:
        return max(1.0, float(res.headers.get("Retry-After", "")))
    except ValueError:
        return 30.0


def _verify(tls: TlsSettings | None) -> ssl.SSLContext | bool:
    return tls.client_context(system_roots=True) if tls is not None and tls.has_ca else True


def claim_device(*, hub_url: str, token: str, workdir: Path, kind: str, device_id: str | None = None,
                 timeout_s: float = 30, max_wait_s: float = 600, tls: TlsSettings | None = None) -> DeviceCredentials:
    """Claim once; later calls return the stored credentials without using the token again.

    A hub throttling failed claims from this address (429, e.g. other devices behind the same NAT
    got it wrong) is waited out as it asks, for at most ``max_wait_s`` in all.
    """
    stored = load_credentials(workdir)
    if stored is not None:
        return stored
    deadline = time.monotonic() + max_wait_s
    verify = _verify(tls)
    while True:
        try:
            res = httpx.post(hub_url.rstrip("/") + "/api/v1/provisioning/claim", timeout=timeout_s, verify=verify,
                             json={"token": token, "device_kind": kind, "device_id": device_id})
        except httpx.HTTPError as exc:
            raise ClaimFailed(f"cannot reach the hub at {hub_url}: {exc}") from exc
        wait = _retry_after(res) if res.status_code == 429 else None
        if wait is None or time.monotonic() + wait > deadline:
            break
        time.sleep(wait)
    if res.status_code != 200:
        try:
            detail = res.json().get("detail", res.text)
        except ValueError:
            detail = res.text
        raise ClaimFailed(f"the hub refused the claim (HTTP {res.status_code}): {detail}")
    body = res.json()
    creds = DeviceCredentials(device_id=body["device_id"], kind=body["kind"], broker_url=body["mqtt"]["url"],
                              username=body["mqtt"]["username"], password=body["mqtt"]["password"],
                              firmware_public_key=body["firmware_public_key"], hub_url=body["hub_url"],
                              broker_auth=body["broker_auth"], ca_pem=body.get("ca_pem"))
    save_credentials(workdir, creds)
    return creds


@dataclass(frozen=True, slots=True)
class Identity:
    device_id: str
    broker_url: str
    username: str | None
    password: str | None
    tls: TlsSettings | None = None


def resolve_identity(*, workdir: Path, kind: str, device_id: str | None, broker_url: str, username: str | None,
                     password: str | None, claim_token: str | None, hub_url: str | None,
                     tls: TlsSettings | None = None) -> Identity:
    """For device CLIs: stored or freshly claimed credentials win; else the explicit options.
    ``tls`` (``--ca-file``, client certificate) is kept, plus the CA the hub handed out at claim."""
    creds = load_credentials(workdir)
    if creds is None and claim_token:
        if not hub_url:
            raise ClaimFailed("--claim-token needs --hub-url (where to claim)")
        creds = claim_device(hub_url=hub_url, token=claim_token, workdir=workdir, kind=kind, device_id=device_id,
                             tls=tls)
    if creds is not None:
        if creds.ca_pem:
            tls = replace(tls or TlsSettings(), ca_pem=creds.ca_pem)
        return Identity(creds.device_id, creds.broker_url, creds.username, creds.password, tls)
    if not device_id:
        raise ClaimFailed("give --device-id (already provisioned) or --claim-token and --hub-url (first start)")
    return Identity(device_id, broker_url, username, password, tls)
