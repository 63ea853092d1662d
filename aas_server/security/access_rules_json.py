"""JSON loading that remembers the line of every value, so a bad rule file is refused with path *and* line.

``json.loads`` says where the syntax breaks but not where a well-formed yet invalid value sits; this loader walks the
text once more (after ``json.loads`` accepted it) and records the line of each value by its JSON path. Duplicate
keys are refused: in a security policy the silently kept last one is a trap.
"""
from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C string scanner json uses
from typing import Any

JsonPath = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class JsonPositionError(ValueError):
    def __init__(self, message: str, line: int, path: JsonPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path


def format_json_path(path: JsonPath) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_with_lines(text: str) -> tuple[Any, dict[JsonPath, int]]:
    """The parsed document and the line (1-based) of every value by its path.

    :raises JsonPositionError: malformed JSON or a duplicate key, with the line
    """
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        raise JsonPositionError(f"malformed JSON: {e.msg} (column {e.colno})", e.lineno) from None
    lines: dict[JsonPath, int] = {}
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        lo, hi = 0, len(newlines)
        while lo < hi:  # bisect: count of newlines before pos
            mid = (lo + hi) // 2
            if newlines[mid] < pos:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    def value(pos: int, path: JsonPath) -> tuple[Any, int]:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        lines[path] = line_of(pos)
        char = text[pos]
        if char == "{":
            obj: dict[str, Any] = {}
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos] == "}":
                return obj, pos + 1
            while True:
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                key, pos = scanstring(text, pos + 1)
                if key in obj:
                    raise JsonPositionError(f"duplicate key {key!r}", line_of(pos), path)
                pos = _WS.match(text, pos).end() + 1  # type: ignore[union-attr]  # the colon
                obj[key], pos = value(pos, (*path, key))
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if text[pos] == "}":
                    return obj, pos + 1
                pos += 1  # the comma
        if char == "[":
            items: list[Any] = []
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos] == "]":
                return items, pos + 1
            while True:
                item, pos = value(pos, (*path, len(items)))
                items.append(item)
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if text[pos] == "]":
                    return items, pos + 1
                pos += 1
        if char == '"':
            return scanstring(text, pos + 1)
        for literal, result in _LITERALS.items():
            if text.startswith(literal, pos):
                return result, pos + len(literal)
        number = _NUMBER.match(text, pos)
        assert number is not None  # json.loads accepted the text
        token = number.group()
        return (float(token) if any(c in token for c in ".eE") else int(token)), number.end()

    document, _ = value(0, ())
    return document, lines
