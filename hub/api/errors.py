"""App-level error answers: invalid requests (422), data the database cannot hold (422, a safety net
behind the input types of ``hub.api.schemas.types``), every ``ServiceError`` a service raises (its own
status: a busy face engine is a 503 with Retry-After), and the few refusals of the pure domain rules.
Routes do not translate errors by hand: they let these propagate.

Every error body is ``{"detail": …}`` (``hub.api.openapi`` documents that shape for every route).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError

from hub.auth.tokens import LinkRefused
from hub.domain.attendance.corrections import CorrectionError, InvalidTransition, NotAllowed
from hub.domain.rollout_model import RolloutError
from hub.services.errors import ServiceError

log = logging.getLogger(__name__)

# Invalid bodies can be arbitrary bytes (a file posted where JSON was expected): echo them safely.
_SAFE_BYTES = {bytes: lambda b: b[:200].decode("utf-8", "replace")}


def scrub_text(value: str) -> str:
    """``value`` made encodable as UTF-8 (lone surrogates replaced)."""
    return value.encode("utf-8", "replace").decode("utf-8")


def scrub(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8: an echoed input may hold lone surrogates,
    and the response must not fail on what it is refusing."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:10]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
    return scrub_text("; ".join(parts))


def _data_error_cause(exc: Exception) -> Exception:
    # SQLAlchemy wraps what the driver raised (a DBAPI DataError, or an OverflowError while binding).
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, Exception) else exc


def service_error_response(exc: ServiceError) -> JSONResponse:
    headers = None
    if exc.retry_after_s is not None:
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return JSONResponse(status_code=exc.status, content={"detail": scrub(exc.detail), **exc.details},
                        headers=headers)


# Refusals of code that knows no HTTP (hub.domain, hub.auth): the status each answers with, most specific first.
DOMAIN_STATUS: dict[type[Exception], int] = {
    LinkRefused: 403,  # an expired or forged signed download link
    NotAllowed: 403,  # the caller's role may not decide this request
    InvalidTransition: 409,  # already decided
    CorrectionError: 422,
    RolloutError: 422,  # an invalid plan (state conflicts come from the rollout service as 409)
}


def _domain_status(exc: Exception) -> int:
    return next(status for exc_type, status in DOMAIN_STATUS.items() if isinstance(exc, exc_type))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder=_SAFE_BYTES)
        return JSONResponse(status_code=422, content={"detail": validation_message(exc), "errors": scrub(errors)})

    async def unstorable(request: Request, exc: Exception) -> JSONResponse:
        # A value the input types let through but the database (or a conversion on the way) cannot
        # hold: the request is at fault, not the hub. Logged, since it means a type is missing.
        cause = _data_error_cause(exc)
        log.warning("refused %s %s: data the database cannot store: %s: %s", request.method, request.url.path,
                    type(cause).__name__, scrub(str(cause))[:300])
        return JSONResponse(status_code=422, content={
            "detail": f"a value in the request cannot be stored ({type(cause).__name__}): "
                      "check for numbers that are too large and text with control characters"})

    for exc_type in (DataError, OverflowError, UnicodeEncodeError):
        app.add_exception_handler(exc_type, unstorable)

    async def statement_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(_data_error_cause(exc), OverflowError | UnicodeEncodeError):
            return await unstorable(request, exc)
        raise exc  # anything else is a real fault: the server error middleware logs it as one

    # A bind processor's error (a date moved out of range by its offset) arrives wrapped in a StatementError.
    app.add_exception_handler(StatementError, statement_error)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        # Every refusal a service raises (a busy face engine included: 503 with Retry-After).
        return service_error_response(exc)

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=_domain_status(exc), content={"detail": str(exc)})

    for domain_type in DOMAIN_STATUS:
        app.add_exception_handler(domain_type, domain_error)
