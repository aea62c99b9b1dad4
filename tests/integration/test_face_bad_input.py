"""Bad input to enrolment, recognition and the terminal contract: a clear 4xx or a rejection,
and nothing half-stored."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from PIL import Image
from sqlalchemy import func, select

from firmware_sim.fleet import SimFleet
from hub.db.models.attendance import PunchRejection, PunchRow
from hub.db.models.core import DeadLetter
from hub.db.models.people import FaceTemplate, GalleryChange
from hub.services.face.service import FACE
from protocol import payloads as p
from protocol import topics
from protocol.bodies_door import PunchEvent
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import FACES, FaceHub, create_employee, enrol, images
from tests.support.waiting import wait_for

GOOD = (FACES / "enroll/biden/biden_1.jpg").read_bytes()
NEW_PERSON = (FACES / "unknown/lin_manuel_miranda.png").read_bytes()  # never enrolled in this module


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


BAD_PHOTOS = {
    "corrupt_image": (GOOD[: len(GOOD) // 2], 422),
    "not_an_image": (b"name,punch\nalice,09:00\n", 422),
    "too_many_pixels": (_png(Image.new("L", (10_000, 5_000))), 413),  # 50 megapixels
    "no_face": (_png(Image.new("RGB", (640, 480), (120, 120, 120))), 422),
    "multiple_faces": ((FACES / "multi/two_people.jpg").read_bytes(), 422),
}


def _counts(face_hub: FaceHub) -> tuple[int, int]:
    with face_hub.rt.sessions() as s:
        return (s.execute(select(func.count()).select_from(FaceTemplate)).scalar_one(),
                s.execute(select(func.count()).select_from(GalleryChange)).scalar_one())


@pytest.mark.parametrize("code", sorted(BAD_PHOTOS))
def test_bad_enrolment_photos_are_refused_and_nothing_is_stored(face_hub: FaceHub, code: str) -> None:
    api, headers = face_hub.api, face_hub.headers
    emp = create_employee(api, headers, unique_id("bad"))
    before = _counts(face_hub)
    data, status = BAD_PHOTOS[code]
    # A usable photo of a new person first: one bad photo refuses the whole upload.
    files = [("file", ("good.png", NEW_PERSON, "image/png")), ("file", ("bad.jpg", data, "image/jpeg"))]
    res = api.post(f"/api/v1/employees/{emp}/faces", headers=headers, files=files)
    assert res.status_code == status, res.text
    assert res.json()["detail"].startswith("photo 2: " + code), res.json()
    assert _counts(face_hub) == before


def test_enrolment_refusals_with_reasons(face_hub: FaceHub) -> None:
    api, headers = face_hub.api, face_hub.headers
    before = _counts(face_hub)
    res = enrol(api, headers, 999_999, [FACES / "enroll/biden/biden_1.jpg"])
    assert res.status_code == 404 and "no employee" in res.json()["detail"]
    other = create_employee(api, headers, unique_id("dup"))
    res = enrol(api, headers, other, [FACES / "probe/obama/obama_a.jpg"])
    assert res.status_code == 409 and "already_enrolled" in res.json()["detail"]
    assert str(face_hub.ids["obama"]) in res.json()["detail"]
    res = api.post(f"/api/v1/employees/{other}/faces", headers=headers, files=[])
    assert res.status_code == 422
    res = enrol(api, headers, other, [FACES / "enroll/alex_lacamoire/alex_lacamoire_1.jpg"] * 11)
    assert res.status_code == 422 and "photo_count" in res.json()["detail"]
    assert _counts(face_hub) == before


def test_recognition_api(face_hub: FaceHub) -> None:
    api, headers = face_hub.api, face_hub.headers
    probe = (FACES / "probe/kit_harington/kit_harington_a.jpg").read_bytes()
    res = api.post("/api/v1/recognition/identify", headers=headers, files={"file": ("p.jpg", probe)})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["employee_id"] == face_hub.ids["kit_harington"] and body["decision"] == "accepted"
    assert body["distance"] < 0.6
    unknown = (FACES / "unknown/lin_manuel_miranda.png").read_bytes()
    body = api.post("/api/v1/recognition/identify", headers=headers, files={"file": ("u.png", unknown)}).json()
    assert (body["employee_id"], body["decision"]) == (None, "unknown")
    same = api.post("/api/v1/recognition/verify", headers=headers,
                    files={"file1": ("a.jpg", probe), "file2": ("b.jpg", (FACES / "enroll/kit_harington/"
                                                                          "kit_harington_1.jpg").read_bytes())})
    assert same.status_code == 200 and same.json()["same"] is True
    diff = api.post("/api/v1/recognition/verify", headers=headers,
                    files={"file1": ("a.jpg", probe), "file2": ("u.png", unknown)}).json()
    assert diff["same"] is False and diff["distance"] > 0.6
    for code, (data, status) in BAD_PHOTOS.items():
        if code == "multiple_faces":
            continue
        res = api.post("/api/v1/recognition/identify", headers=headers, files={"file": ("x", data)})
        if code == "no_face":
            assert res.status_code == 200 and res.json()["decision"] == "rejected_quality"
        else:
            assert res.status_code == status and code in res.json()["detail"], (code, res.text)
    res = api.post("/api/v1/recognition/verify", headers=headers,
                   files={"file1": ("a.jpg", probe), "file2": ("n.png", BAD_PHOTOS["no_face"][0])})
    assert res.status_code == 422 and "no_face" in res.json()["detail"]
    assert api.post("/api/v1/recognition/identify", files={"file": ("p.jpg", probe)}).status_code == 401


@pytest.fixture(scope="module")
def edge_door(face_hub: FaceHub, mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[SimFleet]:
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=1, seed=2,
                     workdir=tmp_path_factory.mktemp("bad"), id_prefix=unique_id("bad") + "-", face_mode="edge")
    fleet.start()
    assert fleet.wait_connected(15) and fleet.wait_gallery_synced(30)
    yield fleet
    fleet.stop()


def _rejection(face_hub: FaceHub, key: str) -> PunchRejection:
    def find() -> PunchRejection | None:
        with face_hub.rt.sessions() as s:
            return s.execute(select(PunchRejection).where(PunchRejection.key == key)).scalar_one_or_none()

    row: PunchRejection = wait_for(find, timeout=20)
    return row


def _punch_body(face_hub: FaceHub, device_id: str, person: str, encoding: np.ndarray) -> PunchEvent:
    return PunchEvent(device_id=device_id, employee_id=str(face_hub.ids[person]),
                      encoding=[float(x) for x in encoding], distance=0.3, threshold=0.6,
                      model_id="dlib_resnet_v1+5pt", face_px=120)


def test_forged_punches_are_refused_and_not_recorded(face_hub: FaceHub, edge_door: SimFleet) -> None:
    door = edge_door.doors[0]
    box = edge_door.printboxes[0]
    enc = face_hub.rt.services.get(FACE).gallery.memory.snapshot()[1][0]
    owner = next(k for k, v in face_hub.ids.items() if v == enc.employee_id)
    other = next(k for k in face_hub.ids if k != owner)
    # 1. a terminal claiming to be another terminal
    events = []
    ev = door.agent.emit(_punch_body(face_hub, "some-other-door", owner, enc.encoding))
    events.append(ev.event_id)
    assert _rejection(face_hub, f"{door.device_id}:{ev.event_id}").reason.startswith("device_mismatch")
    # 2. a print box publishing punches on its own topic: refused by the ingest (a print box may not
    #    send punches), dead-lettered without the encoding, and never handed to the punch handler
    ev = box.agent.emit(_punch_body(face_hub, box.device_id, owner, enc.encoding))
    box_event = ev.event_id

    def box_punch_refused() -> DeadLetter | None:
        with face_hub.rt.sessions() as s:
            rows = s.execute(select(DeadLetter).where(DeadLetter.device_id == box.device_id,
                                                      DeadLetter.reason == "wrong_kind")).scalars().all()
            return next((r for r in rows if box_event.encode() in r.payload), None)

    dead = wait_for(box_punch_refused, timeout=20)
    assert b'"encoding": "redacted"' in dead.payload
    # 3. a terminal claiming the encoding is someone else
    ev = door.agent.emit(_punch_body(face_hub, door.device_id, other, enc.encoding))
    events.append(ev.event_id)
    assert _rejection(face_hub, f"{door.device_id}:{ev.event_id}").reason.startswith("reverify_mismatch")
    # 4. an encoding nobody owns (random vector)
    rng = np.random.default_rng(1)
    noise = rng.normal(size=128).astype(np.float32)
    ev = door.agent.emit(_punch_body(face_hub, door.device_id, owner, noise / np.linalg.norm(noise)))
    events.append(ev.event_id)
    assert _rejection(face_hub, f"{door.device_id}:{ev.event_id}").reason.startswith("reverify_failed")
    forged = [f"{door.device_id}:{e}" for e in events] + [f"{box.device_id}:{box_event}"]
    with face_hub.rt.sessions() as s:
        assert not s.execute(select(PunchRow).where(PunchRow.key.in_(forged))).first()
    alerts = face_hub.api.get("/api/v1/alerts", headers=face_hub.headers,
                              params={"kind": "punch_rejected", "device_id": door.device_id}).json()
    assert len(alerts) == 3


def test_edge_punch_outside_the_hubs_access_rules_is_recorded_and_alerted(face_hub: FaceHub,
                                                                          edge_door: SimFleet) -> None:
    """A terminal on out-of-date rules opened for someone the door no longer admits: the punch is
    a fact (recorded once), and admins get an alert naming the person and the rule."""
    door = edge_door.doors[0]
    enc = face_hub.rt.services.get(FACE).gallery.memory.snapshot()[1][0]
    owner = next(k for k, v in face_hub.ids.items() if v == enc.employee_id)
    other = next(k for k in face_hub.ids if k != owner)
    api, h = face_hub.api, face_hub.headers
    group = api.post("/api/v1/access/groups", headers=h, json={
        "name": unique_id("night-staff"), "doors": [door.device_id], "members": [face_hub.ids[other]]})
    assert group.status_code == 201, group.text
    try:
        ev = door.agent.emit(_punch_body(face_hub, door.device_id, owner, enc.encoding))
        key = f"{door.device_id}:{ev.event_id}"

        def recorded() -> PunchRow | None:
            with face_hub.rt.sessions() as s:
                return s.execute(select(PunchRow).where(PunchRow.key == key)).scalar_one_or_none()

        punch = wait_for(recorded, timeout=20)
        assert punch.employee_id == face_hub.ids[owner]
        alerts = wait_for(lambda: [a for a in api.get("/api/v1/alerts", headers=h, params={
            "kind": "access_outside_rules", "device_id": door.device_id}).json()
            if a["details"].get("event_id") == ev.event_id], timeout=20)
        assert len(alerts) == 1 and "no access group" in alerts[0]["message"]
        assert alerts[0]["details"]["employee_id"] == face_hub.ids[owner]
    finally:
        assert api.delete(f"/api/v1/access/groups/{group.json()['id']}", headers=h).status_code == 204


def test_unregistered_device_and_bad_identify_requests(face_hub: FaceHub, edge_door: SimFleet,
                                                       mosquitto: MosquittoBroker) -> None:
    ghost = unique_id("ghost")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=ghost)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        ev = p.Event(event_id=p.new_id(), seq=1, type="punch", device_ts=p.utcnow(), boot_id="b1",
                     data=_punch_body(face_hub, ghost, "biden", np.zeros(128, np.float32)).model_dump(mode="json"))
        client.publish(topics.events(ghost), ev.to_bytes(), qos=1).wait_for_publish(5)

        def dead() -> bool:
            with face_hub.rt.sessions() as s:
                return bool(s.execute(select(DeadLetter).where(DeadLetter.device_id == ghost,
                                                               DeadLetter.reason == "unknown_device")).first())

        wait_for(dead, timeout=20)
    finally:
        client.loop_stop()
        client.disconnect()
    agent = edge_door.doors[0].agent
    for image, code in ((b"\x00not base64!", "not_base64"), (base64.b64encode(b"hello").decode(), "not_an_image"),
                        (base64.b64encode(GOOD[: len(GOOD) // 2]).decode(), "corrupt_image")):
        res = agent.request("identify", {"image_b64": image.decode() if isinstance(image, bytes) else image},
                            timeout=10)
        assert res.status is p.ResponseStatus.ERROR and res.error and res.error.startswith(code), res


def test_missing_dataset_images_are_never_silently_skipped() -> None:
    assert len(images("probe")) == 13 and len(images("enroll")) == 6
    assert Path(FACES / "unknown").is_dir()
