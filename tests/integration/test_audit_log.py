"""The audit writer on both stores: records arrive complete, sorted by time, and nothing queued is lost at close."""
from __future__ import annotations

import datetime

import pytest

from aas_server.ports import audit
from aas_server.security.caller import Caller
from aas_server.store.base import PageRequest, Store, iterate

pytestmark = pytest.mark.integration

PARTNER = Caller(port="external", internal=False, subject="svc", bpn="BPNL000000000001", contract_agreement="ag")


def test_disclosures_are_collected_per_request_only() -> None:
    audit.record_disclosure("urn:sm", "Outside", "raw")  # no request: nothing to collect into, no error
    with audit.collecting() as outer:
        audit.record_disclosure("urn:sm", "A", "raw")
        with audit.collecting() as inner:
            audit.record_disclosure("urn:sm", "B", "hmac")
        audit.record_disclosure("urn:sm", "A", "raw")
    assert outer == [("urn:sm", "A", "raw"), ("urn:sm", "A", "raw")] and inner == [("urn:sm", "B", "hmac")]


def test_disclosures_are_grouped_by_submodel_and_form() -> None:
    groups = audit.disclosure_groups([("urn:sm", None, "raw"), ("urn:sm", "Serial", "hmac"), ("urn:sm", "A.B", "raw"),
                                      ("urn:sm", "Serial", "hmac"), (None, "urn:shell", "raw")])
    assert groups == [{"submodelId": "urn:sm", "form": "raw", "paths": ["A.B"]},
                      {"submodelId": "urn:sm", "form": "hmac", "paths": ["Serial"]},
                      {"submodelId": None, "form": "raw", "paths": ["urn:shell"]}]


def test_release_ids_sort_by_time() -> None:
    early = audit.new_release_id(datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC))
    late = audit.new_release_id(datetime.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=datetime.UTC))
    assert early < late and early.startswith("20260102T030405000006Z-")
    assert audit.since_key("2026-01-02T04:04:05+01:00") == "20260102T030405000000Z" < early


def test_records_are_written_in_batches_and_flushed_on_close(store: Store) -> None:
    log = audit.AuditLog(store, batch_size=50, flush_interval_s=60)
    ids = []
    for n in range(120):
        release_id = audit.new_release_id()
        ids.append(release_id)
        log.submit(audit.audit_record(release_id, PARTNER, "external", {"status": 200, "path": f"/p/{n}"},
                                      [("urn:sm", f"E{n}", "redacted")]))
    log.close()  # the last 20 wait for their batch: only close writes them
    stored = list(iterate(lambda page: audit.list_records(store, page)))
    assert [r["releaseId"] for r in stored] == sorted(ids)
    record = audit.get_record(store, ids[7])
    assert (record["bpn"], record["contractAgreement"], record["subject"], record["path"]) == (
        "BPNL000000000001", "ag", "svc", "/p/7")
    assert record["disclosures"] == [{"submodelId": "urn:sm", "form": "redacted", "paths": ["E7"]}]
    assert audit.list_records(store, PageRequest(10, ids[-2])).items[0]["releaseId"] == ids[-1]


def test_flush_waits_for_the_writer(store: Store) -> None:
    log = audit.AuditLog(store, batch_size=1000, flush_interval_s=0.05)
    release_id = audit.new_release_id()
    log.submit(audit.audit_record(release_id, None, "external", {"status": 401}, []))
    assert log.flush(10)
    assert audit.get_record(store, release_id)["subject"] is None
    log.close()
