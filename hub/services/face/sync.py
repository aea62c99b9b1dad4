"""Gallery deltas for edge terminals (``req/gallery_sync``), templates sealed per device."""

from __future__ import annotations

import base64
import logging
from typing import Any

from sqlalchemy import select

from facecore.transit import derive_device_key, seal
from hub.db.models.core import Device
from hub.db.models.people import FaceTemplate, GalleryChange
from hub.services.access.rules import allowed_employees, door_rules
from hub.services.commands import CommandRejected, CommandService
from hub.services.face.service import FaceService
from protocol.bodies_door import GallerySyncRequest
from protocol.payloads import DeviceKind

log = logging.getLogger(__name__)


def gallery_page(face: FaceService, *, device_id: str, body: GallerySyncRequest) -> dict[str, Any]:
    """The next page of changes after ``since_version``. Adds for templates deleted since, or of
    employees this door does not admit, are left out (terminals treat unknown deletes as no-ops).
    Only door terminals get here: the ingest refuses ``gallery_sync`` from any other kind
    (protocol/senders.py), so no other device sees a template or its key."""
    key = derive_device_key(face.secret, device_id)
    with face.sessions() as s:
        rows = s.execute(select(GalleryChange).where(GalleryChange.version > body.since_version)
                         .order_by(GalleryChange.version).limit(body.limit + 1)).scalars().all()
        has_more = len(rows) > body.limit
        rows = rows[:body.limit]
        add_ids = [r.template_id for r in rows if r.op == "add"]
        templates = {t.id: t for t in s.execute(select(FaceTemplate).where(FaceTemplate.id.in_(add_ids)))
                     .scalars()} if add_ids else {}
        admitted = allowed_employees(s, device_id)
        rules = door_rules(s, device_id)
    changes: list[dict[str, Any]] = []
    for r in rows:
        item: dict[str, Any] = {"version": r.version, "op": r.op, "template_id": r.template_id,
                                "employee_id": str(r.employee_id), "sealed": None}
        if r.op == "add":
            t = templates.get(r.template_id)
            if t is None or (admitted is not None and r.employee_id not in admitted):
                continue
            item["sealed"] = seal(key, face.gallery.decrypt(t), device_id=device_id, template_id=t.id,
                                  employee_id=str(t.employee_id))
        changes.append(item)
    version = rows[-1].version if rows else body.since_version
    return {"version": version, "has_more": has_more, "changes": changes, "access": rules,
            "key": base64.b64encode(key).decode() if body.want_key else None}


def notify_edge_terminals(face: FaceService, commands: CommandService, *, version: int,
                          only: list[str] | None = None) -> int:
    """Tell online edge terminals to pull (``version`` 0: drop your gallery and pull everything,
    used when access groups change which people a door admits). Offline ones sync on reconnect."""
    with face.sessions() as s:
        devices = s.execute(select(Device).where(Device.kind == DeviceKind.DOOR_TERMINAL.value,
                                                 Device.online.is_(True), Device.revoked.is_(False))).scalars().all()
        targets = [d.id for d in devices if "face_edge" in (d.capabilities or []) and (only is None or d.id in only)]
    sent = 0
    for device_id in targets:
        try:
            commands.send(device_id=device_id, name="sync_gallery", args={"version": version}, ttl_s=300)
            sent += 1
        except CommandRejected as exc:
            log.warning("sync_gallery to %s: %s", device_id, exc)
    return sent
