"""Edge terminal offline: the broker stops, the terminal keeps opening for enrolled people from its
synced gallery and refuses the unknown; after reconnect each punch is recorded exactly once."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from firmware_sim.adapters import SimulatedLock
from firmware_sim.fleet import SimFleet
from hub.api.app import create_app
from hub.db.models.attendance import PunchRow
from hub.db.models.core import AuditLog, Event
from hub.runtime import HubRuntime
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import FACES, enrol_people, images
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


def test_edge_terminal_works_offline_and_each_punch_is_recorded_once(
        hub_factory: Callable[..., HubRuntime], own_mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    rt = hub_factory(broker_url=own_mosquitto.url)
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        ids = enrol_people(api, headers, ["biden", "kit_harington"])
        fleet = SimFleet(broker_url=own_mosquitto.url, doors=1, printboxes=0, seed=3, workdir=tmp_path / "sim",
                         id_prefix=unique_id("off") + "-", face_mode="edge", heartbeat_s=5, ack_timeout_s=2)
        fleet.start()
        try:
            assert fleet.wait_connected(15) and fleet.wait_gallery_synced(30)
            door = fleet.doors[0]
            assert door.face is not None and door.face.gallery is not None
            assert door.face.gallery.employee_ids() == {str(i) for i in ids.values()}
            lock = door.lock
            assert isinstance(lock, SimulatedLock)

            own_mosquitto.stop()
            wait_for(lambda: not door.agent.connected, timeout=15)
            for person in ("biden", "kit_harington"):
                result = fleet.see(door, images(f"probe/{person}")[0])
                assert result.opened and result.employee_id == str(ids[person]), result
                assert result.punch_recorded
            unknown = fleet.see(door, FACES / "unknown" / "lin_manuel_miranda.png")
            assert (unknown.decision, unknown.opened) == ("unknown", False)
            assert len(lock.openings) == 2
            assert door.agent.outbox.depth() >= 2  # punches (and door events) wait in the outbox

            own_mosquitto.start()
            wait_for(lambda: door.agent.outbox.depth() == 0, timeout=60)

            def punches() -> list[PunchRow]:
                with rt.sessions() as s:
                    return list(s.execute(select(PunchRow).where(PunchRow.device_id == door.device_id)).scalars())

            rows = wait_for(lambda: (r := punches()) and len(r) >= 2 and r, timeout=30)
            assert Counter(r.employee_id for r in rows) == Counter({ids["biden"]: 1, ids["kit_harington"]: 1})
            assert {r.mode for r in rows} == {"edge"}
            with rt.sessions() as s:
                events = s.execute(select(func.count()).select_from(Event).where(
                    Event.device_id == door.device_id, Event.type == "punch")).scalar_one()
                assert events == 2
                # Decided punches no longer hold the face encoding (biometric data), in the table or the API.
                stored = list(s.execute(select(Event.data).where(Event.device_id == door.device_id,
                                                                  Event.type == "punch")).scalars())
                assert [d["encoding"] for d in stored] == ["redacted", "redacted"]
            shown = api.get("/api/v1/events", headers=headers, params={"device_id": door.device_id,
                                                                        "type": "punch"}).json()["items"]
            assert len(shown) == 2 and all(e["data"]["encoding"] == "redacted" for e in shown)
            with rt.sessions() as s:
                # Punches keep the time the door opened, not the time they arrived.
                assert all(r.ts < r.recorded_at for r in rows)
        finally:
            fleet.stop()


def test_config_sets_the_unlock_time_and_can_forbid_offline_opening(
        hub_factory: Callable[..., HubRuntime], own_mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """door_unlock_s, match_threshold, camera_source and offline_punches from the hub's device config
    change what the terminal does; a camera it cannot open is refused and the old one kept."""
    rt = hub_factory(broker_url=own_mosquitto.url)
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        ids = enrol_people(api, headers, ["biden"])
        fleet = SimFleet(broker_url=own_mosquitto.url, doors=1, printboxes=0, seed=4, workdir=tmp_path / "sim",
                         id_prefix=unique_id("cfgoff") + "-", face_mode="edge", heartbeat_s=5, ack_timeout_s=2)
        fleet.start()
        try:
            assert fleet.wait_connected(15) and fleet.wait_gallery_synced(30)
            door = fleet.doors[0]
            lock = door.lock
            assert isinstance(lock, SimulatedLock)
            res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=headers,
                            json={"values": {"door_unlock_s": 2.5, "offline_punches": False}})
            assert res.status_code == 200, res.text
            wait_for(lambda: api.get(f"/api/v1/devices/{door.device_id}/config", headers=headers).json()["in_sync"],
                     timeout=30)
            online = fleet.see(door, images("probe/biden")[0])
            assert online.opened and online.employee_id == str(ids["biden"])
            assert lock.openings[-1].duration_s == 2.5

            def push(values: dict[str, object]) -> None:
                res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=headers, json={"values": values})
                assert res.status_code == 200, res.text
                wait_for(lambda: (c := api.get(f"/api/v1/devices/{door.device_id}/config", headers=headers).json())
                         ["in_sync"] and c["reported_version"] == res.json()["version"], timeout=30)

            # match_threshold pins a stricter threshold: the same photo (≈ 0.4 away) no longer opens.
            push({"match_threshold": 0.3})
            strict = fleet.see(door, images("probe/biden")[0])
            assert not strict.opened and strict.decision != "accepted" and strict.threshold == 0.3
            push({"match_threshold": None})

            # camera_source switches the terminal to another camera (here a folder of stills).
            stills = tmp_path / "camera"
            stills.mkdir()
            for n in range(3):
                shutil.copy(images("probe/biden")[0], stills / f"frame{n}.jpg")
            push({"camera_source": str(stills)})
            wait_for(lambda: len(lock.openings) == 2, timeout=60)  # 2 of 3 frames agreed: the door opened
            bad = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=headers,
                            json={"values": {"camera_source": str(tmp_path / "no-such-camera")}})
            assert bad.status_code == 200, bad.text  # only the device can tell whether a camera opens

            def refusals() -> list[AuditLog]:
                with rt.sessions() as s:
                    return list(s.execute(select(AuditLog).where(
                        AuditLog.action == "config.failed", AuditLog.target_id == door.device_id)).scalars())

            refused = wait_for(refusals, timeout=30)
            assert "no-such-camera" in refused[0].detail["error"]
            assert door.agent.state.config["camera_source"] == str(stills)

            own_mosquitto.stop()
            wait_for(lambda: not door.agent.connected, timeout=15)
            offline = fleet.see(door, images("probe/biden")[0])
            assert (offline.decision, offline.opened) == ("offline", False)
            assert "offline_punches" in offline.reason and len(lock.openings) == 2
        finally:
            fleet.stop()
