"""The ports file: defaults, a complete file, and every kind of mistake refused with the file and entry path."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from aas_server.ports.config import DENY_ALL_RULES, PortsFileError, load_ports

pytestmark = pytest.mark.unit


def write(tmp_path: Path, ports: list[dict[str, object]]) -> str:
    path = tmp_path / "ports.yaml"
    path.write_text(yaml.safe_dump({"ports": ports}))
    return str(path)


def test_defaults_without_a_file() -> None:
    internal, external = load_ports("")
    assert (internal.name, internal.internal, internal.prefix, internal.auth.anonymous) == ("internal", True, "", True)
    assert internal.rules_file is None
    assert (external.name, external.internal, external.prefix) == ("external", False, "/external")
    assert not external.auth.anonymous and not external.writable
    assert external.rules_file == str(DENY_ALL_RULES)


def test_a_complete_file(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    (tmp_path / "rules.json").write_text("{}")
    path = write(tmp_path, [
        {"name": "ops", "internal": True, "prefix": "/ops/", "auth": {
            "api_keys": [{"name": "robot", "sha256": hashlib.sha256(b"k").hexdigest(), "roles": ["writer"]}]}},
        {"name": "partners", "prefix": "/external", "listen": "0.0.0.0:8443", "rules": str(tmp_path / "rules.json"),
         "public_base_url": "https://partner.example.com/external", "privacy_budget": 2.5, "auth": {
             "jwt": {"leeway_s": 10, "issuers": [{
                 "issuer": "https://idp", "audience": "aas", "jwks_file": str(tmp_path / "jwks.json"),
                 "algorithms": ["RS256", "ES256"], "roles_claim": "realm_access.roles", "bpn_claim": "bpn"}]},
             "data_plane": {"secret_env": "AAS_DP_SECRET", "header": "X-Api-Key-Dp", "roles": ["partner"]}}},
    ])
    ops, partners = load_ports(path)
    assert ops.prefix == "/ops" and ops.auth.api_keys[0].roles == ("writer",) and not ops.auth.anonymous
    assert partners.internal is False and partners.listen_port == "8443" and partners.listen_host == "0.0.0.0"
    assert partners.privacy_budget == 2.5 and partners.rules_file == str(tmp_path / "rules.json")
    assert partners.auth.jwt is not None and partners.auth.jwt.leeway_s == 10
    assert partners.auth.jwt.issuers[0].algorithms == ("RS256", "ES256")
    assert partners.auth.data_plane is not None and partners.auth.data_plane.roles == ("partner",)


def test_an_external_port_without_rules_denies_everything(tmp_path: Path) -> None:
    (port,) = load_ports(write(tmp_path, [{"name": "p", "prefix": "/p", "auth": {"anonymous": True}}]))
    assert port.rules_file == str(DENY_ALL_RULES)


ISSUER = {"issuer": "https://idp", "audience": "aas", "jwks_url": "https://idp/jwks"}


@pytest.mark.parametrize(("ports", "where", "text"), [
    ([{"name": "a", "colour": "red"}], "ports[0]", "unknown key 'colour'"),
    ([{"name": "a b"}], "ports[0].name", "is not valid"),
    ([{"name": "a", "prefix": "external"}], "ports[0].prefix", "start with /"),
    ([{"name": "a", "listen": "localhost"}], "ports[0].listen", "is not valid"),
    ([{"name": "a", "internal": "yes"}], "ports[0].internal", "true or false"),
    ([{"name": "a", "rules": "/no/such/rules.json"}], "ports[0].rules", "no such file"),
    ([{"name": "a", "auth": {"api_keys": [{"name": "k", "sha256": "0" * 64}]}}], "ports[0].auth.api_keys",
     "internal ports only"),
    ([{"name": "a", "internal": True, "auth": {"api_keys": [{"name": "k", "sha256": "plain-key"}]}}],
     "ports[0].auth.api_keys[0].sha256", "SHA-256 of the key, not the key"),
    ([{"name": "a", "auth": {"jwt": {"issuers": [{**ISSUER, "algorithms": ["HS256"]}]}}}],
     "ports[0].auth.jwt.issuers[0].algorithms", "HS256 not allowed"),
    ([{"name": "a", "auth": {"jwt": {"issuers": [{**ISSUER, "algorithms": ["none"]}]}}}],
     "ports[0].auth.jwt.issuers[0].algorithms", "none not allowed"),
    ([{"name": "a", "auth": {"jwt": {"issuers": [{k: v for k, v in ISSUER.items() if k != "audience"}]}}}],
     "ports[0].auth.jwt.issuers[0].audience", "non-empty string"),
    ([{"name": "a", "auth": {"jwt": {"issuers": [{**ISSUER, "jwks_file": "/x.json"}]}}}],
     "ports[0].auth.jwt.issuers[0]", "exactly one of jwks_url and jwks_file"),
    ([{"name": "a", "auth": {"jwt": {"issuers": [{**ISSUER, "jwks_url": "file:///etc/passwd"}]}}}],
     "ports[0].auth.jwt.issuers[0].jwks_url", "http(s) URL"),
    ([{"name": "a", "auth": {"jwt": {"issuers": []}}}], "ports[0].auth.jwt.issuers", "at least one issuer"),
    ([{"name": "a", "auth": {"data_plane": {"secret_env": "my secret"}}}], "ports[0].auth.data_plane.secret_env",
     "is not valid"),
    ([{"name": "a", "internal": True}, {"name": "a", "internal": True, "prefix": "/b"}], "ports[1].name",
     "used twice"),
    ([{"name": "a", "internal": True}, {"name": "b", "internal": True}], "ports[1]", "same listener and prefix"),
    ([], "ports", "declares no port"),
])
def test_mistakes_are_refused_with_their_path(tmp_path: Path, ports: list[dict[str, object]], where: str,
                                              text: str) -> None:
    path = write(tmp_path, ports)
    with pytest.raises(PortsFileError) as error:
        load_ports(path)
    assert error.value.path == f"{path}: {where}"
    assert text in error.value.text


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "ports.yaml").write_text("ports: [\n")
    with pytest.raises(PortsFileError, match="cannot read ports file"):
        load_ports(str(tmp_path / "ports.yaml"))
