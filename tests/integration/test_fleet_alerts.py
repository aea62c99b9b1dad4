"""Alerts from real devices (door forced open, printer fault, device offline) and from other features
(``Alerts.raise_``): stored, listed, acked/resolved, pushed on the live feed, and delivered to a real
local HTTP receiver as HMAC-signed webhooks, with a retry after a failed attempt."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from firmware_sim.fleet import SimFleet
from hub.api.app import create_app
from hub.runtime import HubRuntime
from hub.services.fleet.webhooks import verify
from protocol.bodies_door import DoorAction, DoorEvent
from tests.fixtures.brokers import MosquittoBroker, free_port, unique_id
from tests.fixtures.hub import login
from tests.support.waiting import wait_for


class Receiver:
    """A webhook endpoint that answers 500 to the first delivery, then 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.received else 200
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LiveTap:
    """Subscribes to the hub's live feed (what SSE clients get) on its own event loop."""

    def __init__(self, rt: HubRuntime) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run(rt)), daemon=True)
        self._thread.start()
        assert self._ready.wait(5)

    async def _run(self, rt: HubRuntime) -> None:
        feed = rt.live.subscribe()
        nxt = asyncio.ensure_future(feed.__anext__())
        await asyncio.sleep(0)
        self._ready.set()
        while not self._stop.is_set():
            done, _ = await asyncio.wait({nxt}, timeout=0.1)
            if done:
                msg = nxt.result()
                self.messages.append((msg.kind, msg.data))
                nxt = asyncio.ensure_future(feed.__anext__())
        nxt.cancel()
        with contextlib.suppress(BaseException):
            await nxt
        await feed.aclose()

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, d in self.messages if k == "alert" and d.get("kind") == kind]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def env(hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker,
        tmp_path: Path) -> Iterator[tuple[HubRuntime, TestClient, dict[str, str], SimFleet, Receiver, LiveTap]]:
    rt = hub_factory(broker_url=mosquitto.url, alert_offline_after_s=1, webhook_retry_base_s=0.2,
                     webhook_allowed_hosts="127.0.0.1")
    receiver = Receiver()
    tap = LiveTap(rt)
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=1, seed=5, workdir=tmp_path / "sim",
                     id_prefix=unique_id("al") + "-", heartbeat_s=2)
    fleet.start()
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", "admin-test-password")
        try:
            for d in fleet.devices:
                wait_for(lambda d=d: api.get(f"/api/v1/devices/{d.device_id}", headers=headers).status_code == 200
                         and api.get(f"/api/v1/devices/{d.device_id}", headers=headers).json()["online"])
            yield rt, api, headers, fleet, receiver, tap
        finally:
            fleet.stop()
            tap.close()
            receiver.close()


def alerts(api: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    res = api.get("/api/v1/alerts", headers=headers, params=params)
    assert res.status_code == 200, res.text
    items: list[dict[str, Any]] = res.json()
    return items


def test_door_forced_open_alert_is_stored_pushed_and_webhooked_with_retry(env: Any) -> None:
    _rt, api, h, fleet, receiver, tap = env
    hook = api.post("/api/v1/webhooks", headers=h, json={"url": receiver.url, "kinds": ["door_forced_open"]})
    assert hook.status_code == 201 and len(hook.json()["secret"]) >= 16
    secret = hook.json()["secret"]
    door = fleet.doors[0]
    door.agent.emit(DoorEvent(action=DoorAction.FORCED_OPEN, door="main", reason="sensor"))

    found = wait_for(lambda: alerts(api, h, kind="door_forced_open", device_id=door.device_id))
    assert found[0]["severity"] == "critical" and found[0]["state"] == "open"
    wait_for(lambda: tap.alerts("door_forced_open"))
    wait_for(lambda: len(receiver.received) >= 2)
    (h1, b1, s1), (h2, b2, s2) = receiver.received[:2]
    assert (s1, s2) == (500, 200) and b1 == b2 and h1["x-officehub-delivery"] == h2["x-officehub-delivery"]
    assert verify(secret, timestamp=h2["x-officehub-timestamp"], body=b2, signature=h2["x-officehub-signature"])
    assert not verify("wrong-secret-wrong", timestamp=h2["x-officehub-timestamp"], body=b2,
                      signature=h2["x-officehub-signature"])
    assert b'"door_forced_open"' in b2 and h2["x-officehub-event"] == "alert.raised"
    deliveries = wait_for(lambda: [d for d in api.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries",
                                                      headers=h).json() if d["state"] == "delivered"])
    assert deliveries[0]["attempts"] == 2 and deliveries[0]["status_code"] == 200

    # Ack, then resolve; resolving twice is a conflict.
    aid = found[0]["id"]
    assert api.post(f"/api/v1/alerts/{aid}/ack", headers=h).json()["state"] == "acked"
    assert api.post(f"/api/v1/alerts/{aid}/resolve", headers=h).json()["state"] == "resolved"
    assert api.post(f"/api/v1/alerts/{aid}/resolve", headers=h).status_code == 409
    assert api.post("/api/v1/alerts/999999/ack", headers=h).status_code == 404


def test_raise_alert_api_dedupes_and_other_sources(env: Any) -> None:
    rt, api, h, fleet, _receiver, _tap = env
    key = unique_id("k")
    first = rt.alerts.raise_(kind="print_quota", severity="info", message="quota almost used",
                        details={"employee": 7}, dedupe_key=key)
    again = rt.alerts.raise_(kind="print_quota", severity="info", message="quota used", dedupe_key=key)
    assert first == again
    one = next(a for a in alerts(api, h, kind="print_quota") if a["id"] == first)
    assert one["count"] == 2 and one["message"] == "quota used" and one["details"]["employee"] == 7
    with pytest.raises(ValueError):
        rt.alerts.raise_(kind="x", severity="apocalyptic", message="no")

    box = fleet.printboxes[0]
    box.printers.items[0].fault("Media empty", state="stopped")
    box.refresh()
    printer = wait_for(lambda: alerts(api, h, kind="printer_error", device_id=box.device_id))
    assert "Media empty" in printer[0]["message"]
    box.printers.items[0].clear()
    box.refresh()
    wait_for(lambda: alerts(api, h, kind="printer_error", device_id=box.device_id)[0]["state"] == "resolved")

    door = fleet.doors[0]
    door.crash()  # no goodbye: the broker fires the Will
    offline = wait_for(lambda: alerts(api, h, kind="device_offline", device_id=door.device_id))
    assert offline[0]["state"] == "open" and "offline" in offline[0]["message"]
    assert len(alerts(api, h, state="active", device_id=door.device_id)) >= 1
