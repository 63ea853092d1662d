"""Data quality: template findings counted per template over the submodels a run writes or confirms."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from aas_server.store.base import JSON

#: findings kept as examples per (template, finding) in the summary
EXAMPLES = 3


@dataclasses.dataclass
class QualityStats:
    template: str
    checked: int = 0
    with_errors: int = 0
    with_warnings: int = 0
    #: (severity, path, message) -> [count, example submodel ids]
    findings: dict[tuple[str, str, str], list[Any]] = dataclasses.field(default_factory=dict)

    def add(self, submodel_id: str, findings: Sequence[Any]) -> None:
        self.checked += 1
        severities = {f.severity for f in findings}
        self.with_errors += "error" in severities
        self.with_warnings += "warning" in severities and "error" not in severities
        for f in findings:
            key = (f.severity, generic_path(f.path), f.message)
            slot = self.findings.setdefault(key, [0, []])
            slot[0] += 1
            if len(slot[1]) < EXAMPLES:
                slot[1].append(submodel_id)



def generic_path(path: str) -> str:
    """``localIdentifiers[3].key`` -> ``localIdentifiers[].key`` (findings counted over submodels)."""
    return re.sub(r"\[\d+\]", "[]", path)



def sampled(submodel: JSON) -> JSON:
    """A time series submodel with each segment's records cut to the first and last (for the quality check)."""
    out = dict(submodel)
    elements = []
    for element in submodel.get("submodelElements") or []:
        if element.get("idShort") == "Segments":
            segments = []
            for segment in element.get("value") or []:
                children = []
                for child in segment.get("value") or []:
                    if child.get("idShort") == "Records" and len(child.get("value") or []) > 2:
                        child = {**child, "value": [child["value"][0], child["value"][-1]]}
                    children.append(child)
                segments.append({**segment, "value": children})
            element = {**element, "value": segments}
        elements.append(element)
    out["submodelElements"] = elements
    return out
