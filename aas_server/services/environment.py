"""Whole environments in and out: /serialization, AASX packages and the CLI's import and export.

Files are read with basyx-python-sdk's strict readers (JSON, XML, AASX); every identifiable is validated and
upserted, and File contents and thumbnails packed in an AASX become attachments.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import zipfile
from pathlib import PurePosixPath
from typing import IO, Any, Callable, Iterable, Iterator

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import read_aas_json_file
from basyx.aas.adapter.xml import read_aas_xml_file, write_aas_xml_file
from lxml import etree

from ..errors import InvalidRequestError, NotFoundError
from ..model import codec, tree
from ..store.base import JSON, Attachment, Query, Store, iterate
from .identifiables import current_thumbnail, thumbnail_key
from .submodels import attachment_key, current_attachment

logger = logging.getLogger(__name__)

#: the environment keys of the AAS JSON form and the store kinds behind them
ENVIRONMENT_KEYS = {"assetAdministrationShells": "shell", "submodels": "submodel", "conceptDescriptions": "concept_description"}
FORMATS = {
    "json": "application/json",
    "xml": "application/xml",
    "aasx": "application/asset-administration-shell-package+xml",
}


@dataclasses.dataclass
class Environment:
    """Identifiables in their stored JSON form, plus the file contents they point at (by path)."""

    objects: dict[str, list[JSON]]
    files: dict[str, Attachment]

    def __len__(self) -> int:
        return sum(len(v) for v in self.objects.values())


# -- reading files ----------------------------------------------------------------------------------------------


def detect_format(name: str, head: bytes) -> str:
    if head.startswith(b"PK"):
        return "aasx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "xml"
    if stripped.startswith(b"{"):
        return "json"
    raise InvalidRequestError("cannot tell the file format (expected AASX, XML or JSON)", path=name)


class _PackageReader(aasx.AASXReader):
    """Strict about the model, lenient about supplementary files: a File or thumbnail naming a part the package
    lacks keeps its value and gets no content. Packages exported without that content look like this, the
    server's own /serialization of a File whose content was never uploaded included."""

    def _add_supplementary_file(self, part_name: str, file_path: str,
                                file_store: aasx.AbstractSupplementaryFileContainer) -> str | None:
        try:
            return super()._add_supplementary_file(part_name, file_path, file_store)
        except KeyError:
            logger.warning("package lacks the file %s; its reference is kept without content", file_path)
            return None


def read_environment(data: bytes, name: str = "upload") -> Environment:
    """Parse an AASX, XML or JSON file strictly. :raises InvalidRequestError: naming the file and the fault"""
    kind = detect_format(name, data[:64])
    files = aasx.DictSupplementaryFileContainer()
    try:
        if kind == "aasx":
            object_store: model.DictIdentifiableStore = model.DictIdentifiableStore()
            with _PackageReader(io.BytesIO(data), failsafe=False) as reader:
                reader.read_into(object_store, files)
        elif kind == "xml":
            object_store = read_aas_xml_file(io.BytesIO(data), failsafe=False)
        else:
            object_store = read_aas_json_file(io.StringIO(data.decode("utf-8-sig")), failsafe=False)
    except InvalidRequestError:
        raise
    except (ValueError, KeyError, TypeError, zipfile.BadZipFile, etree.LxmlError, UnicodeDecodeError) as e:
        raise InvalidRequestError(f"not a valid {kind.upper()} AAS file: {str(e).split(' >>> ')[0]}", path=name) from e
    return from_sdk(object_store, files)


def from_sdk(object_store: Iterable[model.Identifiable], files: aasx.AbstractSupplementaryFileContainer) -> Environment:
    """An Environment of SDK objects in their canonical JSON form, with the contents of ``files``."""
    objects: dict[str, list[JSON]] = {kind: [] for kind in ENVIRONMENT_KEYS.values()}
    kinds = {model.AssetAdministrationShell: "shell", model.Submodel: "submodel", model.ConceptDescription: "concept_description"}
    for obj in object_store:
        objects[kinds[type(obj)]].append(codec.to_json(obj))
    contents = {}
    for name in files:
        buffer = io.BytesIO()
        files.write_file(name, buffer)
        contents[name] = Attachment(files.get_content_type(name), name, buffer.getvalue())
    return Environment(objects, contents)


# -- writing into the store --------------------------------------------------------------------------------------


def import_environment(store: Store, env: Environment, progress: Callable[[int], None] = lambda n: None) -> int:
    """Upsert every identifiable of ``env`` and its file contents; returns how many identifiables were written."""
    count = 0
    for kind, objects in env.objects.items():
        for obj in objects:
            checked = _require_id_shorts(kind, obj)
            try:
                store.replace(kind, checked)
            except NotFoundError:
                store.create(kind, checked)
            _import_files(store, kind, checked, env.files)
            count += 1
            progress(1)
    return count


def _require_id_shorts(kind: str, obj: JSON) -> JSON:
    """The SDK's readers accept top-level elements without idShort; the API cannot address those."""
    if kind == "submodel":
        for element in obj.get("submodelElements", []):
            if "idShort" not in element:
                raise InvalidRequestError("a submodel element needs an idShort", path=obj["id"])
    return obj


def _import_files(store: Store, kind: str, obj: JSON, files: dict[str, Attachment]) -> None:
    if kind == "shell":
        thumbnail = obj.get("assetInformation", {}).get("defaultThumbnail", {}).get("path")
        if thumbnail in files:
            store.put_attachment(thumbnail_key(obj["id"]), files[thumbnail])
    elif kind == "submodel":
        for path, element in _file_elements(obj):
            if element.get("value") in files:
                store.put_attachment(attachment_key(obj["id"], path), files[element["value"]])


def _file_elements(submodel: JSON) -> Iterator[tuple[tuple[str | int, ...], JSON]]:
    for top in submodel.get("submodelElements", []):
        for path, element in tree.walk(top, (top["idShort"],)):
            if element.get("modelType") == "File":
                yield path, element


# -- reading from the store ---------------------------------------------------------------------------------------


def collect(store: Store, shell_ids: list[str] | None, submodel_ids: list[str] | None,
            include_concept_descriptions: bool) -> Environment:
    """The selected identifiables (all when neither list is given) and the attachments of their files."""
    select_all = not shell_ids and not submodel_ids
    objects: dict[str, list[JSON]] = {"shell": [], "submodel": [], "concept_description": []}
    for kind, ids in (("shell", shell_ids), ("submodel", submodel_ids)):
        if select_all:
            objects[kind] = list(iterate(lambda page, k=kind: store.find(k, Query(), page)))
        else:
            objects[kind] = [store.get(kind, i) for i in ids or []]
    if include_concept_descriptions:
        objects["concept_description"] = list(iterate(lambda page: store.find("concept_description", Query(), page)))
    files: dict[str, Attachment] = {}
    for submodel in objects["submodel"]:
        for path, element in _file_elements(submodel):
            try:
                attachment = current_attachment(store, submodel["id"], path, element)
            except NotFoundError:
                continue
            files[_package_path(element["value"])] = attachment
    for shell in objects["shell"]:
        try:
            thumbnail = current_thumbnail(store, shell)
        except NotFoundError:
            continue
        files[_package_path(thumbnail.filename)] = thumbnail
    return Environment(objects, files)


def _package_path(value: str) -> str:
    """Where a file lives inside an AASX: absolute package paths stay, bare names go to /aasx/files/."""
    return value if value.startswith("/") else str(PurePosixPath("/aasx/files") / PurePosixPath(value).name)


def environment_json(env: Environment) -> JSON:
    return {key: env.objects[kind] for key, kind in ENVIRONMENT_KEYS.items() if env.objects[kind]}


def write_environment(env: Environment, fmt: str, out: IO[bytes]) -> None:
    """Serialize as ``json``, ``xml`` or ``aasx`` (the last two through the SDK's writers)."""
    if fmt == "json":
        out.write(json.dumps(environment_json(env), ensure_ascii=False).encode("utf-8"))
        return
    object_store = _to_sdk(env)
    if fmt == "xml":
        write_aas_xml_file(out, object_store)
        return
    files = aasx.DictSupplementaryFileContainer()
    for submodel in object_store:
        if isinstance(submodel, model.Submodel):
            _point_files_into_package(submodel, env.files, files)
    for shell in object_store:
        if isinstance(shell, model.AssetAdministrationShell) and shell.asset_information.default_thumbnail:
            _add_package_file(shell.asset_information.default_thumbnail, env.files, files, "path")
    with aasx.AASXWriter(out) as writer:
        writer.write_all_aas_objects("/aasx/data.xml", object_store, files)


def _to_sdk(env: Environment) -> model.DictIdentifiableStore:
    store: model.DictIdentifiableStore = model.DictIdentifiableStore()
    for kind, objects in env.objects.items():
        for obj in objects:
            store.add(codec.to_sdk(obj, codec.IDENTIFIABLE_CLASSES[kind], codec.MODEL_TYPES[kind]))
    return store


def _point_files_into_package(submodel: model.Submodel, contents: dict[str, Attachment],
                              files: aasx.DictSupplementaryFileContainer) -> None:
    stack: list[Any] = list(submodel.submodel_element)
    while stack:
        element = stack.pop()
        if isinstance(element, model.File):
            _add_package_file(element, contents, files, "value")
        elif isinstance(element, (model.SubmodelElementCollection, model.SubmodelElementList)):
            stack.extend(element.value)
        elif isinstance(element, model.Entity):
            stack.extend(element.statement)


def _add_package_file(holder: Any, contents: dict[str, Attachment], files: aasx.DictSupplementaryFileContainer,
                      attribute: str) -> None:
    name = getattr(holder, attribute)
    attachment = contents.get(_package_path(name)) if name else None
    if attachment is None:
        return
    stored = files.add_file(_package_path(name), io.BytesIO(attachment.data), attachment.content_type)
    setattr(holder, attribute, stored)
