"""Configuration: the only module that reads ``os.environ``.

Precedence: defaults < optional YAML/JSON file named by ``AAS_CONFIG_FILE`` < ``AAS_*`` environment variables.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import InvalidRequestError

ENV_PREFIX = "AAS_"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with; see README's settings table."""

    #: MongoDB connection URI; empty selects the embedded store in ``data_dir``
    mongodb_uri: str = ""
    #: database name on MongoDB
    mongodb_database: str = "aas"
    #: folder of the embedded store and its attachments
    data_dir: str = "./data"
    #: comma-separated origins allowed by CORS; ``*`` allows all, empty disables CORS
    cors_origins: str = "*"
    #: largest accepted request body in bytes
    max_body_bytes: int = 64 * 1024 * 1024
    #: default and largest page size for list routes
    default_page_limit: int = 100
    max_page_limit: int = 1000
    #: public base URL of this server (used in Location headers when set; otherwise taken from the request)
    public_base_url: str = ""
    #: seconds an asynchronous operation may run before it is reported as failed
    operation_timeout_s: float = 60.0
    #: log level of the server's loggers
    log_level: str = "INFO"
    #: YAML/JSON file declaring the output ports; empty: internal port at "" and a deny-all external port
    ports_file: str = ""
    #: disclosure audit of external ports: records written per batch, and seconds a record may wait for its batch
    audit_batch_size: int = 200
    audit_flush_interval_s: float = 0.5
    #: ``text`` for a terminal, ``json`` for log collectors (one JSON object per line, with the request id)
    log_format: str = "text"
    #: specificAssetId names that may be PUBLIC_READABLE (Catena-X), comma-separated
    public_asset_id_names: str = "manufacturerPartId,assetLifecyclePhase"
    #: optional ``subprotocol`` of this server's descriptor endpoints (e.g. ``DSP`` behind a connector)
    registry_subprotocol: str = ""
    #: ``subprotocolBody`` template; ``${id}`` is the shell's or submodel's id (``id=${id};dspEndpoint=...``)
    registry_subprotocol_body: str = ""
    registry_subprotocol_body_encoding: str = "plain"
    #: AAS Registry (API root, e.g. ``https://dtr.example.com/api/v3``) that shell descriptors are pushed to
    registry_push_url: str = ""
    #: seconds between push rounds of ``aas-server registry-push``
    registry_push_interval_s: float = 10.0
    #: OPC UA mapping whose writable nodes accept ``$value`` writes (write-back) and whose methods carry out
    #: Operations, in the API process; empty: no PLC is ever reached from the API
    opcua_mapping: str = ""
    #: seconds an OPC UA gateway holds a source's lease without renewing it (renewed every third); another
    #: gateway takes the source over within this time after its holder died
    gateway_lease_s: float = 15.0

    @property
    def store_kind(self) -> str:
        return "mongo" if self.mongodb_uri else "embedded"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def public_asset_id_name_set(self) -> frozenset[str]:
        return frozenset(n.strip() for n in self.public_asset_id_names.split(",") if n.strip())

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from file and environment; ``overrides`` (from the CLI or tests) win over both.

        :raises InvalidRequestError: on an unknown key or a value of the wrong type
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        config_file = environ.get(ENV_PREFIX + "CONFIG_FILE")
        if config_file:
            values.update(_read_config_file(Path(config_file)))
        for field in dataclasses.fields(cls):
            env_value = environ.get(ENV_PREFIX + field.name.upper())
            if env_value is not None:
                values[field.name] = env_value
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{name: _coerce(cls, name, value) for name, value in values.items()})


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret in environment variable ``name``, which a policy file (ports, masking) names: secrets never sit
    in files. ``None`` when unset or empty."""
    value = (os.environ if environ is None else environ).get(name)
    return value or None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise InvalidRequestError(f"cannot read config file: {e}", path=str(path)) from e
    if not isinstance(data, dict):
        raise InvalidRequestError("config file must hold a mapping", path=str(path))
    return {str(k).lower(): v for k, v in data.items()}


def _coerce(cls: type[Settings], name: str, value: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise InvalidRequestError(f"unknown setting {name!r}", path=ENV_PREFIX + name.upper())
    default = fields[name].default
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as e:
        raise InvalidRequestError(f"setting {name!r}: {e}", path=ENV_PREFIX + name.upper()) from e
