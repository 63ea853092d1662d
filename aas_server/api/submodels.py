"""Submodel Repository: /submodels, and the Submodel Service under /submodels/{id} and the shell superpath.

``submodel_bp`` is registered twice: at ``/submodels/<submodel_id>`` and at
``/shells/<shell_id>/submodels/<submodel_id>``, where the shell must reference the submodel.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, redirect, request

from ..errors import InvalidRequestError
from ..model import value_only, views
from ..model.ids import decode_id
from ..model.paths import IdShortPath, format_path, parse_path
from ..services.operations import result_value_only
from ..services.paging import flat_page
from ..store.base import JSON, Query
from .common import (
    body, created, extent, id_arg, json_response, level, no_content, page_request, paged, services, url_for_id,
)
from .files import read_upload, send_attachment

submodels_bp = Blueprint("submodels", __name__, url_prefix="/submodels")
submodel_bp = Blueprint("submodel", __name__)


# -- representations ------------------------------------------------------------------------------------------


def render_submodel(submodel: JSON) -> JSON:
    return views.submodel_view(submodel, level(), extent())


def submodel_value(submodel: JSON) -> JSON:
    return value_only.elements_to_value(render_submodel(submodel).get("submodelElements", []))


def submodel_paths(submodel: JSON) -> list[str]:
    elements = render_submodel(submodel).get("submodelElements", [])
    return [p for e in elements for p in _element_paths(e, (e["idShort"],))]


def _element_paths(element: JSON, path: IdShortPath) -> list[str]:
    return views.element_paths(element, path) if element.get("modelType") in views.PATH_KINDS else [format_path(path)]


def _require_value(element: JSON, path: IdShortPath) -> None:
    if element.get("modelType") in value_only.NO_VALUE_KINDS:
        raise InvalidRequestError(f"a {element['modelType']} has no $value representation", path=format_path(path))


# -- /submodels -------------------------------------------------------------------------------------------------


def _query() -> Query:
    """``semanticId`` is the base64url-encoded value of the semantic id's key."""
    return Query(id_short=request.args.get("idShort") or None, semantic_id=id_arg("semanticId"))


@submodels_bp.get("")
def list_submodels() -> Response:
    return paged(services().submodels.find(_query(), page_request()), render_submodel)


@submodels_bp.post("")
def create_submodel() -> Response:
    submodel = services().submodels.create(body())
    return created(submodel, url_for_id(request.path.rstrip("/"), submodel["id"]))


@submodels_bp.get("/$metadata")
def list_submodel_metadata() -> Response:
    return paged(services().submodels.find(_query(), page_request()), views.submodel_metadata)


@submodels_bp.get("/$value")
def list_submodel_values() -> Response:
    return paged(services().submodels.find(_query(), page_request()), submodel_value)


@submodels_bp.get("/$reference")
def list_submodel_references() -> Response:
    return paged(services().submodels.find(_query(), page_request()), views.identifiable_reference)


@submodels_bp.get("/$path")
def list_submodel_paths() -> Response:
    query = _query()
    return paged(flat_page(lambda page: services().submodels.find(query, page), submodel_paths, page_request()))


# -- one submodel: /submodels/{id} and /shells/{id}/submodels/{id} -----------------------------------------------


@submodel_bp.url_value_preprocessor
def resolve_submodel(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Decode the ids once; on the shell superpath the shell must exist and reference the submodel."""
    assert values is not None
    g.submodel_id = decode_id(values.pop("submodel_id"))
    shell_id = values.pop("shell_id", None)
    g.shell_id = decode_id(shell_id) if shell_id is not None else None
    if g.shell_id is not None:
        services().shells.require_submodel_ref(g.shell_id, g.submodel_id)


def _path(id_short_path: str) -> IdShortPath:
    return parse_path(id_short_path)


@submodel_bp.get("")
def get_submodel() -> Response:
    return json_response(render_submodel(services().submodels.get(g.submodel_id)))


@submodel_bp.put("")
def put_submodel() -> Response:
    if services().submodels.put(g.submodel_id, body()):
        return created(services().submodels.get(g.submodel_id), request.path)
    return no_content()


@submodel_bp.patch("")
def patch_submodel() -> Response:
    services().submodels.patch(g.submodel_id, body())
    return no_content()


@submodel_bp.delete("")
def delete_submodel() -> Response:
    services().submodels.delete(g.submodel_id)
    if g.shell_id is not None:
        services().shells.remove_submodel_ref(g.shell_id, g.submodel_id)
    return no_content()


@submodel_bp.get("/$metadata")
def get_submodel_metadata() -> Response:
    return json_response(views.submodel_metadata(services().submodels.get(g.submodel_id)))


@submodel_bp.patch("/$metadata")
def patch_submodel_metadata() -> Response:
    services().submodels.patch_metadata(g.submodel_id, body())
    return no_content()


@submodel_bp.get("/$value")
def get_submodel_value() -> Response:
    return json_response(submodel_value(services().submodels.get(g.submodel_id)))


@submodel_bp.patch("/$value")
def patch_submodel_value() -> Response:
    services().submodels.patch_value(g.submodel_id, body())
    return no_content()


@submodel_bp.get("/$reference")
def get_submodel_reference() -> Response:
    return json_response(views.identifiable_reference(services().submodels.get(g.submodel_id)))


@submodel_bp.get("/$path")
def get_submodel_paths() -> Response:
    return json_response(submodel_paths(services().submodels.get(g.submodel_id)))


# -- elements -----------------------------------------------------------------------------------------------------


def _elements_page() -> Any:
    return services().submodels.elements(g.submodel_id, page_request())


@submodel_bp.get("/submodel-elements")
def list_elements() -> Response:
    return paged(_elements_page(), lambda e: views.element_view(e, level(), extent()))


@submodel_bp.post("/submodel-elements")
def create_element() -> Response:
    element, path = services().submodels.create_element(g.submodel_id, body())
    return created(element, f"{request.path}/{quote(format_path(path))}")


@submodel_bp.get("/submodel-elements/$metadata")
def list_element_metadata() -> Response:
    page = _elements_page()
    page.items = [e for e in page.items if e.get("modelType") not in value_only.NO_VALUE_KINDS]
    return paged(page, lambda e: views.element_metadata(e, e["idShort"]))


@submodel_bp.get("/submodel-elements/$value")
def list_element_values() -> Response:
    page = _elements_page()
    page.items = [e for e in page.items if e.get("modelType") not in value_only.NO_VALUE_KINDS]
    return paged(page, lambda e: {e["idShort"]: value_only.to_value(views.element_view(e, level(), extent()))})


@submodel_bp.get("/submodel-elements/$reference")
def list_element_references() -> Response:
    sm_id = g.submodel_id
    return paged(_elements_page(), lambda e: views.element_reference(sm_id, (e["idShort"],), [e["modelType"]]))


@submodel_bp.get("/submodel-elements/$path")
def list_element_paths() -> Response:
    def paths(element: JSON) -> list[str]:
        return _element_paths(views.element_view(element, level(), "withBlobValue"), (element["idShort"],))

    return paged(flat_page(lambda page: services().submodels.elements(g.submodel_id, page), paths, page_request()))


@submodel_bp.get("/submodel-elements/<id_short_path>")
def get_element(id_short_path: str) -> Response:
    element = services().submodels.element(g.submodel_id, _path(id_short_path))
    return json_response(views.element_view(element, level(), extent()))


@submodel_bp.post("/submodel-elements/<id_short_path>")
def create_child_element(id_short_path: str) -> Response:
    element, path = services().submodels.create_element(g.submodel_id, body(), _path(id_short_path))
    return created(element, f"{request.path.rsplit('/', 1)[0]}/{quote(format_path(path))}")


@submodel_bp.put("/submodel-elements/<id_short_path>")
def put_element(id_short_path: str) -> Response:
    path = _path(id_short_path)
    if services().submodels.put_element(g.submodel_id, path, body()):
        return created(services().submodels.element(g.submodel_id, path), request.path)
    return no_content()


@submodel_bp.patch("/submodel-elements/<id_short_path>")
def patch_element(id_short_path: str) -> Response:
    services().submodels.patch_element(g.submodel_id, _path(id_short_path), body())
    return no_content()


@submodel_bp.delete("/submodel-elements/<id_short_path>")
def delete_element(id_short_path: str) -> Response:
    services().submodels.delete_element(g.submodel_id, _path(id_short_path))
    return no_content()


@submodel_bp.get("/submodel-elements/<id_short_path>/$metadata")
def get_element_metadata(id_short_path: str) -> Response:
    element = services().submodels.element(g.submodel_id, _path(id_short_path))
    return json_response(views.element_metadata(element, id_short_path))


@submodel_bp.patch("/submodel-elements/<id_short_path>/$metadata")
def patch_element_metadata(id_short_path: str) -> Response:
    services().submodels.patch_element_metadata(g.submodel_id, _path(id_short_path), body())
    return no_content()


@submodel_bp.get("/submodel-elements/<id_short_path>/$value")
def get_element_value(id_short_path: str) -> Response:
    path = _path(id_short_path)
    element = services().submodels.element(g.submodel_id, path)
    _require_value(element, path)
    shown = views.element_view(element, level(), extent())
    return json_response({element.get("idShort", format_path(path)): value_only.to_value(shown)})


@submodel_bp.patch("/submodel-elements/<id_short_path>/$value")
def patch_element_value(id_short_path: str) -> Response:
    services().submodels.patch_element_value(g.submodel_id, _path(id_short_path), body())
    return no_content()


@submodel_bp.get("/submodel-elements/<id_short_path>/$reference")
def get_element_reference(id_short_path: str) -> Response:
    path = _path(id_short_path)
    top, _ = services().submodels.top_and_element(g.submodel_id, path)
    return json_response(views.element_reference(g.submodel_id, path, views.kinds_along(top, path)))


@submodel_bp.get("/submodel-elements/<id_short_path>/$path")
def get_element_paths(id_short_path: str) -> Response:
    path = _path(id_short_path)
    element = services().submodels.element(g.submodel_id, path)
    return json_response(views.element_paths(views.element_view(element, level(), "withBlobValue"), path))


# -- attachments --------------------------------------------------------------------------------------------------


@submodel_bp.get("/submodel-elements/<id_short_path>/attachment")
def get_attachment(id_short_path: str) -> Response:
    return send_attachment(services().submodels.attachment(g.submodel_id, _path(id_short_path)))


@submodel_bp.put("/submodel-elements/<id_short_path>/attachment")
def put_attachment(id_short_path: str) -> Response:
    services().submodels.put_attachment(g.submodel_id, _path(id_short_path), read_upload())
    return no_content()


@submodel_bp.delete("/submodel-elements/<id_short_path>/attachment")
def delete_attachment(id_short_path: str) -> Response:
    services().submodels.delete_attachment(g.submodel_id, _path(id_short_path))
    return json_response({"messages": []})


# -- operations ---------------------------------------------------------------------------------------------------


def _invoke(id_short_path: str, value_only_form: bool, asynchronous: bool) -> Response:
    operations = services().operations
    call, timeout = operations.prepare(g.submodel_id, _path(id_short_path), body(), value_only_form)
    if asynchronous:
        handle = operations.invoke_async(call, timeout)
        base = request.path.rsplit("/invoke-async", 1)[0]
        suffix = "/$value" if value_only_form else ""
        return Response(status=202, headers={"Location": f"{base}/operation-status/{handle}{suffix}"})
    result = operations.invoke(call, timeout)
    return json_response(result_value_only(result) if value_only_form else result)


@submodel_bp.post("/submodel-elements/<id_short_path>/invoke")
def invoke(id_short_path: str) -> Response:
    return _invoke(id_short_path, False, False)


@submodel_bp.post("/submodel-elements/<id_short_path>/invoke/$value")
def invoke_value(id_short_path: str) -> Response:
    return _invoke(id_short_path, True, False)


@submodel_bp.post("/submodel-elements/<id_short_path>/invoke-async")
def invoke_async(id_short_path: str) -> Response:
    return _invoke(id_short_path, False, True)


@submodel_bp.post("/submodel-elements/<id_short_path>/invoke-async/$value")
def invoke_async_value(id_short_path: str) -> Response:
    return _invoke(id_short_path, True, True)


@submodel_bp.get("/submodel-elements/<id_short_path>/operation-status/<handle>")
@submodel_bp.get("/submodel-elements/<id_short_path>/operation-status/<handle>/$value")
def operation_status(id_short_path: str, handle: str) -> Response:
    """The ``/$value`` status URL (the Location of invoke-async/$value) leads to the ValueOnly result."""
    result = services().operations.result(g.submodel_id, _path(id_short_path), handle)
    if result["executionState"] == "Running":
        return json_response({k: v for k, v in result.items() if k in ("executionState", "success", "messages")})
    base = request.path.rsplit("/operation-status/", 1)[0]
    suffix = "/$value" if request.path.endswith("/$value") else ""
    return redirect(f"{base}/operation-results/{handle}{suffix}", code=302)


@submodel_bp.get("/submodel-elements/<id_short_path>/operation-results/<handle>")
def operation_results(id_short_path: str, handle: str) -> Response:
    return json_response(services().operations.result(g.submodel_id, _path(id_short_path), handle))


@submodel_bp.get("/submodel-elements/<id_short_path>/operation-results/<handle>/$value")
def operation_results_value(id_short_path: str, handle: str) -> Response:
    result = services().operations.result(g.submodel_id, _path(id_short_path), handle)
    return json_response(result_value_only(result))
