"""Failed-attempt limits per address and overall (claims; pure code, injected clock)."""

from __future__ import annotations

import pytest

from hub.domain.failure_limit import OVERFLOW_KEY, FailureLimiter


def test_an_address_over_its_budget_waits_until_its_window_ends() -> None:
    lim = FailureLimiter(per_key=3, global_limit=100, window_s=60)
    for t in (0.0, 1.0, 2.0):
        assert lim.retry_after("10.0.0.1", t) is None
        lim.fail("10.0.0.1", t)
    assert lim.retry_after("10.0.0.1", 10.0) == pytest.approx(50.0)
    assert lim.retry_after("10.0.0.2", 10.0) is None  # other addresses are not affected
    assert lim.retry_after("10.0.0.1", 60.0) is None
    lim.fail("10.0.0.1", 61.0)  # a new window starts with the next failure
    assert lim.retry_after("10.0.0.1", 62.0) is None


def test_the_global_budget_stops_a_spread_out_flood() -> None:
    lim = FailureLimiter(per_key=10, global_limit=5, window_s=30)
    for i in range(5):
        lim.fail(f"10.0.0.{i}", float(i))
    assert lim.retry_after("192.168.1.1", 5.0) == pytest.approx(25.0)
    assert lim.retry_after("192.168.1.1", 30.0) is None


def test_tracked_addresses_are_bounded() -> None:
    lim = FailureLimiter(per_key=2, global_limit=1000, window_s=60, max_keys=3)
    for i in range(3):
        lim.fail(f"a{i}", 0.0)
    lim.fail("b1", 1.0)
    lim.fail("b2", 1.0)  # both share the overflow bucket, which is now over its budget
    assert lim.retry_after("b3", 2.0) is not None and lim.retry_after("a0", 2.0) is None
    assert len(lim._keys) == 4 and OVERFLOW_KEY in lim._keys
    lim.fail("c", 70.0)  # ended windows make room again
    assert lim.retry_after("c", 70.0) is None and "c" in lim._keys


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FailureLimiter(per_key=0, global_limit=1, window_s=1)
