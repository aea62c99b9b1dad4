"""prepare_document on real files: reportlab PDFs, Pillow images, broken and hostile uploads."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from hub.services.printing import documents
from hub.services.printing.documents import DocumentError, inspect_pdf, prepare_document
from tests.support.hostile import palette_png_bomb


def make_pdf(path: Path, pages: int) -> Path:
    c = canvas.Canvas(str(path))
    for i in range(pages):
        c.drawString(72, 720, f"page {i + 1}")
        c.showPage()
    c.save()
    return path


def encrypt(src: Path, dst: Path, *, user_password: str, owner_password: str = "owner") -> Path:
    writer = PdfWriter(clone_from=str(src))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    with dst.open("wb") as f:
        writer.write(f)
    return dst


def prep(src: Path, out: Path, filename: str | None = None, content_type: str | None = None
         ) -> documents.PreparedDocument:
    return prepare_document(src=src, filename=filename or src.name, content_type=content_type, dst_dir=out)


def test_pdf_is_stored_as_is(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "report.pdf", 3)
    doc = prep(src, tmp_path / "store", content_type="application/pdf")
    assert doc.pages == 3
    assert doc.path.parent == tmp_path / "store"
    assert doc.path.read_bytes() == src.read_bytes()
    assert doc.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert doc.size == src.stat().st_size
    assert (doc.original_name, doc.mime) == ("report.pdf", "application/pdf")
    assert inspect_pdf(src) == documents.PdfInfo(pages=3, encrypted=False)


def test_pdf_with_leading_junk_and_a_path_in_its_name(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "x.pdf", 1)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\r\n" + src.read_bytes())
    doc = prep(junk, tmp_path / "store", filename="..\\..\\etc/secret\x07.pdf")
    assert doc.pages == 1
    assert doc.original_name == "secret.pdf"


@pytest.mark.parametrize(("fmt", "mode", "mime"), [
    ("PNG", "RGBA", "image/png"), ("JPEG", "RGB", "image/jpeg"), ("PNG", "P", "image/png")])
def test_images_become_one_page_pdfs(tmp_path: Path, fmt: str, mode: str, mime: str) -> None:
    src = tmp_path / f"photo.{fmt.lower()}"
    Image.new(mode, (1200, 800), 1 if mode == "P" else "red").save(src, fmt)
    doc = prep(src, tmp_path / "store")
    assert (doc.pages, doc.mime) == (1, mime)
    reader = PdfReader(doc.path)
    box = reader.pages[0].mediabox
    assert float(box.width) <= 8.27 * 72 + 1 and float(box.height) <= 11.69 * 72 + 1
    assert doc.sha256 == hashlib.sha256(doc.path.read_bytes()).hexdigest()


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(tmp_path: Path) -> None:
    # 21 KB on disk, 13,300×13,300 declared: refused before a pixel is decoded.
    src = tmp_path / "bomb.png"
    src.write_bytes(palette_png_bomb())
    store = tmp_path / "store"
    with pytest.raises(DocumentError) as info:
        prep(src, store)
    assert info.value.code == "image_too_large"
    assert "13300x13300" in info.value.message and "OFFICEHUB_PRINT_MAX_IMAGE_PIXELS" in info.value.message
    assert not store.exists() or list(store.iterdir()) == []
    # The cap is a parameter (the hub passes print_max_image_pixels).
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (2000, 1500), "blue").save(photo, "JPEG")
    with pytest.raises(DocumentError) as info:
        prepare_document(src=photo, filename="photo.jpg", content_type=None, dst_dir=store,
                         max_image_pixels=2_999_999)
    assert info.value.code == "image_too_large"
    assert prepare_document(src=photo, filename="photo.jpg", content_type=None, dst_dir=store,
                            max_image_pixels=3_000_000).pages == 1


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_images_print_on_white(tmp_path: Path, mode: str) -> None:
    src = tmp_path / "logo.png"
    if mode == "P":
        im = Image.new("P", (300, 200), 0)
        im.putpalette([0, 0, 0, 255, 0, 0])
        im.info["transparency"] = 0
        im.paste(1, (100, 50, 200, 150))
        im.save(src, "PNG", transparency=0)
    else:
        im = Image.new(mode, (300, 200), (0, 0) if mode == "LA" else (0, 0, 0, 0))
        im.paste((200, 255) if mode == "LA" else (255, 0, 0, 255), (100, 50, 200, 150))
        im.save(src, "PNG")
    doc = prep(src, tmp_path / "store")
    page = PdfReader(doc.path).pages[0].images[0].image
    assert page is not None
    rgb = page.convert("RGB")
    assert min(rgb.getpixel((5, 5))) > 240  # transparent corner → white paper, not black
    assert rgb.getpixel((150, 100)) != rgb.getpixel((5, 5))  # the opaque part is still there


@pytest.mark.parametrize(("name", "content", "code"), [
    ("empty.pdf", b"", "empty"),
    ("notes.pdf", b"this is just text, honest\n" * 20, "not_a_pdf"),
    ("notes.txt", b"plain text\n", "unsupported_type"),
    ("script.sh", b"#!/bin/sh\nrm -rf /\n", "unsupported_type"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage garbage\n", "corrupt_pdf"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt_image"),
    ("fake.docx", b"plain text posing as Word", "unsupported_type"),
])
def test_bad_uploads_get_clear_errors(tmp_path: Path, name: str, content: bytes, code: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    store = tmp_path / "store"
    with pytest.raises(DocumentError) as info:
        prep(src, store)
    assert info.value.code == code
    assert info.value.message
    assert not store.exists() or list(store.iterdir()) == []  # nothing half-written left behind


def test_text_sent_as_pdf_content_type(tmp_path: Path) -> None:
    src = tmp_path / "upload"
    src.write_bytes(b"hello")
    with pytest.raises(DocumentError) as info:
        prep(src, tmp_path / "store", content_type="application/pdf")
    assert info.value.code == "not_a_pdf"


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    enc = encrypt(make_pdf(tmp_path / "a.pdf", 2), tmp_path / "locked.pdf", user_password="s3cret")
    assert inspect_pdf(enc).encrypted is True
    with pytest.raises(DocumentError) as info:
        prep(enc, tmp_path / "store")
    assert info.value.code == "encrypted_pdf"
    assert "password" in info.value.message


def test_owner_only_restricted_pdf_still_prints(tmp_path: Path) -> None:
    enc = encrypt(make_pdf(tmp_path / "a.pdf", 2), tmp_path / "restricted.pdf", user_password="")
    assert inspect_pdf(enc).encrypted is False
    assert prep(enc, tmp_path / "store").pages == 2


def _minimal_docx(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    path.write_bytes(buf.getvalue())
    return path


def test_office_without_libreoffice_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hide any installed LibreOffice by running with an empty PATH, the real situation on a bare hub.
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    src = _minimal_docx(tmp_path / "letter.docx")
    with pytest.raises(DocumentError) as info:
        prep(src, tmp_path / "store")
    assert info.value.code == "office_conversion_unavailable"
    assert "LibreOffice" in info.value.message
    assert list((tmp_path / "store").iterdir()) == []


@pytest.mark.may_skip  # LibreOffice is optional on a hub (and big): make test does not install it
@pytest.mark.skipif(documents.office_converter() is None, reason="LibreOffice is not installed here")
def test_office_conversion_with_libreoffice(tmp_path: Path) -> None:
    src = tmp_path / "memo.odt"
    # An .odt written by hand is fiddly; an RTF is a real Office input LibreOffice always reads.
    src.write_bytes(b"{\\rtf1\\ansi Hello from OfficeHub\\par}")
    src = src.rename(tmp_path / "memo.rtf")
    doc = prep(src, tmp_path / "store")
    assert doc.pages == 1 and doc.path.read_bytes().startswith(b"%PDF-")
