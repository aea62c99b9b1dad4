"""Streaming multipart upload: the file part goes straight to disk, hashed as it is written.

Starlette's ``request.form()`` would spool the whole body before we can look at its size; here the
body is parsed as it arrives, so an oversized upload is refused after ``max_bytes`` and hub memory
stays flat (a few MiB of buffer) whatever the file size.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header

from hub.services.errors import ServiceError

_FLUSH = 1 << 20  # write to disk in 1 MiB batches (off the event loop)
_MAX_FIELD = 4096


class UploadError(ServiceError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


@dataclass
class Upload:
    path: Path | None = None  # the file part on disk (None: no file part was sent)
    filename: str = ""
    content_type: str | None = None
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _Receiver:
    def __init__(self, *, tmp_dir: Path, max_bytes: int, file_field: str) -> None:
        self.tmp_dir, self.max_bytes, self.file_field = tmp_dir, max_bytes, file_field
        self.upload = Upload()
        self._hash = hashlib.sha256()
        self._fh: BinaryIO | None = None
        self._buf = bytearray()
        self._field_buf = bytearray()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._part: str | None = None  # "file" or a field name
        self._error: UploadError | None = None

    # --- parser callbacks (sync, cheap: they only collect bytes) -----------------------
    def on_part_begin(self) -> None:
        self._headers, self._part = {}, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == self.file_field and b"filename" in params:
            if self.upload.path is not None:
                self._fail(422, f"send exactly one {self.file_field!r} part")
                return
            self._part = "file"
            self.upload.filename = params[b"filename"].decode("utf-8", "replace")
            ctype = self._headers.get("content-type")
            self.upload.content_type = ctype.decode("latin-1").split(";")[0].strip() if ctype else None
            self.upload.path = self.tmp_dir / f"upload-{uuid.uuid4().hex}.part"
        else:
            self._part = name
            self._field_buf.clear()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._error is not None:
            return
        n = end - start
        if self._part == "file":
            self.upload.size += n
            if self.upload.size > self.max_bytes:
                self._fail(413, f"the file is larger than the {self.max_bytes / 1048576:g} MB limit")
                return
            self._buf += data[start:end]
        elif self._part:
            if len(self._field_buf) + n > _MAX_FIELD:
                self._fail(422, f"form field {self._part!r} is too long")
                return
            self._field_buf += data[start:end]

    def on_part_end(self) -> None:
        if self._part and self._part != "file" and self._error is None:
            self.upload.fields[self._part] = self._field_buf.decode("utf-8", "replace")

    def _fail(self, status: int, message: str) -> None:
        if self._error is None:
            self._error = UploadError(status, message)

    # --- disk ---------------------------------------------------------------------------
    def _write(self, chunk: bytes) -> None:
        assert self.upload.path is not None
        if self._fh is None:
            self._fh = self.upload.path.open("wb")
        self._hash.update(chunk)
        self._fh.write(chunk)

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    async def flush(self, force: bool = False) -> None:
        if self._buf and (force or len(self._buf) >= _FLUSH) and self.upload.path is not None:
            chunk, self._buf = bytes(self._buf), bytearray()
            await anyio.to_thread.run_sync(self._write, chunk)

    async def run(self, content_type: str, body: AsyncIterator[bytes]) -> Upload:
        ctype, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise UploadError(415, "send the document as multipart/form-data with a 'file' part")
        parser = MultipartParser(boundary, {
            "on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end})
        try:
            async for chunk in body:
                parser.write(chunk)
                if self._error is not None:
                    raise self._error
                await self.flush()
            parser.finalize()
            if self._error is not None:
                raise self._error
            await self.flush(force=True)
            if self.upload.path is not None and self._fh is None:
                await anyio.to_thread.run_sync(self.upload.path.touch)  # an empty file part
        except UploadError:
            self._close()
            self.upload.discard()
            raise
        except Exception as exc:
            self._close()
            self.upload.discard()
            raise UploadError(400, f"the upload could not be read: {exc}") from exc
        self._close()
        self.upload.sha256 = self._hash.hexdigest()
        return self.upload


async def receive_upload(*, content_type: str, body: AsyncIterator[bytes], tmp_dir: Path, max_bytes: int,
                         content_length: int | None = None, file_field: str = "file") -> Upload:
    """Parse a multipart body, streaming the ``file_field`` part to ``tmp_dir``.

    Raises UploadError (413 over the limit, 415 not multipart, 422 malformed fields) and then
    leaves nothing on disk.
    """
    # The form fields around the file are small; a body far over the limit is refused before reading.
    if content_length is not None and content_length > max_bytes + 64 * 1024:
        raise UploadError(413, f"the file is larger than the {max_bytes / 1048576:g} MB limit")
    await anyio.to_thread.run_sync(lambda: tmp_dir.mkdir(parents=True, exist_ok=True))
    return await _Receiver(tmp_dir=tmp_dir, max_bytes=max_bytes, file_field=file_field).run(content_type, body)
