from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.claims import (
    TOKEN_PREFIX,
    ClaimRefused,
    check_device_id,
    hash_token,
    issue_claim,
    redeem,
    replaces_existing,
)

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_issue_stores_only_a_hash() -> None:
    token, stored = issue_claim(device_kind="door_terminal", now=NOW, ttl=timedelta(hours=1))
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert token not in repr(stored)
    assert stored.token_hash == hash_token(token)
    assert stored.expires_at == NOW + timedelta(hours=1)
    other, _ = issue_claim(device_kind="door_terminal", now=NOW)
    assert other != token


def test_redeem_once() -> None:
    token, stored = issue_claim(device_kind="print_box", now=NOW, device_id="pb-1")
    used = redeem(token, stored, now=NOW + timedelta(minutes=5), device_kind="print_box", used_by="pb-1")
    assert used.used_at == NOW + timedelta(minutes=5) and used.used_by == "pb-1"
    assert used.device_id == "pb-1"
    with pytest.raises(ClaimRefused) as ei:
        redeem(token, used, now=NOW + timedelta(minutes=6))
    assert ei.value.reason == "used"


@pytest.mark.parametrize(("case", "reason"), [
    ("expired", "expired"),
    ("at_expiry", "expired"),
    ("not_found", "unknown"),
    ("wrong_token", "unknown"),
    ("kind", "kind_mismatch"),
])
def test_refusals(case: str, reason: str) -> None:
    token, stored = issue_claim(device_kind="door_terminal", now=NOW, ttl=timedelta(hours=2))
    kwargs: dict[str, object] = {}
    now = NOW + timedelta(hours=1)
    record = stored
    presented = token
    if case == "expired":
        now = NOW + timedelta(hours=3)
    elif case == "at_expiry":
        now = stored.expires_at
    elif case == "not_found":
        record = None  # type: ignore[assignment]
    elif case == "wrong_token":
        presented = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif case == "kind":
        kwargs["device_kind"] = "print_box"
    with pytest.raises(ClaimRefused) as ei:
        redeem(presented, record, now=now, **kwargs)  # type: ignore[arg-type]
    assert ei.value.reason == reason
    assert reason in str(ei.value)


def test_bad_issue_arguments() -> None:
    with pytest.raises(ValueError, match="ttl"):
        issue_claim(device_kind="door_terminal", now=NOW, ttl=timedelta(days=365))
    with pytest.raises(ValueError, match="timezone"):
        issue_claim(device_kind="door_terminal", now=datetime(2025, 1, 1))


@pytest.mark.parametrize(("device_id", "reason"), [
    ("door-1", None),
    ("SN.0042_b", None),
    ("a:b", "invalid_id"),  # ":" separates the broker's device-account namespace
    ("door/1", "invalid_id"),
    ("+", "invalid_id"),
    ("x" * 65, "invalid_id"),
    ("officehub-hub", "reserved_id"),
    ("OfficeHub-replica-2", "reserved_id"),
    ("mqtt-admin", "reserved_id"),
    ("MQTT-Admin", "reserved_id"),
])
def test_claimable_device_ids(device_id: str, reason: str | None) -> None:
    if reason is None:
        check_device_id(device_id, reserved={"mqtt-admin"})
        return
    with pytest.raises(ClaimRefused) as ei:
        check_device_id(device_id, reserved={"mqtt-admin"})
    assert ei.value.reason == reason


def test_only_a_token_issued_for_a_known_device_replaces_it() -> None:
    assert replaces_existing(device_id="door-1", assigned=None, known=False) is False
    assert replaces_existing(device_id="door-1", assigned="door-1", known=True) is True
    assert replaces_existing(device_id="door-1", assigned="door-1", known=False) is True
    for assigned in (None, "door-2"):
        with pytest.raises(ClaimRefused) as ei:
            replaces_existing(device_id="door-1", assigned=assigned, known=True)
        assert ei.value.reason == "device_exists"
