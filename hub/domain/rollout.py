"""Staged firmware rollouts (pure rules), after hawkBit groups and AWS IoT Jobs abort criteria.

A rollout splits its devices into cumulative percentage stages (e.g. 5 %, 25 %, 100 %). A stage's
devices are offered the update; when ``success_threshold_pct`` of the stage has succeeded, the next
stage is offered. Failures (failed, timed out, or a device that rolled itself back) are counted over
every executed device of the rollout; once ``min_executed`` devices have finished and the failure
share reaches ``failure_threshold_pct``, the rollout aborts: nothing new is offered and every device
that was touched is sent back to the version it had before.

Everything here is a pure function of (rollout snapshot, input, time) returning a ``Step``: the new
snapshot, the actions for the adapter to carry out, and transition records for the audit log.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hub.domain.rollout_model import (
    IN_FLIGHT,
    RANK,
    REPORTED_STATES,
    Abort,
    Action,
    AdvanceStage,
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
    Transition,
)
from protocol.versions import InvalidVersion, parse_version

__all__ = [
    "IN_FLIGHT", "REPORTED_STATES", "Abort", "Action", "AdvanceStage", "Complete", "DeviceRun",
    "DeviceState", "Offer", "Rollback", "Rollout", "RolloutError", "RolloutPlan", "RolloutState",
    "Step", "Transition", "abort", "advance", "assign_stages", "create_rollout", "pause", "report",
    "resume", "rollback", "skip_reason", "start", "tick",
]



# --- stage assignment -----------------------------------------------------------------------------

def assign_stages(device_ids: Iterable[str], *, stages: tuple[int, ...] | list[int],
                  seed: str) -> dict[str, int]:
    """Deterministic, seed-shuffled split into cumulative percentage stages (ceil per boundary)."""
    ids = sorted(set(device_ids))
    order = sorted(ids, key=lambda d: hashlib.sha256(f"{seed}\x00{d}".encode()).digest())
    n = len(order)
    out: dict[str, int] = {}
    start = 0
    for i, pct in enumerate(stages):
        end = min(n, math.ceil(n * pct / 100))
        for d in order[start:end]:
            out[d] = i
        start = max(start, end)
    return out


def skip_reason(current: str, *, target: str, min_version: str | None = None) -> str | None:
    """Why a device on ``current`` is left out of a rollout to ``target``, or None to include it.

    Devices refuse an image that is not newer than what they run, or whose ``min_version`` they are
    below, so offering it would only count as a failure. A version that cannot be ordered (e.g.
    "unknown" before the device reported one) is included: the device itself decides.
    """
    if current == target:
        return f"already on {target}"
    try:
        running = parse_version(current)
        if running >= parse_version(target):
            return f"runs {current}, not older than {target}"
        if min_version is not None and running < parse_version(min_version):
            return f"runs {current}, below the image's min_version {min_version}"
    except InvalidVersion:
        return None
    return None


def create_rollout(*, rollout_id: str, target_version: str, plan: RolloutPlan,
                   current_versions: Mapping[str, str], seed: str, now: datetime,
                   min_version: str | None = None) -> Rollout:
    """A draft over the devices in ``current_versions`` (id → version now installed).

    Devices ``skip_reason`` names are left out: there is nothing they would install or roll back.
    """
    todo = {d: v for d, v in current_versions.items()
            if skip_reason(v, target=target_version, min_version=min_version) is None}
    stages = assign_stages(todo, stages=plan.stages, seed=seed)
    devices = {d: DeviceRun(device_id=d, stage=stages[d], previous_version=v) for d, v in todo.items()}
    return Rollout(rollout_id=rollout_id, target_version=target_version, plan=plan, devices=devices,
                   updated_at=now)


# --- the engine -----------------------------------------------------------------------------------

@dataclass
class _Builder:
    r: Rollout
    now: datetime
    devices: dict[str, DeviceRun] = field(init=False)
    state: RolloutState = field(init=False)
    stage: int = field(init=False)
    reason: str | None = field(init=False)
    actions: list[Action] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.devices = dict(self.r.devices)
        self.state, self.stage, self.reason = self.r.state, self.r.stage, self.r.reason

    def snapshot(self) -> Rollout:
        return replace(self.r, devices=self.devices, state=self.state, stage=self.stage,
                       reason=self.reason, updated_at=self.now)

    def step(self) -> Step:
        return Step(self.snapshot(), tuple(self.actions), tuple(self.transitions))

    def move(self, to: RolloutState, reason: str = "") -> None:
        self.transitions.append(Transition(self.now, "rollout", self.state, to, reason))
        self.state = to
        if reason:
            self.reason = reason

    def set_device(self, run: DeviceRun, to: DeviceState, reason: str = "", **changes: object) -> None:
        self.transitions.append(Transition(self.now, run.device_id, run.state, to, reason))
        self.devices[run.device_id] = replace(run, state=to, changed_at=self.now, **changes)  # type: ignore[arg-type]  # replace(**kw) loses field types

    def offer_stage(self, stage: int) -> None:
        ids = []
        for run in sorted(self.devices.values(), key=lambda d: d.device_id):
            if run.stage == stage and run.state is DeviceState.PENDING:
                self.set_device(run, DeviceState.OFFERED, f"stage {stage}", offered_at=self.now)
                ids.append(run.device_id)
        if ids:
            self.actions.append(Offer(tuple(ids), self.r.target_version))

    def send_rollback(self, *, resend_before: datetime | None = None) -> None:
        targets = []
        for run in sorted(self.devices.values(), key=lambda d: d.device_id):
            if run.state in (DeviceState.PENDING, DeviceState.ROLLED_BACK):
                continue
            if resend_before is not None and (run.rollback_requested_at is None
                                              or run.rollback_requested_at > resend_before):
                continue
            self.devices[run.device_id] = replace(run, rollback_requested_at=self.now)
            targets.append((run.device_id, run.previous_version))
        if targets:
            self.actions.append(Rollback(tuple(targets)))

    def begin_rollback(self, reason: str) -> None:
        self.move(RolloutState.ROLLING_BACK, reason)
        self.send_rollback()
        self.finish_rollback_if_done()

    def finish_rollback_if_done(self) -> None:
        waiting = [d for d in self.devices.values()
                   if d.rollback_requested_at is not None and d.state is not DeviceState.ROLLED_BACK]
        if self.state is RolloutState.ROLLING_BACK and not waiting:
            self.move(RolloutState.ROLLED_BACK, "every touched device is back on its previous version")

    def abort(self, reason: str, *, rollback: bool) -> None:
        self.move(RolloutState.ABORTED, reason)
        self.actions.append(Abort(reason))
        if rollback:
            self.begin_rollback(f"rollback after abort: {reason}")

    def evaluate(self) -> None:
        """Failure check first (it also applies while paused), then stage progress."""
        if self.state not in (RolloutState.RUNNING, RolloutState.PAUSED):
            return
        snap = self.snapshot()
        failures, executed = snap.failure_stats()
        plan = snap.plan
        if executed >= plan.min_executed and failures * 100 >= plan.failure_threshold_pct * executed:
            self.abort(f"failure threshold reached: {failures}/{executed} executed devices failed "
                       f"(limit {plan.failure_threshold_pct:g}%)", rollback=True)
            return
        while self.state is RolloutState.RUNNING:
            snap = self.snapshot()
            runs = snap.stage_devices(self.stage)
            ok = sum(d.state is DeviceState.SUCCEEDED for d in runs)
            if not runs or ok * 100 >= plan.success_threshold_pct * len(runs):
                if self.stage + 1 < len(plan.stages):
                    self.stage += 1
                    self.actions.append(AdvanceStage(self.stage, plan.stages[self.stage]))
                    self.transitions.append(Transition(self.now, "rollout", "stage", str(self.stage),
                                                       f"advance to {plan.stages[self.stage]}%"))
                    self.offer_stage(self.stage)
                    continue
                if not any(d.state in IN_FLIGHT for d in snap.devices.values()):
                    self.move(RolloutState.COMPLETED, f"{ok}/{len(runs)} of the last stage succeeded")
                    self.actions.append(Complete())
            elif not any(d.state in IN_FLIGHT for d in runs):
                # The stage finished without reaching the success threshold: an admin decides.
                self.move(RolloutState.PAUSED, f"stage {self.stage} finished with {ok}/{len(runs)} "
                          f"succeeded, below {plan.success_threshold_pct:g}%")
            return

    def expire(self) -> None:
        timeout = timedelta(seconds=self.r.plan.device_timeout_s)
        for run in list(self.devices.values()):
            if run.state in IN_FLIGHT and run.offered_at is not None and self.now - run.offered_at >= timeout:
                self.set_device(run, DeviceState.TIMED_OUT, f"no result within {timeout}")
        if self.state is RolloutState.ROLLING_BACK:
            self.send_rollback(resend_before=self.now - timeout)


def _require(r: Rollout, allowed: Iterable[RolloutState], command: str) -> None:
    allowed = tuple(allowed)
    if r.state not in allowed:
        raise RolloutError(f"cannot {command} rollout {r.rollout_id} in state {r.state}; "
                           f"allowed from: {', '.join(allowed)}")


def start(r: Rollout, *, now: datetime) -> Step:
    _require(r, [RolloutState.DRAFT], "start")
    b = _Builder(r, now)
    b.move(RolloutState.RUNNING, "started")
    b.stage = 0
    b.actions.append(AdvanceStage(0, r.plan.stages[0]))
    b.offer_stage(0)
    b.evaluate()
    return b.step()


def pause(r: Rollout, *, now: datetime, reason: str = "paused by admin") -> Step:
    _require(r, [RolloutState.RUNNING], "pause")
    b = _Builder(r, now)
    b.move(RolloutState.PAUSED, reason)
    return b.step()


def resume(r: Rollout, *, now: datetime) -> Step:
    _require(r, [RolloutState.PAUSED], "resume")
    b = _Builder(r, now)
    b.move(RolloutState.RUNNING, "resumed")
    b.evaluate()
    return b.step()


def advance(r: Rollout, *, now: datetime) -> Step:
    """Manually offer the next stage (hawkBit's "trigger next group"), whatever the success share."""
    _require(r, [RolloutState.RUNNING, RolloutState.PAUSED], "advance")
    if r.stage + 1 >= len(r.plan.stages):
        raise RolloutError(f"rollout {r.rollout_id} is already at its last stage")
    b = _Builder(r, now)
    if b.state is RolloutState.PAUSED:
        b.move(RolloutState.RUNNING, "advanced by admin")
    b.stage += 1
    b.actions.append(AdvanceStage(b.stage, r.plan.stages[b.stage]))
    b.offer_stage(b.stage)
    b.evaluate()
    return b.step()


def abort(r: Rollout, *, now: datetime, reason: str, rollback: bool = True) -> Step:
    _require(r, [RolloutState.DRAFT, RolloutState.RUNNING, RolloutState.PAUSED], "abort")
    b = _Builder(r, now)
    b.abort(reason, rollback=rollback and r.state is not RolloutState.DRAFT)
    return b.step()


def rollback(r: Rollout, *, now: datetime, reason: str = "rollback by admin") -> Step:
    """Send every touched device back to its previous version (after completion or an abort)."""
    _require(r, [RolloutState.COMPLETED, RolloutState.ABORTED], "roll back")
    b = _Builder(r, now)
    b.begin_rollback(reason)
    return b.step()


def report(r: Rollout, device_id: str, state: DeviceState | str, *, now: datetime,
           error: str | None = None) -> Step:
    """Apply a device's firmware report; stale or out-of-order reports change nothing."""
    run = r.devices.get(device_id)
    if run is None:
        raise RolloutError(f"device {device_id} is not part of rollout {r.rollout_id}")
    try:
        new = REPORTED_STATES[state] if state in REPORTED_STATES else DeviceState(state)
    except ValueError:
        raise RolloutError(f"device {device_id} reported unknown state {state!r}") from None
    if run.state is DeviceState.PENDING:
        raise RolloutError(f"device {device_id} reported {new} but was never offered rollout {r.rollout_id}")
    b = _Builder(r, now)
    # A timed-out device may still finish later: record the real outcome.
    late = run.state is DeviceState.TIMED_OUT and new in (DeviceState.SUCCEEDED, DeviceState.FAILED)
    if RANK[new] > RANK[run.state] or late:
        b.set_device(run, new, "reported by device", error=error)
    b.evaluate()
    b.finish_rollback_if_done()
    return b.step()


def tick(r: Rollout, *, now: datetime) -> Step:
    """Time passes: time out silent devices, re-send unanswered rollbacks, re-evaluate."""
    b = _Builder(r, now)
    b.expire()
    b.evaluate()
    b.finish_rollback_if_done()
    return b.step()
