"""The web console: ``/`` serves the single page, ``/console/…`` its static files (no build step).

Files are read from ``hub/web`` (package data). Nothing is fingerprinted, so every response carries an
ETag and ``no-cache``: browsers revalidate (a cheap 304) and never run a stale module after an upgrade.
The CSP keeps the console on its own origin: offices run it on closed networks.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@lru_cache(maxsize=256)
def _load(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    # Keyed on mtime so an edited file is re-read; the ETag is the content hash.
    data = path.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _resolve(rel: str) -> Path:
    root = WEB_ROOT.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in MIME_TYPES:
        raise HTTPException(404, f"no console file {rel!r}")
    return path


def _serve(request: Request, path: Path) -> Response:
    data, etag = _load(path, path.stat().st_mtime_ns)
    headers = {"ETag": etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MIME_TYPES[path.suffix], headers=headers)


@router.get("/")
def index(request: Request) -> Response:
    return _serve(request, _resolve("index.html"))


@router.get("/console")
def console_root() -> RedirectResponse:
    return RedirectResponse("/", status_code=307)


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    return _serve(request, _resolve("img/favicon.svg"))


@router.get("/console/{rel:path}")
def asset(request: Request, rel: str) -> Response:
    return _serve(request, _resolve(rel))
