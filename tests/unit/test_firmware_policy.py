"""What a device checks before installing or switching back (protocol.firmware_policy), pure."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.firmware import (
    FirmwareManifest,
    FirmwareRejected,
    RollbackAuthorisation,
    SignedRollback,
    sign_manifest,
    sign_rollback,
)
from protocol.firmware_policy import DeviceIdentity, check_install, check_switch_back
from protocol.payloads import DeviceKind

DOOR, BOX = DeviceKind.DOOR_TERMINAL, DeviceKind.PRINT_BOX
KEY = Ed25519PrivateKey.generate()
NOW = 1_800_000_000.0
ME = DeviceIdentity(device_id="door-1", kind=DOOR, model="T1")


def manifest(version: str, *, kind: DeviceKind = DOOR, model: str | None = None,
             min_version: str | None = None) -> FirmwareManifest:
    data = f"image {version}".encode()
    return FirmwareManifest(kind=kind, model=model, version=version, sha256=hashlib.sha256(data).hexdigest(),
                            size=len(data), min_version=min_version)


def grant(version: str, *, device_ids: tuple[str, ...] = ("door-1",), kind: DeviceKind = DOOR,
          expires_at: float = NOW + 600, key: Ed25519PrivateKey = KEY) -> SignedRollback:
    return sign_rollback(RollbackAuthorisation(kind=kind, version=version, device_ids=list(device_ids),
                                               expires_at=int(expires_at), rollout_id="r1", issued_by="admin"), key)


def install(m: FirmwareManifest, current: str, *, signature: str | None = None,
            rollback: SignedRollback | None = None, device: DeviceIdentity = ME) -> None:
    check_install(m, signature if signature is not None else sign_manifest(m, KEY), device=device,
                  current=current, public_key=KEY.public_key(), rollback=rollback, now=NOW)


def reason(fn: object, *args: object, **kw: object) -> str:
    with pytest.raises(FirmwareRejected) as ei:
        fn(*args, **kw)  # type: ignore[operator]
    return ei.value.reason


def test_a_newer_image_for_this_kind_installs() -> None:
    install(manifest("1.10.0"), "1.9.0")  # not a string compare
    install(manifest("2.0", model="T1", min_version="1.0"), "1.0.0")


def test_an_image_signed_for_print_boxes_is_refused_by_a_door_terminal() -> None:
    assert reason(install, manifest("2.0", kind=BOX), "1.0") == "wrong_kind"


def test_an_image_for_another_model_is_refused() -> None:
    assert reason(install, manifest("2.0", model="T2"), "1.0") == "wrong_model"


def test_a_tampered_manifest_is_refused() -> None:
    m = manifest("2.0")
    sig = sign_manifest(m, KEY)
    for changed in (m.model_copy(update={"version": "3.0"}), m.model_copy(update={"kind": BOX}),
                    m.model_copy(update={"min_version": "0.1"})):
        assert reason(install, changed, "1.0", signature=sig) == "bad_signature"
    other_key = sign_manifest(m, Ed25519PrivateKey.generate())
    assert reason(install, m, "1.0", signature=other_key) == "bad_signature"


def test_below_min_version_is_refused() -> None:
    m = manifest("3.0", min_version="2.0")
    assert reason(install, m, "1.9.9") == "below_min_version"
    install(m, "2.0.0")  # exactly min_version is fine
    install(m, "2.5")


def test_a_downgrade_or_the_same_version_needs_a_rollback_authorisation() -> None:
    old = manifest("1.0.0")
    assert reason(install, old, "2.0.0") == "downgrade"
    assert reason(install, manifest("2.0"), "2.0.0") == "downgrade"  # same version, other spelling
    install(old, "2.0.0", rollback=grant("1.0.0"))  # the admin's rollback says so


@pytest.mark.parametrize(("bad", "why"), [
    (lambda: grant("1.0.0", device_ids=("door-2",)), "rollback_not_authorised"),
    (lambda: grant("1.1.0"), "rollback_not_authorised"),
    (lambda: grant("1.0.0", kind=BOX), "rollback_not_authorised"),
    (lambda: grant("1.0.0", expires_at=NOW - 1), "rollback_not_authorised"),
    (lambda: grant("1.0.0", key=Ed25519PrivateKey.generate()), "bad_signature"),
    (lambda: grant("1.0.0").model_copy(update={"authorisation": grant("1.0.0").authorisation.model_copy(
        update={"device_ids": ["door-1", "door-9"]})}), "bad_signature"),
])
def test_a_rollback_authorisation_must_name_this_device_kind_and_version_and_be_current(
        bad: object, why: str) -> None:
    assert reason(install, manifest("1.0.0"), "2.0.0", rollback=bad()) == why  # type: ignore[operator]


def test_unorderable_versions_are_refused() -> None:
    assert reason(install, manifest("2.0"), "unknown") == "bad_version"
    assert reason(install, manifest("nightly"), "1.0") == "bad_version"


def test_switching_back_to_an_older_slot_needs_the_authorisation() -> None:
    def switch(target: str, current: str, rollback: SignedRollback | None = None) -> None:
        check_switch_back(target, device=ME, current=current, public_key=KEY.public_key(), rollback=rollback,
                          now=NOW)

    assert reason(switch, "1.0.0", "2.0.0") == "downgrade"
    switch("1.0.0", "2.0.0", grant("1.0.0"))
    assert reason(switch, "1.0.0", "2.0.0", grant("0.9.0")) == "rollback_not_authorised"
    switch("2.0.0", "1.0.0")  # back to a newer slot (e.g. undoing a rollback) needs none
