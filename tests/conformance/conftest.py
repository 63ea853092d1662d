"""A live aas-server under gunicorn holding the demo plant, for the official test engine and schemathesis."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aas_server.settings import Settings
from tests.conftest import server_env
from tests.harness.server import ROOT, GunicornServer


def demo_settings(kind: str, request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Settings of a fresh store of ``kind`` (``embedded`` or ``mongo``, on the session's ``mongo_uri``)."""
    if kind == "mongo":
        return Settings(data_dir=str(data_dir), mongodb_uri=request.getfixturevalue("mongo_uri"),
                        mongodb_database=f"aas_test_{uuid.uuid4().hex[:12]}")
    return Settings(data_dir=str(data_dir))


def serve_demo(settings: Settings) -> GunicornServer:
    """Load the demo plant with the CLI (``aas-server demo``), then start gunicorn on the same store."""
    env = server_env(settings)
    done = subprocess.run([sys.executable, "-m", "aas_server.cli", "demo"], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"aas-server demo failed:\n{done.stdout}\n{done.stderr}"
    return GunicornServer(env)


@pytest.fixture(scope="module", params=["embedded", "mongo"])
def demo_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (without ``/api/...``) of a gunicorn-served aas-server with the demo plant, per module and store."""
    settings = demo_settings(request.param, request, tmp_path_factory.mktemp(f"demo-{request.param}"))
    with serve_demo(settings) as server:
        yield server.url
    if settings.mongodb_uri:
        import pymongo

        with pymongo.MongoClient(settings.mongodb_uri) as client:
            client.drop_database(settings.mongodb_database)
