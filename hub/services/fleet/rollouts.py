"""Rollout driver: runs the pure rules of ``hub.domain.rollout`` against the database and devices.

Every mutation (API call, device ``firmware`` event, timer tick) loads the rollout, applies one
domain step, stores the snapshot with one audit entry per transition, then carries out the step's
actions (``update_firmware`` with the signed manifest / ``rollback_firmware`` with a signed rollback
authorisation per device, alerts). A lock serialises steps. Rollback authorisations are issued only
here, for a rollout's rollback (an admin's rollback or abort, or the abort its own thresholds trip),
never for a raw command, so a device cannot be sent back to an old image by other means.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.core import Device
from hub.db.models.fleet import FirmwareArtifact, FleetDevice, RolloutDeviceRow, RolloutRow
from hub.db.session import transaction
from hub.domain import rollout as rules
from hub.domain.rollout_model import (
    Abort,
    Complete,
    DeviceRun,
    DeviceState,
    Offer,
    Rollback,
    Rollout,
    RolloutError,
    RolloutPlan,
    RolloutState,
    Step,
)
from hub.ingest.handlers import StoredEvent
from hub.services.audit import audit
from hub.services.context import FeatureContext
from hub.services.errors import Conflict, NotFound
from hub.services.fleet.firmware import FirmwareService
from protocol.bodies_fleet import FirmwareEvent
from protocol.firmware import FirmwareRejected

log = logging.getLogger(__name__)
ACTIVE = (RolloutState.RUNNING, RolloutState.PAUSED, RolloutState.ROLLING_BACK)
GRANT_SKEW_S = 600  # a device clock this far behind still accepts a fresh rollback authorisation


@dataclass(frozen=True, slots=True)
class _Signed:
    """What one step sends: the artefact's signed manifest, and who rollback authorisations name."""

    firmware_id: int
    manifest: dict[str, Any]
    signature: str
    kind: str
    issuer: str


class RolloutConflict(Conflict, RolloutError):
    """A rollout command or creation that does not fit the current state (409 to an API caller)."""


def _load(s: Session, rollout_id: str) -> tuple[RolloutRow, Rollout]:
    row = s.get(RolloutRow, rollout_id)
    if row is None:
        raise NotFound(f"no rollout {rollout_id!r}")
    runs = s.execute(select(RolloutDeviceRow).where(RolloutDeviceRow.rollout_id == rollout_id)).scalars()
    devices = {r.device_id: DeviceRun(device_id=r.device_id, stage=r.stage, previous_version=r.previous_version,
                                      state=DeviceState(r.state), offered_at=r.offered_at, changed_at=r.changed_at,
                                      rollback_requested_at=r.rollback_requested_at, error=r.error) for r in runs}
    plan = RolloutPlan(stages=tuple(row.plan["stages"]), success_threshold_pct=row.plan["success_threshold_pct"],
                       failure_threshold_pct=row.plan["failure_threshold_pct"],
                       min_executed=row.plan["min_executed"], device_timeout_s=row.plan["device_timeout_s"])
    return row, Rollout(rollout_id=row.id, target_version=row.target_version, plan=plan, devices=devices,
                        state=RolloutState(row.state), stage=row.stage, reason=row.reason, updated_at=row.updated_at)


def _save(s: Session, row: RolloutRow, step: Step, *, actor: str) -> None:
    r = step.rollout
    row.state, row.stage, row.reason, row.updated_at = r.state.value, r.stage, r.reason, r.updated_at or row.updated_at
    stored = {d.device_id: d for d in s.execute(select(RolloutDeviceRow).where(
        RolloutDeviceRow.rollout_id == row.id)).scalars()}
    for run in r.devices.values():
        d = stored[run.device_id]
        d.state, d.offered_at, d.changed_at = run.state.value, run.offered_at, run.changed_at
        d.rollback_requested_at, d.error = run.rollback_requested_at, run.error
    for t in step.transitions:
        action = "rollout.state" if t.subject == "rollout" else "rollout.device"
        audit(s, actor=actor, action=action, target_type="rollout", target_id=row.id,
              detail={"subject": t.subject, "from": t.from_state, "to": t.to_state, "reason": t.reason,
                      "at": t.at.isoformat()})


def rollout_public(row: RolloutRow, runs: list[RolloutDeviceRow] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "firmware_id": row.firmware_id, "target_version": row.target_version,
                           "group": row.group, "kind": row.kind, "state": row.state, "stage": row.stage,
                           "plan": row.plan, "reason": row.reason, "created_at": row.created_at,
                           "updated_at": row.updated_at, "created_by": row.created_by}
    if runs is not None:
        counts: dict[str, int] = {}
        for d in runs:
            counts[d.state] = counts.get(d.state, 0) + 1
        out["counts"] = counts
        out["devices"] = [{"device_id": d.device_id, "stage": d.stage, "state": d.state,
                           "previous_version": d.previous_version, "error": d.error} for d in runs]
    return out


class RolloutDriver:
    def __init__(self, ctx: FeatureContext, firmware: FirmwareService) -> None:
        self.ctx = ctx
        self.firmware = firmware
        self._lock = threading.RLock()

    # --- admin commands -------------------------------------------------------------------------

    def create(self, *, firmware_id: int, group: str | None, plan: RolloutPlan, actor: str,
               device_ids: list[str] | None = None) -> str:
        with self._lock, transaction(self.ctx.sessions) as s:
            art = s.get(FirmwareArtifact, firmware_id)
            if art is None:
                raise NotFound(f"no firmware {firmware_id}")
            q = select(Device.id, Device.firmware).where(Device.kind == art.kind, Device.revoked.is_(False))
            if art.model is not None:
                q = q.where(Device.model == art.model)
            if group is not None:
                q = q.join(FleetDevice, FleetDevice.device_id == Device.id).where(FleetDevice.group == group)
            if device_ids is not None:
                q = q.where(Device.id.in_(device_ids))
            versions = {d: v or "unknown" for d, v in s.execute(q).all()}
            busy = set(s.execute(select(RolloutDeviceRow.device_id).join(RolloutRow).where(
                RolloutRow.state.in_([st.value for st in ACTIVE]), RolloutDeviceRow.device_id.in_(versions))
            ).scalars())
            if busy:
                raise RolloutConflict(f"{len(busy)} device(s) are in another active rollout, e.g. {sorted(busy)[0]}")
            rid = uuid.uuid4().hex[:16]
            r = rules.create_rollout(rollout_id=rid, target_version=art.version, plan=plan, current_versions=versions,
                                     seed=rid, now=datetime.now(UTC), min_version=art.min_version)
            skipped = {d: why for d, v in versions.items()
                       if (why := rules.skip_reason(v, target=art.version, min_version=art.min_version))}
            if not r.devices:
                example = f" (e.g. {min(skipped)}: {skipped[min(skipped)]})" if skipped else ""
                raise RolloutError(f"no {art.kind} device{' in group ' + group if group else ''} needs "
                                   f"version {art.version}{example}")
            s.add(RolloutRow(id=rid, firmware_id=art.id, target_version=art.version, group=group, kind=art.kind,
                             state=r.state.value, stage=r.stage, plan=asdict(plan), created_by=actor,
                             created_at=r.updated_at, updated_at=r.updated_at))
            s.flush()
            for run in r.devices.values():
                s.add(RolloutDeviceRow(rollout_id=rid, device_id=run.device_id, stage=run.stage,
                                       previous_version=run.previous_version, state=run.state.value))
            audit(s, actor=actor, action="rollout.create", target_type="rollout", target_id=rid,
                  detail={"firmware_id": art.id, "version": art.version, "group": group, "devices": len(r.devices),
                          "skipped": dict(sorted(skipped.items())[:50]), "plan": asdict(plan)})
        return rid

    def command(self, rollout_id: str, name: str, *, actor: str, reason: str | None = None) -> None:
        now = datetime.now(UTC)
        ops: dict[str, Callable[[Rollout], Step]] = {
            "start": lambda r: rules.start(r, now=now),
            "pause": lambda r: rules.pause(r, now=now, reason=reason or f"paused by {actor}"),
            "resume": lambda r: rules.resume(r, now=now),
            "advance": lambda r: rules.advance(r, now=now),
            "abort": lambda r: rules.abort(r, now=now, reason=reason or f"aborted by {actor}"),
            "rollback": lambda r: rules.rollback(r, now=now, reason=reason or f"rollback by {actor}"),
        }
        if name not in ops:
            raise RolloutConflict(f"unknown rollout command {name!r}; known: {', '.join(ops)}")
        try:
            self._step(rollout_id, ops[name], actor=actor, action=f"rollout.{name}")
        except RolloutError as exc:  # a command the rollout's state does not allow
            raise RolloutConflict(str(exc)) from exc

    # --- inputs from devices and time -------------------------------------------------------------

    def on_firmware_event(self, ev: StoredEvent, body: FirmwareEvent) -> None:
        rid, state = body.rollout_id, body.state

        def apply(r: Rollout) -> Step:
            # Keep the failure reason when a later report (e.g. rolled_back) carries none.
            run = r.devices.get(ev.device_id)
            error = body.error or (run.error if run else None)
            return rules.report(r, ev.device_id, state, now=datetime.now(UTC), error=error)

        try:
            self._step(rid, apply, actor=f"device:{ev.device_id}")
        except (LookupError, RolloutError) as exc:
            log.info("firmware event from %s ignored: %s", ev.device_id, exc)

    def tick(self) -> None:
        with self.ctx.sessions() as s:
            ids = list(s.execute(select(RolloutRow.id).where(
                RolloutRow.state.in_([st.value for st in ACTIVE]))).scalars())
        for rid in ids:
            try:
                self._step(rid, lambda r: rules.tick(r, now=datetime.now(UTC)), actor="hub")
            except (LookupError, RolloutError) as exc:
                log.warning("rollout %s tick failed: %s", rid, exc)

    # --- the loop ---------------------------------------------------------------------------------

    def _step(self, rollout_id: str, fn: Callable[[Rollout], Step], *, actor: str, action: str | None = None) -> None:
        with self._lock:
            with transaction(self.ctx.sessions) as s:
                row, r = _load(s, rollout_id)
                step = fn(r)
                if not step.transitions and not step.actions and action is None:
                    return
                _save(s, row, step, actor=actor)
                if action is not None:
                    audit(s, actor=actor, action=action, target_type="rollout", target_id=rollout_id,
                          detail={"state": step.rollout.state.value, "stage": step.rollout.stage})
                art = s.get(FirmwareArtifact, row.firmware_id)
                assert art is not None
                manifest: dict[str, Any] = {}
                signature = ""
                if any(isinstance(a, Offer) for a in step.actions):
                    try:
                        m, signature = self.firmware.signed_manifest(s, art)
                    except FirmwareRejected as exc:  # e.g. the hub's key was replaced since the upload
                        raise RolloutError(f"firmware {art.id} cannot be offered: {exc}") from exc
                    manifest = m.model_dump(mode="json")
                # Who the device's rollback authorisation names: the admin, or the rollout's own abort.
                issuer = actor if action is not None else f"hub (rollout by {row.created_by})"
                signed = _Signed(art.id, manifest, signature, row.kind, issuer)
            self._carry_out(rollout_id, step, signed)
        self.ctx.live.publish("rollout", {"id": rollout_id, "state": step.rollout.state.value,
                                         "stage": step.rollout.stage, "reason": step.rollout.reason})

    def _carry_out(self, rollout_id: str, step: Step, art: _Signed) -> None:
        ttl = step.rollout.plan.device_timeout_s
        for act in step.actions:
            if isinstance(act, Offer):
                url = self.firmware.signed_url(art.firmware_id)
                for device_id in act.device_ids:
                    self._send(device_id, "update_firmware", {
                        "rollout_id": rollout_id, "url": url, "manifest": art.manifest,
                        "signature": art.signature}, ttl)
            elif isinstance(act, Rollback):
                for device_id, version in act.targets:
                    # One authorisation per device and version, valid while the command is (plus clock skew).
                    grant = self.firmware.rollback_authorisation(
                        kind=art.kind, version=version, device_ids=[device_id], valid_s=ttl + GRANT_SKEW_S,
                        rollout_id=rollout_id, issued_by=art.issuer)
                    self._send(device_id, "rollback_firmware", {
                        "rollout_id": rollout_id, "version": version, "rollback": grant.model_dump(mode="json")},
                        ttl)
            elif isinstance(act, Abort):
                # An offline device must not get the aborted version when it comes back.
                canceled = self.ctx.commands.cancel_pending(
                    name="update_firmware", where=lambda args: args.get("rollout_id") == rollout_id,
                    reason=f"rollout {rollout_id} aborted before the device got the update")
                if canceled:
                    log.info("rollout %s aborted: %d undelivered updates canceled", rollout_id, canceled)
                self.ctx.alerts.raise_(kind="rollout_aborted", severity="critical",
                            message=f"rollout {rollout_id} to {step.rollout.target_version} aborted: {act.reason}",
                            details={"rollout_id": rollout_id}, dedupe_key=f"rollout_aborted:{rollout_id}")
            elif isinstance(act, Complete):
                log.info("rollout %s completed", rollout_id)

    def _send(self, device_id: str, name: str, args: dict[str, Any], ttl: float) -> None:
        try:
            self.ctx.commands.send(device_id=device_id, name=name, args=args, ttl_s=ttl,
                                  ack_timeout_s=min(ttl, 600), created_by="hub:rollout")
        except Exception as exc:  # a revoked device must not stop the others; the timeout counts it
            log.warning("rollout command %s to %s not sent: %s", name, device_id, exc)
