"""CSV ingest into the MongoDB-wire store: rows/s beside a raw pymongo ``insert_many`` of as many equally sized
documents (the ceiling; target: at least 30 %), and peak memory at 100,000 vs 1,000,000 rows (target: within
20 %).

The input is generated in the format of the test bench sample (``timestamp, serial_number, station``, five
readings, result; 1 Hz, 1,000 rows per serial unit, a dropout every 97 rows) and loaded with the shipped
``test_bench_timeseries`` mapping: every row becomes a time series record, 1,000 units become 1,000 shells with
TimeSeries and provenance submodels. Each size runs in a fresh subprocess so that its peak RSS
(``ru_maxrss``) is its own. The ceiling inserts, on the same server and database, as many documents as the
ingest had rows, each as large as the ingest's stored bytes per row (the submodels' JSON) -- and, for reference,
as large as a CSV row. Both insert with the store's write concern (``majority``) in batches of 1,000.

Run: python -m bench.ingest_csv [--rows 1000000] [--memory-rows 100000] [--skip-memory]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymongo import MongoClient

from bench.fixtures import store_settings

ROWS_PER_UNIT = 1000
HEADER = ("timestamp,serial_number,station,inlet_pressure_bar,outlet_pressure_bar,flow_m3_h,power_kw,"
          "vibration_mm_s,result\n")


def generate(path: Path, rows: int) -> int:
    """The CSV file (UTF-8 with BOM, like the sample); returns its size in bytes."""
    start = datetime.datetime(2025, 2, 5, 6, 0, tzinfo=datetime.UTC)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\ufeff" + HEADER)
        for i in range(rows):
            unit, second = divmod(i, ROWS_PER_UNIT)
            t = start + datetime.timedelta(seconds=unit * 1200 + second)
            vibration = "" if i % 97 == 3 else f"{0.8 + (i % 41) / 100:.3f}"
            f.write(f"{t:%Y-%m-%dT%H:%M:%SZ},BX{unit:05d}-25-{unit:06d},TB-03,{0.95 + (i % 11) / 100:.3f},"
                    f"{6.1 + (i % 29) / 100:.3f},{36 + (i % 37) / 10:.2f},{7.2 + (i % 23) / 50:.3f},{vibration},"
                    "PASS\n")
    return path.stat().st_size


def worker(args: argparse.Namespace) -> None:
    """One ingest in this process; prints its figures as JSON."""
    from aas_server.settings import Settings
    from aas_server.store import open_store
    from adapters import mapping as mappings
    from adapters.cli import MAPPINGS, make_source
    from adapters.ingest import ingest

    settings = Settings(mongodb_uri=args.uri, mongodb_database=args.database, data_dir=args.data_dir)
    store = open_store(settings)
    mapping = mappings.load(MAPPINGS / "test_bench_timeseries.yaml")
    started = time.perf_counter()
    summary = ingest([make_source(mapping, args.input)], mapping, store)
    seconds = time.perf_counter() - started
    store.close()
    print(json.dumps({"rows": summary.records, "loaded": summary.loaded, "rejected": summary.rejected,
                      "seconds": seconds, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def run_worker(uri: str, database: str, data_dir: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.ingest_csv", "--worker", "--uri", uri, "--database", database,
         "--data-dir", data_dir, "--input", str(path)],
        capture_output=True, text=True, check=True, env={**os.environ, "AAS_LOG_LEVEL": "WARNING"})
    figures: dict = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def stored_bytes(client: MongoClient, database: str) -> int:
    """Bytes of canonical JSON the store holds (identifiables and elements)."""
    db = client[database]
    total = 0
    for name in ("shells", "submodels", "submodel_elements"):
        for doc in db[name].find({}, {"json": 1}, batch_size=4):  # FerretDB replies may exceed 48 MB otherwise
            total += len(doc["json"])
    return total


def ceiling(client: MongoClient, database: str, count: int, size: int) -> float:
    """Documents per second of a raw ``insert_many`` of ``count`` documents of about ``size`` bytes."""
    collection = client[database][f"ceiling_{size}"]
    payload = "x" * max(0, size - 40)
    started = time.perf_counter()
    batch = []
    for i in range(count):
        batch.append({"_id": f"{i:012d}", "json": payload})
        if len(batch) == 1000:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
    rate = count / (time.perf_counter() - started)
    collection.drop()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=100_000, help="the smaller run of the memory comparison")
    parser.add_argument("--skip-memory", action="store_true", help="only the large run and its ceiling")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    work = Path(tempfile.mkdtemp(prefix="aas-bench-ingest-"))
    sizes = [args.rows] if args.skip_memory else [args.memory_rows, args.rows]
    print(f"# CSV ingest (test bench format, {ROWS_PER_UNIT} rows per unit) into the MongoDB-wire store")
    with store_settings("mongo") as settings:
        client: MongoClient = MongoClient(settings.mongodb_uri, w="majority")
        runs = {}
        for rows in sizes:
            path = work / f"bench_{rows}.csv"
            file_bytes = generate(path, rows)
            database = f"{settings.mongodb_database}_{rows}"
            figures = run_worker(settings.mongodb_uri, database, settings.data_dir, path)
            figures["file_bytes"] = file_bytes
            figures["stored_bytes"] = stored_bytes(client, database)
            runs[rows] = figures
            print(f"ingest {rows:>9,} rows: {figures['seconds']:8.1f} s  {rows / figures['seconds']:9,.0f} rows/s  "
                  f"peak RSS {figures['maxrss_kb'] / 1024:7.1f} MB  loaded {figures['loaded']:,}  "
                  f"rejected {figures['rejected']}  stored {figures['stored_bytes'] / 1e6:,.0f} MB JSON")
            path.unlink()
        large = runs[args.rows]
        rate = args.rows / large["seconds"]
        per_row = large["stored_bytes"] // args.rows
        csv_row = large["file_bytes"] // args.rows
        stored_ceiling = ceiling(client, f"{settings.mongodb_database}_ceiling", args.rows, per_row)
        print(f"ceiling: insert_many of {args.rows:,} documents of {per_row} B (stored JSON per row): "
              f"{stored_ceiling:9,.0f} docs/s -> ingest at {100 * rate / stored_ceiling:.0f} % (target >= 30 %)")
        row_ceiling = ceiling(client, f"{settings.mongodb_database}_ceiling", args.rows, csv_row)
        print(f"reference: insert_many of {args.rows:,} documents of {csv_row} B (one CSV row): "
              f"{row_ceiling:9,.0f} docs/s -> ingest at {100 * rate / row_ceiling:.0f} %")
        if not args.skip_memory:
            small = runs[args.memory_rows]
            ratio = large["maxrss_kb"] / small["maxrss_kb"]
            print(f"peak memory {args.rows:,} vs {args.memory_rows:,} rows: {large['maxrss_kb'] / 1024:.1f} MB vs "
                  f"{small['maxrss_kb'] / 1024:.1f} MB, ratio {ratio:.2f} (target <= 1.20)")
        client.close()


if __name__ == "__main__":
    main()
