"""Every API route answers bad input with a 4xx and a message, never a 500.

Walks the OpenAPI document of the real app and sends each operation wrong path ids, wrong query
types, junk JSON and junk form bodies, as an admin (so authorisation is not what stops them).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

SKIP_PATHS = {"/api/v1/stream"}  # an endless SSE stream; covered by its own tests
BAD_IDS = ["does-not-exist", "0", "-1", "x" * 300, "%00", "1e309"]
JUNK_JSON: list[Any] = [{}, {"unexpected": True}, [], "text", 12, {"name": None, "args": "nope", "id": [1]}]


def _operations(api: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = api.get("/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        if path in SKIP_PATHS:
            continue
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((method, path, op))
    return ops


def _fill(path: str, value: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, path)


def _check(res: Any, where: str) -> None:
    assert res.status_code < 500, f"{where} → {res.status_code}: {res.text[:500]}"
    if res.status_code >= 400:
        body = res.json()
        assert body.get("detail"), f"{where} → {res.status_code} without a message: {res.text[:300]}"


def test_every_operation_rejects_bad_input_with_a_4xx(api: TestClient, admin_headers: dict[str, str]) -> None:
    ops = _operations(api)
    assert len(ops) > 10
    for method, path, op in ops:
        query_params = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
        for bad in BAD_IDS if "{" in path else [""]:
            url = _fill(path, bad)
            junk_query = {name: "\u2603" * 3 for name in query_params}
            if method in {"get", "delete"}:
                _check(api.request(method.upper(), url, headers=admin_headers, params=junk_query),
                       f"{method.upper()} {url} {junk_query}")
                continue
            for body in JUNK_JSON:
                _check(api.request(method.upper(), url, headers=admin_headers, json=body),
                       f"{method.upper()} {url} json={body!r}")
            _check(api.request(method.upper(), url, headers=admin_headers, data={"junk": "1"},
                               files={"file": ("x.bin", b"\x00\xff" * 10, "application/octet-stream")}),
                   f"{method.upper()} {url} multipart junk")


@pytest.mark.parametrize("header", ["Bearer ", "Bearer a.b.c", "Basic YWRtaW46YWRtaW4=", "Bearer " + "x" * 5000])
def test_forged_credentials_are_401(api: TestClient, header: str) -> None:
    res = api.get("/api/v1/devices", headers={"Authorization": header})
    assert res.status_code == 401 and res.json()["detail"]


def test_what_schemathesis_found_is_refused_with_a_4xx(api: TestClient, admin_headers: dict[str, str]) -> None:
    """Regressions from the first schemathesis run (each was a 500)."""
    h = admin_headers
    emp = api.post("/api/v1/employees", headers=h, json={"employee_no": "ST-1", "name": "Stella"}).json()["id"]
    groups = [api.post("/api/v1/access/groups", headers=h, json={"name": name}).json()["id"] for name in ("a", "b")]
    lone = {**h, "Content-Type": "application/json"}
    cases = [
        (api.patch(f"/api/v1/employees/{emp}", headers=lone, content=b'{"department": "\\udaf5"}'), 422),
        (api.post("/api/v1/access/groups", headers=lone, content=b'{"name": "\\udc47x"}'), 422),
        (api.post("/api/v1/access/groups", headers=h, json={"name": "c", "members": [2**70]}), 422),
        (api.get("/api/v1/employees", headers=h, params={"offset": str(2**78)}), 422),
        (api.get(f"/api/v1/employees/{2**70}", headers=h), 422),
        (api.post("/api/v1/employees", headers=h, json={"employee_no": "ST-\x00", "name": "Nul"}), 422),
        (api.patch(f"/api/v1/employees/{emp}", headers=h, json={"active": None}), 422),  # NOT NULL column
        (api.put(f"/api/v1/access/groups/{groups[1]}", headers=h, json={"name": "a"}), 409),  # name taken
        (api.get("/api/v1/firmware/1/download", params={"expires": 2**40, "sig": "¡N"}), 403),  # non-ASCII sig
    ]
    for res, status in cases:
        assert res.status_code == status, f"{res.request.method} {res.request.url}: {res.status_code} {res.text}"
        assert res.json()["detail"]
    assert api.get(f"/api/v1/employees/{emp}", headers=h).json()["active"] is True
