"""``DoorTerminal``: a door/attendance terminal on the shared device runtime."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

from devices.door_terminal.camera import CameraError, OpenCvCamera
from devices.door_terminal.checkin import FaceCheckin
from devices.door_terminal.contact import DoorContact
from devices.door_terminal.door_monitor import DoorMonitor
from devices.door_terminal.face import FaceSource
from devices.door_terminal.lock import Lock
from devices.runtime import DeviceAgent, Runtime
from devices.runtime.executor import TimerHandle
from facecore.policy import MatchPolicy
from protocol.bodies_door import DoorAction, DoorEvent, OpenDoorArgs
from protocol.broker_tls import TlsSettings
from protocol.payloads import DeviceKind, utcnow

log = logging.getLogger(__name__)

MODEL = "officehub-door"
DOOR_POLL_S = 0.5
FIRMWARE = "0.1.0"


class DoorTerminal:
    def __init__(self, *, device_id: str, broker_url: str, workdir: Path, lock: Lock,
                 face_source: FaceSource | None = None, username: str | None = None,
                 password: str | None = None, model: str = MODEL, firmware: str = FIRMWARE,
                 heartbeat_s: float = 30, ack_timeout_s: float = 10, runtime: Runtime | None = None,
                 rng: random.Random | None = None, face_mode: str | None = None,
                 policy: MatchPolicy | None = None, contact: DoorContact | None = None,
                 door: str = "main", tls: TlsSettings | None = None) -> None:
        """``face_mode``: None (lock only), "edge" (match locally) or "thin" (the hub matches).
        ``contact``: the door-position sensor, for forced-open and held-open alarms.
        ``tls``: CA and client certificate for an ``mqtts://`` broker."""
        self.lock = lock
        self.contact = contact
        self.door = door
        self.monitor = DoorMonitor(held_alarm_s=30.0)
        self._door_timer: TimerHandle | None = None
        self.face_source = face_source
        caps = ["door"] + (["face", f"face_{face_mode}"] if face_mode else [])
        self.agent = DeviceAgent(device_id=device_id, kind=DeviceKind.DOOR_TERMINAL, model=model,
                                 firmware=firmware, broker_url=broker_url, workdir=workdir,
                                 username=username, password=password, capabilities=caps,
                                 heartbeat_s=heartbeat_s, ack_timeout_s=ack_timeout_s, runtime=runtime,
                                 rng=rng, tls=tls)
        self._last_opened: str | None = None
        self.agent.on_command("open_door", self._open_door)
        self.face: FaceCheckin | None = None
        if face_mode is not None:
            self.face = FaceCheckin(agent=self.agent, lock=lock, mode=face_mode, policy=policy,
                                    on_opened=self._mark_opened)
        self._camera: threading.Thread | None = None
        self._camera_lock = threading.Lock()
        self._started = False
        self._apply_door_config(self.agent.state.config)
        self.agent.on_config(self._apply_door_config)
        if self.face is not None:
            stored = self.agent.state.config.get("camera_source")
            if stored:
                try:
                    self.face_source = OpenCvCamera(str(stored))
                except CameraError as exc:  # keep the source it was started with
                    log.warning("%s: stored camera_source not usable: %s", device_id, exc)
            # First: opening the camera is what most often fails, and it fails before changing anything.
            self.agent.on_config(self._apply_camera_config, first=True)

    @property
    def device_id(self) -> str:
        return self.agent.device_id

    def start(self) -> None:
        self._publish_live()
        self.agent.start()
        if self.contact is not None:
            runtime = self.agent.runtime
            self._door_timer = runtime.scheduler.call_every(
                DOOR_POLL_S, lambda: runtime.submit_io(self._poll_door))
        if self.face is not None:
            self.face.start()
            with self._camera_lock:
                self._started = True
                self._start_camera()

    def _start_camera(self) -> None:
        if self.face is None or self.face_source is None:
            return
        face, source = self.face, self.face_source
        self._camera = threading.Thread(target=lambda: face.run(source), daemon=True,
                                        name=f"camera-{self.device_id}")
        self._camera.start()

    def _apply_camera_config(self, config: dict[str, Any]) -> None:
        """Device config ``camera_source``: switch to that camera. One the device cannot open raises,
        so the whole config is refused with the reason and the current camera keeps running."""
        spec = config.get("camera_source")
        current = getattr(self.face_source, "spec", None)
        if not spec or spec == current:
            return
        new = OpenCvCamera(str(spec))  # CameraError: refused
        with self._camera_lock:
            old, thread = self.face_source, self._camera
            self.face_source = new
            if not self._started:
                return
            if old is not None:
                old.close()
            if thread is not None:
                thread.join(timeout=10)
            self._start_camera()
        log.info("%s: camera switched to %s", self.device_id, spec)

    def check_door(self) -> list[DoorAction]:
        """Read the contact once and report forced-open / held-open / closed (returns what it sent)."""
        if self.contact is None:
            return []
        events = self.monitor.observe(now=time.monotonic(), door_open=self.contact.is_door_open(),
                                      unlocked=self.lock.is_open)
        for action in events:
            self.agent.emit(DoorEvent(action=action, door=self.door, reason="door contact"))
        return events

    def _poll_door(self) -> None:
        try:
            self.check_door()
        except Exception:  # a flaky sensor read must not stop the polling
            log.exception("%s: door contact read failed", self.device_id)

    def _apply_door_config(self, config: dict[str, Any]) -> None:
        held = float(config.get("door_held_alarm_s") or 30.0)
        if not 1 <= held <= 3600:
            raise ValueError(f"door_held_alarm_s must be in [1, 3600], got {held}")
        self.monitor.held_alarm_s = held

    def stop(self) -> None:
        if self._door_timer is not None:
            self._door_timer.cancel()
        with self._camera_lock:
            self._started = False
        if self.face_source is not None:
            self.face_source.close()
        if self.face is not None:
            self.face.stop()
        self.agent.stop()
        self.lock.close()

    def crash(self) -> None:
        self.agent.crash()

    def _open_door(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = OpenDoorArgs.model_validate(raw)
        self.lock.open(args.duration_s)  # raises LockError -> the command is acked "error"
        self._last_opened = utcnow().isoformat()
        self.agent.emit(DoorEvent(action=DoorAction.OPENED, door=args.door, reason=args.reason))
        self._publish_live()
        return {"door": args.door, "opened_for_s": args.duration_s}

    def _mark_opened(self) -> None:
        self._last_opened = utcnow().isoformat()

    def _publish_live(self) -> None:
        state = self.agent.state
        live = dict(state.live)
        live["last_opened_at"] = self._last_opened
        self.agent.publish_state(config_version=state.config_version, config=state.config, live=live)
