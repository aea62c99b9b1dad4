"""Pure fleet helpers: webhook signatures, simulated firmware faults, device identity resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.runtime.claim import ClaimFailed, DeviceCredentials, resolve_identity, save_credentials
from firmware_sim.adapters import FirmwareFaults
from hub.services.fleet.webhooks import sign, verify


def test_webhook_signature_binds_secret_timestamp_and_body() -> None:
    sig = sign("s3cret-s3cret-s3cret", 1700000000, b'{"a":1}')
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify("s3cret-s3cret-s3cret", timestamp="1700000000", body=b'{"a":1}', signature=sig)
    assert not verify("s3cret-s3cret-s3cret", timestamp="1700000001", body=b'{"a":1}', signature=sig)
    assert not verify("s3cret-s3cret-s3cret", timestamp="1700000000", body=b'{"a":2}', signature=sig)
    assert not verify("other-secret-value", timestamp="1700000000", body=b'{"a":1}', signature=sig)


def test_firmware_faults_by_id_and_rate() -> None:
    faults = FirmwareFaults(fail_ids={"d1"})
    faults.hook_for("d2")("1.0", Path("x"))
    with pytest.raises(RuntimeError, match="health check"):
        faults.hook_for("d1")("1.0", Path("x"))
    assert faults.failed == [("d1", "1.0")]
    rate = FirmwareFaults(failure_rate=0.2, seed=4)
    fails = sum(rate.should_fail(f"d{i}") for i in range(1000))
    assert 150 < fails < 250
    assert FirmwareFaults(failure_rate=0.2, seed=4).should_fail("x") == FirmwareFaults(
        failure_rate=0.2, seed=4).should_fail("x")
    with pytest.raises(ValueError):
        FirmwareFaults(failure_rate=1.5)


def test_identity_prefers_stored_credentials_and_explains_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ClaimFailed, match="--device-id"):
        resolve_identity(workdir=tmp_path, kind="door_terminal", device_id=None, broker_url="mqtt://h:1",
                         username=None, password=None, claim_token=None, hub_url=None)
    with pytest.raises(ClaimFailed, match="--hub-url"):
        resolve_identity(workdir=tmp_path, kind="door_terminal", device_id=None, broker_url="mqtt://h:1",
                         username=None, password=None, claim_token="ohc_x", hub_url=None)
    plain = resolve_identity(workdir=tmp_path, kind="door_terminal", device_id="door-1", broker_url="mqtt://h:1",
                             username="u", password="p", claim_token=None, hub_url=None)
    assert (plain.device_id, plain.username) == ("door-1", "u")
    save_credentials(tmp_path, DeviceCredentials(device_id="door-9", kind="door_terminal",
                                                 broker_url="mqtt://b:1883", username="door-9", password="pw",
                                                 firmware_public_key="AAAA", hub_url="http://hub",
                                                 broker_auth="dynsec"))
    stored = resolve_identity(workdir=tmp_path, kind="door_terminal", device_id="door-1", broker_url="mqtt://h:1",
                              username=None, password=None, claim_token="ignored", hub_url=None)
    assert (stored.device_id, stored.broker_url, stored.password) == ("door-9", "mqtt://b:1883", "pw")
    assert (tmp_path / "firmware-key.pub").read_text() == "AAAA"
