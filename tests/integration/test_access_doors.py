"""Door access through the real MQTT path: access groups and schedules decide who opens which
door when (thin and edge), and door events (forced open, held open) become stored alerts pushed
on the live feed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from firmware_sim.adapters import SimulatedDoorContact
from firmware_sim.fleet import SimFleet
from hub.db.models.core import Event
from hub.services.live import LiveFeed
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import FaceHub, images
from tests.support.waiting import wait_for


class LiveCollector:
    """Subscribes to the hub's live feed on its own event loop and keeps what arrives."""

    def __init__(self, feed: LiveFeed) -> None:
        self.messages: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._task: asyncio.Task[None] | None = None
        threading.Thread(target=self._run, args=(feed,), daemon=True).start()
        assert self._ready.wait(5)

    def _run(self, feed: LiveFeed) -> None:
        async def consume() -> None:
            gen = feed.subscribe()
            first = asyncio.ensure_future(gen.__anext__())
            await asyncio.sleep(0)
            self._ready.set()
            msg = await first
            self.messages.append({**msg.data, "live_kind": msg.kind})
            async for msg in gen:
                self.messages.append({**msg.data, "live_kind": msg.kind})

        self._task = self._loop.create_task(consume())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)

    def close(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)


@pytest.fixture(scope="module")
def doors(face_hub: FaceHub, mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[SimFleet, SimFleet]]:
    tmp = tmp_path_factory.mktemp("access")
    prefix = unique_id("acc")
    thin = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=8, workdir=tmp / "thin",
                    id_prefix=prefix + "-t-", face_mode="thin", door_contacts=True)
    edge = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=9, workdir=tmp / "edge",
                    id_prefix=prefix + "-e-", face_mode="edge")
    thin.start()
    edge.start()
    assert thin.wait_connected(15) and edge.wait_connected(15) and edge.wait_gallery_synced(30)
    wait_for(lambda: len(face_hub.api.get("/api/v1/devices", headers=face_hub.headers,
                                          params={"q": prefix}).json()["items"]) == 2)
    yield thin, edge
    thin.stop()
    edge.stop()


def test_access_groups_and_schedules(face_hub: FaceHub, doors: tuple[SimFleet, SimFleet]) -> None:
    thin, edge = doors
    api, h, ids = face_hub.api, face_hub.headers, face_hub.ids
    t_door, e_door = thin.doors[0], edge.doors[0]
    kit, biden = images("probe/kit_harington")[0], images("probe/biden")[0]
    assert thin.see(t_door, biden).opened  # no group lists the door: open to every employee

    other_day = (datetime.now(UTC).weekday() + 3) % 7
    body = {"name": "night crew", "doors": [t_door.device_id, e_door.device_id], "tz": "UTC",
            "members": [ids["kit_harington"]], "schedule": [{"days": [other_day], "start": "00:00", "end": "24:00"}]}
    res = api.post("/api/v1/access/groups", headers=h, json=body)
    assert res.status_code == 201, res.text
    group = res.json()["id"]

    refused = thin.see(t_door, kit)
    assert (refused.decision, refused.opened) == ("denied", False) and "outside the schedule" in refused.reason
    # The edge terminal gets the door's rules with its gallery and applies them itself.
    assert e_door.face is not None and e_door.face.gallery is not None
    gallery = e_door.face.gallery
    wait_for(lambda: gallery.employee_ids() == {str(ids["kit_harington"])}
             and (gallery.access or {}).get("restricted"), timeout=30)
    refused = edge.see(e_door, kit)
    assert (refused.decision, refused.opened) == ("denied", False) and "outside the schedule" in refused.reason
    refused = thin.see(t_door, biden)
    assert (refused.decision, refused.opened) == ("denied", False) and "no access group" in refused.reason

    body["schedule"] = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}]
    assert api.put(f"/api/v1/access/groups/{group}", headers=h, json=body).status_code == 200
    assert thin.see(t_door, kit).opened
    assert not thin.see(t_door, biden).opened

    # The edge terminal re-syncs: it holds only the people this door admits, with the new schedule.
    wait_for(lambda: len(((gallery.access or {}).get("groups") or [{}])[0].get("schedule", [{}])[0]
                         .get("days", [])) == 7, timeout=30)
    assert edge.see(e_door, kit).opened
    assert edge.see(e_door, biden).decision == "unknown"

    bad = api.post("/api/v1/access/groups", headers=h, json={**body, "name": "x", "members": [999_999]})
    assert bad.status_code == 422
    bad = api.post("/api/v1/access/groups", headers=h, json={**body, "name": "y", "tz": "Mars/Base"})
    assert bad.status_code == 422
    assert api.delete(f"/api/v1/access/groups/{group}", headers=h).status_code == 204
    assert thin.see(t_door, biden).opened


def test_door_events_become_alerts_on_the_live_feed(face_hub: FaceHub, doors: tuple[SimFleet, SimFleet]) -> None:
    thin, _ = doors
    door = thin.doors[0]
    live = LiveCollector(face_hub.rt.live)
    contact = door.contact
    assert isinstance(contact, SimulatedDoorContact)
    api, h = face_hub.api, face_hub.headers
    try:
        res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h,
                        json={"values": {"door_held_alarm_s": 5}})
        assert res.status_code == 200, res.text
        wait_for(lambda: door.monitor.held_alarm_s == 5, timeout=20)
        # Someone let in: the lock releases, the door swings open and shut. No alarm.
        door.lock.open(3)
        contact.open = True
        time.sleep(1.2)
        contact.open = False
        wait_for(lambda: not door.lock.is_open, timeout=10)
        time.sleep(0.6)  # one poll with the door shut and locked
        # The door contact opens while the lock is shut (forced), stays open past 5 s (held), closes.
        contact.open = True
        time.sleep(6.5)
        contact.open = False

        def alerts() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = face_hub.api.get("/api/v1/alerts", headers=face_hub.headers,
                                                           params={"device_id": door.device_id}).json()
            return [a for a in items if a["kind"].startswith("door_")]

        stored = wait_for(lambda: len(a := alerts()) >= 2 and a, timeout=20)
        assert {(a["kind"], a["severity"]) for a in stored} == {("door_forced_open", "critical"),
                                                               ("door_held_open", "warning")}
        with face_hub.rt.sessions() as session:
            actions = [e.data["action"] for e in session.execute(select(Event).where(
                Event.device_id == door.device_id, Event.type == "door")).scalars()]
        assert actions.count("forced_open") == 1 and actions.count("held_open") == 1
        wait_for(lambda: "closed" in [e["data"]["action"] for e in api.get(
            "/api/v1/events", headers=h, params={"device_id": door.device_id, "type": "door"}).json()["items"]])
        pushed = wait_for(lambda: [m for m in live.messages if m["live_kind"] == "alert"
                                   and m.get("device_id") == door.device_id], timeout=10)
        assert {m["severity"] for m in pushed} >= {"critical"}
    finally:
        live.close()
