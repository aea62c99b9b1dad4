"""Per-device credentials and ACLs on a real Mosquitto with the dynamic-security plugin.

"Not delivered" is proven without sleeping: after the forbidden messages, an allowed one is sent;
Mosquitto handles packets one at a time and keeps per-publisher order, so once the allowed message
has arrived, a forbidden one would have arrived before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from hub.broker.mosquitto_security import (
    AccountConflict,
    BrokerSecurityError,
    MosquittoDynsec,
    device_acls,
    device_username,
)
from hub.services.fleet.accounts import DynsecAccounts
from protocol import topics
from tests.fixtures.brokers import unique_id
from tests.fixtures.secure_mosquitto import SecureMosquitto
from tests.support.mqtt_conn import WAIT, Conn, connect


@pytest.fixture
def dynsec(secure_mosquitto: SecureMosquitto) -> Iterator[MosquittoDynsec]:
    with MosquittoDynsec(host=secure_mosquitto.host, port=secure_mosquitto.port,
                         admin_user=secure_mosquitto.admin_user,
                         admin_password=secure_mosquitto.admin_password) as admin:
        yield admin


@dataclass
class Site:
    broker: SecureMosquitto
    admin: MosquittoDynsec
    a: str
    b: str
    conns: list[Conn] = field(default_factory=list)

    def device(self, device_id: str, password: str | None = None, client_id: str | None = None) -> Conn:
        conn = connect(self.broker, device_username(device_id), password or f"pw-{device_id}",
                       client_id or device_id)
        self.conns.append(conn)
        return conn

    def hub(self) -> Conn:
        conn = connect(self.broker, self.hub_user, "hub-pw", unique_id("hub"))
        self.conns.append(conn)
        return conn

    @property
    def hub_user(self) -> str:
        return f"hub-{self.a}"


@pytest.fixture
def site(secure_mosquitto: SecureMosquitto, dynsec: MosquittoDynsec) -> Iterator[Site]:
    s = Site(secure_mosquitto, dynsec, unique_id("door"), unique_id("door"))
    for d in (s.a, s.b):
        dynsec.create_device(d, f"pw-{d}")
    dynsec.create_hub_account(s.hub_user, "hub-pw")
    yield s
    for c in s.conns:
        c.close()
    for d in (s.a, s.b):
        dynsec.revoke_device(d)


def test_device_events_reach_the_hub_and_commands_reach_the_device(site: Site) -> None:
    hub, a = site.hub(), site.device(site.a)
    assert hub.connack is not None and not hub.connack.is_failure
    assert not hub.subscribe(f"{topics.DEVICES}/+/events").is_failure
    assert not a.subscribe(topics.command(site.a)).is_failure
    assert not a.subscribe(topics.response(site.a, "gallery_sync")).is_failure

    a.publish(topics.events(site.a), b"punch-1")
    assert hub.receive() == (topics.events(site.a), b"punch-1")
    hub.publish(topics.command(site.a), b"open")
    assert a.receive() == (topics.command(site.a), b"open")
    hub.publish(topics.response(site.a, "gallery_sync"), b"res")
    assert a.receive() == (topics.response(site.a, "gallery_sync"), b"res")


def test_device_cannot_publish_outside_its_own_device_to_hub_channels(site: Site) -> None:
    hub = site.hub()
    assert not hub.subscribe(f"{topics.ROOT}/#").is_failure
    forbidden = [topics.events(site.b), topics.state(site.b), topics.command(site.b),
                 topics.command(site.a),  # hub → device channel, even on its own subtree
                 topics.events_ack(site.a), topics.hub_state()]
    for t in forbidden:
        a = site.device(site.a)
        a.client.publish(t, b"forged", qos=1)
        # Mosquitto 2.0 drops the message and closes the connection (allowed by MQTT-3.3.5-2).
        assert a.disconnected.wait(WAIT), f"publish to {t} did not get the device disconnected"
    a = site.device(site.a)
    a.publish(topics.events(site.a), b"barrier")
    got = [hub.receive()]
    while got[-1][1] != b"barrier":
        got.append(hub.receive())
    # Retained messages other tests left on this session broker may arrive too; none is forged.
    assert got[-1] == (topics.events(site.a), b"barrier")
    assert [m for m in got if m[1] == b"forged"] == []


def test_device_cannot_subscribe_to_another_devices_commands(site: Site) -> None:
    hub, a = site.hub(), site.device(site.a)
    for t in (topics.command(site.b), f"{topics.DEVICES}/+/cmd", f"{topics.ROOT}/#", "#"):
        assert a.subscribe(t).is_failure, t
    assert not a.subscribe(topics.command(site.a)).is_failure
    hub.publish(topics.command(site.b), b"for-b")
    hub.publish(topics.command(site.a), b"for-a")
    assert a.receive() == (topics.command(site.a), b"for-a")
    assert a.messages.empty()


def test_wrong_password_and_foreign_client_id_are_refused(site: Site) -> None:
    bad = site.device(site.a, password="wrong")
    assert bad.connack is not None and bad.connack.is_failure
    # B's credentials cannot take over A's session by using A's client id.
    a = site.device(site.a)
    thief = site.device(site.b, client_id=site.a)
    assert thief.connack is not None and thief.connack.is_failure
    assert not a.disconnected.is_set()
    unknown = site.device(unique_id("ghost"))
    assert unknown.connack is not None and unknown.connack.is_failure


def test_revoked_device_is_kicked_and_cannot_reconnect(site: Site) -> None:
    a = site.device(site.a)
    assert a.connack is not None and not a.connack.is_failure
    assert site.admin.revoke_device(site.a) is True
    assert a.disconnected.wait(WAIT), "revoked device still connected"
    again = site.device(site.a)
    assert again.connack is not None and again.connack.is_failure
    assert site.admin.revoke_device(site.a) is False  # idempotent


def test_reprovisioning_resets_the_password(site: Site) -> None:
    old = site.device(site.a)
    assert old.connack is not None and not old.connack.is_failure
    assert site.admin.create_device(site.a, "new-pw", replace=True) == device_username(site.a)
    assert old.disconnected.wait(WAIT), "the old holder of the account must be cut off"
    assert site.device(site.a).connack.is_failure  # type: ignore[union-attr]
    fresh = site.device(site.a, password="new-pw")
    assert fresh.connack is not None and not fresh.connack.is_failure


def test_bad_admin_credentials_give_a_clear_error(secure_mosquitto: SecureMosquitto) -> None:
    with pytest.raises(BrokerSecurityError, match="admin login refused"):
        MosquittoDynsec(host=secure_mosquitto.host, port=secure_mosquitto.port,
                        admin_user=secure_mosquitto.admin_user, admin_password=uuid.uuid4().hex,
                        timeout_s=WAIT)


def test_the_hub_account_cannot_be_the_dynsec_admin(site: Site) -> None:
    """The admin may subscribe but not publish: a hub on it would store events and never ack them."""
    broker = site.broker
    accounts = DynsecAccounts(host=broker.host, port=broker.port, admin_user=broker.admin_user,
                              admin_password=broker.admin_password)
    try:
        with pytest.raises(BrokerSecurityError, match="is the dynsec admin"):
            accounts.ensure_hub_account(broker.admin_user, broker.admin_password)
    finally:
        accounts.close()


# --- device accounts live in their own namespace: no device id reaches another account ----------------


def _logs_in(broker: SecureMosquitto, username: str, password: str, client_id: str | None = None) -> bool:
    conn = connect(broker, username, password, client_id or unique_id("probe"))
    try:
        return conn.connack is not None and not conn.connack.is_failure
    finally:
        conn.close()


def test_device_accounts_live_in_their_own_namespace(site: Site) -> None:
    assert device_username(site.a) == f"device:{site.a}"
    assert not _logs_in(site.broker, site.a, f"pw-{site.a}", site.a)  # the bare device id is no account
    assert _logs_in(site.broker, device_username(site.a), f"pw-{site.a}", site.a)
    with pytest.raises(AccountConflict, match="namespace"):
        site.admin.create_hub_account(device_username(unique_id("door")), "pw")
    with pytest.raises(ValueError, match="invalid device id"):
        site.admin.create_device("a:b", "pw")


def test_a_device_id_naming_the_hub_account_cannot_take_it_over(site: Site) -> None:
    hub, a = site.hub(), site.device(site.a)
    for replace in (False, True):
        with pytest.raises(AccountConflict, match="not a device's"):
            site.admin.create_device(site.hub_user, "stolen", replace=replace)
    assert not _logs_in(site.broker, site.hub_user, "stolen")
    assert _logs_in(site.broker, site.hub_user, "hub-pw")
    # The hub was not kicked and still commands devices (it would have lost its rights otherwise).
    assert not a.subscribe(topics.command(site.a)).is_failure
    hub.publish(topics.command(site.a), b"still-the-hub")
    assert a.receive() == (topics.command(site.a), b"still-the-hub")
    assert not hub.disconnected.is_set()


def test_a_device_id_naming_the_dynsec_admin_cannot_take_it_over(site: Site) -> None:
    broker = site.broker
    for replace in (False, True):
        with pytest.raises(AccountConflict, match="not a device's"):
            site.admin.create_device(broker.admin_user, "stolen", replace=replace)
    assert not _logs_in(broker, broker.admin_user, "stolen")
    with MosquittoDynsec(host=broker.host, port=broker.port, admin_user=broker.admin_user,
                         admin_password=broker.admin_password, timeout_s=WAIT) as again:
        info = again.execute([{"command": "getClient", "username": broker.admin_user}])[0]["data"]["client"]
    assert [r["rolename"] for r in info["roles"]] == ["admin"] and "clientid" not in info


def test_an_existing_device_account_is_replaced_only_when_asked(site: Site) -> None:
    """A second claim on a device id must not silently reset the first device's password."""
    a = site.device(site.a)
    with pytest.raises(AccountConflict, match="already has a broker account"):
        site.admin.create_device(site.a, "thief")
    assert not a.disconnected.is_set()
    assert not _logs_in(site.broker, device_username(site.a), "thief", site.a)
    hub = site.hub()
    assert not hub.subscribe(topics.events(site.a)).is_failure
    a.publish(topics.events(site.a), b"still-mine")
    assert hub.receive() == (topics.events(site.a), b"still-mine")


def test_an_account_made_outside_the_hub_is_never_touched(site: Site) -> None:
    other = unique_id("ops")
    site.admin.execute([{"command": "createClient", "username": other, "password": "ops-pw"}])
    try:
        with pytest.raises(AccountConflict):
            site.admin.create_device(other, "stolen", replace=True)
        assert site.admin.revoke_device(other) is False
        assert _logs_in(site.broker, other, "ops-pw")
    finally:
        site.admin.execute([{"command": "deleteClient", "username": other}])


def _legacy_device(admin: MosquittoDynsec, device_id: str, password: str) -> None:
    """What an earlier release made: username = client id = device id, role ``device-<id>``."""
    admin.execute([{"command": "createRole", "rolename": f"device-{device_id}", "acls": device_acls(device_id)}])
    admin.execute([{"command": "createClient", "username": device_id, "password": password, "clientid": device_id,
                    "roles": [{"rolename": f"device-{device_id}"}]}])


def test_accounts_of_an_earlier_release_keep_working_and_are_replaced_or_revoked(site: Site) -> None:
    old, gone = unique_id("door"), unique_id("door")
    _legacy_device(site.admin, old, "old-pw")
    _legacy_device(site.admin, gone, "gone-pw")
    live = connect(site.broker, old, "old-pw", old)
    site.conns.append(live)
    assert live.connack is not None and not live.connack.is_failure
    with pytest.raises(AccountConflict, match="already has a broker account"):
        site.admin.create_device(old, "new-pw")
    assert site.admin.create_device(old, "new-pw", replace=True) == device_username(old)
    assert live.disconnected.wait(WAIT), "re-provisioning must cut the old credentials off"
    assert not _logs_in(site.broker, old, "old-pw", old)
    assert _logs_in(site.broker, device_username(old), "new-pw", old)
    assert site.admin.revoke_device(old) is True and not _logs_in(site.broker, device_username(old), "new-pw", old)

    assert site.admin.revoke_device(gone) is True
    assert not _logs_in(site.broker, gone, "gone-pw", gone)
