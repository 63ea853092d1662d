"""OPC UA mappings: which PLC nodes feed which submodel elements, and how the gateway talks to each PLC.

Pure: no IO besides reading the mapping file (certificates are only checked to exist). :func:`load` validates the
whole file and raises :class:`~adapters.mapping.MappingError` listing every problem with line and column, like the
batch mappings (same YAML reader, same template registry, same unit table).

File format (``adapters/mappings/opcua_pump_line.yaml`` is a complete example)::

    version: 1
    adapter: opcua
    name: pump-line                        # default: the file's stem
    sources:                               # one OPC UA server (PLC) each
      - name: line-1                       # unique; keys the gateway-health record
        endpoint: opc.tcp://127.0.0.1:4840/aas/pump-line
        security:                          # default: policy None
          policy: Basic256Sha256           # None | Basic256Sha256 | Aes128_Sha256_RsaOaep | Aes256_Sha256_RsaPss
          mode: SignAndEncrypt             # Sign | SignAndEncrypt
          certificate: certs/gateway.der   # client certificate and key (paths relative to the mapping file)
          private_key: certs/gateway.pem
          server_certificate: certs/plc.der  # trust exactly this server certificate
        user: {name: gateway, password_env: AAS_PLC_PASSWORD}   # the password never stands in the file
        timeout_s: 4                       # connect and request timeout
        reconnect: {initial_s: 0.5, max_s: 30}                  # exponential backoff between attempts
        defaults: {mode: subscribe, sampling_ms: 100, publishing_ms: 100, poll_ms: 1000}
        submodels:
          - id: https://example.com/ids/sm/P-101/OperationalData
            template: pump_operational_data    # a registry name, or an inline template (as in batch mappings)
            id_short: OperationalData          # default: the template's
            shell: {id: ..., global_asset_id: ..., id_short: P-101}   # optional: created or extended
            nodes:                             # idShortPath -> node binding
              FlowRate: "ns=2;s=P101.FlowRate"          # shorthand: a NodeId
              MotorTemperature:
                browse_path: 0:Objects/2:PumpLine/2:P101/2:MotorTemperature
                deadband: {absolute: 0.2}      # or {percent: 1} (of the node's EURange)
                unit: {from: K, to: degC}
                scale: 1                       # applied before the unit conversion
              OperatingState: {node: "ns=2;s=P101.State", map: {0: Stopped, 1: Running, 2: Fault}}
              RotationalSpeed: {node: "ns=2;s=P101.Speed", mode: poll, poll_ms: 500, writable: true}
            methods:                           # Operation idShortPath -> OPC UA method
              StartPump: {object: "ns=2;s=P101", method: "ns=2;s=P101.Start", timeout_s: 5}

A node is given by ``node`` (a NodeId string, ``ns=2;s=...``/``i=...``) or ``browse_path`` (qualified names
``ns:Name`` from the Objects folder or from ``0:Objects``). Elements are Properties of the template; their
valueType decides the stored value (numbers for integer types are rounded). ``writable`` only marks a node for
write-back (default read-only); methods bind template Operations.
"""
from __future__ import annotations

import dataclasses
import decimal
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from asyncua import ua

from submodels import templates as registry

from ..conversions import _ID_SHORT, _plain, _type_of, convert_unit
from ..mapping_file import MappingError, _Builder, _checksum, read_mapping
from ..mapping_yaml import Problems, YamlMap, YamlSeq, build_marked, mark_at

__all__ = ["Credentials", "MappingError", "MethodBinding", "NodeBinding", "OpcUaMapping", "Security",
           "SourceSpec", "SubmodelTarget", "load", "parse"]

#: security policies (mapping name -> asyncua policy class name) and message modes
POLICIES = {"None": None, "Basic256Sha256": "SecurityPolicyBasic256Sha256",
            "Aes128_Sha256_RsaOaep": "SecurityPolicyAes128Sha256RsaOaep",
            "Aes256_Sha256_RsaPss": "SecurityPolicyAes256Sha256RsaPss"}
SECURITY_MODES = ("Sign", "SignAndEncrypt")
NODE_MODES = ("subscribe", "poll")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUALIFIED = re.compile(r"\d+:[^/]+")


@dataclasses.dataclass(frozen=True)
class Security:
    """How the session is secured; ``policy`` ``None`` means an unsecured channel."""

    policy: str = "None"
    mode: str | None = None
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None

    @property
    def policy_class(self) -> str | None:
        """Name of the ``asyncua.crypto.security_policies`` class of the policy."""
        return POLICIES[self.policy]


@dataclasses.dataclass(frozen=True)
class Credentials:
    """User name; the password is read at connect time from the environment variable ``password_env``."""

    user: str
    password_env: str


@dataclasses.dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per mapped node
class NodeBinding:
    """One PLC node feeding one Property.

    :param node_id: NodeId string, or ``None`` when the node is found by ``browse_path``
    :param browse_path: qualified names (``2:PumpLine``) from the Objects folder
    :param value_type: the Property's xs: valueType (from the template)
    :param deadband: ``("absolute"|"percent", value)`` or ``None``
    """

    source: str
    submodel_id: str
    id_short_path: str
    node_id: str | None
    browse_path: tuple[str, ...] | None
    value_type: str
    mode: str = "subscribe"
    sampling_ms: float = 100.0
    publishing_ms: float = 100.0
    poll_ms: float = 1000.0
    deadband: tuple[str, float] | None = None
    scale: decimal.Decimal | None = None
    unit_from: str | None = None
    unit_to: str | None = None
    table: Mapping[str, Any] | None = None
    writable: bool = False
    line: int = 0

    @property
    def address(self) -> str:
        """The node as the mapping names it (NodeId or browse path), for messages and lineage."""
        return self.node_id if self.node_id is not None else "/".join(self.browse_path or ())

    def convert(self, raw: Any) -> str:
        """The PLC value as the Property's lexical value: table, scale, unit, then the valueType's form.

        :raises ValueError: the value does not fit (not a number, not in the table, out of the type's range)
        """
        value = raw
        if self.table is not None:
            key = str(raw).lower() if isinstance(raw, bool) else str(raw)
            if key not in self.table:
                raise ValueError(f"value {raw!r} is not in the mapping's table ({', '.join(self.table)})")
            value = self.table[key]
        elif self.scale is not None or self.unit_to is not None:
            if isinstance(raw, bool) or not isinstance(raw, (int, float, decimal.Decimal)):
                raise ValueError(f"value {raw!r} is no number to scale or convert")
            number = decimal.Decimal(repr(raw) if isinstance(raw, float) else raw)
            if self.scale is not None:
                number *= self.scale
            if self.unit_to is not None and self.unit_from is not None:
                number = convert_unit(number, self.unit_from, self.unit_to)
            value = number
        kind = _type_of(self.value_type)
        if kind == "integer" and isinstance(value, (float, decimal.Decimal)) and not isinstance(value, bool):
            value = int(decimal.Decimal(repr(value) if isinstance(value, float) else value)
                        .to_integral_value(decimal.ROUND_HALF_EVEN))
        elif kind == "double" and isinstance(value, decimal.Decimal):
            value = float(value)
        converted = registry.to_xsd_value(value, self.value_type)
        return _lexical(converted)


@dataclasses.dataclass(frozen=True)
class MethodBinding:
    """An AAS Operation carried out by an OPC UA method call on ``object_node``."""

    source: str
    submodel_id: str
    operation_path: str
    object_node: str
    method_node: str
    timeout_s: float = 10.0
    line: int = 0


@dataclasses.dataclass(frozen=True)
class SubmodelTarget:
    """A submodel the gateway fills; created from ``template`` (and the shell, if given) when missing."""

    id: str
    template: registry.Template
    id_short: str | None = None
    shell_id: str | None = None
    global_asset_id: str | None = None
    shell_id_short: str | None = None


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """One OPC UA server and everything the gateway reads from it."""

    name: str
    endpoint: str
    security: Security
    credentials: Credentials | None
    timeout_s: float
    reconnect_initial_s: float
    reconnect_max_s: float
    submodels: tuple[SubmodelTarget, ...]
    nodes: tuple[NodeBinding, ...]
    methods: tuple[MethodBinding, ...]


@dataclasses.dataclass(frozen=True)
class OpcUaMapping:
    name: str
    file: str
    checksum: str
    sources: tuple[SourceSpec, ...]

    @property
    def nodes(self) -> tuple[NodeBinding, ...]:
        return tuple(n for s in self.sources for n in s.nodes)

    @property
    def methods(self) -> tuple[MethodBinding, ...]:
        return tuple(m for s in self.sources for m in s.methods)

    def source(self, name: str) -> SourceSpec:
        """:raises KeyError: no source of that name"""
        for spec in self.sources:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def binding(self, submodel_id: str, id_short_path: str) -> NodeBinding | None:
        """The node feeding an element (write-back looks up writable elements here)."""
        return next((n for n in self.nodes if n.submodel_id == submodel_id and n.id_short_path == id_short_path),
                    None)

    def method(self, submodel_id: str, operation_path: str) -> MethodBinding | None:
        return next((m for m in self.methods
                     if m.submodel_id == submodel_id and m.operation_path == operation_path), None)


def _lexical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def load(path: str | Path, templates: Callable[[str], registry.Template] = registry.get_template) -> OpcUaMapping:
    """Read and validate an OPC UA mapping file. :raises MappingError: every problem with line and column"""
    path = Path(path)
    text, checksum = read_mapping(path)
    return parse(text, str(path), templates, checksum=checksum, base=path.parent)


def parse(text: str, file: str = "<mapping>", templates: Callable[[str], registry.Template] = registry.get_template,
          checksum: str | None = None, base: Path | None = None) -> OpcUaMapping:
    """Validate mapping text (see :func:`load`); relative certificate paths are taken from ``base``."""
    return build_marked(text, file, MappingError, "a mapping file holds a YAML mapping (version, adapter, sources)",
                        lambda doc, problems: _OpcUaBuilder(problems, templates, base or Path(".")).mapping(
                            doc, file, checksum or _checksum(text.encode("utf-8"))))


class _OpcUaBuilder(_Builder):
    """Validates an OPC UA mapping; templates (registry or inline) and units are checked as in batch mappings."""

    def __init__(self, problems: Problems, templates: Callable[[str], registry.Template], base: Path) -> None:
        super().__init__(problems, templates)
        self.base = base

    def mapping(self, doc: YamlMap, file: str, checksum: str) -> OpcUaMapping | None:  # type: ignore[override]
        self.keys(doc, ("version", "name", "description", "adapter", "sources"), "mapping",
                  ("version", "adapter", "sources"))
        if "version" in doc and doc["version"] != 1:
            self.fail(mark_at(doc, "version"), f"unsupported version {doc['version']!r} (this reader knows 1)")
        if "adapter" in doc and doc["adapter"] != "opcua":
            self.fail(mark_at(doc, "adapter"), f"adapter must be opcua here, not {doc['adapter']!r}")
        sources: list[SourceSpec] = []
        items = doc.get("sources")
        if "sources" in doc and (not isinstance(items, YamlSeq) or not items):
            self.fail(mark_at(doc, "sources"), "sources must be a non-empty list of OPC UA servers")
        elif isinstance(items, YamlSeq):
            names: set[str] = set()
            targets: set[str] = set()
            for i, item in enumerate(items):
                spec = self.source(item, f"sources[{i}]", mark_at(items, i))
                if spec is None:
                    continue
                if spec.name in names:
                    self.fail(mark_at(items, i), f"sources[{i}]: name {spec.name!r} is used twice")
                names.add(spec.name)
                for target in spec.submodels:
                    if target.id in targets:
                        self.fail(mark_at(items, i), f"sources[{i}]: submodel {target.id} is filled by two "
                                                     "sources")
                    targets.add(target.id)
                sources.append(spec)
        if self.problems.items:
            return None
        return OpcUaMapping(str(doc.get("name") or Path(file).stem), file, checksum, tuple(sources))

    def source(self, doc: Any, where: str, mark: tuple[int, int]) -> SourceSpec | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping with name, endpoint and submodels")
            return None
        self.keys(doc, ("name", "endpoint", "security", "user", "timeout_s", "reconnect", "defaults", "submodels"),
                  where, ("name", "endpoint", "submodels"))
        name = str(doc.get("name", ""))
        if "name" in doc and not _ID_SHORT.fullmatch(name):
            self.fail(mark_at(doc, "name"), f"{where}.name {name!r}: letters, digits, - and _ (starting with a "
                                            "letter)")
        endpoint = str(doc.get("endpoint", ""))
        if "endpoint" in doc and not re.fullmatch(r"opc\.tcp://[^/\s:]+(:\d+)?(/\S*)?", endpoint):
            self.fail(mark_at(doc, "endpoint"), f"{where}.endpoint must be an opc.tcp://host:port/path URL")
        security = self.security(doc.get("security", YamlMap()), f"{where}.security", mark_at(doc, "security"))
        credentials = self.user(doc["user"], f"{where}.user", mark_at(doc, "user")) if "user" in doc else None
        timeout = self.number(doc, "timeout_s", where, 4.0, 0.1, 600)
        reconnect = doc.get("reconnect", YamlMap())
        initial, most = 0.5, 30.0
        if not isinstance(reconnect, YamlMap):
            self.fail(mark_at(doc, "reconnect"), f"{where}.reconnect must be {{initial_s, max_s}}")
        else:
            self.keys(reconnect, ("initial_s", "max_s"), f"{where}.reconnect")
            initial = self.number(reconnect, "initial_s", f"{where}.reconnect", 0.5, 0.01, 3600)
            most = self.number(reconnect, "max_s", f"{where}.reconnect", max(30.0, initial), initial, 3600)
        defaults = self.node_defaults(doc.get("defaults", YamlMap()), f"{where}.defaults", mark_at(doc, "defaults"))
        targets: list[SubmodelTarget] = []
        nodes: list[NodeBinding] = []
        methods: list[MethodBinding] = []
        items = doc.get("submodels")
        if "submodels" in doc and (not isinstance(items, YamlSeq) or not items):
            self.fail(mark_at(doc, "submodels"), f"{where}.submodels must be a non-empty list")
        elif isinstance(items, YamlSeq):
            for i, item in enumerate(items):
                self.target(item, name, defaults, f"{where}.submodels[{i}]", mark_at(items, i), targets, nodes,
                            methods)
        if security is None or self.problems.items:
            return None
        return SourceSpec(name, endpoint, security, credentials, timeout, initial, most, tuple(targets),
                          tuple(nodes), tuple(methods))

    def security(self, doc: Any, where: str, mark: tuple[int, int]) -> Security | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping {{policy, mode, certificate, private_key, "
                            "server_certificate}")
            return None
        self.keys(doc, ("policy", "mode", "certificate", "private_key", "server_certificate"), where)
        policy = str(doc.get("policy", "None"))
        if policy not in POLICIES:
            self.fail(mark_at(doc, "policy"), f"{where}.policy must be one of {', '.join(POLICIES)}, not {policy!r}")
            return None
        if policy == "None":
            extra = [k for k in ("mode", "certificate", "private_key") if k in doc]
            if extra:
                self.fail(doc.mark, f"{where}: policy None takes no {', '.join(extra)}")
            return Security()
        mode = doc.get("mode")
        if mode not in SECURITY_MODES:
            self.fail(mark_at(doc, "mode"), f"{where}.mode must be Sign or SignAndEncrypt with policy {policy}")
        paths: dict[str, Path | None] = {}
        for key in ("certificate", "private_key", "server_certificate"):
            if key not in doc:
                if key != "server_certificate":
                    self.fail(doc.mark, f"{where}: {key!r} is required with policy {policy}")
                paths[key] = None
                continue
            path = self.base / str(doc[key])
            if not path.is_file():
                self.fail(mark_at(doc, key), f"{where}.{key}: no such file {path}")
            paths[key] = path
        return Security(policy, str(mode), paths["certificate"], paths["private_key"], paths["server_certificate"])

    def user(self, doc: Any, where: str, mark: tuple[int, int]) -> Credentials | None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be {{name, password_env}}")
            return None
        if "password" in doc:
            self.fail(mark_at(doc, "password"), f"{where}: never put a password in the mapping; name the "
                                                "environment variable holding it in password_env")
        self.keys(doc, ("name", "password_env", "password"), where, ("name", "password_env"))
        env = str(doc.get("password_env", ""))
        if "password_env" in doc and not _ENV_NAME.fullmatch(env):
            self.fail(mark_at(doc, "password_env"), f"{where}.password_env must be an environment variable name")
        return Credentials(str(doc.get("name", "")), env)

    def node_defaults(self, doc: Any, where: str, mark: tuple[int, int]) -> dict[str, Any]:
        """The source's defaults of node options, validated once."""
        out: dict[str, Any] = {"mode": "subscribe", "sampling_ms": 100.0, "publishing_ms": 100.0, "poll_ms": 1000.0,
                               "deadband": None}
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping of node options")
            return out
        self.keys(doc, tuple(out), where)
        if doc.get("mode", "subscribe") not in NODE_MODES:
            self.fail(mark_at(doc, "mode"), f"{where}.mode must be subscribe or poll, not {doc['mode']!r}")
        else:
            out["mode"] = doc.get("mode", "subscribe")
        for key in ("sampling_ms", "publishing_ms", "poll_ms"):
            out[key] = self.number(doc, key, where, out[key], 0, 3600000)
        if "deadband" in doc:
            out["deadband"] = self.deadband(doc["deadband"], where, mark_at(doc, "deadband"), out["mode"])
        return out

    def number(self, doc: YamlMap, key: str, where: str, default: float, low: float, high: float) -> float:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            self.fail(mark_at(doc, key), f"{where}.{key} must be a number from {low:g} to {high:g}")
            return default
        return float(value)

    def target(self, doc: Any, source: str, defaults: dict[str, Any], where: str, mark: tuple[int, int],
               targets: list[SubmodelTarget], nodes: list[NodeBinding], methods: list[MethodBinding]) -> None:
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be a mapping with id, template and nodes")
            return
        self.keys(doc, ("id", "template", "id_short", "shell", "nodes", "methods"), where, ("id", "template"))
        template = self.template(doc["template"], mark_at(doc, "template")) if "template" in doc else None
        sm_id = str(doc.get("id", ""))
        if "id" in doc and (not isinstance(doc["id"], str) or not sm_id.strip()):
            self.fail(mark_at(doc, "id"), f"{where}.id must be the submodel's id")
        id_short = doc.get("id_short")
        if id_short is not None and not _ID_SHORT.fullmatch(str(id_short)):
            self.fail(mark_at(doc, "id_short"), f"{where}.id_short {id_short!r} is no valid idShort")
        shell: dict[str, str | None] = {"id": None, "global_asset_id": None, "id_short": None}
        if "shell" in doc:
            raw = doc["shell"]
            if not isinstance(raw, YamlMap):
                self.fail(mark_at(doc, "shell"), f"{where}.shell must be {{id, global_asset_id, id_short}}")
            else:
                self.keys(raw, ("id", "global_asset_id", "id_short"), f"{where}.shell", ("id", "global_asset_id"))
                shell.update({k: str(v) for k, v in raw.items()})
        raw_nodes = doc.get("nodes", YamlMap())
        raw_methods = doc.get("methods", YamlMap())
        if not isinstance(raw_nodes, YamlMap) or not isinstance(raw_methods, YamlMap):
            self.fail(doc.mark, f"{where}: nodes and methods map idShortPaths to bindings")
            return
        if not raw_nodes and not raw_methods:
            self.fail(doc.mark, f"{where}: map at least one node or method")
        if template is None:
            return
        targets.append(SubmodelTarget(sm_id, template, str(id_short) if id_short else None, shell["id"],
                                      shell["global_asset_id"], shell["id_short"]))
        for path, node_doc in raw_nodes.items():
            binding = self.node(node_doc, template, source, sm_id, str(path), defaults, f"{where}.nodes.{path}",
                                mark_at(raw_nodes, path))
            if binding is not None:
                nodes.append(binding)
        for path, method_doc in raw_methods.items():
            method = self.method(method_doc, template, source, sm_id, str(path), f"{where}.methods.{path}",
                                 mark_at(raw_methods, path))
            if method is not None:
                methods.append(method)

    def node(self, doc: Any, template: registry.Template, source: str, sm_id: str, path: str, defaults: dict[str, Any],
             where: str, mark: tuple[int, int]) -> NodeBinding | None:
        try:
            spec = template.element(path)
        except ValueError as e:
            self.fail(mark, f"{where}: {e}")
            return None
        if spec.model_type != "Property" or not spec.value_type:
            self.fail(mark, f"{where}: a node feeds a Property, not a {spec.model_type}")
            return None
        if isinstance(doc, str):
            doc = YamlMap({"node": doc})
            doc.mark, doc.marks = mark, {"node": mark}
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where}: expected a NodeId or a mapping with node or browse_path")
            return None
        self.keys(doc, ("node", "browse_path", "mode", "sampling_ms", "publishing_ms", "poll_ms", "deadband",
                        "scale", "unit", "map", "writable"), where)
        options: dict[str, Any] = {"source": source, "submodel_id": sm_id, "id_short_path": path,
                                   "value_type": spec.value_type, "line": doc.mark[0]}
        if ("node" in doc) == ("browse_path" in doc):
            self.fail(doc.mark, f"{where}: give exactly one of node, browse_path")
        options["node_id"] = self.node_id(doc["node"], f"{where}.node", mark_at(doc, "node")) \
            if "node" in doc else None
        options["browse_path"] = None
        if "browse_path" in doc:
            steps = tuple(s for s in str(doc["browse_path"]).split("/") if s)
            if not steps or not all(_QUALIFIED.fullmatch(s) for s in steps):
                self.fail(mark_at(doc, "browse_path"), f"{where}.browse_path: qualified names ns:Name separated "
                                                       "by / (e.g. 0:Objects/2:PumpLine/2:P101/2:FlowRate)")
            options["browse_path"] = steps[1:] if steps and steps[0] == "0:Objects" else steps
        mode = doc.get("mode", defaults["mode"])
        if mode not in NODE_MODES:
            self.fail(mark_at(doc, "mode"), f"{where}.mode must be subscribe or poll, not {mode!r}")
        options["mode"] = mode
        for key in ("sampling_ms", "publishing_ms", "poll_ms"):
            options[key] = self.number(doc, key, where, defaults[key], 0, 3600000)
        options["deadband"] = self.deadband(doc["deadband"], where, mark_at(doc, "deadband"), str(mode)) \
            if "deadband" in doc else defaults["deadband"]
        if "scale" in doc:
            try:
                options["scale"] = decimal.Decimal(str(doc["scale"]))
            except decimal.InvalidOperation:
                self.fail(mark_at(doc, "scale"), f"{where}: scale must be a number")
        if "unit" in doc:
            unit = doc["unit"]
            if isinstance(unit, YamlMap) and "from_field" in unit:
                self.fail(mark_at(doc, "unit"), f"{where}: a node has no fields; give unit: {{from: UNIT, to: UNIT}}")
            else:
                self.unit_option(unit, where, mark_at(doc, "unit"), options)
        if "map" in doc:
            if not isinstance(doc["map"], dict) or not doc["map"]:
                self.fail(mark_at(doc, "map"), f"{where}: map must be a table of PLC value -> element value")
            else:
                options["table"] = {(str(k).lower() if isinstance(k, bool) else str(k)): _plain(v)
                                    for k, v in doc["map"].items()}
            if "scale" in doc or "unit" in doc:
                self.fail(mark_at(doc, "map"), f"{where}: map replaces the value; it takes no scale or unit")
        if _type_of(spec.value_type) not in ("integer", "decimal", "double") and ("scale" in doc or "unit" in doc):
            self.fail(doc.mark, f"{where}: scale and unit need a numeric Property ({spec.value_type})")
        if "writable" in doc:
            if not isinstance(doc["writable"], bool):
                self.fail(mark_at(doc, "writable"), f"{where}.writable must be true or false")
            options["writable"] = bool(doc["writable"])
        return NodeBinding(**options)

    def node_id(self, value: Any, where: str, mark: tuple[int, int]) -> str | None:
        text = str(value)
        try:
            ua.NodeId.from_string(text)
        except (ua.UaStringParsingError, ValueError) as e:
            self.fail(mark, f"{where}: {text!r} is no NodeId (ns=2;s=Name, ns=2;i=42, i=85): {e.args[-1]}")
            return None
        return text

    def deadband(self, doc: Any, where: str, mark: tuple[int, int], mode: str) -> tuple[str, float] | None:
        if not isinstance(doc, dict) or len(doc) != 1 or next(iter(doc)) not in ("absolute", "percent"):
            self.fail(mark, f"{where}.deadband must be {{absolute: X}} or {{percent: P}}")
            return None
        kind, value = next(iter(doc.items()))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                or (kind == "percent" and value > 100):
            self.fail(mark, f"{where}.deadband.{kind} must be a number >= 0" + (" and <= 100" * (kind == "percent")))
            return None
        if kind == "percent" and mode == "poll":
            self.fail(mark, f"{where}: a percent deadband needs mode subscribe (the server knows the EURange)")
        return str(kind), float(value)

    def method(self, doc: Any, template: registry.Template, source: str, sm_id: str, path: str, where: str,
               mark: tuple[int, int]) -> MethodBinding | None:
        try:
            spec = template.element(path)
        except ValueError as e:
            self.fail(mark, f"{where}: {e}")
            return None
        if spec.model_type != "Operation":
            self.fail(mark, f"{where}: a method binds an Operation, not a {spec.model_type}")
            return None
        if not isinstance(doc, YamlMap):
            self.fail(mark, f"{where} must be {{object, method, timeout_s}}")
            return None
        self.keys(doc, ("object", "method", "timeout_s"), where, ("object", "method"))
        object_node = self.node_id(doc["object"], f"{where}.object", mark_at(doc, "object")) if "object" in doc \
            else None
        method_node = self.node_id(doc["method"], f"{where}.method", mark_at(doc, "method")) if "method" in doc \
            else None
        timeout = self.number(doc, "timeout_s", where, 10.0, 0.1, 3600)
        if object_node is None or method_node is None:
            return None
        return MethodBinding(source, sm_id, path, object_node, method_node, timeout, doc.mark[0])

