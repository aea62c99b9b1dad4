"""Audit of denied access: failed logins and rejected bearer tokens, aggregated per client.

Each refusal should leave a trace, but an attacker (or a misconfigured script) retrying in a loop must
not be able to fill the audit table. So the first refusal of a (kind, client address) pair in a window
(default 60 s) writes one audit entry at once; further refusals in the same window only bump a counter
in memory, which a timer writes back into that entry (``detail.count``). A flood therefore costs at most
one row per client and kind per window. The number of clients tracked at once is bounded too: past
``max_sources`` every new address is counted under ``(other)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.db.models.core import AuditLog
from hub.db.session import SessionFactory, transaction
from hub.services.audit import audit
from hub.services.context import FeatureContext
from hub.services.keys import ServiceKey, Services

log = logging.getLogger(__name__)

LOGIN_FAILED = "auth.login_failed"
TOKEN_REJECTED = "auth.token_rejected"
LOGIN_THROTTLED = "auth.login_throttled"
OVERFLOW_SOURCE = "(other)"
_MAX_USERNAMES = 5  # names tried from one address, kept per window (enough to spot guessing)


@dataclass
class _Window:
    started: float
    entry_id: int
    first_at: datetime
    reason: str  # the first refusal's reason stands for the window
    count: int = 1
    written: int = 1
    last_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    usernames: list[str] = field(default_factory=list)


class DeniedAccessAudit:
    def __init__(self, *, sessions: SessionFactory, window_s: float = 60.0, max_sources: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.window_s = window_s
        self.max_sources = max_sources
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def record(self, *, action: str, source: str | None, reason: str, username: str | None = None) -> None:
        """Note one refusal; writes an audit entry only for the first one per client and window."""
        now, at = self._clock(), datetime.now(UTC)
        user = username[:64] if username else None
        with self._lock:
            src = (source or "unknown")[:128]
            key = (action, src)
            if key not in self._windows and len(self._windows) >= self.max_sources:
                self._expire(now)
                if len(self._windows) >= self.max_sources:
                    key = (action, OVERFLOW_SOURCE)
            win = self._windows.get(key)
            if win is not None and now - win.started < self.window_s:
                win.count += 1
                win.last_at = at
                if user and user not in win.usernames and len(win.usernames) < _MAX_USERNAMES:
                    win.usernames.append(user)
                return
            if win is not None:
                self._write_back(win, key)  # close the old window with its final count
            # Inserting under the lock keeps one entry per window even when requests race.
            with transaction(self.sessions) as s:
                entry = audit(s, actor="anonymous", action=action, target_type="client", target_id=key[1],
                              detail={})
                win = _Window(started=now, entry_id=0, first_at=at, reason=reason[:200], last_at=at,
                              usernames=[user] if user else [])
                entry.detail = self._detail(win, key)
                s.flush()
                win.entry_id = entry.id
            self._windows[key] = win

    def flush(self) -> None:
        """Write pending counts into their entries and forget windows that ended (timer job)."""
        with self._lock:
            for key, win in list(self._windows.items()):
                if win.count != win.written:
                    self._write_back(win, key)
            self._expire(self._clock())

    # --- internals (called with the lock held) -------------------------------------------------

    def _detail(self, win: _Window, key: tuple[str, str]) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "client": key[1], "count": win.count, "reason": win.reason,
            "window_s": self.window_s, "first_at": win.first_at.isoformat(), "last_at": win.last_at.isoformat(),
        }
        if win.usernames:
            detail["usernames"] = list(win.usernames)
        return detail

    def _write_back(self, win: _Window, key: tuple[str, str]) -> None:
        try:
            with transaction(self.sessions) as s:
                entry = s.get(AuditLog, win.entry_id)
                if entry is not None:
                    entry.detail = self._detail(win, key)
            win.written = win.count
        except Exception:  # the next flush tries again; a lost count must not fail a request
            log.exception("could not update the denied-access audit entry %s", win.entry_id)

    def _expire(self, now: float) -> None:
        for key, win in list(self._windows.items()):
            if now - win.started >= self.window_s and win.count == win.written:
                del self._windows[key]


DENIED_ACCESS: ServiceKey[DeniedAccessAudit] = ServiceKey("auth_audit")


def denied_access(services: Services) -> DeniedAccessAudit:
    """The hub's aggregator (set up by the ``auth`` feature)."""
    return services.get(DENIED_ACCESS)


def note_denied(services: Services, *, action: str, source: str | None, reason: str,
                username: str | None = None) -> None:
    """Record a refusal from a request handler; an audit failure is logged, never turned into a 500."""
    try:
        denied_access(services).record(action=action, source=source, reason=reason, username=username)
    except Exception:
        log.exception("could not audit %s from %s", action, source)


def setup(ctx: FeatureContext) -> None:
    svc = DeniedAccessAudit(sessions=ctx.sessions)
    ctx.services.set(DENIED_ACCESS, svc)
    ctx.timers.every(10, svc.flush, name="auth-audit-flush")
    ctx.on_stop(svc.flush)
