"""Wires the print feature into the hub runtime (``FEATURES``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.services.printing.face_release import FaceReleaseWatcher
from hub.services.printing.jobs import JobService
from hub.services.printing.registry import sync_printers
from hub.services.printing.release import ReleaseService
from hub.services.printing.tracking import JobTracker

if TYPE_CHECKING:
    from hub.runtime import HubRuntime


@dataclass
class PrintFeature:
    jobs: JobService
    tracker: JobTracker
    release: ReleaseService
    face: FaceReleaseWatcher


def setup(rt: HubRuntime) -> None:
    jobs = JobService(rt)
    release = ReleaseService(jobs)
    feature = PrintFeature(jobs=jobs, tracker=JobTracker(jobs), release=release, face=FaceReleaseWatcher(release))
    rt.services["print"] = feature
    rt.registry.on_event("print_job", feature.tracker.on_event)
    rt.registry.on_command_ack("print_job", feature.tracker.on_ack)
    rt.registry.on_request("print_jobs_pending", feature.tracker.on_pending)
    rt.registry.on_request("release", feature.release.on_release_request)
    rt.timers.every(1, lambda: sync_printers(rt), name="print-printers")
    rt.timers.every(2, feature.tracker.tick, name="print-jobs")
    rt.timers.every(3600, feature.tracker.retention, name="print-retention")
    # Face release follows the punches the face feature verified (not the terminals' raw claims).
    rt.timers.every(1, feature.face.scan, name="print-face-release")
