"""Sign-in: throttled per username and per client address (429 + Retry-After, audited), one password
verification whatever the case (unknown users are checked against a dummy hash), and bearer tokens
only in the Authorization header except on the live stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.api.routes import stream as stream_route
from hub.auth import passwords
from hub.db.models.core import AuditLog, User
from hub.db.session import transaction
from hub.runtime import HubRuntime
from hub.services.auth_audit import LOGIN_THROTTLED, denied_access
from tests.fixtures.hub import ADMIN_PASSWORD
from tests.fixtures.hub_http import HttpHub
from tests.support.waiting import wait_for


def _login(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


@pytest.fixture
def from_address(hub: HubRuntime) -> Iterator[Callable[[str], TestClient]]:
    """TestClients of the same hub seen from different client addresses."""
    clients: list[TestClient] = []

    def make(address: str) -> TestClient:
        c = TestClient(create_app(runtime=hub), client=(address, 40000))
        clients.append(c.__enter__())
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_a_username_is_throttled_after_five_failures_even_with_the_right_password(
        hub: HubRuntime, from_address: Callable[[str], TestClient]) -> None:
    for i in range(5):  # spread over addresses: the per-user count is what stops it
        assert _login(from_address(f"10.1.0.{i}"), "admin", "wrong").status_code == 401
    res = _login(from_address("10.1.0.99"), "admin", ADMIN_PASSWORD)
    assert res.status_code == 429 and "for this user" in res.json()["detail"]
    assert 1 <= int(res.headers["Retry-After"]) <= hub.settings.login_throttle_window_s
    # Another user from one of those addresses is not affected.
    with transaction(hub.sessions) as s:
        s.add(User(username="grace", password_hash=passwords.hash_password("grace-password"), role="operator",
                   active=True, full_name="Grace"))
    assert _login(from_address("10.1.0.1"), "grace", "grace-password").status_code == 200
    denied_access(hub.services).flush()
    with hub.sessions() as s:
        [entry] = s.execute(select(AuditLog).where(AuditLog.action == LOGIN_THROTTLED)).scalars()
    assert entry.detail["usernames"] == ["admin"] and entry.detail["reason"].endswith("for this user")


def test_an_address_is_throttled_across_usernames(hub: HubRuntime, from_address: Callable[[str], TestClient]) -> None:
    limit = hub.settings.login_max_failures_per_address
    guesser, other = from_address("10.2.0.1"), from_address("10.2.0.2")
    for i in range(limit):
        assert _login(guesser, f"guess-{i}", "x").status_code == 401
    res = _login(guesser, "admin", ADMIN_PASSWORD)
    assert res.status_code == 429 and "from this address" in res.json()["detail"] and res.headers["Retry-After"]
    assert _login(other, "admin", ADMIN_PASSWORD).status_code == 200


@pytest.mark.parametrize("case", ["unknown user", "disabled user", "wrong password", "right password"])
def test_every_sign_in_costs_exactly_one_password_verification(case: str, api: TestClient, hub: HubRuntime,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal work for every case (no timing assertion: the scrypt call count is what makes it equal)."""
    with transaction(hub.sessions) as s:
        s.add(User(username="off", password_hash=passwords.hash_password("off-password"), role="employee",
                   active=False, full_name="Off"))
    passwords.dummy_hash()  # made once per process (at hub start), not per request
    calls: list[Any] = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda p, h: calls.append(h) or real(p, h))
    username, password = {"unknown user": ("nobody", "x"), "disabled user": ("off", "off-password"),
                          "wrong password": ("admin", "x"), "right password": ("admin", ADMIN_PASSWORD)}[case]
    res = _login(api, username, password)
    assert res.status_code == (200 if case == "right password" else 401)
    assert len(calls) == 1
    if case == "unknown user":
        assert calls == [passwords.dummy_hash()]


def test_access_token_in_the_query_is_refused_outside_the_stream(api: TestClient,
                                                                 admin_headers: dict[str, str]) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    for path in ("/api/v1/auth/me", "/api/v1/devices", "/api/v1/audit", "/api/v1/users"):
        res = api.get(path, params={"access_token": token})
        assert res.status_code == 401, path
        assert api.get(path, headers=admin_headers).status_code == 200, path


def test_the_stream_takes_the_token_from_the_query(http_hub: HttpHub) -> None:
    token = http_hub.login()["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=http_hub.url, timeout=30) as c:
        assert c.get("/api/v1/stream").status_code == 401
        assert c.get("/api/v1/stream", params={"access_token": "forged"}).status_code == 401
        with c.stream("GET", "/api/v1/stream", params={"access_token": token}) as res:
            assert res.status_code == 200
            first = next(res.iter_lines())
        assert first.startswith("event: hello")


def test_an_open_stream_ends_once_its_token_is_revoked(http_hub: HttpHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_route, "RECHECK_S", 0.0)  # check before every message
    admin = http_hub.login()
    with httpx.Client(base_url=http_hub.url, timeout=30) as c:
        uid = c.post("/api/v1/users", headers=admin, json={"username": "streamer", "password": "streamer-password",
                                                           "role": "operator"}).json()["id"]
        op = http_hub.login("streamer", "streamer-password")
        with c.stream("GET", "/api/v1/stream", headers=op) as res:
            lines = res.iter_lines()
            assert next(lines).startswith("event: hello")
            wait_for(lambda: http_hub.runtime.live.subscribers == 1, what="the stream subscribed")
            http_hub.runtime.live.publish("alert", {"n": 1})
            assert any(line == "event: alert" for line in lines)
            assert c.post(f"/api/v1/users/{uid}/revoke-tokens", headers=admin).status_code == 200
            http_hub.runtime.live.publish("alert", {"n": 2})
            rest = list(lines)  # the stream ends instead of carrying the message
        assert not any('"n": 2' in line for line in rest)
