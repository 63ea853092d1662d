"""Masking profiles: loading with line numbers, matching and precedence, every transform on every value type (the
results validated by the SDK's strict decoder), keyed pseudonyms, copy-on-write and the disclosure audit."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from aas_server.errors import InvalidRequestError, NotFoundError
from aas_server.model import codec
from aas_server.ports import audit
from aas_server.ports.masking import Masker
from aas_server.ports.masking_profile import (
    MaskingProfile,
    MaskingProfileError,
    ProfileSource,
    compile_path_globs,
    load_profile,
    parse_profile,
    slash_path,
)
from aas_server.ports.masking_pseudonyms import TOKEN_COLLECTION, reveal_token
from aas_server.ports.masking_transforms import (
    MARKER_NAME,
    MARKER_SEMANTIC_ID,
    REDACTED_ID,
    marker_form,
)
from aas_server.security.caller import Caller
from aas_server.settings import Settings
from aas_server.store import open_store
from aas_server.store.base import PageRequest
from tests import factories as f

pytestmark = pytest.mark.unit

SECRET = {"AAS_TEST_MASKING_SECRET": "s" * 16 + "0123456789abcdef"}
PARTNER_A = Caller(port="external", internal=False, bpn="BPNL000000000001", contract_agreement="agreement-1",
                   roles=frozenset({"partner"}))
PARTNER_B = Caller(port="external", internal=False, bpn="BPNL000000000002")
STAFF = Caller(port="internal", internal=True, subject="alice", roles=frozenset({"quality"}))
JSON = dict[str, Any]


@pytest.fixture()
def store(tmp_path: Path) -> Any:
    opened = open_store(Settings(data_dir=str(tmp_path)))
    yield opened
    opened.close()


def profile(rules: str, *, head: str = "") -> MaskingProfile:
    text = f"version: 1\nkeys: {{secret_env: AAS_TEST_MASKING_SECRET}}\n{head}rules:\n{rules}"
    return parse_profile(text, "test.yaml", SECRET)


def masker(rules: str, store: Any, *, head: str = "") -> Masker:
    return Masker(profile(rules, head=head), store)


def one_rule(transform: str, path: str = "**", extra: str = "") -> str:
    return f"  - match: {{path: \"{path}\"}}\n    transform: {transform}\n{extra}"


def top(submodel: JSON, id_short: str) -> JSON:
    return next(e for e in submodel.get("submodelElements", []) if e["idShort"] == id_short)


def valid(submodel: JSON) -> JSON:
    """The masked submodel passes the SDK's strict decoding unchanged in meaning."""
    codec.validate("submodel", submodel)
    return submodel


def form(element: JSON) -> str | None:
    return marker_form(element)


# -- transforms on every kind and value type ------------------------------------------------------------------------


def test_redact_withholds_every_kind_of_value_and_marks_it(store: Any) -> None:
    elements = [*f.every_kind(), f.entity("Managed", global_asset_id="urn:secret:asset"),
                f.entity("CoManaged", entity_type="CoManagedEntity")]
    top(f.submodel(elements=elements), "Managed")["specificAssetIds"] = [{"name": "serial", "value": "SN-1"}]
    raw = f.submodel(elements=elements)
    masked = valid(masker(one_rule("redact"), store).mask_submodel(raw, PARTNER_A))
    text = json.dumps(masked)
    for secret in ("hello", "pump", "Pumpe", "manual.txt", "urn:test:target", "urn:test:first", "urn:secret:asset",
                   "SN-1", '"42"', '"2.5"'):
        assert secret not in text
    assert top(masked, "Managed")["globalAssetId"] == REDACTED_ID
    assert "globalAssetId" not in top(masked, "CoManaged")
    assert [form(top(masked, n)) for n in ("IntProp", "Mlp", "Range", "File", "Blob", "Ref", "Rel", "Ent")] == \
        ["redacted"] * 8
    # children inherit the rule of their container; elements without a value of their own are not marked
    coll = top(masked, "Coll")
    assert form(coll) is None and form(coll["value"][0]) == "redacted" and "value" not in coll["value"][0]
    assert form(top(masked, "Cap")) is None
    assert all(form(item) == "redacted" for item in top(masked, "List")["value"])
    assert form(top(masked, "ARel")["annotations"][0]) == "redacted"
    assert form(top(masked, "Op")["inputVariables"][0]["value"]) is None  # no value to withhold


def test_marker_extension_is_valid_and_replaces_a_claimed_one(store: Any) -> None:
    element = f.prop("Serial", "123456", "xs:string")
    element["extensions"] = [{"name": MARKER_NAME, "valueType": "xs:string", "value": "raw"},
                             {"name": "other", "valueType": "xs:string", "value": "kept"}]
    masked = valid(masker(one_rule("redact"), store).mask_submodel(f.submodel(elements=[element]), PARTNER_A))
    extensions = top(masked, "Serial")["extensions"]
    assert [e["name"] for e in extensions] == ["other", MARKER_NAME]
    assert extensions[1]["semanticId"]["keys"][0]["value"] == MARKER_SEMANTIC_ID
    assert extensions[1]["value"] == "redacted"


@pytest.mark.parametrize(("value_type", "value"), [("xs:string", "SN-123456"), ("xs:anyURI", "urn:serial:1"),
                                                   ("xs:normalizedString", "Inspector Jane")])
def test_hmac_keeps_text_value_types(store: Any, value_type: str, value: str) -> None:
    masked = valid(masker(one_rule("hmac"), store).mask_submodel(
        f.submodel(elements=[f.prop("P", value, value_type)]), PARTNER_A))
    element = top(masked, "P")
    assert element["valueType"] == value_type and form(element) == "hmac"
    assert len(element["value"]) == 64 and value not in json.dumps(masked)


@pytest.mark.parametrize("transform", ["hmac", "tokenize"])
@pytest.mark.parametrize(("value_type", "value"), [
    ("xs:int", "123456"), ("xs:double", "2.5"), ("xs:date", "2024-05-03"), ("xs:boolean", "true"),
    ("xs:base64Binary", "AAEC"),
])
def test_pseudonyms_of_non_text_values_fall_back_to_redact(store: Any, transform: str, value_type: str,
                                                          value: str) -> None:
    raw = f.submodel(elements=[f.prop("P", value, value_type)])
    audited = masked_with_audit(masker(one_rule(transform), store), raw)
    element = top(valid(audited[0]), "P")
    assert "value" not in element and form(element) == "redacted"
    assert audited[1] == [("P", "redacted")]


def test_hmac_and_tokenize_multi_language_texts_and_entity_asset_ids(store: Any) -> None:
    entity = f.entity("Unit", global_asset_id="urn:asset:serial:4711")
    entity["specificAssetIds"] = [{"name": "partInstanceId", "value": "4711"}]
    elements = [f.mlp("Name", en="Jane Doe", de="Jane Doe"), entity]
    for transform in ("hmac", "tokenize"):
        masked = valid(masker(one_rule(transform), store).mask_submodel(f.submodel(elements=elements), PARTNER_A))
        texts = [t["text"] for t in top(masked, "Name")["value"]]
        assert texts[0] == texts[1] != "Jane Doe"
        unit = top(masked, "Unit")
        assert "4711" not in json.dumps(unit)
        assert unit["specificAssetIds"][0]["name"] == "partInstanceId"


GENERALIZE_CASES = [
    # value type, value, options, expected value
    ("xs:int", "1234", "{bucket: 100}", "1200"),
    ("xs:int", "-1234", "{bucket: 100}", "-1300"),
    ("xs:long", "987654", "{decimals: -3}", "988000"),
    ("xs:unsignedShort", "65535", "{decimals: -1}", None),  # 65540 leaves the type: redacted
    ("xs:byte", "127", "{bucket: 10}", "120"),
    ("xs:double", "23.4567", "{decimals: 1}", "23.5"),
    ("xs:float", "23.4567", "{bucket: 0.5}", "23.0"),
    ("xs:decimal", "1234.5678", "{decimals: 2}", "1234.57"),
    ("xs:integer", "17", "{bucket: 2.5}", "15"),
    ("xs:date", "2024-05-23", "{truncate: month}", "2024-05-01"),
    ("xs:date", "2024-05-23+02:00", "{truncate: year}", "2024-01-01+02:00"),
    ("xs:date", "2024-05-23", "{truncate: hour}", "2024-05-23"),
    ("xs:dateTime", "2024-05-23T14:35:07.123+02:00", "{truncate: hour}", "2024-05-23T14:00:00+02:00"),
    ("xs:dateTime", "2024-05-23T14:35:07Z", "{truncate: day}", "2024-05-23T00:00:00+00:00"),
    ("xs:dateTime", "2024-05-23T14:35:07", "{truncate: month}", "2024-05-01T00:00:00"),
    ("xs:time", "14:35:07", "{truncate: minute}", "14:35:00"),
    ("xs:time", "14:35:07", "{truncate: day}", None),
    ("xs:string", "DE-123456", "{prefix: 3}", "DE-*"),
    ("xs:string", "DE-123456", "{prefix: 3, fill: '...'}", "DE-..."),
    ("xs:anyURI", "https://example.com/x", "{prefix: 19, fill: ''}", "https://example.com"),
    ("xs:boolean", "true", "{bucket: 10}", None),
    ("xs:double", "NaN", "{decimals: 1}", None),
    ("xs:double", "1.5E300", "{decimals: 2}", "1.5e+300"),
    ("xs:double", "-1.7976931348623157E308", "{bucket: 1000}", "-1.7976931348623157e+308"),
    ("xs:decimal", "1" + "0" * 500 + ".5", "{decimals: 0}", None),  # beyond 400 digits: withheld
    ("xs:string", "abc", "{bucket: 10}", None),  # no option fits text
    # texts holding a date or timestamp (Catena-X types dates as xs:string): truncated in their own lexical form
    ("xs:string", "2021-04-19T09:30:00+00:00", "{truncate: month}", "2021-04-01T00:00:00+00:00"),
    ("xs:string", "2021-04-19T09:30:45.250Z", "{truncate: hour}", "2021-04-19T09:00:00.000Z"),
    ("xs:string", "2021-04-19T09:30:45-05:00", "{truncate: minute}", "2021-04-19T09:30:00-05:00"),
    ("xs:string", "2021-04-19T09:30:45", "{truncate: day}", "2021-04-19T00:00:00"),
    ("xs:string", "2021-04-19+02:00", "{truncate: year}", "2021-01-01+02:00"),
    ("xs:string", "2021-04-19", "{truncate: month}", "2021-04-01"),
    ("xs:normalizedString", "2021-04-19Z", "{truncate: hour}", "2021-04-19Z"),
    ("xs:string", "2021-02-30", "{truncate: month}", None),  # no such date: not a date
    ("xs:string", "2021-04-19T25:00:00Z", "{truncate: month}", None),
    ("xs:string", " 2021-04-19", "{truncate: month}", None),  # in a text, spaces count: not a date
    ("xs:string", "19.04.2021", "{truncate: month}", None),
    ("xs:string", "DE-123456", "{truncate: month, prefix: 3}", "DE-*"),  # no date: the prefix fits
    ("xs:string", "2021-04-19", "{truncate: year, prefix: 3}", "2021-01-01"),  # a date: truncated
]


@pytest.mark.parametrize(("value_type", "value", "options", "expected"), GENERALIZE_CASES)
def test_generalize_stays_in_the_value_type(store: Any, value_type: str, value: str, options: str,
                                            expected: str | None) -> None:
    rules = one_rule("generalize", extra=f"    generalize: {options}\n")
    masked = valid(masker(rules, store).mask_submodel(f.submodel(elements=[f.prop("P", value, value_type)]),
                                                       PARTNER_A))
    element = top(masked, "P")
    assert element["valueType"] == value_type
    if expected is None:
        assert "value" not in element and form(element) == "redacted"
    else:
        assert element["value"] == expected and form(element) == "generalized"


SERIAL_PART_DATE = "  - match: {template: cx_serial_part, path: manufacturingInformation.date}\n    transform: generalize\n"


def serial_part(date: str) -> JSON:
    from submodels.catenax import SERIAL_PART_TEMPLATE

    return SERIAL_PART_TEMPLATE.build("urn:test:sm:serial-part", {
        "catenaXId": "urn:uuid:5f0e7c1e-0000-4000-8000-000000000001",
        "localIdentifiers[0].key": "partInstanceId", "localIdentifiers[0].value": "SN-1",
        "manufacturingInformation.date": date, "manufacturingInformation.country": "DEU",
        "partTypeInformation.manufacturerPartId": "M-1", "partTypeInformation.nameAtManufacturer": "Pump"})


def masked_date(masked: JSON) -> JSON:
    return next(e for e in top(masked, "manufacturingInformation")["value"] if e["idShort"] == "date")


@pytest.mark.parametrize(("date", "expected"), [
    ("2021-04-19T09:30:00+00:00", "2021-04-01T00:00:00+00:00"),
    ("2021-04-19T09:30:00.5Z", "2021-04-01T00:00:00.0Z"),
    ("2021-04-19", "2021-04-01"),
])
def test_truncated_catena_x_dates_stay_valid_for_the_aspect(store: Any, date: str, expected: str) -> None:
    """The SerialPart's required date (xs:string with the SAMM date pattern) is truncated, not withheld, and the
    template finds nothing wrong with the masked submodel."""
    from submodels.catenax import SERIAL_PART_TEMPLATE

    rules = SERIAL_PART_DATE + "    generalize: {truncate: month}\n"
    masked = valid(masker(rules, store).mask_submodel(serial_part(date), PARTNER_A))
    assert (masked_date(masked)["value"], form(masked_date(masked))) == (expected, "generalized")
    assert [finding for finding in SERIAL_PART_TEMPLATE.check(masked) if finding.severity == "error"] == []


def test_a_generalized_text_breaking_its_template_pattern_is_redacted(store: Any) -> None:
    """A prefix cut that leaves the date pattern of the aspect is withheld rather than served invalid; a cut
    that keeps it (``2024`` + ``-01-01``) is served."""
    cut = valid(masker(SERIAL_PART_DATE + "    generalize: {prefix: 4}\n", store).mask_submodel(
        serial_part("2024-05-03"), PARTNER_A))
    assert "value" not in masked_date(cut) and form(masked_date(cut)) == "redacted"
    kept = valid(masker(SERIAL_PART_DATE + "    generalize: {prefix: 4, fill: '-01-01'}\n", store).mask_submodel(
        serial_part("2024-05-03"), PARTNER_A))
    assert masked_date(kept)["value"] == "2024-01-01"


def test_generalize_range_widens_to_bucket_bounds_and_cuts_multi_language_texts(store: Any) -> None:
    rules = one_rule("generalize", extra="    generalize: {bucket: 10, prefix: 2}\n")
    elements = [f.range_("R", "13", "27"), f.range_("D", "1.5", "2.5", "xs:double"), f.mlp("M", en="Pump")]
    masked = valid(masker(rules, store).mask_submodel(f.submodel(elements=elements), PARTNER_A))
    assert (top(masked, "R")["min"], top(masked, "R")["max"]) == ("10", "30")
    assert (top(masked, "D")["min"], top(masked, "D")["max"]) == ("0.0", "10.0")
    assert top(masked, "M")["value"] == [{"language": "en", "text": "Pu*"}]


# -- drop -----------------------------------------------------------------------------------------------------------


def test_drop_removes_elements_as_if_absent_everywhere(store: Any) -> None:
    rules = one_rule("drop", "Secret") + one_rule("drop", "**.Secret") + one_rule("drop", "List[1]") \
        + one_rule("drop", "Only.*")
    elements = [
        f.prop("Secret", "s1", "xs:string"),
        f.collection("Coll", [f.prop("Keep", "1"), f.prop("Secret", "s2", "xs:string")]),
        f.element_list("List", [f.prop(None, "10"), f.prop(None, "11"), f.prop(None, "12")]),
        f.entity("Ent", [f.prop("Secret", "s3", "xs:string")]),
        f.annotated_relationship("ARel", [f.prop("Secret", "s4", "xs:string")]),
        f.operation("Op", [f.prop("Secret", None, "xs:string")], [f.prop("Out", None)]),
        f.collection("Only", [f.prop("A", "1")]),
    ]
    masked, disclosed = masked_with_audit(masker(rules, store), f.submodel(elements=elements))
    valid(masked)
    text = json.dumps(masked)
    assert '"Secret"' not in text and "s1" not in text and '"11"' not in text
    assert [i["value"] for i in top(masked, "List")["value"]] == ["10", "12"]
    assert "statements" not in top(masked, "Ent") and "annotations" not in top(masked, "ARel")
    assert "inputVariables" not in top(masked, "Op") and "outputVariables" in top(masked, "Op")
    assert "value" not in top(masked, "Only")  # emptied collection: no empty list left behind
    assert sorted(disclosed) == sorted([("Secret", "dropped"), ("Coll.Secret", "dropped"), ("List[1]", "dropped"),
                                        ("Ent.Secret", "dropped"), ("ARel.Secret", "dropped"),
                                        ("Op.Secret", "dropped"), ("Only.A", "dropped")])


def test_list_paths_match_and_audit_stored_indexes(store: Any) -> None:
    rules = one_rule("drop", "List[0]") + one_rule("redact", "List[2]")
    raw = f.submodel(elements=[f.element_list("List", [f.prop(None, "1"), f.prop(None, "2"), f.prop(None, "3")])])
    masked, disclosed = masked_with_audit(masker(rules, store), raw)
    assert [i.get("value") for i in top(masked, "List")["value"]] == ["2", None]
    assert disclosed == [("List[0]", "dropped"), ("List[2]", "redacted")]  # the stored elements
    assert masker(rules, store).mask_at(raw, top(raw, "List"), "List[1]", PARTNER_A)["modelType"] == "Property"


# -- matching and precedence ----------------------------------------------------------------------------------------


def test_rule_order_decides_per_element_and_subtrees_inherit(store: Any) -> None:
    rules = one_rule("keep", "Coll.Public") + one_rule("hmac", "Coll.Name") + one_rule("redact", "Coll")
    raw = f.submodel(elements=[f.collection("Coll", [f.prop("Public", "p", "xs:string"),
                                                     f.prop("Name", "n", "xs:string"),
                                                     f.collection("Deep", [f.prop("X", "7")])])])
    coll = top(valid(masker(rules, store).mask_submodel(raw, PARTNER_A)), "Coll")
    public, name, deep = coll["value"]
    assert public["value"] == "p" and form(public) is None
    assert form(name) == "hmac"
    assert form(deep["value"][0]) == "redacted"  # inherited through Deep, which matches nothing itself


def test_default_masks_what_no_rule_keeps(store: Any) -> None:
    rules = one_rule("keep", "Public")
    raw = f.submodel(elements=[f.prop("Public", "1"), f.prop("Other", "2"), f.collection("C", [f.prop("In", "3")])])
    masked = valid(masker(rules, store, head="default: redact\n").mask_submodel(raw, PARTNER_A))
    assert top(masked, "Public")["value"] == "1"
    assert "value" not in top(masked, "Other") and "value" not in top(masked, "C")["value"][0]
    dropped = masker(rules, store, head="default: drop\n").mask_submodel(raw, PARTNER_A)
    assert [e["idShort"] for e in dropped["submodelElements"]] == ["Public"]


def test_matching_by_submodel_id_and_semantic_id_element_semantic_id_and_qualifier(store: Any) -> None:
    rules = """\
  - match: {submodel_id: "urn:plant:*:ProductionRecord", path: Serial}
    transform: redact
  - match: {submodel_semantic_id: "https://example.com/ids/cd/ProductionRecord/1/0", path: Plant}
    transform: redact
  - match: {semantic_id: ["https://example.com/ids/cd/Inspector", "https://example.com/ids/cd/Customer*"]}
    transform: redact
  - match: {qualifier: PersonalData}
    transform: redact
  - match: {qualifier: {type: Confidentiality, value: confidential}}
    transform: redact
"""
    inspector = f.prop("Inspector", "Jane", "xs:string")
    inspector["semanticId"] = f.ref("https://example.com/ids/cd/Inspector")
    customer = f.prop("CustomerName", "ACME", "xs:string")
    customer["semanticId"] = f.ref("https://example.com/ids/cd/CustomerName")
    personal = f.prop("Phone", "0123", "xs:string")
    personal["qualifiers"] = [{"type": "PersonalData", "valueType": "xs:boolean", "value": "true"}]
    public = f.prop("Note", "n", "xs:string")
    public["qualifiers"] = [{"type": "Confidentiality", "valueType": "xs:string", "value": "public"}]
    secret = f.prop("Price", "9.99", "xs:double")
    secret["qualifiers"] = [{"type": "Confidentiality", "valueType": "xs:string", "value": "confidential"}]
    elements = [f.prop("Serial", "1"), f.prop("Plant", "2"), inspector, customer, personal, public, secret]
    m = masker(rules, store)

    def redacted_in(submodel: JSON) -> list[str]:
        return [e["idShort"] for e in m.mask_submodel(submodel, PARTNER_A)["submodelElements"] if "value" not in e]

    assert redacted_in(f.submodel("urn:plant:7:ProductionRecord", elements=elements)) == \
        ["Serial", "Inspector", "CustomerName", "Phone", "Price"]
    assert redacted_in(f.submodel("urn:other", semantic_id="https://example.com/ids/cd/ProductionRecord/1/0",
                                  elements=elements)) == ["Plant", "Inspector", "CustomerName", "Phone", "Price"]


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("Coll.*", ("Coll", "A"), True),
    ("Coll.*", ("Coll", "A", "B"), False),
    ("Coll.*", ("Coll",), False),
    ("Coll.**", ("Coll",), True),
    ("Coll.**", ("Coll", "List", 3, "X"), True),
    ("**.Inspector", ("Inspector",), True),
    ("**.Inspector", ("EndOfLineTest", "Inspector"), True),
    ("**.Inspector", ("EndOfLineTest", "InspectorName"), False),
    ("Temp*", ("Temperature",), True),
    ("Temp*", ("MaxTemp",), False),
    ("List[*].Serial", ("List", 12, "Serial"), True),
    ("List[2]", ("List", 2), True),
    ("List[2]", ("List", 12), False),
    ("List.*", ("List", 0), True),  # a lone * also stands for a list index
    ("Markings[*][0]", ("Markings", 1, 0), True),
    ("A?", ("AB",), True),
])
def test_path_globs(glob: str, path: tuple[str | int, ...], matches: bool) -> None:
    assert bool(compile_path_globs([glob])(slash_path(path))) is matches


def test_a_rule_takes_a_list_of_paths(store: Any) -> None:
    rules = "  - match: {path: [A, 'C.*']}\n    transform: redact\n"
    raw = f.submodel(elements=[f.prop("A", "1"), f.prop("B", "2"), f.collection("C", [f.prop("D", "3")])])
    masked = masker(rules, store).mask_submodel(raw, PARTNER_A)
    assert [form(top(masked, "A")), form(top(masked, "B")), form(top(masked, "C")["value"][0])] == \
        ["redacted", None, "redacted"]


@pytest.mark.parametrize(("condition", "who", "applies"), [
    ("{port: external}", PARTNER_A, True),
    ("{port: [internal]}", PARTNER_A, False),
    ("{internal: true}", STAFF, True),
    ("{internal: false}", STAFF, False),
    ("{bpn: [BPNL000000000001, BPNL000000000009]}", PARTNER_A, True),
    ("{bpn: BPNL000000000001}", PARTNER_B, False),
    ("{role: [quality, admin]}", STAFF, True),
    ("{role: quality}", PARTNER_A, False),
    ("{subject: alice}", STAFF, True),
    ("{contract_agreement: true}", PARTNER_A, True),
    ("{contract_agreement: true}", PARTNER_B, False),
    ("{contract_agreement: false}", PARTNER_B, True),
    ("{contract_agreement: agreement-1}", PARTNER_A, True),
    ("{contract_agreement: [agreement-2]}", PARTNER_A, False),
    ("{port: external, bpn: BPNL000000000001, role: partner}", PARTNER_A, True),
    ("{port: external}", None, False),  # no request: no caller condition holds
])
def test_caller_conditions(store: Any, condition: str, who: Caller | None, applies: bool) -> None:
    rules = f"  - match: {{caller: {condition}}}\n    transform: redact\n"
    masked = masker(rules, store).mask_submodel(f.submodel(elements=[f.prop("P", "5")]), who)
    assert ("value" not in top(masked, "P")) is applies


# -- keyed pseudonyms -----------------------------------------------------------------------------------------------


def hmac_of(m: Masker, value: str, who: Caller) -> str:
    masked = m.mask_submodel(f.submodel(elements=[f.prop("Serial", value, "xs:string")]), who)
    return str(top(masked, "Serial")["value"])


def test_hmac_is_stable_per_partner_and_differs_between_partners(store: Any) -> None:
    m = masker(one_rule("hmac"), store)
    a = hmac_of(m, "123456", PARTNER_A)
    assert a == hmac_of(m, "123456", PARTNER_A) == hmac_of(masker(one_rule("hmac"), store), "123456", PARTNER_A)
    assert a != hmac_of(m, "123456", PARTNER_B) and a != hmac_of(m, "123457", PARTNER_A)
    shared = masker(one_rule("hmac", extra="    per_partner: false\n"), store)
    assert hmac_of(shared, "123456", PARTNER_A) == hmac_of(shared, "123456", PARTNER_B) != a
    whole_profile = parse_profile("version: 1\nkeys: {secret_env: AAS_TEST_MASKING_SECRET, per_partner: false}\n"
                                  "rules:\n" + one_rule("hmac"), "p.yaml", SECRET)
    assert hmac_of(Masker(whole_profile, store), "123456", PARTNER_B) == hmac_of(shared, "123456", PARTNER_A)


def test_a_plain_hash_of_a_serial_is_reversed_by_brute_force_a_keyed_hash_is_not(store: Any) -> None:
    """Why hmac never degrades to a plain hash: all 10^6 six-digit serials hash in about a second."""
    serial = "473921"
    plain = hashlib.sha256(serial.encode()).hexdigest()
    keyed = hmac_of(masker(one_rule("hmac"), store), serial, PARTNER_A)
    targets = {bytes.fromhex(plain): "plain", bytes.fromhex(keyed): "keyed"}
    found: dict[str, bytes] = {}
    start = time.perf_counter()
    for n in range(10**6):
        candidate = b"%06d" % n
        digest = hashlib.sha256(candidate).digest()
        if digest in targets:
            found[targets[digest]] = candidate
    seconds = time.perf_counter() - start
    assert found == {"plain": serial.encode()}  # the plain hash is reversed, the keyed one matches no candidate
    assert seconds < 30  # trying the whole space is cheap (about a second on one core)


def test_tokens_are_consistent_per_partner_and_reversible_only_through_the_vault(store: Any) -> None:
    m = masker(one_rule("tokenize"), store)
    token = hmac_of(m, "SN-4711", PARTNER_A)
    assert token.startswith("tok_") and len(token) == 28
    assert token == hmac_of(m, "SN-4711", PARTNER_A) == hmac_of(masker(one_rule("tokenize"), store), "SN-4711",
                                                                  PARTNER_A)
    other = hmac_of(m, "SN-4711", PARTNER_B)
    assert other != token
    origin = reveal_token(store, token)
    assert (origin.partner, origin.value) == (PARTNER_A.partner, "SN-4711")
    assert reveal_token(store, other).partner == PARTNER_B.partner
    with pytest.raises(NotFoundError):
        reveal_token(store, "tok_" + "a" * 24)


def test_token_vault_records_once_per_process(store: Any) -> None:
    m = masker(one_rule("tokenize"), store)
    for _ in range(3):
        hmac_of(m, "SN-1", PARTNER_A)
    records = store.find_records(TOKEN_COLLECTION, PageRequest(10))
    assert len(records.items) == 1


# -- copy on write, single elements, audit ------------------------------------------------------------------------


def masked_with_audit(m: Masker, submodel: JSON, who: Caller = PARTNER_A) -> tuple[JSON, list[tuple[str, str]]]:
    with audit.collecting() as collected:
        masked = m.mask_submodel(submodel, who)
    assert all(submodel_id == submodel["id"] for submodel_id, _, _ in collected)
    return masked, [(str(path), form) for _, path, form in collected]


def test_untouched_subtrees_are_shared_and_the_input_is_not_changed(store: Any) -> None:
    raw = f.submodel(elements=f.every_kind())
    before = copy.deepcopy(raw)
    masked = masker(one_rule("redact", "Coll.Deep.Leaf"), store).mask_submodel(raw, PARTNER_A)
    assert raw == before
    for original, shown in zip(raw["submodelElements"], masked["submodelElements"]):
        assert (shown is original) is (original["idShort"] != "Coll")
    coll = top(masked, "Coll")
    assert coll["value"][0] is top(raw, "Coll")["value"][0]  # Inner untouched
    untouched = masker(one_rule("redact", "Nothing"), store).mask_submodel(raw, PARTNER_A)
    assert untouched["submodelElements"] is raw["submodelElements"]


def test_mask_element_inherits_from_ancestors_and_mask_at_addresses_the_masked_view(store: Any) -> None:
    secret_coll = f.collection("Coll", [f.prop("Inner", "7")])
    secret_coll["semanticId"] = f.ref("urn:confidential")
    rules = "  - match: {semantic_id: urn:confidential}\n    transform: redact\n" + one_rule("drop", "List[0]")
    m = masker(rules, store)
    header = f.submodel(id_short="S")
    inner = secret_coll["value"][0]
    assert "value" not in m.mask_element(header, "Coll.Inner", inner, PARTNER_A, ancestors=[secret_coll])
    assert m.mask_element(header, "Coll", secret_coll, PARTNER_A)["value"][0].get("value") is None
    listing = f.element_list("List", [f.prop(None, "1"), f.prop(None, "2")])
    with audit.collecting() as collected:
        assert m.mask_at(header, listing, "List[0]", PARTNER_A)["value"] == "2"
    assert collected == []  # the dropped List[0] is not what was served
    assert m.mask_at(header, listing, "List[1]", PARTNER_A) is None
    assert m.mask_element(header, "List[0]", listing["value"][0], PARTNER_A, ancestors=[listing]) is None


def test_every_masked_element_is_audited_with_its_form(store: Any) -> None:
    rules = (one_rule("hmac", "Name") + one_rule("tokenize", "Serial") + one_rule("drop", "Gone")
             + one_rule("generalize", "Temp", "    generalize: {decimals: 0}\n"))
    raw = f.submodel(elements=[f.prop("Name", "n", "xs:string"), f.prop("Serial", "s", "xs:string"),
                               f.prop("Gone", "g", "xs:string"), f.prop("Temp", "21.7", "xs:double"),
                               f.prop("Raw", "1")])
    _, disclosed = masked_with_audit(masker(rules, store), raw)
    assert disclosed == [("Name", "hmac"), ("Serial", "token"), ("Gone", "dropped"), ("Temp", "generalized")]


# -- profile files --------------------------------------------------------------------------------------------------


def test_load_profile_from_file(tmp_path: Path) -> None:
    path = tmp_path / "external.yaml"
    path.write_text("version: 1\nname: partners\nrules:\n  - {match: {path: X}, transform: drop}\n")
    loaded = load_profile(path)
    assert loaded.name == "partners" and loaded.rules[0].transform == "drop" and loaded.secret is None


def test_a_profile_source_applies_a_changed_file_and_keeps_its_profile_on_a_broken_or_dp_one(
        tmp_path: Path, store: Any, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "external.yaml"
    head = "version: 1\nkeys: {secret_env: AAS_TEST_MASKING_SECRET}\nrules:\n"
    path.write_text(head + "  - {match: {path: Serial}, transform: hmac}\n")
    source = ProfileSource(path, SECRET)
    source.CHECK_INTERVAL_S = 0.0
    masker = Masker(source, store)  # no privacy engine
    raw = f.submodel(elements=[f.prop("Serial", "123456", "xs:string")])
    hashed = masker.mask_submodel(raw, PARTNER_A)["submodelElements"][0]
    assert marker_form(hashed) == "hmac"

    path.write_text(head + "  - {match: {path: Serial}, transform: tokenize}\n")
    tokenized = masker.mask_submodel(raw, PARTNER_A)["submodelElements"][0]
    assert marker_form(tokenized) == "token" and reveal_token(store, tokenized["value"]).value == "123456"

    path.write_text(head + "  - {match: {path: Serial}, transform: tokenise}\n")
    assert masker.mask_submodel(raw, PARTNER_A)["submodelElements"][0] == tokenized
    assert "masking profile" in caplog.text and "not reloaded" in caplog.text and "line 4" in caplog.text

    path.write_text(head + "  - match: {path: Serial}\n    transform: dp\n    dp: {statistic: count, epsilon: 1, "
                    "source: {kind: series, variable: T}}\n")
    assert masker.mask_submodel(raw, PARTNER_A)["submodelElements"][0] == tokenized
    assert "has dp rules and this port has no privacy engine" in caplog.text

    other = {"AAS_TEST_MASKING_SECRET": "another-secret-0123456789abcdef-0123"}
    path.write_text(head + "  - {match: {path: Serial}, transform: hmac}\n")
    source.environ = other  # a new secret (as after a restart with another environment) gives new keys
    assert masker.mask_submodel(raw, PARTNER_A)["submodelElements"][0]["value"] not in (hashed["value"], "123456")


def test_dp_may_name_a_list_and_an_item_path_among_others() -> None:
    """Refused are only dp rules that can match list items alone (see BAD_PROFILES); the rest is checked per
    item when masking."""
    loaded = parse_profile("version: 1\nrules:\n  - match: {path: ['Readings[*]', Readings, 'Readings[0].T']}\n"
                           "    transform: dp\n    dp: {statistic: count, epsilon: 1, "
                           "source: {kind: series, variable: T}}\n")
    assert loaded.uses_dp


REQUIRED = "version: 1\nrules:\n  - match: {template: cx_serial_part, path: %s}\n    transform: redact\n"


@pytest.mark.parametrize(("path", "via"), [
    ("partTypeInformation.nameAtManufacturer", ""),
    ("'localIdentifiers[*].value'", ""),
    ("partTypeInformation", " (inherited from partTypeInformation)"),
    ("'manufacturingInformation.sites[*]'", " (inherited from manufacturingInformation.sites[])"),
    ("[partTypeInformation.nameAtCustomer, catenaXId]", ""),
])
def test_redact_of_an_element_a_template_requires_with_a_value_is_refused(path: str, via: str) -> None:
    with pytest.raises(MaskingProfileError) as caught:
        parse_profile(REQUIRED % path)
    assert caught.value.problems[0][0] == 3  # the line of the path
    assert "redacts " in caught.value.text and f"{via}, which template 'cx_serial_part' requires with a value" \
        in caught.value.text and "use generalize" in caught.value.text


def test_redact_by_semantic_id_of_a_required_template_element_is_refused() -> None:
    with pytest.raises(MaskingProfileError, match="redacts catenaXId, which template 'cx_serial_part' requires"):
        parse_profile("version: 1\nrules:\n  - match:\n      template: cx_serial_part\n"
                      "      semantic_id: 'urn:samm:io.catenax.serial_part:3.0.0#catenaXId'\n    transform: redact\n")


def test_redact_is_allowed_on_optional_elements_and_on_containers_whose_required_elements_other_rules_name() -> None:
    assert parse_profile(REQUIRED % "partTypeInformation.nameAtCustomer").rules[0].transform == "redact"
    assert parse_profile(REQUIRED % "manufacturingInformation.country").rules[0].transform == "redact"
    named = (REQUIRED % "partTypeInformation") + (
        "  - match: {template: cx_serial_part, path: 'partTypeInformation.*'}\n"
        "    transform: generalize\n    generalize: {prefix: 2}\n")
    assert [rule.transform for rule in parse_profile(named).rules] == ["redact", "generalize"]


BAD_PROFILES = [
    ("version: 1\nrules: [\n", 3, "not valid YAML"),
    ("- a\n", 1, "holds a YAML mapping"),
    ("version: 2\nrules: []\n", 1, "unsupported version"),
    ("version: 1\n", 1, "'rules' is required"),
    ("version: 1\ndefault: hmac\nrules: []\n", 2, "default must be one of"),
    ("version: 1\nrules:\n  - match: {path: X}\n    transform: scramble\n", 4, "transform must be one of"),
    ("version: 1\nrules:\n  - match: {path: X}\n    transfrom: drop\n", 4, "unknown key 'transfrom'"),
    ("version: 1\nrules:\n  - match: {path: 'a..b'}\n    transform: drop\n", 3, "invalid path glob segment"),
    ("version: 1\nrules:\n  - match:\n      caller: {bpm: X}\n    transform: drop\n", 4, "unknown key 'bpm'"),
    ("version: 1\nrules:\n  - match:\n      caller: {role: [1]}\n    transform: drop\n", 4,
     "role must be a text or a list of texts"),
    ("version: 1\nrules:\n  - match: {qualifier: {value: x}}\n    transform: drop\n", 3, "qualifier is a type"),
    ("version: 1\nrules:\n  - match: {path: X}\n    transform: hmac\n", 1, "keys.secret_env must name"),
    ("version: 1\nkeys: {secret_env: AAS_UNSET_SECRET}\nrules:\n  - transform: tokenize\n", 2,
     "AAS_UNSET_SECRET must hold a secret of at least 32 bytes (unset)"),
    ("version: 1\nkeys: {secret_env: SHORT}\nrules:\n  - transform: hmac\n", 2, "(too short)"),
    ("version: 1\nrules:\n  - transform: generalize\n", 3, "transform generalize needs options"),
    ("version: 1\nrules:\n  - transform: generalize\n    generalize: {truncate: week}\n", 4,
     "generalize.truncate must be one of year"),
    ("version: 1\nrules:\n  - transform: generalize\n    generalize: {decimals: 1, bucket: 5}\n", 4,
     "give decimals or bucket, not both"),
    ("version: 1\nrules:\n  - transform: drop\n    generalize: {decimals: 1}\n", 4,
     "generalize options belong to transform generalize"),
    ("version: 1\nrules:\n  - match: {template: nope}\n    transform: drop\n", 3, "unknown submodel template"),
    ("version: 1\nrules:\n  - match: {template: cx_serial_part, path: catenaXId}\n    transform: drop\n", 3,
     "drops catenaXId, which template 'cx_serial_part' requires: use generalize or redact"),
    (("version: 1\nrules:\n  - match:\n      submodel_semantic_id: urn:samm:io.catenax.serial_part:3.0.0#SerialPart\n"
     "      path: 'localIdentifiers[*].*'\n    transform: drop\n"), 5, "drops localIdentifiers[].key"),
    (("version: 1\nkeys: {secret_env: AAS_TEST_MASKING_SECRET}\nrules:\n  - match: {template: nameplate, path: "
     "DateOfManufacture}\n    transform: hmac\n"), 4, "DateOfManufacture of template 'nameplate' is xs:date"),
    (("version: 1\nkeys: {secret_env: AAS_TEST_MASKING_SECRET}\nrules:\n  - match: {template: cx_serial_part, path: "
     "catenaXId}\n    transform: tokenize\n"), 4, "catenaXId of template 'cx_serial_part' must match (^[0-9a-fA-F]{8}"),
    ("version: 1\nrules:\n  - transform: dp\n    dp: {statistic: median, epsilon: 1}\n", 4, "dp.statistic"),
    ("version: 1\nrules:\n  - transform: dp\n", 3, "transform dp needs the aggregate"),
    (("version: 1\nrules:\n  - match: {path: ['Readings[*]', 'Other.List[2]']}\n    transform: dp\n"
     "    dp: {statistic: count, epsilon: 1, source: {kind: series, variable: T}}\n"), 3, "dp on list items"),
    ("version: 1\nrules:\n  - transform: drop\n  - transform: drop\n    transform: keep\n", 5,
     "duplicate key 'transform'"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_PROFILES)
def test_bad_profiles_are_refused_with_their_line(text: str, line: int, message: str) -> None:
    with pytest.raises(MaskingProfileError) as caught:
        parse_profile(text, "bad.yaml", {**SECRET, "SHORT": "too-short"})
    error = caught.value
    assert isinstance(error, InvalidRequestError)
    assert any(ln == line and message in text for ln, _, text in error.problems), error.problems
    assert error.path is not None and error.path.startswith("bad.yaml:")


def test_unreadable_profile_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(MaskingProfileError, match="cannot read the masking profile"):
        load_profile(tmp_path / "missing.yaml")


def test_generalize_on_a_template_element_is_allowed_where_drop_is_refused() -> None:
    loaded = parse_profile("version: 1\nrules:\n"
                           "  - match: {template: cx_serial_part, path: manufacturingInformation.date}\n"
                           "    transform: generalize\n    generalize: {prefix: 7, fill: ''}\n"
                           "  - match: {template: cx_serial_part, path: manufacturingInformation.country}\n"
                           "    transform: drop\n", "ok.yaml")
    assert [rule.transform for rule in loaded.rules] == ["generalize", "drop"]


def test_dp_rules_need_a_privacy_engine(store: Any) -> None:
    loaded = profile(one_rule("drop"))
    dp_profile = dataclasses.replace(loaded, rules=(dataclasses.replace(loaded.rules[0], transform="dp"),))
    with pytest.raises(ValueError, match="PrivacyEngine is required"):
        Masker(dp_profile, store)


# -- the README's example --------------------------------------------------------------------------------------------

EXAMPLE_PROFILE = """\
# Masking profile of the external port (ports file: masking: deploy/masking/external.yaml)
version: 1
name: external-partners
default: keep                      # elements no rule (and no enclosing element) matches: keep | redact | drop
keys:
  secret_env: AAS_MASKING_SECRET   # environment variable holding >= 32 bytes; needed by hmac and tokenize
  per_partner: true                # one key per partner (BPN, else token subject): partners cannot join pseudonyms
rules:                             # the first rule whose conditions all hold decides, per element
  - name: auditors under contract see the end-of-line test raw
    match:
      submodel_semantic_id: https://example.com/ids/cd/ProductionRecord/1/0
      path: EndOfLineTest.**
      caller: {role: quality-auditor, contract_agreement: true}
    transform: keep
  - name: personal data never leaves
    match: {qualifier: PersonalData}
    transform: drop
  - name: inspector pseudonymised per partner
    match: {semantic_id: https://example.com/ids/cd/Inspector}
    transform: hmac
  - name: customer numbers as tokens (reversible internally)
    match: {path: Customer.Number}
    transform: tokenize
  - name: test dates to the month
    match: {semantic_id: https://example.com/ids/cd/TestDate}
    transform: generalize
    generalize: {truncate: month}
  - name: torque in buckets of 10 N m
    match: {semantic_id: https://example.com/ids/cd/Torque}
    transform: generalize
    generalize: {bucket: 10}
  - name: confidential cost data withheld, element kept
    match: {qualifier: {type: Confidentiality, value: confidential}}
    transform: redact
  - name: SerialPart manufacturing date to the year (the aspect requires it, so no drop)
    match: {template: cx_serial_part, path: manufacturingInformation.date}
    transform: generalize
    generalize: {prefix: 4, fill: "-01-01"}
  - name: production sites shown to one partner only
    match:
      template: cx_serial_part
      path: manufacturingInformation.sites
      caller: {bpn: [BPNL000000000001]}
    transform: keep
  - name: production sites dropped for everyone else (optional in the aspect; a redacted site id would not be)
    match: {template: cx_serial_part, path: manufacturingInformation.sites}
    transform: drop
  - name: temperatures as a differentially private mean
    match: {template: time_series, path: Segments, caller: {internal: false}}
    transform: dp
    dp: {statistic: mean, epsilon: 0.5, bounds: [-20, 120], source: {kind: series, variable: Temperature}}
"""


def with_semantic_id(element: JSON, semantic_id: str) -> JSON:
    return {**element, "semanticId": f.ref(semantic_id)}


def test_the_readme_example_profile_loads_and_masks_a_production_record(store: Any) -> None:
    from aas_server.ports.privacy import PrivacyEngine

    loaded = parse_profile(EXAMPLE_PROFILE, "external.yaml", {"AAS_MASKING_SECRET": SECRET["AAS_TEST_MASKING_SECRET"]})
    m = Masker(loaded, store, PrivacyEngine(store, budget_per_partner=5))
    phone = f.prop("Phone", "+49 170 1234567", "xs:string")
    phone["qualifiers"] = [{"type": "PersonalData", "valueType": "xs:boolean", "value": "true"}]
    price = f.prop("UnitPrice", "1234.50", "xs:decimal")
    price["qualifiers"] = [{"type": "Confidentiality", "valueType": "xs:string", "value": "confidential"}]
    test = f.collection("EndOfLineTest", [
        with_semantic_id(f.prop("TestDate", "2025-03-17", "xs:date"), "https://example.com/ids/cd/TestDate"),
        with_semantic_id(f.prop("Inspector", "Jane Roe", "xs:string"), "https://example.com/ids/cd/Inspector"),
        with_semantic_id(f.prop("Torque", "47.3", "xs:double"), "https://example.com/ids/cd/Torque"),
    ])
    record = f.submodel(semantic_id="https://example.com/ids/cd/ProductionRecord/1/0", elements=[
        test, f.collection("Customer", [f.prop("Number", "C-000815", "xs:string"), phone]), price])
    masked = valid(m.mask_submodel(record, PARTNER_A))
    date, inspector, torque = top(masked, "EndOfLineTest")["value"]
    assert (date["value"], torque["value"], form(inspector)) == ("2025-03-01", "40.0", "hmac")
    assert [e["idShort"] for e in top(masked, "Customer")["value"]] == ["Number"]
    assert top(masked, "Customer")["value"][0]["value"].startswith("tok_")
    assert "value" not in top(masked, "UnitPrice")
    auditor = Caller(port="external", internal=False, bpn="BPNL000000000003", contract_agreement="c-9",
                     roles=frozenset({"quality-auditor"}))
    assert top(m.mask_submodel(record, auditor), "EndOfLineTest") is test


def test_the_readme_example_generalizes_a_serial_part_and_shows_sites_to_one_partner(store: Any) -> None:
    from aas_server.ports.privacy import PrivacyEngine
    from submodels import templates

    template = templates.get_template("cx_serial_part")
    serial_part = template.build("urn:test:sm:serial-part", {
        "catenaXId": "urn:uuid:5f0e7c1e-0000-4000-8000-000000000001",
        "localIdentifiers[0].key": "partInstanceId", "localIdentifiers[0].value": "SN-1",
        "manufacturingInformation.date": "2024-05-03",
        "manufacturingInformation.sites[0].catenaXsiteId": "BPNS000000000042",
        "manufacturingInformation.sites[0].function": "production",
        "partTypeInformation.manufacturerPartId": "M-1", "partTypeInformation.nameAtManufacturer": "Pump"})
    loaded = parse_profile(EXAMPLE_PROFILE, "external.yaml", {"AAS_MASKING_SECRET": SECRET["AAS_TEST_MASKING_SECRET"]})
    m = Masker(loaded, store, PrivacyEngine(store, budget_per_partner=5))
    for who, site in ((PARTNER_A, "BPNS000000000042"), (PARTNER_B, None)):
        masked = valid(m.mask_submodel(serial_part, who))
        assert not [finding for finding in template.check(masked) if finding.severity == "error" and
                    "missing" in finding.message]  # nothing the aspect requires is gone
        info = top(masked, "manufacturingInformation")["value"]
        date = next(e for e in info if e["idShort"] == "date")
        assert date["value"] == "2024-01-01"
        sites = [e["value"][0]["value"] for e in info if e["idShort"] == "sites"]
        assert [next(e["value"] for e in s if e["idShort"] == "catenaXsiteId") for s in sites] == \
            ([site] if site else [])
