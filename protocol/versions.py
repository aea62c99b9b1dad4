"""Firmware version ordering (PEP 440-like), shared by the hub and devices.

Downgrade protection hinges on "is this newer?", so versions are compared by meaning, never as
strings: ``1.10.0 > 1.9.0``, ``1.0 == 1.0.0``, ``2.0rc1 < 2.0 < 2.0.post1``, ``1.0.dev3 < 1.0a1``.
Accepted: an optional ``v``, a dotted numeric release, then optional pre-release (``a``/``alpha``,
``b``/``beta``, ``rc``/``c``/``pre``/``preview``, also semver style ``-rc.1``), post-release
(``.post1``, ``-1``), development (``.dev2``) and local (``+build.7``) parts. Anything else (``dev``,
``unknown``) is not a version: callers decide what to do with it, and firmware checks refuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_PATTERN = re.compile(
    r"""^v?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|rc|c)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    $""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}

# Sort keys: tuples whose first element places "absent" before or after any present value.
_Key = tuple[object, ...]


class InvalidVersion(ValueError):
    """The string is not a version this scheme can order."""


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    text: str
    key: _Key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version:
    m = _PATTERN.match(text.strip())
    if m is None:
        raise InvalidVersion(f"{text!r} is not a version (expected e.g. 1.4.0, 2.0rc1, 1.2.post1)")
    release = [int(p) for p in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 1.0 == 1.0.0
        release.pop()
    has_post = m["post_n1"] is not None or m["post_l"] is not None
    has_dev = m["dev_l"] is not None
    if m["pre_l"] is not None:
        pre: _Key = (1, _PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif has_dev and not has_post:
        pre = (0,)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (2,)  # a final release sorts after its pre-releases
    post: _Key = (1, int(m["post_n1"] or m["post_n2"] or 0)) if has_post else (0,)
    dev: _Key = (0, int(m["dev_n"] or 0)) if has_dev else (1,)
    local: _Key = tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower())
                        for p in re.split(r"[-_.]", m["local"])) if m["local"] else ()
    return Version(text=text, key=(tuple(release), pre, post, dev, local))


def is_version(text: str) -> bool:
    try:
        parse_version(text)
    except InvalidVersion:
        return False
    return True


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as or newer than ``b``; InvalidVersion otherwise."""
    va, vb = parse_version(a), parse_version(b)
    return (va > vb) - (va < vb)
