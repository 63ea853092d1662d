"""The mapping model: validated rules, built by :mod:`adapters.mapping_file`, applied by :mod:`adapters.mapping_apply`."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping as TMapping
from typing import Any

from submodels import templates as registry

from . import mapping_apply
from .base import Record
from .conversions import TextTemplate, ValueRule
from .mapping_plan import Plan

ADAPTERS = ("csv", "erp-flat", "erp-idoc")
MODES = ("replace", "change", "delete")


@dataclasses.dataclass(frozen=True)
class ShellRule:
    id: TextTemplate
    global_asset_id: TextTemplate
    id_short: TextTemplate | None
    asset_kind: str
    asset_type: TextTemplate | None
    specific_asset_ids: tuple[tuple[str, TextTemplate], ...]
    line: int


@dataclasses.dataclass(frozen=True)
class SeriesRule:
    time: ValueRule
    window: int  # seconds
    max_records: int
    variables: tuple[tuple[str, ValueRule], ...]
    line: int


@dataclasses.dataclass(frozen=True)
class SubmodelRule:
    index: int
    template: registry.Template
    id: TextTemplate
    id_short: str | None
    elements: tuple[tuple[str, ValueRule], ...]
    series: SeriesRule | None
    line: int

    @property
    def label(self) -> str:
        return f"submodels[{self.index}]"


@dataclasses.dataclass(frozen=True)
class ChangeFlag:
    field: str
    modes: TMapping[str, str]  # flag value -> mode
    default: str
    line: int


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    name: str
    file: str
    checksum: str
    adapter: str
    source: TMapping[str, Any]
    shell: ShellRule
    submodels: tuple[SubmodelRule, ...]
    change_flag: ChangeFlag | None
    source_time: ValueRule | None

    def apply(self, record: Record) -> Plan:
        """The values ``record`` gives. :raises RecordError: listing every field that does not fit"""
        return mapping_apply.apply(self, record)
