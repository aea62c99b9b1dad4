"""docs/mqtt-api.md is generated from protocol/: fail when the document drifts from the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import topics
from protocol.docgen import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt-api.md"


def test_mqtt_api_doc_matches_the_code() -> None:
    assert DOC.exists(), "docs/mqtt-api.md is missing: run `make docs`"
    assert DOC.read_text() == render(), "docs/mqtt-api.md is out of date with protocol/: run `make docs`"


@pytest.mark.parametrize("builder,channel", [
    (topics.availability, topics.Channel.AVAILABILITY), (topics.info, topics.Channel.INFO),
    (topics.state, topics.Channel.STATE), (topics.heartbeat, topics.Channel.HEARTBEAT),
    (topics.events, topics.Channel.EVENTS), (topics.events_ack, topics.Channel.EVENTS_ACK),
    (topics.command, topics.Channel.CMD), (topics.command_ack, topics.Channel.CMD_ACK),
])
def test_topics_round_trip(builder, channel) -> None:  # type: ignore[no-untyped-def]
    parsed = topics.parse(builder("door-001"))
    assert parsed.device_id == "door-001" and parsed.channel == channel


def test_request_topics_carry_the_action() -> None:
    parsed = topics.parse(topics.request("door-001", "identify"))
    assert (parsed.channel, parsed.action) == (topics.Channel.REQ, "identify")
    assert topics.parse(topics.response("d1", "gallery_sync")).action == "gallery_sync"


@pytest.mark.parametrize("bad", ["office/v1/devices/+/events", "office/v1/devices/a#/events", "other/x/events",
                                 "office/v1/devices/x", "office/v1/devices/x/req", "office/v1/devices/x/req/Bad",
                                 "office/v1/devices/x/events/extra"])
def test_topics_outside_the_contract_are_refused(bad: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse(bad)


def test_builders_refuse_wildcards_in_ids() -> None:
    for bad in ("a/b", "+", "#", "", "x" * 65):
        with pytest.raises(topics.TopicError):
            topics.events(bad)
