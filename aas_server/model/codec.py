"""Validation of incoming JSON through basyx-python-sdk, and its canonical JSON form.

Every write goes through :func:`validate`: strict SDK decoding checks the metamodel (types, idShort rules,
value vs. valueType, constraints the SDK enforces), and the SDK's own serializer gives the canonical JSON that the
store keeps. Reads never come back here: they serve the stored JSON.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder, StrictAASFromJsonDecoder
from basyx.aas.model import datatypes

from ..errors import InvalidRequestError

#: the ``kind`` names used across the store and API, and the SDK classes behind them
IDENTIFIABLE_CLASSES: dict[str, type] = {
    "shell": model.AssetAdministrationShell,
    "submodel": model.Submodel,
    "concept_description": model.ConceptDescription,
}
MODEL_TYPES = {"shell": "AssetAdministrationShell", "submodel": "Submodel", "concept_description": "ConceptDescription"}

_WRAPPER_ID = "urn:aas-server:validation-wrapper"


def parse_json(body: bytes | str) -> Any:
    """:raises InvalidRequestError: naming line and column of a syntax error."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as e:
        raise InvalidRequestError(f"malformed JSON: {e.msg}", path=f"line {e.lineno}, column {e.colno}") from e
    except UnicodeDecodeError as e:
        raise InvalidRequestError("request body is not UTF-8") from e


class _LocatingDecoder(StrictAASFromJsonDecoder):
    """Strict SDK decoder that reports the innermost object at fault, not just the SDK's message."""

    @classmethod
    def object_hook(cls, dct: dict[str, object]) -> object:
        where = [f"{k}={dct[k]}" for k in ("modelType", "idShort", "id") if isinstance(dct.get(k), str)]
        fault = _silently_accepted(dct)
        if fault:
            raise InvalidRequestError(fault, path=", ".join(where))
        try:
            return super().object_hook(dct)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise InvalidRequestError(_value_fault(dct) or _reason(e), path=", ".join(where) or None) from e


def _silently_accepted(dct: dict[str, object]) -> str | None:
    """Faults the SDK lets through, losing data without a word: idShorts on SubmodelElementList items (its
    serializer drops them) and Blob values that are not base64 (its decoder skips the invalid characters)."""
    kind, value = dct.get("modelType"), dct.get("value")
    if kind == "SubmodelElementList" and isinstance(value, list):  # children are decoded before their parent
        named = [item.id_short for item in value if isinstance(item, model.SubmodelElement) and item.id_short]
        if named:
            return f"items of a SubmodelElementList have no idShort (Constraint AASd-120), got {', '.join(named)}"
    if kind == "Blob" and isinstance(value, str):
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as e:
            return f"the value of a Blob must be base64-encoded: {e}"
    return None


def _value_fault(dct: dict[str, object]) -> str | None:
    """Which lexical value (of a Property, Range, Qualifier, Extension) does not fit its valueType, if any:
    the SDK's own message names neither the attribute nor the type."""
    value_type = dct.get("valueType")
    type_class = datatypes.XSD_TYPE_CLASSES.get(value_type) if isinstance(value_type, str) else None
    if type_class is None:
        return None
    for key in ("value", "min", "max"):
        lexical = dct.get(key)
        if isinstance(lexical, str):
            try:
                datatypes.from_xsd(lexical, type_class)
            except ValueError as e:
                return f"{key} {lexical!r} does not fit valueType {value_type}: {e}"
    return None


def to_sdk(data: Any, expected: type, what: str) -> Any:
    """Decode JSON data into an SDK object of class ``expected``.

    :raises InvalidRequestError: with the SDK's reason and the modelType/idShort/id of the object at fault
    """
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        obj = json.loads(json.dumps(data), cls=_LocatingDecoder)
    except InvalidRequestError as e:
        raise InvalidRequestError(f"invalid {what}: {e.text}", path=e.path) from e
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise InvalidRequestError(f"invalid {what}: {_reason(e)}") from e
    if not isinstance(obj, expected):
        raise InvalidRequestError(f"expected a {what}, got modelType {data.get('modelType')!r}", path="modelType")
    return obj


def to_json(obj: Any) -> Any:
    """The canonical JSON form of an SDK object, without empty lists (which several clients reject)."""
    return prune(json.loads(json.dumps(obj, cls=AASToJsonEncoder)))


def validate(kind: str, data: Any) -> dict[str, Any]:
    """Canonical JSON of an identifiable of ``kind`` after strict validation."""
    return keep_order(to_json(to_sdk(data, IDENTIFIABLE_CLASSES[kind], MODEL_TYPES[kind])), data)


def validate_element(data: Any) -> dict[str, Any]:
    """Canonical JSON of one submodel element after strict validation."""
    return keep_order(to_json(to_sdk(data, model.SubmodelElement, "SubmodelElement")), data)


#: attributes the SDK holds in sets: serialized, they come out in set iteration order, which depends on the
#: process's string hash seed, so every write (in any gunicorn worker) would reshuffle them
_UNORDERED_KEYS = frozenset({"submodels", "isCaseOf", "refersTo", "valueReferencePairs"})


def keep_order(canonical: Any, given: Any) -> Any:
    """``canonical`` with the lists the SDK keeps in sets put back into the order of ``given`` (the input)."""
    if isinstance(canonical, dict) and isinstance(given, dict):
        return {k: (_in_given_order if k in _UNORDERED_KEYS else keep_order)(v, given.get(k))
                for k, v in canonical.items()}
    if isinstance(canonical, list) and isinstance(given, list) and len(canonical) == len(given):
        return [keep_order(c, g) for c, g in zip(canonical, given)]
    return canonical


def _in_given_order(canonical: Any, given: Any) -> Any:
    if not isinstance(canonical, list) or not isinstance(given, list):
        return canonical
    rank: dict[str, int] = {}
    for i, item in enumerate(given):
        rank.setdefault(json.dumps(prune(item), sort_keys=True), i)
    return sorted(canonical, key=lambda item: rank.get(json.dumps(item, sort_keys=True), len(given)))


def validate_in_shell(key: str, data: Any, what: str) -> Any:
    """Validate a shell part that has no modelType of its own (assetInformation, a submodel reference)."""
    shell: dict[str, Any] = {"modelType": "AssetAdministrationShell", "id": _WRAPPER_ID}
    if key == "submodels":
        shell["assetInformation"] = {"assetKind": "Instance", "globalAssetId": _WRAPPER_ID}
        shell["submodels"] = [data]
    else:
        shell[key] = data
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object")
    result = validate("shell", shell)
    return result[key][0] if key == "submodels" else result[key]


def prune(value: Any) -> Any:
    """Drop empty lists, empty objects and nulls, recursively."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _reason(e: BaseException) -> str:
    text = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
    text = text.split(" >>> ")[0].replace("Error while trying to convert JSON object into ", "")
    if isinstance(e, KeyError):
        return f"missing attribute or unknown enumeration value {text.rsplit(': ', 1)[-1]}"
    cause = e.__cause__ or e.__context__
    if cause is not None and not isinstance(cause, InvalidRequestError) and str(cause) not in text:
        text = f"{text}: {_reason(cause)}"
    return text
