"""Discovery lookup by one asset id among 100,000 shells, beside the primary-key read of one shell, same run and
gunicorn settings (target: the lookup at least 80% of the primary-key read's requests/s).

The shells are loaded through the store (with the registry decorator that derives descriptors and asset links,
as every write does), not over HTTP; on the embedded store the loading connection runs with
``PRAGMA synchronous=OFF`` (a benchmark fixture needs no durability; the server's connections keep FULL).

Run: python -m bench.lookup [--count 100000] [--store embedded|mongo] [--mongo-count 5000] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json

import requests
from tqdm import tqdm

from aas_server.model.ids import encode_id
from aas_server.store.base import Store
from aas_server.store import opened_store
from bench.fixtures import STORES, serve, store_settings
from bench.load import run_load


def bench_shell(i: int) -> dict:
    return {"modelType": "AssetAdministrationShell", "id": f"urn:bench:aas:{i:07d}", "idShort": "Unit",
            "assetInformation": {"assetKind": "Instance", "globalAssetId": f"urn:bench:asset:{i:07d}",
                                 "specificAssetIds": [{"name": "partInstanceId", "value": f"SN-{i:07d}"}]}}


def load(store: Store, kind: str, count: int) -> None:
    if kind == "embedded":
        store.inner._connection().execute("PRAGMA synchronous=OFF")  # type: ignore[attr-defined]
    for i in tqdm(range(count), desc=f"loading shells [{kind}]", unit="aas", mininterval=5):
        store.create("shell", bench_shell(i))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--mongo-count", type=int, default=5_000,
                        help="shells on the MongoDB-wire store (FerretDB scans every collection it queries)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store", choices=STORES, action="append")
    args = parser.parse_args()
    print(f"# gunicorn {args.workers} workers x 4 threads, {args.concurrency} client processes, {args.seconds:g} s each")
    for kind in args.store or ["embedded"]:
        count = args.count if kind == "embedded" else args.mongo_count
        with store_settings(kind) as settings:
            with opened_store(settings) as store:
                load(store, kind, count)
            target = bench_shell(count // 2)
            asset_id = target["assetInformation"]["specificAssetIds"][0]
            with serve(settings, workers=args.workers) as server:
                api = f"{server.url}/api/v3.1"
                by_key = f"{api}/shells/{encode_id(target['id'])}"
                by_asset = f"{api}/lookup/shells?assetIds={encode_id(json.dumps(asset_id))}"
                assert requests.get(by_asset, timeout=60).json()["result"] == [target["id"]]
                for url in (by_key, by_asset):  # warm-up: imports, connections and caches of every worker
                    run_load(url, seconds=2, concurrency=args.concurrency)
                key = run_load(by_key, seconds=args.seconds, concurrency=args.concurrency)
                lookup = run_load(by_asset, seconds=args.seconds, concurrency=args.concurrency)
        print(key.line(f"GET /shells/{{id}} among {count:,} [{kind}]"))
        print(lookup.line(f"GET /lookup/shells?assetIds= among {count:,} [{kind}]"))
        print(f"ratio lookup/primary-key read [{kind}]: {lookup.rps / key.rps:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
