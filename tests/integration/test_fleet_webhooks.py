"""Webhook targets and delivery against a real hub and real local HTTP receivers (127.0.0.1 only):
internal addresses refused at creation and again at delivery, concurrent delivery to different
targets, and a per-target deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.runtime import HubRuntime
from hub.services.fleet.webhooks import WEBHOOKS
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


class Receiver:
    """A local webhook endpoint. ``blocking`` ones hold every request until ``release()``; ``trickle``
    ones answer 200 one byte at a time, each byte well within the deadline, the whole far beyond it."""

    def __init__(self, *, blocking: bool = False, trickle: bool = False) -> None:
        self.received: list[bytes] = []
        self.entered = threading.Event()  # a request arrived (a blocking one is now held)
        self.gate = threading.Event()
        self.dropped = threading.Event()  # the hub hung up on a trickling answer
        if not blocking:
            self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.entered.set()
                receiver.gate.wait(60)
                receiver.received.append(body)
                if trickle:
                    self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    return
                self.send_response(200)
                self.end_headers()

            def _trickle(self, answer: bytes) -> None:
                for i in range(len(answer)):
                    try:
                        self.wfile.write(answer[i:i + 1])
                        self.wfile.flush()
                    except OSError:
                        receiver.dropped.set()
                        return
                    time.sleep(0.2)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/hook"

    def release(self) -> None:
        self.gate.set()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kw: Any) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def site(hub_factory: Callable[..., HubRuntime],
         mosquitto: MosquittoBroker) -> Iterator[Callable[..., tuple[HubRuntime, TestClient, dict[str, str]]]]:
    clients: list[TestClient] = []

    def make(**settings: Any) -> tuple[HubRuntime, TestClient, dict[str, str]]:
        rt = hub_factory(broker_url=mosquitto.url, **settings)
        client = TestClient(create_app(runtime=rt)).__enter__()
        clients.append(client)
        return rt, client, login(client, "admin", ADMIN_PASSWORD)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def deliveries(api: TestClient, h: dict[str, str], hook_id: int) -> list[dict[str, Any]]:
    res = api.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=h)
    assert res.status_code == 200, res.text
    out: list[dict[str, Any]] = res.json()
    return out


def test_internal_targets_are_refused_at_creation(site: Any) -> None:
    _, api, h = site()
    for url, kind in (("http://127.0.0.1:9/hook", "loopback"), ("http://localhost:9/hook", "loopback"),
                      ("http://169.254.169.254/latest/meta-data", "link-local"),
                      ("http://10.1.2.3/hook", "private"), ("http://[::1]:9/hook", "loopback")):
        res = api.post("/api/v1/webhooks", headers=h, json={"url": url})
        assert res.status_code == 422, (url, res.text)
        detail = res.json()["detail"]
        assert f"{kind} address" in detail and "OFFICEHUB_WEBHOOK_ALLOWED_HOSTS" in detail, detail
    res = api.post("/api/v1/webhooks", headers=h, json={"url": "http://no-such-host.invalid/hook"})
    assert res.status_code == 422 and "cannot resolve" in res.json()["detail"]
    assert api.get("/api/v1/webhooks", headers=h).json() == []


def test_allowed_internal_targets_are_accepted(site: Any, receivers: Callable[..., Receiver]) -> None:
    _, api, h = site(webhook_allowed_hosts="127.0.0.0/8, hooks.lan")
    r = receivers()
    assert api.post("/api/v1/webhooks", headers=h, json={"url": r.url()}).status_code == 201
    assert api.post("/api/v1/webhooks", headers=h, json={"url": "http://10.1.2.3/hook"}).status_code == 422


def test_delivery_checks_the_address_again(site: Any, receivers: Callable[..., Receiver]) -> None:
    """A name that resolved to a public address when the hook was created and to loopback now (DNS
    rebinding) gets nothing: the request is refused before any connection."""
    rt, api, h = site()
    r = receivers()
    dispatcher = rt.services.get(WEBHOOKS)
    answers = {"rebind.test": ["93.184.216.34"]}
    dispatcher.resolve = lambda host, port: answers[host]
    hook = api.post("/api/v1/webhooks", headers=h, json={"url": r.url("rebind.test")})
    assert hook.status_code == 201, hook.text
    answers["rebind.test"] = ["127.0.0.1"]  # where the receiver listens
    rt.alerts.raise_(kind="test_rebind", severity="info", message="hello", dedupe_key=unique_id("k"))
    tried = wait_for(lambda: [d for d in deliveries(api, h, hook.json()["id"]) if d["attempts"] >= 1])
    assert "refused" in tried[0]["last_error"] and "loopback" in tried[0]["last_error"]
    assert tried[0]["status_code"] is None and r.received == [] and not r.entered.is_set()


def test_a_slow_target_does_not_delay_another(site: Any, receivers: Callable[..., Receiver]) -> None:
    rt, api, h = site(webhook_allowed_hosts="127.0.0.1", webhook_timeout_s=60)
    slow, fast = receivers(blocking=True), receivers()
    slow_hook = api.post("/api/v1/webhooks", headers=h, json={"url": slow.url()}).json()
    fast_hook = api.post("/api/v1/webhooks", headers=h, json={"url": fast.url()}).json()
    rt.alerts.raise_(kind="test_slow", severity="info", message="first", dedupe_key=unique_id("k"))
    assert slow.entered.wait(30), "the slow target never got its delivery"
    # The slow receiver holds its request; the fast one is served meanwhile, more than once.
    rt.alerts.raise_(kind="test_slow", severity="info", message="second", dedupe_key=unique_id("k"))
    wait_for(lambda: len(fast.received) == 2, what="fast target served while the slow one is held")
    assert slow.received == [] and not slow.gate.is_set()
    assert [d["state"] for d in deliveries(api, h, fast_hook["id"])] == ["delivered", "delivered"]
    slow.release()
    wait_for(lambda: [d["state"] for d in deliveries(api, h, slow_hook["id"])] == ["delivered", "delivered"],
             what="slow target caught up, in order")
    assert [b"first" in b for b in slow.received] == [True, False]


def test_each_attempt_has_one_overall_deadline(site: Any, receivers: Callable[..., Receiver]) -> None:
    """A receiver that never answers, and one that answers a byte at a time (every read quick, the
    answer endless), both end as a timed-out attempt to retry, not a delivery."""
    rt, api, h = site(webhook_allowed_hosts="127.0.0.1", webhook_timeout_s=0.5, webhook_retry_base_s=60)
    stuck, trickling = receivers(blocking=True), receivers(trickle=True)
    hooks = [api.post("/api/v1/webhooks", headers=h, json={"url": r.url()}).json() for r in (trickling, stuck)]
    rt.alerts.raise_(kind="test_stuck", severity="info", message="hello", dedupe_key=unique_id("k"))
    for hook in hooks:  # the trickling one first: a per-read timeout alone would let it through
        tried = wait_for(lambda hook=hook: [d for d in deliveries(api, h, hook["id"]) if d["attempts"] >= 1])
        assert tried[0]["state"] == "pending" and tried[0]["last_error"] == "no answer within 0.5 s", tried
    assert stuck.entered.is_set() and stuck.received == []
    wait_for(trickling.dropped.is_set, what="the hub hung up on the trickling answer")
