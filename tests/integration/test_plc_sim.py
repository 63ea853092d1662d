"""The simulated PLC as an OPC UA client sees it: live values, range-checked setpoints, methods, restart, users."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import asyncua
import pytest
from asyncua import ua
from asyncua.sync import Client

from adapters.opcua.plc_sim import PlcSimConfig, PlcSimulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def plc() -> Iterator[PlcSimulator]:
    with PlcSimulator(PlcSimConfig(port=0, interval_s=0.1, seed=7, bench_nodes=50, bench_interval_s=0.1)) as simulator:
        yield simulator


@pytest.fixture()
def client(plc: PlcSimulator) -> Iterator[Client]:
    with Client(plc.url, timeout=10) as c:
        yield c


def _connect_error(url: str, username: str = "", password: str = "") -> BaseException | None:
    """What connecting raises (the sync client would leave its thread running after a failed connect)."""
    async def attempt() -> None:
        client = asyncua.Client(url, timeout=3)
        if username:
            client.set_user(username)
            client.set_password(password)
        async with client:
            pass

    try:
        asyncio.run(attempt())
    except Exception as e:  # noqa: BLE001 - the test inspects what was raised
        return e
    return None


def _value(client: Client, name: str) -> object:
    return client.get_node(f"ns=2;s={name}").read_value()


def _refusal(client: Client, name: str, variant: ua.Variant) -> str:
    with pytest.raises(ua.UaStatusCodeError) as refused:
        client.get_node(f"ns=2;s={name}").write_value(ua.DataValue(variant))
    return type(refused.value).__name__


def test_running_pump_values_change_with_source_timestamps(client: Client) -> None:
    assert _value(client, "Pump1.State") == "Running"
    assert _value(client, "Pump3.State") == "Stopped"
    first = client.get_node("ns=2;s=Pump1.BearingTemperature").read_data_value()
    time.sleep(0.5)
    second = client.get_node("ns=2;s=Pump1.BearingTemperature").read_data_value()
    assert second.Value.Value != first.Value.Value
    assert second.SourceTimestamp > first.SourceTimestamp
    assert 5.0 < float(_value(client, "Pump1.OutletPressure")) - float(_value(client, "Pump1.InletPressure")) < 7.0


def test_setpoint_writes_are_range_and_type_checked(plc: PlcSimulator, client: Client) -> None:
    client.get_node("ns=2;s=Pump2.SpeedSetpoint").write_value(ua.DataValue(ua.Variant(2400.0, ua.VariantType.Double)))
    assert plc.pump("Pump2").speed_setpoint == 2400.0
    assert _refusal(client, "Pump2.SpeedSetpoint", ua.Variant(4000.0, ua.VariantType.Double)) == "BadOutOfRange"
    assert _refusal(client, "Pump2.PressureLimit", ua.Variant(0.5, ua.VariantType.Double)) == "BadOutOfRange"
    assert _refusal(client, "Pump2.SpeedSetpoint", ua.Variant(2000, ua.VariantType.Int32)) == "BadTypeMismatch"
    assert _refusal(client, "Pump2.Speed", ua.Variant(1.0, ua.VariantType.Double)) == "BadUserAccessDenied"
    time.sleep(0.3)
    assert _value(client, "Pump2.SpeedSetpoint") == 2400.0


def test_methods_drive_the_state_machine(plc: PlcSimulator, client: Client) -> None:
    pump = client.get_node("ns=2;s=Pump3")
    starts = _value(client, "Pump3.StartCount")
    assert pump.call_method("2:Start", ua.Variant(9000.0, ua.VariantType.Double)) is False  # out of range
    assert pump.call_method("2:Start", ua.Variant(2950.0, ua.VariantType.Double)) is True
    assert _value(client, "Pump3.StartCount") in (starts, starts + 1)  # published on the next tick
    deadline = time.monotonic() + 10
    while _value(client, "Pump3.State") != "Running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _value(client, "Pump3.State") == "Running"
    assert _value(client, "Pump3.StartCount") == starts + 1
    accepted, previous = pump.call_method("2:SetSpeed", ua.Variant(1800.0, ua.VariantType.Double))
    assert (accepted, previous) == (True, 2950.0)
    assert pump.call_method("2:SetSpeed", ua.Variant(9000.0, ua.VariantType.Double)) == [False, 1800.0]
    # a pressure limit below the running pressure trips the pump; Start is refused until Reset
    client.get_node("ns=2;s=Pump3.PressureLimit").write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
    time.sleep(0.4)
    assert _value(client, "Pump3.State") == "Fault"
    with pytest.raises(ua.UaStatusCodeError) as refused:
        pump.call_method("2:Start", ua.Variant(2950.0, ua.VariantType.Double))
    assert type(refused.value).__name__ == "BadInvalidState"
    pump.call_method("2:Reset")
    assert plc.pump("Pump3").state == "Stopped"
    with pytest.raises(ua.UaStatusCodeError) as wrong:
        pump.call_method("2:SetSpeed", ua.Variant("fast", ua.VariantType.String))
    assert type(wrong.value).__name__ == "BadTypeMismatch"


def test_restart_on_the_same_port_keeps_the_process_state(plc: PlcSimulator) -> None:
    plc.pump("Pump1").speed_setpoint = 2222.0
    url = plc.url
    plc.stop()
    assert isinstance(_connect_error(url), OSError)
    plc.start()
    assert plc.url == url
    with Client(url, timeout=10) as c:
        assert _value(c, "Pump1.SpeedSetpoint") == 2222.0


def test_username_and_password_are_required_when_configured() -> None:
    with PlcSimulator(PlcSimConfig(port=0, username="operator", password="s3cret")) as plc:
        assert type(_connect_error(plc.url)).__name__ == "BadIdentityTokenRejected"
        assert type(_connect_error(plc.url, "operator", "guess")).__name__ == "BadUserAccessDenied"
        right = Client(plc.url, timeout=5)
        right.set_user("operator")
        right.set_password("s3cret")
        with right:
            assert _value(right, "Pump1.State") == "Running"


def test_benchmark_nodes_all_change_every_interval(client: Client) -> None:
    nodes = [client.get_node(f"ns=2;s=Bench.N{i:05d}") for i in (0, 49)]
    before = [n.read_value() for n in nodes]
    time.sleep(0.35)
    after = [n.read_value() for n in nodes]
    assert all(a >= b + 2 for a, b in zip(after, before))
