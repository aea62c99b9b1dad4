"""AES-256-GCM template encryption: round trip, wrong key, wrong row, tampering, bad keys."""

from __future__ import annotations

import numpy as np
import pytest

from hub.security.template_crypto import (
    TemplateCipher,
    TemplateCryptoError,
    generate_key,
    key_from_b64,
    key_to_b64,
)

AAD = b"template:t1:employee:e1"


@pytest.fixture
def encoding() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 0.1, 128).astype(np.float32)


def test_round_trip(encoding: np.ndarray) -> None:
    cipher = TemplateCipher(generate_key())
    blob = cipher.encrypt(encoding, aad=AAD)
    assert len(blob) == 1 + 12 + 512 + 16
    assert encoding.tobytes() not in blob
    out = cipher.decrypt(blob, aad=AAD)
    assert out.dtype == np.float32 and np.array_equal(out, encoding)
    assert cipher.encrypt(encoding, aad=AAD) != blob  # fresh nonce each time


def test_float64_input_is_stored_as_float32(encoding: np.ndarray) -> None:
    cipher = TemplateCipher(generate_key())
    out = cipher.decrypt(cipher.encrypt(encoding.astype(np.float64), aad=AAD), aad=AAD)
    assert np.array_equal(out, encoding)


def test_wrong_key_wrong_row_and_tamper_refused(encoding: np.ndarray) -> None:
    cipher = TemplateCipher(generate_key())
    blob = cipher.encrypt(encoding, aad=AAD)
    with pytest.raises(TemplateCryptoError, match="wrong key"):
        TemplateCipher(generate_key()).decrypt(blob, aad=AAD)
    with pytest.raises(TemplateCryptoError, match="wrong row"):
        cipher.decrypt(blob, aad=b"template:t1:employee:e2")
    for position in (1, 20, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(TemplateCryptoError, match="tampered"):
            cipher.decrypt(bytes(tampered), aad=AAD)
    with pytest.raises(TemplateCryptoError, match="version"):
        cipher.decrypt(b"\x02" + blob[1:], aad=AAD)
    with pytest.raises(TemplateCryptoError, match="bad length"):
        cipher.decrypt(blob[:20], aad=AAD)


def test_bad_encodings_refused() -> None:
    cipher = TemplateCipher(generate_key())
    with pytest.raises(ValueError, match="128"):
        cipher.encrypt(np.zeros(64, np.float32), aad=AAD)
    with pytest.raises(ValueError, match="finite"):
        cipher.encrypt(np.full(128, np.nan, np.float32), aad=AAD)


def test_keys_from_config() -> None:
    key = generate_key()
    assert key_from_b64(key_to_b64(key)) == key
    assert key_from_b64(" " + key_to_b64(key) + "\n") == key
    with pytest.raises(TemplateCryptoError, match="base64"):
        key_from_b64("not base64!!")
    with pytest.raises(TemplateCryptoError, match="32 bytes"):
        key_from_b64(key_to_b64(b"short"))
    with pytest.raises(TemplateCryptoError, match="32 bytes"):
        TemplateCipher(b"x" * 16)
