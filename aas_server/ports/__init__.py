"""Output ports: one data product served through several ports, each with its own access rules and masking.

:mod:`.config` reads the ports, :mod:`.dispatch` routes each request to its port and authenticates it,
:mod:`.policy_store` applies a port's rules and masking to everything read or written, :mod:`.audit` records what
external ports disclosed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .config import PortSpec

if TYPE_CHECKING:
    from ..settings import Settings
    from ..store.base import Store

#: WSGI environ key under which the dispatcher leaves the request's :class:`PortSpec`
PORT_ENVIRON_KEY = "aas_server.port"


def current_port() -> PortSpec | None:
    """The port of the request being served; ``None`` outside requests or when no port serves the path."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    port: PortSpec | None = request.environ.get(PORT_ENVIRON_KEY)
    return port


def port_store(spec: PortSpec, inner: Store, settings: Settings) -> Store:
    """``inner`` as ``spec`` may see it: wrapped in a :class:`~.policy_store.PolicyStore` with the port's rules and
    masking, unwrapped only for an internal port with neither. Both files are reloaded when they change. Masker and
    privacy engine get the inner store: their records (token vault, budgets) are internal and hidden from the port."""
    if spec.internal and spec.rules_file is None and spec.masking_file is None:
        return inner
    from ..security.access_rules import RuleSource
    from .policy_store import PolicyStore

    masker = None
    if spec.masking_file is not None:
        from .masking import Masker, ProfileSource
        from .privacy import PrivacyEngine

        masker = Masker(ProfileSource(spec.masking_file), inner, PrivacyEngine(inner, spec.privacy_budget))
    rules = RuleSource(spec.rules_file) if spec.rules_file is not None else None
    return PolicyStore(inner, rules, masker, settings.public_asset_id_name_set)
