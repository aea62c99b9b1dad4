"""Reconnect backoff: exponential growth, cap, jitter bounds, reset, determinism."""

from __future__ import annotations

import random

import pytest

from devices.runtime.backoff import Backoff


def test_grows_exponentially_and_caps_without_jitter() -> None:
    b = Backoff(initial=0.5, maximum=4, factor=2, jitter=0)
    assert [b.next() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]


def test_jitter_stays_within_bounds() -> None:
    b = Backoff(initial=1, maximum=8, jitter=0.5, rng=random.Random(1))
    for _ in range(200):
        ceiling = b.ceiling()
        d = b.next()
        assert ceiling * 0.5 <= d <= ceiling


def test_reset_starts_over() -> None:
    b = Backoff(initial=1, maximum=30, jitter=0)
    for _ in range(5):
        b.next()
    assert b.attempt == 5
    b.reset()
    assert b.next() == 1


def test_same_seed_same_delays_different_seed_differs() -> None:
    a = [Backoff(rng=random.Random(7)).next() for _ in range(1)]
    seq1 = Backoff(rng=random.Random(7))
    seq2 = Backoff(rng=random.Random(7))
    seq3 = Backoff(rng=random.Random(8))
    d1 = [seq1.next() for _ in range(10)]
    assert d1 == [seq2.next() for _ in range(10)]
    assert d1 != [seq3.next() for _ in range(10)]
    assert a[0] == d1[0]


def test_many_attempts_do_not_overflow() -> None:
    b = Backoff(initial=1, maximum=60, jitter=0)
    for _ in range(5000):
        d = b.next()
    assert d == 60


@pytest.mark.parametrize("kwargs", [{"initial": 0}, {"initial": 5, "maximum": 1}, {"factor": 0.5},
                                    {"jitter": 1.5}])
def test_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)
