"""Wiring of the face feature: service, MQTT handlers, timers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.services.face.erasure import on_delete_ack
from hub.services.face.service import build_face_service
from hub.services.face.sync import gallery_page
from hub.services.face.terminal import TerminalHandlers
from protocol.bodies_door import GallerySyncRequest

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

log = logging.getLogger(__name__)


def setup(rt: HubRuntime) -> None:
    s = rt.settings
    face = build_face_service(sessions=rt.sessions, template_key=s.template_key_bytes(), secret=s.secret(),
                              data_dir=s.data_dir, keep_photos=s.keep_enrolment_photos,
                              snapshot_retention_days=s.snapshot_retention_days)
    rt.services["face"] = face
    handlers = TerminalHandlers(rt=rt, face=face, sessions=rt.sessions, live=rt.live)
    rt.services["face_terminals"] = handlers
    rt.registry.on_request("identify", handlers.identify)

    def sync(device_id: str, _req: object, body: object) -> dict[str, object]:
        assert isinstance(body, GallerySyncRequest)
        return gallery_page(face, device_id=device_id, body=body)

    rt.registry.on_request("gallery_sync", sync)  # type: ignore[arg-type]
    rt.registry.on_event("punch", handlers.on_punch)
    rt.registry.on_command_ack("delete_templates", lambda d, n, a: on_delete_ack(face, d, n, a))
    if face.snapshots.enabled:
        rt.timers.every(3600, face.snapshots.purge_expired, name="snapshot-retention")


def _register_demo_seeder() -> None:
    from hub.demo import DEMO_SEEDERS
    from hub.services.face.demo import seed_face_demo

    if seed_face_demo not in DEMO_SEEDERS:
        DEMO_SEEDERS.append(seed_face_demo)


_register_demo_seeder()
