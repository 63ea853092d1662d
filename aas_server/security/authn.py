"""Authentication: the request headers of one port become a :class:`Caller`, or a 401.

Accepted credentials, checked in this order:

1. A Catena-X connector data plane: its shared secret in the configured header (compared in constant time).
   Only then is ``Edc-Bpn`` trusted (the consumer's BPN, required: a data plane request without it is refused with
   401 — there is no identity to apply the partner's rules to) and ``Edc-Contract-Agreement-Id`` recorded.
   Without the secret both headers are ignored: anyone can send them.
2. An API key (internal ports only), kept as its SHA-256 and compared in constant time.
3. A bearer JWT of a configured issuer: signature (keys from the issuer's JWKS only; ``jku``/``jwk``/``x5u``/``x5c``
   in the token are refused, not followed), algorithm allow-list, ``iss``, ``aud``, ``exp``, ``nbf``, ``iat``
   with the configured leeway; ``exp`` is required.
4. Nothing: anonymous, where the port allows it.

Presented but invalid credentials are refused even on a port that allows anonymous access.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import jwt

from ..errors import InvalidRequestError, UnauthenticatedError
from ..ports.config import ASYMMETRIC_ALGORITHMS, AuthConfig, PortSpec
from ..settings import secret_from_env
from .caller import Caller
from .jwks import Fetch, IssuerKeys, fetch_jwks

BPN = re.compile(r"^BPN[LSA][0-9A-Z]{12}$")
#: token header fields that point at keys; a token must not choose the key it is checked with
KEY_REFERENCES = ("jku", "jwk", "x5u", "x5c")


class Authenticator:
    """Authenticates requests for one port.

    :raises InvalidRequestError: (at construction) the data plane secret is not in the environment
    """

    def __init__(self, auth: AuthConfig, port: PortSpec, environ: Mapping[str, str] | None = None,
                 fetch: Fetch = fetch_jwks) -> None:
        self.auth = auth
        self.port = port
        self._issuers = {i.issuer: IssuerKeys(i, fetch) for i in auth.jwt.issuers} if auth.jwt else {}
        self._data_plane_secret: bytes | None = None
        if auth.data_plane is not None:
            value = secret_from_env(auth.data_plane.secret_env, environ)
            if value is None:
                raise InvalidRequestError(f"port {port.name!r}: the data plane secret is not set",
                                          path=auth.data_plane.secret_env)
            self._data_plane_secret = value.encode()
        self._api_keys = [(bytes.fromhex(k.sha256), k) for k in auth.api_keys]

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """:raises UnauthenticatedError: invalid credentials, or none where the port requires them"""
        h = {name.lower(): value for name, value in headers.items()}
        data_plane = self.auth.data_plane
        if data_plane is not None and data_plane.header.lower() in h:
            return self._from_data_plane(h, h[data_plane.header.lower()])
        if self.auth.api_key_header.lower() in h:
            return self._from_api_key(h[self.auth.api_key_header.lower()])
        authorization = h.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthenticatedError("the Authorization header must be 'Bearer <token>'")
            return self._from_token(token.strip())
        if self.auth.anonymous:
            return Caller(port=self.port.name, internal=self.port.internal)
        raise UnauthenticatedError("authentication required")

    def _caller(self, **fields: Any) -> Caller:
        return Caller(port=self.port.name, internal=self.port.internal, **fields)

    def _from_data_plane(self, h: Mapping[str, str], presented: str) -> Caller:
        assert self._data_plane_secret is not None and self.auth.data_plane is not None
        if not hmac.compare_digest(presented.encode(), self._data_plane_secret):
            raise UnauthenticatedError("the data plane token is not valid")
        bpn = h.get("edc-bpn", "").strip()
        if not bpn:
            raise UnauthenticatedError("a data plane request must carry the consumer's Edc-Bpn")
        if not BPN.match(bpn):
            raise UnauthenticatedError("Edc-Bpn is not a Business Partner Number")
        agreement = h.get("edc-contract-agreement-id", "").strip() or None
        return self._caller(bpn=bpn, contract_agreement=agreement, roles=frozenset(self.auth.data_plane.roles),
                            claims={"bpn": bpn, "contract_agreement": agreement})

    def _from_api_key(self, presented: str) -> Caller:
        if not self._api_keys:
            raise UnauthenticatedError("API keys are not accepted on this port")
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for stored, key in self._api_keys:  # no early exit: every key is compared
            if hmac.compare_digest(digest, stored):
                found = key
        if found is None:
            raise UnauthenticatedError("the API key is not valid")
        return self._caller(subject=found.name, roles=frozenset(found.roles), claims={"sub": found.name})

    def _from_token(self, token: str) -> Caller:
        if not self._issuers or self.auth.jwt is None:
            raise UnauthenticatedError("bearer tokens are not accepted on this port")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise UnauthenticatedError("the token is malformed") from None
        if any(field in header for field in KEY_REFERENCES):
            raise UnauthenticatedError("the token names its own key (jku, jwk, x5u or x5c); keys are configured")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ASYMMETRIC_ALGORITHMS:
            raise UnauthenticatedError("the token algorithm is not accepted")
        keys = self._issuers.get(str(unverified.get("iss")))
        if keys is None:
            raise UnauthenticatedError("the token issuer is not trusted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise UnauthenticatedError("the token key id is malformed")
        issuer = keys.issuer
        try:
            claims = jwt.decode(
                token, key=keys.key(kid, algorithm), algorithms=list(issuer.algorithms), audience=issuer.audience,
                issuer=issuer.issuer, leeway=self.auth.jwt.leeway_s,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise UnauthenticatedError("the token is not yet valid") from None
        except jwt.InvalidAudienceError:
            raise UnauthenticatedError("the token is not meant for this server (audience)") from None
        except jwt.InvalidIssuerError:
            raise UnauthenticatedError("the token issuer is not trusted") from None
        except jwt.PyJWTError as e:
            raise UnauthenticatedError(f"the token is not valid: {type(e).__name__}") from None
        bpn = _claim(claims, issuer.bpn_claim) if issuer.bpn_claim else None
        return self._caller(subject=_text(claims.get("sub")), bpn=_text(bpn),
                            roles=_roles(_claim(claims, issuer.roles_claim)), claims=claims)


def _claim(claims: Mapping[str, Any], dotted: str) -> Any:
    """A claim by dotted path, e.g. ``realm_access.roles`` (Keycloak)."""
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _roles(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
