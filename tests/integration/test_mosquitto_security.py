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

from hub.broker.mosquitto_security import BrokerSecurityError, MosquittoDynsec
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
        conn = connect(self.broker, device_id, password or f"pw-{device_id}", client_id or device_id)
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
    site.admin.create_device(site.a, "new-pw")
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
