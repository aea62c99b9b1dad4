"""TLS for real: a Mosquitto with TLS listeners only (dynsec accounts), certificates made for the
session, the hub in process and as `officehub serve` over HTTPS, device agents over mqtts.

Proves: the hub (ingest and the dynsec admin) connects over mqtts; a device claims over HTTPS, gets
the site CA with its credentials and sends an event over mqtts that the hub stores; a client trusting
another CA, or expecting another host name, is refused; a listener that requires client
certificates takes the hub with one and refuses clients without; the hub's HTTPS answers a client
with the site CA and nothing else (plain HTTP, or the system's CAs).
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from devices.door_terminal.agent import DoorTerminal
from devices.runtime.claim import resolve_identity
from firmware_sim.adapters import SimulatedLock
from hub.api.app import create_app
from hub.runtime import HubRuntime
from protocol import events
from protocol.broker_tls import TlsSettings
from tests.fixtures.brokers import unique_id
from tests.fixtures.hub import ADMIN_PASSWORD, login, make_settings, start_hub
from tests.fixtures.hub_process import HubProcess
from tests.fixtures.tls import TlsFiles, TlsMosquitto
from tests.support.waiting import wait_for


def _hub_settings(broker: TlsMosquitto, files: TlsFiles, *, url: str | None = None) -> dict[str, Any]:
    return {"broker_url": url or broker.url, "broker_ca_file": files.ca, "broker_username": unique_id("hub"),
            "broker_password": "hub-pw-" + unique_id("x"), "broker_admin_username": broker.admin_user,
            "broker_admin_password": broker.admin_password}


@pytest.fixture
def tls_hub(tls_mosquitto: TlsMosquitto, tls_files: TlsFiles, tmp_path: Path) -> Iterator[HubRuntime]:
    kw = _hub_settings(tls_mosquitto, tls_files)
    rt = start_hub(make_settings(tmp_path / "hub", kw.pop("broker_url"), **kw))
    yield rt
    rt.stop()


class Outcome:
    """Records whether a paho client got its CONNACK or lost the link first."""

    def __init__(self, client: mqtt.Client) -> None:
        self.connected = False
        self.done = threading.Event()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object = None) -> None:
        self.connected = not rc.is_failure
        self.done.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, _rc: object, _p: object = None) -> None:
        self.done.set()


def _client(broker: TlsMosquitto, tls: TlsSettings) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_id("probe"))
    c.username_pw_set(broker.admin_user, broker.admin_password)
    c.tls_set_context(tls.client_context())
    return c


def test_a_claimed_device_and_the_hub_talk_over_mqtts(tls_hub: HubRuntime, tls_files: TlsFiles,
                                                      tmp_path: Path) -> None:
    assert tls_hub.mqtt.connected and tls_hub.broker_url.startswith("mqtts://")
    with TestClient(create_app(runtime=tls_hub)) as api:
        admin = login(api, "admin", ADMIN_PASSWORD)
        token = api.post("/api/v1/provisioning/claims", headers=admin,
                         json={"device_kind": "door_terminal", "group": "tls"}).json()["token"]
        res = api.post("/api/v1/provisioning/claim", json={"token": token, "device_kind": "door_terminal"})
        assert res.status_code == 200, res.text
        body = res.json()
        # Claimed over dynsec through the TLS admin link; the site CA comes with the credentials.
        assert body["broker_auth"] == "dynsec" and body["mqtt"]["url"].startswith("mqtts://")
        assert body["ca_pem"] == tls_files.ca.read_text()
        door = DoorTerminal(device_id=body["device_id"], broker_url=body["mqtt"]["url"], workdir=tmp_path / "door",
                            lock=SimulatedLock(), username=body["mqtt"]["username"],
                            password=body["mqtt"]["password"], tls=TlsSettings(ca_pem=body["ca_pem"]))
        door.start()
        try:
            assert door.agent.wait_connected(20)
            ev = door.agent.emit(events.TestEvent(n=7, note="over tls"))
            found = wait_for(lambda: api.get("/api/v1/events", headers=admin,
                                             params={"device_id": door.device_id, "type": "test"}).json()["items"],
                             what="the hub stored the event sent over mqtts")
            assert [e["event_id"] for e in found] == [ev.event_id]
        finally:
            door.stop()


def test_a_client_trusting_another_ca_or_expecting_another_host_is_refused(
        tls_mosquitto: TlsMosquitto, tls_files: TlsFiles) -> None:
    stranger = _client(tls_mosquitto, TlsSettings(ca_file=tls_files.other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        stranger.connect(tls_mosquitto.host, tls_mosquitto.port)
    # The right CA but a name the certificate does not carry: host names are checked by default.
    ctx = TlsSettings(ca_file=tls_files.ca).client_context()
    with socket.create_connection((tls_mosquitto.host, tls_mosquitto.port)) as raw, \
            pytest.raises(ssl.SSLCertVerificationError, match="match"):
        ctx.wrap_socket(raw, server_hostname="not-the-broker.example")
    # The right CA and name: a CONNACK (the control case, so the refusals above mean something).
    ok = _client(tls_mosquitto, TlsSettings(ca_file=tls_files.ca))
    outcome = Outcome(ok)
    ok.connect(tls_mosquitto.host, tls_mosquitto.port)
    ok.loop_start()
    try:
        assert outcome.done.wait(20) and outcome.connected
    finally:
        ok.disconnect()
        ok.loop_stop()


def test_a_listener_requiring_client_certificates(tls_mosquitto: TlsMosquitto, tls_files: TlsFiles,
                                                  tmp_path: Path) -> None:
    kw = _hub_settings(tls_mosquitto, tls_files, url=tls_mosquitto.mtls_url)
    rt = start_hub(make_settings(tmp_path / "hub", kw.pop("broker_url"), broker_certfile=tls_files.client_cert,
                                 broker_keyfile=tls_files.client_key, **kw))  # start_hub waits for the connection
    rt.stop()
    for tls in (TlsSettings(ca_file=tls_files.ca),  # no certificate at all
                TlsSettings(ca_file=tls_files.ca, cert_file=tls_files.other_ca_client_cert,
                            key_file=tls_files.other_ca_client_key)):  # one the site CA never signed
        client = _client(tls_mosquitto, tls)
        outcome = Outcome(client)
        try:
            client.connect(tls_mosquitto.host, tls_mosquitto.mtls_port)
        except (ssl.SSLError, OSError):
            continue  # refused in the handshake itself
        client.loop_start()
        try:
            assert outcome.done.wait(20), "neither CONNACK nor disconnect"
            assert not outcome.connected
        finally:
            client.loop_stop()


@pytest.fixture
def https_hub(tls_mosquitto: TlsMosquitto, tls_files: TlsFiles, tmp_path: Path) -> Iterator[HubProcess]:
    kw = _hub_settings(tls_mosquitto, tls_files)
    env = {"OFFICEHUB_TLS_CERTFILE": str(tls_files.server_cert), "OFFICEHUB_TLS_KEYFILE": str(tls_files.server_key),
           "OFFICEHUB_BROKER_CA_FILE": str(tls_files.ca), "OFFICEHUB_FACE_WORKERS": "1",
           **{f"OFFICEHUB_{k.upper()}": str(v) for k, v in kw.items() if k not in ("broker_url", "broker_ca_file")}}
    proc = HubProcess(tmp_path, kw["broker_url"], f"sqlite:///{tmp_path / 'hub.db'}", extra_env=env,
                      ca_file=tls_files.ca)
    proc.start()
    yield proc
    proc.stop()


def test_the_hub_serves_https_and_a_device_claims_over_it(https_hub: HubProcess, tls_files: TlsFiles,
                                                          tmp_path: Path) -> None:
    assert https_hub.base_url.startswith("https://")
    res = httpx.get(f"{https_hub.base_url}/healthz", verify=https_hub.verify, timeout=10)
    assert res.status_code == 200 and res.json()["mqtt"] is True  # ingest connected over mqtts
    with pytest.raises(httpx.HTTPError):  # plain HTTP to the HTTPS port gets no answer
        httpx.get(f"http://127.0.0.1:{https_hub.port}/healthz", timeout=10)
    with pytest.raises(httpx.ConnectError):  # the system's CAs do not vouch for a private CA
        httpx.get(f"{https_hub.base_url}/healthz", timeout=10)

    with httpx.Client(base_url=https_hub.base_url, verify=https_hub.verify, timeout=30) as api:
        token_res = api.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {token_res.json()['access_token']}"}
        token = api.post("/api/v1/provisioning/claims", headers=admin,
                         json={"device_kind": "door_terminal", "group": "tls"}).json()["token"]
        # What `door --claim-token … --hub-url https://… --ca-file ca.pem` does on first start.
        workdir = tmp_path / "door"
        ident = resolve_identity(workdir=workdir, kind="door_terminal", device_id=None, broker_url="mqtt://unused:1",
                                 username=None, password=None, claim_token=token, hub_url=https_hub.base_url,
                                 tls=TlsSettings(ca_file=tls_files.ca))
        assert ident.broker_url.startswith("mqtts://") and ident.tls is not None
        assert ident.tls.ca_pem == tls_files.ca.read_text()  # kept with the credentials for later starts
        # A later start without --ca-file still trusts the site: the CA came with the claim.
        again = resolve_identity(workdir=workdir, kind="door_terminal", device_id=None, broker_url="x",
                                 username=None, password=None, claim_token=None, hub_url=None)
        assert again.tls is not None and again.tls.ca_pem == ident.tls.ca_pem
        door = DoorTerminal(device_id=again.device_id, broker_url=again.broker_url, workdir=workdir,
                            lock=SimulatedLock(), username=again.username, password=again.password, tls=again.tls)
        door.start()
        try:
            assert door.agent.wait_connected(20)
            ev = door.agent.emit(events.TestEvent(n=1, note="claimed over https"))
            wait_for(lambda: api.get("/api/v1/events", headers=admin,
                                     params={"device_id": door.device_id, "type": "test"}).json()["items"],
                     what="the event reached the hub over mqtts")
            assert api.get(f"/api/v1/devices/{door.device_id}", headers=admin).json()["kind"] == "door_terminal"
            # Downloads (print files, firmware) use the same trust: the hub's HTTPS with the claim's CA.
            with urllib.request.urlopen(f"{https_hub.base_url}/healthz", context=door.agent.https_context(),
                                        timeout=10) as r:
                assert r.status == 200
        finally:
            door.stop()
        assert ev.event_id
