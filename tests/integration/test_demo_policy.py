"""The shipped demo policy (deploy/ports.demo.yaml with deploy/rules/external.json and deploy/masking/external.yaml)
on the demo plant and the sample ingests: what the external port gives an anonymous caller and a partner."""
from __future__ import annotations

import json
from typing import Any

import pytest

from aas_server.model import codec
from aas_server.ports import port_store
from aas_server.ports.config import load_ports
from aas_server.ports.masking_transforms import marker_form
from aas_server.security.caller import Caller, acting_as
from aas_server.services import environment
from aas_server.settings import Settings
from aas_server.store.base import Query, iterate
from tests.integration.ingest_support import ROOT, SERIAL_EXPORT, TEST_BENCH, run

pytestmark = pytest.mark.integration

ANONYMOUS = Caller("external", False)
PARTNER = Caller("external", False, bpn="BPNL00000003AYRE", contract_agreement="demo-agreement")
PERSONAL = ["J. Weber", "A. Yilmaz", "Jürgen Weiß", "Anna Çelik", "Müller Pumpen GmbH", "Brenntag Süd AG",
            "0000401122", "401122", "Nacharbeit"]
SERIALS = ["CPX80-2021-0042", "CPX80-2021-0043", "CPX80-2023-0117"]


@pytest.fixture()
def external(store: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    from aas_server.demo import build_demo_plant

    monkeypatch.setenv("AAS_MASKING_SECRET", "demo-masking-secret-0123456789abcdef01")
    monkeypatch.chdir(ROOT)  # the ports file names the policy files relative to the repository root
    environment.import_environment(store, environment.from_sdk(*build_demo_plant()))
    run(store, "serial_units_export", SERIAL_EXPORT)
    run(store, "test_bench_timeseries", TEST_BENCH)
    spec = next(p for p in load_ports("deploy/ports.demo.yaml") if p.name == "external")
    return port_store(spec, store, settings)


def _everything(policy: Any, caller: Caller) -> dict[str, list[dict[str, Any]]]:
    with acting_as(caller):
        return {kind: list(iterate(lambda page, k=kind: policy.find(k, Query(), page)))
                for kind in ("shell", "submodel", "concept_description")}


def _semantic(submodel: dict[str, Any]) -> str:
    return submodel["semanticId"]["keys"][0]["value"]


def test_anonymous_callers_get_the_public_nameplate_data_only(external: Any) -> None:
    seen = _everything(external, ANONYMOUS)
    assert {_semantic(s) for s in seen["submodel"]} == {"https://admin-shell.io/idta/nameplate/3/0/Nameplate",
                                                        "https://admin-shell.io/ZVEI/TechnicalData/Submodel/1/2"}
    text = json.dumps(seen, ensure_ascii=False)
    assert not [s for s in SERIALS if s in text]  # nameplate serial numbers are keyed hashes
    assert "CPX80-160-15" in text  # the public article number is there
    assert '"serialNumber"' not in text  # specificAssetIds without externalSubjectId stay internal


def test_partners_get_masked_operations_and_production_data(external: Any) -> None:
    seen = _everything(external, PARTNER)
    text = json.dumps(seen, ensure_ascii=False)
    assert not [p for p in PERSONAL if p in text]
    assert not [s for s in SERIALS if s in text]
    # the unit's serial number is hashed in the SerialPart's values (the mapping puts it in the ids too: open)
    serial_parts = [s["submodelElements"] for s in seen["submodel"] if s["id"].endswith("/SerialPart")]
    assert serial_parts and not [s for s in serial_parts if "CP3200-24-" in json.dumps(s)]
    by_id = {s["id"]: s for s in seen["submodel"]}
    operational = by_id["https://example.com/ids/sm/P-101/OperationalData"]
    temperature = next(e for e in operational["submodelElements"] if e["idShort"] == "MotorTemperature")
    assert (temperature["value"], marker_form(temperature)) == ("60.0", "generalized")  # 61.5 to 10 degrees
    series = next(s for s in seen["submodel"] if _semantic(s) == "https://admin-shell.io/idta/TimeSeries/1/1")
    segments = next(e for e in series["submodelElements"] if e["idShort"] == "Segments")
    assert (marker_form(segments) or "").startswith("dp:")
    assert "Records" not in json.dumps(segments)  # no raw reading leaves
    for submodel in seen["submodel"]:
        assert codec.validate("submodel", submodel) == submodel  # masked, still valid for the metamodel


def test_the_internal_view_is_unmasked(store: Any) -> None:
    """The same store read without a port: the values the policy masks are really there (the checks can fail)."""
    from aas_server.demo import build_demo_plant

    environment.import_environment(store, environment.from_sdk(*build_demo_plant()))
    run(store, "serial_units_export", SERIAL_EXPORT)
    text = json.dumps(list(iterate(lambda page: store.find("submodel", Query(), page))), ensure_ascii=False)
    assert all(value in text for value in ["J. Weber", "Jürgen Weiß", "Müller Pumpen GmbH", *SERIALS])
