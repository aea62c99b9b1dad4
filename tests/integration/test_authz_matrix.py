"""Authorization matrix: every route of the app × {anonymous, employee, other employee, operator, admin}
against a real hub (HTTP, so the live stream is a real stream), path parameters filled from real
seeded objects (the employee's own record, print jobs and missed-punch request; a device and its
command; firmware, a rollout, an alert, a webhook, an access group, a shift, a user).

The expected answer comes from the declared rule per route in ``authz_rules.RULES``: 401 without a
token, 403 for a role that is too low, 404 for another employee's resource, 403 without a URL
signature, and neither 401 nor 403 (nor a 5xx) for callers that are allowed. A route without a rule
fails the test.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from hub.api.app import create_app
from hub.auth.tokens import sign_url_path
from hub.db.models.core import Device
from hub.db.models.fleet import Alert
from hub.db.session import transaction
from hub.services.fleet.firmware import download_path
from hub.services.printing.jobs import FILES_PATH
from hub.settings import Settings
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_http import HttpHub
from tests.integration.authz_rules import (
    ADMIN,
    ANY,
    LINKED,
    OPERATOR,
    OWN,
    PUBLIC,
    RULES,
    SIGNED,
    Rule,
)
from tests.integration.print_helpers import make_pdf

CALLERS = ("anonymous", "other employee", "employee", "operator", "admin")  # other before owner: see OWN
ALLOWED = "allowed"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _app() -> FastAPI:
    return create_app(Settings(mode="demo"))  # built, never started: only its routes are read


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD and OPTIONS aside)."""
    app = _app()
    out = set()
    for route in iter_route_contexts(app.routes):
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
            assert route.path is not None
            out.add((method, route.path))
    return out


def expected(rule: Rule, caller: str) -> str | int:
    if rule.kind == PUBLIC:
        return ALLOWED
    if rule.kind == SIGNED:
        return 403  # a bearer token is no substitute for the URL's signature
    if caller == "anonymous":
        return 401
    employee = caller in ("employee", "other employee")
    match rule.kind:
        case "any":
            return ALLOWED
        case "linked":
            return ALLOWED if employee else 403
        case "own":
            return 404 if caller == "other employee" else ALLOWED
        case "operator":
            return 403 if employee else ALLOWED
        case "admin":
            return ALLOWED if caller == "admin" else 403
    raise AssertionError(f"unknown rule kind {rule.kind!r}")


@dataclass
class World:
    params: dict[str, str]
    victims: dict[str, str]
    headers: dict[str, dict[str, str]]


def _ok(res: httpx.Response, what: str) -> Any:
    assert res.status_code < 300, f"seeding {what}: {res.status_code} {res.text}"
    return res.json()


def seed(hub: HttpHub, c: httpx.Client) -> World:
    admin = hub.login()
    tag = uuid.uuid4().hex[:6]

    def employee(name: str) -> str:
        return str(_ok(c.post("/api/v1/employees", headers=admin,
                              json={"employee_no": f"MX-{name}-{tag}", "name": name}), "employee")["id"])

    def user(name: str, role: str, employee_id: str | None = None) -> tuple[str, dict[str, str]]:
        body = {"username": f"{name}-{tag}", "password": f"{name}-password", "role": role,
                "employee_id": int(employee_id) if employee_id else None}
        uid = str(_ok(c.post("/api/v1/users", headers=admin, json=body), "user")["id"])
        return uid, hub.login(body["username"], body["password"])  # type: ignore[arg-type]

    mine, theirs, gone = employee("Mina"), employee("Theo"), employee("Gone")
    _, emp_h = user("mina", "employee", mine)
    _, other_h = user("theo", "employee", theirs)
    _, op_h = user("opal", "operator")
    victim_user, _ = user("vic", "employee")
    door, spare = unique_id("mx-door"), unique_id("mx-spare")
    with transaction(hub.runtime.sessions) as s:  # offline devices: enough for the API
        for device_id in (door, spare):
            s.add(Device(id=device_id, kind="door_terminal", capabilities=["face"], online=False))
        alert = Alert(kind="matrix", severity="warning", device_id=door, message="matrix", details={},
                      dedupe_key=f"matrix-{tag}", state="open", count=1)
        s.add(alert)
        s.flush()
        alert_id = str(alert.id)
    command = _ok(c.post(f"/api/v1/devices/{door}/commands", headers=admin, json={"name": "ping"}), "command")
    firmware = _ok(c.post("/api/v1/firmware", headers=admin, data={"kind": "door_terminal", "version": "9.0.0"},
                          files={"file": ("fw.bin", b"firmware " * 100, "application/octet-stream")}), "firmware")
    rollout = _ok(c.post("/api/v1/rollouts", headers=admin,
                         json={"firmware_id": firmware["id"], "device_ids": [door], "start": False}), "rollout")
    hooks = [str(_ok(c.post("/api/v1/webhooks", headers=admin, json={"url": "http://127.0.0.1:9/hook"}),
                     "webhook")["id"]) for _ in range(2)]
    groups = [str(_ok(c.post("/api/v1/access/groups", headers=admin, json={"name": f"mx-{i}-{tag}"}),
                      "access group")["id"]) for i in range(2)]
    shift = _ok(c.post("/api/v1/attendance/shifts", headers=admin,
                       json={"name": f"mx-{tag}", "start": "09:00", "end": "17:00"}), "shift")
    jobs = [_ok(c.post("/api/v1/print/jobs", headers=emp_h, data={"hold": "true"},
                       files={"file": ("doc.pdf", make_pdf(1), "application/pdf")}), "print job")["id"]
            for _ in range(2)]
    missed = _ok(c.post("/api/v1/attendance/missed-punches", headers=emp_h,
                        json={"ts": "2026-03-02T08:55:00+00:00", "direction": "IN", "reason": "seed"}), "request")
    params = {
        "device_id": door, "terminal_id": door, "command_id": command["id"], "employee_id": mine,
        "job_id": jobs[0], "request_id": missed["id"], "alert_id": alert_id, "group_id": groups[0],
        "shift_id": str(shift["id"]), "hook_id": hooks[0], "firmware_id": str(firmware["id"]),
        "rollout_id": rollout["id"], "action": "pause", "scope": "site", "name": "default",
        "kind": "door_terminal", "user_id": victim_user, "rel": "js/app.js",
    }
    victims = {"device_id": spare, "employee_id": gone, "job_id": jobs[1], "hook_id": hooks[1], "group_id": groups[1]}
    return World(params=params, victims=victims, headers={
        "anonymous": {}, "employee": emp_h, "other employee": other_h, "operator": op_h, "admin": admin})


def _fill(value: Any, params: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, params) for k, v in value.items()}
    if isinstance(value, str) and (m := _PARAM.fullmatch(value)):
        raw = params[m.group(1)]
        return int(raw) if raw.isdigit() else raw
    return value


def call(c: httpx.Client, method: str, path: str, rule: Rule, world: World, caller: str) -> httpx.Response:
    params = {**world.params, **(world.victims if rule.victim else {})}
    url = _PARAM.sub(lambda m: params[m.group(1)], path)
    body = rule.body if rule.body is not None else ({} if method in ("POST", "PUT", "PATCH") else None)
    kw: dict[str, Any] = {"headers": world.headers[caller], "params": _fill(rule.query, params)}
    if body is not None:
        kw["json"] = _fill(body, params)
    # Streamed, so the live feed answers its status and is closed without waiting for an end.
    with c.stream(method, url, **kw) as res:
        if not res.headers.get("content-type", "").startswith("text/event-stream"):
            res.read()
        return res


def test_every_route_has_a_rule_and_the_openapi_document_lists_no_other() -> None:
    routes = app_routes()
    missing = sorted(routes - set(RULES))
    assert not missing, f"routes without a rule (add them to tests/integration/authz_rules.py): {missing}"
    stale = sorted(set(RULES) - routes)
    assert not stale, f"rules for routes the app no longer has: {stale}"
    spec = _app().openapi()
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    assert documented <= routes


@pytest.mark.timeout(600)
def test_authorization_matrix(http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker) -> None:
    # The seeded webhook points at loopback (nothing listens there), which must be allow-listed.
    http_hub = http_hub_factory(broker_url=mosquitto.url, webhook_allowed_hosts="127.0.0.1")
    routes = app_routes()
    assert set(RULES) == routes  # the test above says which
    failures: list[str] = []
    with httpx.Client(base_url=http_hub.url, timeout=60, follow_redirects=False) as c:
        world = seed(http_hub, c)
        _signed_urls_work_without_a_token(c, world, http_hub)
        # Ordered so the destructive calls on victims come after the reads of the shared objects.
        for method, path in sorted(routes, key=lambda mp: (mp[0] == "DELETE", mp[1], mp[0])):
            rule = RULES[(method, path)]
            for caller in CALLERS:
                want = expected(rule, caller)
                res = call(c, method, path, rule, world, caller)
                got = res.status_code
                bad = got >= 500 or (got in (401, 403) if want == ALLOWED else got != want)
                if bad:
                    failures.append(f"{method} {path} as {caller}: {got} (expected {want}, rule {rule.kind}) "
                                    f"{res.text[:160]!r}")
    assert not failures, "authorization matrix violations:\n" + "\n".join(failures)


def _signed_urls_work_without_a_token(c: httpx.Client, world: World, hub: HttpHub) -> None:
    """The positive side of SIGNED: a valid signature alone downloads."""
    secret, until = hub.runtime.settings.secret(), int(time.time()) + 600
    for path in (download_path(int(world.params["firmware_id"])), FILES_PATH + world.params["job_id"]):
        res = c.get(path + "?" + sign_url_path(path, secret=secret, expires_at=until))
        assert res.status_code == 200, f"{path}: {res.status_code} {res.text[:200]}"


def test_rule_kinds_cover_the_callers() -> None:
    """The expectation table itself (so a typo in a rule kind cannot pass silently)."""
    assert [expected(Rule(k), "anonymous") for k in (ANY, LINKED, OWN, OPERATOR, ADMIN)] == [401] * 5
    assert expected(Rule(OWN), "other employee") == 404 and expected(Rule(OPERATOR), "employee") == 403
    assert expected(Rule(SIGNED), "admin") == 403 and expected(Rule(PUBLIC), "anonymous") == ALLOWED
