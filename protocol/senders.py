"""Which device kinds may send each event type and request action: one table, enforced by the hub.

A device's kind is fixed by the hub when it is provisioned (a claim token is issued for one kind;
an auto-registered demo device gets it from its first ``info``), never by what the device says
later. The hub refuses an event or request from a kind not listed here: a print box asking for the
face gallery or sending a punch, a door terminal asking for print jobs. Every registered event
type and request action must appear here (a unit test checks it); a name missing from the table is
refused for every kind, so forgetting to list a new one fails closed.
"""

from __future__ import annotations

from protocol.payloads import DeviceKind

ANY_KIND: frozenset[DeviceKind] = frozenset(DeviceKind)
DOOR = frozenset({DeviceKind.DOOR_TERMINAL})
PRINT = frozenset({DeviceKind.PRINT_BOX})

EVENT_SENDERS: dict[str, frozenset[DeviceKind]] = {
    "alarm": ANY_KIND,
    "log": ANY_KIND,
    "test": ANY_KIND,
    "firmware": ANY_KIND,
    "config_applied": ANY_KIND,
    "door": DOOR,
    "punch": DOOR,
    "print_job": PRINT,
}

REQUEST_SENDERS: dict[str, frozenset[DeviceKind]] = {
    "identify": DOOR,
    "gallery_sync": DOOR,  # templates and the device's template key
    "release": PRINT,
    "print_jobs_pending": PRINT,
}


def may_send(kind: str | None, senders: frozenset[DeviceKind] | None) -> bool:
    """May a device of ``kind`` (None: not announced yet) send a message with these ``senders``?"""
    if senders is None:
        return False
    if senders == ANY_KIND:
        return True
    return kind is not None and kind in senders  # DeviceKind is a StrEnum: "print_box" == PRINT_BOX


def refusal(kind: str | None, what: str, senders: frozenset[DeviceKind] | None) -> tuple[str, str]:
    """(code, reason) told to the device and kept in the dead letter when ``may_send`` is False."""
    if senders is None:
        return "not_in_contract", f"not_in_contract: no device kind may send {what}"
    allowed = " or ".join(sorted(k.value for k in senders))
    if kind is None:
        return "kind_unknown", (f"kind_unknown: only a {allowed} may send {what}, and this device has not "
                                "announced its kind yet")
    return "wrong_kind", f"wrong_kind: only a {allowed} may send {what}; this device is a {kind}"
