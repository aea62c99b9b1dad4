"""What a device checks before it installs an image or switches back to an older slot (pure).

Install (``check_install``), before anything is downloaded: the manifest's signature, that it is
for this device's kind (and model, when it names one), that the running version is at least the
manifest's ``min_version``, and that the image is newer than what runs, unless a signed rollback
authorisation names this device, this kind and exactly this target version and has not expired.
The downloaded file is then checked against the manifest (``protocol.firmware.check_image``).

Switching back (``check_switch_back``): going to an older version needs the same authorisation.

Versions that cannot be ordered (``protocol.versions``) are refused rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol.firmware import (
    FirmwareManifest,
    FirmwareRejected,
    SignedRollback,
    verify_manifest,
    verify_rollback,
)
from protocol.payloads import DeviceKind
from protocol.versions import InvalidVersion, Version, parse_version


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    device_id: str
    kind: DeviceKind
    model: str


def _version(text: str, what: str) -> Version:
    try:
        return parse_version(text)
    except InvalidVersion as exc:
        raise FirmwareRejected("bad_version", f"{what}: {exc}") from exc


def check_rollback_authorisation(signed: SignedRollback | None, *, device: DeviceIdentity, target: str,
                                 current: str, public_key: Ed25519PublicKey, now: float) -> None:
    """Raise unless ``signed`` lets this device go from ``current`` back to ``target`` now."""
    if signed is None:
        raise FirmwareRejected("downgrade", f"{target} is not newer than the running {current}; going back "
                               "needs a rollback authorisation from the hub (an admin's rollout rollback)")
    verify_rollback(signed, public_key)
    a = signed.authorisation
    if device.device_id not in a.device_ids:
        raise FirmwareRejected("rollback_not_authorised", f"the rollback authorisation does not name this "
                               f"device ({device.device_id})")
    if a.kind != device.kind:
        raise FirmwareRejected("rollback_not_authorised", f"the rollback authorisation is for {a.kind.value} "
                               f"devices, this is a {device.kind.value}")
    if a.version != target:
        raise FirmwareRejected("rollback_not_authorised", f"the rollback authorisation is for version "
                               f"{a.version}, not {target}")
    if a.expires_at <= now:
        raise FirmwareRejected("rollback_not_authorised", f"the rollback authorisation expired at "
                               f"{a.expires_at} (device clock {int(now)})")


def check_install(manifest: FirmwareManifest, signature: str, *, device: DeviceIdentity, current: str,
                  public_key: Ed25519PublicKey, rollback: SignedRollback | None, now: float) -> None:
    """Raise FirmwareRejected with the reason unless this device may install the image the manifest
    describes over ``current`` (the running version)."""
    verify_manifest(manifest, signature, public_key)
    if manifest.kind != device.kind:
        raise FirmwareRejected("wrong_kind", f"the image is for {manifest.kind.value} devices, "
                               f"this is a {device.kind.value}")
    if manifest.model is not None and manifest.model != device.model:
        raise FirmwareRejected("wrong_model", f"the image is for model {manifest.model}, this is {device.model}")
    new = _version(manifest.version, "image version")
    running = _version(current, "running version")
    if manifest.min_version is not None and running < _version(manifest.min_version, "min_version"):
        raise FirmwareRejected("below_min_version", f"{manifest.version} installs only over "
                               f"{manifest.min_version} or later; this device runs {current}")
    if new <= running:
        check_rollback_authorisation(rollback, device=device, target=manifest.version, current=current,
                                     public_key=public_key, now=now)


def check_switch_back(target: str, *, device: DeviceIdentity, current: str, public_key: Ed25519PublicKey,
                      rollback: SignedRollback | None, now: float) -> None:
    """Raise unless the device may make the slot holding ``target`` active again."""
    if _version(target, "target version") < _version(current, "running version"):
        check_rollback_authorisation(rollback, device=device, target=target, current=current,
                                     public_key=public_key, now=now)
