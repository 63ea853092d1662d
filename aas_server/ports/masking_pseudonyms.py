"""Keyed pseudonyms: HMAC-SHA256 values and reversible tokens, with one key per partner.

Never a plain hash: the values masked here (serial numbers, names, customer numbers) come from small spaces, and a
SHA-256 of a six-digit serial is reversed by hashing all 10^6 candidates in about a second. A keyed hash without
the secret gives no such shortcut. Keys are derived from the profile's secret per partner (HMAC of the secret
and the partner), so two partners cannot join their data on the pseudonyms, while each partner sees the same
pseudonym for the same value every time.

Tokens are keyed hashes too (so every API process derives the same token for a value without coordination), but
shorter and recorded in a vault (store records), so that the company (never a port) can reverse them with
:func:`reveal_token`.
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac

from ..store.base import Store

TOKEN_COLLECTION = "masking-tokens"
TOKEN_PREFIX = "tok_"
#: partner name of keys and tokens that are not per partner
EVERY_PARTNER = "*"
_REMEMBERED_TOKENS = 100_000


@dataclasses.dataclass(frozen=True)
class TokenOrigin:
    partner: str
    value: str


class Pseudonyms:
    """HMAC values and tokens of one profile's secret; tokens are written to ``store``'s vault on first use."""

    def __init__(self, secret: bytes, store: Store) -> None:
        self._secret = secret
        self.store = store
        self._stored: set[str] = set()  # tokens this process knows to be in the vault

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one instance per port, for the life of the process
    def key(self, purpose: str, partner: str) -> bytes:
        """The key of ``purpose`` (``hmac``, ``token``) for ``partner`` (:data:`EVERY_PARTNER` if not per partner)."""
        label = f"aas-server/masking/{purpose}\x00{partner}".encode()
        return hmac.new(self._secret, label, hashlib.sha256).digest()

    def hmac(self, partner: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` under ``partner``'s key (64 characters, valid xs:string and xs:anyURI)."""
        return hmac.new(self.key("hmac", partner), value.encode("utf-8"), hashlib.sha256).hexdigest()

    def token(self, partner: str, value: str) -> str:
        """``tok_`` and 24 base32 characters (120 bits), the same for the same (partner, value); recorded in the
        vault so :func:`reveal_token` can map it back."""
        digest = hmac.new(self.key("token", partner), value.encode("utf-8"), hashlib.sha256).digest()
        token = TOKEN_PREFIX + base64.b32encode(digest[:15]).decode("ascii").lower()
        if token not in self._stored:
            # the same record from every process and request: an idempotent upsert, no race to lose
            self.store.put_record(TOKEN_COLLECTION, token, {"token": token, "partner": partner, "value": value})
            if len(self._stored) >= _REMEMBERED_TOKENS:
                self._stored.clear()
            self._stored.add(token)
        return token


def reveal_token(store: Store, token: str) -> TokenOrigin:
    """The partner and raw value behind a token (internal use only: no port serves this collection).

    :raises NotFoundError: no such token in the vault
    """
    record = store.get_record(TOKEN_COLLECTION, token)
    return TokenOrigin(partner=str(record["partner"]), value=str(record["value"]))
