"""Provisioning through the hub API against a real Mosquitto with authentication (dynsec):
per-device credentials confine a device to its own subtree; revocation cuts it off; claim tokens are
one-time and expire; refusals are audited.

"Not delivered" is proven without sleeping: after a forbidden message an allowed one follows on the
same connection; Mosquitto keeps per-publisher order, so once the allowed one arrived, a forbidden one
would have arrived before it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devices.door_terminal.agent import DoorTerminal
from firmware_sim.adapters import SimulatedLock
from hub.services.auth_audit import denied_access
from protocol import topics
from tests.fixtures.brokers import unique_id
from tests.fixtures.secure_hub import SecureSite
from tests.support.mqtt_conn import WAIT, connect
from tests.support.waiting import wait_for


@pytest.fixture
def site(secure_site: SecureSite) -> SecureSite:
    return secure_site


def test_claimed_devices_are_confined_to_their_own_subtree(site: SecureSite, tmp_path: Path) -> None:
    a = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    b = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    # Device accounts live in their own namespace; the client id is the device id.
    assert a["broker_auth"] == "dynsec" and a["mqtt"]["password"]
    assert a["mqtt"]["username"] == f"device:{a['device_id']}"
    assert a["mqtt"]["client_id"] == a["device_id"] and a["firmware_public_key"]
    a_id, b_id = a["device_id"], b["device_id"]
    a_user = a["mqtt"]["username"]
    listed = site.api.get("/api/v1/devices", headers=site.admin, params={"group": "lobby", "tag": "floor-1"}).json()
    assert {a_id, b_id} <= {d["id"] for d in listed["items"]}

    observer = site.connect(site.hub_user, site.hub_password, unique_id("obs"))
    assert not observer.subscribe(topics.events(b_id)).is_failure
    assert not observer.subscribe(topics.events(a_id)).is_failure
    # A publishes into B's subtree: Mosquitto drops it and closes A's connection (MQTT-3.3.5-2).
    forger = site.connect(a_user, a["mqtt"]["password"], client_id=a_id)
    assert forger.connack is not None and not forger.connack.is_failure
    forger.client.publish(topics.events(b_id), b'{"forged": true}', qos=1)
    assert forger.disconnected.wait(WAIT), "a publish into another device's subtree must cut the device off"
    # A's own subtree still works; the observer sees only A's message (per-publisher order).
    dev_a = site.connect(a_user, a["mqtt"]["password"], client_id=a_id)
    dev_a.publish(topics.events(a_id), b"marker")
    assert observer.messages.get(timeout=WAIT) == (topics.events(a_id), b"marker")
    assert observer.messages.empty()

    # A cannot read B's commands: the subscription is refused, and nothing of B's reaches A.
    assert dev_a.subscribe(topics.command(b_id)).is_failure
    assert not dev_a.subscribe(topics.command(a_id)).is_failure
    observer.publish(topics.command(b_id), b"secret-for-b")
    observer.publish(topics.command(a_id), b"for-a")
    assert dev_a.messages.get(timeout=WAIT) == (topics.command(a_id), b"for-a")
    assert dev_a.messages.empty()

    # A's credentials cannot be used under another client id (no session takeover of B).
    stolen = site.connect(a_user, a["mqtt"]["password"], client_id=b_id)
    assert stolen.connack is not None and stolen.connack.is_failure


def test_a_real_agent_works_with_its_claimed_credentials_and_revocation_cuts_it_off(
        site: SecureSite, tmp_path: Path) -> None:
    creds = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    device_id = creds["device_id"]
    door = DoorTerminal(device_id=device_id, broker_url=creds["mqtt"]["url"], workdir=tmp_path / device_id,
                        lock=SimulatedLock(), username=creds["mqtt"]["username"],
                        password=creds["mqtt"]["password"], heartbeat_s=2)
    door.start()
    try:
        assert door.agent.wait_connected(WAIT)
        wait_for(lambda: site.api.get(f"/api/v1/devices/{device_id}", headers=site.admin).json()["online"])
        res = site.api.post(f"/api/v1/devices/{device_id}/commands", headers=site.admin,
                            json={"name": "ping", "args": {"echo": "hi"}})
        cmd_id = res.json()["id"]
        acked = wait_for(lambda: (c := site.api.get(f"/api/v1/devices/{device_id}/commands/{cmd_id}",
                                                    headers=site.admin).json())["state"] == "acked" and c)
        assert acked["result"]["echo"] == "hi" and acked["result"]["pong"] is True
        # The claim pushed the layered default config; the device applied and reported it.
        cfg = wait_for(lambda: (v := site.api.get(f"/api/v1/devices/{device_id}/config",
                                                  headers=site.admin).json())["in_sync"] and v)
        assert cfg["version"] >= 1 and cfg["desired"]["door_unlock_s"] == cfg["reported"]["door_unlock_s"]

        revoked = site.api.post(f"/api/v1/devices/{device_id}/revoke", headers=site.admin)
        assert revoked.status_code == 200 and revoked.json()["revoked"] is True
        wait_for(lambda: not door.agent.connected)
    finally:
        door.stop()
    dev = site.api.get(f"/api/v1/devices/{device_id}", headers=site.admin).json()
    assert dev["revoked"] is True and dev["online"] is False
    again = connect(site.broker, creds["mqtt"]["username"], creds["mqtt"]["password"], device_id)
    site.conns.append(again)
    assert again.connack is not None and again.connack.is_failure, "a revoked device must not reconnect"
    refused = site.api.post(f"/api/v1/devices/{device_id}/commands", headers=site.admin, json={"name": "ping"})
    assert refused.status_code == 422
    assert any(e.target_id == device_id for e in site.audit("device.revoked"))


def test_claim_tokens_are_one_time_expiring_and_unforgeable(site: SecureSite) -> None:
    token = site.claim_token()
    assert site.claim(token).status_code == 200
    reused = site.claim(token)
    assert reused.status_code == 403 and "used" in reused.json()["detail"]

    short = site.claim_token(ttl_s=0.2)
    time.sleep(0.4)  # let the token expire (not a timing assertion)
    expired = site.claim(short)
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]

    forged = site.claim("ohc_" + "A" * 43)
    assert forged.status_code == 403 and "unknown" in forged.json()["detail"]
    no_admin = site.api.post("/api/v1/provisioning/claims", json={"device_kind": "door_terminal"},
                             headers={"Authorization": "Bearer forged.token.value"})
    assert no_admin.status_code == 401

    # Refusals from one address within the window are one audit entry with a count (first reason).
    denied_access(site.rt.services).flush()
    refused = site.audit("provisioning.claim_refused")
    assert {e.target_id for e in refused} == {"testclient"} and len(refused) <= 2
    assert sum(e.detail["count"] for e in refused) == 3 and refused[0].detail["reason"] == "used"
    # The expired token stays unused: a refusal changes nothing.
    claims = site.api.get("/api/v1/provisioning/claims", headers=site.admin).json()
    assert [c["used_at"] for c in claims][:2] == [None, claims[1]["used_at"]] and claims[1]["used_by"]
