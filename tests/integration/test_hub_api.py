"""The hub's API against a real runtime: auth, device registry fed by a simulated fleet, events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from devices.runtime.transport import parse_broker_url
from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from hub.db.models.core import Device
from hub.db.session import transaction
from hub.runtime import HubRuntime
from protocol import topics
from protocol.payloads import CommandAck, CommandAckStatus
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


def test_a_late_ack_replaces_what_the_hub_assumed(hub: HubRuntime, mosquitto: MosquittoBroker,
                                                  tmp_path: Path) -> None:
    """The hub gave up on an open_door (expired while the relay call hung); the door then did open and
    acked. The record must say acked (it happened), not "expired before the device acked"."""
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=2, workdir=tmp_path / "sim",
                     id_prefix=unique_id("late") + "-")
    door = fleet.doors[0]
    relay_free, relay_called = threading.Event(), threading.Event()
    real_open = door.lock.open

    def slow_open(duration_s: float) -> None:
        relay_called.set()
        relay_free.wait(30)
        real_open(duration_s)

    door.lock.open = slow_open  # type: ignore[method-assign]
    fleet.start()
    try:
        assert fleet.wait_connected(20)

        def online() -> bool:
            with hub.sessions() as s:
                d = s.get(Device, door.device_id)
                return d is not None and d.online

        wait_for(online, what="door online at the hub")
        cmd = hub.commands.send(device_id=door.device_id, name="open_door", args={"duration_s": 2}, ttl_s=60)
        assert relay_called.wait(20)
        hub.commands.sweep(now=datetime.now(UTC) + timedelta(seconds=120))
        assert (gave_up := hub.commands.get(cmd.id)) is not None and gave_up.state == "expired"
        relay_free.set()
        done = wait_for(lambda: (c := hub.commands.get(cmd.id)) is not None and c.state == "acked" and c,
                        what="the late ack recorded")
        assert done.error is None and done.result["opened_for_s"] == 2
    finally:
        relay_free.set()
        fleet.stop()


def test_canceling_a_command_that_had_been_sent_says_it_may_have_run(hub: HubRuntime,
                                                                     mosquitto: MosquittoBroker) -> None:
    """A command went out, its device vanished before acking (back to pending), then what asked for it
    withdrew it. The record must not claim the device never got it; the device's ack, when it comes,
    is what happened."""
    did = unique_id("gone")
    with transaction(hub.sessions) as s:
        s.add(Device(id=did, kind="door_terminal", capabilities=[], online=True, revoked=False, reported_state={}))
    cmd = hub.commands.send(device_id=did, name="ping", args={"echo": did}, ttl_s=3600, ack_timeout_s=5)
    assert (sent := hub.commands.get(cmd.id)) is not None and sent.state == "sent"
    with transaction(hub.sessions) as s:
        dev = s.get(Device, did)
        assert dev is not None
        dev.online = False
    hub.commands.sweep(now=datetime.now(UTC) + timedelta(seconds=10))
    assert (waiting := hub.commands.get(cmd.id)) is not None and waiting.state == "pending"

    assert hub.commands.cancel_pending(name="ping", where=lambda a: a.get("echo") == did, reason="withdrawn") == 1
    canceled = hub.commands.get(cmd.id)
    assert canceled is not None and canceled.state == "canceled"
    assert "sent 1x without an ack" in (canceled.error or "") and "may have run it" in (canceled.error or "")

    addr = parse_broker_url(mosquitto.url)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_id("dev"))
    device.connect(addr.host, addr.port)
    device.loop_start()
    try:
        ack = CommandAck(command_id=cmd.id, status=CommandAckStatus.OK, result={"pong": True})
        device.publish(topics.command_ack(did), ack.to_bytes(), qos=1).wait_for_publish(10)
        done = wait_for(lambda: (c := hub.commands.get(cmd.id)) is not None and c.state == "acked" and c,
                        what="the device's ack recorded")
        assert done.result == {"pong": True} and done.error is None
    finally:
        device.disconnect()
        device.loop_stop()
