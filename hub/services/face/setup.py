"""Wiring of the face feature: service, MQTT handlers, timers."""

from __future__ import annotations

import logging

from facecore.policy import MatchPolicy
from hub.services.context import FeatureContext
from hub.services.face.erasure import on_delete_ack
from hub.services.face.service import FACE, build_face_service
from hub.services.face.sync import gallery_page
from hub.services.face.terminal import FACE_TERMINALS, TerminalHandlers
from hub.services.face.workers import FaceWorkerPool
from protocol.bodies_door import GallerySyncRequest, PunchEvent

log = logging.getLogger(__name__)


def setup(ctx: FeatureContext) -> None:
    s = ctx.settings
    policy = MatchPolicy()
    # Workers start on the first face job (a hub that never sees a face pays nothing); `serve` and
    # `demo` warm them at start so the first check-in of the morning is not the slow one.
    pool = FaceWorkerPool(size=s.face_workers, queue_limit=s.face_queue_limit, timeout_s=s.face_job_timeout_s,
                          min_face_px=policy.min_face_px, max_rss_mb=s.face_worker_max_rss_mb)
    ctx.on_stop(pool.stop)
    face = build_face_service(sessions=ctx.sessions, template_key=s.template_key_bytes(), secret=s.secret(),
                              data_dir=s.data_dir, keep_photos=s.keep_enrolment_photos,
                              snapshot_retention_days=s.snapshot_retention_days, pool=pool, policy=policy)
    ctx.services.set(FACE, face)
    handlers = TerminalHandlers(face=face, sessions=ctx.sessions, live=ctx.live, alerts=ctx.alerts)
    ctx.services.set(FACE_TERMINALS, handlers)
    ctx.registry.on_request("identify", handlers.identify)

    def sync(device_id: str, _req: object, body: object) -> dict[str, object]:
        assert isinstance(body, GallerySyncRequest)
        return gallery_page(face, device_id=device_id, body=body)

    ctx.registry.on_request("gallery_sync", sync)
    ctx.registry.on_event(PunchEvent, handlers.on_punch, on_invalid=handlers.on_unreadable_punch)
    ctx.registry.on_command_ack("delete_templates", lambda d, n, a: on_delete_ack(face, d, n, a))
    if face.snapshots.enabled:
        ctx.timers.every(3600, face.snapshots.purge_expired, name="snapshot-retention")

