"""MQTT ingest against real brokers (Mosquitto and the embedded amqtt broker): events stored once,
acked, device registry fed; bad input dead-lettered with a reason while the ingest keeps running."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from hub.broker.embedded import EmbeddedBroker
from hub.db.models.core import DeadLetter, Device, Event
from hub.runtime import HubRuntime
from protocol import payloads as p
from protocol import topics
from tests.fixtures.brokers import MosquittoBroker, free_port, unique_id
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(params=["mosquitto", "embedded"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "mosquitto":
        broker: MosquittoBroker = request.getfixturevalue("mosquitto")
        return broker.url
    return str(request.getfixturevalue("embedded_broker").url)


def count(rt: HubRuntime, stmt) -> int:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return int(s.execute(stmt).scalar_one())


def test_events_are_stored_once_acked_and_devices_registered(
        hub_factory: Callable[..., HubRuntime], broker_url: str, tmp_path: Path) -> None:
    rt = hub_factory(broker_url=broker_url)
    prefix = unique_id("ing") + "-"
    fleet = SimFleet(broker_url=broker_url, doors=4, printboxes=1, seed=1, workdir=tmp_path / "sim",
                     id_prefix=prefix, ack_timeout_s=2)
    fleet.start()
    try:
        assert fleet.wait_connected(20)
        sent = emit_events(fleet, total=500, note="ingest")
        wait_for(lambda: fleet.total_outbox_depth() == 0, what="every event acked")
        with rt.sessions() as s:
            rows = s.execute(select(Event.device_id, Event.event_id, Event.seq, Event.device_ts)
                             .where(Event.device_id.startswith(prefix))).all()
            devices = s.execute(select(Device).where(Device.id.startswith(prefix))).scalars().all()
        assert sorted((r.device_id, r.event_id) for r in rows) == sorted(
            (a.device_id, e.event_id) for a, e in zip(_cycle(fleet, len(sent)), sent, strict=True))
        by_id = {r.event_id: r for r in rows}
        assert all(by_id[e.event_id].device_ts == e.device_ts for e in sent)
        assert len(devices) == 5 and all(d.online and d.kind for d in devices)
    finally:
        fleet.stop()
    wait_for(lambda: count(rt, select(func.count()).select_from(Device).where(
        Device.id.startswith(prefix), Device.online.is_(True))) == 0, what="devices offline after stop")


def _cycle(fleet: SimFleet, n: int) -> list:  # type: ignore[type-arg]
    agents = fleet.agents
    return [agents[i % len(agents)] for i in range(n)]


def test_redelivered_events_do_not_duplicate(hub_factory: Callable[..., HubRuntime],
                                             mosquitto: MosquittoBroker) -> None:
    rt = hub_factory(broker_url=mosquitto.url)
    dev = unique_id("dup")
    client = _client(mosquitto)
    client.publish(topics.info(dev), p.DeviceInfo(kind=p.DeviceKind.DOOR_TERMINAL, model="m", firmware="1",
                                                  boot_id="b1").to_bytes(), qos=1).wait_for_publish()
    acks: list[str] = []
    client.message_callback_add(topics.events_ack(dev), lambda c, u, m: acks.extend(json.loads(m.payload)["event_ids"]))
    client.subscribe(topics.events_ack(dev), qos=1)
    ev = p.Event(event_id=p.new_id(), seq=1, type="test", device_ts=datetime.now(UTC), boot_id="b1", data={"n": 1})
    for _ in range(5):
        client.publish(topics.events(dev), ev.to_bytes(), qos=1).wait_for_publish()
    # Copies arriving while the hub still holds the first are collapsed into it (one ack covers them).
    wait_for(lambda: ev.event_id in acks, what="the event acked")
    # A copy arriving after the event was stored (an ack lost on the way, say) is acked again.
    before = acks.count(ev.event_id)
    client.publish(topics.events(dev), ev.to_bytes(), qos=1).wait_for_publish()
    wait_for(lambda: acks.count(ev.event_id) > before, what="the late copy acked again")
    assert count(rt, select(func.count()).select_from(Event).where(Event.device_id == dev)) == 1
    assert rt.inbox.stats.collapsed + rt.writer.stats.duplicates >= 5
    client.loop_stop()
    client.disconnect()


def _client(broker: MosquittoBroker) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique_id("raw"))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


BAD_INPUT = [
    ("events", b"{not json", "malformed_json"),
    ("events", json.dumps({"v": 1, "event_id": "abcdefgh12", "seq": "x"}).encode(), "schema"),
    ("events", json.dumps({"v": 1, "event_id": "abcdefgh12", "seq": 1, "type": "nope",
                           "device_ts": "2026-01-01T00:00:00Z", "boot_id": "b"}).encode(), "unknown_event_type"),
    ("events", json.dumps({"v": 1, "event_id": "abcdefgh13", "seq": 1, "type": "test", "device_ts":
                           "2026-01-01T00:00:00Z", "boot_id": "b", "data": {"n": "many"}}).encode(), "schema"),
    ("events", b"x" * (600 * 1024), "oversized"),
    ("bogus/channel", b"{}", "bad_topic"),
    ("heartbeat", json.dumps({"v": 2}).encode(), "schema"),
]


def test_bad_input_goes_to_dead_letters_with_a_reason(hub_factory: Callable[..., HubRuntime],
                                                      mosquitto: MosquittoBroker) -> None:
    rt = hub_factory(broker_url=mosquitto.url)
    dev = unique_id("bad")
    client = _client(mosquitto)
    client.publish(topics.info(dev), p.DeviceInfo(kind=p.DeviceKind.PRINT_BOX, model="m", firmware="1",
                                                  boot_id="b1").to_bytes(), qos=1).wait_for_publish()
    for channel, payload, _ in BAD_INPUT:
        client.publish(f"{topics.DEVICES}/{dev}/{channel}", payload, qos=1).wait_for_publish()
    stranger = unique_id("stranger")
    ev = p.Event(event_id=p.new_id(), seq=1, type="test", device_ts=datetime.now(UTC), boot_id="b", data={})
    client.publish(topics.events(stranger), ev.to_bytes(), qos=1).wait_for_publish()
    client.publish(f"{topics.DEVICES}/bad id!/events", ev.to_bytes(), qos=1).wait_for_publish()

    def reasons() -> list[str]:
        with rt.sessions() as s:
            return list(s.execute(select(DeadLetter.reason).where(
                (DeadLetter.device_id == dev) | (DeadLetter.device_id == stranger) | DeadLetter.device_id.is_(None))
                .order_by(DeadLetter.id)).scalars())

    expected = [r for _, _, r in BAD_INPUT] + ["unknown_device", "bad_topic"]
    got = wait_for(lambda: reasons() if len(reasons()) >= len(expected) else None, what="dead letters")
    assert sorted(got) == sorted(expected)
    with rt.sessions() as s:
        big = s.execute(select(DeadLetter).where(DeadLetter.reason == "oversized",
                                                 DeadLetter.device_id == dev)).scalar_one()
        assert big.size == 600 * 1024 and len(big.payload) == 64 * 1024 and "limit" in big.detail
    # The ingest is still alive: a valid event after the garbage is stored.
    good = p.Event(event_id=p.new_id(), seq=2, type="test", device_ts=datetime.now(UTC), boot_id="b1", data={"n": 2})
    client.publish(topics.events(dev), good.to_bytes(), qos=1).wait_for_publish()
    wait_for(lambda: count(rt, select(func.count()).select_from(Event).where(Event.event_id == good.event_id)) == 1)
    client.loop_stop()
    client.disconnect()


garbage = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.dictionaries(st.sampled_from(["v", "event_id", "seq", "type", "device_ts", "boot_id", "data", "x"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=20), st.booleans()),
                    max_size=8).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(burst=st.lists(st.tuples(garbage, st.sampled_from(["events", "state", "info", "heartbeat", "req/identify",
                                                           "cmd/ack", "x"])), min_size=20, max_size=60))
def test_garbage_burst_loses_no_valid_event(burst: list[tuple[bytes, str]], hub_for_fuzz: HubRuntime,
                                            mosquitto: MosquittoBroker) -> None:
    dev = unique_id("fuzz")
    client = _client(mosquitto)
    client.publish(topics.info(dev), p.DeviceInfo(kind=p.DeviceKind.DOOR_TERMINAL, model="m", firmware="1",
                                                  boot_id="b1").to_bytes(), qos=1).wait_for_publish()
    valid: list[str] = []
    for i, (payload, channel) in enumerate(burst):
        client.publish(f"{topics.DEVICES}/{dev}/{channel}", payload, qos=1)
        ev = p.Event(event_id=p.new_id(), seq=i + 1, type="test", device_ts=datetime.now(UTC), boot_id="b1",
                     data={"n": i})
        client.publish(topics.events(dev), ev.to_bytes(), qos=1)
        valid.append(ev.event_id)
    wait_for(lambda: count(hub_for_fuzz, select(func.count()).select_from(Event).where(
        Event.device_id == dev)) >= len(valid), what="valid events stored")
    with hub_for_fuzz.sessions() as s:
        stored = set(s.execute(select(Event.event_id).where(Event.device_id == dev)).scalars())
    assert set(valid) <= stored
    assert hub_for_fuzz.writer._thread.is_alive()
    client.loop_stop()
    client.disconnect()


@pytest.fixture(scope="module")
def hub_for_fuzz(tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoBroker) -> Iterator[HubRuntime]:
    from tests.fixtures.hub import make_settings, start_hub

    rt = start_hub(make_settings(tmp_path_factory.mktemp("fuzzhub"), mosquitto.url))
    yield rt
    rt.stop()
