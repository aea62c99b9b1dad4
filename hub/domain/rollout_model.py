"""Data of a staged firmware rollout: states, plan, per-device runs, actions and audit records.

The rules that move these live in ``hub.domain.rollout``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RolloutState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"


class DeviceState(StrEnum):
    PENDING = "pending"
    OFFERED = "offered"
    DOWNLOADING = "downloading"
    APPLYING = "applying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    ROLLED_BACK = "rolled_back"


IN_FLIGHT = frozenset({DeviceState.OFFERED, DeviceState.DOWNLOADING, DeviceState.APPLYING})
RANK = {DeviceState.PENDING: 0, DeviceState.OFFERED: 1, DeviceState.DOWNLOADING: 2,
         DeviceState.APPLYING: 3, DeviceState.SUCCEEDED: 4, DeviceState.FAILED: 4,
         DeviceState.TIMED_OUT: 4, DeviceState.ROLLED_BACK: 5}
# States a device's ``firmware`` event may carry (``verifying`` happens between download and apply).
REPORTED_STATES: dict[str, DeviceState] = {
    "downloading": DeviceState.DOWNLOADING, "verifying": DeviceState.DOWNLOADING,
    "applying": DeviceState.APPLYING, "succeeded": DeviceState.SUCCEEDED,
    "failed": DeviceState.FAILED, "rolled_back": DeviceState.ROLLED_BACK,
}


class RolloutError(ValueError):
    """A command or report that does not fit the rollout's current state."""


@dataclass(frozen=True)
class RolloutPlan:
    stages: tuple[int, ...]
    success_threshold_pct: float = 100.0
    failure_threshold_pct: float = 10.0
    min_executed: int = 1
    device_timeout_s: float = 3600.0

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        object.__setattr__(self, "stages", stages)
        if not stages or any(not 0 < p <= 100 for p in stages):
            raise RolloutError(f"stages must be percentages in (0, 100], got {list(stages)}")
        if any(b <= a for a, b in itertools.pairwise(stages)) or stages[-1] != 100:
            raise RolloutError(f"stages must increase strictly and end at 100, got {list(stages)}")
        for name in ("success_threshold_pct", "failure_threshold_pct"):
            if not 0 < getattr(self, name) <= 100:
                raise RolloutError(f"{name} must be in (0, 100], got {getattr(self, name)}")
        if self.min_executed < 1:
            raise RolloutError(f"min_executed must be >= 1, got {self.min_executed}")
        if self.device_timeout_s <= 0:
            raise RolloutError(f"device_timeout_s must be > 0, got {self.device_timeout_s}")


@dataclass(frozen=True, slots=True)
class DeviceRun:
    device_id: str
    stage: int
    previous_version: str
    state: DeviceState = DeviceState.PENDING
    offered_at: datetime | None = None
    changed_at: datetime | None = None
    rollback_requested_at: datetime | None = None
    error: str | None = None

    @property
    def counts_as_failure(self) -> bool:
        # A device that rolled itself back before we asked is a failed update.
        return self.state in (DeviceState.FAILED, DeviceState.TIMED_OUT) or (
            self.state is DeviceState.ROLLED_BACK and self.rollback_requested_at is None)

    @property
    def executed(self) -> bool:
        return self.state in (DeviceState.SUCCEEDED,) or self.counts_as_failure


@dataclass(frozen=True)
class Rollout:
    rollout_id: str
    target_version: str
    plan: RolloutPlan
    devices: Mapping[str, DeviceRun]
    state: RolloutState = RolloutState.DRAFT
    stage: int = -1  # index into plan.stages; -1 until started
    reason: str | None = None
    updated_at: datetime | None = None

    def stage_devices(self, stage: int) -> list[DeviceRun]:
        return sorted((d for d in self.devices.values() if d.stage == stage), key=lambda d: d.device_id)

    def failure_stats(self) -> tuple[int, int]:
        """(failures, executed) over the whole rollout."""
        runs = self.devices.values()
        return sum(d.counts_as_failure for d in runs), sum(d.executed for d in runs)


# --- actions for the adapter --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Offer:
    """Send ``update_firmware`` for ``version`` to these devices."""

    device_ids: tuple[str, ...]
    version: str


@dataclass(frozen=True, slots=True)
class Rollback:
    """Send ``rollback_firmware`` to each device with the version it had before the rollout."""

    targets: tuple[tuple[str, str], ...]  # (device_id, previous_version)

    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(d for d, _ in self.targets)


@dataclass(frozen=True, slots=True)
class AdvanceStage:
    stage: int
    percent: int


@dataclass(frozen=True, slots=True)
class Abort:
    reason: str


@dataclass(frozen=True, slots=True)
class Complete:
    """The rollout finished; the adapter marks it done and notifies."""


Action = Offer | Rollback | AdvanceStage | Abort | Complete


@dataclass(frozen=True, slots=True)
class Transition:
    """An audit record: ``subject`` is ``"rollout"`` or a device id."""

    at: datetime
    subject: str
    from_state: str
    to_state: str
    reason: str = ""


@dataclass(frozen=True)
class Step:
    rollout: Rollout
    actions: tuple[Action, ...] = ()
    transitions: tuple[Transition, ...] = ()
