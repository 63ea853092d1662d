"""Differential privacy on the external port: releases, noise scale, budgets (also across processes), spec errors.

Runs on both stores (``store`` fixture); the cross-process test starts real Python processes on one store.
"""
from __future__ import annotations

import datetime
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aas_server.errors import InvalidRequestError
from aas_server.model import codec
from aas_server.ports import privacy, privacy_mechanism
from aas_server.ports.masking_transforms import marker_form
from aas_server.security.caller import Caller
from aas_server.settings import Settings
from aas_server.store.base import Store
from aas_server.store.sqlite import SqliteStore
from adapters import series
from submodels import time_series as ts
from tests.factories import uid

pytestmark = pytest.mark.integration

JSON = dict[str, Any]

ACME = Caller(port="external", internal=False, bpn="BPNL000000000ACME")
OTHER = Caller(port="external", internal=False, bpn="BPNL00000000OTHER")
TEMP = {"Temp": series.Variable("Temp", "xs:double", "urn:test:temperature")}
T0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
COUNTER_SEMANTIC_ID = "urn:test:operating-hours"
FLEET_SEMANTIC_ID = "urn:test:operational-data"


def segments(values: list[float]) -> JSON:
    """The ``Segments`` element of a Time Series submodel, as the series adapter stores it (a record a minute)."""
    rows = [series.row(T0 + datetime.timedelta(minutes=i), [("Temp", v)], TEMP) for i, v in enumerate(values)]
    return series.segments_json([series.segment_json("InternalSegment2025010100000001", rows, TEMP, 3600)])


def spec(**options: Any) -> privacy.AggregateSpec:
    mapping: JSON = {"statistic": "mean", "epsilon": 0.5, "bounds": [0, 100],
                     "source": {"kind": "series", "variable": "Temp"}}
    mapping.update(options)
    return privacy.parse_spec(mapping)


def value_of(element: JSON, id_short: str = "Value") -> Any:
    return next(p.get("value") for p in element["value"] if p["idShort"] == id_short)


# -- releases -------------------------------------------------------------------------------------------------


def test_a_release_is_stable_valid_and_charged_once(store: Store) -> None:
    engine = privacy.PrivacyEngine(store, budget_per_partner=10)
    data = segments([20.0 + i % 5 for i in range(60)])
    first = engine.release(ACME, "urn:sm:ts", "Segments", data, spec())
    for _ in range(5):
        assert engine.release(ACME, "urn:sm:ts", "Segments", data, spec()) == first
    assert codec.validate_element(first) == first
    release_id = value_of(first, "ReleaseId")
    assert marker_form(first) == f"dp:{release_id}"
    assert value_of(first, "Statistic") == "mean"
    assert 0.0 <= float(value_of(first)) <= 100.0
    assert first["idShort"] == "Segments"
    assert first["supplementalSemanticIds"] == [data["semanticId"]]
    assert "Records" not in json.dumps(first)  # no raw record leaves
    assert engine.spent(ACME.partner) == pytest.approx(0.5)
    # a second engine (another API process) serves the stored release, unchanged and not charged again
    assert privacy.PrivacyEngine(store, 10).release(ACME, "urn:sm:ts", "Segments", data, spec()) == first
    assert engine.spent(ACME.partner) == pytest.approx(0.5)


def test_new_data_and_other_partners_get_new_releases(store: Store) -> None:
    engine = privacy.PrivacyEngine(store, budget_per_partner=10)
    values = [20.0 + i % 5 for i in range(60)]
    first = engine.release(ACME, "urn:sm:ts", "Segments", segments(values), spec())
    changed = engine.release(ACME, "urn:sm:ts", "Segments", segments([*values[:-1], 99.0]), spec())
    other = engine.release(OTHER, "urn:sm:ts", "Segments", segments(values), spec())
    other_epsilon = engine.release(ACME, "urn:sm:ts", "Segments", segments(values), spec(epsilon=1.0))
    ids = {value_of(e, "ReleaseId") for e in (first, changed, other, other_epsilon)}
    assert len(ids) == 4
    assert engine.spent(ACME.partner) == pytest.approx(0.5 + 0.5 + 1.0)
    assert engine.spent(OTHER.partner) == pytest.approx(0.5)


def test_statistics_have_valid_shapes(store: Store) -> None:
    engine = privacy.PrivacyEngine(store, budget_per_partner=10)
    data = segments([float(i) for i in range(100)])
    count = engine.release(ACME, "urn:sm:ts", "Segments", data,
                           privacy.parse_spec({"statistic": "count", "epsilon": 1,
                                               "source": {"kind": "series", "variable": "Temp"}}))
    histogram = engine.release(ACME, "urn:sm:ts", "Segments", data, spec(statistic="histogram", bins=4, epsilon=1))
    total = engine.release(ACME, "urn:sm:ts", "Segments", data, spec(statistic="sum", epsilon=1))
    for element in (count, histogram, total):
        assert codec.validate_element(element) == element
    assert int(value_of(count)) >= 0
    assert abs(int(value_of(count)) - 100) < 40  # scale 1: off by 40 has probability e^-40
    edges = [float(p["value"]) for p in value_of(histogram, "BinEdges")]
    assert edges == [0.0, 25.0, 50.0, 75.0, 100.0]
    counts = [int(p["value"]) for p in value_of(histogram, "Counts")]
    assert len(counts) == 4
    assert all(c >= 0 for c in counts)
    assert all(abs(c - 25) < 40 for c in counts)
    assert abs(float(value_of(total)) - sum(range(100))) < 100 * 40  # scale 100


def test_window_selects_the_newest_records() -> None:
    data = segments([float(i) for i in range(60)])
    last_ten_minutes = spec(source={"kind": "series", "variable": "Temp", "window": {"last_s": 600}}).source
    assert privacy.series_values(data, last_ten_minutes) == [float(i) for i in range(50, 60)]
    absolute = spec(source={"kind": "series", "variable": "Temp",
                            "window": {"start": "2025-01-01T00:05:00Z", "end": "2025-01-01T00:08:00+00:00"}}).source
    assert privacy.series_values(data, absolute) == [5.0, 6.0, 7.0]
    assert privacy.series_values(data, spec(source={"kind": "series", "variable": "Other"}).source) == []


def test_fleet_release_is_one_statistic_of_the_fleet(store: Store) -> None:
    """A counter's release is the statistic of that counter over every asset's submodel, one release per fleet."""
    hours = [1200.0, 3400.0, 560.0, 7800.0, 990.0]
    for i, value in enumerate(hours):
        store.create("submodel", {
            "modelType": "Submodel", "id": f"urn:sm:op:{i}", "semanticId": _ref(FLEET_SEMANTIC_ID),
            "submodelElements": [{"modelType": "Property", "idShort": "Hours" if i == 4 else "OperatingHours",
                                  "valueType": "xs:double", "value": str(value),
                                  "semanticId": _ref(COUNTER_SEMANTIC_ID)}]})
    store.create("submodel", {"modelType": "Submodel", "id": "urn:sm:elsewhere", "submodelElements": [
        {"modelType": "Property", "idShort": "OperatingHours", "valueType": "xs:double", "value": "1e6",
         "semanticId": _ref(COUNTER_SEMANTIC_ID)}]})
    fleet_sum = privacy.parse_spec({"statistic": "sum", "epsilon": 50, "bounds": [0, 10000],
                                    "source": {"kind": "fleet", "submodel_semantic_id": FLEET_SEMANTIC_ID}})
    engine = privacy.PrivacyEngine(store, budget_per_partner=100)
    elements = [store.get_element(f"urn:sm:op:{i}", "Hours" if i == 4 else "OperatingHours") for i in range(5)]
    releases = [engine.release(ACME, f"urn:sm:op:{i}", e["idShort"], e, fleet_sum) for i, e in enumerate(elements)]
    # the same fleet statistic, released (and charged) once, standing in for each element under its idShort
    assert all(r == releases[0] for r in releases[:4])
    assert releases[4] == {**releases[0], "idShort": "Hours"}
    assert engine.spent(ACME.partner) == pytest.approx(50)
    assert abs(float(value_of(releases[0])) - sum(hours)) < 200 * 20  # scale 200
    by_path = privacy.parse_spec({"statistic": "count", "epsilon": 50, "source": {
        "kind": "fleet", "submodel_semantic_id": FLEET_SEMANTIC_ID, "path": "OperatingHours"}})
    element = store.get_element("urn:sm:op:0", "OperatingHours")
    assert abs(int(value_of(engine.release(ACME, "urn:sm:op:0", "OperatingHours", element, by_path))) - 5) <= 2


# -- budget -----------------------------------------------------------------------------------------------------


def test_exhausted_budget_withholds_the_value(store: Store) -> None:
    engine = privacy.PrivacyEngine(store, budget_per_partner=1.0)
    released = [engine.release(ACME, "urn:sm:ts", "Segments", segments([float(n)] * 10), spec(epsilon=0.4))
                for n in (1, 2)]
    withheld = engine.release(ACME, "urn:sm:ts", "Segments", segments([77.25] * 10), spec(epsilon=0.4))
    assert codec.validate_element(withheld) == withheld
    assert value_of(withheld, "Status") == privacy.BUDGET_EXHAUSTED
    assert value_of(withheld) is None
    assert marker_form(withheld) == "withheld"
    assert "77.25" not in json.dumps(withheld)
    assert engine.spent(ACME.partner) == pytest.approx(0.8)
    # releases made before stay served; a smaller epsilon still fits; other partners have their own budget
    assert engine.release(ACME, "urn:sm:ts", "Segments", segments([1.0] * 10), spec(epsilon=0.4)) == released[0]
    assert value_of(engine.release(ACME, "urn:sm:ts", "Segments", segments([3.0] * 10), spec(epsilon=0.2))) is not None
    assert value_of(engine.release(OTHER, "urn:sm:ts", "Segments", segments([77.25] * 10), spec(epsilon=0.4)))
    assert engine.spent(ACME.partner) == pytest.approx(1.0)


def test_a_crashed_release_is_taken_over_without_a_second_charge(store: Store) -> None:
    """A process claimed a release and charged it, then died before storing it: the next process finishes that
    same release id after the lease; the partner pays once."""
    data = segments([5.0] * 20)
    engine = privacy.PrivacyEngine(store, budget_per_partner=10)
    key = privacy._release_key(ACME.partner, spec(), "series urn:sm:ts Segments Temp", [5.0] * 20)
    crashed = {"state": "pending", "releaseId": "dp-crashed", "owner": "dead", "leaseUntil": time.time() - 1}
    store.put_record(privacy.RELEASES, key, crashed)
    store.put_record(privacy.BUDGETS, ACME.partner,
                     {"partner": ACME.partner, "spent": 0.5, "charged": {"dp-crashed": 0.5}})
    released = engine.release(ACME, "urn:sm:ts", "Segments", data, spec())
    assert value_of(released, "ReleaseId") == "dp-crashed"
    assert engine.spent(ACME.partner) == pytest.approx(0.5)
    assert store.get_record(privacy.RELEASES, key)["state"] == "done"


_WORKER = """
import json, sys, time
from pathlib import Path
from aas_server.ports import privacy
from aas_server.security.caller import Caller
from aas_server.settings import Settings
from aas_server.store import open_store
from tests.integration.test_privacy import segments, spec

settings, go, index = Settings(**json.loads(sys.argv[1])), Path(sys.argv[2]), int(sys.argv[3])
engine = privacy.PrivacyEngine(open_store(settings), budget_per_partner=2.0)
caller = Caller(port="external", internal=False, bpn="BPNL000000000ACME")
print("ready", flush=True)
while not go.exists():  # all processes start at once, after their imports
    time.sleep(0.005)
out = []
for round_ in range(2):
    for version in range(8):
        for data in (float(version), 1000.0 * (index + 1) + version):  # a version all share, one of its own
            element = engine.release(caller, "urn:sm:ts", "Segments", segments([data] * 10), spec(epsilon=0.25))
            out.append([data, element])
print(json.dumps(out))
"""


def test_budget_holds_across_processes(settings: Settings, tmp_path: Path) -> None:
    """Two processes release data versions at once, some shared, some their own, against a budget for eight:
    every release is charged exactly once, the budget is never overspent, a version is released once."""
    config = {"data_dir": settings.data_dir, "mongodb_uri": settings.mongodb_uri,
              "mongodb_database": settings.mongodb_database}
    from aas_server.store import open_store

    store = open_store(settings)  # creates the database (three processes switching a new SQLite file to WAL collide)
    go = tmp_path / "go"
    root = Path(__file__).resolve().parents[2]
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(config), str(go), str(index)],
                                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for index in range(2)]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n", worker.communicate(timeout=60)[1]
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    try:
        budget = store.get_record(privacy.BUDGETS, ACME.partner)
        done = {r["releaseId"] for r in privacy_records(store) if r.get("state") == "done"}
    finally:
        store.close()
    assert len(budget["charged"]) == 8  # the budget is used up, not overspent
    assert budget["spent"] == pytest.approx(0.25 * 8)
    assert done == set(budget["charged"])  # every stored release charged, once
    served: dict[float, set[str]] = {}
    for data, element in (pair for result in results for pair in result):
        if any(p["idShort"] == "ReleaseId" for p in element["value"]):  # withheld elements have none
            served.setdefault(data, set()).add(json.dumps(element, sort_keys=True))
    assert {value_of(json.loads(next(iter(forms))), "ReleaseId") for forms in served.values()} == done
    assert all(len(forms) == 1 for forms in served.values())  # one release per data version, in every process


def privacy_records(store: Store) -> list[JSON]:
    from aas_server.store.base import iterate

    return list(iterate(lambda page: store.find_records(privacy.RELEASES, page)))


# -- noise scale ------------------------------------------------------------------------------------------------


def test_noise_scale_of_the_mechanism_matches_epsilon_and_sensitivity() -> None:
    """2,000 fresh releases of a clamped sum: the mean absolute error of Laplace(b) is b = Δ/ε.

    The estimate's standard error is b/√2000 ≈ 2.2%; the tolerance of 12% is 5.4 standard errors (a false
    failure has probability ~1e-7), a scale wrong by 2x (error 50% or 100%) is off by 17 or 45 of them.
    """
    rng = random.Random(5)
    bounds, epsilon = (0.0, 10.0), 0.5
    errors = []
    for _ in range(2000):
        values = [rng.uniform(-5, 15) for _ in range(rng.randint(1, 30))]
        truth = sum(min(max(v, bounds[0]), bounds[1]) for v in values)
        errors.append(privacy_mechanism.release("sum", epsilon, bounds, None, 1, values) - truth)
    b = 10.0 / epsilon
    assert statistics.fmean(abs(e) for e in errors) == pytest.approx(b, rel=0.12)
    assert abs(statistics.median(errors)) < 0.15 * b  # centred: the median of Laplace noise is 0
    # Laplace, not Gaussian: mean |x| / standard deviation is 1/√2 (Gaussian: 0.80)
    assert statistics.fmean(abs(e) for e in errors) / statistics.pstdev(errors) == pytest.approx(0.707, abs=0.05)


def test_noise_scale_through_the_engine(tmp_path: Path) -> None:
    """400 releases of fresh data versions through the engine and the store; contributions scale Δ.

    Standard error b/√400 = 5%; tolerance 22% (4.4 standard errors); a 2x wrong scale is off by 10 or 20.
    """
    store = SqliteStore(tmp_path / "aas.sqlite3")
    engine = privacy.PrivacyEngine(store, budget_per_partner=1000)
    sum_spec = spec(statistic="sum", epsilon=1, bounds=[0, 10], contributions=2)
    rng = random.Random(7)
    errors = []
    for _ in range(400):
        values = [round(rng.uniform(0, 10), 3) for _ in range(8)]
        release = engine.release(ACME, "urn:sm:ts", "Segments", segments(values), sum_spec)
        errors.append(float(value_of(release)) - sum(values))
    store.close()
    b = 2 * 10.0 / 1  # contributions * Δ / ε
    assert statistics.fmean(abs(e) for e in errors) == pytest.approx(b, rel=0.22)


# -- spec errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "at"), [
    ({"statistic": "median"}, "dp.statistic"),
    ({"epsilon": 0}, "dp.epsilon"),
    ({"epsilon": "high"}, "dp.epsilon"),
    ({"epsilon": float("nan")}, "dp.epsilon"),
    ({"bounds": [10, 0]}, "dp.bounds"),
    ({"bounds": [0]}, "dp.bounds"),
    ({"bounds": None}, "dp.bounds"),
    ({"bins": 4}, "dp.bins"),
    ({"statistic": "histogram"}, "dp.bins"),
    ({"statistic": "histogram", "bins": 1}, "dp.bins"),
    ({"statistic": "count"}, "dp.bounds"),
    ({"contributions": 0}, "dp.contributions"),
    ({"delta": 1e-6}, "dp.delta"),
    ({"source": None}, "dp.source"),
    ({"source": "series"}, "dp.source"),
    ({"source": {"kind": "raw"}}, "dp.source.kind"),
    ({"source": {"kind": "series"}}, "dp.source.variable"),
    ({"source": {"kind": "series", "variable": "T", "window": {"last_s": -1}}}, "dp.source.window.last_s"),
    ({"source": {"kind": "series", "variable": "T", "window": {"last_s": 60, "end": "2025-01-01T00:00:00Z"}}},
     "dp.source.window"),
    ({"source": {"kind": "series", "variable": "T", "window": {"start": "yesterday"}}}, "dp.source.window.start"),
    ({"source": {"kind": "series", "variable": "T", "window": {"start": "2025-01-02T00:00:00Z",
                                                                "end": "2025-01-01T00:00:00Z"}}}, "dp.source.window"),
    ({"source": {"kind": "series", "variable": "T", "path": "A"}}, "dp.source.path"),
    ({"source": {"kind": "fleet"}}, "dp.source.submodel_semantic_id"),
    ({"source": {"kind": "fleet", "submodel_semantic_id": "urn:s", "path": "A..B"}}, "dp.source.path"),
    ({"source": {"kind": "fleet", "submodel_semantic_id": "urn:s", "path": "A", "element_semantic_id": "urn:e"}},
     "dp.source.path"),
])
def test_spec_errors_name_the_key(change: JSON, at: str) -> None:
    mapping: JSON = {"statistic": "mean", "epsilon": 0.5, "bounds": [0, 100],
                     "source": {"kind": "series", "variable": "Temp"}}
    mapping.update(change)
    with pytest.raises(InvalidRequestError) as caught:
        privacy.parse_spec(mapping, "line 7, column 5")
    assert caught.value.path == f"line 7, column 5: {at}"
    assert caught.value.text.startswith(at)


def _ref(value: str) -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}



# -- through the masking profile ------------------------------------------------------------------------------


def test_a_dp_rule_of_a_masking_profile_publishes_the_release(store: Store) -> None:
    """The port's masker replaces a Time Series' Segments by the release; the submodel stays metamodel-valid."""
    from aas_server.ports.masking import Masker
    from aas_server.ports.masking_profile import parse_profile

    profile = parse_profile(
        "version: 1\nrules:\n  - match: {submodel_semantic_id: 'https://admin-shell.io/idta/TimeSeries/1/1',"
        " path: Segments}\n    transform: dp\n    dp:\n      statistic: histogram\n      epsilon: 0.5\n"
        "      bounds: [0, 50]\n      bins: 5\n      source: {kind: series, variable: Temp}\n", "dp.yaml")
    submodel = {"modelType": "Submodel", "id": uid("ts"), "semanticId": _ref(ts.TIME_SERIES),
                "submodelElements": [segments([13.625 + i % 9 for i in range(40)])]}
    masker = Masker(profile, store, privacy.PrivacyEngine(store, budget_per_partner=1))
    masked = masker.mask_submodel(submodel, ACME)
    assert masker.mask_submodel(submodel, ACME) == masked
    assert codec.validate("submodel", masked) == masked
    released = masked["submodelElements"][0]
    assert value_of(released, "Statistic") == "histogram"
    assert marker_form(released) == f"dp:{value_of(released, 'ReleaseId')}"
    assert "13.625" not in json.dumps(masked)
    # another partner spends its budget (two releases of 0.5) on other data: then this submodel is withheld
    for n in range(2):
        other = {**submodel, "submodelElements": [segments([float(n)] * 5)]}
        masker.mask_submodel(other, OTHER)
    withheld = masker.mask_submodel(submodel, OTHER)["submodelElements"][0]
    assert value_of(withheld, "Status") == privacy.BUDGET_EXHAUSTED
