"""Abusing claim tokens against the hub API on a real Mosquitto with dynamic security.

A claim lets the claimant propose its device id. It must never touch a broker account that is not
a device's (the hub's, the dynsec admin's, anyone else's), never take over another device's identity,
and failed claims are throttled per address with one aggregated audit entry.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.broker.mosquitto_security import MosquittoDynsec
from hub.services.auth_audit import denied_access
from hub.services.fleet.provisioning import ProvisioningError
from hub.services.fleet.setup import FLEET
from protocol import topics
from protocol.payloads import Availability, AvailabilityStatus
from tests.fixtures.brokers import unique_id
from tests.fixtures.secure_hub import SecureSite
from tests.support.mqtt_conn import WAIT, Conn, connect
from tests.support.waiting import wait_for


def _logs_in(site: SecureSite, username: str, password: str, client_id: str | None = None) -> bool:
    conn = connect(site.broker, username, password, client_id or unique_id("probe"))
    try:
        return conn.connack is not None and not conn.connack.is_failure
    finally:
        conn.close()


def _ping(site: SecureSite, device_id: str, password: str, username: str) -> Conn:
    """A device that answers one command: proves the hub still sends commands and reads acks."""
    dev = site.connect(username, password, client_id=device_id)
    assert dev.connack is not None and not dev.connack.is_failure
    assert not dev.subscribe(topics.command(device_id)).is_failure
    dev.publish(topics.availability(device_id), Availability(status=AvailabilityStatus.ONLINE,
                                                             boot_id=unique_id("boot")).to_bytes(), retain=True)
    wait_for(lambda: site.api.get(f"/api/v1/devices/{device_id}", headers=site.admin).json().get("online"))
    res = site.api.post(f"/api/v1/devices/{device_id}/commands", headers=site.admin, json={"name": "ping"})
    assert res.status_code in (200, 201, 202), res.text
    topic, _ = dev.receive()
    assert topic == topics.command(device_id)
    return dev


def test_claiming_the_hub_account_is_refused_and_the_hub_keeps_its_rights(secure_site: SecureSite) -> None:
    site = secure_site
    token = site.claim_token()
    res = site.claim(token, device_id=site.hub_user)
    assert res.status_code == 422 and "reserved" in res.json()["detail"], res.text
    assert site.claim(token, device_id=site.rt.settings.hub_client_id).status_code == 422
    assert site.claim(token, device_id="officehub-hub").status_code == 422  # the hub's client-id prefix
    assert _logs_in(site, site.hub_user, site.hub_password)
    # The token was not spent: a real device still claims with it, and the hub commands it.
    a = site.claim(token, device_id=unique_id("door")).json()
    _ping(site, a["device_id"], a["mqtt"]["password"], a["mqtt"]["username"])


def test_claiming_the_dynsec_admin_is_refused(secure_site: SecureSite) -> None:
    site, broker = secure_site, secure_site.broker
    res = site.claim(site.claim_token(), device_id=broker.admin_user)
    assert res.status_code == 422 and "reserved" in res.json()["detail"], res.text
    with MosquittoDynsec(host=broker.host, port=broker.port, admin_user=broker.admin_user,
                         admin_password=broker.admin_password, timeout_s=WAIT) as admin:
        info = admin.execute([{"command": "getClient", "username": broker.admin_user}])[0]["data"]["client"]
    assert [r["rolename"] for r in info["roles"]] == ["admin"]
    # An admin cannot issue such a token either.
    issued = site.api.post("/api/v1/provisioning/claims", headers=site.admin,
                           json={"device_kind": "door_terminal", "device_id": broker.admin_user})
    assert issued.status_code == 422


def test_claiming_another_broker_account_is_refused(secure_site: SecureSite) -> None:
    """Not in the hub's settings, so not reserved by name: the broker layer refuses it."""
    site = secure_site
    other = unique_id("ops")
    with MosquittoDynsec(host=site.broker.host, port=site.broker.port, admin_user=site.broker.admin_user,
                         admin_password=site.broker.admin_password, timeout_s=WAIT) as admin:
        admin.execute([{"command": "createClient", "username": other, "password": "ops-pw"}])
        try:
            res = site.claim(site.claim_token(), device_id=other)
            assert res.status_code == 409 and "account_conflict" in res.json()["detail"], res.text
            # Not even an admin-issued token for that id takes it.
            assert site.claim(site.claim_token(device_id=other)).status_code == 409
            assert _logs_in(site, other, "ops-pw")
        finally:
            admin.execute([{"command": "deleteClient", "username": other}])
    devices = site.api.get("/api/v1/devices", headers=site.admin, params={"q": other}).json()["items"]
    assert devices == []  # the refused claim left no registry row behind


def test_a_known_device_id_needs_a_token_issued_for_it(secure_site: SecureSite) -> None:
    site = secure_site
    b = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    b_id, b_user = b["device_id"], b["mqtt"]["username"]
    live = _ping(site, b_id, b["mqtt"]["password"], b_user)

    # Someone else's token cannot take B's identity, live or revoked.
    assert site.claim(site.claim_token(), device_id=b_id).status_code == 409
    assert not live.disconnected.is_set()
    assert site.api.post(f"/api/v1/devices/{b_id}/revoke", headers=site.admin).status_code == 200
    assert live.disconnected.wait(WAIT)
    taken = site.claim(site.claim_token(), device_id=b_id)  # would hand out B's subtree
    assert taken.status_code == 409 and "device_exists" in taken.json()["detail"], taken.text

    # An admin re-issues a token for B: the claim re-provisions B with new credentials.
    again = site.claim(site.claim_token(device_id=b_id), device_id=b_id)
    assert again.status_code == 200, again.text
    fresh = again.json()
    assert fresh["device_id"] == b_id and fresh["mqtt"]["username"] == b_user
    assert not _logs_in(site, b_user, b["mqtt"]["password"], b_id)
    _ping(site, b_id, fresh["mqtt"]["password"], b_user)
    dev = site.api.get(f"/api/v1/devices/{b_id}", headers=site.admin).json()
    assert dev["revoked"] is False
    claimed = [e for e in site.audit("provisioning.claimed") if e.target_id == b_id]
    assert [e.detail["reprovisioned"] for e in claimed] == [False, True]


def test_a_claimant_cannot_reach_another_devices_subtree(secure_site: SecureSite) -> None:
    site = secure_site
    b = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    b_id = b["device_id"]
    assert site.claim(site.claim_token(), device_id=b_id).status_code == 409
    c = site.claim(site.claim_token(), device_id=unique_id("door")).json()
    c_id, c_user, c_pw = c["device_id"], c["mqtt"]["username"], c["mqtt"]["password"]

    observer = site.connect(site.hub_user, site.hub_password, unique_id("obs"))
    assert not observer.subscribe(f"{topics.DEVICES}/+/events").is_failure
    dev_c = site.connect(c_user, c_pw, client_id=c_id)
    for t in (topics.command(b_id), topics.response(b_id, "gallery_sync"), f"{topics.DEVICES}/+/cmd"):
        assert dev_c.subscribe(t).is_failure, t
    forger = site.connect(c_user, c_pw, client_id=c_id)
    assert dev_c.disconnected.wait(WAIT)  # same client id: the newer session wins
    forger.client.publish(topics.events(b_id), b"forged", qos=1)
    assert forger.disconnected.wait(WAIT), "a publish into B's subtree must cut C off"
    dev_c = site.connect(c_user, c_pw, client_id=c_id)
    dev_c.publish(topics.events(c_id), b"marker")
    assert observer.receive() == (topics.events(c_id), b"marker")
    assert observer.messages.empty()
    # C's account may not pose as B (bound client id), nor B's bare id as a username.
    assert not _logs_in(site, c_user, c_pw, b_id)
    assert not _logs_in(site, b_id, c_pw, b_id)


def test_failed_claims_are_throttled_and_audited_once_per_address(
        secure_site_factory: Callable[..., SecureSite]) -> None:
    site = secure_site_factory(claim_failures_per_source=3, claim_failure_window_s=3600)
    good = site.claim_token()
    for _ in range(3):
        assert site.claim("ohc_" + unique_id("forged")).status_code == 403
    throttled = site.claim(good)  # even a valid token waits: the address is over its budget
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 3600
    for _ in range(20):
        assert site.claim("ohc_" + unique_id("forged")).status_code == 429

    denied_access(site.rt.services).flush()
    rows = site.audit("provisioning.claim_refused")
    # One entry per address and audit window (60 s), counting every refusal, throttled ones included.
    assert {r.target_id for r in rows} == {"testclient"} and len(rows) <= 2
    assert sum(r.detail["count"] for r in rows) == 24 and rows[0].detail["reason"] == "unknown"
    # The token the throttle turned away is still unused.
    claims = site.api.get("/api/v1/provisioning/claims", headers=site.admin).json()
    assert claims[0]["used_at"] is None


def test_the_global_budget_throttles_every_address(secure_site_factory: Callable[..., SecureSite]) -> None:
    site = secure_site_factory(claim_failures_per_source=100, claim_failures_global=2)
    svc = site.rt.services.get(FLEET).provisioning
    for source in ("10.0.0.1", "10.0.0.2"):
        with pytest.raises(ProvisioningError, match="unknown"):
            svc.claim(token="ohc_nope", device_kind=None, device_id=None, source=source)
    res = site.claim(site.claim_token())  # a third address (the test client), with a valid token
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
