"""Uploaded documents → printable PDFs, checked before a job is created.

Every upload is treated as hostile: the type comes from the bytes (the filename only decides
between Office formats that share the ZIP container), PDFs are parsed before they are accepted, and
conversion runs in a subprocess with a timeout and a throwaway LibreOffice profile.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypdf import PdfReader

if TYPE_CHECKING:
    from PIL import Image

_CHUNK = 1 << 20
OFFICE_EXTENSIONS = frozenset(
    {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf"})
IMAGE_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg"}
OFFICE_TIMEOUT_S = 180
DEFAULT_MAX_IMAGE_PIXELS = 25_000_000  # Settings.print_max_image_pixels decides in the hub
# Images decoded at once: each holds up to ~7 bytes a pixel while it converts, so this times the pixel
# cap bounds the hub's memory for images, however many uploads arrive together (2 cores here).
_IMAGE_SLOTS = threading.BoundedSemaphore(2)
_RANGES = re.compile(r"^\s*\d+\s*(-\s*\d+\s*)?(,\s*\d+\s*(-\s*\d+\s*)?)*$")


class DocumentError(Exception):
    """A document that cannot be printed; ``code`` is stable for APIs, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PdfInfo:
    pages: int
    encrypted: bool


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    path: Path  # the printable PDF inside dst_dir
    pages: int
    sha256: str  # of the PDF at ``path`` (what the box downloads and verifies)
    size: int
    original_name: str
    mime: str  # type of what was uploaded


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _head(path: Path, n: int = 1024) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def inspect_pdf(path: Path) -> PdfInfo:
    """Page count and encryption of a PDF; DocumentError(corrupt_pdf) when it does not parse.

    A PDF with only an owner password (print restrictions, empty user password) opens without a
    password and prints, so it is reported as not encrypted.
    """
    try:
        # An open file, not a path: given a path, pypdf reads the whole file into memory (a 100 MB
        # upload grew the hub by 100 MB); with a file object it seeks to the xref and the page tree.
        with path.open("rb") as fh:
            reader = PdfReader(fh, strict=False)
            encrypted = False
            if reader.is_encrypted:
                try:
                    encrypted = not reader.decrypt("")
                except Exception:  # unsupported crypto counts as "cannot open"
                    encrypted = True
                if encrypted:
                    return PdfInfo(pages=0, encrypted=True)
            pages = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for broken files
        raise DocumentError("corrupt_pdf",
                            f"the PDF could not be read ({type(exc).__name__}: {exc})") from exc
    return PdfInfo(pages=pages, encrypted=encrypted)


def _check_pdf(path: Path) -> int:
    if b"%PDF-" not in _head(path):
        raise DocumentError("not_a_pdf", "the file is named like a PDF but is not one")
    info = inspect_pdf(path)
    if info.encrypted:
        raise DocumentError("encrypted_pdf",
                            "the PDF is password protected; remove the password and upload again")
    if info.pages < 1:
        raise DocumentError("corrupt_pdf", "the PDF has no pages")
    return info.pages


def _sniff(path: Path, filename: str, content_type: str | None) -> str:
    """``pdf``, ``image`` or ``office``; DocumentError for anything else."""
    head = _head(path, 1024)
    ext = Path(filename).suffix.lower()
    if b"%PDF-" in head:
        return "pdf"
    if ext == ".pdf" or content_type == "application/pdf":
        raise DocumentError("not_a_pdf",
                            f"{filename!r} is named or sent as a PDF but its content is not a PDF")
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "image"
    is_container = head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0") or \
        head.startswith(b"{\\rtf")
    if ext in OFFICE_EXTENSIONS and is_container:
        return "office"
    raise DocumentError("unsupported_type",
                        f"{filename!r} is not a supported document (PDF, PNG, JPEG, or an Office file)")


def _copy_hashing(src: Path, dst: Path) -> str:
    h = hashlib.sha256()
    with src.open("rb") as fi, dst.open("wb") as fo:
        while chunk := fi.read(_CHUNK):
            h.update(chunk)
            fo.write(chunk)
    return h.hexdigest()


def _image_to_pdf(src: Path, dst: Path, *, max_pixels: int) -> str:
    from PIL import Image, ImageOps

    from facecore.images import ImageError, open_image

    try:
        # The pixel count is checked from the header before anything is decoded: a 21 KB palette PNG
        # can declare 13,300×13,300 pixels, which took the hub to 1.7 GB through RGBA and RGB copies.
        opened = open_image(src, max_pixels=max_pixels)
    except ImageError as exc:
        if exc.reason_code == "too_many_pixels":
            raise DocumentError("image_too_large", f"the image is too large to print: {exc.message} "
                                "(setting OFFICEHUB_PRINT_MAX_IMAGE_PIXELS)") from exc
        raise DocumentError("corrupt_image", f"the image could not be read ({exc.message})") from exc
    try:
        with opened:
            mime = IMAGE_MIMES.get(opened.format or "", "")
            if not mime:
                raise DocumentError("unsupported_type", f"image format {opened.format} is not supported")
            opened.load()
            # In place: the default returns a full copy even when there is nothing to rotate.
            ImageOps.exif_transpose(opened, in_place=True)
            page = _flatten(opened)
            # Resolution so the page is no larger than A4 (8.27 × 11.69 in); printers fit it to the media.
            dpi = max(72.0, page.width / 8.27, page.height / 11.69)
            page.save(dst, "PDF", resolution=dpi)
    except DocumentError:
        raise
    except Image.DecompressionBombError as exc:
        raise DocumentError("image_too_large", f"the image is too large to print ({exc})") from exc
    except Exception as exc:
        raise DocumentError("corrupt_image",
                            f"the image could not be read ({type(exc).__name__}: {exc})") from exc
    return mime


def _flatten(im: Image.Image) -> Image.Image:
    """An RGB or L page from a decoded image, transparency on white. Each step releases the pixels it
    no longer needs, so the peak is about 7 bytes a pixel (RGBA + RGB), not the 12+ of plain copies."""
    from PIL import Image

    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")
        if rgba is not im:
            im.close()
        page = Image.new("RGB", rgba.size, "white")
        page.paste(rgba, mask=rgba)  # an RGBA mask means its alpha band, without copying it out
        rgba.close()
        return page
    page = im.convert("RGB")
    im.close()
    return page


@functools.cache
def _libc_malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        return None


def _return_freed_memory() -> None:
    """Hand the pixels just freed back to the OS. glibc keeps what a worker thread's arena freed
    (measured: a 25 MP RGBA page left the process at 245 MB; trimmed, 69 MB)."""
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


def office_converter() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _office_to_pdf(src: Path, filename: str, dst: Path) -> None:
    exe = office_converter()
    if exe is None:
        raise DocumentError("office_conversion_unavailable",
                            "Office documents need LibreOffice on the hub (apt-get install libreoffice-core "
                            "libreoffice-writer libreoffice-calc libreoffice-impress); upload a PDF instead")
    with tempfile.TemporaryDirectory(prefix="officehub-convert-") as work:
        wd = Path(work)
        # A fixed-name copy: the upload's name is user input and must never reach a command line.
        staged = wd / f"document{Path(filename).suffix.lower()}"
        shutil.copyfile(src, staged)
        out = wd / "out"
        cmd = [exe, f"-env:UserInstallation=file://{wd / 'profile'}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(out), str(staged)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=OFFICE_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise DocumentError("conversion_failed",
                                f"LibreOffice did not finish within {OFFICE_TIMEOUT_S}s") from exc
        pdfs = list(out.glob("*.pdf")) if out.exists() else []
        if res.returncode != 0 or len(pdfs) != 1:
            raise DocumentError("conversion_failed",
                                f"LibreOffice could not convert {filename!r}: "
                                f"{(res.stderr or res.stdout)[-500:]}")
        shutil.move(str(pdfs[0]), dst)


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip() or "document"
    return re.sub(r"[\x00-\x1f\x7f]", "", name)[:255]


def prepare_document(*, src: Path, filename: str, content_type: str | None, dst_dir: Path,
                     max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> PreparedDocument:
    """Check and convert an upload into a printable PDF stored in ``dst_dir``.

    Images over ``max_image_pixels`` (width × height, read from the header) are refused undecoded.

    Raises DocumentError with codes: empty, not_a_pdf, encrypted_pdf, corrupt_pdf, corrupt_image,
    image_too_large, unsupported_type, office_conversion_unavailable, conversion_failed.
    Nothing is left in ``dst_dir`` when it fails.
    """
    if not src.is_file() or src.stat().st_size == 0:
        raise DocumentError("empty", f"{filename!r} is empty")
    kind = _sniff(src, filename, content_type)
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / f"{uuid.uuid4().hex}.pdf"
    try:
        if kind == "pdf":
            _copy_hashing(src, dst)
            mime = "application/pdf"
        elif kind == "image":
            with _IMAGE_SLOTS:
                try:
                    mime = _image_to_pdf(src, dst, max_pixels=max_image_pixels)
                finally:
                    _return_freed_memory()
        else:
            _office_to_pdf(src, filename, dst)
            mime = content_type or "application/octet-stream"
        pages = _check_pdf(dst)
        digest = sha256_file(dst)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    return PreparedDocument(path=dst, pages=pages, sha256=digest, size=dst.stat().st_size,
                            original_name=_safe_name(filename), mime=mime)


def parse_page_ranges(ranges: str) -> list[tuple[int, int]]:
    """``"1-3,5"`` → ``[(1, 3), (5, 5)]``; ascending and non-overlapping, as IPP requires."""
    if not _RANGES.match(ranges):
        raise ValueError(f"page ranges {ranges!r} must look like '1-3,5'")
    out: list[tuple[int, int]] = []
    for part in ranges.replace(" ", "").split(","):
        lo_s, _, hi_s = part.partition("-")
        lo, hi = int(lo_s), int(hi_s or lo_s)
        if lo < 1 or hi < lo:
            raise ValueError(f"page range {part!r} is empty or starts below page 1")
        if out and lo <= out[-1][1]:
            raise ValueError(f"page ranges {ranges!r} must be ascending and must not overlap")
        out.append((lo, hi))
    return out


def page_count_for_ranges(total_pages: int, ranges: str | None) -> int:
    """How many of a document's pages a page-range selection prints (None or "" = all).

    A range running past the end prints up to the last page; a range that starts after the last page
    is an error, since the employee asked for pages that do not exist.
    """
    if total_pages < 1:
        raise ValueError("the document has no pages")
    if not ranges or not ranges.strip():
        return total_pages
    count = 0
    for lo, hi in parse_page_ranges(ranges):
        if lo > total_pages:
            raise ValueError(f"page {lo} is past the end of the document ({total_pages} pages)")
        count += min(hi, total_pages) - lo + 1
    return count
