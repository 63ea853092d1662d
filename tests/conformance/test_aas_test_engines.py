"""The official IDTA test engine (aas-test-engines 1.0.3, API 3.0 suites) against the demo plant under gunicorn.

The engine knows only the 3.0 read profiles (``SSP-002``). Per operation it runs negative tests (invalid
parameters must be answered with 4xx) and positive tests (responses must parse as the metamodel). Every suite must
pass without a single failure. The engine's warnings (e.g. "Cannot check pagination") do not fail it.

The engine checks the element routes for each of the 14 element kinds that it finds in the submodel it tests, but
only among top-level elements and inside collections. So the Submodel Service suite runs on three submodels,
which together hold all 14 kinds where the engine looks; the test asserts that the kinds were really checked.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import requests
from aas_test_engines import api
from aas_test_engines.config import CheckApiConfig
from aas_test_engines.http import HttpClient, Request
from aas_test_engines.result import AasTestResult, Level

from aas_server.model.ids import encode_id

pytestmark = pytest.mark.conformance

SSP = "https://admin-shell.io/aas/API/3/0/{}/SSP-002"
SHELL_ID = "https://example.com/ids/aas/P-101"
SUBMODEL_ID = "https://example.com/ids/sm/P-101/{}"
#: the relationships of the demo's bill of material live in an Entity, where the engine does not look; the test
#: copies them (read from the server) into a submodel of their own
RELATIONSHIPS_ID = "https://example.com/ids/sm/conformance/Relationships"

ELEMENT_KINDS = {
    "SubmodelElementCollection", "SubmodelElementList", "Entity", "BasicEventElement", "Capability", "Operation",
    "Property", "MultiLanguageProperty", "Range", "ReferenceElement", "RelationshipElement",
    "AnnotatedRelationshipElement", "Blob", "File",
}


@dataclasses.dataclass(frozen=True)
class Target:
    suite: str
    #: for the single-resource service suites: the engine's service root and the superpath serving it here
    service: tuple[str, str] | None = None
    #: element kinds the engine must find and check
    kinds: frozenset[str] = frozenset()
    #: writes the data the target needs through the API; called with the API URL
    prepare: Callable[[str], None] | None = None


def _submodel_service(submodel_id: str, kinds: set[str], prepare: Callable[[str], None] | None = None) -> Target:
    return Target(SSP.format("SubmodelServiceSpecification"), ("/submodel", f"/submodels/{encode_id(submodel_id)}"),
                  frozenset(kinds), prepare)


TARGETS = {
    "aas-repository": Target(SSP.format("AssetAdministrationShellRepositoryServiceSpecification")),
    "submodel-repository": Target(SSP.format("SubmodelRepositoryServiceSpecification")),
    "aas-service": Target(SSP.format("AssetAdministrationShellServiceSpecification"),
                          ("/aas", f"/shells/{encode_id(SHELL_ID)}")),
    "submodel-service-MaintenanceAndEvents": _submodel_service(
        SUBMODEL_ID.format("MaintenanceAndEvents"),
        {"SubmodelElementList", "File", "Blob", "ReferenceElement", "BasicEventElement", "Operation", "Capability"},
    ),
    "submodel-service-TechnicalData": _submodel_service(
        SUBMODEL_ID.format("TechnicalData"),
        {"SubmodelElementCollection", "Property", "MultiLanguageProperty", "Range", "File"},
    ),
    "submodel-service-Relationships": _submodel_service(
        RELATIONSHIPS_ID, {"Entity", "RelationshipElement", "AnnotatedRelationshipElement"},
        lambda api_url: put_relationships_submodel(api_url),
    ),
}
assert set().union(*(t.kinds for t in TARGETS.values())) == ELEMENT_KINDS

#: paths the engine sends to a single-resource service that are server-wide operations, not the resource's
_SERVER_WIDE = ("/description", "/serialization", "/shells")


class ServiceClient(HttpClient):
    """The engine's client for a service suite, served by one resource of the repository.

    The engine addresses a single AAS (submodel) at ``/aas`` (``/submodel``) and, like its own
    ``--remove-path-prefix`` option, expects that root to be the service's root, where it also sends
    ``/description``, ``/serialization`` and ``/shells``. This server serves the AAS Service and Submodel Service
    under the repository superpaths ``/shells/{id}`` and ``/submodels/{id}``, and the server-wide operations at
    the API root; this client maps the one onto the other, as a reverse proxy in front of the server would.
    """

    def __init__(self, host: str, root: str, superpath: str) -> None:
        super().__init__(host)
        self.root = root
        self.superpath = superpath

    def descend(self, prefix: str) -> ServiceClient:
        child = ServiceClient(self.host, self.root, self.superpath)
        child.prefixes = [*self.prefixes, prefix]
        return child

    def route(self, path: str) -> str:
        if path == self.root or path.startswith((self.root + "/", self.root + "?")):
            path = path[len(self.root):]
        if path.startswith(_SERVER_WIDE):
            return path
        return self.superpath + path

    def send(self, request: Request) -> requests.Response:
        path = self.route("".join(self.prefixes) + request.path)
        return HttpClient(self.host).send(dataclasses.replace(request, path=path))


def failures(result: AasTestResult, depth: int = 0) -> Iterator[str]:
    """The failing branches of the engine's result tree, with the requests and responses of each failing test."""
    if result.ok():
        return
    yield "  " * depth + f"[{result.level.name}] {result.message.strip()}"
    if all(not kid.sub_results for kid in result.sub_results):  # a failed test: show all it did
        for kid in result.sub_results:
            yield "  " * (depth + 1) + f"[{kid.level.name}] {kid.message.strip()}"
        return
    for kid in result.sub_results:
        yield from failures(kid, depth + 1)


def _operations(root: AasTestResult) -> Iterator[tuple[str, AasTestResult]]:
    for node in root.sub_results:
        if node.message.startswith("Checking "):
            yield node.message.removeprefix("Checking "), node


def _leaves(result: AasTestResult) -> Iterator[AasTestResult]:
    if not result.sub_results:
        yield result
    for kid in result.sub_results:
        yield from _leaves(kid)


def warnings(root: AasTestResult) -> Counter[str]:
    """The engine's warnings, each with the operation it came from."""
    return Counter(f"{operation}: {leaf.message.strip()}" for operation, node in _operations(root)
                   for leaf in _leaves(node) if leaf.level == Level.WARNING)


def checked_kinds(root: AasTestResult) -> set[str]:
    """Element kinds for which the engine ran a check (rather than warning that there is none)."""
    checks: dict[str, list[AasTestResult]] = {}

    def collect(node: AasTestResult) -> None:
        for kid in node.sub_results:
            kind = kid.message.removeprefix("Checking ")
            if kind in ELEMENT_KINDS:
                checks.setdefault(kind, []).append(kid)
            collect(kid)

    collect(root)
    return {kind for kind, nodes in checks.items() if any(node.level == Level.INFO for node in nodes)}


def put_relationships_submodel(api_url: str) -> None:
    """A submodel holding the statements of the demo's ``Pump`` entity (two entities, two relationships and an
    annotated relationship) as top-level elements, read from and written to the server under test."""
    bill = f"{api_url}/submodels/{encode_id(SUBMODEL_ID.format('BillOfMaterial'))}/submodel-elements/Pump"
    response = requests.get(bill, timeout=30)
    response.raise_for_status()
    submodel = {"modelType": "Submodel", "id": RELATIONSHIPS_ID, "idShort": "Relationships",
                "submodelElements": response.json()["statements"]}
    response = requests.put(f"{api_url}/submodels/{encode_id(RELATIONSHIPS_ID)}", json=submodel, timeout=30)
    assert response.status_code in (201, 204), response.text


@pytest.mark.parametrize("name", list(TARGETS))
def test_suite(demo_server: str, name: str) -> None:
    target = TARGETS[name]
    host = f"{demo_server}/api/v3.0"
    if target.prepare is not None:
        target.prepare(host)
    client = HttpClient(host) if target.service is None else ServiceClient(host, *target.service)

    result, matrix = api.execute_tests(client, CheckApiConfig(suite=target.suite, version="3.0"))

    print(f"{name}: {matrix.total()} checks; negative {matrix.invalid_rejected}/"
          f"{matrix.invalid_rejected + matrix.invalid_accepted}, positive {matrix.valid_accepted}/"
          f"{matrix.valid_accepted + matrix.valid_rejected} passed; element kinds checked: "
          f"{', '.join(sorted(checked_kinds(result))) or '-'}")
    for message, count in warnings(result).items():
        print(f"warning ({count}x): {message}")
    assert result.ok(), "\n".join(failures(result))
    assert matrix.valid_accepted > 0
    assert (matrix.invalid_accepted, matrix.valid_rejected) == (0, 0)
    assert target.kinds <= checked_kinds(result), f"not checked: {sorted(target.kinds - checked_kinds(result))}"
