"""OPC UA mappings: the shipped example, conversions of PLC values, and line:column errors for bad input."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.mapping import MappingError
from adapters.opcua import mapping

SHIPPED = Path(__file__).resolve().parents[2] / "adapters" / "mappings" / "opcua_pump_line.yaml"

GOOD = """\
version: 1
adapter: opcua
sources:
  - name: line-1
    endpoint: opc.tcp://127.0.0.1:4840/plc
    user: {name: op, password_env: PLC_PASSWORD}
    defaults: {sampling_ms: 50, publishing_ms: 200}
    submodels:
      - id: urn:sm:1
        template:
          name: live
          semantic_id: urn:live
          id_short: Live
          elements:
            Speed: {model_type: Property, value_type: xs:int}
            Temps: {model_type: SubmodelElementCollection}
            Temps.Motor: {model_type: Property, value_type: xs:double}
            State: {model_type: Property, value_type: xs:string}
            Start: {model_type: Operation}
        nodes:
          Speed: {node: "ns=2;s=Pump1.Speed", scale: 0.5, writable: true}
          Temps.Motor: {browse_path: 0:Objects/2:PumpLine/2:Pump1/2:Motor, unit: {from: degC, to: K},
                        deadband: {absolute: 0.5}}
          State: {node: "ns=2;s=Pump1.State", mode: poll, poll_ms: 250, map: {0: Stopped, 1: Running}}
        methods:
          Start: {object: "ns=2;s=Pump1", method: "ns=2;s=Pump1.Start", timeout_s: 3}
"""


def test_the_shipped_pump_line_mapping_loads() -> None:
    loaded = mapping.load(SHIPPED)
    assert len(loaded.sources) == 1 and len(loaded.nodes) == 21 and len(loaded.methods) == 3
    setpoint = loaded.binding("https://example.com/ids/sm/P-102/OperationalData", "SpeedSetpoint")
    assert setpoint is not None and setpoint.writable and setpoint.node_id == "ns=2;s=Pump2.SpeedSetpoint"
    assert not loaded.binding("https://example.com/ids/sm/P-102/OperationalData", "FlowRate").writable  # type: ignore[union-attr]
    start = loaded.method("https://example.com/ids/sm/P-103/OperationalData", "StartPump")
    assert start is not None and start.method_node == "ns=2;s=Pump3.Start"


def test_bindings_carry_defaults_modes_and_addresses() -> None:
    loaded = mapping.parse(GOOD)
    speed, motor, state = loaded.nodes
    assert (speed.sampling_ms, speed.publishing_ms, speed.mode, speed.writable) == (50.0, 200.0, "subscribe", True)
    assert motor.browse_path == ("2:PumpLine", "2:Pump1", "2:Motor") and motor.deadband == ("absolute", 0.5)
    assert motor.address == "2:PumpLine/2:Pump1/2:Motor"
    assert (state.mode, state.poll_ms) == ("poll", 250.0)
    assert loaded.sources[0].credentials == mapping.Credentials("op", "PLC_PASSWORD")
    assert loaded.sources[0].security.policy_class is None


def test_plc_values_become_lexical_values_of_the_element_type() -> None:
    speed, motor, state = mapping.parse(GOOD).nodes
    assert speed.convert(2999.0) == "1500"  # scaled by 0.5 and rounded half-even into xs:int
    assert motor.convert(20.5) == "293.65"  # degC -> K
    assert state.convert(1) == "Running"
    with pytest.raises(ValueError, match="not in the mapping's table"):
        state.convert(7)
    with pytest.raises(ValueError, match="no number"):
        motor.convert("hot")


def test_every_problem_is_reported_with_line_and_column(tmp_path: Path) -> None:
    bad = (GOOD.replace("password_env: PLC_PASSWORD", "password: secret")
           .replace('Speed: {node: "ns=2;s=Pump1.Speed"', 'Sped: {node: "ns=2;s=Pump1.Speed"')
           .replace("to: K}", "to: bar}")
           .replace('"ns=2;s=Pump1.State"', '"ns=x;s=1"')
           .replace("publishing_ms: 200", "publishing_ms: fast"))
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(MappingError) as caught:
        mapping.load(path)
    text = str(caught.value)
    assert f"{path}:6:11: sources[0].user: 'password_env' is required" in text
    assert f"{path}:6:" in text and "never put a password in the mapping" in text
    assert f"{path}:7:" in text and "publishing_ms must be a number" in text
    assert f"{path}:21:" in text and "has no element 'Sped'; did you mean Speed?" in text
    assert f"{path}:22:" in text and "cannot convert temperature (degC) into pressure (bar)" in text
    assert f"{path}:24:" in text and "'ns=x;s=1' is no NodeId" in text
    assert "secret" not in text.replace("never put", "")  # the inline password is not echoed


def test_secured_sources_need_certificates_that_exist(tmp_path: Path) -> None:
    text = GOOD.replace("    user:", "    security: {policy: Basic256Sha256, mode: SignAndEncrypt, certificate: "
                                    "gw.der, private_key: gw.pem}\n    user:")
    with pytest.raises(MappingError) as caught:
        mapping.parse(text, "sec.yaml", base=tmp_path)
    assert f"no such file {tmp_path / 'gw.der'}" in str(caught.value) and "sec.yaml:6:" in str(caught.value)
    (tmp_path / "gw.der").write_bytes(b"x")
    (tmp_path / "gw.pem").write_bytes(b"x")
    secured = mapping.parse(text, "sec.yaml", base=tmp_path).sources[0].security
    assert secured.policy_class == "SecurityPolicyBasic256Sha256" and secured.mode == "SignAndEncrypt"
    with pytest.raises(MappingError, match="policy must be one of None, Basic256Sha256, Aes128_Sha256_RsaOaep"):
        mapping.parse(text.replace("Basic256Sha256", "Basic128Rsa15"), base=tmp_path)


def test_nodes_feed_properties_and_methods_bind_operations() -> None:
    text = GOOD.replace("          Speed: {node", "          Temps: {node").replace(
        "          Start: {object", "          State: {object")
    with pytest.raises(MappingError) as caught:
        mapping.parse(text, "kinds.yaml")
    assert "nodes.Temps: a node feeds a Property, not a SubmodelElementCollection" in str(caught.value)
    assert "methods.State: a method binds an Operation, not a Property" in str(caught.value)
