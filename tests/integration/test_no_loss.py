"""Nothing lost, nothing doubled: the hub is SIGKILLed and restarted mid-stream and the broker
restarts once while 20 devices send 10,000 events; devices keep events through a 30 s broker outage."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from firmware_sim.fleet import SimFleet
from hub.db.models.core import Event
from hub.runtime import HubRuntime
from protocol import events
from protocol.payloads import Event as EventMsg
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_process import HubProcess
from tests.support.emitting import emit_paced
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def test_hub_sigkill_and_broker_restart_lose_and_double_nothing(own_mosquitto: MosquittoBroker,
                                                                 tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub = HubProcess(workdir=tmp_path, broker_url=own_mosquitto.url, db_url=db_url)
    hub.start()
    prefix = unique_id("nl") + "-"
    fleet = SimFleet(broker_url=own_mosquitto.url, doors=20, printboxes=0, seed=42, workdir=tmp_path / "sim",
                     id_prefix=prefix, ack_timeout_s=3)
    fleet.start()
    sent: list[EventMsg] = []
    done = threading.Event()
    try:
        assert fleet.wait_connected(30)
        emitter = threading.Thread(target=emit_paced, args=(fleet,), daemon=True,
                                   kwargs={"total": 10_000, "per_s": 1000.0, "out": sent, "done": done})
        emitter.start()
        wait_for(lambda: len(sent) >= 2500, what="a quarter of the stream sent")
        hub.kill()                      # crash mid-stream
        time.sleep(1.0)
        hub.start()
        wait_for(lambda: len(sent) >= 6000, timeout=60, what="more of the stream sent")
        own_mosquitto.restart(down_for=1.0)   # broker restart, sessions persisted
        assert done.wait(120), "emitter did not finish"
        wait_for(lambda: fleet.total_outbox_depth() == 0, timeout=180, interval=0.5,
                 what="every device outbox drained (all events acked by the hub)")
    finally:
        fleet.stop()
        hub.stop()
    engine = create_engine(db_url)
    with engine.connect() as c:
        rows = c.execute(select(Event.device_id, Event.event_id, Event.device_ts)
                         .where(Event.device_id.startswith(prefix))).all()
        distinct = c.execute(select(func.count(func.distinct(Event.event_id)))
                             .where(Event.device_id.startswith(prefix))).scalar_one()
    engine.dispose()
    assert len(sent) == 10_000
    assert len(rows) == 10_000 and distinct == 10_000
    assert {r.event_id for r in rows} == {e.event_id for e in sent}
    ts = {e.event_id: e.device_ts for e in sent}
    assert all(ts[r.event_id] == r.device_ts.replace(tzinfo=ts[r.event_id].tzinfo) for r in rows)


def test_events_made_while_the_broker_is_down_for_30s_all_arrive_with_device_time(
        hub_factory: Callable[..., HubRuntime], own_mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    rt = hub_factory(broker_url=own_mosquitto.url)
    prefix = unique_id("down") + "-"
    fleet = SimFleet(broker_url=own_mosquitto.url, doors=3, printboxes=1, seed=3, workdir=tmp_path / "sim",
                     id_prefix=prefix, ack_timeout_s=3)
    fleet.start()
    made: list[EventMsg] = []
    try:
        assert fleet.wait_connected(20)
        own_mosquitto.stop()
        deadline = time.monotonic() + 30
        i = 0
        while time.monotonic() < deadline:   # keep producing for the whole 30 s outage
            made.append(fleet.agents[i % 4].emit(events.TestEvent(n=i, note="offline")))
            i += 1
            time.sleep(0.1)
        assert fleet.total_outbox_depth() >= len(made)
        own_mosquitto.start()
        wait_for(lambda: fleet.total_outbox_depth() == 0, timeout=120, interval=0.5, what="outboxes drained")
    finally:
        fleet.stop()
    with rt.sessions() as s:
        stored = {r.event_id: r.device_ts for r in s.execute(
            select(Event.event_id, Event.device_ts).where(Event.device_id.startswith(prefix)))}
    assert len(made) > 250
    assert set(stored) == {e.event_id for e in made}
    assert all(stored[e.event_id] == e.device_ts for e in made)
