"""One MQTT message as paho handed it over: what the inbox, classifier and store pass along."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    payload: bytes
    retain: bool
    received_at: datetime
