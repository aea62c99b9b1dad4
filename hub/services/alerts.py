"""Alerts, for every feature: raised, stored (deduplicated), pushed on the live feed and to listeners.

Features reach this through their context (``ctx.alerts.raise_(kind=…, …)``). Repeats of an open
alert (same ``dedupe_key``, default ``kind:device_id``) bump its count instead of flooding the
console and the webhooks. Webhooks are a listener the fleet feature adds (``on_change``), so this
module depends on no feature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select

from hub.db.models.fleet import Alert
from hub.db.session import SessionFactory, transaction
from hub.services.audit import audit
from hub.services.errors import Conflict, NotFound
from hub.services.live import LiveFeed

log = logging.getLogger(__name__)

Severity = Literal["info", "warning", "critical"]
SEVERITIES = ("info", "warning", "critical")
OPEN_STATES = ("open", "acked")

# (event, public alert): event is alert.raised / alert.resolved / alert.acked.
AlertListener = Callable[[str, dict[str, Any]], None]


class AlertError(Conflict, ValueError):
    """An alert change that does not fit (already resolved), or an invalid alert."""


def alert_public(a: Alert) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "severity": a.severity, "device_id": a.device_id,
            "message": a.message, "details": a.details, "state": a.state, "count": a.count,
            "created_at": a.created_at, "last_at": a.last_at, "acked_at": a.acked_at, "acked_by": a.acked_by,
            "resolved_at": a.resolved_at, "resolved_by": a.resolved_by}


class Alerts:
    """The hub's one alert store. Safe from any thread."""

    def __init__(self, *, sessions: SessionFactory, live: LiveFeed) -> None:
        self.sessions = sessions
        self.live = live
        self._listeners: list[AlertListener] = []

    def on_change(self, listener: AlertListener) -> None:
        """Call ``listener`` when an alert is first raised, acked or resolved (not on repeats)."""
        self._listeners.append(listener)

    def raise_(self, *, kind: str, severity: Severity | str = "warning", device_id: str | None = None,
               message: str, details: dict[str, Any] | None = None, dedupe_key: str | None = None) -> int:
        """Record an alert (or bump the open one with the same key), publish it; returns its id."""
        if severity not in SEVERITIES:
            raise AlertError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        if not kind or len(kind) > 48:
            raise AlertError("kind must be 1..48 characters")
        key = dedupe_key or f"{kind}:{device_id or '-'}"
        now = datetime.now(UTC)
        with transaction(self.sessions) as s:
            row = s.execute(select(Alert).where(Alert.dedupe_key == key, Alert.state.in_(OPEN_STATES))
                            .order_by(Alert.id.desc()).limit(1)).scalar_one_or_none()
            fresh = row is None
            if row is None:
                row = Alert(kind=kind, severity=severity, device_id=device_id, message=message,
                            details=details or {}, dedupe_key=key, state="open", count=1, created_at=now,
                            last_at=now)
                s.add(row)
            else:
                row.count, row.last_at, row.message = row.count + 1, now, message
                row.details = {**row.details, **(details or {})}
            s.flush()
            public = alert_public(row)
        self.live.publish("alert", {**public, "repeat": not fresh})
        if fresh:
            self._notify("alert.raised", public)
        return int(public["id"])

    def raise_quietly(self, *, kind: str, severity: Severity | str, device_id: str | None, message: str,
                      details: dict[str, Any] | None = None, dedupe_key: str | None = None) -> None:
        """``raise_`` for handlers whose own work must not fail because an alert could not be stored."""
        try:
            self.raise_(kind=kind, severity=severity, device_id=device_id, message=message, details=details,
                        dedupe_key=dedupe_key)
        except Exception:
            log.exception("could not raise %s alert for %s", kind, device_id)

    def resolve_key(self, dedupe_key: str, *, by: str = "hub") -> int:
        """Resolve open alerts with this key (e.g. the device came back online)."""
        now = datetime.now(UTC)
        with transaction(self.sessions) as s:
            rows = s.execute(select(Alert).where(Alert.dedupe_key == dedupe_key, Alert.state.in_(OPEN_STATES))
                             ).scalars().all()
            for a in rows:
                a.state, a.resolved_at, a.resolved_by = "resolved", now, by
            published = [alert_public(a) for a in rows]
        for pub in published:
            self.live.publish("alert", pub)
            self._notify("alert.resolved", pub)
        return len(published)

    def transition(self, alert_id: int, *, to: Literal["acked", "resolved"], by: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        with transaction(self.sessions) as s:
            a = s.get(Alert, alert_id)
            if a is None:
                raise NotFound(f"no alert {alert_id}")
            if a.state == "resolved":
                raise AlertError(f"alert {alert_id} is already resolved")
            if to == "acked":
                a.state, a.acked_at, a.acked_by = "acked", now, by
            else:
                a.state, a.resolved_at, a.resolved_by = "resolved", now, by
            audit(s, actor=by, action=f"alert.{to}", target_type="alert", target_id=str(alert_id),
                  detail={"kind": a.kind, "device_id": a.device_id})
            s.flush()
            public = alert_public(a)
        self.live.publish("alert", public)
        self._notify(f"alert.{to}", public)
        return public

    def _notify(self, event: str, public: dict[str, Any]) -> None:
        for listener in self._listeners:
            listener(event, public)
