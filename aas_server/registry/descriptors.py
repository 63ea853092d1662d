"""Descriptors (Part 2 AssetAdministrationShellDescriptor, SubmodelDescriptor) and asset links, as JSON.

Derived descriptors carry *relative* endpoint hrefs (``api/v3.1/shells/<id>``): the public address depends on
the port a request came through, so hrefs are resolved when a descriptor is served (:func:`render`), against the
port's public root. Registered descriptors of other servers keep their absolute hrefs.
"""
from __future__ import annotations

import dataclasses
import string
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidRequestError
from ..model import codec
from ..model.ids import encode_id
from ..security.caller import Caller
from ..security.visibility import is_visible
from ..store.base import JSON

#: interfaces of this server's endpoints (Part 2 3.1 interface names; Catena-X reads the ``-3.0`` ones)
SHELL_INTERFACES = ("AAS-3.1", "AAS-3.0")
SUBMODEL_INTERFACES = ("SUBMODEL-3.1", "SUBMODEL-3.0", "SUBMODEL-VALUE-3.1")
_API_PATHS = {"3.1": "api/v3.1", "3.0": "api/v3.0"}

_COMMON_FIELDS = ("description", "displayName", "extensions", "administration", "idShort", "id")
_SHELL_ASSET_FIELDS = ("assetKind", "assetType", "globalAssetId", "specificAssetIds")
_SUBMODEL_FIELDS = (*_COMMON_FIELDS, "semanticId", "supplementalSemanticIds")
_SHELL_KEYS = frozenset((*_COMMON_FIELDS, *_SHELL_ASSET_FIELDS, "endpoints", "submodelDescriptors"))
_SUBMODEL_KEYS = frozenset((*_SUBMODEL_FIELDS, "endpoints"))
_PROTOCOL_STRINGS = {"href": 2048, "endpointProtocol": 128, "subprotocol": 128, "subprotocolBody": 2048,
                     "subprotocolBodyEncoding": 128}
_SECURITY_TYPES = ("NONE", "RFC_TLSA", "W3C_DID")
#: stands in for a missing global asset id while the SDK checks a descriptor (AASd-131 wants one of the two)
_PLACEHOLDER_ASSET = "urn:aas-server:descriptor-without-asset-id"
GLOBAL_ASSET_ID = "globalAssetId"
ASSET_KINDS = ("Type", "Instance", "NotApplicable", "Role")


# -- derived from the repository --------------------------------------------------------------------------------


def _endpoints(collection: str, identifier: str, interfaces: tuple[str, ...]) -> list[JSON]:
    path = f"{collection}/{encode_id(identifier)}"
    return [{"interface": interface,
             "protocolInformation": {"href": f"{_API_PATHS[interface.rsplit('-', 1)[1]]}/{path}",
                                     "endpointProtocol": "HTTP", "endpointProtocolVersion": ["1.1"]}}
            for interface in interfaces]


def submodel_descriptor(submodel: JSON) -> JSON:
    """The descriptor of a submodel of this repository."""
    descriptor = {k: submodel[k] for k in _SUBMODEL_FIELDS if k in submodel}
    descriptor["endpoints"] = _endpoints("submodels", submodel["id"], SUBMODEL_INTERFACES)
    return descriptor


def shell_descriptor(shell: JSON, submodel_descriptors: list[JSON]) -> JSON:
    """The descriptor of a shell of this repository, with those of its submodels that exist here."""
    descriptor = {k: shell[k] for k in _COMMON_FIELDS if k in shell}
    info = shell.get("assetInformation") or {}
    descriptor.update({k: info[k] for k in _SHELL_ASSET_FIELDS if k in info})
    descriptor["endpoints"] = _endpoints("shells", shell["id"], SHELL_INTERFACES)
    if submodel_descriptors:
        descriptor["submodelDescriptors"] = submodel_descriptors
    return descriptor


def asset_links(descriptor: JSON) -> JSON:
    """The discovery record of a shell descriptor: its global asset id (as a link) and specific asset ids."""
    links = [{"name": GLOBAL_ASSET_ID, "value": descriptor[GLOBAL_ASSET_ID]}] if GLOBAL_ASSET_ID in descriptor else []
    return {"id": descriptor["id"], "assetLinks": links + list(descriptor.get("specificAssetIds") or [])}


# -- visibility and rendering -----------------------------------------------------------------------------------


def link_visible(link: JSON, caller: Caller | None, public_names: Collection[str]) -> bool:
    """The global asset id is public within a descriptor; specific asset ids follow Catena-X visibility."""
    return link.get("name") == GLOBAL_ASSET_ID and "externalSubjectId" not in link or \
        is_visible(link, caller, public_names)


@dataclasses.dataclass(frozen=True)
class EndpointStyle:
    """How relative endpoints are served: the public root of the port, and the optional subprotocol."""

    root: str
    subprotocol: str = ""
    body_template: str = ""
    body_encoding: str = "plain"

    def resolve(self, endpoint: JSON, identifier: str) -> JSON:
        info = endpoint.get("protocolInformation") or {}
        href = info.get("href", "")
        if urlsplit(href).scheme:
            return endpoint
        info = {**info, "href": f"{self.root.rstrip('/')}/{href}"}
        if self.subprotocol:
            info["subprotocol"] = self.subprotocol
            info["subprotocolBody"] = string.Template(self.body_template).safe_substitute(id=identifier)
            info["subprotocolBodyEncoding"] = self.body_encoding
        return {**endpoint, "protocolInformation": info}


def render(descriptor: JSON, style: EndpointStyle, caller: Caller | None, public_names: Collection[str]) -> JSON:
    """What ``caller`` sees: absolute hrefs, and only the specific asset ids visible to it."""
    shown = dict(descriptor)
    if "specificAssetIds" in shown:
        visible = [s for s in shown["specificAssetIds"] if is_visible(s, caller, public_names)]
        if visible:
            shown["specificAssetIds"] = visible
        else:
            del shown["specificAssetIds"]
    if "endpoints" in shown:
        shown["endpoints"] = [style.resolve(e, descriptor["id"]) for e in shown["endpoints"]]
    if "submodelDescriptors" in shown:
        shown["submodelDescriptors"] = [render(s, style, caller, public_names) for s in shown["submodelDescriptors"]]
    return shown


# -- validation of registered descriptors -------------------------------------------------------------------------


def _object(data: Any, what: str, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object", path=path or None)
    return data


def _only(data: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidRequestError(f"unknown attribute {key!r}", path=f"{path}{key}")


def _checked(kind: str, wrapper: JSON, path: str) -> JSON:
    try:
        return codec.validate(kind, wrapper)
    except InvalidRequestError as e:
        raise InvalidRequestError(e.text, path=f"{path}{e.path}" if e.path else path or None) from e


def validate_endpoints(data: Any, path: str, required: bool) -> list[JSON]:
    if data is None and not required:
        return []
    if not isinstance(data, list) or (required and not data):
        raise InvalidRequestError("endpoints must be a non-empty array", path=f"{path}endpoints")
    endpoints = []
    for i, endpoint in enumerate(data):
        at = f"{path}endpoints[{i}]"
        endpoint = _object(endpoint, "an endpoint", at)
        _only(endpoint, frozenset(("interface", "protocolInformation")), f"{at}.")
        interface = endpoint.get("interface")
        if not isinstance(interface, str) or not 0 < len(interface) <= 128:
            raise InvalidRequestError("interface must be a string of 1 to 128 characters", path=f"{at}.interface")
        info = _object(endpoint.get("protocolInformation"), "protocolInformation", f"{at}.protocolInformation")
        endpoints.append({"interface": interface, "protocolInformation": _protocol(info, f"{at}.protocolInformation.")})
    return endpoints


def _protocol(info: dict[str, Any], at: str) -> JSON:
    _only(info, frozenset((*_PROTOCOL_STRINGS, "endpointProtocolVersion", "securityAttributes")), at)
    if "href" not in info:
        raise InvalidRequestError("href is required", path=f"{at}href")
    for key, limit in _PROTOCOL_STRINGS.items():
        if key in info and (not isinstance(info[key], str) or len(info[key]) > limit):
            raise InvalidRequestError(f"{key} must be a string of at most {limit} characters", path=f"{at}{key}")
    versions = info.get("endpointProtocolVersion", [])
    if not isinstance(versions, list) or not all(isinstance(v, str) and len(v) <= 128 for v in versions):
        raise InvalidRequestError("endpointProtocolVersion must be an array of strings", path=f"{at}endpointProtocolVersion")
    attributes = info.get("securityAttributes", [])
    if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and set(a) == {"type", "key", "value"} and a["type"] in _SECURITY_TYPES
            and isinstance(a["key"], str) and isinstance(a["value"], str) for a in attributes):
        raise InvalidRequestError(f"securityAttributes must be objects with type ({', '.join(_SECURITY_TYPES)}), "
                                  "key and value", path=f"{at}securityAttributes")
    return {k: v for k, v in info.items() if v != []}


def validate_submodel_descriptor(data: Any, path: str = "") -> JSON:
    """A registered submodel descriptor, checked strictly (metamodel parts by the SDK, as a Submodel would be).

    :raises InvalidRequestError: naming the attribute at fault
    """
    data = _object(data, "a submodel descriptor", path)
    _only(data, _SUBMODEL_KEYS, path)
    wrapper = {"modelType": "Submodel", **{k: data[k] for k in _SUBMODEL_FIELDS if k in data}}
    checked = _checked("submodel", wrapper, path)
    descriptor = {k: checked[k] for k in _SUBMODEL_FIELDS if k in checked}
    descriptor["endpoints"] = validate_endpoints(data.get("endpoints"), path, required=True)
    return descriptor


def validate_shell_descriptor(data: Any) -> JSON:
    """A registered shell descriptor, checked strictly (metamodel parts by the SDK, as a shell would be).

    :raises InvalidRequestError: naming the attribute at fault
    """
    data = _object(data, "a shell descriptor", "")
    _only(data, _SHELL_KEYS, "")
    asset = {k: data[k] for k in _SHELL_ASSET_FIELDS if k in data}
    if asset.setdefault("assetKind", "NotApplicable") not in ASSET_KINDS:
        raise InvalidRequestError(f"assetKind must be one of {', '.join(ASSET_KINDS)}", path="assetKind")
    if GLOBAL_ASSET_ID not in asset and not asset.get("specificAssetIds"):
        asset[GLOBAL_ASSET_ID] = _PLACEHOLDER_ASSET
    wrapper = {"modelType": "AssetAdministrationShell", **{k: data[k] for k in _COMMON_FIELDS if k in data},
               "assetInformation": asset}
    checked = _checked("shell", wrapper, "")
    descriptor = {k: checked[k] for k in _COMMON_FIELDS if k in checked}
    info = checked["assetInformation"]
    descriptor.update({k: info[k] for k in _SHELL_ASSET_FIELDS if k in info and k in data})
    endpoints = validate_endpoints(data.get("endpoints"), "", required=False)
    if endpoints:
        descriptor["endpoints"] = endpoints
    submodels = data.get("submodelDescriptors", [])
    if not isinstance(submodels, list):
        raise InvalidRequestError("submodelDescriptors must be an array", path="submodelDescriptors")
    checked_submodels = [validate_submodel_descriptor(s, f"submodelDescriptors[{i}].") for i, s in enumerate(submodels)]
    if len({s["id"] for s in checked_submodels}) < len(checked_submodels):
        raise InvalidRequestError("two submodel descriptors have the same id", path="submodelDescriptors")
    if checked_submodels:
        descriptor["submodelDescriptors"] = checked_submodels
    return descriptor


def validate_asset_links(data: Any) -> list[JSON]:
    """SpecificAssetIds posted to the discovery service; ``globalAssetId`` names the global asset id (AASd-116).

    :raises InvalidRequestError:
    """
    if not isinstance(data, list) or not data:
        raise InvalidRequestError("expected a non-empty array of SpecificAssetId objects")
    for i, link in enumerate(data):
        _object(link, "a SpecificAssetId", f"[{i}]")
    specific = [link for link in data if link.get("name") != GLOBAL_ASSET_ID]
    global_ids = [link for link in data if link.get("name") == GLOBAL_ASSET_ID]
    if len(global_ids) > 1:
        raise InvalidRequestError("at most one link may name the globalAssetId", path="globalAssetId")
    asset: JSON = {"assetKind": "NotApplicable", GLOBAL_ASSET_ID: _PLACEHOLDER_ASSET}
    if global_ids:
        if set(global_ids[0]) - {"name", "value"} or not isinstance(global_ids[0].get("value"), str):
            raise InvalidRequestError("the globalAssetId link must have a string value only", path="globalAssetId")
        asset[GLOBAL_ASSET_ID] = global_ids[0]["value"]
    if specific:
        asset["specificAssetIds"] = specific
    info = codec.validate_in_shell("assetInformation", asset, "asset links")
    return [{"name": GLOBAL_ASSET_ID, "value": info[GLOBAL_ASSET_ID]}] * bool(global_ids) + \
        list(info.get("specificAssetIds") or [])
