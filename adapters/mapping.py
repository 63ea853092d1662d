"""Declarative mappings: how a source record becomes a shell and the template submodels it fills.

Pure: no IO besides reading the mapping file. A mapping file is YAML; :func:`load` validates it completely and
reports every problem with its line and column (taken from the YAML node marks), element paths included, which
are checked against the submodel template. :meth:`Mapping.apply` turns one :class:`~adapters.base.Record` into a
:class:`Plan` (the values to write, each with the rule and source position it came from) or raises
:class:`RecordError` naming every field that does not fit.

File format (see ``adapters/mappings/*.yaml`` for complete examples)::

    version: 1
    name: serial-units                  # default: the file's stem
    adapter: erp-flat                   # csv | erp-flat | erp-idoc
    source: {encoding: iso-8859-1, delimiter: ";"}     # options of the adapter's source
    defaults: {decimal: ",", date_format: "%d.%m.%Y"}  # conversion options of every value rule
    source_time: {field: PRUEFDATUM}    # optional: when the source produced the record
    change_flag:                        # optional: how a record applies (default: replace)
      {field: E1MARAM/MSGFN, replace: ["005"], change: ["004"], delete: ["003"]}
    shell:
      id: "https://example.com/ids/aas/serial/{SERNR}"
      global_asset_id: "https://example.com/ids/asset/serial/{SERNR}"
      asset_kind: Instance              # or Type
      specific_asset_ids: {partInstanceId: "{SERNR}", manufacturerPartId: "{MATNR|nozeros}"}
    submodels:
      - template: cx_serial_part        # a registry name, or an inline template (see below)
        id: "https://example.com/ids/sm/serial/{SERNR}/SerialPart"
        elements:
          localIdentifiers[0].key: {const: partInstanceId}
          localIdentifiers[0].value: SERNR
          manufacturingInformation.date: {field: HERDAT, type: date}

Strings in ``id``-like places are text templates: ``{FIELD}`` or ``{FIELD|filter|...}`` (filters ``nozeros``,
``strip``, ``upper``, ``lower``, ``idshort``, ``quote``, ``uuid5``; ``{{`` for a brace); every field they name is a
key: a record without it is rejected. An element's rule is a field name (shorthand), a text template (a string
with ``{``), or a mapping with exactly one of ``field``, ``const``, ``text``, ``texts`` (language-tagged texts from
fields or from a repeated group) or ``range`` (``{min: rule, max: rule}``), and options: ``type`` (string,
integer, decimal, double, boolean, date, datetime; inferred from the template's valueType when absent),
``format`` (strptime, one or a list), ``decimal``, ``thousands``, ``nozeros``, ``map`` (a lookup table),
``default``, ``required``, ``unit`` (``{from: g, to: kg}`` or ``{from_field: GEWEI, to: kg}``), ``scale``,
``lang``, ``timezone``; elements the template leaves free (``{arbitrary}``) also take ``value_type`` and
``semantic_id``. An empty cell is an absent value: the element is left out (replace) or kept (change).

A submodel of the ``time_series`` template has a ``time_series`` block instead of per-record elements: ``time``
(a rule giving the timestamp), ``window`` (segment length: ``30s``, ``15min``, ``1h``, ``1d``), ``max_records``
and ``variables`` (idShort -> rule with ``value_type`` and ``semantic_id``); see :mod:`adapters.series`.

An inline template is a mapping ``{name, semantic_id, id_short, elements: {path: {model_type, value_type,
semantic_id, required, unit, minimum, maximum}}}``: for data no published template covers (the shipped
serial-unit mapping keeps end-of-line test data and the personal data of the export in one, so masking can
drop it as a whole on external ports).
"""
from __future__ import annotations

from .conversions import RecordError
from .mapping_file import MappingError, load, parse
from .mapping_plan import ShellPlan
from .mapping_rules import Mapping

__all__ = ["Mapping", "MappingError", "RecordError", "ShellPlan", "load", "parse"]
