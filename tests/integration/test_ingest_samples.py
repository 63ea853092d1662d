"""The three sample inputs through their shipped mappings, on both stores: resulting submodels field by field,
rejects with their reasons, shells shared by two mappings, lineage back to the exact line or XPath, re-runs."""
from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest

from aas_server import create_app
from aas_server.errors import NotFoundError
from aas_server.model.ids import encode_id
from aas_server.settings import Settings
from aas_server.store import open_store
from adapters import lineage
from tests.integration.ingest_support import (
    MATMAS,
    SERIAL_EXPORT,
    TEST_BENCH,
    diff_paths,
    run,
    snapshot,
    value_types,
    values,
)

pytestmark = pytest.mark.integration

SM = "https://example.com/ids/sm"
AAS = "https://example.com/ids/aas"


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One store per module and store kind with all three samples ingested (in the order of the demo)."""
    tmp = tmp_path_factory.mktemp("ingest")
    settings = Settings(data_dir=str(tmp))
    if request.param == "mongo":
        settings = Settings(mongodb_uri=request.getfixturevalue("mongo_uri"), data_dir=str(tmp),
                            mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}")
    opened = open_store(settings)
    summaries = {
        "matmas": run(opened, "matmas_material_master", MATMAS),
        "serial": run(opened, "serial_units_export", SERIAL_EXPORT, rejects=tmp / "rejects.csv"),
        "bench": run(opened, "test_bench_timeseries", TEST_BENCH),
    }
    yield opened, summaries, settings, tmp
    if settings.mongodb_uri:
        opened.drop()  # type: ignore[attr-defined]
    opened.close()


@pytest.fixture
def loaded(shared):
    return shared[1]


@pytest.fixture
def sample_store(shared):
    return shared[0]


def test_material_master_fills_nameplate_and_technical_data(sample_store, loaded):
    assert (loaded["matmas"].loaded, loaded["matmas"].rejected) == (3, 0)
    nameplate = sample_store.get("submodel", f"{SM}/material/100234/Nameplate")
    assert nameplate["semanticId"]["keys"][0]["value"] == "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
    assert values(nameplate) == {
        "URIOfTheProduct": "https://example.com/products/100234",
        "ManufacturerName": {"de": "ACME Pumpen GmbH", "en": "ACME Pumpen GmbH"},
        "ManufacturerProductDesignation": {"de": "Kreiselpumpe CP-3200 Edelstahl",
                                           "en": "Centrifugal pump CP-3200, stainless steel"},
        "AddressInformation.Street": {"de": "Pumpenweg 1"},
        "AddressInformation.Zipcode": {"de": "70173"},
        "AddressInformation.CityTown": {"de": "Stuttgart"},
        "AddressInformation.NationalCode": {"de": "DE"},
        "ManufacturerProductType": "CP-3200-X",
        "OrderCodeOfManufacturer": "CP-3200-X",
        "ProductArticleNumberOfManufacturer": "100234",
        "CountryOfOrigin": "DE",
    }
    technical = sample_store.get("submodel", f"{SM}/material/200017/TechnicalData")
    assert values(technical) == {
        "GeneralInformation.ManufacturerName": "ACME Pumpen GmbH",
        "GeneralInformation.ManufacturerProductDesignation": {"de": "Gleitringdichtung 32 mm FKM"},
        "GeneralInformation.ManufacturerArticleNumber": "200017",
        "GeneralInformation.ManufacturerOrderCode": "MS-32-FKM",
        "ProductClassifications.ProductClassificationItem01.ProductClassificationSystem": "SAP material group",
        "ProductClassifications.ProductClassificationItem01.ProductClassId": "SEALS",
        "TechnicalProperties.GrossWeight": "0.12",
        "TechnicalProperties.NetWeight": "0.115",
        "TechnicalProperties.MaterialType": "semi-finished product",
        "FurtherInformation.ValidDate": "2023-09-21",
    }
    types = value_types(technical)
    assert types["TechnicalProperties.GrossWeight"] == "xs:double"
    assert types["FurtherInformation.ValidDate"] == "xs:date"
    # the ampersand of the XML comes through decoded, the cost data (E1MBEWM) nowhere
    nameplate = values(sample_store.get("submodel", f"{SM}/material/100235/Nameplate"))
    designation = nameplate["ManufacturerProductDesignation"]
    assert designation["en"] == "Centrifugal pump CP-4500 & ATEX option"
    assert "843.17" not in str(snapshot(sample_store))
    shell = sample_store.get("shell", f"{AAS}/material/100234")
    assert shell["assetInformation"] == {
        "assetKind": "Type", "globalAssetId": "https://example.com/ids/asset/material/100234",
        "specificAssetIds": [{"name": "manufacturerPartId", "value": "100234"}]}


def test_serial_export_loads_five_and_rejects_two_with_reasons(shared):
    store, loaded, _, tmp_path = shared
    summary = loaded["serial"]
    assert (summary.records, summary.loaded, summary.unchanged, summary.rejected) == (7, 5, 0, 2)
    assert summary.exit_code == 1
    with open(tmp_path / "rejects.csv", encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    assert [(r["line"], r["field"]) for r in rejects] == [("7", "HERDAT"), ("8", "DREHMOMENT_NM")]
    assert rejects[0]["reason"] == "impossible date '31.02.2025': day is out of range for month (format %d.%m.%Y)"
    assert rejects[1]["reason"] == "'n/a' is not a number"
    assert rejects[0]["file"] == str(SERIAL_EXPORT)
    assert rejects[0]["rule"] == "submodels[0].elements.manufacturingInformation.date"
    # nothing of a rejected record is written
    with pytest.raises(NotFoundError):
        store.get("submodel", f"{SM}/serial/CP4500-25-000003/SerialPart")
    with pytest.raises(NotFoundError):
        store.get("submodel", f"{SM}/serial/CP4500-25-000002/ProductionRecord")


def test_serial_export_values_and_personal_data_placement(sample_store, loaded):
    serial_part = sample_store.get("submodel", f"{SM}/serial/CP3200-24-000103/SerialPart")
    assert values(serial_part) == {
        "catenaXId": "urn:uuid:cbe37f0a-0eed-5888-9655-5f4d28ebeb9a",
        "localIdentifiers[0].key": "manufacturerId",
        "localIdentifiers[0].value": "BPNL00000003AYRE",
        "localIdentifiers[1].key": "partInstanceId",
        "localIdentifiers[1].value": "CP3200-24-000103",
        "localIdentifiers[2].key": "batchId",
        "localIdentifiers[2].value": "B2406-12",
        "manufacturingInformation.date": "2024-06-15",
        "manufacturingInformation.country": "DEU",
        "manufacturingInformation.sites[0].catenaXsiteId": "BPNS000000001000",
        "manufacturingInformation.sites[0].function": "production",
        "partTypeInformation.manufacturerPartId": "100234",
    }
    assert "Çelik" not in str(serial_part)
    assert "Brenntag" not in str(serial_part)
    record = sample_store.get("submodel", f"{SM}/serial/CP3200-24-000103/ProductionRecord")
    assert values(record) == {
        "Plant": "1000",
        "EndOfLineTest.TestDate": "2024-06-18",
        "EndOfLineTest.Inspector": "Anna Çelik",
        "EndOfLineTest.Torque": "41.9",
        "EndOfLineTest.Weight": "11.87",
        "EndOfLineTest.Remark": {"de": "Nacharbeit Dichtung;\nfreigegeben QS"},  # quoted ";" and CRLF
        "Customer.CustomerNumber": "400987",
        "Customer.CustomerName": "Brenntag Süd AG",
    }
    quality = loaded["serial"].quality["cx_serial_part"]
    assert (quality.checked, quality.with_errors) == (5, 5)
    assert {path for _, path, _ in quality.findings} == {"partTypeInformation.nameAtManufacturer"}
    assert lineage.load(sample_store, f"{SM}/serial/CP3200-24-000103/SerialPart")["quality"] == [
        ["error", "partTypeInformation.nameAtManufacturer",
         "required Property missing (urn:samm:io.catenax.serial_part:3.0.0#nameAtManufacturer)"]]


def test_test_bench_becomes_time_series_segments(sample_store, loaded):
    assert (loaded["bench"].records, loaded["bench"].loaded, loaded["bench"].rejected) == (1800, 1800, 0)
    series = sample_store.get("submodel", f"{SM}/serial/CP4500-25-000001/TimeSeries")
    found = values(series)
    segment = "Segments.InternalSegment2025020507000001"
    assert found[f"{segment}.RecordCount"] == "600"
    assert found[f"{segment}.StartTime"] == "2025-02-05T07:00:00+00:00"
    assert found[f"{segment}.EndTime"] == "2025-02-05T07:09:59+00:00"
    assert found[f"{segment}.SamplingInterval"] == "1"
    first = {k.rsplit(".", 1)[1]: v for k, v in found.items() if ".Record00001." in k}
    assert first == {"Time": "2025-02-05T07:00:00+00:00", "inlet_pressure_bar": "0.995", "outlet_pressure_bar": "6.226",
                     "flow_m3_h": "37.93", "power_kw": "7.375", "vibration_mm_s": "0.96", "result": "PASS"}
    dropout = {k.rsplit(".", 1)[1] for k in found if ".Record00239." in k}  # line 240: empty vibration cell
    assert "vibration_mm_s" not in dropout
    assert "flow_m3_h" in dropout
    assert value_types(series)[f"{segment}.Records.Record00001.flow_m3_h"] == "xs:double"
    assert loaded["bench"].quality["time_series"].with_errors == 0


def test_serial_shell_keeps_submodels_of_both_mappings(sample_store, loaded):
    shell = sample_store.get("shell", f"{AAS}/serial/CP4500-25-000001")
    refs = [r["keys"][0]["value"] for r in shell["submodels"]]
    assert refs == [f"{SM}/serial/CP4500-25-000001/SerialPart", f"{SM}/serial/CP4500-25-000001/ProductionRecord",
                    f"{AAS}/serial/CP4500-25-000001/provenance", f"{SM}/serial/CP4500-25-000001/TimeSeries"]
    assert shell["assetInformation"]["specificAssetIds"] == [
        {"name": "partInstanceId", "value": "CP4500-25-000001"}, {"name": "manufacturerPartId", "value": "100235"}]
    assert shell["assetInformation"]["assetType"] == "https://example.com/ids/asset/material/100235"
    # the unit rejected in the export still gets its test bench data
    lonely = sample_store.get("shell", f"{AAS}/serial/CP4500-25-000002")
    assert [r["keys"][0]["value"].rsplit("/", 1)[1] for r in lonely["submodels"]] == ["TimeSeries", "provenance"]


def test_rerun_of_the_same_inputs_changes_nothing(sample_store, loaded, tmp_path):
    before = snapshot(sample_store)
    again = [run(sample_store, "matmas_material_master", MATMAS),
             run(sample_store, "serial_units_export", SERIAL_EXPORT, rejects=tmp_path / "again.csv"),
             run(sample_store, "test_bench_timeseries", TEST_BENCH)]
    assert [(s.loaded, s.unchanged, s.rejected) for s in again] == [(0, 3, 0), (0, 5, 2), (0, 1800, 0)]
    assert sum(s.elements_written for s in again) == 0
    assert diff_paths(before, snapshot(sample_store)) == []


def test_a_changed_row_updates_only_its_element(store, tmp_path):
    run(store, "serial_units_export", SERIAL_EXPORT)
    changed = tmp_path / "serial_units_export.csv"
    text = SERIAL_EXPORT.read_bytes().decode("iso-8859-1").replace(";42,7;11,84;", ";43,1;11,84;")
    changed.write_bytes(text.encode("iso-8859-1"))
    before = snapshot(store)
    summary = run(store, "serial_units_export", changed)
    assert (summary.loaded, summary.unchanged, summary.rejected) == (1, 4, 2)
    assert summary.elements_written == 1
    after = snapshot(store)
    record = f"{SM}/serial/CP3200-24-000102/ProductionRecord"
    assert values(after["submodels"][record])["EndOfLineTest.Torque"] == "43.1"
    changes = diff_paths(before, after)
    assert changes, "the torque must change"
    touched = {c[:2] for c in changes}
    assert touched == {("submodels", record), ("submodels", f"{AAS}/serial/CP3200-24-000102/provenance"),
                       ("lineage", record)}, changes
    torque = lineage.lookup(store, record, "EndOfLineTest.Torque")["lineage"]
    assert torque["wasDerivedFrom"]["file"] == str(changed)
    assert torque["wasDerivedFrom"]["line"] == 3
    # an unchanged value of the same row keeps the lineage of the run that wrote it
    weight = lineage.lookup(store, record, "EndOfLineTest.Weight")["lineage"]
    assert weight["wasDerivedFrom"]["file"] == str(SERIAL_EXPORT)


def test_lineage_traces_values_to_line_xpath_and_record(sample_store, loaded):
    remark = lineage.lookup(sample_store, f"{SM}/serial/CP3200-24-000103/ProductionRecord", "EndOfLineTest.Remark")
    assert remark["current"] is True
    derived = remark["lineage"]["wasDerivedFrom"]
    assert (derived["file"], derived["line"], derived["endLine"], derived["field"]) == \
        (str(SERIAL_EXPORT), 4, 5, "BEMERKUNG")
    assert derived["checksum"].startswith("sha256:")
    assert derived["generatedAtTime"] == "2024-06-18T00:00:00Z"
    assert remark["lineage"]["hadPlan"]["rule"] == "submodels[1].elements.EndOfLineTest.Remark"
    assert remark["lineage"]["wasAttributedTo"]["agent"] == "aas-server ingest erp-flat"
    assert remark["lineage"]["wasGeneratedBy"] == loaded["serial"].run_id

    weight = lineage.lookup(sample_store, f"{SM}/material/100235/TechnicalData", "TechnicalProperties.GrossWeight")
    derived = weight["lineage"]["wasDerivedFrom"]
    assert derived["xpath"] == "/MATMAS05/IDOC[2]/E1MARAM/BRGEW"
    assert derived["document"] == "0000000004711002"
    assert derived["generatedAtTime"] == "2026-11-18T06:30:16Z"  # CREDAT/CRETIM of the IDoc
    texts = lineage.lookup(sample_store, f"{SM}/material/100234/Nameplate", "ManufacturerProductDesignation")
    assert texts["lineage"]["wasDerivedFrom"]["xpath"] == "/MATMAS05/IDOC[1]/E1MARAM/E1MAKTM/MAKTX"

    point = lineage.lookup(sample_store, f"{SM}/serial/CP4500-25-000004/TimeSeries",
                           "Segments.InternalSegment2025020507000001.Records.Record00032.vibration_mm_s")
    assert point["lineageOf"] == "Segments.InternalSegment2025020507000001"
    assert point["lineage"]["wasDerivedFrom"]["line"] == 1233  # 000004 starts at line 1202
    with open(TEST_BENCH, encoding="utf-8-sig") as f:
        line = f.read().splitlines()[1233 - 1]
    assert line.startswith("2025-02-05T07:40:31Z,CP4500-25-000004")


def test_provenance_submodel_is_published_per_shell(sample_store, loaded):
    provenance = sample_store.get("submodel", f"{AAS}/serial/CP4500-25-000001/provenance")
    assert provenance["semanticId"]["keys"][0]["value"] == "http://www.w3.org/ns/prov#Bundle"
    assert [e["idShort"] for e in provenance["submodelElements"]] == ["SerialPart", "ProductionRecord", "TimeSeries"]
    serial_part = {v["value"][0]["value"]: v for v in provenance["submodelElements"][0]["value"][1]["value"]}
    date = values({"submodelElements": serial_part["manufacturingInformation.date"]["value"]})
    assert date["WasDerivedFrom.Source"] == "serial_units_export.csv"
    assert date["WasDerivedFrom.Location"] == "line 6"
    assert date["HadPlan"] == "serial-units-export submodels[0].elements.manufacturingInformation.date"
    assert date["WasGeneratedBy"] == loaded["serial"].run_id
    assert "Çelik" not in str(provenance)
    assert str(SERIAL_EXPORT.parent) not in str(provenance)
    series = {v["value"][0]["value"]: v for v in provenance["submodelElements"][2]["value"][1]["value"]}
    segment = values({"submodelElements": series["Segments.InternalSegment2025020507000001"]["value"]})
    assert segment["WasDerivedFrom.Location"] == "lines 2-601"


def test_lineage_endpoint_and_cli(shared, capsys, monkeypatch):
    store, _, settings, _ = shared
    client = create_app(settings, store).test_client()
    sm_id = encode_id(f"{SM}/material/100234/TechnicalData")
    response = client.get(f"/internal/lineage/{sm_id}/TechnicalProperties.NetWeight")
    assert response.status_code == 200
    assert response.json["lineage"]["wasDerivedFrom"]["xpath"] == "/MATMAS05/IDOC[1]/E1MARAM/NTGEW"
    assert client.get(f"/internal/lineage/{sm_id}").json["template"] == "technical_data"
    missing = client.get(f"/internal/lineage/{sm_id}/TechnicalProperties.Nothing")
    assert missing.status_code == 404
    assert missing.json["messages"][0]["messageType"] == "Error"
    assert client.get(f"/internal/lineage/{encode_id('urn:none')}").status_code == 404
    assert client.get(f"/internal/lineage/{sm_id}/Bad..Path").status_code == 400

    from aas_server.cli import main

    args = ["--data-dir", settings.data_dir]
    if settings.mongodb_uri:
        monkeypatch.setenv("AAS_MONGODB_URI", settings.mongodb_uri)
        monkeypatch.setenv("AAS_MONGODB_DATABASE", settings.mongodb_database)
    assert main([*args, "lineage", f"{SM}/material/100234/TechnicalData", "TechnicalProperties.NetWeight"]) == 0
    assert '"xpath": "/MATMAS05/IDOC[1]/E1MARAM/NTGEW"' in capsys.readouterr().out


def test_cli_ingest_prints_summary_and_exit_code(settings, tmp_path, capsys, monkeypatch):
    from aas_server.cli import main

    monkeypatch.chdir(tmp_path)
    if settings.mongodb_uri:
        monkeypatch.setenv("AAS_MONGODB_URI", settings.mongodb_uri)
        monkeypatch.setenv("AAS_MONGODB_DATABASE", settings.mongodb_database)
    base = ["--data-dir", settings.data_dir]
    assert main([*base, "ingest", "erp", "--mapping", "serial_units_export", str(SERIAL_EXPORT), "-q"]) == 1
    out = capsys.readouterr().out
    assert "serial_units_export.csv          7          5          0          2" in out
    report = next(Path("ingest-rejects").glob("serial-units-export-*.csv"))
    assert f"reject report: {report}" in out
    assert main([*base, "ingest", "csv", "--mapping", "serial_units_export", str(SERIAL_EXPORT), "-q"]) == 1
    assert "serial_units_export.csv          7          0          5          2" in capsys.readouterr().out
    assert main([*base, "ingest", "csv", "--mapping", "matmas_material_master", str(MATMAS), "-q"]) == 2
    assert "is for adapter erp-idoc; use erp" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nadapter: csv\nshell: {id: x}\nsubmodels: []\n", encoding="utf-8")
    assert main([*base, "ingest", "csv", "--mapping", str(bad), str(TEST_BENCH), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3:8: shell: 'global_asset_id' is required" in err
    assert f"{bad}:4:12: submodels must be a non-empty list" in err
    if settings.mongodb_uri:
        from aas_server.store import open_store

        opened = open_store(settings)
        opened.drop()
        opened.close()
