"""The one error type services raise when they refuse a request.

A ``ServiceError`` carries what a caller needs to answer: ``status`` (an HTTP-style status kept as plain
data, so services stay free of HTTP), a stable ``code``, a readable message, optional extra body fields
(``details``) and an optional ``retry_after_s``. ``hub.api.errors`` turns every one into a response in a
single exception handler; MQTT handlers and the demo seeder read the same fields.

Area errors (``PrintRefused``, ``EnrolmentError``, ``ProvisioningError``, …) subclass it and keep their
names and constructor shapes, so callers that catch them (and tests) are unchanged.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status: int = 422
    code: str = "refused"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}
        self.retry_after_s = retry_after_s

    @property
    def detail(self) -> Any:
        """The ``detail`` of the error body: the full text by default (subclasses may add structure)."""
        return str(self)


class NotFound(ServiceError, LookupError):
    """A named thing does not exist (still a ``LookupError`` for callers that catch that)."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The request does not fit the current state (a duplicate, a finished item, a stale version)."""

    status = 409
    code = "conflict"
