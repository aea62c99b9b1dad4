"""Logging for a loop that keeps failing (the database is down, say): the first failure with its
traceback, then one line a minute while it lasts, then one when it works again. A loop that polls
every second would otherwise bury the log in identical tracebacks during an outage."""

from __future__ import annotations

import logging
import time

REPEAT_EVERY_S = 60.0


class FailureLog:
    def __init__(self, logger: logging.Logger, what: str, *, repeat_every_s: float = REPEAT_EVERY_S) -> None:
        self.logger = logger
        self.what = what
        self.repeat_every_s = repeat_every_s
        self.failures = 0  # in a row
        self._logged_at = 0.0

    def failed(self, exc: BaseException) -> None:
        """Call from the ``except`` block (the first failure logs the traceback being handled)."""
        self.failures += 1
        now = time.monotonic()
        if self.failures == 1:
            self.logger.exception("%s failed", self.what)
            self._logged_at = now
        elif now - self._logged_at >= self.repeat_every_s:
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            self.logger.error("%s still failing (%d times in a row): %s: %s", self.what, self.failures,
                              exc.__class__.__name__, first)
            self._logged_at = now

    def ok(self) -> None:
        if self.failures:
            self.logger.warning("%s works again after %d failure(s) in a row", self.what, self.failures)
            self.failures = 0
