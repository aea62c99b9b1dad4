"""The hub on PostgreSQL (the production database): every migration branch applies, the ingest stores
idempotently, and the API reads back what the devices sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from hub.api.app import create_app
from hub.db import models as _models  # noqa: F401  (registers every table)
from hub.db.base import Base
from hub.db.models.core import Event
from hub.runtime import HubRuntime
from protocol import topics
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


def test_hub_runs_on_postgresql(hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker, pg_url: str,
                                tmp_path: Path) -> None:
    rt = hub_factory(broker_url=mosquitto.url, database_url=pg_url)
    assert rt.engine.dialect.name == "postgresql"
    tables = set(inspect(rt.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables, set(Base.metadata.tables) - tables

    prefix = unique_id("pg") + "-"
    fleet = SimFleet(broker_url=mosquitto.url, doors=3, printboxes=1, seed=5, workdir=tmp_path / "sim",
                     id_prefix=prefix, ack_timeout_s=2)
    fleet.start()
    try:
        assert fleet.wait_connected(20)
        sent = emit_events(fleet, total=300, note="pg")
        wait_for(lambda: fleet.total_outbox_depth() == 0, what="all events acked")
    finally:
        fleet.stop()

    # A duplicate delivered straight to the broker is acked again but stored once.
    dup = sent[0]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique_id("pgdup"))
    acks: list[str] = []
    client.on_message = lambda c, u, m: acks.extend(json.loads(m.payload)["event_ids"])
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    device = fleet.agents[0].device_id
    client.subscribe(topics.events_ack(device), qos=1)
    wait_for(lambda: client.is_connected())
    client.publish(topics.events(device), dup.to_bytes(), qos=1).wait_for_publish()
    wait_for(lambda: dup.event_id in acks, what="duplicate acked")
    client.loop_stop()
    client.disconnect()

    with rt.sessions() as s:
        rows = s.execute(select(Event.event_id, Event.device_ts).where(Event.device_id.startswith(prefix))).all()
        distinct = s.execute(select(func.count(func.distinct(Event.event_id)))
                             .where(Event.device_id.startswith(prefix))).scalar_one()
    assert len(rows) == 300 == distinct
    assert {r.event_id: r.device_ts for r in rows} == {e.event_id: e.device_ts for e in sent}

    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        devices = api.get("/api/v1/devices", headers=headers, params={"q": prefix}).json()
        assert devices["total"] == 4
        page = api.get("/api/v1/events", headers=headers,
                       params={"device_id": device, "since": datetime(2000, 1, 1, tzinfo=UTC).isoformat()}).json()
        assert page["items"] and all(e["device_id"] == device for e in page["items"])


def test_a_message_postgresql_refuses_is_dead_lettered_and_the_ingest_goes_on(
        hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker, pg_url: str) -> None:
    """PostgreSQL refuses NUL characters in JSON text: that one event becomes a dead letter (acked,
    so the device stops resending) and the valid events around it are stored."""
    from hub.db.models.core import DeadLetter
    from protocol import payloads as p

    rt = hub_factory(broker_url=mosquitto.url, database_url=pg_url)
    dev = unique_id("nul")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique_id("nulpub"))
    acks: list[str] = []
    client.on_message = lambda c, u, m: acks.extend(json.loads(m.payload)["event_ids"])
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    wait_for(lambda: client.is_connected())
    client.subscribe(topics.events_ack(dev), qos=1)
    info = p.DeviceInfo(kind=p.DeviceKind.DOOR_TERMINAL, model="m", firmware="1", boot_id="b")
    client.publish(topics.info(dev), info.to_bytes(), qos=1).wait_for_publish()
    now = datetime.now(UTC)
    events = [p.Event(event_id=p.new_id(), seq=i + 1, type="test", device_ts=now, boot_id="b",
                      data={"n": i, "note": "bad\u0000note" if i == 1 else "ok"}) for i in range(3)]
    for ev in events:
        client.publish(topics.events(dev), ev.to_bytes(), qos=1)
    wait_for(lambda: all(e.event_id in acks for e in events), what="all three acked")
    client.loop_stop()
    client.disconnect()
    with rt.sessions() as s:
        stored = set(s.execute(select(Event.event_id).where(Event.device_id == dev)).scalars())
        letters = s.execute(select(DeadLetter).where(DeadLetter.device_id == dev)).scalars().all()
    assert stored == {events[0].event_id, events[2].event_id}
    assert [d.reason for d in letters] == ["store_error"] and events[1].event_id.encode() in letters[0].payload
