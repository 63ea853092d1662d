"""What the benchmarks run against: a MongoDB-wire store (FerretDB, or ``AAS_BENCH_MONGO_URI``) and gunicorn."""
from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from aas_server.settings import Settings
from tests.harness.server import GunicornServer

STORES = ("mongo", "embedded")


@contextlib.contextmanager
def store_settings(kind: str) -> Iterator[Settings]:
    """Settings of a fresh store: ``mongo`` (the MongoDB-wire server) or ``embedded`` (SQLite)."""
    data_dir = Path(tempfile.mkdtemp(prefix="aas-bench-"))
    if kind == "embedded":
        yield Settings(data_dir=str(data_dir))
        return
    uri = os.environ.get("AAS_BENCH_MONGO_URI")
    database = f"aas_bench_{uuid.uuid4().hex[:8]}"
    if uri:
        yield Settings(mongodb_uri=uri, mongodb_database=database, data_dir=str(data_dir))
        return
    from tests.harness.ferretdb import FerretDB

    with FerretDB(data_dir / "ferretdb") as server:
        yield Settings(mongodb_uri=server.uri, mongodb_database=database, data_dir=str(data_dir))


def load_arguments() -> argparse.ArgumentParser:
    """The options of the HTTP load benchmarks: duration, client processes, gunicorn workers, stores."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store", choices=STORES, action="append")
    return parser


def serve(settings: Settings, app: str = "aas_server.wsgi:app", workers: int = 4,
          extra_env: dict[str, str] | None = None) -> GunicornServer:
    env = {"AAS_DATA_DIR": settings.data_dir, "AAS_LOG_LEVEL": "WARNING", **(extra_env or {})}
    if settings.mongodb_uri:
        env.update(AAS_MONGODB_URI=settings.mongodb_uri, AAS_MONGODB_DATABASE=settings.mongodb_database)
    return GunicornServer(env, workers=workers, threads=4, log_dir=Path(settings.data_dir), app=app)


def property_element(i: int) -> dict:
    kinds = [("xs:double", f"{i * 1.5}"), ("xs:int", str(i)), ("xs:string", f"value-{i}"), ("xs:boolean", "true")]
    value_type, value = kinds[i % len(kinds)]
    return {"modelType": "Property", "idShort": f"P{i}", "valueType": value_type, "value": value,
            "semanticId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": f"urn:bench:cd:{i}"}]}}


def submodel(identifier: str, elements: int) -> dict:
    return {"modelType": "Submodel", "id": identifier, "idShort": "Bench",
            "submodelElements": [property_element(i) for i in range(elements)]}
