"""The API's input types, error answers and error documentation, on small apps (no hub)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError

from hub.api.errors import install_error_handlers
from hub.api.openapi import document_errors, install_openapi
from hub.api.schemas.types import MAX_INT, Finite, Id, JsonObject, Line, NonNegInt, Text


class Body(BaseModel):
    line: Line = "x"
    text: Text = "x"
    ident: Id = 1
    offset: NonNegInt = 0
    ratio: Finite = 0.0
    free: JsonObject = {}


@pytest.mark.parametrize("data", [
    {"line": "a\ud800"}, {"line": "a\nb"}, {"line": "\x00"}, {"text": "\x00"}, {"text": "\udc47"},
    {"ident": 0}, {"ident": MAX_INT + 1}, {"offset": -1}, {"offset": 2**64}, {"ratio": float("inf")},
    {"free": {"a": ["\ud800"]}}, {"free": {"\x00": 1}}, {"free": {"n": 2**70}}, {"free": {"x": float("nan")}},
])
def test_unstorable_values_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Body.model_validate(data)


def test_ordinary_values_pass() -> None:
    body = Body.model_validate({"line": "Zoë — café 🙂", "text": "two\nlines\tand a tab", "ident": MAX_INT,
                                "free": {"nested": [1, 2.5, "ok", None, True]}})
    assert body.ident == MAX_INT and body.text.count("\n") == 1


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo/{n}")
    def echo(n: Id, body: Body) -> dict[str, int]:
        return {"n": n}

    @app.get("/overflow")
    def overflow() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @app.get("/surrogate")
    def surrogate() -> None:
        "\udaf5".encode()

    @app.get("/data-error")
    def data_error() -> None:
        raise DataError("INSERT ...", {}, ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))

    install_openapi(app)
    return app


def test_a_lone_surrogate_in_json_is_a_422_with_a_readable_answer() -> None:
    res = TestClient(_app()).post("/echo/1", content=b'{"line": "x\\udaf5", "text": "\\ud800"}',
                                  headers={"Content-Type": "application/json"})
    assert res.status_code == 422
    body = res.json()
    assert "line: Value error, contains a lone surrogate at position 1" in body["detail"]
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "line"), ("body", "text")}


def test_huge_path_ids_are_a_422() -> None:
    res = TestClient(_app()).post(f"/echo/{2**80}", json={})
    assert res.status_code == 422 and "n:" in res.json()["detail"]


@pytest.mark.parametrize("path", ["/overflow", "/surrogate", "/data-error"])
def test_what_the_database_cannot_store_is_a_422_not_a_500(path: str, caplog: pytest.LogCaptureFixture) -> None:
    res = TestClient(_app(), raise_server_exceptions=False).get(path)
    assert res.status_code == 422, res.text
    assert "cannot be stored" in res.json()["detail"]
    assert any("data the database cannot store" in r.getMessage() for r in caplog.records)


def test_the_document_describes_the_error_bodies_sent() -> None:
    spec = _app().openapi()
    validation = spec["components"]["schemas"]["HTTPValidationError"]
    assert validation["properties"]["detail"]["anyOf"][0] == {"type": "string"}
    responses = spec["paths"]["/echo/{n}"]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"}
    assert responses["4XX"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "401" not in responses  # no security on this app's routes


def test_declared_error_responses_keep_their_own_model() -> None:
    own = {"$ref": "#/components/schemas/Mine"}
    spec = {"paths": {"/x": {"get": {"security": [{"bearer": []}], "responses": {
        "409": {"description": "mine", "content": {"application/json": {"schema": own}}},
        "429": {"description": "throttled"}}}}}}
    responses = document_errors(spec)["paths"]["/x"]["get"]["responses"]
    assert responses["409"]["content"]["application/json"]["schema"] == own
    assert responses["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"401", "403", "4XX"} <= set(responses) and "422" not in responses and "503" not in responses
