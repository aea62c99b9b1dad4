"""A door terminal's command acks say what happened on the device: the terminal's own command
dispatcher runs each command (no broker: its acks are captured where they would be published)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.door_terminal.agent import DoorTerminal
from devices.door_terminal.gallery_store import LocalGallery
from facecore.transit import derive_device_key, seal
from firmware_sim.adapters import SimulatedLock
from protocol.payloads import Command, CommandAck, CommandAckStatus, new_id, utcnow

DEVICE = "door-acks"
KEY = derive_device_key(b"k" * 48, DEVICE)


class Terminal:
    def __init__(self, workdir: Path, mode: str) -> None:
        self.lock = SimulatedLock()
        self.door = DoorTerminal(device_id=DEVICE, broker_url="mqtt://127.0.0.1:1", workdir=workdir,
                                 lock=self.lock, face_mode=mode)
        self.acks: list[CommandAck] = []
        self.door.agent.commands._publish_ack = lambda raw: self.acks.append(CommandAck.model_validate_json(raw))

    def run(self, name: str, args: dict[str, Any]) -> CommandAck:
        cmd = Command(command_id=new_id(), name=name, args=args, expires_at=utcnow() + timedelta(seconds=60))
        self.door.agent.commands.handle(cmd.to_bytes())
        return next(a for a in self.acks if a.command_id == cmd.command_id)

    def events(self, type_: str) -> list[dict[str, Any]]:
        return [e.data for e in self.door.agent.outbox.pending(1000) if e.type == type_]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    made: list[Terminal] = []

    def factory(mode: str) -> Terminal:
        t = Terminal(tmp_path / "door", mode)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.door.stop()


def _seed_gallery(folder: Path) -> LocalGallery:
    """Templates of employees 1 and 2 (two), as an edge terminal keeps them."""
    folder.mkdir(parents=True, exist_ok=True)
    g = LocalGallery(folder=folder, device_id=DEVICE)
    g.set_key(base64.b64encode(KEY).decode())
    rng = np.random.default_rng(1)
    changes = []
    for v, (tid, emp) in enumerate([("t1", "1"), ("t2", "2"), ("t3", "2")], start=1):
        vec = rng.normal(size=128).astype(np.float32)
        changes.append({"version": v, "op": "add", "template_id": tid, "employee_id": emp,
                        "sealed": seal(KEY, vec / np.linalg.norm(vec), device_id=DEVICE, template_id=tid,
                                       employee_id=emp)})
    g.apply(changes, version=3)
    return g


def test_thin_terminal_erases_what_edge_mode_left_behind(make: Any, tmp_path: Path) -> None:
    _seed_gallery(tmp_path / "door")  # this terminal ran in edge mode before
    t = make("thin")
    ack = t.run("delete_templates", {"employee_id": "2", "version": 9})
    assert ack.status is CommandAckStatus.OK and ack.result == {"removed": 2, "holds_templates": True}, ack
    rows = json.loads((tmp_path / "door" / "gallery.json").read_text())["rows"]
    assert {r["employee_id"] for r in rows.values()} == {"1"}
    assert t.run("delete_templates", {"employee_id": "1", "version": 10}).result == {
        "removed": 1, "holds_templates": False}


def test_edge_erasure_that_cannot_be_written_is_not_acked(make: Any, tmp_path: Path) -> None:
    t = make("edge")
    gallery = t.door.face.gallery
    gallery.set_key(base64.b64encode(KEY).decode())
    _seed_gallery(tmp_path / "door")
    gallery._load()  # pick up the seeded rows, as after a restart
    (tmp_path / "door" / "gallery.tmp").mkdir()  # disk full, as far as the gallery file goes

    failed = t.run("delete_templates", {"employee_id": "2", "version": 9})
    assert failed.status is CommandAckStatus.ERROR and "gallery.tmp" in (failed.error or "")
    # Still held in memory and on disk: nothing claims otherwise, and a retry does the real work.
    assert gallery.employee_ids() == {"1", "2"}
    assert LocalGallery(folder=tmp_path / "door", device_id=DEVICE).employee_ids() == {"1", "2"}
    (tmp_path / "door" / "gallery.tmp").rmdir()
    retry = t.run("delete_templates", {"employee_id": "2", "version": 9})
    assert retry.status is CommandAckStatus.OK and retry.result["removed"] == 2
    assert LocalGallery(folder=tmp_path / "door", device_id=DEVICE).employee_ids() == {"1"}


def test_open_door_with_a_failing_relay_is_an_error_and_no_opened_event(make: Any) -> None:
    t = make(None)
    t.lock.fail_next = "relay coil open circuit"
    failed = t.run("open_door", {"duration_s": 2, "reason": "visitor"})
    assert failed.status is CommandAckStatus.ERROR and "relay coil" in (failed.error or "")
    assert t.events("door") == [] and t.lock.openings == []
    ok = t.run("open_door", {"duration_s": 2, "reason": "visitor"})
    assert ok.status is CommandAckStatus.OK and [e["action"] for e in t.events("door")] == ["opened"]
