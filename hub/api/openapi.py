"""The OpenAPI document says what the API really answers when it refuses a request.

FastAPI documents its default 422 body (``detail`` as a list of errors) and nothing else. The hub
answers every error with ``{"detail": …}`` (``hub.api.errors``): a readable message (or, for refused
device config, ``{"message", "issues"}``), plus the raw ``errors`` list on a 422. This module fixes
the document in one place, after FastAPI generated it:

- the ``HTTPValidationError`` component becomes the hub's 422 body;
- every operation documents 401/403 (if it needs a token), 422 (if it takes input), any other 4xx,
  and 503 for API routes (a feature not running, or busy), all with the ``Error`` body;
- error responses a route declared without a body get the ``Error`` body.

A route that declares its own error model keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
_METHODS = ("get", "put", "post", "patch", "delete")

_DETAIL: dict[str, Any] = {
    "title": "Detail",
    "description": "Why the request was refused: a message, or for refused device config a message with the "
                   "individual issues.",
    "anyOf": [
        {"type": "string"},
        {"type": "object", "required": ["message"], "properties": {
            "message": {"type": "string"},
            "issues": {"type": "array", "items": {"type": "string"}}}},
    ],
}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": _DETAIL,
        "code": {"type": "string", "title": "Code", "description": "A machine-readable reason, where there is one"},
    },
}

VALIDATION_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "description": "The request is invalid: ``detail`` says which fields and why (readable); ``errors`` lists "
                   "them one by one (absent when a route refuses the request itself).",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": _DETAIL,
        "errors": {"type": "array", "title": "Errors", "items": {"$ref": "#/components/schemas/ValidationError"}},
    },
}

# (status, description, applies to the operation?)
_Rule = tuple[str, str, Callable[[str, dict[str, Any]], bool]]


def _secured(_: str, op: dict[str, Any]) -> bool:
    return bool(op.get("security"))


def _takes_input(_: str, op: dict[str, Any]) -> bool:
    return bool(op.get("parameters") or op.get("requestBody"))


def _api(path: str, _: dict[str, Any]) -> bool:
    return path.startswith("/api/")


RULES: tuple[_Rule, ...] = (
    ("401", "No valid token: missing, expired, revoked, or its user disabled", _secured),
    ("403", "The caller's role (or employee link) does not allow this", _secured),
    ("422", "The request is invalid (fields, types, sizes, values)", _takes_input),
    ("4XX", "Refused: the detail says why (not found, conflict, too large, too many attempts, ...)",
     lambda *_: True),
    ("503", "A feature this route needs is not running, or is busy: retry later (see Retry-After)", _api),
)


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (FastAPI's generated document) with the hub's error bodies; changed in place."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["HTTPValidationError"] = VALIDATION_SCHEMA
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            for status, description, applies in RULES:
                if status not in responses and applies(path, op):
                    responses[status] = {"description": description}
            for status, response in responses.items():
                if status[0] in "45" and not response.get("content"):
                    response["content"] = _json(VALIDATION_REF if status == "422" else ERROR_REF)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve the corrected document at ``/openapi.json`` (generated once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
