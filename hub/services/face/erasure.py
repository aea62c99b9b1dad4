"""Right to erasure: templates, photos, snapshots and the encodings of edge punches not yet decided
leave the hub, and templates leave every door terminal. The employee's logins are disabled.

The database work commits first (templates, change log, snapshot rows, erased mark, audit), then
files are deleted and every door terminal gets a ``delete_templates`` command whose ack is tracked
per terminal in ``erasure_acks``. A terminal that misses the command (offline past its expiry)
still drops the templates at its next gallery sync, because the delete is in the change log.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.db.models.core import Device, DeviceCommand, Event
from hub.db.models.people import Employee, ErasureAck, Snapshot
from hub.db.session import transaction
from hub.domain.biometrics import holds_biometrics, without_biometrics
from hub.services.audit import audit
from hub.services.commands import CommandRejected, CommandService
from hub.services.errors import NotFound
from hub.services.face.service import FaceService
from hub.services.users import disable_employee_logins
from protocol.payloads import CommandAck, CommandAckStatus, DeviceKind, new_id

log = logging.getLogger(__name__)

ERASURE_COMMAND_TTL_S = 7 * 24 * 3600


class NoSuchEmployee(NotFound):
    def __init__(self, employee_id: int) -> None:
        super().__init__(f"no employee {employee_id}")


def erase_employee(face: FaceService, commands: CommandService, *, employee_id: int, actor: str) -> dict[str, Any]:
    with transaction(face.sessions) as s:
        emp = s.get(Employee, employee_id)
        if emp is None:
            raise NoSuchEmployee(employee_id)
        templates = face.gallery.remove_employee(s, employee_id)
        photos = [t.photo_path for t in templates if t.photo_path]
        snaps = list(s.execute(select(Snapshot).where(Snapshot.employee_id == employee_id)).scalars())
        files = photos + [x.path for x in snaps]
        for snap in snaps:
            s.delete(snap)
        emp.erased_at = emp.erased_at or datetime.now(UTC)
        # Edge punches not decided yet still carry the encoding (decided ones were redacted then).
        waiting = s.execute(select(Event).where(Event.type == "punch", Event.processed_at.is_(None))).scalars()
        redacted = 0
        for ev in waiting:
            if str(ev.data.get("employee_id")) == str(employee_id) and holds_biometrics(ev.data):
                ev.data = without_biometrics(ev.data)
                redacted += 1
        emp.active = False
        # The person's login goes with them: disabled, and its tokens stop working at once.
        logins = disable_employee_logins(s, employee_id=employee_id, actor=actor, reason="employee erased")
        # Every door terminal with face check-in (a lock-only door never held templates).
        terminals = [d.id for d in s.execute(select(Device).where(
            Device.kind == DeviceKind.DOOR_TERMINAL.value, Device.revoked.is_(False))).scalars()
            if "face" in (d.capabilities or [])]
        audit(s, actor=actor, action="employee.erase", target_type="employee", target_id=str(employee_id),
              detail={"templates": len(templates), "files": len(files), "terminals": len(terminals),
                      "punch_encodings": redacted, "logins_disabled": len(logins)})
    for f in files:
        Path(f).unlink(missing_ok=True)
    for folder in {Path(f).parent for f in files}:
        with contextlib.suppress(OSError):
            folder.rmdir()
    face.gallery.apply_removed(employee_id)
    version = face.gallery.version
    template_ids = [t.id for t in templates]
    for device_id in terminals:
        # The tracking row exists before the command leaves, so even an instant ack finds it.
        cid = new_id()
        with transaction(face.sessions) as s:
            row = s.execute(select(ErasureAck).where(ErasureAck.employee_id == employee_id,
                                                     ErasureAck.device_id == device_id)).scalar_one_or_none()
            if row is None:
                s.add(ErasureAck(employee_id=employee_id, device_id=device_id, command_id=cid, state="sent"))
            else:
                row.command_id, row.state, row.acked_at = cid, "sent", None
        try:
            commands.send(device_id=device_id, name="delete_templates", ttl_s=ERASURE_COMMAND_TTL_S,
                          args={"employee_id": str(employee_id), "template_ids": template_ids[:1000],
                                "version": version}, created_by=actor, command_id=cid)
        except CommandRejected as exc:
            log.warning("erasure of %s: cannot reach %s: %s", employee_id, device_id, exc)
            with transaction(face.sessions) as s:
                for r in s.execute(select(ErasureAck).where(ErasureAck.command_id == cid)).scalars():
                    r.state, r.detail = "failed", str(exc)[:500]
    return erasure_status(face, employee_id=employee_id)


def on_delete_ack(face: FaceService, device_id: str, _name: str, ack: CommandAck) -> None:
    with transaction(face.sessions) as s:
        row = s.execute(select(ErasureAck).where(ErasureAck.command_id == ack.command_id)).scalar_one_or_none()
        if row is None or row.device_id != device_id:
            return
        row.state = "acked" if ack.status is CommandAckStatus.OK else "failed"
        row.acked_at = ack.ts
        row.detail = (ack.error or str(ack.result))[:500]


def erasure_status(face: FaceService, *, employee_id: int) -> dict[str, Any]:
    with face.sessions() as s:
        emp = s.get(Employee, employee_id)
        if emp is None:
            raise NoSuchEmployee(employee_id)
        rows = s.execute(select(ErasureAck, DeviceCommand.state).outerjoin(
            DeviceCommand, DeviceCommand.id == ErasureAck.command_id).where(
            ErasureAck.employee_id == employee_id).order_by(ErasureAck.device_id)).all()
        terminals = [{"device_id": r.device_id, "state": r.state, "command_id": r.command_id,
                      "command_state": cmd_state, "requested_at": r.requested_at, "acked_at": r.acked_at,
                      "detail": r.detail} for r, cmd_state in rows]
    return {"employee_id": employee_id, "erased_at": emp.erased_at,
            "templates_on_hub": 0 if emp.erased_at else None,
            "terminals": terminals, "pending": sum(1 for t in terminals if t["state"] != "acked"),
            "complete": emp.erased_at is not None and all(t["state"] == "acked" for t in terminals)}
