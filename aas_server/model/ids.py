"""Identifiers in URLs: base64url without padding (Part 2, 12.2); padded input is accepted too."""
import base64
import binascii

from ..errors import InvalidRequestError


def encode_id(identifier: str) -> str:
    return base64.urlsafe_b64encode(identifier.encode("utf-8")).decode("ascii").rstrip("=")


def decode_id(encoded: str, what: str = "identifier") -> str:
    """:raises InvalidRequestError: if ``encoded`` is not base64url of a UTF-8 string."""
    stripped = encoded.rstrip("=")
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError) as e:
        raise InvalidRequestError(f"{what} is not base64url-encoded UTF-8", path=encoded[:120]) from e
    if not text:
        raise InvalidRequestError(f"{what} is empty", path=encoded[:120])
    return text
