"""Face check-in through the real MQTT path: simulated terminal -> Mosquitto -> hub -> decision,
in thin mode (the hub decides, the response opens the door) and edge mode (the terminal decides
on its synced gallery, the hub re-verifies each punch)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from facecore.images import letterbox, load_image_file
from firmware_sim.adapters import InjectedCamera, SimulatedLock
from firmware_sim.fleet import SimFleet
from hub.db.models.attendance import PunchRow
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import FACES, FaceHub, images
from tests.support.waiting import wait_for

PROBES = images("probe")


def _fleet(face_hub: FaceHub, mosquitto: MosquittoBroker, tmp: Path, mode: str) -> SimFleet:
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=1, workdir=tmp / mode,
                     id_prefix=unique_id(mode) + "-", face_mode=mode, heartbeat_s=5)
    fleet.start()
    assert fleet.wait_connected(15)
    door = fleet.doors[0].device_id
    wait_for(lambda: face_hub.api.get(f"/api/v1/devices/{door}", headers=face_hub.headers).status_code == 200)
    return fleet


@pytest.fixture(scope="module")
def thin(face_hub: FaceHub, mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[SimFleet]:
    fleet = _fleet(face_hub, mosquitto, tmp_path_factory.mktemp("thin"), "thin")
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def edge(face_hub: FaceHub, mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[SimFleet]:
    fleet = _fleet(face_hub, mosquitto, tmp_path_factory.mktemp("edge"), "edge")
    assert fleet.wait_gallery_synced(30)
    yield fleet
    fleet.stop()


def _punches(face_hub: FaceHub, device_id: str) -> list[PunchRow]:
    with face_hub.rt.sessions() as s:
        return list(s.execute(select(PunchRow).where(PunchRow.device_id == device_id)).scalars())


@pytest.mark.parametrize("mode", ["thin", "edge"])
def test_every_probe_opens_the_door_for_its_person_and_one_approach_is_one_punch(
        mode: str, request: pytest.FixtureRequest, face_hub: FaceHub) -> None:
    fleet: SimFleet = request.getfixturevalue(mode)
    door = fleet.doors[0]
    lock = door.lock
    assert isinstance(lock, SimulatedLock)
    before = len(lock.openings)
    for path in PROBES:
        result = fleet.see(door, path)
        assert result.opened and result.decision == "accepted", (path.name, result)
        assert result.employee_id == str(face_hub.ids[path.parent.name]), path.name
        assert result.distance is not None and result.distance < 0.6
    assert len(lock.openings) == before + len(PROBES)
    people = Counter(p.parent.name for p in PROBES)
    # Cooldown: obama's several probes in a row are one approach, so one punch per person.
    rows = wait_for(lambda: (r := _punches(face_hub, door.device_id)) and len(r) >= len(people) and r, timeout=30)
    assert Counter(r.employee_id for r in rows) == Counter({face_hub.ids[p]: 1 for p in people})
    assert {r.mode for r in rows} == {mode}
    assert all(r.model_id and r.threshold and r.distance is not None for r in rows)


@pytest.mark.parametrize("mode", ["thin", "edge"])
def test_unknown_person_and_group_photos_are_refused(mode: str, request: pytest.FixtureRequest) -> None:
    fleet: SimFleet = request.getfixturevalue(mode)
    door = fleet.doors[0]
    assert isinstance(door.lock, SimulatedLock)
    before = len(door.lock.openings)
    for path in images("unknown"):
        result = fleet.see(door, path)
        assert (result.decision, result.opened, result.employee_id) == ("unknown", False, None), result
    for path in images("multi"):
        result = fleet.see(door, path)
        assert (result.decision, result.opened) == ("rejected_quality", False), (path.name, result)
        assert result.reason.startswith("multiple_faces"), result.reason
    assert len(door.lock.openings) == before


@pytest.mark.parametrize("mode", ["thin", "edge"])
def test_per_device_threshold_from_device_config(mode: str, request: pytest.FixtureRequest,
                                                 face_hub: FaceHub) -> None:
    fleet: SimFleet = request.getfixturevalue(mode)
    door = fleet.doors[0]
    probe = images("probe/biden")[0]
    api, h = face_hub.api, face_hub.headers

    def set_policy(policy: dict[str, object] | None) -> None:
        # The hub's desired config for the device: pushed with apply_config, applied by the terminal
        # (edge matching) and used by the hub itself (thin matching, edge re-verification).
        res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"face_policy": policy}})
        assert res.status_code == 200, res.text

    def reported() -> bool:
        res = api.get(f"/api/v1/devices/{door.device_id}", headers=h).json()
        return bool(res["reported_state"].get("config", {}).get("face_policy"))

    set_policy({"threshold": 0.2, "cooldown_s": 0})
    wait_for(reported, timeout=20)
    result = fleet.see(door, probe)
    assert (result.decision, result.opened) == ("ambiguous", False), result
    assert result.threshold == 0.2
    bad = face_hub.rt.commands.send(device_id=door.device_id, name="apply_config",
                                    args={"version": 99, "config": {"face_policy": {"thresold": 0.5}}})
    final = wait_for(lambda: (c := face_hub.rt.commands.get(bad.id)) is not None and c.state != "sent"
                     and c.state != "pending" and c, timeout=20)
    assert final.state == "failed" and "thresold" in (final.error or "")
    set_policy(None)
    wait_for(lambda: not reported(), timeout=20)
    assert fleet.see(door, probe).opened


@pytest.mark.parametrize("mode", ["thin", "edge"])
def test_group_frame_with_a_dominant_face_opens_for_that_person(mode: str, request: pytest.FixtureRequest,
                                                                face_hub: FaceHub) -> None:
    fleet: SimFleet = request.getfixturevalue(mode)
    # A 640×480 door camera: obama close to it, biden further back (the policy's subject rule).
    frame = letterbox(load_image_file(FACES / "probe/obama/obama_b.jpg"))
    frame[-220:, :220] = cv2.resize(load_image_file(FACES / "probe/biden/biden_a.jpg"), (220, 220))
    result = fleet.see(fleet.doors[0], frame)
    assert (result.decision, result.opened, result.employee_id) == ("accepted", True, str(face_hub.ids["obama"]))


def test_edge_camera_stream_needs_two_agreeing_frames(edge: SimFleet, face_hub: FaceHub) -> None:
    door = edge.doors[0]
    assert door.face is not None and isinstance(door.lock, SimulatedLock)
    camera = InjectedCamera()
    stop = threading.Event()
    runner = threading.Thread(target=door.face.run, args=(camera,), kwargs={"stop": stop}, daemon=True)
    runner.start()
    try:
        before = len(door.lock.openings)
        kit = load_image_file(images("probe/kit_harington")[0])
        camera.show(kit)
        camera.show(load_image_file(images("unknown")[0]))
        time.sleep(1.5)  # two frames processed, only one names kit: the door stays shut
        assert len(door.lock.openings) == before
        camera.show(kit)  # 2 of the last 3 frames agree
        wait_for(lambda: len(door.lock.openings) == before + 1, timeout=10)
    finally:
        stop.set()
        camera.close()
        runner.join(5)


def test_thin_camera_frames_must_agree_before_the_door_opens(face_hub: FaceHub, mosquitto: MosquittoBroker,
                                                              tmp_path: Path) -> None:
    """A thin terminal following a camera sends stream frames: the hub opens only when 2 of the
    last 3 frames name the same person; a single still still decides alone."""
    fleet = _fleet(face_hub, mosquitto, tmp_path, "thin")
    try:
        door = fleet.doors[0]
        assert door.face is not None
        lock = door.lock
        assert isinstance(lock, SimulatedLock)
        biden, stranger = images("probe/biden")[0], FACES / "unknown" / "lin_manuel_miranda.png"
        first = door.face.present(biden, stream=True)
        assert (first.decision, first.opened) == ("voting", False) and "2 of 3" in first.reason
        assert door.face.present(stranger, stream=True).opened is False
        third = door.face.present(biden, stream=True)
        assert third.opened and third.employee_id == str(face_hub.ids["biden"])
        assert len(lock.openings) == 1
        still = fleet.see(door, images("probe/rose_leslie")[0])
        assert still.opened and len(lock.openings) == 2
    finally:
        fleet.stop()
