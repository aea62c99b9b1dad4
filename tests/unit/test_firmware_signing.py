from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hub.fleet.firmware_signing import (
    SigningKeyError,
    generate_private_key,
    load_or_create_private_key,
    load_private_key,
    save_private_key,
    sign_file,
)
from protocol.firmware import (
    CHUNK_BYTES,
    FirmwareRejected,
    public_key_from_b64,
    public_key_to_b64,
    sha256_file,
    sign_artifact,
    verify_artifact,
)


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


def test_good_artefact_verifies(artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    assert signed.signature == sign_artifact(artefact, key)  # Ed25519 is deterministic
    verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=signed.signature,
                    public_key=key.public_key(), size=signed.size)


def test_tampered_file_is_hash_mismatch(artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    with artefact.open("r+b") as f:
        f.seek(CHUNK_BYTES + 3)
        f.write(b"\x00\xff")
    with pytest.raises(FirmwareRejected) as ei:
        verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=signed.signature,
                        public_key=key.public_key())
    assert ei.value.reason == "hash_mismatch"


def test_wrong_announced_hash_is_bad_signature(artefact: Path) -> None:
    # An attacker who swaps both the file and the announced hash still lacks the key.
    key = generate_private_key()
    signed = sign_file(artefact, key)
    other = hashlib.sha256(b"evil").hexdigest()
    with pytest.raises(FirmwareRejected) as ei:
        verify_artifact(artefact, sha256_hex=other, signature_b64=signed.signature,
                        public_key=key.public_key())
    assert ei.value.reason == "bad_signature"


def test_corrupted_signature_is_bad_signature(artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    bad = ("A" if signed.signature[0] != "A" else "B") + signed.signature[1:]
    for sig in (bad, "not base64!!", ""):
        with pytest.raises(FirmwareRejected) as ei:
            verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=sig,
                            public_key=key.public_key())
        assert ei.value.reason == "bad_signature"


def test_wrong_key_is_bad_signature(artefact: Path) -> None:
    signed = sign_file(artefact, generate_private_key())
    with pytest.raises(FirmwareRejected) as ei:
        verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=signed.signature,
                        public_key=generate_private_key().public_key())
    assert ei.value.reason == "bad_signature"


def test_size_mismatch(artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    with pytest.raises(FirmwareRejected) as ei:
        verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=signed.signature,
                        public_key=key.public_key(), size=signed.size + 1)
    assert ei.value.reason == "size_mismatch"


def test_missing_file_is_unreadable(tmp_path: Path, artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    with pytest.raises(FirmwareRejected) as ei:
        verify_artifact(tmp_path / "gone.bin", sha256_hex=signed.sha256,
                        signature_b64=signed.signature, public_key=key.public_key())
    assert ei.value.reason == "unreadable"


def test_public_key_b64_round_trip(artefact: Path) -> None:
    key = generate_private_key()
    signed = sign_file(artefact, key)
    device_key = public_key_from_b64(public_key_to_b64(key.public_key()))
    verify_artifact(artefact, sha256_hex=signed.sha256, signature_b64=signed.signature,
                    public_key=device_key)
    with pytest.raises(ValueError, match="Ed25519"):
        public_key_from_b64("c2hvcnQ=")


def test_key_storage(tmp_path: Path, artefact: Path) -> None:
    path = tmp_path / "keys" / "fw.pem"
    key = load_or_create_private_key(path, passphrase=b"s3cret")
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_private_key(path, passphrase=b"s3cret")
    assert sign_artifact(artefact, again) == sign_artifact(artefact, key)
    with pytest.raises(SigningKeyError, match="overwrite"):
        save_private_key(generate_private_key(), path)
    with pytest.raises(SigningKeyError, match="PEM"):
        load_private_key(path, passphrase=b"wrong")
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_private_key(tmp_path / "nope.pem")
