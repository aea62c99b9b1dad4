"""The hub's API against a real runtime: auth, device registry fed by a simulated fleet, events."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from hub.runtime import HubRuntime
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.support.waiting import wait_for


def test_every_route_but_health_and_token_needs_a_token(api: TestClient) -> None:
    assert api.get("/healthz").status_code == 200
    for path in ("/api/v1/devices", "/api/v1/events", "/api/v1/dead-letters", "/api/v1/users",
                 "/api/v1/auth/me", "/api/v1/devices/x"):
        res = api.get(path)
        assert res.status_code == 401, path
        assert "token" in res.json()["detail"] or "authenticated" in res.json()["detail"]
    assert api.get("/api/v1/devices", headers={"Authorization": "Bearer forged.token.here"}).status_code == 401


def test_login_errors_are_4xx_with_a_message(api: TestClient) -> None:
    res = api.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong"})
    assert res.status_code == 401 and res.json()["detail"] == "wrong username or password"
    res = api.post("/api/v1/auth/token", data={"username": "admin"})
    assert res.status_code == 422 and "password" in res.json()["detail"]


def test_roles(api: TestClient, admin_headers: dict[str, str], make_user) -> None:  # type: ignore[no-untyped-def]
    employee = make_user("employee")
    assert api.get("/api/v1/auth/me", headers=employee).json()["role"] == "employee"
    assert api.get("/api/v1/events", headers=employee).status_code == 403
    assert api.get("/api/v1/dead-letters", headers=employee).status_code == 403
    # Device details (addresses, reported config with camera URLs) are for operators and admins.
    assert api.get("/api/v1/devices", headers=employee).status_code == 403
    assert api.get("/api/v1/devices/any-device", headers=employee).status_code == 403
    assert api.get("/api/v1/devices", headers=admin_headers).status_code == 200
    res = api.post("/api/v1/users", headers=admin_headers,
                   json={"username": "op1", "password": "longenough", "role": "operator"})
    assert res.status_code == 201 and "password" not in res.json() and "password_hash" not in res.json()
    dup = api.post("/api/v1/users", headers=admin_headers,
                   json={"username": "op1", "password": "longenough", "role": "operator"})
    assert dup.status_code == 409
    bad = api.post("/api/v1/users", headers=admin_headers, json={"username": "x y", "password": "s", "role": "god"})
    assert bad.status_code == 422 and bad.json()["detail"]


def test_fleet_shows_online_and_events_are_listed(api: TestClient, admin_headers: dict[str, str], hub: HubRuntime,
                                                  mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    prefix = unique_id("f") + "-"
    fleet = SimFleet(broker_url=mosquitto.url, doors=3, printboxes=2, seed=7, workdir=tmp_path / "sim",
                     id_prefix=prefix, heartbeat_s=5)
    fleet.start()
    try:
        def online() -> list[dict]:  # type: ignore[type-arg]
            items = api.get("/api/v1/devices", headers=admin_headers, params={"q": prefix}).json()["items"]
            return items if len(items) == 5 and all(d["online"] for d in items) else []

        devices = wait_for(online)
        assert {d["kind"] for d in devices} == {"door_terminal", "print_box"}
        assert all(d["firmware"] and d["last_seen"] for d in devices)
        emit_events(fleet, total=50, note="api")
        wait_for(lambda: fleet.total_outbox_depth() == 0)
        one = devices[0]["id"]
        res = api.get("/api/v1/events", headers=admin_headers, params={"device_id": one, "type": "test"})
        items = res.json()["items"]
        assert items and all(e["device_id"] == one and e["type"] == "test" for e in items)
        page = api.get("/api/v1/events", headers=admin_headers, params={"type": "test", "limit": 20}).json()
        assert len(page["items"]) == 20 and page["next_cursor"] is not None
        nxt = api.get("/api/v1/events", headers=admin_headers,
                      params={"type": "test", "limit": 20, "cursor": page["next_cursor"]}).json()
        assert nxt["items"][0]["id"] > page["items"][-1]["id"]
        assert api.get(f"/api/v1/devices/{one}", headers=admin_headers).json()["id"] == one
        assert api.get("/api/v1/devices/nope", headers=admin_headers).status_code == 404
        bad = api.get("/api/v1/events", headers=admin_headers, params={"since": "yesterday"})
        assert bad.status_code == 422 and "since" in bad.json()["detail"]
    finally:
        fleet.stop()
    wait_for(lambda: all(not d["online"] for d in api.get(
        "/api/v1/devices", headers=admin_headers, params={"q": prefix}).json()["items"]))


def test_command_outcomes_reach_the_live_feed(api: TestClient, admin_headers: dict[str, str], hub: HubRuntime,
                                              mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    import asyncio
    import threading

    seen: list[dict] = []  # type: ignore[type-arg]
    ready = threading.Event()

    async def listen() -> None:
        feed = hub.live.subscribe()
        ready.set()
        async for msg in feed:
            if msg.kind == "command":
                seen.append(msg.data)
                if msg.data.get("state") == "acked":
                    return

    listener = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(listen(), 30)), daemon=True)
    listener.start()
    prefix = unique_id("cmd") + "-"
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=1, workdir=tmp_path / "sim",
                     id_prefix=prefix)
    fleet.start()
    try:
        assert fleet.wait_connected(20) and ready.wait(5)
        door = fleet.agents[0].device_id
        wait_for(lambda: api.get(f"/api/v1/devices/{door}", headers=admin_headers).json().get("online"))
        res = api.post(f"/api/v1/devices/{door}/commands", headers=admin_headers, json={"name": "ping", "args": {}})
        assert res.status_code == 202, res.text
        listener.join(30)
    finally:
        fleet.stop()
    assert [m["state"] for m in seen if m["id"] == res.json()["id"]][-1] == "acked"
