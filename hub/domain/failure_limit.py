"""Fixed-window limits on failures, per key (a client address) and across all keys.

A key that failed ``per_key`` times in its window is refused until the window ends; once
``global_limit`` failures happened across all keys in the global window, everyone is refused until it
ends (a spread-out flood costs a bounded amount of work). Successes are not counted. Memory is bounded:
past ``max_keys`` tracked keys, new keys share one overflow bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

OVERFLOW_KEY = "(other)"


@dataclass(slots=True)
class _Window:
    started: float
    count: int = 0


class FailureLimiter:
    """Not thread-safe: callers serialise (the hub wraps it in a lock)."""

    def __init__(self, *, per_key: int, global_limit: int, window_s: float, max_keys: int = 10_000) -> None:
        if per_key < 1 or global_limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("limits and window must be positive")
        self.per_key = per_key
        self.global_limit = global_limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._keys: dict[str, _Window] = {}
        self._global = _Window(started=float("-inf"))

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until ``key`` may try again, or None when it may try now."""
        waits = [self._wait(self._global, self.global_limit, now)]
        win = self._keys.get(self._key(key))
        if win is not None:
            waits.append(self._wait(win, self.per_key, now))
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def fail(self, key: str, now: float) -> None:
        """Count one failure for ``key`` (and globally)."""
        self._bump(self._global, now)
        if key not in self._keys and len(self._keys) >= self.max_keys:
            self._forget_ended(now)
        win = self._keys.setdefault(self._key(key), _Window(started=now))
        self._bump(win, now)

    def _key(self, key: str) -> str:
        return key if key in self._keys or len(self._keys) < self.max_keys else OVERFLOW_KEY

    def _bump(self, win: _Window, now: float) -> None:
        if now - win.started >= self.window_s:
            win.started, win.count = now, 0
        win.count += 1

    def _wait(self, win: _Window, limit: int, now: float) -> float | None:
        left = win.started + self.window_s - now
        return left if win.count >= limit and left > 0 else None

    def _forget_ended(self, now: float) -> None:
        for k, win in list(self._keys.items()):
            if now - win.started >= self.window_s:
                del self._keys[k]
