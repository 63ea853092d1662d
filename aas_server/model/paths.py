"""idShortPath parsing: ``Motor.Bearings[2].Temperature`` -> ``("Motor", "Bearings", 2, "Temperature")``."""
import re

from ..errors import InvalidRequestError

IdShortPath = tuple[str | int, ...]

_ID_SHORT = r"[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_SEGMENT = re.compile(rf"({_ID_SHORT})((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def parse_path(text: str) -> IdShortPath:
    """:raises InvalidRequestError: naming the offending segment."""
    if not text:
        raise InvalidRequestError("idShortPath is empty")
    segments: list[str | int] = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise InvalidRequestError(f"invalid idShortPath segment {part!r}", path=text)
        segments.append(match.group(1))
        segments.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(segments)


def format_path(path: IdShortPath) -> str:
    out = ""
    for segment in path:
        out += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if out else segment)
    return out
