"""Authentication over real HTTP: gunicorn serving a port that takes JWTs from a real local JWKS endpoint, API keys
and a Catena-X data plane. Every forged, stale or misdirected credential is answered 401."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization

from tests.harness.identity import JwksServer, SigningKey, claims
from tests.harness.server import GunicornServer

pytestmark = pytest.mark.integration

ISSUER = "https://idp.test"
EC_ISSUER = "https://ec-idp.test"
API_KEY = "robot-key-" + "x" * 24
DATA_PLANE_SECRET = "dp-" + uuid.uuid4().hex


class Env:
    def __init__(self, url: str, idp: JwksServer, key: SigningKey, ec_key: SigningKey) -> None:
        self.url = url
        self.idp = idp
        self.key = key
        self.ec_key = ec_key

    def get(self, prefix: str = "/secure", token: str | None = None, **headers: str) -> requests.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(f"{self.url}{prefix}/api/v3.1/shells", headers=headers, timeout=10)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("authn")
    key, ec_key = SigningKey("RSA"), SigningKey("EC")
    (folder / "ec-jwks.json").write_text(json.dumps({"keys": [ec_key.jwk()]}))
    with JwksServer() as idp:
        idp.publish(key)
        ports = {"ports": [
            {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
            {"name": "secure", "internal": True, "prefix": "/secure", "auth": {
                "jwt": {"leeway_s": 30, "issuers": [
                    {"issuer": ISSUER, "audience": "aas-server", "jwks_url": idp.url, "algorithms": ["RS256"],
                     "jwks_min_refetch_s": 1.5},
                    {"issuer": EC_ISSUER, "audience": "aas-server", "jwks_file": str(folder / "ec-jwks.json"),
                     "algorithms": ["ES256"]},
                ]},
                "api_keys": [{"name": "robot", "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
                              "roles": ["writer"]}],
            }},
            {"name": "dataplane", "internal": True, "prefix": "/dp", "auth": {
                "data_plane": {"secret_env": "AAS_TEST_DATA_PLANE_SECRET", "header": "X-Data-Plane-Token"}}},
        ]}
        (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
        server_env = {"AAS_DATA_DIR": str(folder), "AAS_LOG_LEVEL": "WARNING",
                      "AAS_PORTS_FILE": str(folder / "ports.yaml"), "AAS_TEST_DATA_PLANE_SECRET": DATA_PLANE_SECRET}
        # one worker: the JWKS fetch counts below are those of one process's key cache
        with GunicornServer(server_env, workers=1) as server:
            yield Env(server.url, idp, key, ec_key)


def assert_unauthenticated(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["messages"][0]["messageType"] == "Error"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"


# -- accepted -----------------------------------------------------------------------------------------------------


def test_valid_token_is_accepted(env: Env) -> None:
    assert env.get(token=env.key.sign(claims(ISSUER))).status_code == 200


def test_token_of_second_issuer_with_its_own_algorithm_is_accepted(env: Env) -> None:
    assert env.get(token=env.ec_key.sign(claims(EC_ISSUER))).status_code == 200


def test_leeway_tolerates_small_clock_skew(env: Env) -> None:
    skewed = claims(ISSUER, exp=int(time.time()) - 10, nbf=int(time.time()) + 10)
    assert env.get(token=env.key.sign(skewed)).status_code == 200


def test_api_key_is_accepted(env: Env) -> None:
    assert env.get(**{"X-API-Key": API_KEY}).status_code == 200


def test_anonymous_port_still_serves_without_credentials(env: Env) -> None:
    assert env.get(prefix="").status_code == 200


# -- refused ------------------------------------------------------------------------------------------------------


def test_missing_token(env: Env) -> None:
    assert_unauthenticated(env.get())


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Basic YWxpY2U6cHc=",
                                           "Bearer " + "A" * 500])
def test_garbage_token(env: Env, authorization: str) -> None:
    assert_unauthenticated(env.get(Authorization=authorization))


def test_alg_none(env: Env) -> None:
    token = unsigned({"alg": "none", "typ": "JWT", "kid": env.key.kid}, claims(ISSUER)) + "."
    assert_unauthenticated(env.get(token=token))


def test_hs256_signed_with_the_rsa_public_key(env: Env) -> None:
    """The classic confusion attack: the public key (which anyone has) used as an HMAC secret."""
    public_pem = env.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": env.key.kid}, claims(ISSUER))
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_unauthenticated(env.get(token=f"{signing_input}.{b64(signature)}"))


def test_expired(env: Env) -> None:
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER, exp=int(time.time()) - 120))))


def test_not_yet_valid(env: Env) -> None:
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER, nbf=int(time.time()) + 120))))


def test_leeway_is_small(env: Env) -> None:
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER, exp=int(time.time()) - 45))))


def test_without_expiry(env: Env) -> None:
    forever = {k: v for k, v in claims(ISSUER).items() if k != "exp"}
    assert_unauthenticated(env.get(token=env.key.sign(forever)))


def test_wrong_issuer(env: Env) -> None:
    assert_unauthenticated(env.get(token=env.key.sign(claims("https://evil.test"))))


def test_issuer_signed_with_another_issuers_key(env: Env) -> None:
    """The EC issuer's key is trusted for EC_ISSUER only, not for ISSUER."""
    token = jwt.encode(claims(ISSUER), env.ec_key.private, algorithm="ES256", headers={"kid": env.ec_key.kid})
    assert_unauthenticated(env.get(token=token))


def test_wrong_audience(env: Env) -> None:
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER, audience="another-service"))))


def test_algorithm_outside_the_issuers_allow_list(env: Env) -> None:
    """ISSUER allows RS256 only: the same RSA key signing PS256 is refused."""
    token = jwt.encode(claims(ISSUER), env.key.private, algorithm="PS256", headers={"kid": env.key.kid})
    assert_unauthenticated(env.get(token=token))


def test_unknown_kid(env: Env) -> None:
    assert_unauthenticated(env.get(token=SigningKey("RSA").sign(claims(ISSUER))))


@pytest.mark.parametrize("kid", ["../../../../dev/null", "' OR '1'='1", "http://evil.test/key.pem", ""])
def test_injected_kid(env: Env, kid: str) -> None:
    """Signed by an attacker's key under a crafted key id."""
    assert_unauthenticated(env.get(token=SigningKey("RSA").sign(claims(ISSUER), kid=kid)))


def test_kid_of_the_real_key_signed_by_another_key(env: Env) -> None:
    assert_unauthenticated(env.get(token=SigningKey("RSA").sign(claims(ISSUER), kid=env.key.kid)))


@pytest.mark.parametrize("field", ["jku", "jwk", "x5u", "x5c"])
def test_token_naming_its_own_key(env: Env, field: str) -> None:
    attacker = SigningKey("RSA")
    value: Any = {"jku": "http://127.0.0.1:1/jwks", "jwk": attacker.jwk(), "x5u": "http://127.0.0.1:1/cert.pem",
                  "x5c": ["MIIB"]}[field]
    assert_unauthenticated(env.get(token=attacker.sign(claims(ISSUER), headers={field: value})))
    # even when the signature itself is valid: the key reference alone is refused
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER), headers={field: value})))


def test_tampered_payload(env: Env) -> None:
    header, _, signature = env.key.sign(claims(ISSUER, roles=["reader"])).split(".")
    payload = b64(json.dumps(claims(ISSUER, sub="admin", roles=["admin"])).encode())
    assert_unauthenticated(env.get(token=f"{header}.{payload}.{signature}"))


def test_wrong_api_key(env: Env) -> None:
    assert_unauthenticated(env.get(**{"X-API-Key": API_KEY + "x"}))


def test_invalid_credentials_are_refused_even_where_anonymous_is_allowed(env: Env) -> None:
    assert_unauthenticated(env.get(prefix="", Authorization="Bearer a.b.c"))


# -- JWKS cache and key rotation ----------------------------------------------------------------------------------


def test_key_rotation_is_picked_up_and_unknown_kids_are_rate_limited(env: Env) -> None:
    assert env.get(token=env.key.sign(claims(ISSUER))).status_code == 200  # key set cached
    before = env.idp.fetches
    for _ in range(5):
        assert env.get(token=env.key.sign(claims(ISSUER))).status_code == 200
    assert env.idp.fetches == before, "a cached key set is not fetched again"

    rotated = SigningKey("RSA")
    env.idp.publish(env.key, rotated)
    time.sleep(1.6)  # past the refetch rate limit of the fixture's issuer
    assert env.get(token=rotated.sign(claims(ISSUER))).status_code == 200, "rotated key fetched on unknown kid"
    after_rotation = env.idp.fetches
    assert after_rotation == before + 1

    for _ in range(20):  # a flood of made-up key ids within the rate limit window
        assert_unauthenticated(env.get(token=SigningKey("EC").sign(claims(ISSUER), kid=uuid.uuid4().hex)))
    assert env.idp.fetches <= after_rotation + 1, "unknown kids must not make the server hammer the IdP"

    env.idp.publish(rotated)  # the old key is retired
    time.sleep(1.6)
    assert_unauthenticated(env.get(token=SigningKey("RSA").sign(claims(ISSUER), kid="retired-probe")))
    assert_unauthenticated(env.get(token=env.key.sign(claims(ISSUER), kid=env.key.kid + "-gone")))
    assert env.get(token=rotated.sign(claims(ISSUER))).status_code == 200


# -- Catena-X data plane ------------------------------------------------------------------------------------------


def test_data_plane_request_with_bpn_is_accepted(env: Env) -> None:
    response = env.get(prefix="/dp", **{"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": "BPNL000000000001",
                                        "Edc-Contract-Agreement-Id": "agreement-1"})
    assert response.status_code == 200


def test_data_plane_request_without_bpn_is_refused(env: Env) -> None:
    assert_unauthenticated(env.get(prefix="/dp", **{"X-Data-Plane-Token": DATA_PLANE_SECRET}))


def test_data_plane_request_with_malformed_bpn_is_refused(env: Env) -> None:
    assert_unauthenticated(env.get(prefix="/dp", **{"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": "ACME"}))


def test_edc_bpn_without_the_data_plane_secret_is_not_trusted(env: Env) -> None:
    assert_unauthenticated(env.get(prefix="/dp", **{"Edc-Bpn": "BPNL000000000001"}))
    assert_unauthenticated(env.get(prefix="/dp", **{"X-Data-Plane-Token": DATA_PLANE_SECRET[:-1] + "0",
                                                    "Edc-Bpn": "BPNL000000000001"}))


def test_a_port_without_a_data_plane_ignores_edc_bpn(env: Env) -> None:
    assert_unauthenticated(env.get(**{"Edc-Bpn": "BPNL000000000001"}))

