"""Which parts of a device event are biometric data.

An edge terminal's ``punch`` carries the 128-d face encoding so the hub can re-verify it. That is a
template in all but name: DESIGN §8 keeps templates encrypted at rest and deletes them completely,
so the hub keeps the encoding in the event only until the punch is decided, never shows it through
the API or the live feed, and erasure removes any still waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BIOMETRIC_KEYS = frozenset({"encoding"})
REDACTED = "redacted"


def holds_biometrics(data: Mapping[str, Any]) -> bool:
    return any(data.get(k) not in (None, REDACTED) for k in BIOMETRIC_KEYS)


def without_biometrics(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with each biometric value replaced by ``"redacted"`` (the key stays: it was there),
    at any depth: the one redaction for every way data leaves the hub (REST views, the live feed
    that wraps an event's data in its own message, dead letters)."""
    return {k: (REDACTED if k in BIOMETRIC_KEYS and v is not None else _redacted(v)) for k, v in data.items()}


def _redacted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return without_biometrics(value)
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value
