"""A face worker process: decode + detect + encode, one job at a time, for a hub-owned pool.

Every native call on untrusted pictures (PIL decode, OpenCV, dlib) happens here, in a process of
its own, so a crash in native code (dlib is not safe under concurrent use: several clients at once
brought the whole hub down with ``free(): invalid size``) costs one request, not the hub.

Started as ``python -c "…from facecore.worker import main…" <fd> <min_face_px>`` (not ``-m``, so
the classes pickled across the pipe live in this module, not in ``__main__``). Wire: a duplex
``multiprocessing.connection.Connection`` on that fd; each request and reply is one pickled frame.
The hub is the only peer (pickle is safe on this private pipe). The process exits on EOF, so it
never outlives a hub that was SIGKILLed.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from facecore.images import DEFAULT_MAX_PIXELS, ImageError, decode_image, encode_jpeg
from facecore.pipeline import FaceObservation, FacePipeline

CHECKIN = "checkin"
ENROLMENT = "enrolment"
PING = "ping"


@dataclass(frozen=True)
class FaceJob:
    kind: str  # CHECKIN | ENROLMENT | PING
    image: bytes = b""
    max_pixels: int = DEFAULT_MAX_PIXELS
    # The JPEG re-encoded without metadata, for callers that keep the photo (enrolment photos).
    want_jpeg: bool = False


@dataclass(frozen=True)
class FaceReply:
    """``error``: None, or (reason_code, message) of an ImageError (the only expected failure)."""

    faces: list[FaceObservation] = field(default_factory=list)
    error: tuple[str, str] | None = None
    jpeg: bytes | None = None
    width: int = 0
    height: int = 0
    max_rss_kb: int = 0  # the worker's peak RSS so far: the pool recycles a worker that grew too big


class JobRunner:
    """The pipelines of one worker, built once (the models load on first use)."""

    def __init__(self, *, checkin_min_face_px: int) -> None:
        # Enrolment photos are large: detect on 640 px so faces from ~80 px are found reliably.
        self._enrol = FacePipeline(detect_max_side=640)
        # Check-in: fast detection, and faces below the policy's minimum are never encoded.
        self._checkin = FacePipeline(min_face_px=checkin_min_face_px)

    def run(self, job: FaceJob) -> FaceReply:
        if job.kind == PING:
            from facecore.models import get_models

            get_models()  # warm: the first real job should not pay for loading the models
            return FaceReply(max_rss_kb=_max_rss_kb())
        if job.kind not in (CHECKIN, ENROLMENT):
            raise ValueError(f"unknown face job kind {job.kind!r}")
        try:
            rgb = decode_image(job.image, max_pixels=job.max_pixels)
        except ImageError as exc:
            return FaceReply(error=(exc.reason_code, exc.message), max_rss_kb=_max_rss_kb())
        pipeline = self._enrol if job.kind == ENROLMENT else self._checkin
        faces = pipeline.analyze(rgb)
        jpeg = encode_jpeg(rgb) if job.want_jpeg else None
        return FaceReply(faces=faces, jpeg=jpeg, width=rgb.shape[1], height=rgb.shape[0],
                         max_rss_kb=_max_rss_kb())


def _max_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def serve(conn: Connection, *, checkin_min_face_px: int) -> None:
    runner = JobRunner(checkin_min_face_px=checkin_min_face_px)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the hub closed the pipe or died
        conn.send(runner.run(job))


def main(argv: list[str]) -> int:
    import cv2

    cv2.setNumThreads(1)  # one thread per worker: the pool already has one worker per core
    fd, min_face_px = int(argv[1]), int(argv[2])
    serve(Connection(fd), checkin_min_face_px=min_face_px)
    return 0
