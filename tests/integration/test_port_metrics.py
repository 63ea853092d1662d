"""What external ports disclose shows in /metrics: disclosures per form and differentially private releases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from aas_server import create_app
from aas_server.demo import build_demo_plant
from aas_server.services import environment
from aas_server.settings import Settings
from aas_server.store import opened_store
from tests.integration.ingest_support import ROOT, TEST_BENCH, run

pytestmark = pytest.mark.integration

PARTNER = {"X-Data-Plane-Token": "metrics-test-secret", "Edc-Bpn": "BPNL00000003AYRE"}


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus exposition, 0 when it is not there yet."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            return float(match.group(2))
    return 0.0


def test_disclosures_and_privacy_releases_of_the_external_port_are_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the demo ports file names its policy files relative to the repository root
    monkeypatch.setenv("AAS_DATA_PLANE_SECRET", "metrics-test-secret")
    monkeypatch.setenv("AAS_MASKING_SECRET", "metrics-test-masking-secret-0123456789")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings = Settings(data_dir=str(tmp_path), ports_file="deploy/ports.demo.yaml")
    with opened_store(settings) as store:
        environment.import_environment(store, environment.from_sdk(*build_demo_plant()))
        run(store, "test_bench_timeseries", TEST_BENCH)
    client = create_app(settings).test_client()

    def scrape() -> str:
        return client.get("/metrics").get_data(as_text=True)

    before = scrape()
    served = client.get("/external/api/v3.1/submodels?limit=100", headers=PARTNER)
    assert served.status_code == 200
    after = scrape()
    for form in ("raw", "generalized", "dp"):
        assert _sample(after, "aas_disclosures_total", port="external", form=form) > \
            _sample(before, "aas_disclosures_total", port="external", form=form), form
    assert _sample(after, "aas_privacy_releases_total", port="external", outcome="new") >= \
        _sample(before, "aas_privacy_releases_total", port="external", outcome="new") + 1
    assert 'aas_privacy_epsilon_spent{partner="BPNL00000003AYRE"}' in after
    assert client.get("/external/metrics").status_code == 404
