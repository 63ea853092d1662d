"""What one record gives: the plan :meth:`Mapping.apply` returns and :mod:`adapters.ingest` writes."""
from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import templates as registry

from .base import Position
from .conversions import ValueRule

if TYPE_CHECKING:
    from .mapping_rules import SubmodelRule


@dataclasses.dataclass(frozen=True)
class Value:
    """One value for an element, with where it came from (for lineage)."""

    path: str
    value: Any
    rule: ValueRule
    field: str | None
    position: Position


@dataclasses.dataclass(frozen=True)
class SeriesPoint:
    """One time series row: its time and variable values (absent ones left out)."""

    time: datetime.datetime
    values: tuple[tuple[str, Any], ...]
    position: Position


@dataclasses.dataclass(frozen=True)
class ShellPlan:
    id: str
    global_asset_id: str
    id_short: str | None
    asset_kind: str
    asset_type: str | None
    specific_asset_ids: tuple[tuple[str, str], ...]


@dataclasses.dataclass
class SubmodelPlan:
    rule: SubmodelRule
    id: str
    values: list[Value]
    point: SeriesPoint | None = None

    def build_values(self) -> dict[str, Any]:
        """Values for ``Template.build``: free elements become SDK elements."""
        out: dict[str, Any] = {}
        for value in self.values:
            out[value.path] = _free_element(value) if value.rule.free else value.value
        return out


@dataclasses.dataclass
class Plan:
    position: Position
    shell: ShellPlan
    submodels: list[SubmodelPlan]
    mode: str
    source_time: datetime.datetime | None



def _free_element(value: Value) -> model.SubmodelElement:
    """An SDK element for a path the template leaves free (``{arbitrary}``)."""
    rule = value.rule
    id_short = value.path.rsplit(".", 1)[-1]
    semantic_id = model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, rule.semantic_id),)) \
        if rule.semantic_id else None
    if isinstance(value.value, dict):
        return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType(value.value), semantic_id=semantic_id)
    value_type = datatypes.XSD_TYPE_CLASSES[rule.value_type or "xs:string"]
    return model.Property(id_short, value_type, registry.to_xsd_value(value.value, rule.value_type or "xs:string"),
                          semantic_id=semantic_id)

