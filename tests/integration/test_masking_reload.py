"""A changed masking profile takes effect under a running gunicorn without a restart; a broken new version is
refused (line errors in the log) and the masking before stays, with no 5xx.

The store is not what is tested here (the profile file is), so one gunicorn on the embedded store serves it, with
one worker: each worker process checks the file on its own, and which worker serves a request cannot be chosen, so
with several the "masking before" of a worker that served nothing between two versions would be an older one."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from aas_server.ports.masking_transforms import marker_form
from tests.factories import b64, prop, submodel
from tests.harness.server import GunicornServer

pytestmark = pytest.mark.integration

READ_FOR_EVERYONE = {"AllAccessPermissionRules": {"rules": [
    {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
     "OBJECTS": [{"ROUTE": "*"}], "FORMULA": {"$boolean": True}}]}}
REDACT = "version: 1\nrules:\n  - match: {path: Speed}\n    transform: redact\n"
GENERALIZE = "version: 1\nrules:\n  - match: {path: Speed}\n    transform: generalize\n    generalize: {decimals: -2}\n"
BROKEN = "version: 1\nrules:\n  - match: {path: Speed}\n    transform: generalise\n"


class Server:
    def __init__(self, url: str, folder: Path, submodel_id: str, log: Callable[[], str]) -> None:
        self.url = url
        self.profile = folder / "masking.yaml"
        self.submodel_id = submodel_id
        self.log = log

    def speeds(self, count: int = 8) -> list[Any]:
        """``Speed`` as the external port serves it, ``count`` times, through the submodel and the element route
        alike."""
        seen = []
        base = f"{self.url}/external/api/v3.1/submodels/{b64(self.submodel_id)}"
        for i in range(count):
            response = requests.get(base if i % 2 else f"{base}/submodel-elements/Speed", timeout=10)
            assert response.status_code == 200, response.text
            body = response.json()
            speed = body["submodelElements"][0] if i % 2 else body
            seen.append((speed.get("value"), marker_form(speed)))
        return seen


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("reload")
    (folder / "rules.json").write_text(json.dumps(READ_FOR_EVERYONE))
    (folder / "masking.yaml").write_text(REDACT)
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        {"name": "external", "internal": False, "prefix": "/external", "auth": {"anonymous": True},
         "rules": str(folder / "rules.json"), "masking": str(folder / "masking.yaml")},
    ]}
    (folder / "ports.yaml").write_text(yaml.safe_dump(ports))
    env = {"AAS_DATA_DIR": str(folder), "AAS_LOG_LEVEL": "WARNING", "AAS_PORTS_FILE": str(folder / "ports.yaml")}
    with GunicornServer(env, workers=1, threads=2) as running:
        sm = submodel(elements=[prop("Speed", "1456")])
        created = requests.post(f"{running.url}/api/v3.1/submodels", json=sm, timeout=10)
        assert created.status_code == 201, created.text
        yield Server(running.url, folder, sm["id"], running.log_tail)


def until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the change did not take effect in time"
        time.sleep(0.2)


def test_a_changed_profile_applies_without_restart_and_a_broken_one_keeps_the_masking_before(server: Server) -> None:
    assert set(server.speeds()) == {(None, "redacted")}

    server.profile.write_text(GENERALIZE)
    until(lambda: set(server.speeds()) == {("1500", "generalized")})

    server.profile.write_text(BROKEN)
    time.sleep(1.5)  # past the check interval: every worker has looked at the broken file
    assert set(server.speeds(12)) == {("1500", "generalized")}
    until(lambda: "masking profile" in server.log() and "not reloaded" in server.log())
    assert "line 4, column 16: transform must be one of" in server.log()

    server.profile.write_text(REDACT)
    until(lambda: set(server.speeds()) == {(None, "redacted")})
