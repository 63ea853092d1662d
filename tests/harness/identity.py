"""A test identity provider: real signing keys and a real JWKS HTTP endpoint whose keys can be rotated."""
from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from types import TracebackType
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class SigningKey:
    """A private key with its key id; ``sign`` makes tokens, ``jwk`` the public half for a JWKS."""

    def __init__(self, kind: str = "RSA", kid: str | None = None) -> None:
        self.kind = kind
        self.kid = kid or uuid.uuid4().hex[:12]
        if kind == "RSA":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.algorithm = "RS256"
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.algorithm = "ES256"

    def jwk(self) -> dict[str, Any]:
        converter = RSAAlgorithm if self.kind == "RSA" else ECAlgorithm
        data: dict[str, Any] = converter.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=self.algorithm,
                          headers={"kid": kid or self.kid, **(headers or {})})


def claims(issuer: str, audience: str = "aas-server", lifetime_s: int = 300, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": audience, "sub": "alice", "iat": now, "nbf": now, "exp": now + lifetime_s, **extra}


class JwksServer:
    """``with JwksServer() as idp: idp.publish(key)``; ``idp.url`` serves the JWKS, ``idp.fetches`` counts GETs."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def publish(self, *keys: SigningKey) -> None:
        self.document = {"keys": [k.jwk() for k in keys]}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
