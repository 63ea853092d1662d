"""Output ports as configured: who listens where, how callers prove who they are, which rules and masking apply.

The ports file (setting ``ports_file``, YAML or JSON) lists named ports; without it the server has two:
``internal`` at prefix ``""`` (anonymous, full access — bind it to a private interface or give it authentication
in production) and a read-only ``external`` port at ``/external`` whose default rules allow nothing.
A malformed file is refused at start with the file and the path of the faulty entry.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import InvalidRequestError

#: signature algorithms a token may use; symmetric (HS*) and ``none`` are refused: keys come from JWKS only
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
#: rules of the default external port: none, so access control denies everything until rules are configured
DENY_ALL_RULES = Path(__file__).with_name("deny_all_rules.json")


class PortsFileError(InvalidRequestError):
    """The ports file cannot be read or holds an invalid entry (``path`` names file and entry)."""


@dataclasses.dataclass(frozen=True)
class JwtIssuer:
    """One trusted token issuer; keys from ``jwks_url`` (cached, refetched on rotation) or a local ``jwks_file``."""

    issuer: str
    #: required: a token for another service of the same issuer must not be accepted here
    audience: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    #: claim holding the caller's roles (a list or a space-separated string)
    roles_claim: str = "roles"
    #: claim holding a Business Partner Number, if this issuer vouches for one
    bpn_claim: str | None = None
    #: seconds a fetched key set is used before it is fetched again
    jwks_cache_s: float = 300.0
    #: least seconds between two fetches caused by tokens naming an unknown ``kid`` (rotation, or an attack)
    jwks_min_refetch_s: float = 30.0


@dataclasses.dataclass(frozen=True)
class JwtConfig:
    issuers: tuple[JwtIssuer, ...]
    #: seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``
    leeway_s: float = 30.0


@dataclasses.dataclass(frozen=True)
class DataPlaneConfig:
    """A Catena-X connector data plane: its requests carry a shared secret in ``header``; only then is
    ``Edc-Bpn`` trusted. The secret is read from the environment variable ``secret_env``."""

    secret_env: str
    header: str = "X-Data-Plane-Token"
    roles: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ApiKey:
    """A machine client's key, stored as the hex SHA-256 of the key (internal ports only)."""

    name: str
    sha256: str
    roles: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class AuthConfig:
    anonymous: bool = False
    jwt: JwtConfig | None = None
    data_plane: DataPlaneConfig | None = None
    api_keys: tuple[ApiKey, ...] = ()
    api_key_header: str = "X-API-Key"


@dataclasses.dataclass(frozen=True)
class PortSpec:
    """One output port. ``listen`` (``host:port``, one of gunicorn's binds) claims that listener for this port;
    otherwise requests are matched by ``prefix`` (the path before ``/api/v3.x``)."""

    name: str
    internal: bool
    prefix: str = ""
    listen: str | None = None
    auth: AuthConfig = AuthConfig()
    #: IDTA-01004 rule file; ``None`` = full access (internal ports only)
    rules_file: str | None = None
    masking_file: str | None = None
    public_base_url: str | None = None
    #: external ports: writes are refused (403) before any handler unless ``writable``; then the rules decide
    writable: bool = False
    #: privacy budget (total epsilon) per partner for differentially private releases of this port
    privacy_budget: float = 10.0

    @property
    def listen_port(self) -> str | None:
        return self.listen.rsplit(":", 1)[1] if self.listen else None

    @property
    def listen_host(self) -> str | None:
        return self.listen.rsplit(":", 1)[0].strip("[]") if self.listen else None


def default_ports() -> list[PortSpec]:
    return [
        PortSpec(name="internal", internal=True, prefix="", auth=AuthConfig(anonymous=True)),
        PortSpec(name="external", internal=False, prefix="/external", rules_file=str(DENY_ALL_RULES)),
    ]


def load_ports(path: str | None) -> list[PortSpec]:
    """The ports of ``path``, or :func:`default_ports` when ``path`` is empty.

    :raises PortsFileError: unreadable file, unknown key, wrong type, duplicate name/prefix/listener
    """
    if not path:
        return default_ports()
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise PortsFileError(f"cannot read ports file: {e}", path=path) from e
    reader = _Reader(path)
    entries = reader.mapping(data, "", {"ports"}).get("ports")
    ports = [_port(reader, entry, f"ports[{i}]") for i, entry in enumerate(reader.sequence(entries, "ports"))]
    if not ports:
        raise PortsFileError("the ports file declares no port", path=f"{path}: ports")
    _check_unique(reader, ports)
    return ports


# -- parsing ----------------------------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class _Reader:
    """Type-checked access to the parsed file, every error naming the file and the entry's path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, text: str, where: str) -> PortsFileError:
        return PortsFileError(text, path=f"{self.source}: {where}" if where else self.source)

    def mapping(self, value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail("must be a mapping", where)
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", where)
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail("must be a list", where)
        return value

    def string(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail("must be a non-empty string", where)
        if pattern is not None and not pattern.match(value):
            raise self.fail(f"{value!r} is not valid here", where)
        return value

    def optional_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def boolean(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail("must be true or false", where)
        return value

    def number(self, value: Any, where: str, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail("must be a non-negative number", where)
        return float(value)

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(self.sequence(value, where)))

    def existing_file(self, value: Any, where: str) -> str | None:
        """A path relative to the working directory (like the server's other paths); it must exist."""
        if value is None:
            return None
        path = self.string(value, where)
        if not Path(path).is_file():
            raise self.fail(f"no such file: {path}", where)
        return path


def _port(r: _Reader, value: Any, where: str) -> PortSpec:
    keys = {"name", "internal", "prefix", "listen", "auth", "rules", "masking", "public_base_url", "writable",
            "privacy_budget"}
    m = r.mapping(value, where, keys)
    internal = r.boolean(m.get("internal"), f"{where}.internal", False)
    prefix = m.get("prefix", "")
    prefix = prefix.rstrip("/") if isinstance(prefix, str) else prefix
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise r.fail("prefix must be empty or start with / and hold path segments only", f"{where}.prefix")
    listen = m.get("listen")
    if listen is not None:
        r.string(listen, f"{where}.listen", _LISTEN)
    rules = r.existing_file(m.get("rules"), f"{where}.rules")
    if rules is None and not internal:
        rules = str(DENY_ALL_RULES)  # an external port never serves without access rules
    auth = _auth(r, m.get("auth"), f"{where}.auth")
    if auth.api_keys and not internal:
        raise r.fail("API keys are for internal ports only", f"{where}.auth.api_keys")
    return PortSpec(
        name=r.string(m.get("name"), f"{where}.name", _NAME),
        internal=internal,
        prefix=prefix,
        listen=listen,
        auth=auth,
        rules_file=rules,
        masking_file=r.existing_file(m.get("masking"), f"{where}.masking"),
        public_base_url=r.optional_string(m.get("public_base_url"), f"{where}.public_base_url"),
        writable=r.boolean(m.get("writable"), f"{where}.writable", False),
        privacy_budget=r.number(m.get("privacy_budget"), f"{where}.privacy_budget", PortSpec.privacy_budget),
    )


def _auth(r: _Reader, value: Any, where: str) -> AuthConfig:
    if value is None:
        return AuthConfig()
    m = r.mapping(value, where, {"anonymous", "jwt", "data_plane", "api_keys", "api_key_header"})
    jwt = None
    if m.get("jwt") is not None:
        j = r.mapping(m["jwt"], f"{where}.jwt", {"leeway_s", "issuers"})
        issuers = tuple(_issuer(r, v, f"{where}.jwt.issuers[{i}]")
                        for i, v in enumerate(r.sequence(j.get("issuers"), f"{where}.jwt.issuers")))
        if not issuers:
            raise r.fail("list at least one issuer", f"{where}.jwt.issuers")
        jwt = JwtConfig(issuers, r.number(j.get("leeway_s"), f"{where}.jwt.leeway_s", JwtConfig.leeway_s))
    data_plane = None
    if m.get("data_plane") is not None:
        d = r.mapping(m["data_plane"], f"{where}.data_plane", {"secret_env", "header", "roles"})
        data_plane = DataPlaneConfig(
            secret_env=r.string(d.get("secret_env"), f"{where}.data_plane.secret_env", _ENV_NAME),
            header=r.string(d.get("header", DataPlaneConfig.header), f"{where}.data_plane.header"),
            roles=r.strings(d.get("roles"), f"{where}.data_plane.roles"),
        )
    keys = []
    for i, v in enumerate(r.sequence(m.get("api_keys"), f"{where}.api_keys")):
        k = r.mapping(v, f"{where}.api_keys[{i}]", {"name", "sha256", "roles"})
        if not isinstance(k.get("sha256"), str) or not _SHA256.match(k["sha256"]):  # never echo: it may be the key
            raise r.fail("must be the lowercase hex SHA-256 of the key, not the key", f"{where}.api_keys[{i}].sha256")
        keys.append(ApiKey(
            name=r.string(k.get("name"), f"{where}.api_keys[{i}].name"),
            sha256=k["sha256"],
            roles=r.strings(k.get("roles"), f"{where}.api_keys[{i}].roles"),
        ))
    return AuthConfig(
        anonymous=r.boolean(m.get("anonymous"), f"{where}.anonymous", False),
        jwt=jwt,
        data_plane=data_plane,
        api_keys=tuple(keys),
        api_key_header=r.string(m.get("api_key_header", AuthConfig.api_key_header), f"{where}.api_key_header"),
    )


def _issuer(r: _Reader, value: Any, where: str) -> JwtIssuer:
    keys = {"issuer", "audience", "jwks_url", "jwks_file", "algorithms", "roles_claim", "bpn_claim",
            "jwks_cache_s", "jwks_min_refetch_s"}
    m = r.mapping(value, where, keys)
    algorithms = r.strings(m.get("algorithms", list(JwtIssuer.algorithms)), f"{where}.algorithms")
    refused = sorted(set(algorithms) - ASYMMETRIC_ALGORITHMS)
    if refused or not algorithms:
        allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
        raise r.fail(f"algorithm {refused[0] if refused else '(none)'} not allowed (use {allowed})",
                     f"{where}.algorithms")
    if (m.get("jwks_url") is None) == (m.get("jwks_file") is None):
        raise r.fail("give exactly one of jwks_url and jwks_file", where)
    jwks_url = r.optional_string(m.get("jwks_url"), f"{where}.jwks_url")
    if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
        raise r.fail("jwks_url must be an http(s) URL", f"{where}.jwks_url")
    return JwtIssuer(
        issuer=r.string(m.get("issuer"), f"{where}.issuer"),
        audience=r.string(m.get("audience"), f"{where}.audience"),
        jwks_url=jwks_url,
        jwks_file=r.existing_file(m.get("jwks_file"), f"{where}.jwks_file"),
        algorithms=algorithms,
        roles_claim=r.string(m.get("roles_claim", JwtIssuer.roles_claim), f"{where}.roles_claim"),
        bpn_claim=r.optional_string(m.get("bpn_claim"), f"{where}.bpn_claim"),
        jwks_cache_s=r.number(m.get("jwks_cache_s"), f"{where}.jwks_cache_s", JwtIssuer.jwks_cache_s),
        jwks_min_refetch_s=r.number(m.get("jwks_min_refetch_s"), f"{where}.jwks_min_refetch_s",
                                    JwtIssuer.jwks_min_refetch_s),
    )


def _check_unique(r: _Reader, ports: list[PortSpec]) -> None:
    seen: dict[tuple[str, str | None], str] = {}
    names: set[str] = set()
    for i, port in enumerate(ports):
        if port.name in names:
            raise r.fail(f"port name {port.name!r} is used twice", f"ports[{i}].name")
        names.add(port.name)
        # two ports on one listener (or both on no listener) must differ in prefix
        key = (port.prefix, port.listen)
        if key in seen:
            raise r.fail(f"port {port.name!r} has the same listener and prefix as {seen[key]!r}", f"ports[{i}]")
        seen[key] = port.name
