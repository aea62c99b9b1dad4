"""Hostile request bodies, generated in the test (never committed): a decompression bomb and
oversized multipart forms streamed without a Content-Length."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def palette_png_bomb(side: int = 13_300) -> bytes:
    """A ``side``×``side`` 1-bit palette PNG of one colour: ~21 KB on the wire for 13,300², but 177 MB
    as 8-bit palette pixels once decoded (and several times that through RGBA/RGB conversion).

    Rows are compressed one at a time, so building it costs the test a few KB, not the decoded size.
    """
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte "None" + packed 1-bit pixels
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 3, 0, 0, 0)  # bit depth 1, colour type 3 (palette)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"PLTE", b"\xff\xff\xff\x00\x00\x00")
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def multipart_stream(parts: Iterator[tuple[str, bytes, str | None]], *,
                     boundary: str = "officehub-hostile-boundary") -> Iterator[bytes]:
    """A multipart/form-data body as a generator, so httpx sends it chunked (no Content-Length).

    Each part is (name, data, filename or None for a plain field).
    """
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        ctype = "Content-Type: application/octet-stream\r\n" if filename else ""
        yield f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{ctype}\r\n".encode() + data + b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def multipart_content_type(boundary: str = "officehub-hostile-boundary") -> str:
    return f"multipart/form-data; boundary={boundary}"

