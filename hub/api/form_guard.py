"""The shape of a multipart form, checked as its bytes stream past: how many fields, how many files,
how large each plain field is.

It keeps counters only, never the data: the route's own parser (Starlette's ``request.form()`` or the
print upload's streaming parser) still reads the form. Checking here, once for every route, means a
chunked body of 50,000 fields is refused at the 21st field instead of being collected first.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header


@dataclass(frozen=True, slots=True)
class FormRules:
    max_fields: int  # non-file parts
    max_files: int  # parts with a filename
    max_field_bytes: int  # size of one non-file part


class FormRejected(Exception):
    """A form over the rules; ``status`` is 413 for a size and 422 for a count."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FormGuard:
    """Feed it every chunk of a multipart body; it raises FormRejected at the first part over the rules.

    A body that is not valid multipart is left to the route's parser (it says what is wrong), so the
    guard then stops looking rather than answering for it.
    """

    def __init__(self, boundary: bytes, rules: FormRules) -> None:
        self.rules = rules
        self.fields = 0
        self.files = 0
        self._field_bytes = 0
        self._is_file = False
        self._name = ""
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._broken = False
        # python-multipart bounds the part headers itself (8 headers of ~4 KB each).
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._on_part_begin, "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value, "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished, "on_part_data": self._on_part_data})

    @classmethod
    def for_content_type(cls, content_type: str | None, rules: FormRules) -> FormGuard | None:
        """A guard for a multipart/form-data body; None for any other body."""
        if not content_type:
            return None
        ctype, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            return None
        try:
            return cls(boundary, rules)
        except ValueError:  # a boundary python-multipart refuses: the route's parser will say so
            return None

    def feed(self, chunk: bytes) -> None:
        if self._broken or not chunk:
            return
        try:
            self._parser.write(chunk)
        except FormRejected:
            raise
        except Exception:  # malformed multipart: not ours to answer
            self._broken = True

    # --- parser callbacks ------------------------------------------------------------------
    def _on_part_begin(self) -> None:
        self._disposition, self._field_bytes = b"", 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        self._name = params.get(b"name", b"").decode("utf-8", "replace")[:64]
        self._is_file = b"filename" in params
        if self._is_file:
            self.files += 1
            if self.files > self.rules.max_files:
                raise FormRejected(422, f"the form has more than {self.rules.max_files} files "
                                        "(setting OFFICEHUB_FORM_MAX_FILES)")
        else:
            self.fields += 1
            if self.fields > self.rules.max_fields:
                raise FormRejected(422, f"the form has more than {self.rules.max_fields} fields "
                                        "(setting OFFICEHUB_FORM_MAX_FIELDS)")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            return  # files are bounded by the request's body limit
        self._field_bytes += end - start
        if self._field_bytes > self.rules.max_field_bytes:
            raise FormRejected(413, f"form field {self._name!r} is larger than the "
                                    f"{self.rules.max_field_bytes / 1024:g} KB limit "
                                    "(setting OFFICEHUB_FORM_MAX_FIELD_KB)")
