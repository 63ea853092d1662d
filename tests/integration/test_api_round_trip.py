"""Round trip of the SDK's example environments over real HTTP, on both stores: every identifiable posted through
the API comes back equal to what was posted, as itself, element by element, and in every serialization.

"Equal" is after canonical normalisation: the JSON the basyx encoder produces, without empty lists
(``aas_server.model.codec.prune``). That JSON is also what is posted.
"""
from __future__ import annotations

import io
import json
from typing import Any, Iterator

import pytest
import requests
from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import AASToJsonEncoder, read_aas_json_file
from basyx.aas.adapter.xml import read_aas_xml_file
from basyx.aas.examples.data import (
    example_aas,
    example_aas_mandatory_attributes,
    example_aas_missing_attributes,
    example_submodel_template,
)

from aas_server.model.codec import prune
from tests.factories import b64

pytestmark = pytest.mark.integration

AASX = "application/asset-administration-shell-package+xml"
ROUTES = {model.AssetAdministrationShell: "shells", model.Submodel: "submodels",
          model.ConceptDescription: "concept-descriptions"}
ENVIRONMENT_KEYS = {"shells": "assetAdministrationShells", "submodels": "submodels",
                    "concept-descriptions": "conceptDescriptions"}
#: lists the SDK keeps in sets: readers of XML and AASX cannot keep their order
UNORDERED = ("submodels", "isCaseOf", "refersTo", "valueReferencePairs")


def examples() -> list[model.Identifiable]:
    objects: list[model.Identifiable] = []
    for module in (example_aas, example_aas_mandatory_attributes, example_aas_missing_attributes):
        objects += list(module.create_full_example())
    objects.append(example_submodel_template.create_example_submodel_template())
    return objects


def canonical(obj: Any) -> Any:
    return prune(json.loads(json.dumps(obj, cls=AASToJsonEncoder)))


def unordered(value: Any) -> Any:
    """``value`` with the set-valued lists sorted, for comparing what went through an SDK reader."""
    if isinstance(value, dict):
        return {k: sorted((unordered(v) for v in value[k]), key=json.dumps) if k in UNORDERED else unordered(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [unordered(v) for v in value]
    return value


@pytest.fixture(scope="module")
def posted(http: requests.Session, api: str) -> dict[str, list[dict]]:
    """Every example identifiable, POSTed in its canonical JSON form; by route."""
    by_route: dict[str, list[dict]] = {route: [] for route in ROUTES.values()}
    for obj in examples():
        route = ROUTES[type(obj)]
        data = canonical(obj)
        response = http.post(f"{api}/{route}", json=data)
        assert response.status_code == 201, f"{obj.id}: {response.text}"
        assert response.json() == data, obj.id
        by_route[route].append(data)
    return by_route


def all_posted(posted: dict[str, list[dict]]) -> Iterator[tuple[str, dict]]:
    for route, objects in posted.items():
        for obj in objects:
            yield route, obj


def test_get_returns_what_was_posted(http, api, posted):
    for route, obj in all_posted(posted):
        response = http.get(f"{api}/{route}/{b64(obj['id'])}", params={"extent": "withBlobValue"})
        assert response.status_code == 200, obj["id"]
        assert response.json() == obj, obj["id"]


def test_elements_one_by_one(http, api, posted):
    for sm in posted["submodels"]:
        url = f"{api}/submodels/{b64(sm['id'])}/submodel-elements"
        listed = http.get(url, params={"extent": "withBlobValue"}).json()["result"]
        assert listed == sm.get("submodelElements", []), sm["id"]
        for element in sm.get("submodelElements", []):
            got = http.get(f"{url}/{element['idShort']}", params={"extent": "withBlobValue"})
            assert got.json() == element, f"{sm['id']} {element['idShort']}"
            if element["modelType"] not in ("Operation", "Capability"):
                assert http.get(f"{url}/{element['idShort']}/$value").status_code == 200
        assert http.get(f"{url.rsplit('/', 1)[0]}/$value").status_code == 200, sm["id"]
        assert http.get(f"{url.rsplit('/', 1)[0]}/$path").status_code == 200, sm["id"]


def test_value_only_round_trip(http, api, posted):
    """PATCHing a submodel with its own $value changes nothing."""
    for sm in posted["submodels"]:
        url = f"{api}/submodels/{b64(sm['id'])}"
        value = http.get(f"{url}/$value", params={"extent": "withBlobValue"}).json()
        response = http.patch(f"{url}/$value", json=value)
        assert response.status_code == 204, f"{sm['id']}: {response.text}"
        assert http.get(url, params={"extent": "withBlobValue"}).json() == sm, sm["id"]


def test_put_of_the_same_changes_nothing(http, api, posted):
    for route, obj in all_posted(posted):
        url = f"{api}/{route}/{b64(obj['id'])}"
        assert http.put(url, json=obj).status_code == 204, obj["id"]
        assert http.get(url, params={"extent": "withBlobValue"}).json() == obj, obj["id"]


def selection(posted: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {"aasIds": [b64(s["id"]) for s in posted["shells"]],
            "submodelIds": [b64(s["id"]) for s in posted["submodels"]]}


class MissingFilesReader(aasx.AASXReader):
    """Strict reader that skips supplementary files the package lacks: the examples' Files name parts
    (``/TestFile.pdf``) whose content was never uploaded, so no exporter can pack them."""

    def _add_supplementary_file(self, part_name: str, file_path: str, file_store: Any) -> str | None:
        try:
            return super()._add_supplementary_file(part_name, file_path, file_store)
        except KeyError:
            return None


def read_back(fmt: str, data: bytes) -> dict[str, list[dict]]:
    """Parse a serialization with the SDK's strict readers, back into canonical JSON by route."""
    if fmt == "json":
        objects = read_aas_json_file(io.StringIO(data.decode()), failsafe=False)
    elif fmt == "xml":
        objects = read_aas_xml_file(io.BytesIO(data), failsafe=False)
    else:
        objects = model.DictIdentifiableStore()
        with MissingFilesReader(io.BytesIO(data), failsafe=False) as reader:
            reader.read_into(objects, aasx.DictSupplementaryFileContainer())
    by_route: dict[str, list[dict]] = {route: [] for route in ROUTES.values()}
    for obj in objects:
        by_route[ROUTES[type(obj)]].append(canonical(obj))
    return by_route


@pytest.mark.parametrize(("fmt", "accept"), [("json", "application/json"), ("xml", "application/xml"),
                                             ("aasx", AASX)])
def test_serialization_reads_back_equal(http, api, posted, fmt, accept):
    response = http.get(f"{api}/serialization", params=selection(posted), headers={"Accept": accept})
    assert response.status_code == 200, response.text
    got = read_back(fmt, response.content)
    for route in ("shells", "submodels"):
        expected = sorted((unordered(o) for o in posted[route]), key=lambda o: o["id"])
        assert sorted((unordered(o) for o in got[route]), key=lambda o: o["id"]) == expected, route
    got_cds = {cd["id"]: unordered(cd) for cd in got["concept-descriptions"]}
    for cd in posted["concept-descriptions"]:
        assert got_cds[cd["id"]] == unordered(cd)


def test_json_serialization_is_the_stored_json(http, api, posted):
    body = http.get(f"{api}/serialization", params=selection(posted)).json()
    for route in ("shells", "submodels"):
        got = sorted(body[ENVIRONMENT_KEYS[route]], key=lambda o: o["id"])
        assert got == sorted(posted[route], key=lambda o: o["id"])


def test_aasx_from_serialization_imports_back(http, api, posted):
    exported = http.get(f"{api}/serialization", params=selection(posted), headers={"Accept": AASX}).content
    for route in ("shells", "submodels"):
        for obj in posted[route]:
            assert http.delete(f"{api}/{route}/{b64(obj['id'])}").status_code == 204
    response = http.post(f"{api}/packages", files={"file": ("examples.aasx", exported, AASX)})
    assert response.status_code == 201, response.text
    assert sorted(response.json()["aasIds"]) == sorted(s["id"] for s in posted["shells"])
    for route in ("shells", "submodels"):
        for obj in posted[route]:
            got = http.get(f"{api}/{route}/{b64(obj['id'])}", params={"extent": "withBlobValue"}).json()
            assert unordered(got) == unordered(obj), obj["id"]
