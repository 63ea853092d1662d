"""Fixtures shared by all tests: settings, stores (embedded and MongoDB-wire), app and HTTP clients."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from aas_server.settings import Settings


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MongoDB-wire server for the whole run: ``AAS_TEST_MONGO_URI`` if set, else FerretDB built from deploy/.

    An unreachable server fails the run; it is never skipped silently.
    """
    configured = os.environ.get("AAS_TEST_MONGO_URI")
    if configured:
        yield configured
        return
    from tests.harness.ferretdb import FerretDB

    # serialize_writes: FerretDB 1.24 applies single-document updates non-atomically (read, change in Go, write
    # back); its proxy runs writes one at a time, which gives the atomicity MongoDB guarantees and the store relies on
    with FerretDB(tmp_path_factory.mktemp("ferretdb"), serialize_writes=True) as server:
        yield server.uri


@pytest.fixture(params=["embedded", "mongo"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for one test on each store; the MongoDB database is unique per test."""
    if request.param == "mongo":
        uri = request.getfixturevalue("mongo_uri")
        return Settings(mongodb_uri=uri, mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}", data_dir=str(tmp_path))
    return Settings(data_dir=str(tmp_path))


@pytest.fixture()
def store(settings: Settings) -> Iterator[object]:
    from aas_server.store import open_store

    opened = open_store(settings)
    yield opened
    drop = getattr(opened, "drop", None)
    if drop is not None:
        drop()
    opened.close()


def server_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a gunicorn-served app these settings."""
    env = {"AAS_DATA_DIR": settings.data_dir, "AAS_LOG_LEVEL": "WARNING"}
    if settings.mongodb_uri:
        env.update(AAS_MONGODB_URI=settings.mongodb_uri, AAS_MONGODB_DATABASE=settings.mongodb_database)
    return env


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of aas-server under real gunicorn, once per test module and store; tests use unique ids."""
    from tests.harness.server import GunicornServer

    settings = module_store_settings(request, tmp_path_factory.mktemp("server"))
    with GunicornServer(server_env(settings)) as server:
        yield server.url


def module_store_settings(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Settings of a fresh store of the kind ``request.param`` names (``embedded`` or ``mongo``, its own database)."""
    if request.param == "mongo":
        return Settings(data_dir=str(data_dir), mongodb_uri=request.getfixturevalue("mongo_uri"),
                        mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}")
    return Settings(data_dir=str(data_dir))
