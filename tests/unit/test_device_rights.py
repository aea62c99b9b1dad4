"""Which device kinds may send what (protocol/senders.py), and the one biometric redaction."""

from __future__ import annotations

import protocol  # noqa: F401  (registers every body model)
from hub.domain.biometrics import REDACTED, without_biometrics
from protocol.events import EVENT_BODIES, REQUEST_BODIES
from protocol.senders import EVENT_SENDERS, REQUEST_SENDERS, may_send, refusal


def test_every_event_type_and_request_action_names_its_senders() -> None:
    # A new type must say which kinds may send it; the hub refuses an unlisted one for every kind.
    assert set(EVENT_SENDERS) == set(EVENT_BODIES)
    assert set(REQUEST_SENDERS) == set(REQUEST_BODIES)


def test_kind_rules() -> None:
    gallery = REQUEST_SENDERS["gallery_sync"]
    assert may_send("door_terminal", gallery)
    assert not may_send("print_box", gallery) and not may_send(None, gallery)
    assert not may_send("door_terminal", REQUEST_SENDERS["print_jobs_pending"])
    assert not may_send("print_box", EVENT_SENDERS["punch"])
    assert may_send(None, EVENT_SENDERS["log"]) and may_send("print_box", EVENT_SENDERS["alarm"])
    assert not may_send("door_terminal", None)
    assert refusal("print_box", "request gallery_sync", gallery) == (
        "wrong_kind", "wrong_kind: only a door_terminal may send request gallery_sync; this device is a print_box")
    assert refusal(None, "event punch", EVENT_SENDERS["punch"])[0] == "kind_unknown"
    assert refusal("print_box", "event x", None)[0] == "not_in_contract"


def test_redaction_reaches_nested_data() -> None:
    enc = [0.1] * 128
    live = {"device_id": "d", "type": "punch", "data": {"employee_id": "7", "encoding": enc},
            "batch": [{"encoding": enc}, 3]}
    out = without_biometrics(live)
    assert out == {"device_id": "d", "type": "punch", "data": {"employee_id": "7", "encoding": REDACTED},
                   "batch": [{"encoding": REDACTED}, 3]}
    assert live["data"]["encoding"] is enc  # a copy: the caller's data is untouched
    assert without_biometrics({"encoding": None}) == {"encoding": None}
