"""Sign-in throttle: failed attempts per username and per client address within a sliding window.

In-process and in memory: one hub process sees all of its sign-ins. Several hub replicas behind a
load balancer would each count on their own (a shared store is a later issue). A restart forgets
the counts, which costs an attacker a restart's worth of attempts at most.

Throttling per username lets anyone lock a known username out for one window by failing on purpose;
the window is short (minutes) and the per-address limit stops one client from doing it to many
users. Both limits are settings (``login_max_failures_per_user``/``_per_address``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureWindow:
    """The last ``limit`` failure times per key. A key is locked while it has ``limit`` failures
    younger than ``window_s``. At most ``max_keys`` keys are kept: the least recently failing one
    is forgotten first, so a flood of made-up usernames costs bounded memory."""

    def __init__(self, *, limit: int, window_s: float, max_keys: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        times = self._fails.get(key)
        if times is None or len(times) < self.limit:
            return None
        wait = times[0] + self.window_s - now
        return wait if wait > 0 else None

    def fail(self, key: str, now: float) -> None:
        times = self._fails.get(key)
        if times is None:
            times = self._fails[key] = deque(maxlen=self.limit)
            while len(self._fails) > self.max_keys:
                self._fails.popitem(last=False)
        else:
            self._fails.move_to_end(key)
        times.append(now)

    def clear(self, key: str) -> None:
        self._fails.pop(key, None)

    def __len__(self) -> int:
        return len(self._fails)


class LoginThrottle:
    def __init__(self, *, per_user: int, per_address: int, window_s: float, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.users = FailureWindow(limit=per_user, window_s=window_s, max_keys=max_keys)
        self.addresses = FailureWindow(limit=per_address, window_s=window_s, max_keys=max_keys)
        self._clock = clock
        self._lock = threading.Lock()

    def refusal(self, *, username: str, address: str | None) -> tuple[str, float] | None:
        """(why, seconds to wait) while this username or address is locked out, else None."""
        now = self._clock()
        with self._lock:
            wait = self.users.retry_after(_user_key(username), now)
            if wait is not None:
                return "too many failed sign-ins for this user", wait
            wait = self.addresses.retry_after(_address_key(address), now)
            if wait is not None:
                return "too many failed sign-ins from this address", wait
        return None

    def failed(self, *, username: str, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            self.users.fail(_user_key(username), now)
            self.addresses.fail(_address_key(address), now)

    def succeeded(self, *, username: str) -> None:
        # The address keeps its count: signing in to one's own account must not reset what that
        # address spent guessing other accounts' passwords.
        with self._lock:
            self.users.clear(_user_key(username))


def _user_key(username: str) -> str:
    return username[:128]


def _address_key(address: str | None) -> str:
    return (address or "unknown")[:128]
