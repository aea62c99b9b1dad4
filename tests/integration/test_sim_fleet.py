"""SimFleet against a real Mosquitto: birth messages, commands to simulated doors, graceful stop."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.runtime.transport import parse_broker_url
from firmware_sim.adapters import SimulatedLock
from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from protocol import topics
from protocol.payloads import (
    Availability,
    AvailabilityStatus,
    Command,
    CommandAck,
    CommandAckStatus,
    DeviceState,
    Event,
    EventAck,
    new_id,
    utcnow,
)
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.support.waiting import wait_for


class Watcher:
    """Subscribes to all device topics; acks every event like the hub would."""

    def __init__(self, url: str) -> None:
        self.lock = threading.Lock()
        self.last: dict[str, bytes] = {}
        self.events: dict[str, list[Event]] = {}
        self.ready = threading.Event()
        addr = parse_broker_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_id("watch"))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(addr.host, addr.port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(t, 1) for t in topics.HUB_SUBSCRIPTIONS])
        self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        parsed = topics.parse(msg.topic)
        with self.lock:
            self.last[msg.topic] = bytes(msg.payload)
        if parsed.channel is topics.Channel.EVENTS:
            ev = Event.model_validate_json(msg.payload)
            with self.lock:
                self.events.setdefault(parsed.device_id, []).append(ev)
            client.publish(topics.events_ack(parsed.device_id), EventAck(event_ids=[ev.event_id]).to_bytes(),
                           qos=1)

    def availability(self, device_id: str) -> AvailabilityStatus | None:
        with self.lock:
            raw = self.last.get(topics.availability(device_id))
        return None if raw is None else Availability.model_validate_json(raw).status

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_fleet_ids_and_event_plan_are_deterministic(tmp_path: Path) -> None:
    def plan(seed: int, sub: str) -> tuple[list[str], list[tuple[float, str, str]]]:
        f = SimFleet(broker_url="mqtt://127.0.0.1:1", doors=3, printboxes=2, seed=seed,
                     workdir=tmp_path / sub, event_interval_s=1.0)
        try:
            ids = [a.device_id for a in f.agents]
            events = [(round(d, 9), door.device_id, action) for d, door, action in
                      (f.next_event() for _ in range(20))]
            return ids, events
        finally:
            f.stop()

    ids_a, ev_a = plan(42, "a")
    ids_b, ev_b = plan(42, "b")
    _, ev_c = plan(43, "c")
    assert ids_a == ids_b == ["door-001", "door-002", "door-003", "printbox-001", "printbox-002"]
    assert ev_a == ev_b
    assert ev_a != ev_c


def test_fleet_connects_obeys_commands_and_stops_gracefully(own_mosquitto: MosquittoBroker,
                                                             tmp_path: Path) -> None:
    watcher = Watcher(own_mosquitto.url)
    fleet = SimFleet(broker_url=own_mosquitto.url, doors=5, printboxes=2, seed=7, workdir=tmp_path / "fleet",
                     ack_timeout_s=2)
    ids = [a.device_id for a in fleet.agents]
    try:
        fleet.start()
        assert fleet.wait_connected(30)
        wait_for(lambda: all(watcher.availability(i) is AvailabilityStatus.ONLINE for i in ids),
                 what="every device announced online")
        box_state = DeviceState.model_validate_json(watcher.last[topics.state("printbox-001")])
        assert box_state.live["printers"][0]["name"] == "printbox-001-laser"

        cmd = Command(command_id=new_id(), name="open_door", args={"duration_s": 2, "reason": "visitor"},
                      expires_at=utcnow() + timedelta(seconds=30))
        watcher.client.publish(topics.command("door-002"), cmd.to_bytes(), qos=1)
        wait_for(lambda: topics.command_ack("door-002") in watcher.last, what="open_door acked")
        ack = CommandAck.model_validate_json(watcher.last[topics.command_ack("door-002")])
        assert ack.status is CommandAckStatus.OK and ack.result["opened_for_s"] == 2
        lock = fleet.doors[1].lock
        assert isinstance(lock, SimulatedLock) and [o.duration_s for o in lock.openings] == [2]
        wait_for(lambda: any(e.type == "door" for e in watcher.events.get("door-002", [])), what="door event")

        sent = emit_events(fleet, total=70)
        wait_for(lambda: fleet.total_outbox_depth() == 0, what="load drained")
        got = {e.event_id for evs in watcher.events.values() for e in evs}
        assert {e.event_id for e in sent} <= got
    finally:
        fleet.stop()
    wait_for(lambda: all(watcher.availability(i) is AvailabilityStatus.OFFLINE for i in ids),
             what="every device announced offline")
    watcher.close()
