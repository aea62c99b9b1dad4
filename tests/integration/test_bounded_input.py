"""Bounded memory where input arrives (issue 9), against a hub running as its own process.

Decompression bombs and oversized forms, sent to print, face and firmware routes one at a time and
all at once: each is refused with a 413/422 whose message names the limit, nothing is stored, and the
hub's peak RSS (kernel high-water mark, reset before each case) grows by less than 100 MB.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject

from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_process import HubProcess
from tests.integration.print_helpers import make_pdf
from tests.support.hostile import multipart_content_type, multipart_stream, palette_png_bomb
from tests.support.memory import rss_growth

MAX_GROWTH_MB = 100
ADMIN_PASSWORD = "admin-test-password"  # HubProcess sets it
MB = 1024 * 1024
FIRMWARE_LIMIT_MB = 16  # small limits for the hub under test: refusing costs the same at any size
FACE_LIMIT_MB = 8


@dataclass
class Hub:
    proc: HubProcess
    api: httpx.Client
    admin: dict[str, str]

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.proc.base_url, timeout=180)


@pytest.fixture(scope="module")
def hub(mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    workdir = tmp_path_factory.mktemp("bounded-hub")
    proc = HubProcess(workdir=workdir, broker_url=mosquitto.url, db_url=f"sqlite:///{workdir / 'hub.db'}",
                      extra_env={"OFFICEHUB_FIRMWARE_MAX_UPLOAD_MB": str(FIRMWARE_LIMIT_MB),
                                 "OFFICEHUB_FACE_MAX_UPLOAD_MB": str(FACE_LIMIT_MB)})
    proc.start()
    api = httpx.Client(base_url=proc.base_url, timeout=180)
    token = api.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert token.status_code == 200, token.text
    try:
        yield Hub(proc=proc, api=api, admin={"Authorization": f"Bearer {token.json()['access_token']}"})
    finally:
        api.close()
        proc.stop()


def _chunked(hub: Hub, client: httpx.Client, path: str,
             parts: Iterator[tuple[str, bytes, str | None]]) -> httpx.Response:
    """POST a multipart body as a generator: httpx sends it chunked, with no Content-Length to go by."""
    return client.post(path, headers={**hub.admin, "Content-Type": multipart_content_type()},
                       content=multipart_stream(parts))


def _field_flood(count: int = 50_000, size: int = 4000) -> Iterator[tuple[str, bytes, str | None]]:
    """200 MB of small fields (each under the old per-field cap of the print upload parser)."""
    return ((f"note{i}", b"x" * size, None) for i in range(count))


def _one_huge_field(name: str, total_mb: int) -> Iterator[tuple[str, bytes, str | None]]:
    yield (name, b"y" * (total_mb * MB), None)


def _firmware(total_mb: int) -> Iterator[tuple[str, bytes, str | None]]:
    yield ("kind", b"door_terminal", None)
    yield ("version", unique_id("fw").encode(), None)
    yield ("file", os.urandom(MB) * total_mb, "firmware.bin")


def _assert_refused(res: httpx.Response, status: int, *words: str) -> None:
    assert res.status_code == status, res.text[:500]
    detail = res.json()["detail"]
    for word in words:
        assert word in detail, detail


def _stored(hub: Hub) -> tuple[list[str], int, int]:
    """Temp files of print uploads, print jobs, firmware artefacts: a refusal must add none."""
    tmp = hub.proc.workdir / "print" / "tmp"
    return (sorted(p.name for p in tmp.iterdir()) if tmp.exists() else [],
            len(hub.api.get("/api/v1/print/jobs", headers=hub.admin).json()["items"]),
            len(hub.api.get("/api/v1/firmware", headers=hub.admin).json()))


def _big_pdf(size_mb: int) -> bytes:
    """One blank page plus an unreferenced stream of random bytes: size without pages to render."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    blob = DecodedStreamObject()
    blob.set_data(os.urandom(size_mb * MB))
    writer._add_object(blob)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_an_image_bomb_is_refused_from_its_header_by_print_and_face_routes(hub: Hub) -> None:
    bomb = palette_png_bomb()
    assert len(bomb) < 30_000  # 21 KB that decode to 13,300 × 13,300 pixels
    before = _stored(hub)
    employee = hub.api.post("/api/v1/employees", headers=hub.admin,
                            json={"employee_no": unique_id("E"), "name": "Bomb Sender"}).json()["id"]
    cases: list[tuple[str, Callable[[], httpx.Response], int, tuple[str, ...]]] = [
        ("print", lambda: hub.api.post("/api/v1/print/jobs", headers=hub.admin,
                                       files={"file": ("poster.png", bomb, "image/png")}),
         413, ("13300x13300", "OFFICEHUB_PRINT_MAX_IMAGE_PIXELS")),
        ("identify", lambda: hub.api.post("/api/v1/recognition/identify", headers=hub.admin,
                                          files={"file": ("face.png", bomb, "image/png")}),
         413, ("too_many_pixels", "13300x13300")),
        ("verify", lambda: hub.api.post("/api/v1/recognition/verify", headers=hub.admin,
                                        files={"file1": ("a.png", bomb, "image/png"),
                                               "file2": ("b.png", bomb, "image/png")}),
         413, ("file1: too_many_pixels",)),
        ("enrolment", lambda: hub.api.post(f"/api/v1/employees/{employee}/faces", headers=hub.admin,
                                           files=[("file", ("face.png", bomb, "image/png"))]),
         413, ("too_many_pixels", "13300x13300")),
    ]
    for name, send, status, words in cases:
        with rss_growth(hub.pid) as growth:
            res = send()
        _assert_refused(res, status, *words)
        assert growth.peak_growth_mb < MAX_GROWTH_MB, f"{name}: {growth}"
        print(f"bomb → {name}: {res.status_code}; {growth}")
    assert _stored(hub) == before


def test_a_remote_checkin_selfie_bomb_is_refused(hub: Hub) -> None:
    employee = hub.api.post("/api/v1/employees", headers=hub.admin,
                            json={"employee_no": unique_id("E"), "name": "Remote Worker"}).json()["id"]
    name = unique_id("remote")
    assert hub.api.post("/api/v1/users", headers=hub.admin, json={
        "username": name, "password": "remote-pass-1", "role": "employee", "employee_id": employee}).status_code == 201
    assert hub.api.post("/api/v1/attendance/locations", headers=hub.admin, json={
        "name": unique_id("office"), "lat": 52.52, "lon": 13.405, "radius_m": 200}).status_code == 201
    token = hub.api.post("/api/v1/auth/token", data={"username": name, "password": "remote-pass-1"}).json()
    with rss_growth(hub.pid) as growth:
        res = hub.api.post("/api/v1/attendance/remote-checkin",
                           headers={"Authorization": f"Bearer {token['access_token']}"},
                           data={"lat": "52.52", "lon": "13.405"},
                           files={"file": ("selfie.png", palette_png_bomb(), "image/png")})
    _assert_refused(res, 422, "too_many_pixels", "13300x13300")
    assert growth.peak_growth_mb < MAX_GROWTH_MB, str(growth)
    print(f"bomb → remote check-in: {res.status_code}; {growth}")


def test_oversized_chunked_forms_are_refused_early(hub: Hub) -> None:
    before = _stored(hub)
    cases: list[tuple[str, str, Iterator[tuple[str, bytes, str | None]], int, tuple[str, ...]]] = [
        # 50,000 fields of 4 KB: the print parser used to keep all 200 MB of them.
        ("print: 200 MB of small fields", "/api/v1/print/jobs", _field_flood(),
         422, ("more than 20 fields", "OFFICEHUB_FORM_MAX_FIELDS")),
        ("print: one 120 MB field", "/api/v1/print/jobs", _one_huge_field("printer", 120),
         413, ("'printer'", "16 KB", "OFFICEHUB_FORM_MAX_FIELD_KB")),
        ("firmware: one 120 MB field", "/api/v1/firmware", _one_huge_field("notes", 120),
         413, ("'notes'", "OFFICEHUB_FORM_MAX_FIELD_KB")),
        ("firmware: 40 files", "/api/v1/firmware",
         ((f"file{i}", b"\x00" * 1000, f"f{i}.bin") for i in range(40)), 422, ("more than 16 files",)),
        ("firmware: 48 MB image", "/api/v1/firmware", _firmware(48),
         413, (f"{FIRMWARE_LIMIT_MB} MB limit for firmware uploads", "OFFICEHUB_FIRMWARE_MAX_UPLOAD_MB")),
        ("identify: 24 MB photo", "/api/v1/recognition/identify", iter([("file", b"\xff" * (24 * MB), "a.jpg")]),
         413, (f"{FACE_LIMIT_MB} MB limit for face photos", "OFFICEHUB_FACE_MAX_UPLOAD_MB")),
        ("enrolment: 1 MB of fields", "/api/v1/employees/1/faces", _field_flood(250),
         422, ("more than 20 fields",)),
    ]
    for name, path, parts, status, words in cases:
        with rss_growth(hub.pid) as growth:
            res = _chunked(hub, hub.api, path, parts)
        _assert_refused(res, status, *words)
        assert growth.peak_growth_mb < MAX_GROWTH_MB, f"{name}: {growth}"
        print(f"{name}: {res.status_code} {res.json()['detail']!r}; {growth}")
    assert _stored(hub) == before


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(hub: Hub) -> None:
    body = b"".join(multipart_stream(_firmware(FIRMWARE_LIMIT_MB + 4)))
    with rss_growth(hub.pid) as growth:
        res = hub.api.post("/api/v1/firmware", headers={**hub.admin, "Content-Type": multipart_content_type()},
                           content=body)
    _assert_refused(res, 413, "firmware uploads", "OFFICEHUB_FIRMWARE_MAX_UPLOAD_MB")
    assert growth.peak_growth_mb < MAX_GROWTH_MB, str(growth)
    # Plain API routes have a small limit of their own.
    res = hub.api.post("/api/v1/employees", headers={**hub.admin, "Content-Type": "application/json"},
                       content=b'{"name": "' + b"z" * (3 * MB) + b'"}')
    _assert_refused(res, 413, "2 MB limit", "OFFICEHUB_HTTP_MAX_BODY_MB")
    assert hub.api.get("/healthz").status_code == 200


def test_many_hostile_uploads_at_once_leave_the_hub_bounded_and_answering(hub: Hub) -> None:
    bomb = palette_png_bomb()
    jobs: list[tuple[str, Callable[[httpx.Client], httpx.Response], int]] = [
        *[(f"print bomb {i}", lambda c: c.post("/api/v1/print/jobs", headers=hub.admin,
                                                files={"file": ("p.png", bomb, "image/png")}), 413) for i in range(2)],
        *[(f"print fields {i}", lambda c: _chunked(hub, c, "/api/v1/print/jobs", _field_flood(25_000)), 422)
          for i in range(2)],
        ("identify bomb", lambda c: c.post("/api/v1/recognition/identify", headers=hub.admin,
                                           files={"file": ("f.png", bomb, "image/png")}), 413),
        ("firmware too big", lambda c: _chunked(hub, c, "/api/v1/firmware", _firmware(32)), 413),
    ]
    results: dict[str, int | str] = {}

    def run(name: str, send: Callable[[httpx.Client], httpx.Response]) -> None:
        try:
            with hub.client() as c:
                results[name] = send(c).status_code
        except Exception as exc:  # reported below with the others
            results[name] = repr(exc)

    threads = [threading.Thread(target=run, args=(name, send)) for name, send, _ in jobs]
    with rss_growth(hub.pid) as growth:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    assert results == {name: status for name, _, status in jobs}
    assert growth.peak_growth_mb < MAX_GROWTH_MB, str(growth)
    print(f"{len(jobs)} hostile uploads at once: {growth}")
    # Still alive and still serving real work.
    assert hub.proc.proc is not None and hub.proc.proc.poll() is None
    assert hub.api.get("/healthz").status_code == 200
    ok = hub.api.post("/api/v1/print/jobs", headers=hub.admin, data={"hold": "true"},
                      files={"file": ("ok.pdf", make_pdf(1), "application/pdf")})
    assert ok.status_code == 201, ok.text
    assert hub.api.delete(f"/api/v1/print/jobs/{ok.json()['id']}", headers=hub.admin).status_code == 200


def test_a_large_pdf_still_streams_to_disk(hub: Hub) -> None:
    """The limits must not cost the print upload its streaming: DESIGN §7, < 50 MB growth."""
    pdf = _big_pdf(60)
    with rss_growth(hub.pid) as growth:
        res = _chunked(hub, hub.api, "/api/v1/print/jobs", iter([("hold", b"true", None), ("file", pdf, "big.pdf")]))
    assert res.status_code == 201, res.text
    assert growth.peak_growth_mb < 50, str(growth)
    print(f"60 MB PDF streamed: {growth}")
    assert hub.api.delete(f"/api/v1/print/jobs/{res.json()['id']}", headers=hub.admin).status_code == 200
