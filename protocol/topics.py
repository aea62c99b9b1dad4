"""Topic builders and parsers: the only place topic strings are made or read.

Every device owns ``office/v1/devices/{device_id}/...`` so a broker ACL can pin a
device's credentials to its own subtree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "office/v1"
DEVICES = f"{ROOT}/devices"
PROTOCOL_VERSION = 1

# Device ids appear in topics: keep them to a safe, wildcard-free alphabet.
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ACTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class Channel(StrEnum):
    AVAILABILITY = "availability"
    INFO = "info"
    STATE = "state"
    HEARTBEAT = "heartbeat"
    EVENTS = "events"
    EVENTS_ACK = "events/ack"
    REQ = "req"
    RES = "res"
    CMD = "cmd"
    CMD_ACK = "cmd/ack"


class TopicError(ValueError):
    """A topic that is not part of the contract."""


def valid_device_id(device_id: str) -> bool:
    return bool(DEVICE_ID_RE.match(device_id))


def _dev(device_id: str) -> str:
    if not valid_device_id(device_id):
        raise TopicError(f"invalid device id {device_id!r}")
    return f"{DEVICES}/{device_id}"


def hub_state() -> str:
    return f"{ROOT}/hub/state"


def availability(device_id: str) -> str:
    return f"{_dev(device_id)}/availability"


def info(device_id: str) -> str:
    return f"{_dev(device_id)}/info"


def state(device_id: str) -> str:
    return f"{_dev(device_id)}/state"


def heartbeat(device_id: str) -> str:
    return f"{_dev(device_id)}/heartbeat"


def events(device_id: str) -> str:
    return f"{_dev(device_id)}/events"


def events_ack(device_id: str) -> str:
    return f"{_dev(device_id)}/events/ack"


def request(device_id: str, action: str) -> str:
    if not ACTION_RE.match(action):
        raise TopicError(f"invalid action {action!r}")
    return f"{_dev(device_id)}/req/{action}"


def response(device_id: str, action: str) -> str:
    if not ACTION_RE.match(action):
        raise TopicError(f"invalid action {action!r}")
    return f"{_dev(device_id)}/res/{action}"


def command(device_id: str) -> str:
    return f"{_dev(device_id)}/cmd"


def command_ack(device_id: str) -> str:
    return f"{_dev(device_id)}/cmd/ack"


def device_subtree(device_id: str) -> str:
    """Filter for everything a device owns (used by ACLs)."""
    return f"{_dev(device_id)}/#"


# The hub subscribes to every device subtree, so traffic outside the contract (a wrong topic)
# reaches it and is dead-lettered instead of vanishing. Hub -> device channels echo back and are ignored.
HUB_SUBSCRIPTIONS: tuple[str, ...] = (f"{DEVICES}/#",)
HUB_TO_DEVICE = frozenset({Channel.EVENTS_ACK, Channel.RES, Channel.CMD})


def device_subscriptions(device_id: str) -> tuple[str, ...]:
    """Subscriptions of a device agent (hub -> device traffic only)."""
    base = _dev(device_id)
    return (f"{base}/cmd", f"{base}/events/ack", f"{base}/res/+")


_EVENTS_TAIL = "/" + Channel.EVENTS.value
_DEVICES_PREFIX = DEVICES + "/"
_DEVICES_PREFIX_LEN = len(_DEVICES_PREFIX)


def is_events_topic(topic: str) -> bool:
    """Whether ``topic`` is a device's ``events`` channel, without a full parse: the hub's MQTT
    thread asks this for every message, so it stays a few string operations."""
    return (topic.endswith(_EVENTS_TAIL) and topic.startswith(_DEVICES_PREFIX)
            and topic.count("/", _DEVICES_PREFIX_LEN) == 1)


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    device_id: str
    channel: Channel
    action: str | None = None


def parse(topic: str) -> ParsedTopic:
    """Parse a device topic; raise TopicError for anything outside the contract."""
    prefix = DEVICES + "/"
    if not topic.startswith(prefix):
        raise TopicError(f"topic outside {DEVICES}/: {topic!r}")
    parts = topic[len(prefix):].split("/")
    if len(parts) < 2:
        raise TopicError(f"topic too short: {topic!r}")
    device_id, rest = parts[0], parts[1:]
    if not valid_device_id(device_id):
        raise TopicError(f"invalid device id in topic: {topic!r}")
    tail = "/".join(rest)
    if len(rest) == 2 and rest[0] in ("req", "res"):
        if not ACTION_RE.match(rest[1]):
            raise TopicError(f"invalid action in topic: {topic!r}")
        return ParsedTopic(device_id, Channel(rest[0]), rest[1])
    try:
        channel = Channel(tail)
    except ValueError as exc:
        raise TopicError(f"unknown channel {tail!r} in topic {topic!r}") from exc
    if channel in (Channel.REQ, Channel.RES):
        raise TopicError(f"{channel} needs an action: {topic!r}")
    return ParsedTopic(device_id, channel)
