"""AAS values on their way to a PLC: casts to the node's built-in type, and the mapping's conversions undone."""
from __future__ import annotations

import pytest
from asyncua import ua

from aas_server.errors import InvalidRequestError
from adapters.opcua import mapping
from adapters.opcua.variants import (
    binding_variant,
    to_lexical,
    to_variant,
    variant_type,
)

pytestmark = pytest.mark.unit

MAPPING = """\
version: 1
adapter: opcua
sources:
  - name: plc
    endpoint: opc.tcp://127.0.0.1:4840/plc
    submodels:
      - id: urn:test:sm
        template:
          name: t
          id_short: T
          semantic_id: urn:test:cd:t
          elements:
            Limit: {model_type: Property, value_type: xs:double}
            Scaled: {model_type: Property, value_type: xs:double}
            Mode: {model_type: Property, value_type: xs:string}
            Setpoint: {model_type: Property, value_type: xs:double}
        nodes:
          Limit: {node: "ns=2;s=Limit", writable: true, unit: {from: bar, to: kPa}}
          Scaled: {node: "ns=2;s=Scaled", writable: true, scale: 0.1}
          Mode: {node: "ns=2;s=Mode", writable: true, map: {0: Stopped, 1: Auto, 2: Manual}}
          Setpoint: {node: "ns=2;s=Setpoint", writable: true}
"""


@pytest.fixture(scope="module")
def bindings() -> dict[str, mapping.NodeBinding]:
    return {b.id_short_path: b for b in mapping.parse(MAPPING).nodes}


@pytest.mark.parametrize(("lexical", "vtype", "expected"), [
    ("2400", ua.VariantType.Double, 2400.0),
    ("2400.5", ua.VariantType.Float, 2400.5),
    ("true", ua.VariantType.Boolean, True),
    ("0", ua.VariantType.Boolean, False),
    ("65535", ua.VariantType.UInt16, 65535),
    ("-3", ua.VariantType.Int32, -3),
    ("12.0", ua.VariantType.Int64, 12),
    ("Auto", ua.VariantType.String, "Auto"),
])
def test_values_are_cast_to_the_plc_type(lexical: str, vtype: ua.VariantType, expected: object) -> None:
    variant = to_variant(lexical, vtype, "X")
    assert (variant.Value, variant.VariantType) == (expected, vtype)


@pytest.mark.parametrize(("lexical", "vtype", "words"), [
    ("65536", ua.VariantType.UInt16, "0 to 65535"),
    ("1.5", ua.VariantType.Int32, "whole number"),
    ("fast", ua.VariantType.Double, "Double"),
    ("yes", ua.VariantType.Boolean, "true or false"),
])
def test_values_that_do_not_fit_are_refused_before_the_plc(lexical: str, vtype: ua.VariantType, words: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        to_variant(lexical, vtype, "Setpoint")
    assert words in str(refused.value) and refused.value.path == "Setpoint"


def test_structured_types_are_not_converted() -> None:
    assert variant_type(ua.NodeId(11)) == ua.VariantType.Double
    with pytest.raises(InvalidRequestError, match="structured or custom"):
        variant_type(ua.NodeId(3001, 2))


def test_the_mapping_conversions_are_undone(bindings: dict[str, mapping.NodeBinding]) -> None:
    assert binding_variant(bindings["Limit"], "1200", ua.VariantType.Double).Value == 12.0  # kPa -> bar
    assert binding_variant(bindings["Scaled"], "25", ua.VariantType.Double).Value == 250.0  # / scale
    assert binding_variant(bindings["Mode"], "Manual", ua.VariantType.Int32).Value == 2  # table, reversed
    assert binding_variant(bindings["Setpoint"], "2950.0", ua.VariantType.Double).Value == 2950.0
    with pytest.raises(InvalidRequestError, match="Stopped, Auto, Manual"):
        binding_variant(bindings["Mode"], "Turbo", ua.VariantType.Int32)


def test_round_trip_through_the_gateway_conversion(bindings: dict[str, mapping.NodeBinding]) -> None:
    for path, lexical, vtype in (("Limit", "1250.0", ua.VariantType.Double), ("Scaled", "2.5", ua.VariantType.Double),
                                 ("Mode", "Auto", ua.VariantType.Int32)):
        binding = bindings[path]
        assert binding.convert(binding_variant(binding, lexical, vtype).Value) == lexical


def test_plc_outputs_become_lexical_values() -> None:
    assert to_lexical(True, "xs:boolean", "Accepted") == "true"
    assert to_lexical(2949.6, "xs:integer", "Rpm") == "2950"
    assert to_lexical(1800.0, "xs:double", "PreviousRpm") == "1800.0"
    with pytest.raises(ValueError, match="Rpm"):
        to_lexical("fast", "xs:integer", "Rpm")
