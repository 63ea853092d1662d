"""/serialization, /description and /packages over real HTTP, on both stores."""
from __future__ import annotations

import io
import json
import zipfile
from urllib.parse import urljoin

import pytest
import requests
from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter._generic import XML_NS_AAS
from lxml import etree

from tests.factories import (
    assert_result,
    b64,
    collection,
    concept_description,
    file,
    prop,
    shell,
    submodel,
    uid,
)

pytestmark = pytest.mark.integration

AASX = "application/asset-administration-shell-package+xml"
PDF = b"%PDF-1.4 test manual\n" + bytes(range(256))


@pytest.fixture(scope="module")
def env(http: requests.Session, api: str) -> dict:
    """A shell with two submodels (one with a File whose content is stored) and a concept description."""
    manual = submodel(elements=[prop("Speed", "1"), collection("Docs", [file("Manual", None, "application/pdf")])])
    other = submodel(elements=[prop("Other", "2")])
    aas = shell(submodels=(manual["id"], other["id"]))
    cd = concept_description()
    for route, obj in (("shells", aas), ("submodels", manual), ("submodels", other), ("concept-descriptions", cd)):
        assert http.post(f"{api}/{route}", json=obj).status_code == 201
    response = http.put(f"{api}/submodels/{b64(manual['id'])}/submodel-elements/Docs.Manual/attachment",
                        files={"file": ("manual.pdf", PDF, "application/pdf")}, data={"fileName": "manual.pdf"})
    assert response.status_code == 204, response.text
    return {"shell": aas, "manual": manual, "other": other, "cd": cd}


def selection(env: dict, **extra: str) -> dict:
    return {"aasIds": b64(env["shell"]["id"]),
            "submodelIds": [b64(env["manual"]["id"]), b64(env["other"]["id"])], **extra}


def read_aasx(data: bytes) -> tuple[model.DictIdentifiableStore, aasx.DictSupplementaryFileContainer]:
    objects: model.DictIdentifiableStore = model.DictIdentifiableStore()
    files = aasx.DictSupplementaryFileContainer()
    with aasx.AASXReader(io.BytesIO(data), failsafe=False) as reader:
        reader.read_into(objects, files)
    return objects, files


def make_aasx(*objects: model.Identifiable, files: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """An AASX written by the SDK (not by the server) holding ``objects`` and ``files`` (path: (data, type))."""
    container = aasx.DictSupplementaryFileContainer()
    for path, (data, content_type) in (files or {}).items():
        container.add_file(path, io.BytesIO(data), content_type)
    out = io.BytesIO()
    with aasx.AASXWriter(out) as writer:
        writer.write_all_aas_objects("/aasx/data.json", model.DictIdentifiableStore(objects), container)
    return out.getvalue()


def sdk_package() -> tuple[model.AssetAdministrationShell, model.Submodel, bytes]:
    """A shell and submodel made with the SDK, and an AASX of both with the File's content."""
    sm = model.Submodel(uid("sm"), [
        model.Property("Speed", model.datatypes.Int, 5),
        model.File("Manual", "application/pdf", "/aasx/files/manual.pdf"),
    ])
    aas = model.AssetAdministrationShell(
        model.AssetInformation(model.AssetKind.INSTANCE, global_asset_id=uid("asset")), uid("shell"),
        id_short="FromPackage", submodel={model.ModelReference.from_referable(sm)},
    )
    return aas, sm, make_aasx(aas, sm, files={"/aasx/files/manual.pdf": (PDF, "application/pdf")})


# -- /serialization --------------------------------------------------------------------------------------------


def test_json_selection_has_the_right_counts(http, api, env):
    response = http.get(f"{api}/serialization", params=selection(env), headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert [s["id"] for s in body["assetAdministrationShells"]] == [env["shell"]["id"]]
    assert sorted(s["id"] for s in body["submodels"]) == sorted([env["manual"]["id"], env["other"]["id"]])
    assert env["cd"]["id"] in [c["id"] for c in body["conceptDescriptions"]]
    assert body["assetAdministrationShells"][0] == env["shell"]


def test_json_without_concept_descriptions(http, api, env):
    response = http.get(f"{api}/serialization", params=selection(env, includeConceptDescriptions="false"))
    assert response.status_code == 200
    body = response.json()
    assert "conceptDescriptions" not in body
    assert len(body["submodels"]) == 2
    only = http.get(f"{api}/serialization", params={"submodelIds": b64(env["other"]["id"]),
                                                    "includeConceptDescriptions": "false"}).json()
    assert only == {"submodels": [env["other"]]}


def test_everything_when_nothing_is_selected(http, api, env):
    body = http.get(f"{api}/serialization").json()
    assert env["shell"]["id"] in [s["id"] for s in body["assetAdministrationShells"]]
    assert {env["manual"]["id"], env["other"]["id"]} <= {s["id"] for s in body["submodels"]}


def test_unknown_selected_id_is_404(http, api, env):
    assert_result(http.get(f"{api}/serialization", params={"aasIds": b64(uid("missing"))}), 404)


def test_xml_parses_with_lxml(http, api, env):
    response = http.get(f"{api}/serialization", params=selection(env), headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"aas": XML_NS_AAS.strip("{}")}
    assert root.tag == f"{XML_NS_AAS}environment"
    shell_ids = root.xpath("aas:assetAdministrationShells/aas:assetAdministrationShell/aas:id/text()", namespaces=ns)
    submodel_ids = root.xpath("aas:submodels/aas:submodel/aas:id/text()", namespaces=ns)
    assert shell_ids == [env["shell"]["id"]]
    assert sorted(submodel_ids) == sorted([env["manual"]["id"], env["other"]["id"]])
    assert env["cd"]["id"] in root.xpath("aas:conceptDescriptions/aas:conceptDescription/aas:id/text()", namespaces=ns)


def test_aasx_reads_back_with_attachment(http, api, env):
    response = http.get(f"{api}/serialization", params=selection(env, includeConceptDescriptions="false"),
                        headers={"Accept": AASX})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(AASX)
    objects, files = read_aasx(response.content)
    assert {o.id for o in objects} == {env["shell"]["id"], env["manual"]["id"], env["other"]["id"]}
    manual = objects.get_item(env["manual"]["id"])
    path = manual.get_referable("Docs").get_referable("Manual").value
    buffer = io.BytesIO()
    files.write_file(path, buffer)
    assert buffer.getvalue() == PDF
    assert files.get_content_type(path) == "application/pdf"


def test_unacceptable_format_is_406(http, api, env):
    assert_result(http.get(f"{api}/serialization", headers={"Accept": "text/csv"}), 406, "application/json")
    assert http.get(f"{api}/serialization", headers={"Accept": "text/csv, */*;q=0.1"}).status_code == 200


def test_description_lists_profiles(http, api, live_server):
    profiles = http.get(f"{api}/description").json()["profiles"]
    repository = "https://admin-shell.io/aas/API/3/1/AssetAdministrationShellRepositoryServiceSpecification/SSP-001"
    assert repository in profiles
    assert "https://admin-shell.io/aas/API/3/1/SubmodelRepositoryServiceSpecification/SSP-001" in profiles
    assert all(p.startswith("https://admin-shell.io/aas/API/3/") for p in profiles)


# -- /packages -------------------------------------------------------------------------------------------------


def upload(http: requests.Session, url: str, data: bytes, name: str = "plant.aasx", method: str = "post"):
    return http.request(method, url, files={"file": (name, data, AASX)}, data={"fileName": name})


def test_package_lifecycle(http, api):
    aas, sm, data = sdk_package()
    response = upload(http, f"{api}/packages", data)
    assert response.status_code == 201, response.text
    description = response.json()
    package_id = description["packageId"]
    assert description["aasIds"] == [aas.id]
    location = urljoin(api + "/", response.headers["Location"])
    assert location == f"{api}/packages/{b64(package_id)}"

    # its contents are repository content now, the File's bytes included
    assert http.get(f"{api}/shells/{b64(aas.id)}").json()["idShort"] == "FromPackage"
    sm_url = f"{api}/submodels/{b64(sm.id)}"
    assert http.get(f"{sm_url}/submodel-elements/Speed/$value").json() == {"Speed": 5}
    assert http.get(f"{sm_url}/submodel-elements/Manual/attachment").content == PDF

    fetched = http.get(location)
    assert fetched.status_code == 200
    assert fetched.content == data

    listed = http.get(f"{api}/packages", params={"aasId": b64(aas.id)}).json()["result"]
    assert listed == [description]
    assert http.get(f"{api}/packages", params={"aasId": b64(uid("none"))}).json()["result"] == []
    assert description in http.get(f"{api}/packages").json()["result"]

    # PUT replaces the file and imports the new contents
    aas2, _, data2 = sdk_package()
    assert upload(http, location, data2, method="put").status_code == 204
    assert http.get(location).content == data2
    assert http.get(f"{api}/shells/{b64(aas2.id)}").status_code == 200
    assert http.get(f"{api}/packages", params={"aasId": b64(aas2.id)}).json()["result"] == [
        {"packageId": package_id, "aasIds": [aas2.id]}
    ]

    assert http.delete(location).status_code == 204
    assert_result(http.get(location), 404)
    assert_result(http.delete(location), 404)
    # deleting the file keeps what it brought
    assert http.get(f"{api}/shells/{b64(aas2.id)}").status_code == 200


def test_put_new_package_id_creates(http, api):
    aas, _, data = sdk_package()
    package_id = uid("package")
    response = upload(http, f"{api}/packages/{b64(package_id)}", data, method="put")
    assert response.status_code == 201
    assert response.json() == {"packageId": package_id, "aasIds": [aas.id]}
    assert http.get(f"{api}/packages/{b64(package_id)}").status_code == 200


def test_package_from_serialization_round_trips(http, api, env):
    exported = http.get(f"{api}/serialization", params=selection(env, includeConceptDescriptions="false"),
                        headers={"Accept": AASX}).content
    # delete what the package holds, then import it again
    for route, key in (("shells", "shell"), ("submodels", "manual"), ("submodels", "other")):
        assert http.delete(f"{api}/{route}/{b64(env[key]['id'])}").status_code == 204
    response = upload(http, f"{api}/packages", exported)
    assert response.status_code == 201, response.text
    imported = http.get(f"{api}/shells/{b64(env['shell']['id'])}").json()
    # the SDK's AASX reader keeps a shell's submodel references in a set: their order is not kept
    assert sorted(imported.pop("submodels"), key=str) == sorted(env["shell"]["submodels"], key=str)
    assert imported == {k: v for k, v in env["shell"].items() if k != "submodels"}
    manual_url = f"{api}/submodels/{b64(env['manual']['id'])}"
    assert http.get(f"{manual_url}/submodel-elements/Docs.Manual/attachment").content == PDF
    assert http.get(f"{manual_url}/submodel-elements/Speed").json() == prop("Speed", "1")


def test_package_lacking_a_file_part_imports_without_content(http, api):
    """A File naming a part the package lacks (as /serialization writes for content never uploaded) keeps its
    value; the package is still imported."""
    aas, sm, _ = sdk_package()
    response = upload(http, f"{api}/packages", make_aasx(aas, sm))
    assert response.status_code == 201, response.text
    url = f"{api}/submodels/{b64(sm.id)}/submodel-elements/Manual"
    assert http.get(f"{url}/$value").json() == {"Manual": {"contentType": "application/pdf",
                                                           "value": "/aasx/files/manual.pdf"}}
    assert_result(http.get(f"{url}/attachment"), 404)


def test_non_aasx_upload_is_400_and_imports_nothing(http, api):
    before = http.get(f"{api}/packages", params={"limit": 1000}).json()["result"]
    obj = shell()
    as_json = json.dumps({"assetAdministrationShells": [obj]}).encode()
    assert_result(upload(http, f"{api}/packages", as_json, "plant.json"), 400, "AASX")
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "not a package")
    assert_result(upload(http, f"{api}/packages", broken.getvalue()), 400, "plant.aasx")
    assert_result(http.get(f"{api}/shells/{b64(obj['id'])}"), 404)
    assert http.get(f"{api}/packages", params={"limit": 1000}).json()["result"] == before
    assert_result(http.post(f"{api}/packages", data=b"PK", headers={"Content-Type": AASX}), 400, "file")
