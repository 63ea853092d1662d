"""Flat ERP exports (SAP list exports, report downloads): CSV with ERP habits, read by the CSV source.

Defaults differ from plain CSV where ERP exports differ: ``;`` as delimiter (German locale), encoding detected
(the sample is ISO-8859-1 with CRLF). Decimal commas, ``dd.mm.yyyy`` dates and leading zeros are conversions of
the mapping (``defaults: {decimal: ",", date_format: "%d.%m.%Y"}``, ``nozeros``), not of the source.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..csvfile.source import CsvSource

ADAPTER = "erp-flat"


def flat_source(path: str | Path, options: Mapping[str, Any] | None = None) -> CsvSource:
    """A source for one flat export; ``options`` as in a mapping's ``source`` block."""
    settings = {"delimiter": ";", **(options or {})}
    return CsvSource.from_options(path, settings, adapter=ADAPTER)
