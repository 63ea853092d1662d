"""The deployment files: the container's entrypoint run as a plain process (no Docker engine here), and the
compose file and Helm chart checked for what can be checked without a cluster."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.harness.server import free_port

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENTRYPOINT_ROLES = re.findall(r"^  ([a-z-]+)\) ", (DEPLOY / "entrypoint.sh").read_text(), re.M)


def test_the_entrypoint_serves_the_api_role_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AAS_DATA_DIR": str(tmp_path), "AAS_BIND": f"127.0.0.1:{port}", "AAS_WORKERS": "2",
           "AAS_LOG_FORMAT": "json"}
    log = open(tmp_path / "entrypoint.log", "wb")
    process = subprocess.Popen([str(DEPLOY / "entrypoint.sh"), "api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                live = requests.get(f"http://127.0.0.1:{port}/health/live", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "entrypoint.log").read_text()
                time.sleep(0.2)
        assert live.status_code == 200
        ready = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"]["store"]["status"] == "UP"
        shells = requests.get(f"http://127.0.0.1:{port}/api/v3.1/shells", headers={"X-Request-Id": "trace-me-42"},
                              timeout=5)
        assert shells.headers["X-Request-Id"] == "trace-me-42"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        log.close()
    access_lines = [line for line in (tmp_path / "entrypoint.log").read_text().splitlines() if "trace-me-42" in line]
    assert access_lines, "the JSON access log carries the request id"
    assert '"route": "/api/v3.1/shells"' in access_lines[0] and '"status": 200' in access_lines[0]


def test_the_compose_stack_runs_roles_the_entrypoint_knows_on_a_three_member_replica_set() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"mongo1", "mongo2", "mongo3", "mongo-init", "api", "gateway", "plc-sim"} <= set(services)
    for name in ("api", "gateway", "plc-sim"):
        assert services[name]["command"][0] in ENTRYPOINT_ROLES, name
    uri = services["api"]["environment"]["AAS_MONGODB_URI"]
    assert "replicaSet=rs0" in uri and "w=majority" in uri and uri.count("mongo") >= 3
    init = " ".join(services["mongo-init"]["command"])
    assert all(f"mongo{n}:27017" in init for n in (1, 2, 3))


def test_the_helm_chart_declares_what_its_templates_use() -> None:
    chart = DEPLOY / "helm" / "aas-server"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["apiVersion"] == "v2"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    used = set()
    for template in (chart / "templates").iterdir():
        used |= set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text()))
    for path in sorted(used):
        node = values
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"values.yaml lacks {path}"
            node = node[part]
