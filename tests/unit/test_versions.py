"""Firmware version ordering: by meaning, not by string (protocol.versions)."""

from __future__ import annotations

import itertools

import pytest

from protocol.versions import InvalidVersion, compare_versions, is_version, parse_version

# Each list is strictly increasing.
ASCENDING = [
    "0.1", "0.9.9", "1.0.dev1", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0rc2", "1.0", "1.0+build.1",
    "1.0+build.2", "1.0.post1", "1.0.1", "1.2", "1.9.0", "1.10.0", "2.0.0-alpha.1", "2.0.0-beta", "2.0.0-rc.1",
    "2", "10.0",
]


@pytest.mark.parametrize(("older", "newer"), list(itertools.pairwise(ASCENDING)))
def test_ordering(older: str, newer: str) -> None:
    assert parse_version(older) < parse_version(newer)
    assert compare_versions(older, newer) == -1 and compare_versions(newer, older) == 1


def test_string_order_would_be_wrong() -> None:
    assert "1.10.0" < "1.9.0"  # what a string compare says
    assert compare_versions("1.10.0", "1.9.0") == 1
    assert compare_versions("0.10", "0.9") == 1


@pytest.mark.parametrize(("a", "b"), [("1.0", "1.0.0"), ("v2.1", "2.1"), ("1.0RC1", "1.0rc1"),
                                      ("1.0-rc.1", "1.0rc1"), ("1.0-1", "1.0.post1"), ("1.0alpha", "1.0a0")])
def test_equal_spellings(a: str, b: str) -> None:
    assert compare_versions(a, b) == 0
    assert parse_version(a) == parse_version(b) and hash(parse_version(a)) == hash(parse_version(b))


@pytest.mark.parametrize("text", ["", "dev", "unknown", "1..0", "1.0-", "latest", "1.0+", "a1.0"])
def test_not_a_version(text: str) -> None:
    assert not is_version(text)
    with pytest.raises(InvalidVersion, match="not a version"):
        parse_version(text)
