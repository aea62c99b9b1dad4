"""Secure-release rules: PIN hashing, QR release codes, the wrong-PIN limit; delivery backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.print_jobs import offer_due, retry_delay
from hub.domain.print_release import (
    PinLimit,
    hash_pin,
    job_of_release_code,
    legacy_pin_hash,
    pin_hash_is_current,
    pin_subject,
    release_code,
    valid_pin,
    verify_pin,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("pin", "ok"), [("1234", True), ("123456789012", True), ("123", False),
                                         ("1234567890123", False), ("12a4", False), ("", False), ("１２３４", True)])
def test_valid_pin(pin: str, ok: bool) -> None:
    # Fullwidth digits pass str.isdigit(); the protocol's [0-9] pattern stops them at the box.
    assert valid_pin(pin) is ok


def test_pin_hashes_are_salted_keyed_and_verifiable() -> None:
    a, b = hash_pin(secret="s1", pin="482913"), hash_pin(secret="s1", pin="482913")
    # Salted: the same PIN twice gives two hashes, so equal PINs cannot be found by comparing rows.
    assert a != b and pin_hash_is_current(a) and "482913" not in a
    assert verify_pin(secret="s1", pin="482913", stored=a) and verify_pin(secret="s1", pin="482913", stored=b)
    assert not verify_pin(secret="s2", pin="482913", stored=a)  # useless without the hub secret
    assert not verify_pin(secret="s1", pin="482914", stored=a)
    assert not verify_pin(secret="s1", pin="482913", stored="pin-scrypt$garbage")
    # Hashes stored by earlier versions still verify (and are replaced on use).
    legacy = legacy_pin_hash(secret="s1", pin="482913")
    assert len(legacy) == 64 and not pin_hash_is_current(legacy)
    assert verify_pin(secret="s1", pin="482913", stored=legacy)
    assert not verify_pin(secret="s1", pin="000000", stored=legacy)


def test_release_code_releases_only_its_job() -> None:
    code = release_code(secret="s", job_id="abc123")
    assert code.startswith("abc123.")
    assert job_of_release_code(secret="s", code=code) == "abc123"
    assert job_of_release_code(secret="other", code=code) is None
    assert job_of_release_code(secret="s", code="abc124" + code[6:]) is None
    assert job_of_release_code(secret="s", code=code[:-1]) is None
    assert job_of_release_code(secret="s", code=".x") is None


def test_pin_subject() -> None:
    assert pin_subject("E-17") == "no:E-17"


def test_pin_limit_counts_per_employee_number_with_a_box_ceiling() -> None:
    limit = PinLimit(max_failures=5, window=timedelta(minutes=15))
    assert limit.since(NOW) == NOW - timedelta(minutes=15) and limit.box_ceiling == 20
    assert limit.refusal(employee_failures=4, box_failures=4) is None
    locked = limit.refusal(employee_failures=5, box_failures=5)
    assert locked is not None and "employee number" in locked and "15 minutes" in locked and "QR code" in locked
    # Other employee numbers' failures at the same box do not lock this one out ...
    assert limit.refusal(employee_failures=0, box_failures=19) is None
    # ... until the box-wide ceiling (4 × the limit) stops someone cycling employee numbers.
    box = limit.refusal(employee_failures=0, box_failures=20)
    assert box is not None and "at this printer" in box
    # The failure that starts a lockout (and only that one) is the one to audit.
    assert [n for n in range(8) if limit.employee_locked_by(employee_failures=n)] == [4]
    assert [n for n in range(30) if limit.box_locked_by(box_failures=n)] == [19]


def test_wrong_pin_message_counts_down() -> None:
    limit = PinLimit(max_failures=3, window=timedelta(seconds=30))
    assert [limit.wrong(employee_failures=n) for n in range(4)] == [
        "wrong employee number or PIN (2 attempts left)", "wrong employee number or PIN (1 attempt left)",
        "wrong employee number or PIN (0 attempts left)", "wrong employee number or PIN (0 attempts left)"]
    assert "1 minutes" in (limit.refusal(employee_failures=3, box_failures=3) or "")


def test_offers_back_off_between_delivery_attempts() -> None:
    base = timedelta(seconds=10)
    last = NOW
    # attempts = offers made so far: the next waits base, 2 × base, 4 × base, ... capped.
    assert not offer_due(last_try=last, attempts=1, now=last + timedelta(seconds=9), base=base)
    assert offer_due(last_try=last, attempts=1, now=last + timedelta(seconds=10), base=base)
    assert not offer_due(last_try=last, attempts=3, now=last + timedelta(seconds=39), base=base)
    assert offer_due(last_try=last, attempts=3, now=last + timedelta(seconds=40), base=base)
    assert retry_delay(30, base=base) == timedelta(minutes=15)
    assert offer_due(last_try=last, attempts=30, now=last + timedelta(minutes=15), base=base)
    # A base above the 15-minute cap is still the shortest wait (a configured interval is a floor).
    hour = timedelta(hours=1)
    assert not offer_due(last_try=last, attempts=1, now=last + timedelta(minutes=59), base=hour)
    assert offer_due(last_try=last, attempts=1, now=last + hour, base=hour)
    assert offer_due(last_try=last, attempts=4, now=last + hour, base=hour)


def test_a_non_ascii_release_code_is_simply_not_a_code() -> None:
    from hub.domain.print_release import job_of_release_code

    assert job_of_release_code(secret="s", code="abc.\u00e9\u4e2d") is None
    assert job_of_release_code(secret="s", code="abc.\udaf5") is None
