"""Request limits on a tiny ASGI app: body counting, the multipart guard, and refusals that win over
whatever the app made of a cut-off body."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.api.form_guard import FormGuard, FormRejected, FormRules
from hub.api.limits import UPLOAD_ROUTES, BodyLimit, RequestLimitMiddleware, RequestLimits
from hub.settings import Settings
from tests.support.hostile import multipart_content_type, multipart_stream

RULES = FormRules(max_fields=3, max_files=2, max_field_bytes=100)


def _feed(parts: list[tuple[str, bytes, str | None]], chunk: int = 7) -> FormGuard:
    guard = FormGuard.for_content_type(multipart_content_type(), RULES)
    assert guard is not None
    body = b"".join(multipart_stream(iter(parts)))
    for i in range(0, len(body), chunk):  # small chunks: parts cross chunk boundaries
        guard.feed(body[i:i + chunk])
    return guard


def test_guard_counts_fields_and_files() -> None:
    guard = _feed([("a", b"1", None), ("b", b"2", None), ("f", b"x" * 5000, "f.bin")])
    assert (guard.fields, guard.files) == (2, 1)  # file data is not a field, whatever its size
    with pytest.raises(FormRejected) as info:
        _feed([(f"n{i}", b"v", None) for i in range(4)])
    assert info.value.status == 422 and "more than 3 fields" in info.value.message
    with pytest.raises(FormRejected) as info:
        _feed([(f"f{i}", b"v", f"{i}.bin") for i in range(3)])
    assert info.value.status == 422 and "more than 2 files" in info.value.message


def test_guard_refuses_a_large_field_by_name() -> None:
    with pytest.raises(FormRejected) as info:
        _feed([("notes", b"z" * 101, None)])
    assert info.value.status == 413 and "'notes'" in info.value.message
    assert "FORM_MAX_FIELD_KB" in info.value.message


def test_guard_leaves_other_bodies_and_broken_multipart_alone() -> None:
    assert FormGuard.for_content_type("application/json", RULES) is None
    assert FormGuard.for_content_type("multipart/form-data", RULES) is None  # no boundary
    guard = FormGuard.for_content_type(multipart_content_type(), RULES)
    assert guard is not None
    guard.feed(b"this is not multipart at all\r\n" * 1000)  # the route's parser answers for it


async def _echo_size(request: Request) -> JSONResponse:
    try:
        n = sum([len(chunk) async for chunk in request.stream()])
    except Exception:  # a route that swallows the refusal and answers something else
        return JSONResponse({"detail": "could not read"}, status_code=400)
    return JSONResponse({"size": n})


@pytest.fixture
def client() -> Iterator[TestClient]:
    limits = RequestLimits(
        default=BodyLimit(max_bytes=1000, what="this request", setting="http_max_body_mb", limit_mb=0.001),
        routes=((re.compile("^/upload$"),
                 BodyLimit(max_bytes=50_000, what="uploads", setting="print_max_upload_mb", limit_mb=0.05)),),
        form=RULES)
    app = Starlette(routes=[Route("/small", _echo_size, methods=["POST"]),
                            Route("/upload", _echo_size, methods=["POST"])])
    with TestClient(RequestLimitMiddleware(app, limits=limits)) as c:
        yield c


def test_bodies_are_limited_per_route(client: TestClient) -> None:
    assert client.post("/small", content=b"x" * 1000).json() == {"size": 1000}
    res = client.post("/small", content=b"x" * 1001)  # declared length: refused before reading
    assert res.status_code == 413 and "OFFICEHUB_HTTP_MAX_BODY_MB" in res.json()["detail"]
    assert client.post("/upload", content=b"x" * 40_000).json() == {"size": 40_000}


def test_a_chunked_body_is_refused_where_it_crosses_the_limit(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    res = client.post("/upload", content=body())
    # The route swallowed the error and answered 400; the refusal is what the client gets.
    assert res.status_code == 413, res.text
    assert res.json()["detail"] == ("the request is larger than the 0.05 MB limit for uploads "
                                    "(setting OFFICEHUB_PRINT_MAX_UPLOAD_MB)")


def test_a_form_over_the_rules_is_refused_while_it_streams(client: TestClient) -> None:
    parts = iter([(f"f{i}", b"v", None) for i in range(10)])
    res = client.post("/upload", content=multipart_stream(parts),
                      headers={"Content-Type": multipart_content_type()})
    assert res.status_code == 422 and "more than 3 fields" in res.json()["detail"]


def test_every_upload_route_limit_comes_from_a_setting() -> None:
    fields = set(Settings.model_fields)
    assert {setting for _, setting in UPLOAD_ROUTES.values()} <= fields
    with pytest.raises(RuntimeError, match="routes the app does not have"):
        RequestLimits.from_settings(Settings(mode="demo"), route_paths=["/api/v1/print/jobs"])
