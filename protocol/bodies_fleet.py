"""Event, request and command bodies for the fleet feature (registered on import).

Firmware: the hub sends ``update_firmware`` with a signed manifest; the device checks it
(``protocol.firmware_policy``: signature, kind/model, min_version, newer unless a signed rollback
authorisation says otherwise), downloads over HTTP, checks sha256 and size, applies, and reports each
step as a ``firmware`` event. ``rollback_firmware`` returns it to the version it ran before the
rollout, with the hub's signed rollback authorisation.
Config: ``apply_config`` carries the whole desired config and its version; the device answers with
a ``config_applied`` event and re-publishes its retained ``state`` with the new ``config_version``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from protocol.events import Body, command_args, event_body
from protocol.firmware import VERSION_PATTERN, FirmwareManifest, SignedRollback

_ROLLOUT_ID = Field(min_length=1, max_length=64)


@command_args("update_firmware")
class UpdateFirmwareArgs(Body):
    rollout_id: str = _ROLLOUT_ID
    url: str = Field(min_length=1, max_length=2048, description="Signed, expiring HTTP(S) download URL")
    manifest: FirmwareManifest = Field(description="What the image is; signed by the hub (protocol.firmware)")
    signature: str = Field(min_length=1, max_length=256, description="base64 Ed25519 over the canonical manifest")
    rollback: SignedRollback | None = Field(
        default=None, description="Needed only when the image is not newer than the running version")

    @property
    def version(self) -> str:
        return self.manifest.version


@command_args("rollback_firmware")
class RollbackFirmwareArgs(Body):
    rollout_id: str = _ROLLOUT_ID
    version: str = Field(min_length=1, max_length=64, pattern=VERSION_PATTERN,
                         description="The version to return to (the one before the rollout)")
    rollback: SignedRollback | None = Field(
        default=None, description="Needed when the version is older than the running one (always, from the hub)")


@event_body("firmware")
class FirmwareEvent(Body):
    rollout_id: str = _ROLLOUT_ID
    version: str = Field(min_length=1, max_length=64)
    state: str = Field(pattern=r"^(downloading|verifying|applying|succeeded|failed|rolled_back)$")
    error: str | None = Field(default=None, max_length=1000,
                              description="failed: the reason first, e.g. unsupported (no installer: "
                                          "nothing installed), bad_signature, wrong_kind, wrong_model, "
                                          "below_min_version, downgrade, rollback_not_authorised, bad_version, "
                                          "hash_mismatch, size_mismatch, download, apply")
    progress_pct: float | None = Field(default=None, ge=0, le=100)


@command_args("apply_config")
class ApplyConfigArgs(Body):
    version: int = Field(ge=1)
    config: dict[str, Any] = Field(description="The whole desired config (not a patch)")


@event_body("config_applied")
class ConfigAppliedEvent(Body):
    version: int = Field(ge=1)
    ok: bool
    error: str | None = Field(default=None, max_length=1000)
    rejected_keys: list[str] = Field(default_factory=list, max_length=64)


@command_args("fetch_logs")
class FetchLogsArgs(Body):
    """The device answers in ``cmd/ack`` ``result`` as ``{"lines": [...], "truncated": bool}``."""

    lines: int = Field(default=200, ge=1, le=5000)
    min_level: str = Field(default="debug", pattern=r"^(debug|info|warning|error)$")


@command_args("sync_gallery")
class SyncGalleryArgs(Body):
    """Tell a door terminal a newer face gallery exists; it pulls the delta from ``version``."""

    version: int = Field(ge=0)
