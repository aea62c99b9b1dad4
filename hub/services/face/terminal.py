"""Door terminals over MQTT: thin ``identify`` requests and edge ``punch`` events.

Thin: decode -> detect/encode/1:N (matching policy) -> access rules -> punch once per approach
(cooldown; idempotent on the request transaction) -> the response opens the door.
Edge: the terminal already opened; the hub re-verifies the reported encoding 1:N with its own
gallery and policy and records the punch idempotently on (device_id, event_id), or records why not.
It also re-checks the door's access rules at the punch time: a terminal deciding on rules older
than the hub's (offline while an admin changed them) opened for someone it should not have. The
punch is still recorded (the person was there) and an ``access_outside_rules`` alert says who/why.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from facecore.images import ImageError
from facecore.models import MODEL_ID
from facecore.policy import ACCEPTED, Decision, FrameVoter, MatchPolicy, decide, device_policy_overrides
from hub.db.models.attendance import PunchRejection, PunchRow
from hub.db.models.core import Device
from hub.db.models.core import Event as EventRow
from hub.db.models.people import Employee
from hub.db.session import SessionFactory, transaction
from hub.domain.biometrics import holds_biometrics, without_biometrics
from hub.ingest.handlers import RequestRefused, StoredEvent
from hub.services.access.rules import may_open
from hub.services.alerts import Alerts
from hub.services.attendance.punches import PunchIn, record_punch, record_rejection
from hub.services.face.service import FaceService
from hub.services.face.workers import FaceEngineUnavailable
from hub.services.fleet.config import desired_config
from hub.services.keys import ServiceKey
from hub.services.live import LiveFeed
from protocol.bodies_door import IdentifyRequest, PunchEvent
from protocol.payloads import DeviceKind, Request

log = logging.getLogger(__name__)

VOTING = "voting"  # a stream frame counted, the agreement not reached yet

THIN_MAX_PIXELS = 12_000_000
OPEN_FOR_S = 5.0


class TerminalHandlers:
    def __init__(self, *, face: FaceService, sessions: SessionFactory, live: LiveFeed, alerts: Alerts) -> None:
        self.alerts = alerts
        self.face = face
        self.sessions = sessions
        self.live = live
        self._voters: dict[str, FrameVoter] = {}
        self._voters_lock = threading.Lock()

    # --- thin -------------------------------------------------------------------------------
    def identify(self, device_id: str, req: Request, body: BaseModel | None) -> dict[str, Any]:
        assert isinstance(body, IdentifyRequest)
        try:
            data = base64.b64decode(body.image_b64, validate=True)
        except binascii.Error as exc:
            raise RequestRefused("not_base64: image_b64 is not valid base64") from exc
        policy = self._policy_for(device_id)
        try:
            result = self.face.recognizer.identify(data, policy=policy, max_pixels=THIN_MAX_PIXELS)
        except ImageError as exc:
            raise RequestRefused(f"{exc.reason_code}: {exc.message}") from exc
        except FaceEngineUnavailable as exc:
            # The door stays shut this time; the terminal retries with its next frame.
            raise RequestRefused(f"face_engine_{exc.code}: {exc.message}; retry in {exc.retry_after_s} s") from exc
        d = result.decision
        answer: dict[str, Any] = {"decision": d.outcome, "open": False, "open_for_s": 0.0,
                                  "employee_id": None, "distance": d.distance, "threshold": d.threshold,
                                  "reason": d.reason, "punch_recorded": False}
        now = datetime.now(UTC)
        if body.stream and not self._stream_agrees(device_id, d, policy):
            if d.outcome == ACCEPTED:
                answer.update(decision=VOTING, reason=f"{d.reason}; waiting for {policy.frames_required} of "
                                                      f"{policy.frames_window} frames to agree")
            self.live.publish("checkin", {"device_id": device_id, "mode": "thin", **answer})
            return answer
        if d.outcome == ACCEPTED and d.employee_id is not None:  # accepted always names someone
            emp_id = int(d.employee_id)
            answer["employee_id"] = str(emp_id)
            with transaction(self.sessions) as s:
                access = may_open(s, employee_id=emp_id, device_id=device_id, at=now)
                if not access.allowed:
                    answer.update(decision="denied", reason=access.reason)
                else:
                    answer.update(open=True, open_for_s=OPEN_FOR_S)
                    if self.face.first_punch_of_approach(emp_id, device_id, cooldown_s=policy.cooldown_s):
                        answer["punch_recorded"] = record_punch(s, PunchIn(
                            key=f"{device_id}:{req.transaction}", employee_id=emp_id, ts=now,
                            direction=body.direction.value, source="face", device_id=device_id, door=body.door,
                            mode="thin", distance=d.distance, threshold=d.threshold, model_id=MODEL_ID))
        if d.outcome == ACCEPTED or d.outcome == "unknown":
            self.face.snapshots.save(data=data, employee_id=int(answer["employee_id"]) if answer["employee_id"]
                                     else None, device_id=device_id, decision=answer["decision"])
        self.live.publish("checkin", {"device_id": device_id, "mode": "thin", **answer})
        return answer

    def _stream_agrees(self, device_id: str, decision: Decision, policy: MatchPolicy) -> bool:
        """k-of-n over this terminal's stream frames (one voter per device, rebuilt when its policy
        changes): True on the frame that completes the agreement."""
        with self._voters_lock:
            voter = self._voters.get(device_id)
            if voter is None or (voter.frames_required, voter.frames_window) != (
                    policy.frames_required, policy.frames_window):
                voter = self._voters[device_id] = FrameVoter.from_policy(policy)
            return voter.add(decision) is not None

    def _policy_for(self, device_id: str) -> MatchPolicy:
        """The hub's policy for this terminal: its ``face_policy`` in the hub's desired config for the
        device (fleet config layers), else the hub default. Never the config the device reports: a
        terminal reporting threshold 0.99 would have the hub open the door to strangers."""
        with self.sessions() as s:
            return self._policy_in(s, device_id)

    def _policy_in(self, s: Session, device_id: str) -> MatchPolicy:
        config = desired_config(s, device_id)
        try:
            overrides = device_policy_overrides(config)
            return self.face.policy.with_overrides(overrides) if overrides else self.face.policy
        except (ValueError, TypeError):
            log.warning("the desired face policy of %s is unusable (%r); using the hub default", device_id, config)
            return self.face.policy

    # --- edge -------------------------------------------------------------------------------
    @staticmethod
    def _decided(s: Session, key: str) -> bool:
        return bool(s.query(PunchRow.id).filter_by(key=key).first() or
                    s.query(PunchRejection.id).filter_by(key=key).first())

    def on_unreadable_punch(self, ev: StoredEvent, error: ValidationError) -> None:
        """A stored punch that is no longer a ``PunchEvent``: its encoding was redacted because the
        employee was erased before it was processed. Anything else is a real error."""
        key = f"{ev.device_id}:{ev.event_id}"
        with transaction(self.sessions) as s:
            if self._decided(s, key):
                return  # re-processing after a restart: already decided
            if holds_biometrics(ev.data):
                raise error
            claimed = str(ev.data.get("employee_id") or "") or None
            record_rejection(s, key=key, device_id=ev.device_id, claimed_employee_id=claimed,
                             reason="encoding_erased: the employee was erased before this punch was processed")

    def on_punch(self, ev: StoredEvent, body: PunchEvent) -> None:
        key = f"{ev.device_id}:{ev.event_id}"
        with transaction(self.sessions) as s:
            if self._decided(s, key):
                return  # re-processing after a restart: already decided
            problem, emp_id, distance, threshold = self._verify_edge(s, ev, body)
            # Decided: the encoding (biometric data) leaves the stored event.
            s.execute(update(EventRow).where(EventRow.device_id == ev.device_id, EventRow.event_id == ev.event_id)
                      .values(data=without_biometrics(ev.data)))
            access = None
            if problem is None:
                assert emp_id is not None
                access = may_open(s, employee_id=emp_id, device_id=ev.device_id, at=ev.device_ts)
                record_punch(s, PunchIn(
                    key=key, employee_id=emp_id, ts=ev.device_ts, direction=body.direction.value, source="face",
                    device_id=ev.device_id, door=body.door, mode="edge", distance=distance, threshold=threshold,
                    model_id=body.model_id))
            else:
                record_rejection(s, key=key, device_id=ev.device_id, claimed_employee_id=body.employee_id,
                                 reason=problem)
        if problem is None:
            self.live.publish("checkin", {"device_id": ev.device_id, "mode": "edge", "employee_id": str(emp_id),
                                          "decision": ACCEPTED, "distance": distance, "punch_recorded": True})
            if access is not None and not access.allowed:
                self.alerts.raise_quietly(kind="access_outside_rules", severity="warning", device_id=ev.device_id,
                            message=f"terminal opened door {body.door or ev.device_id} for employee {emp_id}, "
                                    f"which the hub's access rules refuse: {access.reason} "
                                    "(the terminal's rules may be out of date)",
                            details={"event_id": ev.event_id, "employee_id": emp_id, "reason": access.reason},
                            dedupe_key=f"access:{key}")
        else:
            log.warning("edge punch %s refused: %s", key, problem)
            # source-keyed: a redelivered event bumps the same alert instead of raising a second one.
            self.alerts.raise_quietly(kind="punch_rejected", severity="warning",
                                      device_id=ev.device_id, message=f"punch refused: {problem}",
                                      details={"event_id": ev.event_id, "claimed_employee_id": body.employee_id},
                                      dedupe_key=f"punch:{key}")

    def _verify_edge(self, s: Any, ev: StoredEvent, body: PunchEvent
                     ) -> tuple[str | None, int | None, float | None, float | None]:
        if body.device_id != ev.device_id:
            return (f"device_mismatch: event published on {ev.device_id}'s topic claims terminal "
                    f"{body.device_id}", None, None, None)
        # Two columns, not the entity: the row carries the device's whole reported state as JSON.
        dev = s.execute(select(Device.revoked, Device.kind).where(Device.id == ev.device_id)).first()
        if dev is None or dev.revoked or dev.kind != DeviceKind.DOOR_TERMINAL.value:
            return f"not_a_door_terminal: {ev.device_id} is not a registered door terminal", None, None, None
        if body.model_id != MODEL_ID:
            return f"model_mismatch: {body.model_id} != hub model {MODEL_ID}", None, None, None
        try:
            claimed = int(body.employee_id)
        except ValueError:
            return f"unknown_employee: {body.employee_id!r}", None, None, None
        emp = s.get(Employee, claimed)
        if emp is None or emp.erased_at is not None or not emp.active:
            return f"unknown_employee: {claimed} is not an active employee", None, None, None
        policy = self._policy_in(s, ev.device_id)  # the policy the hub gave this terminal, as in thin mode
        enc = np.asarray(body.encoding, dtype=np.float32)
        decision = decide(self.face.gallery.search(enc), face_px=max(body.face_px, policy.min_face_px),
                          blur=policy.min_blur, policy=policy, gallery_identities=self.face.gallery.identities())
        if decision.outcome != ACCEPTED:
            return f"reverify_failed: hub says {decision.outcome} ({decision.reason})", None, None, None
        if decision.employee_id != claimed:
            return (f"reverify_mismatch: hub matched employee {decision.employee_id}, terminal claimed {claimed}",
                    None, None, None)
        return None, claimed, decision.distance, decision.threshold


FACE_TERMINALS: ServiceKey[TerminalHandlers] = ServiceKey("face_terminals")
