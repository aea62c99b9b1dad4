"""Face check-in at the terminal, in one of two modes.

- ``edge``: detect, encode and match locally against the synced gallery (facecore.policy, the same
  rules as the hub), open the lock (also offline) and emit a ``punch`` event carrying the encoding,
  distance, threshold and model id; the outbox delivers it when the hub is reachable.
- ``thin``: send a face crop (JPEG, base64; the whole frame when the terminal finds no face, see
  face_crop) on ``req/identify``; the hub decides and the response opens the lock. No network, no
  decision: the door stays shut.

``present(frame)`` handles one still (one photo = one decision); ``run(source)`` follows a camera
stream with k-of-n frame voting. Cooldown: one approach = one punch.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from devices.door_terminal.face import FaceSource, Frame
from devices.door_terminal.face_crop import FaceCropper
from devices.door_terminal.gallery_store import LocalGallery, drop_employee_rows
from devices.door_terminal.lock import Lock
from devices.runtime.ports import AgentPort
from devices.runtime.requests import RequestTimeout
from facecore.images import decode_image, load_image_file
from facecore.models import MODEL_ID
from facecore.pipeline import FacePipeline
from facecore.policy import (
    ACCEPTED,
    Cooldown,
    Decision,
    FrameVoter,
    MatchPolicy,
    choose_subject,
    decide,
    decide_frame,
    device_policy_overrides,
)
from facecore.schedule import door_admits
from protocol.bodies_door import DoorAction, DoorEvent, PunchDirectionBody, PunchEvent
from protocol.events import Body
from protocol.payloads import ResponseStatus

log = logging.getLogger(__name__)

MODES = ("edge", "thin")


@dataclass(frozen=True)
class CheckinResult:
    decision: str  # accepted | unknown | ambiguous | rejected_quality | denied | voting | offline | error
    employee_id: str | None
    opened: bool
    reason: str
    distance: float | None = None
    threshold: float | None = None
    # edge: a punch event was queued (in the outbox, or in memory while the disk refuses writes);
    # thin: the hub recorded one
    punch_recorded: bool = False
    latency_s: float = 0.0  # from the frame to the door decision


class FaceCheckin:
    def __init__(self, *, agent: AgentPort, lock: Lock, mode: str, policy: MatchPolicy | None = None,
                 door: str = "main", open_for_s: float = 5.0, direction: str = "AUTO",
                 thin_max_side: int = 1024, thin_crop: bool = True, request_timeout_s: float = 10.0,
                 sync_interval_s: float = 300.0, on_opened: Any = None) -> None:
        if mode not in MODES:
            raise ValueError(f"face mode must be one of {MODES}, got {mode!r}")
        self.agent, self.lock, self.mode = agent, lock, mode
        self.policy = policy or MatchPolicy()
        self.door, self.open_for_s, self.direction = door, open_for_s, direction
        self.thin_max_side, self.request_timeout_s = thin_max_side, request_timeout_s
        self._cropper = FaceCropper() if thin_crop and mode == "thin" else None
        self.cooldown = Cooldown(cooldown_s=self.policy.cooldown_s)
        self._on_opened = on_opened
        self._pipeline: FacePipeline | None = None
        self._pipeline_lock = threading.Lock()
        self.gallery: LocalGallery | None = None
        self._sync_wake = threading.Event()
        self._reset_requested = False
        self._stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self.sync_interval_s = sync_interval_s
        self.synced = threading.Event()
        self._base_policy, self._base_open_for_s = self.policy, open_for_s
        self.offline_punches = True
        self._apply_policy_config(agent.state.config)
        agent.on_config(self._apply_policy_config)
        if mode == "edge":
            self.gallery = LocalGallery(folder=agent.workdir, device_id=agent.device_id)
            agent.on_command("sync_gallery", self._cmd_sync)
            agent.on_command("delete_templates", self._cmd_delete)
        else:
            agent.on_command("delete_templates", self._cmd_delete_thin)

    def _apply_policy_config(self, config: dict[str, Any]) -> None:
        """Device config: ``face_policy`` (MatchPolicy overrides, e.g. {"threshold": 0.5}) and
        ``match_threshold``, ``door_unlock_s``, ``offline_punches``. An unknown policy key or a bad value raises, so the
        fleet feature refuses the whole config with the reason and nothing changes."""
        policy = self._base_policy.with_overrides(device_policy_overrides(config))
        unlock_s = float(config.get("door_unlock_s", self._base_open_for_s))
        if not 0 < unlock_s <= 600:
            raise ValueError(f"door_unlock_s must be in (0, 600], got {unlock_s}")
        self.policy, self.open_for_s = policy, unlock_s
        self.offline_punches = bool(config.get("offline_punches", True))
        self.cooldown.cooldown_s = self.policy.cooldown_s

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.mode == "edge":
            self._sync_thread = threading.Thread(target=self._sync_loop, name=f"sync-{self.agent.device_id}",
                                                 daemon=True)
            self._sync_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._sync_wake.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5)

    @property
    def pipeline(self) -> FacePipeline:
        if self._pipeline is None:
            self._pipeline = FacePipeline(min_face_px=self.policy.min_face_px)
        return self._pipeline

    # --- check-in ----------------------------------------------------------------------------
    def present(self, frame: Frame, *, stream: bool = False) -> CheckinResult:
        """One still in front of the camera: decide, open or not, punch. ``stream`` (thin mode): a
        camera frame, for the hub's k-of-n agreement across this terminal's frames."""
        start = time.perf_counter()
        rgb = _to_rgb(frame)
        if self.mode == "thin":
            return self._thin(rgb, start, stream=stream)
        with self._pipeline_lock:
            faces = self.pipeline.analyze(rgb)
        assert self.gallery is not None
        decision = decide_frame(faces, search=self.gallery.search, policy=self.policy,
                                gallery_identities=self.gallery.identities())
        choice = choose_subject(faces, min_face_px=self.policy.min_face_px, area_ratio=self.policy.subject_area_ratio)
        subject = faces[choice.index] if choice.index is not None else None
        return self._edge_act(decision, subject.encoding if subject else None,
                              subject.face_px if subject else 0, start)

    def present_encoding(self, encoding: np.ndarray, *, face_px: int = 120, blur: float = 100.0) -> CheckinResult:
        """Edge: decide on an encoding computed elsewhere (benchmarks and load tests)."""
        if self.mode != "edge" or self.gallery is None:
            raise RuntimeError("present_encoding needs an edge terminal")
        start = time.perf_counter()
        decision = decide(self.gallery.search(encoding), face_px=face_px, blur=blur, policy=self.policy,
                          gallery_identities=self.gallery.identities())
        return self._edge_act(decision, encoding, face_px, start)

    def run(self, source: FaceSource, *, stop: threading.Event | None = None) -> None:
        """Follow a camera: k-of-n frames must agree before the door opens (edge: here; thin: at the hub)."""
        voter = FrameVoter.from_policy(self.policy)
        stop = stop or self._stop
        try:
            for frame in source.frames():
                if stop.is_set():
                    break
                try:
                    self._stream_frame(frame, voter)
                except Exception:  # one bad frame (or a failing write) must not end the camera loop
                    log.exception("%s: camera frame failed; the camera keeps running", self.agent.device_id)
        finally:
            source.close()

    def _stream_frame(self, frame: Frame, voter: FrameVoter) -> None:
        if self.mode == "thin":
            self.present(frame, stream=True)
            return
        with self._pipeline_lock:
            faces = self.pipeline.analyze(_to_rgb(frame))
        assert self.gallery is not None
        decision = decide_frame(faces, search=self.gallery.search, policy=self.policy,
                                gallery_identities=self.gallery.identities())
        if voter.add(decision) is not None:
            choice = choose_subject(faces, min_face_px=self.policy.min_face_px)
            face = faces[choice.index] if choice.index is not None else None
            self._edge_act(decision, face.encoding if face else None, face.face_px if face else 0,
                           time.perf_counter())

    def _edge_act(self, d: Decision, encoding: np.ndarray | None, face_px: int, start: float) -> CheckinResult:
        if not self.offline_punches and not self.agent.connected:
            return CheckinResult("offline", None, False, "the hub is unreachable and this terminal's config "
                                 "has offline_punches off: the door stays shut",
                                 latency_s=time.perf_counter() - start)
        if d.outcome != ACCEPTED or encoding is None:
            return CheckinResult(d.outcome, None, False, d.reason, d.distance, d.threshold,
                                 latency_s=time.perf_counter() - start)
        who = str(d.employee_id)
        assert self.gallery is not None
        admitted, why = door_admits(self.gallery.access, who, datetime.now(UTC))
        latency = time.perf_counter() - start
        if not admitted:
            return CheckinResult("denied", who, False, why, d.distance, d.threshold, latency_s=latency)
        self._open(f"face:{who}")
        recorded = False
        if self.cooldown.should_record(who, now=time.monotonic(), scope=self.door):
            assert self.gallery is not None
            gallery_version = self.gallery.version
            recorded = self._emit(lambda: PunchEvent(
                device_id=self.agent.device_id, employee_id=who,
                encoding=[float(x) for x in np.asarray(encoding, dtype=np.float32)],
                distance=float(d.distance or 0.0), threshold=d.threshold, model_id=MODEL_ID,
                direction=PunchDirectionBody(self.direction), door=self.door, gallery_version=gallery_version,
                face_px=int(face_px), offline=not self.agent.connected))
        return CheckinResult(ACCEPTED, who, True, d.reason, d.distance, d.threshold, recorded, latency)

    def _thin(self, rgb: np.ndarray, start: float, *, stream: bool = False) -> CheckinResult:
        image = self._cropper.crop(rgb)[0] if self._cropper is not None else rgb
        payload = {"image_b64": _jpeg_b64(image, self.thin_max_side), "door": self.door, "direction": self.direction,
                   "stream": stream}
        try:
            res = self.agent.request("identify", payload, timeout=self.request_timeout_s)
        except (RequestTimeout, RuntimeError) as exc:
            return CheckinResult("offline", None, False, f"no decision from the hub: {exc}",
                                 latency_s=time.perf_counter() - start)
        latency = time.perf_counter() - start
        if res.status is not ResponseStatus.OK:
            return CheckinResult("error", None, False, res.error or "refused", latency_s=latency)
        data = res.data
        opened = bool(data.get("open"))
        if opened:  # the relay time is this terminal's own config (door_unlock_s)
            self._open(f"face:{data.get('employee_id')}")
        return CheckinResult(str(data.get("decision")), data.get("employee_id"), opened, str(data.get("reason", "")),
                             data.get("distance"), data.get("threshold"), bool(data.get("punch_recorded")), latency)

    def _open(self, reason: str, duration: float | None = None) -> None:
        self.lock.open(duration or self.open_for_s)
        self._emit(lambda: DoorEvent(action=DoorAction.OPENED, door=self.door, reason=reason))
        if self._on_opened is not None:
            self._on_opened()

    def _emit(self, build: Callable[[], Body]) -> bool:
        """Report an event; the door has already decided, so a failure here is logged, not raised
        (a full disk is handled inside the agent; this catches e.g. an outbox closed at shutdown).
        The body is built in here too: a value outside the contract loses the record, not the door."""
        try:
            self.agent.emit(build())
        except Exception:
            log.exception("%s: could not record an event", self.agent.device_id)
            return False
        return True

    # --- gallery sync (edge) ---------------------------------------------------------------------
    def sync(self, *, reset: bool = False, timeout: float = 10.0) -> int:
        """Pull every pending page from the hub; returns the number of changes applied."""
        assert self.gallery is not None
        if reset:
            self.gallery.clear()
        applied = 0
        while True:
            res = self.agent.request("gallery_sync", {"since_version": 0 if reset else self.gallery.version,
                                                      "limit": 300, "want_key": not self.gallery.has_key},
                                     timeout=timeout)
            if res.status is not ResponseStatus.OK:
                raise RuntimeError(f"gallery sync refused: {res.error}")
            if res.data.get("key"):
                self.gallery.set_key(res.data["key"])
            applied += self.gallery.apply(res.data.get("changes", []), version=int(res.data["version"]),
                                          access=res.data.get("access"))
            reset = False
            if not res.data.get("has_more"):
                break
        self.synced.set()
        self._publish_version()
        return applied

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            if self.agent.wait_connected(1.0):
                reset, self._reset_requested = self._reset_requested, False
                try:
                    self.sync(reset=reset)
                except (RequestTimeout, RuntimeError, ValueError, OSError) as exc:  # OSError: disk full
                    log.warning("%s: gallery sync failed: %s", self.agent.device_id, exc)
                    self._stop.wait(2.0)
                    continue
                self._sync_wake.wait(self.sync_interval_s)
                self._sync_wake.clear()

    def _cmd_sync(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.gallery is not None
        if int(args.get("version", 0)) == 0:
            self._reset_requested = True
        self._sync_wake.set()
        return {"queued": True, "held_version": self.gallery.version}

    def _cmd_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.gallery is not None
        removed = self.gallery.remove_employee(str(args["employee_id"]))
        self._publish_version()
        return {"removed": removed, "gallery_version": self.gallery.version}

    def _cmd_delete_thin(self, args: dict[str, Any]) -> dict[str, Any]:
        # Thin terminals match nothing here, but one that ran in edge mode before still has its old
        # gallery file: the ack says what is really left on this device.
        removed, left = drop_employee_rows(self.agent.workdir, str(args["employee_id"]))
        return {"removed": removed, "holds_templates": left > 0}

    def _publish_version(self) -> None:
        if self.gallery is None:
            return
        st = self.agent.state
        live = dict(st.live)
        live.update(gallery_version=self.gallery.version, gallery_templates=len(self.gallery))
        self.agent.publish_state(config_version=st.config_version, config=st.config, live=live)


def _to_rgb(frame: Frame) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        return frame
    if isinstance(frame, Path):
        return load_image_file(frame)
    return decode_image(frame)


def _jpeg_b64(rgb: np.ndarray, max_side: int, *, max_chars: int = 380_000) -> str:
    """JPEG in base64, small enough for the identify body limit (400,000 characters)."""
    image = Image.fromarray(rgb)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    for quality in (90, 80, 70, 60):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        text = base64.b64encode(buf.getvalue()).decode("ascii")
        if len(text) <= max_chars:
            return text
        image.thumbnail((image.width * 3 // 4, image.height * 3 // 4))
    return text
