"""Masking that keeps state in the store, on both stores: the token vault (tokens from concurrent maskers, as in
several API processes, agree, are recorded once and are reversible through the store only) and dp rules released
through the privacy engine."""
from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import pytest

from aas_server import cli
from aas_server.errors import NotFoundError
from aas_server.model import codec
from aas_server.ports import audit
from aas_server.ports.masking import Masker
from aas_server.ports.masking_profile import parse_profile
from aas_server.ports.masking_pseudonyms import TOKEN_COLLECTION, reveal_token
from aas_server.ports.masking_transforms import marker_form
from aas_server.ports.privacy import PrivacyEngine
from aas_server.security.caller import Caller
from aas_server.store.base import PageRequest
from adapters import series
from tests import factories as f

pytestmark = pytest.mark.integration

PROFILE = """\
version: 1
keys: {secret_env: AAS_TEST_MASKING_SECRET}
rules:
  - match: {semantic_id: "https://example.com/ids/cd/SerialNumber"}
    transform: tokenize
"""
SECRET = {"AAS_TEST_MASKING_SECRET": "vault-test-secret-0123456789abcdef"}
PARTNERS = [Caller(port="external", internal=False, bpn=f"BPNL00000000000{i}") for i in range(2)]
STAFF = Caller(port="internal", internal=True, subject="alice")


def serials(count: int) -> dict[str, Any]:
    elements = []
    for i in range(count):
        element = f.prop(f"Serial{i}", f"{100000 + i}", "xs:string")
        element["semanticId"] = f.ref("https://example.com/ids/cd/SerialNumber")
        elements.append(element)
    return f.submodel(elements=elements)


def test_tokens_of_concurrent_maskers_agree_and_are_recorded_once(store: Any) -> None:
    submodel = serials(20)
    maskers = [Masker(parse_profile(PROFILE, "vault.yaml", SECRET), store) for _ in range(3)]
    results: list[tuple[int, str, list[str]]] = []
    errors: list[BaseException] = []

    def work(masker_index: int, caller: Caller) -> None:
        try:
            masked = maskers[masker_index].mask_submodel(submodel, caller)
            results.append((masker_index, caller.partner, [e["value"] for e in masked["submodelElements"]]))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, caller)) for i in range(3) for caller in PARTNERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    by_partner: dict[str, set[tuple[str, ...]]] = {}
    for _, partner, tokens in results:
        by_partner.setdefault(partner, set()).add(tuple(tokens))
    assert all(len(variants) == 1 for variants in by_partner.values())  # every masker gave the same tokens
    tokens_a, tokens_b = (next(iter(by_partner[p.partner])) for p in PARTNERS)
    assert not set(tokens_a) & set(tokens_b)  # partners cannot join on tokens

    vault = store.find_records(TOKEN_COLLECTION, PageRequest(100))
    assert len(vault.items) == 40 and vault.next_after is None
    for i, token in enumerate(tokens_a):
        origin = reveal_token(store, token)
        assert (origin.partner, origin.value) == (PARTNERS[0].partner, f"{100000 + i}")
    with pytest.raises(NotFoundError):
        reveal_token(store, "tok_" + "z" * 24)


DP_PROFILE = """\
version: 1
rules:
  - match: {path: Segments, caller: {internal: false}}
    transform: dp
    dp: {statistic: mean, epsilon: 0.5, bounds: [0, 100], source: {kind: series, variable: Temp}}
"""


def series_submodel(values: list[float]) -> dict[str, Any]:
    temp = {"Temp": series.Variable("Temp", "xs:double", "urn:test:temperature")}
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    rows = [series.row(start + datetime.timedelta(minutes=i), [("Temp", v)], temp) for i, v in enumerate(values)]
    segments = series.segments_json([series.segment_json("InternalSegment2025010100000001", rows, temp, 3600)])
    return f.submodel("urn:test:sm:series", elements=[segments, f.prop("Unit", "1")])


def test_dp_rules_release_through_the_privacy_engine_once_and_withhold_when_the_budget_is_spent(store: Any) -> None:
    masker = Masker(parse_profile(DP_PROFILE, "dp.yaml"), store, PrivacyEngine(store, budget_per_partner=1.0))
    partner = PARTNERS[0]
    raw = series_submodel([20.0, 21.5, 23.0])
    store.create("submodel", raw)
    with audit.collecting() as collected:
        first = masker.mask_submodel(raw, partner)
    codec.validate("submodel", first)
    released = first["submodelElements"][0]
    form = marker_form(released)
    assert form is not None and form.startswith("dp:")
    assert [(path, disclosed) for _, path, disclosed in collected] == [("Segments", form)]
    assert "21.5" not in json.dumps(first)
    assert masker.mask_submodel(raw, partner) == first  # served again unchanged: the noise cannot be averaged
    assert masker.mask_submodel(raw, STAFF)["submodelElements"][0] is raw["submodelElements"][0]
    masker.mask_submodel(series_submodel([30.0, 31.0]), partner)  # new data: the second release spends the budget
    with audit.collecting() as collected:
        spent = masker.mask_submodel(series_submodel([40.0, 41.0]), partner)
    assert marker_form(spent["submodelElements"][0]) == "withheld"
    assert [disclosed for _, _, disclosed in collected] == ["withheld"]


LIST_DP_PROFILE = """\
version: 1
rules:
  - match: {semantic_id: "urn:test:temperature"}
    transform: dp
    dp: {statistic: mean, epsilon: 0.5, bounds: [0, 100], source: {kind: series, variable: Temp}}
"""


def test_a_dp_rule_reaching_list_items_withholds_them_within_the_lists_one_type(store: Any) -> None:
    """A release (a collection with its own semanticId) cannot stand in a list of Properties (AASd-107/108): the
    items are withheld as Properties without value, the result passes the SDK's strict checks, and nothing is
    released or charged."""
    masker = Masker(parse_profile(LIST_DP_PROFILE, "dp.yaml"), store, PrivacyEngine(store, budget_per_partner=1.0))
    items = []
    for value in ("21.5", "23.25"):
        item = f.prop(None, value, "xs:double")
        item["semanticId"] = f.ref("urn:test:temperature")
        items.append(item)
    readings = {**f.element_list("Readings", items, value_type="xs:double"),
                "semanticIdListElement": f.ref("urn:test:temperature")}
    raw = f.submodel(elements=[readings])
    with audit.collecting() as collected:
        masked = masker.mask_submodel(raw, PARTNERS[0])
    codec.validate("submodel", masked)
    shown = masked["submodelElements"][0]["value"]
    assert [(item["modelType"], item["valueType"], "value" in item, marker_form(item)) for item in shown] == \
        [("Property", "xs:double", False, "withheld")] * 2
    assert "21.5" not in json.dumps(masked) and "23.25" not in json.dumps(masked)
    assert [(path, disclosed) for _, path, disclosed in collected] == [("Readings[0]", "withheld"),
                                                                      ("Readings[1]", "withheld")]
    header = {k: v for k, v in raw.items() if k != "submodelElements"}
    assert marker_form(masker.mask_element(header, "Readings[1]", items[1], PARTNERS[0]) or {}) == "withheld"
    assert masker.mask_at(header, readings, "Readings[0]", PARTNERS[0]) == shown[0]
    assert store.find_records("dp-releases", PageRequest(10)).items == []


def test_tokens_reveal_cli_prints_the_partner_and_raw_value_from_the_vault(
        store: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    per_partner = Masker(parse_profile(PROFILE, "vault.yaml", SECRET), store).mask_submodel(serials(1), PARTNERS[1])
    shared = Masker(parse_profile(PROFILE.replace("tokenize", "tokenize\n    per_partner: false"), "vault.yaml",
                                  SECRET), store).mask_submodel(serials(1), PARTNERS[1])
    if settings.mongodb_uri:
        monkeypatch.setenv("AAS_MONGODB_DATABASE", settings.mongodb_database)
    where = ["--data-dir", settings.data_dir] + (["--mongodb-uri", settings.mongodb_uri] if settings.mongodb_uri else [])
    for masked, partner in ((per_partner, PARTNERS[1].partner), (shared, None)):
        token = masked["submodelElements"][0]["value"]
        assert cli.main([*where, "tokens", "reveal", token]) == 0
        assert json.loads(capsys.readouterr().out) == {"token": token, "partner": partner, "value": "100000"}
    assert cli.main([*where, "tokens", "reveal", "tok_" + "z" * 24]) == 2
    assert "not found" in capsys.readouterr().err
