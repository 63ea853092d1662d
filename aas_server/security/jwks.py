"""Verification keys of one token issuer: a JWKS fetched from a URL (cached, refetched on key rotation) or a file.

A token naming an unknown ``kid`` triggers a refetch — that is how a rotated key is picked up — but at most once
per ``jwks_min_refetch_s``, so a flood of tokens with made-up key ids cannot make the server hammer the identity
provider. Keys come only from here: key references inside a token (``jku``, ``jwk``, ``x5u``) are never followed.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from ..errors import InvalidRequestError, SourceUnavailableError, UnauthenticatedError
from ..ports.config import JwtIssuer

logger = logging.getLogger(__name__)

#: largest JWKS document accepted from the identity provider
MAX_JWKS_BYTES = 1024 * 1024
FETCH_TIMEOUT_S = 5.0

Fetch = Callable[[str], dict[str, Any]]


def fetch_jwks(url: str) -> dict[str, Any]:
    """GET a JWKS document. :raises OSError, ValueError, TypeError:"""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
        raw = response.read(MAX_JWKS_BYTES + 1)
    if len(raw) > MAX_JWKS_BYTES:
        raise ValueError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("JWKS is not a JSON object")
    return data


class IssuerKeys:
    """The signing keys of one issuer, looked up by ``kid`` and the token's (allowed) algorithm."""

    def __init__(self, issuer: JwtIssuer, fetch: Fetch = fetch_jwks,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._jwks: dict[str | None, dict[str, Any]] = {}
        self._verifiers: dict[tuple[str | None, str], jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        if issuer.jwks_file:
            try:
                self._install(json.loads(Path(issuer.jwks_file).read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as e:
                raise InvalidRequestError(f"issuer {issuer.issuer}: bad key set: {e}", path=issuer.jwks_file) from e

    def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key to verify a token with header ``kid`` and ``alg``.

        :raises UnauthenticatedError: the algorithm is not allowed, or no key has this id (after a refetch)
        :raises SourceUnavailableError: the key set could never be fetched
        """
        if algorithm not in self.issuer.algorithms:
            raise UnauthenticatedError(f"token algorithm {algorithm!r} is not accepted for this issuer")
        if self.issuer.jwks_url:
            self._refresh(kid)
        jwk = self._jwks.get(kid) if kid is not None else self._only_key()
        if jwk is None:
            raise UnauthenticatedError("token signed with an unknown key")
        return self._verifier(kid, algorithm, jwk)

    def _only_key(self) -> dict[str, Any] | None:
        """A token without ``kid`` is accepted only when the issuer has exactly one key."""
        return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None

    def _verifier(self, kid: str | None, algorithm: str, jwk: dict[str, Any]) -> jwt.PyJWK:
        cached = self._verifiers.get((kid, algorithm))
        if cached is not None:
            return cached
        if jwk.get("alg") not in (None, algorithm):
            raise UnauthenticatedError(f"token algorithm {algorithm!r} does not match its key")
        try:
            verifier = jwt.PyJWK(jwk, algorithm=algorithm)
        except jwt.PyJWTError as e:
            raise UnauthenticatedError(f"token algorithm {algorithm!r} does not fit its key") from e
        self._verifiers[(kid, algorithm)] = verifier
        return verifier

    def _refresh(self, kid: str | None) -> None:
        now = self._clock()
        expired = self._fetched_at is None or now - self._fetched_at >= self.issuer.jwks_cache_s
        unknown = kid is not None and kid not in self._jwks
        if not expired and not unknown:
            return
        with self._lock:
            now = self._clock()
            expired = self._fetched_at is None or now - self._fetched_at >= self.issuer.jwks_cache_s
            unknown = kid is not None and kid not in self._jwks
            rate_limited = self._last_attempt is not None and now - self._last_attempt < self.issuer.jwks_min_refetch_s
            if not (expired or unknown):
                return
            if rate_limited:
                if self._fetched_at is None:
                    raise SourceUnavailableError("the identity provider's keys cannot be fetched")
                return
            self._last_attempt = now
            url = str(self.issuer.jwks_url)
            try:
                self._install(self._fetch(url))
                self._fetched_at = now
            except (OSError, ValueError, TypeError, jwt.PyJWTError) as e:
                logger.error("cannot fetch the keys of issuer %s from %s: %s", self.issuer.issuer, url, e)
                if self._fetched_at is None:
                    raise SourceUnavailableError("the identity provider's keys cannot be fetched") from e

    def _install(self, document: dict[str, Any]) -> None:
        """Keep the asymmetric signing keys of a JWKS document (``oct`` keys are never trusted)."""
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise TypeError("JWKS has no 'keys' list")
        usable = {}
        for jwk in keys:
            if isinstance(jwk, dict) and jwk.get("kty") in ("RSA", "EC", "OKP") and jwk.get("use", "sig") == "sig":
                usable[jwk.get("kid")] = jwk
        if not usable:
            raise ValueError("JWKS holds no asymmetric signing key")
        self._jwks = usable
        self._verifiers = {}
