"""Token revocation and user management: every token carries the user's token version, checked on
each request together with ``active``; admins change roles, disable and re-enable users, reset
passwords and revoke tokens; users change their own password; erasing an employee disables their
login. Every change is audited."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.db.models.core import AuditLog
from hub.runtime import HubRuntime
from tests.fixtures.hub import ADMIN_PASSWORD


def _token(api: TestClient, username: str, password: str) -> dict[str, str]:
    res = api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


def _create(api: TestClient, admin: dict[str, str], username: str, role: str, **kw: object) -> int:
    res = api.post("/api/v1/users", headers=admin,
                   json={"username": username, "password": f"{username}-password", "role": role, **kw})
    assert res.status_code == 201, res.text
    assert "password_hash" not in res.json() and "token_version" not in res.json()
    return int(res.json()["id"])


def _actions(hub: HubRuntime, user_id: int) -> list[str]:
    with hub.sessions() as s:
        rows = s.execute(select(AuditLog).where(AuditLog.target_type == "user", AuditLog.target_id == str(user_id))
                         .order_by(AuditLog.id)).scalars()
        return [r.action for r in rows]


def _works(api: TestClient, headers: dict[str, str]) -> bool:
    res = api.get("/api/v1/auth/me", headers=headers)
    assert res.status_code in (200, 401), res.text
    return res.status_code == 200


def test_role_change_revokes_tokens_and_takes_effect(api: TestClient, hub: HubRuntime,
                                                     admin_headers: dict[str, str]) -> None:
    uid = _create(api, admin_headers, "olga", "operator")
    olga = _token(api, "olga", "olga-password")
    assert api.get("/api/v1/devices", headers=olga).status_code == 200
    res = api.patch(f"/api/v1/users/{uid}", headers=admin_headers, json={"role": "employee"})
    assert res.status_code == 200 and res.json()["role"] == "employee"
    assert not _works(api, olga)
    again = _token(api, "olga", "olga-password")
    assert api.get("/api/v1/auth/me", headers=again).json()["role"] == "employee"
    assert api.get("/api/v1/devices", headers=again).status_code == 403
    assert _actions(hub, uid) == ["user.create", "user.role_change"]


def test_disable_and_re_enable(api: TestClient, hub: HubRuntime, admin_headers: dict[str, str]) -> None:
    uid = _create(api, admin_headers, "dora", "employee")
    dora = _token(api, "dora", "dora-password")
    res = api.patch(f"/api/v1/users/{uid}", headers=admin_headers, json={"active": False})
    assert res.status_code == 200 and res.json()["active"] is False
    assert not _works(api, dora)
    assert api.post("/api/v1/auth/token", data={"username": "dora", "password": "dora-password"}).status_code == 401
    assert api.patch(f"/api/v1/users/{uid}", headers=admin_headers, json={"active": True}).status_code == 200
    assert not _works(api, dora)  # re-enabling does not bring old tokens back
    assert _works(api, _token(api, "dora", "dora-password"))
    assert _actions(hub, uid) == ["user.create", "user.disable", "user.enable"]


def test_password_reset_and_token_revocation(api: TestClient, hub: HubRuntime, admin_headers: dict[str, str]) -> None:
    uid = _create(api, admin_headers, "rita", "operator")
    first, second = _token(api, "rita", "rita-password"), _token(api, "rita", "rita-password")
    assert api.post(f"/api/v1/users/{uid}/revoke-tokens", headers=admin_headers).status_code == 200
    assert not _works(api, first) and not _works(api, second)
    third = _token(api, "rita", "rita-password")
    assert api.put(f"/api/v1/users/{uid}/password", headers=admin_headers,
                   json={"password": "short"}).status_code == 422
    assert api.put(f"/api/v1/users/{uid}/password", headers=admin_headers,
                   json={"password": "a-new-password"}).status_code == 204
    assert not _works(api, third)
    assert api.post("/api/v1/auth/token", data={"username": "rita", "password": "rita-password"}).status_code == 401
    assert _works(api, _token(api, "rita", "a-new-password"))
    assert _actions(hub, uid) == ["user.create", "user.tokens_revoked", "user.password_reset"]
    assert api.patch("/api/v1/users/424242", headers=admin_headers, json={"active": False}).status_code == 404


def test_own_password_change_keeps_this_session_and_ends_the_others(api: TestClient, hub: HubRuntime,
                                                                    admin_headers: dict[str, str]) -> None:
    uid = _create(api, admin_headers, "emma", "employee")
    here, elsewhere = _token(api, "emma", "emma-password"), _token(api, "emma", "emma-password")
    wrong = api.post("/api/v1/auth/password", headers=here,
                     json={"current_password": "nope", "new_password": "emma-new-password"})
    assert wrong.status_code == 400 and "current password" in wrong.json()["detail"]
    assert _works(api, here) and _works(api, elsewhere)
    res = api.post("/api/v1/auth/password", headers=here,
                   json={"current_password": "emma-password", "new_password": "emma-new-password"})
    assert res.status_code == 200 and res.json()["role"] == "employee"
    fresh = {"Authorization": f"Bearer {res.json()['access_token']}"}
    assert _works(api, fresh)
    assert not _works(api, here) and not _works(api, elsewhere)
    assert api.post("/api/v1/auth/token", data={"username": "emma", "password": "emma-password"}).status_code == 401
    assert _works(api, _token(api, "emma", "emma-new-password"))
    assert _actions(hub, uid) == ["user.create", "user.password_change"]


def test_wrong_current_passwords_are_throttled(api: TestClient, admin_headers: dict[str, str]) -> None:
    _create(api, admin_headers, "tess", "employee")
    tess = _token(api, "tess", "tess-password")
    body = {"current_password": "guess", "new_password": "whatever-123"}
    codes = [api.post("/api/v1/auth/password", headers=tess, json=body).status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]


def test_the_last_active_admin_cannot_be_demoted_or_disabled(api: TestClient, admin_headers: dict[str, str]) -> None:
    me = api.get("/api/v1/auth/me", headers=admin_headers).json()["id"]
    for change in ({"role": "operator"}, {"active": False}):
        res = api.patch(f"/api/v1/users/{me}", headers=admin_headers, json=change)
        assert res.status_code == 409 and "last active admin" in res.json()["detail"]
    _create(api, admin_headers, "ann", "admin")
    ann = _token(api, "ann", "ann-password")
    assert api.patch(f"/api/v1/users/{me}", headers=ann, json={"role": "operator"}).status_code == 200
    assert not _works(api, admin_headers)
    again = _token(api, "admin", ADMIN_PASSWORD)
    assert api.get("/api/v1/users", headers=again).status_code == 403


def test_erasing_an_employee_disables_their_login(api: TestClient, hub: HubRuntime,
                                                  admin_headers: dict[str, str]) -> None:
    emp = api.post("/api/v1/employees", headers=admin_headers, json={"employee_no": "ER1", "name": "Erin"})
    assert emp.status_code == 201, emp.text
    emp_id = emp.json()["id"]
    uid = _create(api, admin_headers, "erin", "employee", employee_id=emp_id)
    erin = _token(api, "erin", "erin-password")
    assert api.get(f"/api/v1/employees/{emp_id}", headers=erin).status_code == 200
    assert api.delete(f"/api/v1/employees/{emp_id}", headers=admin_headers).status_code == 202
    assert not _works(api, erin)
    assert api.post("/api/v1/auth/token", data={"username": "erin", "password": "erin-password"}).status_code == 401
    users = {u["id"]: u for u in api.get("/api/v1/users", headers=admin_headers).json()}
    assert users[uid]["active"] is False
    assert _actions(hub, uid) == ["user.create", "user.disable"]
    with hub.sessions() as s:
        entry = s.execute(select(AuditLog).where(AuditLog.action == "employee.erase")).scalar_one()
    assert entry.detail["logins_disabled"] == 1


@pytest.mark.parametrize("claims", [{}, {"ver": "0"}, {"ver": 1}])
def test_tokens_without_the_current_version_are_refused(claims: dict[str, object], api: TestClient,
                                                        hub: HubRuntime) -> None:
    """A token from before versioning (no ``ver``), a malformed one, or one ahead of the user's version."""
    now = int(time.time())
    body = {"sub": "1", "usr": "admin", "role": "admin", "emp": None, "iat": now, "exp": now + 600, "typ": "access",
            **claims}
    token = jwt.encode(body, hub.settings.secret(), algorithm="HS256")
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    good = jwt.encode({**body, "ver": 0}, hub.settings.secret(), algorithm="HS256")
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
