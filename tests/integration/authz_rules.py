"""Who may call each HTTP route: the declared rule per (method, path) that ``test_authz_matrix`` checks
against the real app. A route missing here fails that test, so a new route needs a rule.

Rules:
- ``PUBLIC``: no token needed (health, sign-in, device claim with its one-time token, the console's files,
  the API docs, the firmware public key).
- ``SIGNED``: the URL's signature is the credential; without it every caller gets 403, tokens or not.
- ``ANY``: any signed-in user (answers are scoped to the caller where that matters).
- ``LINKED``: a login linked to an employee record (the matrix's operator and admin are not linked).
- ``OWN``: the employee's own resource; another employee gets 404, exactly like a missing one.
  Operators and admins are allowed.
- ``OPERATOR`` / ``ADMIN``: that role or above; lower roles get 403.

``query``/``body`` are what the matrix sends (path parameters come from seeded objects; ``{employee_id}``
and friends in values are filled the same way). ``victim`` names objects a destructive route gets
instead of the shared ones, so later routes still find theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PUBLIC, SIGNED, ANY, LINKED, OWN, OPERATOR, ADMIN = "public", "signed", "any", "linked", "own", "operator", "admin"


@dataclass(frozen=True)
class Rule:
    kind: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    victim: bool = False


def r(kind: str, **kw: Any) -> Rule:
    return Rule(kind, **kw)


_DAY = "2026-03-02"
_FORGED = {"expires": "4102444800", "sig": "forged"}
_MISSED = {"employee_id": "{employee_id}", "ts": "2026-03-02T09:00:00+00:00", "direction": "IN", "reason": "matrix"}

RULES: dict[tuple[str, str], Rule] = {
    # FastAPI's own documentation routes.
    ("GET", "/openapi.json"): r(PUBLIC),
    ("GET", "/docs"): r(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): r(PUBLIC),
    ("GET", "/redoc"): r(PUBLIC),
    # Console (static files; the data behind it needs a token).
    ("GET", "/"): r(PUBLIC),
    ("GET", "/console"): r(PUBLIC),
    ("GET", "/favicon.ico"): r(PUBLIC),
    ("GET", "/console/{rel:path}"): r(PUBLIC),
    ("GET", "/healthz"): r(PUBLIC),
    # Sign-in and accounts.
    ("POST", "/api/v1/auth/token"): r(PUBLIC),
    ("GET", "/api/v1/auth/me"): r(ANY),
    ("POST", "/api/v1/auth/password"): r(ANY, body={}),  # a real change would end the caller's session
    ("GET", "/api/v1/users"): r(ADMIN),
    ("POST", "/api/v1/users"): r(ADMIN),
    ("PATCH", "/api/v1/users/{user_id}"): r(ADMIN, body={}),
    ("PUT", "/api/v1/users/{user_id}/password"): r(ADMIN, body={"password": "matrix-password"}),
    ("POST", "/api/v1/users/{user_id}/revoke-tokens"): r(ADMIN),
    # Devices, events, live feed, audit.
    ("GET", "/api/v1/devices"): r(OPERATOR),
    ("GET", "/api/v1/devices/{device_id}"): r(OPERATOR),
    ("PATCH", "/api/v1/devices/{device_id}"): r(ADMIN, body={}),
    ("POST", "/api/v1/devices/{device_id}/commands"): r(OPERATOR, body={"name": "ping"}),
    ("GET", "/api/v1/devices/{device_id}/commands"): r(OPERATOR),
    ("GET", "/api/v1/devices/{device_id}/commands/{command_id}"): r(OPERATOR),
    ("GET", "/api/v1/events"): r(OPERATOR),
    ("GET", "/api/v1/dead-letters"): r(ADMIN),
    ("GET", "/api/v1/stream"): r(ANY),
    ("GET", "/api/v1/audit"): r(ADMIN),
    ("GET", "/api/v1/dashboard"): r(OPERATOR),
    # Fleet: provisioning, config, firmware, rollouts, alerts, webhooks.
    ("POST", "/api/v1/provisioning/claims"): r(ADMIN),
    ("GET", "/api/v1/provisioning/claims"): r(ADMIN),
    ("POST", "/api/v1/provisioning/claim"): r(PUBLIC),  # the claim token in the body is the credential
    ("POST", "/api/v1/devices/{device_id}/revoke"): r(ADMIN, victim=True),
    ("DELETE", "/api/v1/devices/{device_id}"): r(ADMIN, victim=True),
    ("GET", "/api/v1/devices/{device_id}/config"): r(OPERATOR),
    ("PATCH", "/api/v1/devices/{device_id}/config"): r(ADMIN),
    ("GET", "/api/v1/config/layers/{scope}/{name}/{kind}"): r(OPERATOR),
    ("PUT", "/api/v1/config/layers/{scope}/{name}/{kind}"): r(ADMIN),
    ("GET", "/api/v1/config/schema/{kind}"): r(OPERATOR),
    ("POST", "/api/v1/devices/{device_id}/logs"): r(OPERATOR),
    ("POST", "/api/v1/firmware"): r(ADMIN),
    ("GET", "/api/v1/firmware"): r(OPERATOR),
    ("GET", "/api/v1/firmware/public-key"): r(PUBLIC),
    ("GET", "/api/v1/firmware/{firmware_id}/download"): r(SIGNED, query=_FORGED),
    ("POST", "/api/v1/rollouts"): r(ADMIN),
    ("GET", "/api/v1/rollouts"): r(OPERATOR),
    ("GET", "/api/v1/rollouts/{rollout_id}"): r(OPERATOR),
    ("POST", "/api/v1/rollouts/{rollout_id}/{action}"): r(ADMIN),
    ("GET", "/api/v1/alerts"): r(OPERATOR),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): r(OPERATOR),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): r(OPERATOR),
    ("POST", "/api/v1/webhooks"): r(ADMIN),
    ("GET", "/api/v1/webhooks"): r(ADMIN),
    ("DELETE", "/api/v1/webhooks/{hook_id}"): r(ADMIN, victim=True),
    ("GET", "/api/v1/webhooks/{hook_id}/deliveries"): r(ADMIN),
    # Printing.
    ("POST", "/api/v1/print/jobs"): r(ANY),
    ("GET", "/api/v1/print/jobs"): r(ANY),  # scoped: employees list their own
    ("GET", "/api/v1/print/jobs/{job_id}"): r(OWN),
    ("DELETE", "/api/v1/print/jobs/{job_id}"): r(OWN, victim=True),
    ("PUT", "/api/v1/print/pin"): r(ANY, body={"pin": "4711"}),  # one's own PIN
    ("GET", "/api/v1/print/usage"): r(ANY),
    ("PUT", "/api/v1/print/quotas"): r(ADMIN),
    ("PUT", "/api/v1/print/departments"): r(ADMIN),
    ("PUT", "/api/v1/print/release-stations/{terminal_id}"): r(ADMIN),
    ("POST", "/api/v1/print/release-stations/{terminal_id}/face"): r(OPERATOR),
    ("GET", "/api/v1/print/alerts"): r(OPERATOR),
    ("GET", "/api/v1/printers"): r(ANY),
    ("GET", "/api/v1/files/print/{job_id}"): r(SIGNED, query=_FORGED),
    # People, faces, recognition.
    ("GET", "/api/v1/employees"): r(OPERATOR),
    ("POST", "/api/v1/employees"): r(ADMIN),
    ("GET", "/api/v1/employees/{employee_id}"): r(OWN),
    ("PATCH", "/api/v1/employees/{employee_id}"): r(ADMIN, body={}),
    ("POST", "/api/v1/employees/{employee_id}/faces"): r(ADMIN),
    ("GET", "/api/v1/employees/{employee_id}/faces"): r(ADMIN),
    ("DELETE", "/api/v1/employees/{employee_id}"): r(ADMIN, victim=True),
    ("GET", "/api/v1/employees/{employee_id}/erasure"): r(ADMIN),
    ("POST", "/api/v1/recognition/identify"): r(OPERATOR),
    ("POST", "/api/v1/recognition/verify"): r(OPERATOR),
    # Attendance.
    ("GET", "/api/v1/attendance/shifts"): r(ANY),
    ("POST", "/api/v1/attendance/shifts"): r(ADMIN),
    ("DELETE", "/api/v1/attendance/shifts/{shift_id}"): r(ADMIN),
    ("GET", "/api/v1/attendance/holidays"): r(ANY),
    ("POST", "/api/v1/attendance/holidays"): r(ADMIN),
    ("GET", "/api/v1/attendance/punches"): r(OWN, query={"employee_id": "{employee_id}"}),
    ("POST", "/api/v1/attendance/punches"): r(ADMIN),
    ("GET", "/api/v1/attendance/rejections"): r(ADMIN),
    ("GET", "/api/v1/attendance/timesheets"): r(OWN, query={"from": _DAY, "to": _DAY, "employee_id": "{employee_id}"}),
    ("POST", "/api/v1/attendance/missed-punches"): r(OWN, body=_MISSED),
    ("GET", "/api/v1/attendance/missed-punches"): r(OWN, query={"employee_id": "{employee_id}"}),
    # Deciding is for admins (hub.domain.attendance.corrections); never one's own request.
    ("POST", "/api/v1/attendance/missed-punches/{request_id}/approve"): r(ADMIN, body={"note": "ok"}),
    ("POST", "/api/v1/attendance/missed-punches/{request_id}/reject"): r(ADMIN, body={"note": "no"}),
    ("GET", "/api/v1/attendance/locations"): r(ANY),
    ("POST", "/api/v1/attendance/locations"): r(ADMIN),
    ("POST", "/api/v1/attendance/remote-checkin"): r(LINKED),
    # Door access groups.
    ("GET", "/api/v1/access/groups"): r(OPERATOR),
    ("POST", "/api/v1/access/groups"): r(ADMIN),
    ("PUT", "/api/v1/access/groups/{group_id}"): r(ADMIN),
    ("DELETE", "/api/v1/access/groups/{group_id}"): r(ADMIN, victim=True),
}
