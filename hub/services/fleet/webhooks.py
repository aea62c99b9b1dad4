"""Signed webhooks with retries: one delivery row per (hook, event), a sender thread, backoff.

Signature: ``X-OfficeHub-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` with
``X-OfficeHub-Timestamp`` (unix seconds), so receivers can refuse replays of old deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.db.models.fleet import Webhook, WebhookDelivery
from hub.db.session import SessionFactory, transaction

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify(secret: str, *, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): constant-time check of a delivery's signature."""
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class WebhookDispatcher:
    def __init__(self, *, sessions: SessionFactory, timeout_s: float, max_attempts: int,
                 retry_base_s: float) -> None:
        self.sessions = sessions
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
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
            self._wake.set()
        return n

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.deliver_due():
                    pass
            except Exception:
                log.exception("webhook delivery pass failed")

    def deliver_due(self, limit: int = 20) -> int:
        now = datetime.now(UTC)
        with self.sessions() as s:
            rows = s.execute(select(WebhookDelivery, Webhook).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                             .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
                             .order_by(WebhookDelivery.id).limit(limit)).all()
            jobs = [(d.id, d.event, d.payload, h.url, h.secret) for d, h in rows]
        for delivery_id, event, payload, url, secret in jobs:
            self._attempt(delivery_id, event, payload, url, secret)
        return len(jobs)

    def _attempt(self, delivery_id: int, event: str, payload: dict[str, Any], url: str, secret: str) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        ts = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "OfficeHub-Webhook/1",
                   "X-OfficeHub-Event": event, "X-OfficeHub-Delivery": str(delivery_id),
                   "X-OfficeHub-Timestamp": str(ts), "X-OfficeHub-Signature": sign(secret, ts, body)}
        status: int | None = None
        error: str | None = None
        started = time.monotonic()
        try:
            res = httpx.post(url, content=body, headers=headers, timeout=self.timeout_s)
            status = res.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with transaction(self.sessions) as s:
            d = s.get(WebhookDelivery, delivery_id)
            if d is None:
                return
            d.attempts += 1
            d.status_code, d.last_error = status, error
            d.duration_ms = (time.monotonic() - started) * 1000
            if error is None:
                d.state, d.delivered_at = "delivered", datetime.now(UTC)
            elif d.attempts >= self.max_attempts:
                d.state = "failed"
                log.warning("webhook delivery %s to %s failed for good: %s", delivery_id, url, error)
            else:
                d.next_attempt_at = datetime.now(UTC) + timedelta(
                    seconds=self.retry_base_s * 2 ** (d.attempts - 1))
