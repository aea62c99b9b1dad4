"""Generate docs/mqtt-api.md from the contract; ``python -m protocol.docgen > docs/mqtt-api.md``."""

from __future__ import annotations

import json

from pydantic import BaseModel

import protocol  # noqa: F401  (registers every body model)
from protocol.contract import TOPICS
from protocol.cups_states import CUPS_TO_REPORT, PRINTER_REASON_FAULTS
from protocol.events import COMMAND_ARGS, EVENT_BODIES, REQUEST_BODIES
from protocol.firmware import MANIFEST_PREFIX, ROLLBACK_PREFIX
from protocol.senders import ANY_KIND, EVENT_SENDERS, REQUEST_SENDERS
from protocol.topics import PROTOCOL_VERSION, ROOT

HEADER = f"""# OfficeHub MQTT device contract (v{PROTOCOL_VERSION})

Generated from `protocol/` by `make docs`; a test fails when this file drifts from the code.

Root: `{ROOT}`. Every device owns `{ROOT}/devices/{{device_id}}/…`; a broker ACL pins each device's
credentials to that subtree. Device ids match `^[A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}$`.
All payloads are UTF-8 JSON objects carrying `"v": {PROTOCOL_VERSION}`; unknown keys are refused.
Payloads above 512 KiB are refused (large files travel over HTTP with signed URLs).

## Delivery rules

- Devices keep a durable outbox: every event has an `event_id` and a per-device `seq`, keeps its original
  `device_ts`, and is resent until the hub publishes its id on `events/ack`. The hub stores events
  idempotently on `(device_id, event_id)` before it acks, so a resend never makes a second row.
- A malformed or unknown message is stored by the hub in a dead-letter table with the reason. A well-formed
  event that the hub dead-letters is still acked, so the device does not resend it forever.
- Commands are never retained, carry `expires_at`, and are answered on `cmd/ack`; a device executes a
  `command_id` at most once.
- Requests carry a `transaction` id that the response repeats (MQTT 3.1.1-safe request/response).
"""


def _schema_block(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    return "```json\n" + json.dumps(schema, indent=2, sort_keys=True) + "\n```\n"


def _firmware_section() -> str:
    return f"""
## Firmware signatures

`update_firmware` carries a `manifest` (device kind, optional model, version, sha256, size, optional
`min_version`) and `signature`: base64 Ed25519, made with the hub's firmware key, over
`{MANIFEST_PREFIX.decode().strip()}\\n` followed by the manifest as canonical JSON (every field, `null`
included; keys sorted; no whitespace; ASCII with `\\u` escapes). A `rollback` authorisation (kind, target
version, device ids, `expires_at` in Unix seconds, rollout id, issuer) is signed the same way after
`{ROLLBACK_PREFIX.decode().strip()}\\n`. Before downloading, a device refuses (a `failed` firmware event
and an `error` ack naming the reason): `bad_signature`, `wrong_kind`, `wrong_model`,
`bad_version` (a version it cannot order), `below_min_version` (it runs an older version than the
manifest's `min_version`), `downgrade` (the image is not newer than what runs, and no rollback
authorisation came with it), `rollback_not_authorised` (the authorisation names another device, kind
or version, or expired). After downloading: `size_mismatch`, `hash_mismatch`. `rollback_firmware` to an
older version needs the authorisation too. Versions are ordered as in PEP 440 (`1.10 > 1.9`,
`2.0rc1 < 2.0 < 2.0.post1`); see `protocol/versions.py`."""


def _cups_section() -> str:
    jobs = ", ".join(f"`{cups}` → `{ours}`" for cups, ours in CUPS_TO_REPORT.items())
    faults = ", ".join(f"`{reason}` → `{code}`" for reason, code in sorted(PRINTER_REASON_FAULTS.items()))
    return f"""
## CUPS states

A print box reports a CUPS job's `job-state` as the `print_job` event state: {jobs}.
A printer-state-reasons keyword (its `-error`/`-warning`/`-report` suffix stripped) in a printer's reported
`reasons` names its fault, the `code` of the hub's printer alert: {faults}. Both tables are in
`protocol/cups_states.py`."""


def render() -> str:
    out = [HEADER, "## Topics\n", "| topic | direction | QoS | retained | payload | purpose |",
           "|---|---|---|---|---|---|"]
    for t in TOPICS:
        out.append(f"| `{t.pattern}` | {t.direction} | {t.qos} | {t.retained} | `{t.model.__name__}` "
                   f"| {t.purpose} |")
    out.append("\n## Who may send what\n")
    out.append("A device's kind is fixed by the hub when it is provisioned (the claim token names it; an "
               "auto-registered demo device keeps the kind of its first `info`). An `info` announcing another "
               "kind is refused and raises an alert. Events and requests from a kind not listed below are "
               "refused: a request gets an error response starting `wrong_kind:`, an event is dead-lettered "
               "(and acked). A device that has not announced its kind yet gets `kind_unknown:` for "
               "kind-specific messages and its events are not acked, so they are delivered again later.\n")
    out.append("| message | sent by |")
    out.append("|---|---|")
    for label, table in (("event", EVENT_SENDERS), ("request", REQUEST_SENDERS)):
        for name in sorted(table):
            kinds = "any kind" if table[name] == ANY_KIND else ", ".join(sorted(k.value for k in table[name]))
            out.append(f"| {label} `{name}` | {kinds} |")
    out.append(_firmware_section())
    out.append(_cups_section())
    out.append("\n## Envelopes\n")
    for t in TOPICS:
        out.append(f"### {t.model.__name__} (`{t.pattern}`)\n")
        out.append(_schema_block(t.model))
    for title, registry in (("Event bodies (`Event.data` by `type`)", EVENT_BODIES),
                            ("Request bodies (`Request.data` by action)", REQUEST_BODIES),
                            ("Command arguments (`Command.args` by name)", COMMAND_ARGS)):
        out.append(f"## {title}\n")
        for name in sorted(registry):
            out.append(f"### `{name}`\n")
            out.append(_schema_block(registry[name]))
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
