"""Catena-X visibility of specificAssetIds (CX-0002): who may see which asset id.

An id with an ``externalSubjectId`` is shown only to the BPNs named there, or to everyone when it names
``PUBLIC_READABLE`` and the id's name is one the configuration allows to be public. An id without
``externalSubjectId`` is treated as internal: hidden from external callers. Internal ports see everything.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .caller import Caller

PUBLIC_READABLE = "PUBLIC_READABLE"
#: names that may be PUBLIC_READABLE unless configured otherwise (Catena-X DTR default)
DEFAULT_PUBLIC_NAMES = frozenset({"manufacturerPartId", "assetLifecyclePhase"})


def subjects(specific_asset_id: dict[str, Any]) -> list[str]:
    """The values of the keys of ``externalSubjectId``."""
    reference = specific_asset_id.get("externalSubjectId") or {}
    return [str(key.get("value", "")) for key in reference.get("keys", [])]


def is_visible(specific_asset_id: dict[str, Any], caller: Caller | None,
               public_names: Collection[str] = DEFAULT_PUBLIC_NAMES) -> bool:
    if caller is None or caller.internal:
        return True
    allowed = subjects(specific_asset_id)
    if PUBLIC_READABLE in allowed and specific_asset_id.get("name") in public_names:
        return True
    return caller.bpn is not None and caller.bpn in allowed


def visible_asset_ids(specific_asset_ids: list[dict[str, Any]], caller: Caller | None,
                      public_names: Collection[str] = DEFAULT_PUBLIC_NAMES) -> list[dict[str, Any]]:
    """The ids ``caller`` may see, in their order."""
    return [s for s in specific_asset_ids if is_visible(s, caller, public_names)]
