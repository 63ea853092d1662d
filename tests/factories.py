"""Small JSON builders for shells, submodels, elements and concept descriptions, plus HTTP test helpers.

Ids are unique per call (uuid), so tests sharing one module-scoped server never collide.
"""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Iterator

import requests

JSON = dict[str, Any]

#: what every Result message carries (Part 2, Result / Message)
MESSAGE_KEYS = {"code", "messageType", "text", "timestamp", "correlationId"}


# -- ids and references -------------------------------------------------------------------------------------------


def uid(kind: str = "obj") -> str:
    return f"urn:test:{kind}:{uuid.uuid4().hex}"


def b64(text: str) -> str:
    """base64url without padding, as Part 2 encodes identifiers in paths and query strings."""
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def b64_json(data: Any) -> str:
    return b64(json.dumps(data))


def ref(value: str, key_type: str = "GlobalReference") -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": key_type, "value": value}]}


def model_ref(*keys: tuple[str, str]) -> JSON:
    return {"type": "ModelReference", "keys": [{"type": t, "value": v} for t, v in keys]}


def submodel_ref(submodel_id: str) -> JSON:
    return model_ref(("Submodel", submodel_id))


# -- identifiables ----------------------------------------------------------------------------------------------


def shell(identifier: str | None = None, *, id_short: str | None = "Shell", global_asset_id: str | None = None,
          specific: tuple[tuple[str, str], ...] = (), submodels: tuple[str, ...] = ()) -> JSON:
    asset: JSON = {"assetKind": "Instance", "globalAssetId": global_asset_id or uid("asset")}
    if specific:
        asset["specificAssetIds"] = [{"name": n, "value": v} for n, v in specific]
    obj: JSON = {"modelType": "AssetAdministrationShell", "id": identifier or uid("shell"), "assetInformation": asset}
    if id_short is not None:
        obj["idShort"] = id_short
    if submodels:
        obj["submodels"] = [submodel_ref(s) for s in submodels]
    return obj


def submodel(identifier: str | None = None, *, id_short: str | None = "Submodel", semantic_id: str | None = None,
             elements: list[JSON] | None = None) -> JSON:
    obj: JSON = {"modelType": "Submodel", "id": identifier or uid("submodel")}
    if id_short is not None:
        obj["idShort"] = id_short
    if semantic_id is not None:
        obj["semanticId"] = ref(semantic_id)
    if elements:
        obj["submodelElements"] = elements
    return obj


def concept_description(identifier: str | None = None, *, id_short: str | None = "Concept",
                        is_case_of: str | None = None, data_specification: str | None = None) -> JSON:
    obj: JSON = {"modelType": "ConceptDescription", "id": identifier or uid("cd")}
    if id_short is not None:
        obj["idShort"] = id_short
    if is_case_of is not None:
        obj["isCaseOf"] = [ref(is_case_of)]
    if data_specification is not None:
        obj["embeddedDataSpecifications"] = [{
            "dataSpecification": ref(data_specification),
            "dataSpecificationContent": {"modelType": "DataSpecificationIec61360",
                                         "preferredName": [{"language": "en", "text": "x"}]},
        }]
    return obj


# -- submodel elements --------------------------------------------------------------------------------------------


def _named(model_type: str, id_short: str | None, **attributes: Any) -> JSON:
    element: JSON = {"modelType": model_type}
    if id_short is not None:
        element["idShort"] = id_short
    element.update({k: v for k, v in attributes.items() if v is not None})
    return element


def prop(id_short: str | None, value: str | None = "1", value_type: str = "xs:int") -> JSON:
    return _named("Property", id_short, valueType=value_type, value=value)


def mlp(id_short: str | None, **texts: str) -> JSON:
    return _named("MultiLanguageProperty", id_short,
                  value=[{"language": k, "text": v} for k, v in texts.items()] or None)


def range_(id_short: str | None, low: str = "1", high: str = "9", value_type: str = "xs:int") -> JSON:
    return _named("Range", id_short, valueType=value_type, min=low, max=high)


def file(id_short: str | None, value: str | None = None, content_type: str = "text/plain") -> JSON:
    return _named("File", id_short, contentType=content_type, value=value)


def blob(id_short: str | None, data: bytes | None = b"blob", content_type: str = "application/octet-stream") -> JSON:
    value = base64.b64encode(data).decode("ascii") if data is not None else None
    return _named("Blob", id_short, contentType=content_type, value=value)


def reference_element(id_short: str | None, value: JSON | None = None) -> JSON:
    return _named("ReferenceElement", id_short, value=value or ref("urn:test:target"))


def relationship(id_short: str | None, first: str = "urn:test:first", second: str = "urn:test:second") -> JSON:
    return _named("RelationshipElement", id_short, first=ref(first), second=ref(second))


def annotated_relationship(id_short: str | None, annotations: list[JSON] | None = None) -> JSON:
    element = relationship(id_short)
    element["modelType"] = "AnnotatedRelationshipElement"
    if annotations:
        element["annotations"] = annotations
    return element


def collection(id_short: str | None, children: list[JSON] | None = None) -> JSON:
    return _named("SubmodelElementCollection", id_short, value=children or None)


def element_list(id_short: str | None, children: list[JSON] | None = None, item_type: str = "Property",
                 value_type: str | None = "xs:int") -> JSON:
    return _named("SubmodelElementList", id_short, orderRelevant=True, typeValueListElement=item_type,
                  valueTypeListElement=value_type if item_type == "Property" else None, value=children or None)


def entity(id_short: str | None, statements: list[JSON] | None = None, entity_type: str = "SelfManagedEntity",
           global_asset_id: str | None = "urn:test:entity-asset") -> JSON:
    return _named("Entity", id_short, entityType=entity_type, statements=statements or None,
                  globalAssetId=global_asset_id if entity_type == "SelfManagedEntity" else None)


def basic_event(id_short: str | None, observed: JSON | None = None) -> JSON:
    return _named("BasicEventElement", id_short, observed=observed or model_ref(("Submodel", "urn:test:observed")),
                  direction="output", state="on")


def operation(id_short: str | None, inputs: list[JSON] | None = None, outputs: list[JSON] | None = None,
              semantic_id: str | None = None) -> JSON:
    return _named("Operation", id_short,
                  inputVariables=[{"value": v} for v in inputs or []] or None,
                  outputVariables=[{"value": v} for v in outputs or []] or None,
                  semanticId=ref(semantic_id) if semantic_id else None)


def capability(id_short: str | None) -> JSON:
    return _named("Capability", id_short)


def every_kind() -> list[JSON]:
    """One element of every kind, with nested children, as the top-level elements of a submodel."""
    return [
        prop("IntProp", "42"),
        prop("FloatProp", "2.5", "xs:double"),
        prop("BoolProp", "true", "xs:boolean"),
        prop("StringProp", "hello", "xs:string"),
        mlp("Mlp", en="pump", de="Pumpe"),
        range_("Range"),
        file("File", "manual.txt"),
        blob("Blob"),
        reference_element("Ref"),
        relationship("Rel"),
        annotated_relationship("ARel", [prop("Note", "n", "xs:string")]),
        collection("Coll", [prop("Inner", "7"), collection("Deep", [prop("Leaf", "8")])]),
        element_list("List", [prop(None, "1"), prop(None, "2"), prop(None, "3")]),
        element_list("CollList", [collection(None, [prop("X", "1")])], item_type="SubmodelElementCollection"),
        entity("Ent", [prop("Stmt", "5")]),
        basic_event("Event"),
        operation("Op", [prop("In", None)], [prop("Out", None)]),
        capability("Cap"),
    ]


# -- HTTP checks --------------------------------------------------------------------------------------------------


def assert_result(response: requests.Response, status: int, *words: str) -> JSON:
    """``response`` has ``status`` and a Part 2 Result body whose text names every one of ``words``."""
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    (message,) = body["messages"]
    assert MESSAGE_KEYS <= set(message), message
    assert message["code"] == str(status)
    assert message["messageType"] in ("Error", "Exception")
    for word in words:
        assert word.lower() in message["text"].lower(), f"{word!r} not in {message['text']!r}"
    result: JSON = message
    return result


def empty_arrays(data: Any, path: str = "$") -> Iterator[str]:
    """JSON paths of the empty arrays in ``data`` (several AAS clients and the test engine reject them)."""
    if isinstance(data, list):
        if not data:
            yield path
        for index, item in enumerate(data):
            yield from empty_arrays(item, f"{path}[{index}]")
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from empty_arrays(value, f"{path}.{key}")
