"""Schemathesis on the official Part 2 OpenAPI (3.1.2, Entire API Collection) against the demo plant under gunicorn.

One test per operation that this server implements. Hypothesis generates requests from the OpenAPI; part of them
address real demo objects (the path parameters are replaced by ids and idShortPaths read from the server), the rest
random ones. No response may be a 5xx, and every response must match the response schema and a declared content
type. Reads run first and deletions last, so that fuzzed writes do not empty the store before the reads ran.

The responses are checked against a copy of the OpenAPI with the few patches in ``SCHEMA_PATCHES``: upstream
defects, and the decisions of README's "Conformance decisions". Everything else in those responses is still checked.
"""
from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from aas_server.model.ids import encode_id

#: on the embedded store only: the fuzzing takes minutes, and the store makes no difference to the OpenAPI shapes
pytestmark = [pytest.mark.conformance, pytest.mark.parametrize("demo_server", ["embedded"], indirect=True)]

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "openapi" / "3.1.2"
SPEC = Path("Entire-API-Collection") / "V3.1.yaml"
PART2 = Path("Part2-API-Schemas") / "openapi.yaml"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

#: fuzzed here: the repositories, the AASX file server, /serialization and /description. The registries
#: (/shell-descriptors, /submodel-descriptors, /bulk) and discovery (/lookup) are fuzzed against their own profile
#: files in test_schemathesis_registry.py. Not served: /query, and the single-AAS /aas... and single-submodel
#: /submodel... paths of the service specifications, which this server serves only under the repository superpaths
#: /shells/{id} and /submodels/{id} (and the Submodel Service also at /submodels/{id}/submodel)
SERVED = re.compile(r"^/(shells|submodels|concept-descriptions|packages|serialization|description)(/|$)")

#: operations left out because of defects of the upstream OpenAPI (listed in ../shared/openapi/README.md)
EXCLUDED = {
    ("POST", "/submodels/{submodelIdentifier}/submodel-elements/{idShortPath}/invoke/$value"):
        "declares a path parameter aasIdentifier that the path does not contain",
    ("POST", "/submodels/{submodelIdentifier}/submodel-elements/{idShortPath}/invoke-async/$value"):
        "declares a path parameter aasIdentifier that the path does not contain",
}

#: element kinds that operations on these paths address (when they address a demo element)
ELEMENT_KINDS = {"/invoke": {"Operation"}, "/operation-": {"Operation"}, "/attachment": {"File"}}

#: examples per operation; writes with metamodel bodies are slow to generate (up to a second each)
MAX_EXAMPLES = {"GET": 20, "DELETE": 10}
BODY_EXAMPLES = 4
_METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}


def _any_of(schema: dict[str, Any]) -> None:
    schema["anyOf"] = schema.pop("oneOf")


def _result_array_of(ref: str) -> Callable[[dict[str, Any]], None]:
    def patch(schema: dict[str, Any]) -> None:
        schema["allOf"][1]["properties"]["result"] = {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}
    return patch


#: Part 2 API schemas changed before the check, each with its reason
SCHEMA_PATCHES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "SubmodelElementMetadata": (_any_of, (
        "upstream defect: a oneOf of alternatives that overlap (several are just SubmodelElementAttributes) without "
        "a discriminator; no element is valid under exactly one")),
    "SubmodelElementValue": (_any_of, (
        "upstream defect: a oneOf of overlapping alternatives (a Range value is also a collection value, ...) "
        "without a discriminator")),
    "GetSubmodelElementsValueResult": (_result_array_of("ValueOnly"), (
        "README, Conformance decisions: $value lists are arrays of {idShort: value} objects")),
    "GetSubmodelsValueResult": (_result_array_of("SubmodelValue"), (
        "README, Conformance decisions: $value lists are arrays, one SubmodelValue per submodel")),
}


def _unescape_plain_patterns(node: Any) -> None:
    """Upstream defect: three XML-character patterns of the Part 2 schemas (PackageDescription.aasIds,
    EntityValue.globalAssetId, the AssetType parameter) are plain YAML scalars, which keep both backslashes of
    ``\\x09``; such a pattern matches only literal backslash sequences, never an identifier. Part 1 has the same
    patterns quoted."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("^([\\\\x09"):
            node["pattern"] = pattern.replace("\\\\", "\\")
        for value in node.values():
            _unescape_plain_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _unescape_plain_patterns(value)


def _binary_any_type(spec: dict[str, Any]) -> None:
    """README, Conformance decisions: files and thumbnails are served with their own content type, not as
    application/octet-stream."""
    for item in spec["paths"].values():
        response = item.get("get", {}).get("responses", {}).get("200", {})
        content = response.get("content", {})
        if list(content) == ["application/octet-stream"]:
            response["content"] = {"*/*": content["application/octet-stream"]}


def _spec_operations() -> list[tuple[str, str]]:
    paths = yaml.safe_load((SPEC_DIR / SPEC).read_text())["paths"]
    found = [(method, path) for path, item in paths.items() if SERVED.match(path)
             for method in item if method in _METHOD_ORDER and (method.upper(), path) not in EXCLUDED]
    return sorted(found, key=lambda op: (_METHOD_ORDER[op[0]], op[1]))


OPERATIONS = _spec_operations()


def patched_spec_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the spec folder (its files refer to each other) with ``SCHEMA_PATCHES`` applied to Part 2."""
    spec_dir = tmp_path_factory.mktemp("openapi") / "3.1.2"
    shutil.copytree(SPEC_DIR, spec_dir)
    part2 = yaml.safe_load((spec_dir / PART2).read_text())
    for name, (patch, _reason) in SCHEMA_PATCHES.items():
        patch(part2["components"]["schemas"][name])
    _unescape_plain_patterns(part2)
    (spec_dir / PART2).write_text(yaml.safe_dump(part2, sort_keys=False, allow_unicode=True))
    return spec_dir


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The OpenAPI with ``SCHEMA_PATCHES`` applied."""
    spec_dir = patched_spec_copy(tmp_path_factory)
    spec = yaml.safe_load((spec_dir / SPEC).read_text())
    _binary_any_type(spec)
    (spec_dir / SPEC).write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return schemathesis.openapi.from_path(str(spec_dir / SPEC))


@pytest.fixture(scope="module")
def demo_api(demo_server: str) -> str:
    return f"{demo_server}/api/v3.1"


@pytest.fixture(scope="module")
def demo_parameters(demo_api: str) -> list[dict[str, str]]:
    """Path parameters of real demo objects: each shell with each of its submodels and each element in them.

    ``kind`` is the element's modelType; it is not a path parameter.
    """
    def get(path: str, **params: Any) -> Any:
        response = requests.get(f"{demo_api}{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    shells = get("/shells", limit=1000)["result"]
    cds = [encode_id(cd["id"]) for cd in get("/concept-descriptions", limit=1000)["result"]]
    packages = [encode_id(upload_package(demo_api, shell["id"])) for shell in shells[:2]]
    found: list[dict[str, str]] = []
    for shell in shells:
        for ref in shell.get("submodels", []):
            sm = encode_id(ref["keys"][0]["value"])
            for path, kind in _element_paths(get(f"/submodels/{sm}").get("submodelElements", []), ""):
                found.append({"aasIdentifier": encode_id(shell["id"]), "submodelIdentifier": sm, "idShortPath": path,
                              "kind": kind, "cdIdentifier": cds[len(found) % len(cds)],
                              "packageId": packages[len(found) % len(packages)]})
    assert found
    assert cds
    return found


def _element_paths(elements: list[dict[str, Any]], prefix: str, in_list: bool = False) -> Iterator[tuple[str, str]]:
    for i, element in enumerate(elements):
        path = f"{prefix}[{i}]" if in_list else f"{prefix}.{element['idShort']}" if prefix else element["idShort"]
        yield path, element["modelType"]
        children = element.get("statements" if element["modelType"] == "Entity" else "value")
        if element["modelType"] in ("SubmodelElementCollection", "SubmodelElementList", "Entity") and children:
            yield from _element_paths(children, path, element["modelType"] == "SubmodelElementList")


def upload_package(api_url: str, shell_id: str) -> str:
    """An AASX package of the shell, as the server serializes it, on the AASX file server; returns its packageId."""
    aasx = requests.get(f"{api_url}/serialization", params={"aasIds": encode_id(shell_id)}, timeout=60,
                        headers={"Accept": "application/asset-administration-shell-package+xml"})
    aasx.raise_for_status()
    response = requests.post(f"{api_url}/packages", files={"file": ("shell.aasx", aasx.content)},
                             data={"aasIds": shell_id, "fileName": "shell.aasx"}, timeout=60)
    assert response.status_code == 201, response.text
    package_id: str = response.json()["packageId"]
    return package_id


def _http_layer(response: Any) -> bool:
    """gunicorn answers a request line over its ``limit_request_line`` (8190 bytes in deploy/gunicorn.conf.py)
    itself, with an HTML 414, before the app sees the request: an HTTP-layer limit, not an API response."""
    content_type = response.headers.get("content-type", [""])[0]
    return bool(response.status_code == 414 and content_type.startswith("text/html"))


def _cases(operation: Any, method: str) -> st.SearchStrategy[Any]:
    """Valid requests; for reads and deletions (quick to generate) also invalid ones, which must not cause a 5xx."""
    if method.upper() in ("GET", "DELETE"):
        return operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)
    return operation.as_strategy()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_operation(schema: Any, demo_api: str, demo_parameters: list[dict[str, str]], method: str, path: str) -> None:
    operation = schema[path][method.upper()]
    names = {p.name for p in operation.path_parameters}
    kinds = next((kinds for part, kinds in ELEMENT_KINDS.items() if part in path), None)
    demo = [{k: v for k, v in params.items() if k in names} for params in demo_parameters
            if kinds is None or params["kind"] in kinds] if names else []
    failures: dict[str, str] = {}
    sent = {"random": 0, "demo": 0}
    statuses: Counter[int] = Counter()

    @given(case=_cases(operation, method), real=st.sampled_from(demo) if demo else st.none())
    @settings(max_examples=MAX_EXAMPLES.get(method.upper(), BODY_EXAMPLES), deadline=None, derandomize=True,
              database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any, real: dict[str, str] | None) -> None:
        if real and sent["demo"] <= sent["random"]:  # every other request addresses a demo object
            case.path_parameters = {**(case.path_parameters or {}), **real}
        else:
            real = None
        sent["demo" if real else "random"] += 1
        response = case.call(base_url=demo_api)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error] if _http_layer(response) else CHECKS)
        except (Failure, FailureGroup) as e:  # a group when more than one check failed
            for failure in e.exceptions if isinstance(e, FailureGroup) else (e,):
                failures.setdefault(failure.title, f"{case.as_curl_command()}\n-> {response.status_code} "
                                    f"{response.content[:300]!r}\n{failure}")

    run()
    print(f"{method.upper()} {path}: {sent['demo']} requests to demo objects, {sent['random']} to random ones; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sent["demo"] or not demo, "no request addressed a demo object"
    assert not failures, "\n\n".join(failures.values())
