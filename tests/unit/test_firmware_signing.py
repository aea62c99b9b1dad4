"""Firmware signing: the canonical manifest bytes, manifest and rollback signatures, the image check
against the manifest, the hub's key storage, and re-signing artefacts of the old digest-only scheme."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from hub.security.firmware_signing import (
    LEGACY_DIGEST_PREFIX,
    SigningKeyError,
    generate_private_key,
    legacy_digest_signature_ok,
    load_or_create_private_key,
    load_private_key,
    manifest_for_file,
    save_private_key,
)
from protocol.firmware import (
    CHUNK_BYTES,
    MANIFEST_PREFIX,
    FirmwareManifest,
    FirmwareRejected,
    RollbackAuthorisation,
    check_image,
    manifest_bytes,
    public_key_from_b64,
    public_key_to_b64,
    rollback_bytes,
    sha256_file,
    sign_manifest,
    sign_rollback,
    verify_manifest,
    verify_rollback,
)
from protocol.payloads import DeviceKind

DOOR = DeviceKind.DOOR_TERMINAL


@pytest.fixture
def artefact(tmp_path: Path) -> Path:
    p = tmp_path / "fw-1.2.3.bin"
    # Bigger than one read chunk so the streaming path really loops.
    p.write_bytes(bytes(range(256)) * (CHUNK_BYTES // 256 * 2 + 7))
    return p


def test_streaming_hash_matches_hashlib(artefact: Path) -> None:
    digest, size = sha256_file(artefact)
    data = artefact.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    assert size == len(data)


def test_manifest_bytes_are_canonical(artefact: Path) -> None:
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3", min_version="1.0.0")
    raw = manifest_bytes(m)
    assert raw.startswith(MANIFEST_PREFIX)
    body = raw[len(MANIFEST_PREFIX):]
    # Sorted keys, no whitespace, every field (null included): what any other implementation must produce.
    assert body == json.dumps({"kind": "door_terminal", "min_version": "1.0.0", "model": None, "sha256": m.sha256,
                               "size": m.size, "version": "1.2.3"}, sort_keys=True, separators=(",", ":")).encode()
    # The same manifest rebuilt from its wire form (another key order) gives the same bytes.
    wire = json.loads(json.dumps(m.model_dump(mode="json")))
    shuffled = dict(reversed(list(wire.items())))
    assert manifest_bytes(FirmwareManifest.model_validate(shuffled)) == raw


def test_good_manifest_and_image_verify(artefact: Path) -> None:
    key = generate_private_key()
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    sig = sign_manifest(m, key)
    assert sig == sign_manifest(m, key)  # Ed25519 is deterministic
    verify_manifest(m, sig, key.public_key())
    check_image(artefact, m)


@pytest.mark.parametrize("change", [{"version": "9.9.9"}, {"kind": DeviceKind.PRINT_BOX}, {"min_version": None},
                                    {"model": "other"}, {"size": 1}, {"sha256": "0" * 64}])
def test_any_changed_manifest_field_breaks_the_signature(artefact: Path, change: dict[str, object]) -> None:
    key = generate_private_key()
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3", min_version="1.0")
    sig = sign_manifest(m, key)
    with pytest.raises(FirmwareRejected) as ei:
        verify_manifest(m.model_copy(update=change), sig, key.public_key())
    assert ei.value.reason == "bad_signature"


def test_corrupted_or_foreign_signature_is_bad_signature(artefact: Path) -> None:
    key = generate_private_key()
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    sig = sign_manifest(m, key)
    bad = ("A" if sig[0] != "A" else "B") + sig[1:]
    for s in (bad, "not base64!!", "", sign_manifest(m, generate_private_key())):
        with pytest.raises(FirmwareRejected) as ei:
            verify_manifest(m, s, key.public_key())
        assert ei.value.reason == "bad_signature"


def test_signatures_do_not_cross_documents(artefact: Path) -> None:
    """A rollback authorisation's signature never verifies as a manifest's, nor an old digest signature."""
    key = generate_private_key()
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    auth = RollbackAuthorisation(kind=DOOR, version="1.2.3", device_ids=["d1"], expires_at=2_000_000_000,
                                 issued_by="admin")
    signed = sign_rollback(auth, key)
    verify_rollback(signed, key.public_key())
    assert rollback_bytes(auth) != manifest_bytes(m)
    legacy = base64.b64encode(key.sign(LEGACY_DIGEST_PREFIX + bytes.fromhex(m.sha256))).decode()
    for sig in (signed.signature, legacy):
        with pytest.raises(FirmwareRejected, match="bad_signature"):
            verify_manifest(m, sig, key.public_key())
    with pytest.raises(FirmwareRejected, match="bad_signature"):
        verify_rollback(signed.model_copy(update={"authorisation": auth.model_copy(update={"device_ids": ["d2"]})}),
                        key.public_key())
    # The hub recognises its own old signature (to re-sign the artefact as a manifest), nothing else.
    assert legacy_digest_signature_ok(m.sha256, legacy, key.public_key())
    assert not legacy_digest_signature_ok(m.sha256, legacy, generate_private_key().public_key())
    assert not legacy_digest_signature_ok(m.sha256, sign_manifest(m, key), key.public_key())
    assert not legacy_digest_signature_ok("zz", legacy, key.public_key())


def test_tampered_image_is_hash_mismatch(artefact: Path) -> None:
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    with artefact.open("r+b") as f:
        f.seek(CHUNK_BYTES + 3)
        f.write(b"\x00\xff")
    with pytest.raises(FirmwareRejected) as ei:
        check_image(artefact, m)
    assert ei.value.reason == "hash_mismatch"


def test_size_mismatch_and_missing_file(tmp_path: Path, artefact: Path) -> None:
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    with pytest.raises(FirmwareRejected) as ei:
        check_image(artefact, m.model_copy(update={"size": m.size + 1}))
    assert ei.value.reason == "size_mismatch"
    with pytest.raises(FirmwareRejected) as ei:
        check_image(tmp_path / "gone.bin", m)
    assert ei.value.reason == "unreadable"


def test_public_key_b64_round_trip(artefact: Path) -> None:
    key = generate_private_key()
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    device_key = public_key_from_b64(public_key_to_b64(key.public_key()))
    verify_manifest(m, sign_manifest(m, key), device_key)
    with pytest.raises(ValueError, match="Ed25519"):
        public_key_from_b64("c2hvcnQ=")


def test_key_storage(tmp_path: Path, artefact: Path) -> None:
    m = manifest_for_file(artefact, kind=DOOR, version="1.2.3")
    path = tmp_path / "keys" / "fw.pem"
    key = load_or_create_private_key(path, passphrase=b"s3cret")
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_private_key(path, passphrase=b"s3cret")
    assert sign_manifest(m, again) == sign_manifest(m, key)
    with pytest.raises(SigningKeyError, match="overwrite"):
        save_private_key(generate_private_key(), path)
    with pytest.raises(SigningKeyError, match="PEM"):
        load_private_key(path, passphrase=b"wrong")
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_private_key(tmp_path / "nope.pem")
