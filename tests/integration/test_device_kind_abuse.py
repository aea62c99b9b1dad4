"""A device reaches no further than its kind, on the real Mosquitto with dynamic security.

Each device is provisioned through the claim API (the claim names its kind) and connects with its
own broker account as a real device agent (devices/runtime). A print box cannot fetch the face
gallery or its template key, cannot re-announce itself as a door terminal, and its punches are not
recorded; the live stream carries no face encoding; thin-mode matching follows the hub's policy,
not the threshold a terminal reports.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from devices.print_box.agent import PrintBox
from devices.runtime.agent import DeviceAgent
from firmware_sim.adapters import SimulatedPrinter, SimulatedPrinters
from hub.db.models.attendance import PunchRow
from hub.db.models.core import Event
from hub.services.face.service import FACE
from protocol import payloads as p
from protocol.bodies_door import PunchEvent
from tests.fixtures.brokers import unique_id
from tests.fixtures.face import FACES, enrol_people
from tests.fixtures.hub_http import HttpHub
from tests.fixtures.secure_mosquitto import SecureMosquitto
from tests.support.waiting import wait_for

PEOPLE = ["obama", "biden"]


@dataclass
class Site:
    hub: HttpHub
    http: httpx.Client
    admin: dict[str, str]
    ids: dict[str, int]
    workdir: Path
    agents: list[DeviceAgent | PrintBox] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)

    def claim(self, kind: str) -> dict[str, Any]:
        res = self.http.post("/api/v1/provisioning/claims", headers=self.admin, json={"device_kind": kind})
        assert res.status_code == 201, res.text
        done = self.http.post("/api/v1/provisioning/claim", json={"token": res.json()["token"]})
        assert done.status_code == 200, done.text
        creds: dict[str, Any] = done.json()
        assert creds["kind"] == kind and creds["broker_auth"] == "dynsec"
        self.claimed.append(creds["device_id"])
        return creds

    def agent(self, creds: dict[str, Any], *, kind: p.DeviceKind, capabilities: list[str]) -> DeviceAgent:
        """A device agent on the claimed credentials announcing ``kind`` (which may be a lie)."""
        agent = DeviceAgent(device_id=creds["device_id"], kind=kind, model="test", firmware="1.0.0",
                            broker_url=creds["mqtt"]["url"], workdir=self.workdir / unique_id("agent"),
                            username=creds["mqtt"]["username"], password=creds["mqtt"]["password"],
                            capabilities=capabilities)
        agent.start()
        self.agents.append(agent)
        assert agent.wait_connected(15)
        return agent

    def device(self, device_id: str) -> dict[str, Any]:
        res = self.http.get(f"/api/v1/devices/{device_id}", headers=self.admin)
        assert res.status_code == 200, res.text
        out: dict[str, Any] = res.json()
        return out

    def alerts(self, device_id: str, kind: str) -> list[dict[str, Any]]:
        res = self.http.get("/api/v1/alerts", headers=self.admin, params={"kind": kind, "device_id": device_id})
        assert res.status_code == 200, res.text
        out: list[dict[str, Any]] = res.json()
        return out

    def dead_letters(self, device_id: str, reason: str) -> list[dict[str, Any]]:
        res = self.http.get("/api/v1/dead-letters", headers=self.admin,
                            params={"device_id": device_id, "reason": reason})
        assert res.status_code == 200, res.text
        out: list[dict[str, Any]] = res.json()
        return out

    def encoding_of(self, person: str) -> list[float]:
        """A template the hub holds for ``person``: what an edge terminal would send for them."""
        rows = self.hub.runtime.services.get(FACE).gallery.memory.snapshot()[1]
        row = next(r for r in rows if r.employee_id == self.ids[person])
        return [float(x) for x in row.encoding]


@pytest.fixture(scope="module")
def site(secure_mosquitto: SecureMosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("kind-abuse")
    hub = HttpHub(data_dir=tmp / "hub", broker_url=f"mqtt://{secure_mosquitto.host}:{secure_mosquitto.port}",
                  broker_username=unique_id("hub"), broker_password="hub-pw-" + unique_id("x"),
                  broker_admin_username=secure_mosquitto.admin_user,
                  broker_admin_password=secure_mosquitto.admin_password,
                  # No drift re-push during a test: a test below has a terminal report a config the hub
                  # did not give it, and that report must stay in place while the test looks.
                  config_reconcile_s=3600).start()
    try:
        http = hub.client()
        admin = hub.login()
        s = Site(hub, http, admin, enrol_people(http, admin, PEOPLE), tmp)  # type: ignore[arg-type]
        yield s
        for agent in s.agents:
            agent.stop()
        for device_id in s.claimed:  # revocation also clears the retained birth messages
            http.post(f"/api/v1/devices/{device_id}/revoke", headers=admin)
        http.close()
    finally:
        hub.stop()


def test_a_print_box_cannot_fetch_the_gallery_and_a_door_terminal_cannot_ask_for_print_jobs(site: Site) -> None:
    creds = site.claim("print_box")
    box = PrintBox(device_id=creds["device_id"], broker_url=creds["mqtt"]["url"], workdir=site.workdir / "box",
                   printers=SimulatedPrinters([SimulatedPrinter("office")]), username=creds["mqtt"]["username"],
                   password=creds["mqtt"]["password"])
    box.start()
    site.agents.append(box)
    assert box.agent.wait_connected(15)
    wait_for(lambda: site.device(box.device_id)["online"], what="print box online")

    res = box.agent.request("gallery_sync", {"since_version": 0, "want_key": True}, timeout=15)
    assert res.status is p.ResponseStatus.ERROR and res.error and res.error.startswith("wrong_kind"), res
    assert res.data in (None, {}), "no templates and no key in a refusal"
    probe = _jpeg_b64(FACES / "probe/obama/obama_240p.jpg")
    res = box.agent.request("identify", {"image_b64": probe}, timeout=15)
    assert res.status is p.ResponseStatus.ERROR and res.error and res.error.startswith("wrong_kind"), res
    alerts = wait_for(lambda: site.alerts(box.device_id, "device_wrong_kind"), what="wrong-kind alert")
    assert {a["details"]["what"] for a in alerts} >= {"request gallery_sync"}

    # The same request from a door terminal is answered: templates sealed for it, and its key.
    door_creds = site.claim("door_terminal")
    door = site.agent(door_creds, kind=p.DeviceKind.DOOR_TERMINAL, capabilities=["door", "face", "face_edge"])
    res = door.request("gallery_sync", {"since_version": 0, "want_key": True}, timeout=15)
    assert res.status is p.ResponseStatus.OK and res.data, res
    assert res.data["key"] and {c["op"] for c in res.data["changes"]} == {"add"}
    assert all(c["sealed"] for c in res.data["changes"])
    # …and a door terminal gets nothing of the print feature.
    res = door.request("print_jobs_pending", {"known_job_ids": []}, timeout=15)
    assert res.status is p.ResponseStatus.ERROR and res.error and res.error.startswith("wrong_kind"), res


def test_a_print_box_cannot_become_a_door_terminal_and_its_punches_are_not_recorded(site: Site) -> None:
    creds = site.claim("print_box")
    box_id = creds["device_id"]
    # The box's firmware is replaced by a door terminal's: it announces itself as one (retained info).
    rogue = site.agent(creds, kind=p.DeviceKind.DOOR_TERMINAL, capabilities=["door", "face", "face_edge"])
    alert = wait_for(lambda: site.alerts(box_id, "device_kind_change"), what="kind-change alert")[0]
    assert alert["severity"] == "critical" and "door_terminal" in alert["message"]
    assert site.device(box_id)["kind"] == "print_box"
    assert site.dead_letters(box_id, "kind_change")

    encoding = site.encoding_of("obama")
    ev = rogue.emit(PunchEvent(device_id=box_id, employee_id=str(site.ids["obama"]), encoding=encoding,
                               distance=0.0, threshold=0.6, model_id="dlib_resnet_v1+5pt", face_px=160))
    dead = wait_for(lambda: [d for d in site.dead_letters(box_id, "wrong_kind") if ev.event_id in d["payload_preview"]],
                    what="the forged punch dead-lettered")
    # Acked (the device stops resending) and kept without the encoding.
    wait_for(lambda: rogue.outbox.depth() == 0, what="the forged punch acked")
    assert str(encoding[0]) not in dead[0]["payload_preview"] and "redacted" in dead[0]["payload_preview"]
    with site.hub.runtime.sessions() as s:
        assert not s.execute(select(PunchRow).where(PunchRow.device_id == box_id)).first()
        assert not s.execute(select(Event).where(Event.device_id == box_id, Event.type == "punch")).first()
    assert site.device(box_id)["kind"] == "print_box"


def test_the_live_stream_carries_no_face_encoding(site: Site) -> None:
    creds = site.claim("door_terminal")
    door = site.agent(creds, kind=p.DeviceKind.DOOR_TERMINAL, capabilities=["door", "face", "face_edge"])
    messages: queue.Queue[dict[str, Any]] = queue.Queue()
    stop = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=site.hub.url, timeout=httpx.Timeout(60, read=None)) as c, \
                c.stream("GET", "/api/v1/stream", headers=site.admin) as res:
            for line in res.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("data:"):
                    messages.put(json.loads(line[5:]))

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert messages.get(timeout=15)["kind"] == "hello"

    encoding = site.encoding_of("biden")
    ev = door.emit(PunchEvent(device_id=door.device_id, employee_id=str(site.ids["biden"]), encoding=encoding,
                              distance=0.0, threshold=0.6, model_id="dlib_resnet_v1+5pt", face_px=160))
    seen: list[dict[str, Any]] = []
    event = checkin = None
    while event is None or checkin is None:
        msg = messages.get(timeout=30)
        seen.append(msg)
        if msg["kind"] == "event" and msg.get("event_id") == ev.event_id:
            event = msg
        if msg["kind"] == "checkin" and msg.get("device_id") == door.device_id:
            checkin = msg
    stop.set()
    assert checkin["punch_recorded"] is True and checkin["employee_id"] == str(site.ids["biden"])
    assert event["data"]["encoding"] == "redacted" and event["data"]["employee_id"] == str(site.ids["biden"])
    assert not any(_holds_encoding(m) for m in seen)


def test_thin_matching_ignores_the_threshold_a_terminal_reports(site: Site) -> None:
    creds = site.claim("door_terminal")
    door = site.agent(creds, kind=p.DeviceKind.DOOR_TERMINAL, capabilities=["door", "face", "face_thin"])
    cfg = wait_for(lambda: (v := site.http.get(f"/api/v1/devices/{door.device_id}/config",
                                               headers=site.admin).json())["in_sync"] and v,
                   what="the claimed terminal applied its desired config")
    # The terminal reports a config the hub never gave it: match anyone within distance 0.99.
    door.publish_state(config_version=cfg["version"],
                       config={**cfg["reported"], "face_policy": {"threshold": 0.99, "margin": 0.0}}, live={})
    wait_for(lambda: (site.device(door.device_id)["reported_state"].get("config") or {}).get(
        "face_policy", {}).get("threshold") == 0.99, what="the reported config stored")

    stranger = _jpeg_b64(FACES / "unknown/lin_manuel_miranda.png")
    res = door.request("identify", {"image_b64": stranger}, timeout=30)
    assert res.status is p.ResponseStatus.OK and res.data, res
    assert res.data["threshold"] <= 0.6, res.data
    assert (res.data["decision"], res.data["open"], res.data["employee_id"]) == ("unknown", False, None), res.data

    # The hub's own desired config for the device is what decides.
    patched = site.http.patch(f"/api/v1/devices/{door.device_id}/config", headers=site.admin,
                              json={"values": {"face_policy": {"threshold": 0.45}}})
    assert patched.status_code == 200, patched.text
    res = door.request("identify", {"image_b64": _jpeg_b64(FACES / "probe/obama/obama_a.jpg")}, timeout=30)
    assert res.status is p.ResponseStatus.OK and res.data, res
    assert res.data["threshold"] == pytest.approx(0.45), res.data


def _jpeg_b64(path: Path, max_side: int = 640) -> str:
    image = Image.open(path).convert("RGB")
    image.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode()


def _holds_encoding(value: Any) -> bool:
    """A list of 128 numbers anywhere in a live message: a face encoding."""
    if isinstance(value, dict):
        return any(_holds_encoding(v) for v in value.values())
    if isinstance(value, list):
        return (len(value) == 128 and all(isinstance(v, float | int) for v in value)) or any(
            _holds_encoding(v) for v in value)
    return False
