"""Generated inputs on both stores: IDoc change flags, bad records of every kind, time series spread over a file
and over several files, and lineage across them."""
from __future__ import annotations

import csv
import datetime
import textwrap

import pytest

from aas_server.errors import NotFoundError
from adapters import ingest as ingest_module
from adapters import lineage
from adapters import mapping as mappings
from adapters.cli import make_source
from adapters.ingest import ingest
from tests.integration.ingest_support import diff_paths, run, snapshot, values

pytestmark = pytest.mark.integration

SM = "https://example.com/ids/sm"
AAS = "https://example.com/ids/aas"

IDOC = """<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><DOCNUM>{doc}</DOCNUM><CREDAT>20261201</CREDAT><CRETIM>101500</CRETIM>
</EDI_DC40><E1MARAM SEGMENT="1"><MSGFN>{flag}</MSGFN><MATNR>000000000000{matnr}</MATNR><ERSDA>20250101</ERSDA>
<MTART>FERT</MTART><MATKL>PUMPS</MATKL>{weights}<MFRPN>{mfrpn}</MFRPN>
{texts}{plant}</E1MARAM></IDOC>"""


def idoc_file(path, *idocs: dict) -> str:
    parts = []
    for n, i in enumerate(idocs, 1):
        texts = "".join(f"<E1MAKTM SEGMENT=\"1\"><SPRAS_ISO>{lang}</SPRAS_ISO><MAKTX>{text}</MAKTX></E1MAKTM>"
                        for lang, text in i.get("texts", {}).items())
        weights = f"<BRGEW>{i['gross']}</BRGEW><GEWEI>{i.get('unit', 'KGM')}</GEWEI>" if "gross" in i else ""
        plant = f"<E1MARCM SEGMENT=\"1\"><HERKL>{i['country']}</HERKL></E1MARCM>" if "country" in i else ""
        parts.append(IDOC.format(doc=f"{n:016d}", flag=i["flag"], matnr=i["matnr"], mfrpn=i.get("mfrpn", "X-1"),
                                 texts=texts, weights=weights, plant=plant))
    path.write_text("<?xml version=\"1.0\"?>\n<MATMAS05>" + "".join(parts) + "</MATMAS05>\n", encoding="utf-8")
    return str(path)


def test_idoc_change_flags_replace_change_and_delete(store, tmp_path):
    first = idoc_file(tmp_path / "1.xml", {"flag": "005", "matnr": "300001", "texts": {"DE": "Pumpe", "EN": "Pump"},
                                           "gross": "2500", "unit": "GRM", "country": "DE"})
    assert run(store, "matmas_material_master", first).loaded == 1
    nameplate = f"{SM}/material/300001/Nameplate"
    technical = f"{SM}/material/300001/TechnicalData"
    assert values(store.get("submodel", technical))["TechnicalProperties.GrossWeight"] == "2.5"  # g -> kg
    # 004 (change) without the plant segment and with a new English text: the country stays, the text changes
    second = idoc_file(tmp_path / "2.xml", {"flag": "004", "matnr": "300001", "texts": {"EN": "Centrifugal pump"}})
    assert run(store, "matmas_material_master", second).loaded == 1
    found = values(store.get("submodel", nameplate))
    assert found["CountryOfOrigin"] == "DE"
    assert found["ManufacturerProductDesignation"] == {"en": "Centrifugal pump"}
    assert values(store.get("submodel", technical))["TechnicalProperties.GrossWeight"] == "2.5"
    designation = lineage.lookup(store, nameplate, "ManufacturerProductDesignation")["lineage"]["wasDerivedFrom"]
    assert (designation["file"], designation["document"]) == (second, "0000000000000001")
    country = lineage.lookup(store, nameplate, "CountryOfOrigin")["lineage"]["wasDerivedFrom"]
    assert country["file"] == first
    assert country["xpath"] == "/MATMAS05/IDOC[1]/E1MARAM/E1MARCM/HERKL"
    # 005 (replace) without the plant: the country goes
    third = idoc_file(tmp_path / "3.xml", {"flag": "005", "matnr": "300001", "texts": {"DE": "Pumpe"}})
    assert run(store, "matmas_material_master", third).loaded == 1
    assert "CountryOfOrigin" not in values(store.get("submodel", nameplate))
    assert "CountryOfOrigin" not in lineage.load(store, nameplate)["entries"]
    # 003 (delete): the material's submodels go, the shell stays without their references
    fourth = idoc_file(tmp_path / "4.xml", {"flag": "003", "matnr": "300001"})
    assert run(store, "matmas_material_master", fourth).loaded == 1
    for sm in (nameplate, technical):
        with pytest.raises(NotFoundError):
            store.get("submodel", sm)
        assert lineage.load(store, sm) is None
    refs = [r["keys"][0]["value"] for r in store.get("shell", f"{AAS}/material/300001")["submodels"]]
    assert refs == [f"{AAS}/material/300001/provenance"]
    assert run(store, "matmas_material_master", fourth).unchanged == 1
    # an unknown flag is a reject naming the field
    fifth = idoc_file(tmp_path / "5.xml", {"flag": "777", "matnr": "300002"})
    summary = run(store, "matmas_material_master", fifth, rejects=tmp_path / "r.csv")
    assert summary.rejected == 1
    reject = next(csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8")))
    assert (reject["field"], reject["document"], reject["xpath"]) == \
        ("E1MARAM/MSGFN", "0000000000000001", "/MATMAS05/IDOC[1]/E1MARAM/MSGFN")
    assert reject["reason"].startswith("unknown change flag '777'")


CUSTOM = """\
version: 1
name: generated-parts
adapter: csv
source: {encoding: auto}
shell:
  id: "urn:test:aas:{serial}"
  global_asset_id: "urn:test:asset:{serial}"
  specific_asset_ids: {partInstanceId: "{serial}"}
submodels:
  - template: nameplate
    id: "urn:test:sm:{serial}:nameplate"
    elements:
      URIOfTheProduct: "urn:test:product:{type}"
      ManufacturerName: {const: {en: Test Inc.}}
      ManufacturerProductDesignation: {texts: {en: name_en, de: name_de}}
      AddressInformation.CityTown: {const: {en: Springfield}}
      OrderCodeOfManufacturer: type
      SerialNumber: serial
      DateOfManufacture: {field: built, type: date, format: ["%Y-%m-%d", "%d/%m/%Y"]}
      YearOfConstruction: {field: built, type: date, format: ["%Y-%m-%d", "%d/%m/%Y"]}
      AssetSpecificProperties.Mass: {field: mass_g, type: double, unit: {from: g, to: kg}, value_type: xs:double,
                                     semantic_id: "urn:test:cd:mass"}
"""


def test_generated_csv_with_bad_records(store, tmp_path):
    mapping_file = tmp_path / "parts.yaml"
    mapping_file.write_text(CUSTOM, encoding="utf-8")
    mapping = mappings.load(mapping_file)
    rows = [["serial", "type", "name_en", "name_de", "built", "mass_g"]]
    bad = {7: ("built", "2025-02-30", "impossible date '2025-02-30'"),
           13: ("mass_g", "12 kg", "'12 kg' is not a number"),
           21: ("serial", "", "missing key field serial")}
    for i in range(30):
        row = [f"P{i:05d}", "T-1", f"Part {i}, \"special\"", f"Teil {i}\nzweizeilig", "2025-01-15" if i % 2 else
               "15/01/2025", str(1000 + i)]
        if i in bad:
            row[rows[0].index(bad[i][0])] = bad[i][1]
        rows.append(row)
    data = tmp_path / "parts.csv"
    with open(data, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    summary = ingest([make_source(mapping, str(data))], mapping, store, reject_report=tmp_path / "rejects.csv")
    assert (summary.records, summary.loaded, summary.rejected) == (30, 27, 3)
    with open(tmp_path / "rejects.csv", encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    lines = {int(r["line"]): r for r in rejects}
    for i, (field, _, reason) in bad.items():
        line = 2 + 2 * i  # the header is line 1; every row spans two lines (the German name has a line break)
        assert lines[line]["field"] == field, lines[line]
        assert lines[line]["reason"].startswith(reason), lines[line]
        assert lines[line]["end_line"] == str(line + 1)
    found = values(store.get("submodel", "urn:test:sm:P00004:nameplate"))
    assert found["DateOfManufacture"] == "2025-01-15"
    assert found["YearOfConstruction"] == "2025-01-15"
    assert found["ManufacturerProductDesignation"] == {"en": 'Part 4, "special"', "de": "Teil 4\nzweizeilig"}
    assert found["AssetSpecificProperties.Mass"] == "1.004"
    mass = lineage.lookup(store, "urn:test:sm:P00004:nameplate", "AssetSpecificProperties.Mass")["lineage"]
    assert (mass["wasDerivedFrom"]["line"], mass["wasDerivedFrom"]["field"]) == (10, "mass_g")
    quality = summary.quality["nameplate"]
    assert quality.checked == 27
    assert quality.with_errors == 0


def bench_csv(path, rows) -> str:
    lines = ["timestamp,serial_number,station,inlet_pressure_bar,outlet_pressure_bar,flow_m3_h,power_kw,"
             "vibration_mm_s,result"]
    lines += [f"{t},{serial},TB-09,{v:.3f},6.1,{37 + v:.2f},7.4,{'' if v > 0.9 else v},PASS" for t, serial, v in rows]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


def readings(units: int, seconds: int, start: datetime.datetime, offset: int = 0, block: int = 1):
    """``units`` interleaved in blocks of ``block`` seconds."""
    out = []
    for b in range(0, seconds, block):
        for u in range(units):
            for s in range(b, min(b + block, seconds)):
                t = (start + datetime.timedelta(seconds=s + offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
                out.append((t, f"GEN-{u}", ((s + offset) * 7 + u) % 100 / 100))
    return out


def test_time_series_interleaved_appended_and_changed(store, tmp_path, monkeypatch):
    start = datetime.datetime(2025, 3, 3, 9, 59, 30, tzinfo=datetime.UTC)
    rows = readings(3, 60, start, block=10)  # interleaved units, crossing the 10:00 window border
    monkeypatch.setattr(ingest_module, "MAX_OPEN", 2)  # force partial flushes and merges
    first = run(store, "test_bench_timeseries", bench_csv(tmp_path / "a.csv", rows))
    assert (first.loaded, first.unchanged) == (180, 0)
    series_id = f"{SM}/serial/GEN-1/TimeSeries"
    found = values(store.get("submodel", series_id))
    assert found["Segments.InternalSegment2025030309000001.RecordCount"] == "30"
    assert found["Segments.InternalSegment2025030310000001.RecordCount"] == "30"
    # the same rows in time order, in a fresh store, give the same state
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    monkeypatch.setattr(ingest_module, "MAX_OPEN", 16)
    before = snapshot(store)
    again = run(store, "test_bench_timeseries", bench_csv(tmp_path / "a.csv", ordered))
    assert (again.loaded, again.unchanged) == (0, 180)
    assert diff_paths(before, snapshot(store)) == []
    # rows appended in a second file join their windows; lineage names each row's file and line
    later = run(store, "test_bench_timeseries", bench_csv(tmp_path / "b.csv", readings(3, 30, start, offset=60)))
    assert (later.loaded, later.unchanged) == (90, 0)
    found = values(store.get("submodel", series_id))
    assert found["Segments.InternalSegment2025030310000001.RecordCount"] == "60"
    first_file = lineage.lookup(store, series_id, "Segments.InternalSegment2025030310000001.Records.Record00001.Time")
    last = lineage.lookup(store, series_id, "Segments.InternalSegment2025030310000001.Records.Record00060.Time")
    assert first_file["lineage"]["wasDerivedFrom"]["file"] == str(tmp_path / "a.csv")
    assert last["lineage"]["wasDerivedFrom"]["file"] == str(tmp_path / "b.csv")
    assert last["lineage"]["wasDerivedFrom"]["line"] == 1 + 3 * 29 + 2  # GEN-1 of the 30th second in b.csv
    with open(tmp_path / "b.csv", encoding="utf-8") as f:
        assert f.read().splitlines()[90 - 1].startswith("2025-03-03T10:00:59Z,GEN-1,")
    assert last["lineage"]["wasGeneratedBy"] == later.run_id
    assert first_file["lineage"]["wasGeneratedBy"] == first.run_id
    # one changed reading changes one record
    changed = [(t, s, 0.5 if (t, s) == rows[1][:2] else v) for t, s, v in ordered]
    summary = run(store, "test_bench_timeseries", bench_csv(tmp_path / "a.csv", changed))
    assert (summary.loaded, summary.unchanged) == (1, 179)
    unit = rows[1][1]
    record = lineage.lookup(store, f"{SM}/serial/{unit}/TimeSeries",
                            "Segments.InternalSegment2025030309000001.Records.Record00002.inlet_pressure_bar")
    assert record["lineage"]["wasGeneratedBy"] == summary.run_id
    assert values(store.get("submodel", f"{SM}/serial/{unit}/TimeSeries"))[
        "Segments.InternalSegment2025030309000001.Records.Record00002.inlet_pressure_bar"] == "0.5"


def test_bad_time_series_rows_are_rejected(store, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text(textwrap.dedent("""\
        timestamp,serial_number,station,inlet_pressure_bar,outlet_pressure_bar,flow_m3_h,power_kw,vibration_mm_s,result
        2025-03-03T10:00:00Z,GEN-9,TB,1.0,6.0,37.0,7.0,1.0,PASS
        2025-03-03T10:00:01Z,GEN-9,TB,1.0,6.0,37.0,7.0,1.0
        2025-03-03T25:00:02Z,GEN-9,TB,1.0,6.0,37.0,7.0,1.0,PASS
        2025-03-03T10:00:03Z,GEN-9,TB,1.0,six,37.0,7.0,1.0,PASS
        2025-03-03T10:00:04Z,,TB,1.0,6.0,37.0,7.0,1.0,PASS
        """), encoding="utf-8")
    summary = run(store, "test_bench_timeseries", data, rejects=tmp_path / "r.csv")
    assert (summary.loaded, summary.rejected) == (2, 3)  # a missing last cell is a dropout, not an error
    with open(tmp_path / "r.csv", encoding="utf-8") as f:
        rejects = {(r["line"], r["field"]): r["reason"] for r in csv.DictReader(f)}
    assert rejects[("4", "timestamp")].startswith("impossible date and time '2025-03-03T25:00:02Z'")
    assert rejects[("5", "outlet_pressure_bar")] == "'six' is not a number"
    assert rejects[("6", "serial_number")] == "missing key field serial_number"
