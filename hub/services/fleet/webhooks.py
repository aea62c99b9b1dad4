"""Signed webhooks with retries: one delivery row per (hook, event), delivered concurrently, backoff.

Signature: ``X-OfficeHub-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` with
``X-OfficeHub-Timestamp`` (unix seconds), so receivers can refuse replays of old deliveries.

Delivery runs on one asyncio loop in its own thread. Each hook (target) has at most one request in
flight, in delivery order, and up to ``concurrency`` hooks are served at once, so a slow or dead
receiver delays only its own deliveries. Each attempt (resolve, connect, send, answer) has one
overall deadline, ``timeout_s``. The target is checked against the allow-list at every attempt
(``webhook_targets``); redirects are not followed (they could lead anywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.db.models.fleet import Webhook, WebhookDelivery
from hub.db.session import SessionFactory, transaction
from hub.domain.webhook_targets import AllowList, TargetRefused
from hub.services.failure_log import FailureLog
from hub.services.fleet.webhook_targets import Resolver, resolve_target, system_resolver
from hub.services.keys import ServiceKey

log = logging.getLogger(__name__)

_PER_HOOK_BATCH = 20  # deliveries one hook works through before the scheduler looks again


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(secret: str, *, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time check of a delivery's signature."""
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


@dataclass(frozen=True, slots=True)
class _Job:
    delivery_id: int
    event: str
    payload: dict[str, Any]
    url: str
    secret: str


class WebhookDispatcher:
    def __init__(self, *, sessions: SessionFactory, timeout_s: float, max_attempts: int, retry_base_s: float,
                 allow: AllowList, concurrency: int = 8, resolve: Resolver = system_resolver) -> None:
        self.sessions = sessions
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.allow = allow
        self.concurrency = concurrency
        self.resolve = resolve
        self._stop = threading.Event()
        self._failures = FailureLog(log, "webhook delivery pass")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._busy: dict[int, asyncio.Task[None]] = {}  # hook id -> its delivery task
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="fleet-webhooks",
                                        daemon=True)

    def check_target(self, url: str) -> None:
        """Raise TargetRefused when ``url`` may not receive webhooks (at creation; deliveries check again)."""
        resolve_target(url, allow=self.allow, resolve=self.resolve)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._notify()
        self._thread.join(timeout=self.timeout_s + 5)

    def enqueue(self, event: str, data: dict[str, Any], *, kind: str) -> int:
        """Queue a delivery to every active hook subscribed to ``kind`` (empty list: all kinds)."""
        payload = json.loads(json.dumps({"event": event, "data": data}, default=str))
        n = 0
        with transaction(self.sessions) as s:
            for hook in s.execute(select(Webhook).where(Webhook.active.is_(True))).scalars():
                if hook.kinds and kind not in hook.kinds:
                    continue
                s.add(WebhookDelivery(webhook_id=hook.id, event=event, payload=payload, state="pending",
                                      attempts=0, next_attempt_at=datetime.now(UTC)))
                n += 1
        if n:
            self._notify()
        return n

    def _notify(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(wake.set)

    # --- the delivery loop (its own thread) ---------------------------------------------------

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # No proxy from the environment (the checked address is what is connected to) and no
        # keep-alive: a pooled TLS connection to one address must not serve another host name.
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False,
                                     limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    await self._schedule(client)
                except Exception as exc:
                    self._failures.failed(exc)
                else:
                    self._failures.ok()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.5)
            if self._busy:  # each attempt ends within timeout_s
                await asyncio.wait(list(self._busy.values()), timeout=self.timeout_s)

    async def _schedule(self, client: httpx.AsyncClient) -> None:
        free = self.concurrency - len(self._busy)
        if free <= 0:
            return
        due = await asyncio.to_thread(self._due, frozenset(self._busy))
        for hook_id, jobs in list(due.items())[:free]:
            self._busy[hook_id] = asyncio.create_task(self._deliver_hook(client, hook_id, jobs))

    def _due(self, busy: frozenset[int]) -> dict[int, list[_Job]]:
        """Due deliveries by hook, oldest first, leaving out hooks that are being delivered to."""
        q = (select(WebhookDelivery, Webhook).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
             .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= datetime.now(UTC))
             .order_by(WebhookDelivery.id).limit(500))
        if busy:
            q = q.where(WebhookDelivery.webhook_id.not_in(busy))
        out: dict[int, list[_Job]] = {}
        with self.sessions() as s:
            for d, h in s.execute(q).all():
                jobs = out.setdefault(h.id, [])
                if len(jobs) < _PER_HOOK_BATCH:
                    jobs.append(_Job(d.id, d.event, d.payload, h.url, h.secret))
        return out

    async def _deliver_hook(self, client: httpx.AsyncClient, hook_id: int, jobs: list[_Job]) -> None:
        try:
            for job in jobs:
                if self._stop.is_set():
                    return
                await self._attempt(client, job)
        except Exception:
            log.exception("webhook %s: delivery failed", hook_id)
        finally:
            self._busy.pop(hook_id, None)
            if self._wake is not None:
                self._wake.set()  # its next deliveries may be due

    async def _attempt(self, client: httpx.AsyncClient, job: _Job) -> None:
        body = json.dumps(job.payload, separators=(",", ":")).encode()
        ts = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "OfficeHub-Webhook/1",
                   "X-OfficeHub-Event": job.event, "X-OfficeHub-Delivery": str(job.delivery_id),
                   "X-OfficeHub-Timestamp": str(ts), "X-OfficeHub-Signature": sign(job.secret, ts, body)}
        status: int | None = None
        error: str | None = None
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                target = await asyncio.to_thread(resolve_target, job.url, allow=self.allow, resolve=self.resolve)
                # Streamed and closed unread: only the status matters, whatever the receiver sends.
                async with client.stream("POST", target.url, content=body, timeout=self.timeout_s,
                                         headers={**headers, "Host": target.host_header},
                                         extensions=target.extensions()) as res:
                    status = res.status_code
            if not 200 <= res.status_code < 300:
                error = f"HTTP {res.status_code}"
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"no answer within {self.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(self._record, job, status, error, (time.monotonic() - started) * 1000)

    def _record(self, job: _Job, status: int | None, error: str | None, duration_ms: float) -> None:
        with transaction(self.sessions) as s:
            d = s.get(WebhookDelivery, job.delivery_id)
            if d is None:
                return
            d.attempts += 1
            d.status_code, d.last_error, d.duration_ms = status, error, duration_ms
            if error is None:
                d.state, d.delivered_at = "delivered", datetime.now(UTC)
            elif d.attempts >= self.max_attempts:
                d.state = "failed"
                log.warning("webhook delivery %s to %s failed for good: %s", job.delivery_id, job.url, error)
            else:
                d.next_attempt_at = datetime.now(UTC) + timedelta(
                    seconds=self.retry_base_s * 2 ** (d.attempts - 1))


WEBHOOKS: ServiceKey[WebhookDispatcher] = ServiceKey("webhooks")
