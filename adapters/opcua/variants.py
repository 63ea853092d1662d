"""AAS values to OPC UA variants and back, for what the API sends to a PLC (write-back, method arguments).

The gateway's direction (PLC value -> Property) is :meth:`NodeBinding.convert`; :func:`binding_variant` is its
inverse for a writable node (table, unit and scale undone), :func:`to_variant` casts a lexical AAS value to the
built-in type the PLC declares, and :func:`to_lexical` gives a PLC value back as an xs: lexical value.
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any

from asyncua import ua

from aas_server.errors import InvalidRequestError
from submodels import templates as registry

from ..conversions import _type_of, convert_unit
from .mapping import NodeBinding, _lexical

_INTEGERS = {
    ua.VariantType.SByte: (-2**7, 2**7 - 1), ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-2**15, 2**15 - 1), ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-2**31, 2**31 - 1), ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-2**63, 2**63 - 1), ua.VariantType.UInt64: (0, 2**64 - 1),
}


def variant_type(data_type: ua.NodeId) -> ua.VariantType:
    """The built-in type of a DataType NodeId (``i=11`` -> Double). :raises InvalidRequestError: not built-in"""
    if data_type.NamespaceIndex == 0 and isinstance(data_type.Identifier, int) and 1 <= data_type.Identifier <= 25:
        return ua.VariantType(data_type.Identifier)
    raise InvalidRequestError(f"the PLC declares the structured or custom type {data_type.to_string()}, which "
                              "aas-server does not convert")


def to_variant(lexical: Any, vtype: ua.VariantType, where: str) -> ua.Variant:
    """The AAS value (lexical string, or a plain number/bool) as a variant of ``vtype``.

    :raises InvalidRequestError: the value does not fit the type (before anything reaches the PLC)
    """
    text = _text(lexical)
    try:
        if vtype == ua.VariantType.Boolean:
            if text not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return ua.Variant(text in ("true", "1"), vtype)
        if vtype in _INTEGERS:
            number = decimal.Decimal(text)
            low, high = _INTEGERS[vtype]
            if number != number.to_integral_value() or not low <= number <= high:
                raise ValueError(f"expected a whole number from {low} to {high}")
            return ua.Variant(int(number), vtype)
        if vtype in (ua.VariantType.Double, ua.VariantType.Float):
            return ua.Variant(float(decimal.Decimal(text)), vtype)
        if vtype in (ua.VariantType.String, ua.VariantType.LocalizedText):
            return ua.Variant(text if vtype == ua.VariantType.String else ua.LocalizedText(text), vtype)
        if vtype == ua.VariantType.DateTime:
            return ua.Variant(datetime.datetime.fromisoformat(text), vtype)
    except (ValueError, decimal.InvalidOperation) as e:
        raise InvalidRequestError(f"{text!r} does not fit the PLC's type {vtype.name}: {e}", path=where) from e
    raise InvalidRequestError(f"aas-server does not write values of the PLC type {vtype.name}", path=where)


def binding_variant(binding: NodeBinding, lexical: Any, vtype: ua.VariantType) -> ua.Variant:
    """The Property value of ``binding`` as the PLC value its node takes: the inverse of ``binding.convert``."""
    text = _text(lexical)
    if binding.table is not None:
        keys = [key for key, value in binding.table.items() if _text(value) == text]
        if not keys:
            raise InvalidRequestError(f"{text!r} is not a value of the mapping's table "
                                      f"({', '.join(map(_text, binding.table.values()))})", path=binding.id_short_path)
        return to_variant(keys[0], vtype, binding.id_short_path)
    if binding.scale is not None or binding.unit_to is not None:
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation as e:
            raise InvalidRequestError(f"{text!r} is no number", path=binding.id_short_path) from e
        if binding.unit_to is not None and binding.unit_from is not None:
            number = convert_unit(number, binding.unit_to, binding.unit_from)
        if binding.scale is not None:
            number /= binding.scale
        text = str(number)
    return to_variant(text, vtype, binding.id_short_path)


def to_lexical(value: Any, value_type: str, where: str) -> str:
    """A PLC value as the lexical value of an xs: ``value_type`` (whole numbers of integer types are rounded).

    :raises ValueError: the value is not in the type's value space
    """
    if _type_of(value_type) == "integer" and isinstance(value, float):
        value = round(value)
    try:
        return _lexical(registry.to_xsd_value(value, value_type))
    except (ValueError, TypeError, decimal.InvalidOperation) as e:
        raise ValueError(f"{where}: the PLC's {value!r} is no {value_type}: {e}") from e


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
