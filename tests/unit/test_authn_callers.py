"""What authentication hands on: the Caller of each kind of credential (the 401 cases run over HTTP in
tests/integration/test_authn.py)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers

from aas_server.errors import InvalidRequestError, UnauthenticatedError
from aas_server.ports.config import (
    ApiKey,
    AuthConfig,
    DataPlaneConfig,
    JwtConfig,
    JwtIssuer,
    PortSpec,
)
from aas_server.security.authn import Authenticator
from tests.harness.identity import SigningKey, claims

pytestmark = pytest.mark.unit

ISSUER = "https://idp.test"
SECRET_ENV = {"DP_SECRET": "s3cret-token"}


def authenticator(auth: AuthConfig, internal: bool = False) -> Authenticator:
    return Authenticator(auth, PortSpec(name="p", internal=internal, auth=auth), environ=SECRET_ENV)


def test_data_plane_caller_carries_bpn_and_agreement() -> None:
    auth = AuthConfig(data_plane=DataPlaneConfig(secret_env="DP_SECRET", roles=("partner",)))
    caller = authenticator(auth).authenticate(Headers({
        "x-data-plane-token": "s3cret-token", "Edc-Bpn": "BPNL000000000001", "Edc-Contract-Agreement-Id": "ag-7"}))
    assert (caller.port, caller.internal, caller.bpn, caller.contract_agreement) == ("p", False, "BPNL000000000001",
                                                                                      "ag-7")
    assert caller.roles == {"partner"} and caller.partner == "BPNL000000000001"


def test_data_plane_secret_must_be_in_the_environment() -> None:
    auth = AuthConfig(data_plane=DataPlaneConfig(secret_env="UNSET_SECRET"))
    with pytest.raises(InvalidRequestError, match="data plane secret is not set"):
        authenticator(auth)


def test_api_key_caller() -> None:
    auth = AuthConfig(api_keys=(ApiKey("robot", hashlib.sha256(b"key-1").hexdigest(), ("writer",)),
                                ApiKey("backup", hashlib.sha256(b"key-2").hexdigest())))
    caller = authenticator(auth, internal=True).authenticate({"X-API-Key": "key-1"})
    assert (caller.subject, caller.roles, caller.internal) == ("robot", {"writer"}, True)
    assert authenticator(auth, internal=True).authenticate({"x-api-key": "key-2"}).subject == "backup"
    with pytest.raises(UnauthenticatedError):
        authenticator(auth, internal=True).authenticate({"X-API-Key": hashlib.sha256(b"key-1").hexdigest()})


def test_jwt_caller_with_roles_and_bpn_claims(tmp_path: Path) -> None:
    key = SigningKey("EC")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [key.jwk()]}))
    issuer = JwtIssuer(issuer=ISSUER, audience="aas-server", jwks_file=str(tmp_path / "jwks.json"),
                       algorithms=("ES256",), roles_claim="realm_access.roles", bpn_claim="bpn")
    auth = AuthConfig(jwt=JwtConfig((issuer,)))
    token = key.sign(claims(ISSUER, sub="svc-a", bpn="BPNL000000000002", realm_access={"roles": ["reader", "x"]}))
    caller = authenticator(auth).authenticate({"Authorization": f"Bearer {token}"})
    assert (caller.subject, caller.bpn, caller.roles) == ("svc-a", "BPNL000000000002", {"reader", "x"})
    assert caller.claims["aud"] == "aas-server"


def test_anonymous_only_where_allowed() -> None:
    assert authenticator(AuthConfig(anonymous=True)).authenticate({}).subject is None
    with pytest.raises(UnauthenticatedError, match="authentication required"):
        authenticator(AuthConfig()).authenticate({"Edc-Bpn": "BPNL000000000001"})
