"""The JSON-level model helpers: ids, idShortPaths, validation, ValueOnly, views."""
import pytest

from aas_server.errors import InvalidRequestError, NotFoundError, UnsupportedError
from aas_server.model import codec, tree, value_only, views
from aas_server.model.ids import decode_id, encode_id
from aas_server.model.paths import format_path, parse_path

pytestmark = pytest.mark.unit


def prop(id_short, value, value_type="xs:int"):
    return {"modelType": "Property", "idShort": id_short, "valueType": value_type, "value": value}


def collection(id_short, *children):
    return {"modelType": "SubmodelElementCollection", "idShort": id_short, "value": list(children)}


def test_ids_round_trip_without_padding_and_accept_padded_input():
    encoded = encode_id("urn:x")
    assert "=" not in encoded
    assert decode_id(encoded) == "urn:x"
    assert decode_id(encoded + "=" * (-len(encoded) % 4)) == "urn:x"


@pytest.mark.parametrize("bad", ["!!!", "%%", "_w"])
def test_bad_base64url_is_a_400(bad):
    with pytest.raises(InvalidRequestError):
        decode_id(bad)


def test_paths_parse_dots_and_indexes():
    path = parse_path("Motor.Bearings[2][0].Temperature")
    assert path == ("Motor", "Bearings", 2, 0, "Temperature")
    assert format_path(path) == "Motor.Bearings[2][0].Temperature"


@pytest.mark.parametrize("bad", ["", "1abc", "a..b", "a.[1]", "a[x]", "a-"])
def test_bad_paths_name_the_segment(bad):
    with pytest.raises(InvalidRequestError):
        parse_path(bad)


def test_validation_names_the_element_at_fault():
    bad = collection("c", prop("p", "abc"))
    with pytest.raises(InvalidRequestError) as info:
        codec.validate_element(bad)
    assert "idShort=p" in info.value.path
    assert "abc" in info.value.text


def test_canonical_json_drops_empty_lists():
    assert codec.validate_element(collection("c")) == {"modelType": "SubmodelElementCollection", "idShort": "c"}


def test_tree_find_replace_append():
    top = collection("c", prop("a", "1"), {"modelType": "SubmodelElementList", "idShort": "l",
                                           "typeValueListElement": "Property", "valueTypeListElement": "xs:int",
                                           "value": [{"modelType": "Property", "valueType": "xs:int", "value": "7"}]})
    assert tree.find(top, ("c", "l", 0))["value"] == "7"
    changed = tree.replace(top, ("c", "a"), prop("a", "2"))
    assert tree.find(changed, ("c", "a"))["value"] == "2"
    assert tree.find(top, ("c", "a"))["value"] == "1", "replace must not mutate its input"
    removed = tree.replace(top, ("c", "a"), None)
    with pytest.raises(NotFoundError):
        tree.find(removed, ("c", "a"))
    appended = tree.append_child(top, ("c",), prop("b", "3"))
    assert [c["idShort"] for c in tree.children(appended)] == ["a", "l", "b"]
    with pytest.raises(UnsupportedError):
        tree.append_child(top, ("c", "a"), prop("x", "1"))


def test_value_only_is_typed_and_round_trips():
    element = collection("c", prop("i", "5"), prop("d", "1.5", "xs:double"), prop("b", "true", "xs:boolean"),
                         prop("s", "x", "xs:string"))
    assert value_only.to_value(element) == {"i": 5, "d": 1.5, "b": True, "s": "x"}
    updated = value_only.apply_value(element, {"i": 6, "b": False}, "c")
    assert value_only.to_value(codec.validate_element(updated)) == {"i": 6, "d": 1.5, "b": False, "s": "x"}


def test_value_only_rejects_unknown_children_and_wrong_shapes():
    with pytest.raises(InvalidRequestError):
        value_only.apply_value(collection("c", prop("i", "5")), {"nope": 1}, "c")
    with pytest.raises(InvalidRequestError):
        value_only.apply_value({"modelType": "Range", "idShort": "r", "valueType": "xs:int"}, [1, 2], "r")


def test_metadata_keeps_relationship_ends_and_refuses_operations():
    ref = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "urn:a"}]}
    rel = {"modelType": "RelationshipElement", "idShort": "r", "first": ref, "second": ref}
    assert views.element_metadata(rel, "r") == rel
    assert "value" not in views.element_metadata(prop("p", "1"), "p")
    with pytest.raises(UnsupportedError):
        views.element_metadata({"modelType": "Operation", "idShort": "o"}, "o")


def test_level_core_and_blob_extent():
    blob = {"modelType": "Blob", "idShort": "b", "contentType": "text/plain", "value": "aGk="}
    top = collection("c", collection("inner", prop("p", "1")), blob)
    core = views.element_view(top, "core", "withBlobValue")
    assert "value" not in core["value"][0]
    assert "value" not in views.element_view(top, "deep", "withoutBlobValue")["value"][1]
    assert views.element_paths(top, ("c",)) == ["c", "c.inner", "c.inner.p", "c.b"]
