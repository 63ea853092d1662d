"""Schemathesis on the official 3.1.2 registry and discovery OpenAPI files (AAS Registry SSP-001 and SSP-003,
Submodel Registry SSP-001 and SSP-003, Discovery SSP-001) against the demo plant under gunicorn.

No 5xx, every response schema-valid with a declared content type. Every other request addresses a demo shell or
submodel (whose descriptors follow the repository, so writes to them are refused with 409) or one of its asset
ids; few examples per operation keep the run short. The Part 2 schema patches of ``test_schemathesis`` apply.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup

from aas_server.model.ids import encode_id
from tests.conformance.test_schemathesis import (
    CHECKS,
    SPEC_DIR,
    _cases,
    _http_layer,
    patched_spec_copy,
)

pytestmark = [pytest.mark.conformance, pytest.mark.parametrize("demo_server", ["embedded"], indirect=True)]

SPECS = (
    "AssetAdministrationShellRegistryServiceSpecification/V3.1_SSP-001.yaml",
    "AssetAdministrationShellRegistryServiceSpecification/V3.1_SSP-003.yaml",
    "SubmodelRegistryServiceSpecification/V3.1_SSP-001.yaml",
    "SubmodelRegistryServiceSpecification/V3.1_SSP-003.yaml",
    "DiscoveryServiceSpecification/V3.1_SSP-001.yaml",
)
MAX_EXAMPLES = {"GET": 6, "DELETE": 4}
#: writes with bodies; bulk bodies (arrays of descriptors) take hypothesis up to half a minute each to generate
DEFAULT_BODY_EXAMPLES = 2
_METHODS = ("get", "post", "put", "delete")


def _operations() -> list[tuple[str, str, str]]:
    found = []
    for spec in SPECS:
        paths = yaml.safe_load((SPEC_DIR / spec).read_text())["paths"]
        found += [(spec, method, path) for path, item in paths.items() if path != "/description"
                  for method in item if method in _METHODS]
    return sorted(found, key=lambda op: (_METHODS.index(op[1]), op[0], op[2]))


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the spec folder with the Part 2 schema patches applied (the files refer to each other)."""
    copy = patched_spec_copy(tmp_path_factory)
    for spec in SPECS:
        _fix_handle_parameters(copy / spec)
    return copy


def _fix_handle_parameters(path: Path) -> None:
    """Upstream defect of both SSP-003 (bulk) files: the ``handleId`` path parameter of /bulk/status and
    /bulk/result gives a *parameter* object (``#/components/parameters/HandleId``) as its schema. Replaced by the
    schema that parameter declares, a string."""
    spec = yaml.safe_load(path.read_text())
    for item in spec["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("name") == "handleId":
                    parameter["schema"] = {"type": "string"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))


@pytest.fixture(scope="module")
def schemas(spec_dir: Path) -> dict[str, Any]:
    return {spec: schemathesis.openapi.from_path(str(spec_dir / spec)) for spec in SPECS}


@pytest.fixture(scope="module")
def demo_values(demo_server: str) -> list[dict[str, str]]:
    """Path parameters of the demo plant: each shell with each of its submodels, and the handles of a bulk
    request that succeeded and of one that was rolled back."""
    api = f"{demo_server}/api/v3.1"
    shells = requests.get(f"{api}/shells", params={"limit": 1000}, timeout=30).json()["result"]
    descriptor = {"id": "urn:test:fuzz:remote", "endpoints": [{"interface": "AAS-3.0",
                                                               "protocolInformation": {"href": "https://x.example"}}]}
    handles = [requests.post(f"{api}/bulk/shell-descriptors", json=[descriptor], timeout=30).headers["Location"]
               .rsplit("/", 1)[1] for _ in range(2)]  # the second one conflicts with the first
    found = [{"aasIdentifier": encode_id(s["id"]), "submodelIdentifier": encode_id(r["keys"][-1]["value"]),
              "handleId": handles[i % 2]} for s in shells for i, r in enumerate(s.get("submodels", []))]
    assert found
    return found


@pytest.mark.parametrize(("spec", "method", "path"), OPERATIONS,
                         ids=[f"{s.split('/')[0][:-len('ServiceSpecification')]} {m.upper()} {p}" for s, m, p in OPERATIONS])
def test_operation(schemas: dict[str, Any], demo_server: str, demo_values: list[dict[str, str]], spec: str,
                   method: str, path: str) -> None:
    operation = schemas[spec][path][method.upper()]
    names = {p.name for p in operation.path_parameters}
    demo = [{k: v for k, v in values.items() if k in names} for values in demo_values] if names else []
    base_url = f"{demo_server}/api/v3.1"
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    sent = {"demo": 0, "random": 0}
    body_examples = 1 if path.startswith("/bulk/") else DEFAULT_BODY_EXAMPLES

    @given(case=_cases(operation, method), real=st.sampled_from(demo) if demo else st.none())
    @settings(max_examples=MAX_EXAMPLES.get(method.upper(), body_examples), deadline=None, derandomize=True,
              database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any, real: dict[str, str] | None) -> None:
        if real and sent["demo"] <= sent["random"]:
            case.path_parameters = {**(case.path_parameters or {}), **real}
        else:
            real = None
        sent["demo" if real else "random"] += 1
        response = case.call(base_url=base_url)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error] if _http_layer(response) else CHECKS)
        except (Failure, FailureGroup) as e:
            for failure in e.exceptions if isinstance(e, FailureGroup) else (e,):
                failures.setdefault(failure.title, f"{case.as_curl_command()}\n-> {response.status_code} "
                                    f"{response.content[:300]!r}\n{failure}")

    run()
    print(f"{method.upper()} {path}: {sent}; statuses {dict(sorted(statuses.items()))}")
    assert sent["demo"] or not demo, "no request addressed a demo object"
    assert not failures, "\n\n".join(failures.values())
