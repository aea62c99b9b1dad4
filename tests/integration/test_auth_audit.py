"""Denied access leaves an audit trail (failed logins, forged or expired tokens), aggregated per client
and window so a flood of refusals cannot fill the audit table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.auth.throttle import LoginThrottle
from hub.auth.tokens import Principal, Role, issue_access_token
from hub.db.models.core import AuditLog
from hub.runtime import HubRuntime
from hub.services import login_throttle as login_throttle_service
from hub.services.auth_audit import LOGIN_FAILED, OVERFLOW_SOURCE, TOKEN_REJECTED, DeniedAccessAudit, denied_access


def entries(rt: HubRuntime, action: str) -> list[AuditLog]:
    with rt.sessions() as s:
        return list(s.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars())


def bad_login(api: TestClient, username: str, password: str = "nope") -> None:
    res = api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert res.status_code == 401 and res.json()["detail"] == "wrong username or password"


def test_failed_logins_are_audited_once_per_client_and_window(api: TestClient, hub: HubRuntime) -> None:
    # The flood below would be throttled (429) long before its end; this test is about the audit
    # aggregation (throttling: test_login_throttle.py), so the limits are lifted here.
    hub.services.set(login_throttle_service.LOGIN_THROTTLE, LoginThrottle(per_user=1000, per_address=1000, window_s=60))
    bad_login(api, "admin")
    [first] = entries(hub, LOGIN_FAILED)
    assert first.target_type == "client" and first.target_id == "testclient" and first.actor == "anonymous"
    assert first.detail["count"] == 1 and first.detail["reason"] == "wrong password"
    assert first.detail["usernames"] == ["admin"] and "nope" not in str(first.detail)

    for i in range(30):  # a flood from the same address
        bad_login(api, f"guess-{i % 3}")
    denied_access(hub.services).flush()
    [entry] = entries(hub, LOGIN_FAILED)
    assert entry.id == first.id and entry.detail["count"] == 31
    assert entry.detail["usernames"] == ["admin", "guess-0", "guess-1", "guess-2"]
    # A good login is not a refusal.
    assert api.post("/api/v1/auth/token", data={"username": "admin", "password": "admin-test-password"}
                    ).status_code == 200
    denied_access(hub.services).flush()
    assert [e.detail["count"] for e in entries(hub, LOGIN_FAILED)] == [31]


def test_unknown_user_is_audited_with_its_reason(api: TestClient, hub: HubRuntime) -> None:
    bad_login(api, "nobody-here")
    [entry] = entries(hub, LOGIN_FAILED)
    assert entry.detail["reason"] == "unknown user" and entry.detail["usernames"] == ["nobody-here"]


def test_forged_and_expired_tokens_are_audited(api: TestClient, hub: HubRuntime) -> None:
    forged = api.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged.token.value"})
    assert forged.status_code == 401
    [entry] = entries(hub, TOKEN_REJECTED)
    assert entry.target_id == "testclient" and entry.detail["count"] == 1 and entry.detail["reason"]

    admin = Principal(1, "admin", Role.ADMIN, None)
    expired = issue_access_token(admin, secret=hub.settings.secret(), ttl_s=-60, version=0)
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    wrong_key = issue_access_token(admin, secret="not-the-hub-secret-" * 3, ttl_s=600, version=0)
    assert api.get("/api/v1/devices", headers={"Authorization": f"Bearer {wrong_key}"}).status_code == 401
    denied_access(hub.services).flush()
    [entry] = entries(hub, TOKEN_REJECTED)
    assert entry.detail["count"] == 3
    # Without a token at all nothing was forged: a plain 401, no entry.
    assert api.get("/api/v1/auth/me").status_code == 401
    denied_access(hub.services).flush()
    assert entries(hub, TOKEN_REJECTED)[0].detail["count"] == 3


def test_windows_and_the_bound_on_tracked_clients(hub: HubRuntime) -> None:
    now = [0.0]
    agg = DeniedAccessAudit(sessions=hub.sessions, window_s=60, max_sources=2, clock=lambda: now[0])
    rec: dict[str, Any] = {"action": LOGIN_FAILED, "reason": "wrong password"}
    for _ in range(5):
        agg.record(source="10.0.0.1", **rec)
    now[0] = 61.0  # a new minute: the old entry is closed with its count, a new one starts
    agg.record(source="10.0.0.1", **rec)
    agg.record(source="10.0.0.2", **rec)
    for i in range(50):  # many addresses at once: counted together past the bound
        agg.record(source=f"10.0.1.{i}", **rec)
    agg.flush()
    got = [(e.target_id, e.detail["count"]) for e in entries(hub, LOGIN_FAILED)]
    assert got == [("10.0.0.1", 5), ("10.0.0.1", 1), ("10.0.0.2", 1), (OVERFLOW_SOURCE, 50)]


def test_admins_read_the_audit_log_filtered_and_paged(api: TestClient, hub: HubRuntime,
                                                      admin_headers: dict[str, str],
                                                      make_user: Callable[..., dict[str, str]]) -> None:
    for n in range(3):
        res = api.post("/api/v1/employees", headers=admin_headers,
                       json={"name": f"Audit Person {n}", "employee_no": f"AUD-{n}"})
        assert res.status_code == 201, res.text
    bad_login(api, "admin")
    denied_access(hub.services).flush()

    page = api.get("/api/v1/audit", headers=admin_headers, params={"action": "employee.create", "limit": 2}).json()
    assert [e["action"] for e in page["items"]] == ["employee.create"] * 2
    assert page["items"][0]["id"] > page["items"][1]["id"] and page["items"][0]["actor"] == "admin"
    rest = api.get("/api/v1/audit", headers=admin_headers,
                   params={"action": "employee.create", "before": page["next_before"]}).json()
    assert len(rest["items"]) == 1 and rest["next_before"] is None
    prefix = api.get("/api/v1/audit", headers=admin_headers, params={"action": "auth."}).json()["items"]
    assert prefix and all(e["action"].startswith("auth.") for e in prefix)
    assert api.get("/api/v1/audit", headers=make_user("operator")).status_code == 403
    assert api.get("/api/v1/audit").status_code == 401
