"""Constrained input types for every request schema and route parameter.

Python's ``int`` and ``str`` accept more than the database and a JSON client can hold: integers of
any size (SQLite and PostgreSQL stop at 64 bits, JavaScript at 53), lone UTF-16 surrogates
(``"\\udaf5"`` parses as JSON but cannot be encoded as UTF-8), NUL (PostgreSQL text refuses it) and
infinite floats (not JSON). These types refuse such values at validation, so the caller gets a 422
naming the field instead of the request failing in the database.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, AllowInfNan, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# The largest integer a JSON client (JavaScript's Number) holds exactly; far inside a 64-bit column.
MAX_INT = 2**53 - 1

Int = Annotated[int, Ge(-MAX_INT), Le(MAX_INT)]
"""Any integer the API stores or compares (versions, counts, pages)."""
NonNegInt = Annotated[int, Ge(0), Le(MAX_INT)]
"""Offsets, cursors, counts."""
Id = Annotated[int, Ge(1), Le(MAX_INT)]
"""A database id (they start at 1)."""

Finite = Annotated[float, AllowInfNan(False)]
"""A float that JSON can carry back (no inf, no NaN)."""

# Lone surrogates are never text; C0 controls and DEL have no place in a name or an id.
_NOT_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# Free text may span lines and hold tabs; NUL and the other controls are still refused.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _describe(ch: str) -> str:
    return "a lone surrogate" if "\ud800" <= ch <= "\udfff" else f"control character U+{ord(ch):04X}"


def check_line(value: str) -> str:
    bad = _NOT_LINE.search(value)
    if bad:
        # The message never echoes the value: it may not even be encodable.
        raise ValueError(f"contains {_describe(bad.group())} at position {bad.start()}")
    return value


def check_text(value: str) -> str:
    bad = _NOT_TEXT.search(value)
    if bad:
        raise ValueError(f"contains {_describe(bad.group())} at position {bad.start()}")
    return value


class _Documented:
    """Puts the rule in the OpenAPI document as a ``pattern`` (ECMA-262), so clients and fuzzers know it,
    unless the field has its own pattern (which the check then adds to). Lone surrogates cannot be
    written in such a pattern; the check refuses them all the same."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.setdefault("pattern", self.pattern)
        return out


Line = Annotated[str, AfterValidator(check_line), _Documented(r"^[^\u0000-\u001F\u007F]*$")]
"""One line of text: names, ids, filters. No control characters, no lone surrogates. (A field with its
own ``pattern`` stays ``str`` and says it there: the document can show only one pattern.)"""
Text = Annotated[str, AfterValidator(check_text), _Documented(r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
"""Free text (notes, reasons): may hold newlines and tabs, nothing else below U+0020."""


def check_json(value: dict[str, Any]) -> dict[str, Any]:
    """Every key and string in a free-form JSON object (command args, config values, rules) is text,
    every number finite and in range."""

    def walk(node: Any, where: str) -> None:
        try:
            if isinstance(node, str):
                check_text(node)
            elif isinstance(node, float) and not math.isfinite(node):
                raise ValueError("not a finite number")
            elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
                raise ValueError(f"integer out of range (at most {MAX_INT} in size)")
        except ValueError as exc:
            raise ValueError(f"{where or 'value'}: {exc}") from None
        if isinstance(node, dict):
            for key, item in node.items():
                walk(key, f"{where}[key {key!r}]")  # repr: safe to echo even if not text
                walk(item, f"{where}.{key}" if where else key)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(value, "")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
"""A free-form JSON object whose strings are text and whose numbers fit (see ``check_json``)."""
