"""Wiring of the face feature: service, MQTT handlers, timers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from facecore.policy import MatchPolicy
from hub.services.face.erasure import on_delete_ack
from hub.services.face.service import build_face_service
from hub.services.face.sync import gallery_page
from hub.services.face.terminal import TerminalHandlers
from hub.services.face.workers import FaceWorkerPool
from protocol.bodies_door import GallerySyncRequest

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

log = logging.getLogger(__name__)


def setup(rt: HubRuntime) -> None:
    s = rt.settings
    policy = MatchPolicy()
    # Workers start on the first face job (a hub that never sees a face pays nothing); `serve` and
    # `demo` warm them at start so the first check-in of the morning is not the slow one.
    pool = FaceWorkerPool(size=s.face_workers, queue_limit=s.face_queue_limit, timeout_s=s.face_job_timeout_s,
                          min_face_px=policy.min_face_px, max_rss_mb=s.face_worker_max_rss_mb)
    rt.stoppers.append(pool.stop)
    face = build_face_service(sessions=rt.sessions, template_key=s.template_key_bytes(), secret=s.secret(),
                              data_dir=s.data_dir, keep_photos=s.keep_enrolment_photos,
                              snapshot_retention_days=s.snapshot_retention_days, pool=pool, policy=policy)
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
