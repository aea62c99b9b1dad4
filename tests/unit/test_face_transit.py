"""Templates in transit to edge terminals: per-device keys, row-bound ciphertexts."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from facecore.transit import TransitError, derive_device_key, open_sealed, seal

SECRET = b"x" * 48
ENC = np.linspace(-0.2, 0.2, 128).astype(np.float32)


def test_round_trip_and_per_device_keys() -> None:
    key = derive_device_key(SECRET, "door-1")
    assert len(key) == 32 and key == derive_device_key(SECRET, "door-1")
    assert key != derive_device_key(SECRET, "door-2") != derive_device_key(b"y" * 48, "door-1")
    sealed = seal(key, ENC, device_id="door-1", template_id="t1", employee_id="7")
    assert np.array_equal(open_sealed(key, sealed, device_id="door-1", template_id="t1", employee_id="7"), ENC)
    assert seal(key, ENC, device_id="door-1", template_id="t1", employee_id="7") != sealed  # fresh nonce


@pytest.mark.parametrize("where", ["device", "template", "employee", "key", "tamper"])
def test_a_blob_opens_only_for_its_row_and_device(where: str) -> None:
    key = derive_device_key(SECRET, "door-1")
    sealed = seal(key, ENC, device_id="door-1", template_id="t1", employee_id="7")
    kw = {"device_id": "door-1", "template_id": "t1", "employee_id": "7"}
    use_key = key
    if where == "device":
        kw["device_id"] = "door-2"
    elif where == "template":
        kw["template_id"] = "t2"
    elif where == "employee":
        kw["employee_id"] = "8"
    elif where == "key":
        use_key = derive_device_key(SECRET, "door-2")
    else:
        raw = bytearray(base64.b64decode(sealed))
        raw[20] ^= 1
        sealed = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(TransitError):
        open_sealed(use_key, sealed, **kw)


def test_not_base64_and_wrong_shape() -> None:
    key = derive_device_key(SECRET, "d")
    with pytest.raises(TransitError):
        open_sealed(key, "!!!", device_id="d", template_id="t", employee_id="e")
    with pytest.raises(ValueError):
        seal(key, np.zeros(5, np.float32), device_id="d", template_id="t", employee_id="e")
