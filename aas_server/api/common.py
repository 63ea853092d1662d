"""Request parsing and response building shared by the blueprints."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask import Response, current_app, json, request

from ..errors import InvalidRequestError
from ..model import codec
from ..model.ids import decode_id, encode_id
from ..ports import PORT_ENVIRON_KEY
from ..services.registry import Services
from ..store.base import Page, PageRequest

T = TypeVar("T")


def services() -> Services:
    """The services of the request's port (each port reads through its own policy store)."""
    port = request.environ.get(PORT_ENVIRON_KEY)
    found: Services = current_app.extensions["aas_ports"][port.name] if port else current_app.extensions["aas"]
    return found


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json", headers=headers)


def no_content() -> Response:
    return Response(status=204)


def created(data: Any, location: str) -> Response:
    """``location`` is the path below the port's prefix, which is put before it."""
    return json_response(data, 201, {"Location": request.script_root + location})


def body() -> Any:
    """The request body as JSON. :raises InvalidRequestError: on a missing or malformed body"""
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidRequestError("request body is empty")
    return codec.parse_json(raw)


def page_request() -> PageRequest:
    settings = services().settings
    limit_arg = request.args.get("limit")
    limit = settings.default_page_limit
    if limit_arg is not None:
        try:
            limit = int(limit_arg)
        except ValueError:
            raise InvalidRequestError("limit must be a positive integer", path="limit") from None
        if limit < 1:
            raise InvalidRequestError("limit must be a positive integer", path="limit")
    cursor = request.args.get("cursor")
    after = decode_id(cursor, "cursor") if cursor else None
    return PageRequest(min(limit, settings.max_page_limit), after)


def paged(page: Page[T], render: Callable[[T], Any] = lambda item: item) -> Response:
    metadata = {"cursor": encode_id(page.next_after)} if page.next_after is not None else {}
    return json_response({"paging_metadata": metadata, "result": [render(item) for item in page.items]})


def id_arg(name: str) -> str | None:
    """A base64url-encoded identifier from the query string."""
    value = request.args.get(name)
    return decode_id(value, name) if value else None


def asset_id_args(name: str = "assetIds") -> list[tuple[str, str]]:
    """(name, value) of each base64url-encoded SpecificAssetId (or array of them) in the ``name`` arguments."""
    found = []
    for encoded in request.args.getlist(name):
        data = codec.parse_json(decode_id(encoded, name))
        found += asset_links(data if isinstance(data, list) else [data], name)
    return found


def asset_links(items: list[Any], path: str) -> list[tuple[str, str]]:
    """(name, value) of SpecificAssetId or AssetLink objects. :raises InvalidRequestError:"""
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("value"), str):
            raise InvalidRequestError("expected SpecificAssetId objects with name and value strings", path=path)
    return [(item["name"], item["value"]) for item in items]


def choice_arg(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise InvalidRequestError(f"{name} must be one of {', '.join(allowed)}", path=name)
    return value


def level() -> str:
    return choice_arg("level", ("deep", "core"), "deep")


def extent() -> str:
    return choice_arg("extent", ("withoutBlobValue", "withBlobValue"), "withoutBlobValue")


def url_for_id(prefix: str, identifier: str) -> str:
    return f"{prefix}/{encode_id(identifier)}"
