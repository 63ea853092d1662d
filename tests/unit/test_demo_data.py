"""The demo plant must survive every serialization the server offers and pass the official IDTA file checks."""

import io
import json
import zipfile

import aas_test_engines.file as aas_file
import pytest
from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import read_aas_json_file, write_aas_json_file

from aas_server.demo import build_demo_plant
from submodels import semantic_ids as sid
from tests.factories import empty_arrays

pytestmark = pytest.mark.unit

ELEMENT_KINDS = {
    model.Property,
    model.MultiLanguageProperty,
    model.Range,
    model.File,
    model.Blob,
    model.ReferenceElement,
    model.RelationshipElement,
    model.AnnotatedRelationshipElement,
    model.Entity,
    model.BasicEventElement,
    model.Operation,
    model.Capability,
    model.SubmodelElementCollection,
    model.SubmodelElementList,
}


@pytest.fixture(scope="module")
def plant():
    return build_demo_plant()


@pytest.fixture(scope="module")
def json_text(plant):
    buffer = io.StringIO()
    write_aas_json_file(buffer, plant[0])
    return buffer.getvalue()


def _children(element):
    if isinstance(element, (model.SubmodelElementCollection, model.SubmodelElementList)):
        return element.value
    if isinstance(element, model.Entity):
        return element.statement
    if isinstance(element, model.AnnotatedRelationshipElement):
        return element.annotation
    if isinstance(element, model.Operation):
        return [*element.input_variable, *element.output_variable, *element.in_output_variable]
    return ()


def _walk(elements):
    for element in elements:
        yield element
        yield from _walk(_children(element))


def _all_elements(store):
    for identifiable in store:
        if isinstance(identifiable, model.Submodel):
            yield from _walk(identifiable.submodel_element)


def _of_type(store, cls):
    return [identifiable for identifiable in store if isinstance(identifiable, cls)]


def test_plant_has_instance_and_type_shells_with_their_submodels(plant):
    store, _ = plant
    shells = _of_type(store, model.AssetAdministrationShell)
    instances = [s for s in shells if s.asset_information.asset_kind is model.AssetKind.INSTANCE]
    types = [s for s in shells if s.asset_information.asset_kind is model.AssetKind.TYPE]
    assert len(instances) >= 3 and len(types) == 1
    assert len(_of_type(store, model.ConceptDescription)) >= 4
    for shell in instances:
        assert {"serialNumber", "manufacturerPartId"} <= {a.name for a in shell.asset_information.specific_asset_id}
        id_shorts = {reference.resolve(store).id_short for reference in shell.submodel}
        assert {"Nameplate", "TechnicalData", "OperationalData"} <= id_shorts


def test_every_submodel_element_kind_is_present(plant):
    found = {type(element) for element in _all_elements(plant[0])}
    assert ELEMENT_KINDS - found == set()


def test_custom_quantities_have_a_concept_description_with_unit(plant):
    store, _ = plant
    for element in _all_elements(store):
        numeric = isinstance(element, model.Range) or (
            isinstance(element, model.Property) and element.value_type in (int, float)
        )
        semantic_id = element.semantic_id.key[0].value if element.semantic_id else ""
        if numeric and semantic_id.startswith(sid.CUSTOM):
            content = store.get_item(semantic_id).embedded_data_specifications[0].data_specification_content
            assert content.unit, semantic_id


def test_file_values_and_thumbnails_resolve_in_the_file_container(plant):
    store, files = plant
    paths = [(e.value, e.content_type) for e in _all_elements(store) if isinstance(e, model.File)]
    paths += [
        (shell.asset_information.default_thumbnail.path, shell.asset_information.default_thumbnail.content_type)
        for shell in _of_type(store, model.AssetAdministrationShell)
    ]
    assert any(content_type == "application/pdf" for _, content_type in paths)
    for path, content_type in paths:
        assert path in files, path
        assert files.get_content_type(path) == content_type
        content = io.BytesIO()
        files.write_file(path, content)
        magic = b"%PDF-" if content_type == "application/pdf" else b"\x89PNG"
        assert content.getvalue().startswith(magic), path


def test_json_round_trip_with_strict_decoder(plant, json_text):
    store, _ = plant
    decoded = read_aas_json_file(io.StringIO(json_text), failsafe=False)
    assert len(decoded) == len(store)
    assert {i.id for i in decoded} == {i.id for i in store}


def test_json_has_noempty_arrays(json_text):
    assert list(empty_arrays(json.loads(json_text))) == []


def test_json_passes_official_file_checks(json_text):
    result = aas_file.check_json_data(json.loads(json_text), "3.0")
    assert result.ok(), "\n".join(result.to_lines())


def test_aasx_round_trip(plant, tmp_path):
    store, files = plant
    path = tmp_path / "plant.aasx"
    with aasx.AASXWriter(path) as writer:
        writer.write_all_aas_objects("/aasx/data.json", store, files, write_json=True)

    result = aas_file.check_aasx_data(zipfile.ZipFile(path), "3.0")
    assert result.ok(), "\n".join(result.to_lines())

    new_store = model.DictIdentifiableStore()
    new_files = aasx.DictSupplementaryFileContainer()
    with aasx.AASXReader(path, failsafe=False) as reader:
        reader.read_into(new_store, new_files)
    assert {i.id for i in new_store} == {i.id for i in store}
    assert {name: new_files.get_sha256(name) for name in new_files} == {name: files.get_sha256(name) for name in files}
