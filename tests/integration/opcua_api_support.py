"""The set-up of the write-back and method tests: the simulated PLC, a mapping onto it, a gunicorn server whose API
loads that mapping (``AAS_OPCUA_MAPPING``), and the submodel the mapping's elements live in.

The ports file adds a *writable* external port with allow-all rules at ``/external``, so that only the write-back
seam stands between a partner and the PLC. A second and third source name a closed port (unreachable PLC) and a
listener that never answers (a PLC that hangs).
"""
from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from aas_server.model.ids import encode_id
from adapters.opcua.plc_sim import PlcSimConfig, PlcSimulator
from tests.factories import operation, prop, submodel
from tests.harness.server import GunicornServer, free_port

SM = "urn:test:sm:pump2:control"
SM_DOWN = "urn:test:sm:pump9:control"
SM_HUNG = "urn:test:sm:pump8:control"

_TEMPLATE = """\
        template:
          name: pump_control
          semantic_id: urn:test:cd:PumpControl
          id_short: Control
          elements:
            SpeedSetpoint: {model_type: Property, value_type: xs:double}
            PressureLimit: {model_type: Property, value_type: xs:double}
            Speed: {model_type: Property, value_type: xs:integer}
            Start: {model_type: Operation}
            SetSpeed: {model_type: Operation}
            Flush: {model_type: Operation}
            Stop: {model_type: Operation}
            Ghost: {model_type: Operation}
"""

MAPPING = """\
version: 1
adapter: opcua
name: test-control
sources:
  - name: line
    endpoint: {endpoint}
    timeout_s: 3
    submodels:
      - id: {sm}
{template}        nodes:
          SpeedSetpoint: {{node: "ns=2;s=Pump2.SpeedSetpoint", writable: true}}
          PressureLimit: {{node: "ns=2;s=Pump2.PressureLimit", writable: true, unit: {{from: bar, to: kPa}}}}
          Speed: "ns=2;s=Pump2.Speed"
        methods:
          Start: {{object: "ns=2;s=Pump2", method: "ns=2;s=Pump2.Start", timeout_s: 3}}
          SetSpeed: {{object: "ns=2;s=Pump2", method: "ns=2;s=Pump2.SetSpeed", timeout_s: 3}}
          Flush: {{object: "ns=2;s=Pump2", method: "ns=2;s=Pump2.Flush", timeout_s: 1}}
          Stop: {{object: "ns=2;s=Pump2", method: "ns=2;s=Pump2.Stop"}}
          Ghost: {{object: "ns=2;s=Pump2", method: "ns=2;s=Pump2.SelfDestruct"}}
{unreachable}"""

#: a source whose PLC cannot be talked to (closed port, or a listener that never answers)
UNREACHABLE = """\
  - name: {name}
    endpoint: opc.tcp://127.0.0.1:{port}/plc-sim
    timeout_s: {timeout_s}
    submodels:
      - id: {sm}
{template}        nodes:
          SpeedSetpoint: {{node: "ns=2;s=Pump1.SpeedSetpoint", writable: true}}
        methods:
          Stop: {{object: "ns=2;s=Pump1", method: "ns=2;s=Pump1.Stop", timeout_s: {timeout_s}}}
"""

#: anyone may do anything through the external port: only the write-back seam keeps partners from the PLC
ALLOW_ALL = {"AllAccessPermissionRules": {"rules": [
    {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["ALL"], "ACCESS": "ALLOW"},
     "OBJECTS": [{"ROUTE": "*"}], "FORMULA": {"$boolean": True}}]}}


@dataclasses.dataclass
class PlcApi:
    plc: PlcSimulator
    url: str

    def element(self, sm_id: str, path: str, prefix: str = "") -> str:
        return f"{self.url}{prefix}/api/v3.1/submodels/{encode_id(sm_id)}/submodel-elements/{path}"

    def stored(self, sm_id: str, path: str) -> dict[str, Any]:
        response = requests.get(self.element(sm_id, path), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def control_submodel(sm_id: str) -> dict[str, Any]:
    """What the mapping's elements look like in the store (as the demo plant or an import would have them)."""
    return submodel(sm_id, id_short="Control", elements=[
        prop("SpeedSetpoint", "2950.0", "xs:double"),
        prop("PressureLimit", "1600", "xs:double"),
        prop("Speed", "2950", "xs:integer"),
        operation("Start", [prop("TargetSpeed", None, "xs:integer")], [prop("Accepted", None, "xs:boolean")]),
        operation("SetSpeed", [prop("Rpm", None, "xs:double")],
                  [prop("Accepted", None, "xs:boolean"), prop("PreviousRpm", None, "xs:double")]),
        operation("Flush", [prop("Seconds", None, "xs:double")], [prop("Completed", None, "xs:boolean")]),
        operation("Stop"),
        operation("Ghost"),
    ])


@contextmanager
def plc_api(folder: Path, store_env: dict[str, str]) -> Iterator[PlcApi]:
    """The simulated PLC and a gunicorn server mapped onto it, with the three submodels created."""
    with ExitStack() as stack:
        plc = stack.enter_context(PlcSimulator(PlcSimConfig(port=0, interval_s=0.1, seed=3)))
        hung = stack.enter_context(socket.socket())
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # connections complete in the kernel's backlog; nobody ever answers
        mapping = folder / "control.yaml"
        unreachable = UNREACHABLE.format(name="down", port=free_port(), timeout_s=2, sm=SM_DOWN, template=_TEMPLATE) \
            + UNREACHABLE.format(name="hung", port=hung.getsockname()[1], timeout_s=1, sm=SM_HUNG, template=_TEMPLATE)
        mapping.write_text(MAPPING.format(endpoint=plc.url, sm=SM, template=_TEMPLATE, unreachable=unreachable),
                           encoding="utf-8")
        (folder / "rules.json").write_text(json.dumps(ALLOW_ALL), encoding="utf-8")
        (folder / "ports.yaml").write_text(yaml.safe_dump({"ports": [
            {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
            {"name": "partner", "internal": False, "prefix": "/external", "writable": True,
             "rules": str(folder / "rules.json"), "auth": {"anonymous": True}},
        ]}), encoding="utf-8")
        env = {**store_env, "AAS_OPCUA_MAPPING": str(mapping), "AAS_PORTS_FILE": str(folder / "ports.yaml")}
        server = stack.enter_context(GunicornServer(env, log_dir=folder))
        for sm_id in (SM, SM_DOWN, SM_HUNG):
            created = requests.post(f"{server.url}/api/v3.1/submodels", json=control_submodel(sm_id), timeout=10)
            assert created.status_code == 201, created.text
        yield PlcApi(plc, server.url)
