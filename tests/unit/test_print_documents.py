"""``inspect_pdf`` on large files: it reads the xref and page tree, not the whole document."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject

from hub.services.printing.documents import DocumentError, inspect_pdf, prepare_document


def _pdf(*, pages: int, padding_mb: int = 0, password: str | None = None) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(595, 842)
    if padding_mb:
        blob = DecodedStreamObject()
        blob.set_data(os.urandom(padding_mb * 1024 * 1024))
        w._add_object(blob)  # size without pages, like a scan-heavy document
    if password:
        w.encrypt(user_password=password, owner_password="owner-" + password)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_a_large_pdf_is_inspected_without_loading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(_pdf(pages=3, padding_mb=24))
    tracemalloc.start()
    try:
        info = inspect_pdf(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (info.pages, info.encrypted) == (3, False)
    # Python allocations (deterministic, not a timing): a full read would be ≥ 24 MiB.
    assert peak < 4 * 1024 * 1024, f"inspect_pdf allocated {peak / 1048576:.1f} MiB for a 24 MiB PDF"


def test_encryption_is_still_detected_through_a_file_object(tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(_pdf(pages=2, padding_mb=2, password="secret"))
    assert inspect_pdf(locked).encrypted
    with pytest.raises(DocumentError) as err:
        prepare_document(src=locked, filename="locked.pdf", content_type="application/pdf", dst_dir=tmp_path / "out")
    assert err.value.code == "encrypted_pdf"
    assert list((tmp_path / "out").iterdir()) == []
    # Only an owner password (print restrictions): opens with the empty user password and prints.
    owner_only = tmp_path / "owner.pdf"
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="", owner_password="owner")
    with owner_only.open("wb") as f:
        w.write(f)
    assert inspect_pdf(owner_only).encrypted is False and inspect_pdf(owner_only).pages == 1


def test_a_truncated_pdf_is_refused_as_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n")
    with pytest.raises(DocumentError) as err:
        inspect_pdf(bad)
    assert err.value.code == "corrupt_pdf"
