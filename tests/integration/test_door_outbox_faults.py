"""Outbox faults on a real door terminal against a real hub and Mosquitto.

- Full outbox: the terminal's camera loop keeps deciding and opening the door while no event can be
  written; once there is room again every punch reaches the hub exactly once, with an alarm that
  names SQLite's real reason. The full disk is SQLite's own SQLITE_FULL: the outbox is capped at its
  current size (``Outbox.set_size_limit``, i.e. ``max_page_count``), which needs no mount privileges.
- Corrupt outbox file: the terminal still boots, the file is moved aside, and the hub raises an
  alert from the terminal's ``outbox_corrupt`` alarm saying where the old file went.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from devices.door_terminal.agent import DoorTerminal
from devices.runtime import Runtime
from firmware_sim.adapters import InjectedCamera, SimulatedLock
from hub.api.app import create_app
from hub.db.models.attendance import PunchRow
from hub.db.models.core import Event
from hub.runtime import HubRuntime
from protocol import events
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import enrol_people, images
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(io_threads=2, handler_threads=2)
    yield rt
    rt.close()


def alerts(api: TestClient, headers: dict[str, str], device_id: str, kind: str) -> list[dict[str, object]]:
    res = api.get("/api/v1/alerts", headers=headers)
    assert res.status_code == 200, res.text
    return [a for a in res.json() if a["device_id"] == device_id and a["kind"] == kind]


def show_to_camera(camera: InjectedCamera, lock: SimulatedLock, person: str, *, openings: int) -> None:
    """Two frames of ``person`` (two of three must agree), then wait for the door."""
    for frame in images(f"probe/{person}")[:1] * 2:
        camera.show(frame)
    wait_for(lambda: len(lock.openings) == openings, timeout=60, what=f"door opened for {person}")


def test_door_keeps_deciding_while_the_outbox_is_full_and_punches_arrive_once_room_returns(
        hub_factory: Callable[..., HubRuntime], own_mosquitto: MosquittoBroker, runtime: Runtime,
        tmp_path: Path) -> None:
    rt = hub_factory(broker_url=own_mosquitto.url)
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        ids = enrol_people(api, headers, ["biden", "kit_harington"])
        camera, lock = InjectedCamera(), SimulatedLock()
        door = DoorTerminal(device_id=unique_id("full"), broker_url=own_mosquitto.url, workdir=tmp_path / "door",
                            lock=lock, face_source=camera, face_mode="edge", heartbeat_s=5, ack_timeout_s=2,
                            runtime=runtime)
        agent = door.agent
        door.start()
        try:
            assert agent.wait_connected(15) and door.face is not None and door.face.synced.wait(30)
            # Offline while full, so no ack deletes rows and makes room behind the test's back.
            own_mosquitto.stop()
            wait_for(lambda: not agent.connected, timeout=15, what="terminal offline")
            agent.outbox.set_size_limit(max_bytes=0)
            fillers = 0
            while agent.writer.fault is None and fillers < 500:
                agent.emit(events.TestEvent(n=fillers, note="x" * 180))
                fillers += 1
            fault = agent.writer.fault
            assert fault is not None and fault.reason == "database or disk is full"
            stored_before = agent.outbox.depth()

            # The camera loop: two of three frames agree, the door opens, the punch cannot be written.
            show_to_camera(camera, lock, "biden", openings=1)
            show_to_camera(camera, lock, "kit_harington", openings=2)  # the loop is still running
            assert door._camera is not None and door._camera.is_alive()  # survived the failed writes
            assert agent.outbox.depth() == stored_before  # nothing reached the disk…
            assert {e.type for e in agent.writer.held_events()} >= {"punch", "door", "alarm"}  # …it waits in memory

            agent.outbox.set_size_limit(max_bytes=None)  # room again: the next retry writes them out
            wait_for(lambda: agent.writer.fault is None, timeout=30, what="held events stored")
            own_mosquitto.start()
            wait_for(lambda: agent.outbox.depth() == 0, timeout=90, what="everything delivered and acked")

            def punches() -> list[PunchRow]:
                with rt.sessions() as s:
                    return list(s.execute(select(PunchRow).where(PunchRow.device_id == door.device_id)).scalars())

            wait_for(lambda: len(punches()) >= 2, timeout=30, what="both punches recorded")
            rows = punches()
            assert Counter(r.employee_id for r in rows) == Counter({ids["biden"]: 1, ids["kit_harington"]: 1})
            with rt.sessions() as s:
                tests = s.execute(select(func.count()).select_from(Event).where(
                    Event.device_id == door.device_id, Event.type == "test")).scalar_one()
            assert tests == fillers
            (alert,) = wait_for(lambda: alerts(api, headers, door.device_id, "alarm_outbox_write_failed"), timeout=30)
            message = str(alert["message"])
            assert "database or disk is full" in message and "cannot rollback" not in message
        finally:
            door.stop()


def test_corrupt_outbox_is_moved_aside_the_terminal_boots_and_the_hub_is_told(
        hub_factory: Callable[..., HubRuntime], own_mosquitto: MosquittoBroker, runtime: Runtime,
        tmp_path: Path) -> None:
    rt = hub_factory(broker_url=own_mosquitto.url)
    workdir = tmp_path / "door"
    workdir.mkdir()
    garbage = os.urandom(16_384)  # e.g. a card that came back from a power cut with a scrambled block
    (workdir / "outbox.sqlite3").write_bytes(garbage)
    lock = SimulatedLock()
    door = DoorTerminal(device_id=unique_id("corrupt"), broker_url=own_mosquitto.url, workdir=workdir,
                        lock=lock, heartbeat_s=5, ack_timeout_s=2, runtime=runtime)
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        door.start()
        try:
            assert door.agent.wait_connected(15)  # it booted
            (moved,) = [p for p in workdir.iterdir() if p.name.startswith("outbox.sqlite3.corrupt-")]
            assert moved.read_bytes() == garbage  # kept, untouched, for a technician

            (alert,) = wait_for(lambda: alerts(api, headers, door.device_id, "alarm_outbox_corrupt"), timeout=30)
            assert alert["severity"] == "critical"
            assert "file is not a database" in str(alert["message"]) and moved.name in str(alert["message"])
            details = alert["details"]
            assert isinstance(details, dict) and details["moved_to"] == str(moved)

            # The fresh outbox works: a remote open is acked and its door event reaches the hub.
            rt.commands.send(device_id=door.device_id, name="open_door", args={"duration_s": 2},
                             ttl_s=30, ack_timeout_s=15, created_by="test")
            wait_for(lambda: len(lock.openings) == 1, timeout=30, what="door opened by command")

            def door_events() -> int:
                with rt.sessions() as s:
                    return int(s.execute(select(func.count()).select_from(Event).where(
                        Event.device_id == door.device_id, Event.type == "door")).scalar_one())

            wait_for(lambda: door_events() == 1, timeout=30, what="the door event stored at the hub")
        finally:
            door.stop()
