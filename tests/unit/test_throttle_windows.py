"""The sign-in throttle's windows (fake clock): per username, per address, expiry, memory bound."""

from __future__ import annotations

from hub.auth.throttle import FailureWindow, LoginThrottle


def test_a_username_is_locked_after_its_limit_until_the_oldest_failure_ages_out() -> None:
    now = [1000.0]
    t = LoginThrottle(per_user=3, per_address=100, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert t.refusal(username="ada", address="10.0.0.1") is None
        t.failed(username="ada", address="10.0.0.1")
        now[0] += 10
    refused = t.refusal(username="ada", address="10.0.0.2")  # from anywhere
    assert refused is not None and refused[0] == "too many failed sign-ins for this user"
    assert refused[1] == 30  # first failure at 1000, window 60, now 1030
    assert t.refusal(username="bob", address="10.0.0.1") is None
    now[0] = 1060.5
    assert t.refusal(username="ada", address="10.0.0.1") is None


def test_an_address_is_locked_across_usernames_and_a_success_does_not_reset_it() -> None:
    now = [0.0]
    t = LoginThrottle(per_user=100, per_address=4, window_s=300, clock=lambda: now[0])
    for i in range(4):
        t.failed(username=f"guess-{i}", address="10.0.0.9")
    t.succeeded(username="guess-0")
    refused = t.refusal(username="someone-new", address="10.0.0.9")
    assert refused is not None and refused[0] == "too many failed sign-ins from this address"
    assert t.refusal(username="someone-new", address="10.0.0.10") is None


def test_a_success_clears_the_username_count() -> None:
    t = LoginThrottle(per_user=2, per_address=100, window_s=300, clock=lambda: 0.0)
    t.failed(username="ada", address="a")
    t.succeeded(username="ada")
    t.failed(username="ada", address="a")
    assert t.refusal(username="ada", address="a") is None


def test_the_number_of_tracked_keys_is_bounded() -> None:
    w = FailureWindow(limit=2, window_s=60, max_keys=3)
    for i in range(10):
        w.fail(f"user-{i}", 0.0)
    assert len(w) == 3
    w.fail("user-9", 1.0)
    assert w.retry_after("user-9", 1.0) == 59.0 and w.retry_after("user-0", 1.0) is None
