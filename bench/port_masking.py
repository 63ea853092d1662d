"""External port vs internal port: GET of a 100-element submodel whose external view masks half of its elements
(25 doubles generalized, 25 strings keyed-hashed per partner), under one gunicorn serving both ports, side by side
(target: the external port at least 70% of the internal port's requests/s).

The external port applies everything a partner request costs: authentication (a data plane BPN), access rules
(IDTA-01004, granting the submodel), masking and the disclosure audit with its ``X-Release-Id``.

Run: python -m bench.port_masking [--seconds 10] [--rounds 3] [--concurrency 4] [--store embedded|mongo]
"""
from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

import yaml

from aas_server.model.ids import encode_id
from aas_server.store import opened_store
from bench.fixtures import STORES, load_arguments, store_settings, submodel
from bench.load import LoadResult, run_load
from tests.harness.server import GunicornServer

SM_ID = "urn:bench:sm:masked100"
BPN = "BPNL00000000BENC"
DATA_PLANE_SECRET = "bench-" + uuid.uuid4().hex
MASKING_SECRET = "bench-masking-secret-" + "0123456789abcdef" * 2


def write_policy(folder: Path) -> Path:
    """Ports file, rules and masking profile; returns the ports file."""
    rules = {"AllAccessPermissionRules": {"rules": [{
        "ACL": {"ATTRIBUTES": [{"CLAIM": "BPN"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
        "OBJECTS": [{"IDENTIFIABLE": f'$sm("{SM_ID}")'}],
        "FORMULA": {"$eq": [{"$attribute": {"CLAIM": "BPN"}}, {"$strVal": BPN}]},
    }]}}
    (folder / "rules.json").write_text(json.dumps(rules))
    # bench.fixtures.property_element: i % 4 == 0 is an xs:double, i % 4 == 2 an xs:string
    doubles = [f"urn:bench:cd:{i}" for i in range(0, 100, 4)]
    strings = [f"urn:bench:cd:{i}" for i in range(2, 100, 4)]
    masking = {"version": 1, "keys": {"secret_env": "AAS_BENCH_MASKING_SECRET", "per_partner": True}, "rules": [
        {"name": "numbers generalized", "match": {"semantic_id": doubles}, "transform": "generalize",
         "generalize": {"decimals": 0}},
        {"name": "texts hashed per partner", "match": {"semantic_id": strings}, "transform": "hmac"},
    ]}
    (folder / "masking.yaml").write_text(yaml.safe_dump(masking))
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "rules": str(folder / "rules.json"),
         "masking": str(folder / "masking.yaml"),
         "auth": {"data_plane": {"secret_env": "AAS_BENCH_DATA_PLANE_SECRET", "header": "X-Data-Plane-Token"}}},
    ]}
    (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
    return folder / "ports.yaml"


def main() -> None:
    parser = load_arguments()
    parser.add_argument("--rounds", type=int, default=3, help="internal and external runs, alternating")
    args = parser.parse_args()
    print(f"# gunicorn {args.workers} workers x 4 threads, {args.concurrency} client processes, {args.rounds} x"
          f" {args.seconds:g} s per port, alternating; one server serves both ports")
    for kind in args.store or STORES:
        with store_settings(kind) as settings:
            with opened_store(settings) as store:
                store.create("submodel", submodel(SM_ID, 100))
            ports_file = write_policy(Path(tempfile.mkdtemp(prefix="aas-bench-ports-")))
            env = {"AAS_DATA_DIR": settings.data_dir, "AAS_LOG_LEVEL": "WARNING", "AAS_PORTS_FILE": str(ports_file),
                   "AAS_BENCH_DATA_PLANE_SECRET": DATA_PLANE_SECRET, "AAS_BENCH_MASKING_SECRET": MASKING_SECRET}
            if settings.mongodb_uri:
                env.update(AAS_MONGODB_URI=settings.mongodb_uri, AAS_MONGODB_DATABASE=settings.mongodb_database)
            path = f"/api/v3.1/submodels/{encode_id(SM_ID)}"
            headers = {"X-Data-Plane-Token": DATA_PLANE_SECRET, "Edc-Bpn": BPN}
            with GunicornServer(env, workers=args.workers, threads=4, log_dir=Path(settings.data_dir)) as server:
                _check_masked(server.url + "/external" + path, headers)
                runs: dict[str, list[LoadResult]] = {"internal": [], "external": []}
                for _ in range(args.rounds):  # alternating, so that a burst of load on the machine hits both
                    runs["internal"].append(run_load(server.url + path, seconds=args.seconds,
                                                     concurrency=args.concurrency))
                    runs["external"].append(run_load(server.url + "/external" + path, seconds=args.seconds,
                                                     concurrency=args.concurrency, headers=headers))
                internal, external = _together(runs["internal"]), _together(runs["external"])
        print(internal.line(f"internal port, GET /submodels/{{id}} [{kind}]"))
        print(external.line(f"external port, 50 of 100 masked [{kind}]"))
        print(f"ratio external/internal [{kind}]: {external.rps / internal.rps:.2f} (target >= 0.70)")


def _together(results: list[LoadResult]) -> LoadResult:
    return LoadResult(sum(r.requests for r in results), sum(r.errors for r in results),
                      sum(r.seconds for r in results), [ms for r in results for ms in r.latencies_ms])


def _check_masked(url: str, headers: dict[str, str]) -> None:
    """The external response really is masked: 50 elements carry the masking marker."""
    import requests

    body = requests.get(url, headers=headers, timeout=30).json()
    masked = [e for e in body["submodelElements"] if any(x.get("name") == "masking" for x in e.get("extensions", []))]
    if len(masked) != 50:
        raise SystemExit(f"expected 50 masked elements on the external port, got {len(masked)}: {str(body)[:300]}")


if __name__ == "__main__":
    main()
