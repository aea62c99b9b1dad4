"""Request size limits, enforced as the bytes arrive, so no request makes the hub hold more than its
route allows, whatever the client declares and however it frames the body.

- Every request body is counted in ``receive``: a Content-Length over the limit is refused before a
  byte is read, a chunked body at the chunk that crosses it (413).
- Multipart forms are checked part by part while they stream (``form_guard``): number of fields and
  files (422), size of each plain field (413).

Upload routes get their own limit (``UPLOAD_ROUTES``); every other route gets ``http_max_body_mb``.
Refusals are JSON ``{"detail": …}`` naming the limit and the setting that raises it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.form_guard import FormGuard, FormRejected, FormRules
from hub.settings import Settings

log = logging.getLogger(__name__)

_MB = 1024 * 1024
# Room for the form fields and part headers around an upload's file, so a file of exactly the
# configured size still fits in its request.
FORM_ALLOWANCE = _MB

# Route path as declared → (what it carries, the Settings field holding its limit in MB).
UPLOAD_ROUTES: dict[str, tuple[str, str]] = {
    "/api/v1/print/jobs": ("print uploads", "print_max_upload_mb"),
    "/api/v1/firmware": ("firmware uploads", "firmware_max_upload_mb"),
    "/api/v1/employees/{employee_id}/faces": ("face photos", "face_max_upload_mb"),
    "/api/v1/recognition/identify": ("face photos", "face_max_upload_mb"),
    "/api/v1/recognition/verify": ("face photos", "face_max_upload_mb"),
    "/api/v1/attendance/remote-checkin": ("face photos", "face_max_upload_mb"),
    "/api/v1/print/release-stations/{terminal_id}/face": ("face photos", "face_max_upload_mb"),
}


class RequestRejected(HTTPException):
    """A request refused for its size or shape. An HTTPException, so FastAPI's body reading passes it
    on as it is instead of turning it into a 400 "error parsing the body"."""


@dataclass(frozen=True, slots=True)
class BodyLimit:
    max_bytes: int
    what: str
    setting: str
    limit_mb: float  # as configured (max_bytes may add the form allowance)

    def message(self) -> str:
        return (f"the request is larger than the {self.limit_mb:g} MB limit for {self.what} "
                f"(setting OFFICEHUB_{self.setting.upper()})")


@dataclass(frozen=True, slots=True)
class RequestLimits:
    default: BodyLimit
    routes: tuple[tuple[re.Pattern[str], BodyLimit], ...]
    form: FormRules

    @classmethod
    def from_settings(cls, settings: Settings, *, route_paths: Iterable[str]) -> RequestLimits:
        """Limits for an app serving ``route_paths``; a missing upload route fails here, at startup,
        rather than leaving a renamed route on the small default limit."""
        missing = sorted(set(UPLOAD_ROUTES) - set(route_paths))
        if missing:
            raise RuntimeError(f"upload limits name routes the app does not have: {', '.join(missing)}")
        routes = []
        for path, (what, setting) in UPLOAD_ROUTES.items():
            mb = float(getattr(settings, setting))
            routes.append((compile_path(path)[0],
                           BodyLimit(max_bytes=int(mb * _MB) + FORM_ALLOWANCE, what=what, setting=setting,
                                     limit_mb=mb)))
        default = BodyLimit(max_bytes=int(settings.http_max_body_mb * _MB), what="this request",
                            setting="http_max_body_mb", limit_mb=settings.http_max_body_mb)
        return cls(default=default, routes=tuple(routes), form=form_rules(settings))

    def body_limit(self, path: str) -> BodyLimit:
        for pattern, limit in self.routes:
            if pattern.match(path):
                return limit
        return self.default


def form_rules(settings: Settings) -> FormRules:
    return FormRules(max_fields=settings.form_max_fields, max_files=settings.form_max_files,
                     max_field_bytes=int(settings.form_max_field_kb * 1024))


class _Watch:
    """One request's body as the app reads it: counted, form-checked, and refused at the first excess."""

    def __init__(self, limit: BodyLimit, guard: FormGuard | None, receive: Receive, send: Send) -> None:
        self.limit, self.guard = limit, guard
        self._receive, self._send = receive, send
        self.seen = 0
        self.rejected: RequestRejected | None = None
        self.started = False

    async def receive(self) -> Message:
        if self.rejected is not None:
            raise self.rejected
        message = await self._receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            self.seen += len(chunk)
            try:
                if self.seen > self.limit.max_bytes:
                    raise RequestRejected(413, self.limit.message())
                if self.guard is not None:
                    self.guard.feed(chunk)
            except FormRejected as exc:
                self.rejected = RequestRejected(exc.status, exc.message)
                raise self.rejected from exc
            except RequestRejected as exc:
                self.rejected = exc
                raise
        return message

    async def send(self, message: Message) -> None:
        if self.rejected is not None and not self.started:
            return  # whatever the app made of a cut-off body; the refusal goes out instead
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class RequestLimitMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streamed uploads stay streamed."""

    def __init__(self, app: ASGIApp, *, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await self._refuse(scope, receive, send, RequestRejected(413, limit.message()))
            return
        watch = _Watch(limit, FormGuard.for_content_type(headers.get("content-type"), self.limits.form),
                       receive, send)
        try:
            await self.app(scope, watch.receive, watch.send)
        except Exception:
            # The app may wrap the refusal (a task group, its own parser's error): once the body was
            # refused, that refusal is the answer.
            if watch.rejected is None or watch.started:
                raise
        if watch.rejected is not None and not watch.started:
            await self._refuse(scope, receive, send, watch.rejected)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: RequestRejected) -> None:
        log.info("refused %s %s: %s %s", scope.get("method"), scope.get("path"), exc.status_code, exc.detail)
        # Connection: close, so the server does not read on through a body nobody will use.
        response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers={"Connection": "close"})
        await response(scope, receive, send)
