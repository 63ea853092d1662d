"""The pure parts of the batch adapters: mapping files and their validation, conversions, the CSV and IDoc
sources, time series segments, lineage and provenance, merging. No store, no network."""
from __future__ import annotations

import datetime
import decimal
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from aas_server.model import codec
from adapters import lineage, series
from adapters.base import Position, Record, Reject, records
from adapters.cli import MAPPINGS
from adapters.conversions import FieldError, convert_unit, evaluate, parse_template
from adapters.csvfile.source import CsvSource
from adapters.erp.flat import flat_source
from adapters.erp.idoc import IdocSource
from adapters.ingest import merge_shell, merge_submodel
from adapters.mapping import MappingError, RecordError, ShellPlan, load, parse
from submodels.templates import get_template
from submodels.time_series import time_series_records

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
POSITION = Position("in.csv", "sha256:0", 7)

MINIMAL = """\
version: 1
adapter: csv
shell:
  id: "urn:x:aas:{SN}"
  global_asset_id: "urn:x:asset:{SN}"
submodels:
  - template: nameplate
    id: "urn:x:sm:{SN}"
    elements:
{elements}
"""


def mapping_with(elements: str, **kwargs):
    return parse(MINIMAL.replace("{elements}", textwrap.indent(textwrap.dedent(elements), " " * 6)), **kwargs)


def record(**fields: str) -> Record:
    return Record(fields, POSITION)


def rule(yaml_rule: str, path: str = "SerialNumber", defaults: str = ""):
    text = MINIMAL.replace("{elements}", f"      {path}: {yaml_rule}")
    if defaults:
        text = text.replace("adapter: csv\n", f"adapter: csv\ndefaults: {defaults}\n")
    return dict(parse(text).submodels[0].elements)[path]


# -- mapping files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["matmas_material_master", "serial_units_export", "test_bench_timeseries"])
def test_shipped_mappings_are_valid(name):
    mapping = load(MAPPINGS / f"{name}.yaml")
    assert mapping.checksum.startswith("sha256:")
    assert mapping.submodels


def test_problems_are_reported_all_at_once_with_line_and_column():
    text = textwrap.dedent("""\
        version: 2
        adapter: sap
        shell:
          id: "urn:x:{SN}"
        submodels:
          - template: nameplate
            id: "urn:x:sm:{SN}"
            elements:
              SerialNumbr: SN
              DateOfManufacture: {field: D, type: dat}
              ManufacturerName: {field: M}
              Markings[0].MarkingName: {field: A, const: b}
          - template: nameplate_v9
            id: "urn:x:sm2:{SN}"
        """)
    with pytest.raises(MappingError) as raised:
        parse(text, "m.yaml")
    messages = str(raised.value).splitlines()
    assert messages[0] == "m.yaml:1:10: unsupported version 2 (this reader knows 1)"
    assert messages[1] == "m.yaml:2:10: adapter must be one of csv, erp-flat, erp-idoc, not 'sap'"
    assert messages[2] == "m.yaml:4:3: shell: 'global_asset_id' is required"
    assert messages[3].startswith("m.yaml:9:20: submodels[0].elements.SerialNumbr: template 'nameplate'")
    assert "did you mean SerialNumber" in messages[3]
    assert messages[4].startswith("m.yaml:10:43: submodels[0].elements.DateOfManufacture: type must be one of")
    assert messages[5] == ("m.yaml:11:25: submodels[0].elements.ManufacturerName: a MultiLanguageProperty needs "
                           "texts, a const {lang: text} or lang")
    assert messages[6] == ("m.yaml:12:32: submodels[0].elements.Markings[0].MarkingName: give exactly one of "
                           "field, const, text, texts, range (found field, const)")
    assert messages[7].startswith("m.yaml:13:15: unknown submodel template 'nameplate_v9'")
    assert raised.value.problems[0][:2] == (1, 10)


def test_yaml_syntax_errors_and_duplicate_keys_have_lines():
    with pytest.raises(MappingError, match=r"m.yaml:3:\d+: not valid YAML"):
        parse("version: 1\nshell: {id: x\nsubmodels: [\n", "m.yaml")
    with pytest.raises(MappingError, match=r"m.yaml:2:1: duplicate key 'version'"):
        parse("version: 1\nversion: 1\n", "m.yaml")


def test_free_elements_need_a_value_type_and_units_must_convert():
    text = MINIMAL.replace("nameplate", "technical_data").replace("{elements}", textwrap.indent(textwrap.dedent("""\
        TechnicalProperties.Weight: {field: W}
        TechnicalProperties.Height: {field: H, value_type: xs:double, unit: {from: kg, to: mm}}
        TechnicalProperties.Depth: {field: H, value_type: xs:double, unit: {from: furlong, to: mm}}
        """), " " * 6))
    with pytest.raises(MappingError) as raised:
        parse(text, "m.yaml")
    text = str(raised.value)
    assert "m.yaml:10:35: submodels[0].elements.TechnicalProperties.Weight: the template leaves this element free" \
        in text
    assert "cannot convert mass (kg) into length (mm)" in text
    assert "unknown unit 'furlong'" in text


def test_time_series_block_is_checked():
    text = MINIMAL.replace("nameplate", "time_series").replace("{elements}", "      Metadata.Name: {const: {en: x}}")
    with pytest.raises(MappingError, match="template time_series needs a time_series block"):
        parse(text)
    text += "    time_series:\n      time: t\n      window: 7h\n      variables: {Time: v}\n"
    with pytest.raises(MappingError) as raised:
        parse(text, "m.yaml")
    assert "window must divide a day" in str(raised.value)
    assert "'Time' is no valid variable idShort" in str(raised.value)


# -- conversions -----------------------------------------------------------------------------------------------


def test_decimal_comma_thousands_and_scale():
    assert evaluate(rule("{field: V, type: decimal, decimal: ','}"), record(V="42,5"))[0] == decimal.Decimal("42.5")
    assert evaluate(rule("{field: V, type: double, decimal: ',', thousands: '.'}"), record(V="1.234,5"))[0] == 1234.5
    assert evaluate(rule("{field: V, type: integer, scale: 1000}"), record(V="3"))[0] == 3000
    with pytest.raises(FieldError, match="'n/a' is not a number"):
        evaluate(rule("{field: V, type: double, decimal: ','}"), record(V="n/a"))
    with pytest.raises(FieldError, match="not a number with decimal comma"):
        evaluate(rule("{field: V, type: double}", defaults="{decimal: ','}"), record(V="1.5"))
    with pytest.raises(FieldError, match="is not a whole number"):
        evaluate(rule("{field: V, type: integer}"), record(V="2.5"))


def test_dates_with_formats_and_impossible_dates():
    assert evaluate(rule("{field: D, type: date, format: '%d.%m.%Y'}"), record(D="14.06.2024"))[0] == \
        datetime.date(2024, 6, 14)
    with pytest.raises(FieldError) as raised:
        evaluate(rule("{field: D, type: date}", defaults="{date_format: '%d.%m.%Y'}"), record(D="31.02.2025"))
    assert raised.value.reason == "impossible date '31.02.2025': day is out of range for month (format %d.%m.%Y)"
    assert raised.value.field == "D"
    assert raised.value.rule == "submodels[0].elements.SerialNumber"
    with pytest.raises(FieldError, match="impossible date '2024-13-01'"):
        evaluate(rule("{field: D, type: date}"), record(D="2024-13-01"))


def test_datetimes_become_utc():
    berlin = evaluate(rule("{field: T, type: datetime, format: '%d.%m.%Y %H:%M', timezone: '+01:00'}"),
                      record(T="05.02.2025 08:00"))[0]
    assert berlin == datetime.datetime(2025, 2, 5, 7, 0, tzinfo=datetime.UTC)
    assert evaluate(rule("{field: T, type: datetime}"), record(T="2025-02-05T07:00:00Z"))[0].tzinfo is not None


def test_texts_constants_maps_zeros_and_booleans():
    assert evaluate(rule("{field: M, nozeros: true}"), record(M="000000000000100234"))[0] == "100234"
    assert evaluate(rule("{field: M, map: {FERT: finished, HALB: semi}}"), record(M="HALB"))[0] == "semi"
    with pytest.raises(FieldError, match="not in the mapping's table"):
        evaluate(rule("{field: M, map: {FERT: finished}}"), record(M="ROH"))
    assert evaluate(rule("{field: M, map: {FERT: finished}, default: other}"), record(M="ROH"))[0] == "other"
    assert evaluate(rule("{field: B, type: boolean}"), record(B="X"))[0] is True
    assert evaluate(rule("{const: ACME}"), record())[0] == "ACME"
    assert evaluate(rule('"SN-{SN|upper}-{P|nozeros}"'), record(SN="ab", P="007"))[0] == "SN-AB-7"
    texts = rule("{texts: {de: DE, en: EN}}", "ManufacturerProductDesignation")
    assert evaluate(texts, record(DE="Pumpe", EN=""))[0] == {"de": "Pumpe"}
    assert evaluate(rule("{field: R, lang: de}", "ManufacturerProductRoot"), record(R="a\r\nb"))[0] == {"de": "a\nb"}


def test_missing_values_are_absent_unless_required():
    assert evaluate(rule("V"), record(V="  ")) is None
    assert evaluate(rule("{field: V, default: none}"), record()) == ("none", "V", POSITION)
    with pytest.raises(FieldError, match="missing value of V"):
        evaluate(rule("{field: V, required: true}"), record())


def test_units_convert_exactly_including_sap_codes():
    assert convert_unit(decimal.Decimal("12400"), "GRM", "kg") == decimal.Decimal("12.4")
    assert convert_unit(decimal.Decimal("20"), "°C", "K") == decimal.Decimal("293.15")
    assert convert_unit(decimal.Decimal("2"), "bar", "kPa") == decimal.Decimal("2E+2")
    weight = rule("{field: W, type: double, unit: {from_field: U, to: kg}}")
    assert evaluate(weight, record(W="850", U="GRM"))[0] == 0.85
    with pytest.raises(FieldError, match="unknown unit 'XYZ'"):
        evaluate(weight, record(W="1", U="XYZ"))


def test_text_templates():
    template = parse_template("urn:uuid:{SN|uuid5}/{{literal}}")
    assert template.fields == ("SN",)
    assert template.render(record(SN="A1"), "r") == template.render(record(SN="A1"), "r")
    assert template.render(record(SN="A1"), "r").endswith("/{literal}")
    assert parse_template("{X|idshort}").render(record(X="1 a.b"), "r") == "X1_a_b"
    with pytest.raises(ValueError, match="unknown filter 'nope'"):
        parse_template("{X|nope}")
    with pytest.raises(FieldError, match="missing key field SN"):
        template.render(record(), "shell.id")


def test_apply_collects_every_field_error_of_a_record():
    mapping = load(MAPPINGS / "serial_units_export.yaml")
    good = Record({"SERNR": "S1", "MATNR": "000100234", "CHARG": "B1", "HERDAT": "14.06.2024", "WERKS": "1000",
                   "PRUEFDATUM": "17.06.2024", "DREHMOMENT_NM": "42,5", "GEWICHT_KG": "11,86", "BEMERKUNG": ""},
                  POSITION)
    plan = mapping.apply(good)
    assert plan.shell == ShellPlan("https://example.com/ids/aas/serial/S1", "https://example.com/ids/asset/serial/S1",
                                   "Unit_S1", "Instance", "https://example.com/ids/asset/material/100234",
                                   (("partInstanceId", "S1"), ("manufacturerPartId", "100234")))
    assert plan.source_time == datetime.datetime(2024, 6, 17, tzinfo=datetime.UTC)
    torque = next(v for v in plan.submodels[1].values if v.path == "EndOfLineTest.Torque")
    assert (torque.value, torque.field, torque.position.line) == (42.5, "DREHMOMENT_NM", 7)
    bad = Record({**good.fields, "HERDAT": "31.02.2025", "DREHMOMENT_NM": "n/a", "SERNR": ""}, POSITION)
    with pytest.raises(RecordError) as raised:
        mapping.apply(bad)
    assert {e.field for e in raised.value.errors} == {"SERNR", "HERDAT", "DREHMOMENT_NM"}


# -- sources ---------------------------------------------------------------------------------------------------


def test_csv_sample_export_iso_8859_1_semicolon_multiline(tmp_path):
    source = flat_source(SAMPLES / "erp" / "serial_units_export.csv")
    items = list(source.read())
    assert source.detected_encoding == "iso8859-1"
    assert len(items) == 7
    assert all(isinstance(i, Record) for i in items)
    third = items[2]
    assert third.fields["KUNDE_NAME"] == "Brenntag Süd AG"
    assert third.fields["BEMERKUNG"] == "Nacharbeit Dichtung;\r\nfreigegeben QS"
    assert (third.position.line, third.position.end_line) == (4, 5)
    assert items[3].position.line == 6
    assert source.checksum() == items[0].position.checksum


@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", b"\xef\xbb\xbf", ","), ("utf-8", b"", ";"), ("iso-8859-1", b"", "\t"), ("cp1252", b"", "|"),
])
def test_csv_encodings_and_delimiters_are_detected(tmp_path, encoding, bom, delimiter):
    rows = [["name", "city", "note"], ["Jürgen", "Köln", "a" + delimiter + "b"], ["Zoë", "Łódź" if encoding ==
                                                                                  "utf-8" else "Lyon", ""]]
    text = "\r\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows) + "\r\n"
    path = tmp_path / "in.csv"
    path.write_bytes(bom + text.encode(encoding))
    items = list(CsvSource(path).read())
    assert [r.fields for r in records(items)] == [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_csv_configured_encoding_header_rename_and_bad_rows(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("report of 2025\nA;B\n1;2\n\n3;4;5\n6\n".encode("cp1252"))
    source = CsvSource(path, encoding="cp1252", delimiter=";", rename={"A": "alpha"}, skip_lines=1)
    items = list(source.read())
    assert isinstance(items[0], Record)
    assert items[0].fields == {"alpha": "1", "B": "2"}
    assert items[0].position.line == 3
    assert isinstance(items[1], Reject)
    assert items[1].position.line == 5
    assert "3 fields" in items[1].reason
    assert items[2].fields == {"alpha": "6"}
    assert items[2].position.line == 6


def _peak_reading(source) -> tuple[int, int]:
    tracemalloc.start()
    count = sum(1 for _ in source.read())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_csv_reading_streams(tmp_path):
    peaks = []
    for rows in (10_000, 40_000):
        path = tmp_path / f"{rows}.csv"
        with open(path, "w", encoding="utf-8") as f:
            f.write("a,b,c\n")
            for i in range(rows):
                f.write(f"{i},{i * 2},text {i}\n")
        count, peak = _peak_reading(CsvSource(path))
        assert count == rows
        peaks.append(peak)
    assert peaks[1] < peaks[0] * 1.2, peaks  # four times the rows, the same memory


def test_idoc_sample_fields_groups_xpaths_and_documents():
    items = list(IdocSource(SAMPLES / "erp" / "MATMAS05_pumps.xml").read())
    assert len(items) == 3
    first = items[0]
    assert first.fields["E1MARAM/MATNR"] == "000000000000100234"
    assert first.locations["E1MARAM/MATNR"] == "/MATMAS05/IDOC[1]/E1MARAM/MATNR"
    assert first.position.document == "0000000004711001"
    assert first.position.xpath == "/MATMAS05/IDOC[1]"
    assert first.source_time == datetime.datetime(2026, 11, 18, 6, 30, 15, tzinfo=datetime.UTC)
    texts = [(g.fields["SPRAS_ISO"], g.fields["MAKTX"], g.locations["MAKTX"]) for g in first.groups["E1MARAM/E1MAKTM"]]
    assert texts == [("DE", "Kreiselpumpe CP-3200 Edelstahl", "/MATMAS05/IDOC[1]/E1MARAM/E1MAKTM[1]/MAKTX"),
                     ("EN", "Centrifugal pump CP-3200, stainless steel", "/MATMAS05/IDOC[1]/E1MARAM/E1MAKTM[2]/MAKTX")]
    assert items[2].fields["E1MARAM/MSGFN"] == "004"
    assert items[2].locations["E1MARAM/E1MAKTM/MAKTX"] == "/MATMAS05/IDOC[3]/E1MARAM/E1MAKTM/MAKTX"


def test_idoc_streams_and_reports_a_broken_file(tmp_path):
    idoc = ("<IDOC BEGIN='1'><EDI_DC40><DOCNUM>{n}</DOCNUM></EDI_DC40><E1MARAM><MATNR>{n}</MATNR>"
            "<E1MAKTM><MAKTX>{text}</MAKTX></E1MAKTM></E1MARAM></IDOC>")
    path = tmp_path / "many.xml"
    with open(path, "w", encoding="utf-8") as f:
        f.write("<MATMAS05>")
        for n in range(4000):
            f.write(idoc.format(n=n, text="x" * 200))
        f.write("</MATMAS05>")
    count, peak = _peak_reading(IdocSource(path))
    assert count == 4000
    assert peak < 1_000_000, peak  # the file is ~1.3 MB; finished IDocs are cleared
    broken = tmp_path / "broken.xml"
    broken.write_text("<MATMAS05>" + idoc.format(n=1, text="a") + "\n<IDOC><E1MARAM>\n</MATMAS05>", encoding="utf-8")
    items = list(IdocSource(broken).read())
    assert isinstance(items[0], Record)
    assert isinstance(items[1], Reject)
    assert items[1].position.line == 3
    assert "not well-formed" in items[1].reason


# -- time series -----------------------------------------------------------------------------------------------


def test_segment_json_equals_what_the_template_builds():
    start = datetime.datetime(2025, 2, 5, 7, tzinfo=datetime.UTC)
    variables = {"flow": series.Variable("flow", "xs:double", "urn:x:flow"),
                 "result": series.Variable("result", "xs:string", None)}
    raw = [(start + datetime.timedelta(seconds=i), {"flow": 38.0 + i / 10, "result": "PASS" if i % 2 else ""})
           for i in range(12)]
    rows = [series.row(t, [(k, v) for k, v in values.items() if v != ""], variables) for t, values in raw]
    fast = series.segment_json("InternalSegment2025020507000001", rows, variables, 3600)
    assert codec.validate_element(fast) == fast
    reference = time_series_records([{"timestamp": t, **v} for t, v in raw], "timestamp",
                                    {"flow": "urn:x:flow", "result": "urn:x:result"},
                                    segment="Segments.InternalSegment2025020507000001",
                                    value_types={"flow": "xs:double", "result": "xs:string"})
    built = get_template("time_series").build("urn:x", {**reference, "Metadata.Name": {"en": "x"}})
    segment = built["submodelElements"][1]["value"][0]
    records_built = next(c for c in segment["value"] if c["idShort"] == "Records")["value"]
    records_fast = next(c for c in fast["value"] if c["idShort"] == "Records")["value"]
    for mine, theirs in zip(records_fast, records_built, strict=True):
        theirs_values = [{k: v for k, v in p.items() if k != "semanticId" or p["idShort"] != "result"}
                         for p in theirs["value"]]
        assert mine["value"] == theirs_values  # same JSON, up to the record's idShort width
    for name in ("RecordCount", "StartTime", "EndTime"):
        assert next(c for c in fast["value"] if c["idShort"] == name) == \
            next(c for c in segment["value"] if c["idShort"] == name)
    assert next(c for c in fast["value"] if c["idShort"] == "SamplingInterval")["value"] == "1"
    assert get_template("time_series").check({**built, "submodelElements": [
        built["submodelElements"][0], series.segments_json([fast])]}) == []


def test_windows_and_parts():
    t = datetime.datetime(2025, 2, 5, 7, 59, 59, tzinfo=datetime.UTC)
    assert series.window_start(t, 3600) == datetime.datetime(2025, 2, 5, 7, tzinfo=datetime.UTC)
    assert series.window_start(t, 900) == datetime.datetime(2025, 2, 5, 7, 45, tzinfo=datetime.UTC)
    assert series.segment_prefix(series.window_start(t, 86400)) == "InternalSegment20250205000000"
    assert [len(p) for p in series.split(list(range(7)), 3)] == [3, 3, 1]  # type: ignore[arg-type]
    assert series._duration(599) == "PT9M59S"
    assert series._duration(86400) == "P1D"
    assert series._duration(0) == "PT0S"


# -- lineage and merging ---------------------------------------------------------------------------------------


def test_record_runs_round_trip():
    origins = [(0, 2), (0, 3), (0, 4), (1, 10), (1, 11), (0, 7)]
    runs = lineage.record_runs(origins)
    assert runs == [[1, 3, 0, 2], [4, 2, 1, 10], [6, 1, 0, 7]]
    entry = {"records": runs, "sources": [{"file": "a"}, {"file": "b"}]}
    assert {n: (s["file"], line) for n, (s, line) in lineage.record_origins(entry).items()} == \
        {1: ("a", 2), 2: ("a", 3), 3: ("a", 4), 4: ("b", 10), 5: ("b", 11), 6: ("a", 7)}


def test_provenance_element_is_valid_aas_and_reduced():
    doc = {"submodel": "urn:x:sm", "idShort": "SerialPart", "entries": {
        "manufacturingInformation.date": {
            "entity": "urn:x:sm#manufacturingInformation.date", "valueDigest": "abc", "wasGeneratedBy": "urn:uuid:1",
            "generatedAtTime": "2026-01-01T00:00:00Z", "wasAttributedTo": {"agent": "aas-server ingest erp-flat"},
            "hadPlan": {"mapping": "m", "file": "/secret/m.yaml", "rule": "submodels[0].elements.x", "line": 3},
            "wasDerivedFrom": {"file": "/secret/dir/export.csv", "checksum": "sha256:1", "line": 4, "endLine": 5,
                               "field": "HERDAT", "generatedAtTime": "2024-06-18T00:00:00Z"}}}}
    element = lineage.provenance_element(doc, "SerialPart")
    assert codec.validate_element(element) == element
    assert "/secret" not in str(element)
    assert "abc" not in str(element)
    assert "line 4-5" in str(element)


def test_merge_shell_keeps_what_the_mapping_does_not_state():
    stored = {"modelType": "AssetAdministrationShell", "id": "urn:a", "idShort": "A",
              "assetInformation": {"assetKind": "Instance", "globalAssetId": "urn:g", "assetType": "urn:t",
                                   "specificAssetIds": [{"name": "partInstanceId", "value": "1"},
                                                        {"name": "manufacturerPartId", "value": "9"}]},
              "submodels": [{"type": "ModelReference", "keys": [{"type": "Submodel", "value": "urn:sm1"}]}]}
    plan = ShellPlan("urn:a", "urn:g", None, "Instance", None, (("partInstanceId", "1"), ("van", "V")))
    merged = merge_shell(stored, plan, ["urn:sm2", "urn:sm1"])
    assert [r["keys"][0]["value"] for r in merged["submodels"]] == ["urn:sm1", "urn:sm2"]
    assert merged["assetInformation"]["assetType"] == "urn:t"
    assert merged["idShort"] == "A"
    assert [i["name"] for i in merged["assetInformation"]["specificAssetIds"]] == \
        ["partInstanceId", "manufacturerPartId", "van"]


def test_merge_submodel_for_change_records():
    def prop(name, value):
        return {"modelType": "Property", "idShort": name, "valueType": "xs:string", "value": value}

    stored = {"id": "urn:s", "modelType": "Submodel", "submodelElements": [
        prop("A", "1"), {"modelType": "SubmodelElementCollection", "idShort": "C", "value": [prop("X", "x"),
                                                                                            prop("Y", "y")]}]}
    new = {"id": "urn:s", "modelType": "Submodel", "submodelElements": [
        {"modelType": "SubmodelElementCollection", "idShort": "C", "value": [prop("Y", "y2")]}, prop("B", "2")]}
    merged = merge_submodel(stored, new)
    assert [e["idShort"] for e in merged["submodelElements"]] == ["A", "C", "B"]
    assert merged["submodelElements"][1]["value"] == [prop("X", "x"), prop("Y", "y2")]
