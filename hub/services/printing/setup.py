"""Wires the print feature (``hub.features``): its service, MQTT handlers and timers."""

from __future__ import annotations

from dataclasses import dataclass

from hub.services.context import FeatureContext
from hub.services.keys import ServiceKey
from hub.services.printing.face_release import FaceReleaseWatcher
from hub.services.printing.jobs import JobService
from hub.services.printing.registry import sync_printers
from hub.services.printing.release import ReleaseService
from hub.services.printing.tracking import JobTracker
from protocol.bodies_print import PrintJobEvent


@dataclass
class PrintFeature:
    jobs: JobService
    tracker: JobTracker
    release: ReleaseService
    face: FaceReleaseWatcher


PRINT: ServiceKey[PrintFeature] = ServiceKey("print")


def setup(ctx: FeatureContext) -> None:
    jobs = JobService(ctx)
    release = ReleaseService(jobs)
    feature = PrintFeature(jobs=jobs, tracker=JobTracker(jobs), release=release, face=FaceReleaseWatcher(release))
    ctx.services.set(PRINT, feature)
    ctx.registry.on_event(PrintJobEvent, feature.tracker.on_event, on_invalid=feature.tracker.on_bad_report)
    ctx.registry.on_command_ack("print_job", feature.tracker.on_ack)
    ctx.registry.on_request("print_jobs_pending", feature.tracker.on_pending)
    ctx.registry.on_request("release", feature.release.on_release_request)
    ctx.timers.every(1, lambda: sync_printers(sessions=ctx.sessions, alerts=ctx.alerts), name="print-printers")
    ctx.timers.every(2, feature.tracker.tick, name="print-jobs")
    ctx.timers.every(3600, feature.tracker.retention, name="print-retention")
    # Face release follows the punches the face feature verified (not the terminals' raw claims).
    ctx.timers.every(1, feature.face.scan, name="print-face-release")
