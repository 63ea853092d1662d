"""The caller of a request: the one object authentication produces and every policy decision reads.

The port middleware sets it for the duration of a request (:func:`acting_as`); code outside a request
(adapters, CLI, the gateway) has no caller and acts as the system, with full access.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated (or anonymous) caller as one port sees it.

    :param port: name of the port the request came through
    :param internal: the port serves the company itself (full detail, subject to access rules)
    :param subject: token ``sub`` or API key name; ``None`` when anonymous
    :param bpn: Catena-X Business Partner Number, set only when a trusted data plane forwarded it
    :param contract_agreement: ``Edc-Contract-Agreement-Id`` forwarded with the BPN
    :param roles: role names from the token or the API key
    :param claims: every verified token claim, for the CLAIM attributes of access rules
    """

    port: str
    internal: bool
    subject: str | None = None
    bpn: str | None = None
    contract_agreement: str | None = None
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def partner(self) -> str:
        """The key that privacy budgets, keyed hashes and audit records are kept under."""
        return self.bpn or self.subject or "anonymous"


_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("aas_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the request being served; ``None`` outside requests (the system)."""
    return _current.get()


@contextlib.contextmanager
def acting_as(caller: Caller | None) -> Iterator[None]:
    token = _current.set(caller)
    try:
        yield
    finally:
        _current.reset(token)
