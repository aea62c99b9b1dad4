"""Typed device configuration: per-kind models, layering, versions and drift (pure rules).

Layers merge site defaults → group(s) → device overrides. Each layer is checked on its own so an
error names the layer that holds the bad key (``group:lobby → door_unlock_s``), then the merged
result is validated as a whole. Desired config carries a ``version`` that grows on every change;
updates name the version they were based on, and a stale one is a conflict (the shadow/twin 409).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from hub.domain.matching import MatchPolicy

LogLevel = Literal["debug", "info", "warning", "error"]


_QUEUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


class BaseDeviceConfig(BaseModel):
    """Keys every device kind understands. Unknown keys are refused (a typo is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heartbeat_s: int = Field(default=30, ge=5, le=3600, json_schema_extra=_unit("s"),
                             description="Interval between heartbeats")
    log_level: LogLevel = Field(default="info", description="Lowest level kept in the device's log "
                                "(what fetch_logs returns)")


class FacePolicyOverrides(BaseModel):
    """Per-device face matching policy: a subset of ``MatchPolicy`` settings (unset keys keep the
    terminal's own defaults). Ranges are wider than anyone should need but keep a typo (0.06 → 6)
    from opening the door to everyone or locking everyone out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None = Field(default=None, ge=0.2, le=0.9, json_schema_extra=_unit("distance"),
                                    description="Max face distance for a match; pins it (no large-gallery cap)")
    margin: float | None = Field(default=None, ge=0, le=0.3, json_schema_extra=_unit("distance"))
    unknown_distance: float | None = Field(default=None, ge=0.2, le=1.2, json_schema_extra=_unit("distance"))
    min_face_px: int | None = Field(default=None, ge=20, le=1000, json_schema_extra=_unit("px"))
    min_blur: float | None = Field(default=None, ge=0, le=1000)
    frames_required: int | None = Field(default=None, ge=1, le=10)
    frames_window: int | None = Field(default=None, ge=1, le=20)
    cooldown_s: float | None = Field(default=None, ge=0, le=86400, json_schema_extra=_unit("s"))
    threshold_pinned: bool | None = None
    subject_area_ratio: float | None = Field(default=None, ge=1, le=10)

    @model_validator(mode="after")
    def _consistent(self) -> FacePolicyOverrides:
        # Cross-field rules (unknown_distance >= threshold, frames_required <= frames_window) are
        # MatchPolicy's own; checking here refuses the config at the hub instead of on the device.
        MatchPolicy().with_overrides(self.overrides())
        return self

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class DoorTerminalConfig(BaseDeviceConfig):
    """What a door terminal applies when the config arrives (devices/door_terminal/). A key is listed
    here only once the device acts on it: a setting that changes nothing misleads admins."""

    door_unlock_s: float = Field(default=5.0, ge=0.5, le=60, json_schema_extra=_unit("s"),
                                 description="How long the relay holds the door open")
    match_threshold: float | None = Field(
        default=None, ge=0.3, le=0.8, json_schema_extra=_unit("distance"),
        description="Max face distance for a match (lower is stricter); pins the threshold. Unset: the "
                    "policy default, tightened for large galleries. face_policy.threshold wins when both are set")
    camera_source: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="Camera the terminal reads: an index, a video file, an rtsp:// URL or a folder of "
                    "images; unset: the one it was started with. A source the device cannot open is refused")
    door_held_alarm_s: int = Field(default=30, ge=5, le=600, json_schema_extra=_unit("s"),
                                   description="Alarm (held_open) when the door contact reports the door open "
                                               "longer than this")
    offline_punches: bool = Field(default=True, description="Edge terminals: keep matching locally and "
                                  "opening while the hub is unreachable (punches are sent later)")
    face_policy: FacePolicyOverrides = Field(default_factory=FacePolicyOverrides,
                                             description="Face matching policy overrides (MatchPolicy keys)")


class PrintBoxConfig(BaseDeviceConfig):
    print_queues: dict[str, str] = Field(
        default_factory=dict, max_length=32,
        description="Hub queue name → local CUPS printer name: the box reports that printer under the "
                    "hub name and prints jobs for the hub name on it")
    max_job_mb: int = Field(default=100, ge=1, le=1024, json_schema_extra=_unit("MB"),
                            description="The box refuses (fails) a job whose document is larger")

    @field_validator("print_queues")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for queue, printer in v.items():
            for name in (queue, printer):
                if not _QUEUE_RE.match(name):
                    raise ValueError(f"invalid queue/printer name {name!r}")
        if len(set(v.values())) != len(v):
            raise ValueError("two hub names point at the same CUPS printer")
        return v


# Keys an earlier release accepted but no device applied; migration 0008 removes them from stored layers.
RETIRED_KEYS: dict[str, tuple[str, ...]] = {
    "door_terminal": ("timezone", "liveness_required"),
    "print_box": ("timezone", "release_timeout_s"),
}


CONFIG_MODELS: dict[str, type[BaseDeviceConfig]] = {
    "door_terminal": DoorTerminalConfig,
    "print_box": PrintBoxConfig,
}
# Keys whose values are mappings merge key by key across layers instead of being replaced.
_MERGED_MAPPINGS = frozenset({"print_queues", "face_policy"})


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    layer: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.layer} → {self.key}: {self.message}"


class ConfigError(ValueError):
    """Invalid configuration; ``issues`` name the layer and key of each problem."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("invalid device config: " + "; ".join(str(i) for i in self.issues))


class ConfigConflict(Exception):
    """The update was based on an older version than the stored one (HTTP 409)."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"config version conflict: update based on v{expected}, current is v{actual}")
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class ConfigLayer:
    """One layer of overrides, e.g. ``ConfigLayer("site", {...})``, ``ConfigLayer("group:lobby", {...})``."""

    name: str
    values: Mapping[str, Any]


def model_for(kind: str) -> type[BaseDeviceConfig]:
    try:
        return CONFIG_MODELS[kind]
    except KeyError:
        raise ConfigError([ConfigIssue("kind", kind, f"unknown device kind; known: {sorted(CONFIG_MODELS)}")]
                          ) from None


def _issues(layer: str, exc: ValidationError) -> list[ConfigIssue]:
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(ConfigIssue(layer, key, msg))
    return out


def validate_layer(values: Mapping[str, Any], *, kind: str, layer: str = "config") -> dict[str, Any]:
    """Check a partial override: every key must exist for ``kind`` and be in range.

    Returns the values normalised (e.g. ints coerced to floats where the key is a float).
    """
    model = model_for(kind)
    try:
        full = model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(_issues(layer, exc)) from None
    dumped = full.model_dump(mode="json")
    return {k: dumped[k] for k in values}


def effective_config(layers: Sequence[ConfigLayer], *, kind: str) -> dict[str, Any]:
    """Merge layers in order (later wins) over the kind's defaults and validate the result."""
    issues: list[ConfigIssue] = []
    merged: dict[str, Any] = {}
    for layer in layers:
        try:
            checked = validate_layer(layer.values, kind=kind, layer=layer.name)
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        for key, value in checked.items():
            if key in _MERGED_MAPPINGS and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    if issues:
        raise ConfigError(issues)
    try:
        return model_for(kind).model_validate(merged).model_dump(mode="json")
    except ValidationError as exc:
        raise ConfigError(_issues("effective", exc)) from None


@dataclass(frozen=True, slots=True)
class DesiredConfig:
    """The device's desired configuration; ``version`` grows by one on every change."""

    version: int
    values: Mapping[str, Any]


def check_version(*, expected: int | None, actual: int) -> None:
    """Optimistic concurrency: ``expected=None`` means "don't care" (last writer wins)."""
    if expected is not None and expected != actual:
        raise ConfigConflict(expected=expected, actual=actual)


def update_desired(current: DesiredConfig, new_values: Mapping[str, Any], *, kind: str,
                   expected_version: int | None) -> DesiredConfig:
    """Replace the desired values; same values keep the version (no needless push to the device)."""
    check_version(expected=expected_version, actual=current.version)
    values = validate_layer(new_values, kind=kind, layer="desired")
    if values == dict(current.values):
        return current
    return DesiredConfig(version=current.version + 1, values=values)


def drift(desired: Mapping[str, Any], reported: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose reported value differs from the desired one: ``{key: (desired, reported)}``.

    A key the device did not report shows as ``(desired, None)``; keys only the device reports are
    not drift (older firmware may report keys the hub no longer manages).
    """
    out: dict[str, tuple[Any, Any]] = {}
    for key, want in desired.items():
        have = reported.get(key)
        if key not in reported or have != want:
            out[key] = (want, have)
    return out


def config_schema(kind: str) -> dict[str, Any]:
    """JSON schema with ranges and units, for the admin UI form."""
    return model_for(kind).model_json_schema()
