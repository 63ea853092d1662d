"""What the disclosure audit adds to a response of an external port, beside serving the response, in one run.

In process (Flask test client, embedded store, no network noise): ``GET /submodels/{id}`` of a 100-element submodel
through the internal port (no authentication, policy or audit: the baseline) and through an external port that
authenticates a data plane request, applies access rules that grant READ, and audits the response (its 100 elements
disclosed ``raw``). Also timed alone: building and queueing one audit record with 100 disclosures (what the response
path pays for the audit; the background writer stores it later), and how many records per second the writer stores.

Run: python -m bench.port_audit [--repeat 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from aas_server import create_app
from aas_server.model.ids import encode_id
from aas_server.ports import audit
from aas_server.security.caller import Caller
from aas_server.settings import Settings
from bench.fixtures import submodel
from bench.masking import per_call_us

SECRET = "bench-data-plane-secret"
PARTNER = {"X-Data-Plane-Token": SECRET, "Edc-Bpn": "BPNL000000000001", "Edc-Contract-Agreement-Id": "bench"}
RULES = {"AllAccessPermissionRules": {"rules": [
    {"ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
     "OBJECTS": [{"ROUTE": "*"}], "FORMULA": {"$boolean": True}}]}}


def ports_file(folder: Path) -> str:
    (folder / "rules.json").write_text(json.dumps(RULES))
    (folder / "ports.json").write_text(json.dumps({"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "rules": str(folder / "rules.json"),
         "auth": {"data_plane": {"secret_env": "AAS_BENCH_DP_SECRET"}}}]}))
    return str(folder / "ports.json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args()
    os.environ["AAS_BENCH_DP_SECRET"] = SECRET  # the data plane secret comes from the environment only
    folder = Path(tempfile.mkdtemp(prefix="aas-bench-audit-"))
    app = create_app(Settings(data_dir=str(folder), ports_file=ports_file(folder), log_level="WARNING"))
    client = app.test_client()
    sm = submodel("urn:bench:sm:audit", 100)
    assert client.post("/api/v3.1/submodels", json=sm).status_code == 201
    path = f"/api/v3.1/submodels/{encode_id(sm['id'])}"
    external = client.get("/external" + path, headers=PARTNER)
    assert external.status_code == 200 and "X-Release-Id" in external.headers, external.get_data(as_text=True)

    disclosures = [(sm["id"], f"P{i}", "raw") for i in range(100)]
    caller = Caller(port="external", internal=False, bpn="BPNL000000000001", contract_agreement="bench")
    log = audit.AuditLog(app.extensions["aas"].store, batch_size=200, flush_interval_s=0.5)

    def queue_one() -> None:
        release_id = audit.new_release_id()
        log.submit(audit.audit_record(release_id, caller, "external", {"status": 200, "path": path}, disclosures))

    print(f"# GET a 100-element submodel in process (embedded store); per call, median / p90, {args.repeat} calls")
    figures = {
        "internal port (baseline)": per_call_us(lambda: client.get(path), args.repeat),
        "external port: authn + rules + audit": per_call_us(lambda: client.get("/external" + path, headers=PARTNER),
                                                            args.repeat),
        "audit record built and queued": per_call_us(queue_one, args.repeat),
    }
    base = figures["internal port (baseline)"][0]
    for label, (median, p90) in figures.items():
        print(f"{label:<40} {median:9.1f} us   p90 {p90:9.1f} us   {median / base:6.1%} of the baseline")
    start = time.perf_counter()
    count = 2000
    for _ in range(count):
        queue_one()
    log.flush(120)
    seconds = time.perf_counter() - start
    print(f"writer: {count} records with 100 disclosures each stored in {seconds:.2f} s ({count / seconds:.0f}/s)")
    log.close()
    app.extensions["aas_audit"].close()


if __name__ == "__main__":
    main()
