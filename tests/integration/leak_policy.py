"""The data and port policy of the leak hunt: objects holding distinctive values, rules that hide some of them and a
masking profile that masks others, and every form in which a leaked value could show up in a response."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.parse
from pathlib import Path
from typing import Any

from aas_server.model import codec
from aas_server.model.ids import encode_id
from aas_server.services import environment
from aas_server.services.identifiables import thumbnail_key
from aas_server.services.packages import PackageService
from aas_server.services.submodels import attachment_key
from aas_server.store.base import Attachment, Store

JSON = dict[str, Any]
BPN_A = "BPNL00000000000A"
BPN_B = "BPNL00000000000B"
SECRET_ENV = "AAS_LEAK_MASKING_SECRET"
MASKING_SECRET = "leak-hunt-masking-secret-0123456789abcdef"

SHELL = "urn:leak:aas:pump-1"
PRODUCTION = "urn:leak:sm:pump-1:ProductionRecord"
COST = "urn:leak:sm:pump-1:Cost"
NAMEPLATE = "urn:leak:sm:pump-1:Nameplate"
HIDDEN_SHELL = "urn:leak:aas:LEAK-hidden-shell-5e2b"
HIDDEN_SUBMODEL = "urn:leak:sm:LEAK-hidden-sm-8c1d"
HIDDEN_CD = "urn:leak:cd:LEAK-hidden-cd-3a3a"
TORQUE_CD = "urn:leak:cd:Torque"
PACKAGE = "leak-package"
OPERATION_HANDLE = "leak-handle"
AASX = "application/asset-administration-shell-package+xml"

SERIAL = "731946"  # partInstanceId: shown to BPN A only (Catena-X visibility)
PART_SERIAL = "493817"  # an element value, hashed per partner
REPORT_BYTES = b"%PDF-1.4 LEAK-filebytes-c3d4 report of the end-of-line test"

#: values no identity of the external port may receive, in any form
SECRETS = [
    HIDDEN_SHELL, "LEAKHiddenShell", HIDDEN_SUBMODEL, "LEAKHiddenSubmodel", "urn:leak:cd:LEAK-hidden-semantic",
    "LEAK-hidden-value-0099", HIDDEN_CD,
    "LEAK-7f3a91-CUST",  # specificAssetId without externalSubjectId: internal
    "LEAK-7f3a91 Erika Mustermann",  # personal data: dropped
    "987654.321", "987654",  # torque: generalized to thousands
    "2025-03-14",  # test date: truncated to the month
    PART_SERIAL,  # hashed per partner
    "LEAK-cust-90210", "LEAK-Acme-Kunde GmbH",  # customer: redacted
    "LEAK-filebytes-c3d4", "LEAK-blob-e5f6",  # File content and Blob: withheld
    "123456.789", "654321.987",  # cost prices: hidden by the rules, redacted for the engineer
    "LEAK-thumb-99cc",  # the hidden shell's thumbnail
    "LEAK-opresult-77aa", "LEAK-opmsg-88bb",  # an operation's result (masked) and its handler's message
]
ENGINEER = "engineer"
#: values that only some identities may receive: (value, who may)
LIMITED = [(SERIAL, "bpn_a"), ("LEAKStandardPrice", ENGINEER)]


def _ref(value: str) -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}


def _prop(id_short: str, value: str, value_type: str = "xs:string", **extra: Any) -> JSON:
    return {"modelType": "Property", "idShort": id_short, "valueType": value_type, "value": value, **extra}


def _subject(*bpns: str) -> JSON:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": b} for b in bpns]}


def shells() -> list[JSON]:
    def refs(*ids: str) -> list[JSON]:
        return [{"type": "ModelReference", "keys": [{"type": "Submodel", "value": i}]} for i in ids]

    pump = {
        "modelType": "AssetAdministrationShell", "id": SHELL, "idShort": "LeakPump1",
        "assetInformation": {
            "assetKind": "Instance", "globalAssetId": "urn:leak:asset:pump-1",
            "specificAssetIds": [
                {"name": "partInstanceId", "value": SERIAL, "externalSubjectId": _subject(BPN_A)},
                {"name": "customerAssetNo", "value": "LEAK-7f3a91-CUST"},
                {"name": "manufacturerPartId", "value": "MPN-4711", "externalSubjectId": _subject("PUBLIC_READABLE")},
            ],
        },
        "submodels": refs(PRODUCTION, COST, NAMEPLATE, HIDDEN_SUBMODEL),
    }
    hidden = {"modelType": "AssetAdministrationShell", "id": HIDDEN_SHELL, "idShort": "LEAKHiddenShell",
              "assetInformation": {"assetKind": "Instance", "globalAssetId": "urn:leak:asset:LEAK-hidden-asset",
                                   "defaultThumbnail": {"path": "thumb.png", "contentType": "image/png"}},
              "submodels": refs(HIDDEN_SUBMODEL)}
    return [pump, hidden]


def submodels() -> list[JSON]:
    production = {
        "modelType": "Submodel", "id": PRODUCTION, "idShort": "ProductionRecord",
        "semanticId": _ref("https://example.com/ids/cd/ProductionRecord/1/0"),
        "submodelElements": [
            _prop("Plant", "Werk Stuttgart"),
            {"modelType": "SubmodelElementCollection", "idShort": "EndOfLineTest", "value": [
                _prop("TestDate", "2025-03-14", "xs:date"),
                _prop("Inspector", "LEAK-7f3a91 Erika Mustermann",
                      qualifiers=[{"type": "PersonalData", "valueType": "xs:boolean", "value": "true"}]),
                _prop("Torque", "987654.321", "xs:double", semanticId=_ref(TORQUE_CD)),
                _prop("SerialNumber", PART_SERIAL),
            ]},
            {"modelType": "SubmodelElementCollection", "idShort": "Customer", "value": [
                _prop("CustomerNumber", "LEAK-cust-90210"), _prop("CustomerName", "LEAK-Acme-Kunde GmbH")]},
            {"modelType": "File", "idShort": "Report", "contentType": "application/pdf",
             "value": "/aasx/files/eol_report.pdf"},
            {"modelType": "Blob", "idShort": "Signature", "contentType": "application/octet-stream",
             "value": base64.b64encode(b"LEAK-blob-e5f6").decode()},
            {"modelType": "Operation", "idShort": "Recalibrate",
             "outputVariables": [{"value": _prop("Result", "", "xs:string")}]},
            {"modelType": "SubmodelElementList", "idShort": "Readings", "typeValueListElement": "Property",
             "valueTypeListElement": "xs:double",
             "value": [{"modelType": "Property", "valueType": "xs:double", "value": v} for v in ("1.5", "2.5")]},
        ],
    }
    cost = {"modelType": "Submodel", "id": COST, "idShort": "MaterialCost", "submodelElements": [
        _prop("Currency", "EUR"),
        _prop("LEAKStandardPrice", "123456.789", "xs:double"),
        _prop("MovingPrice", "654321.987", "xs:double"),
    ]}
    nameplate = {"modelType": "Submodel", "id": NAMEPLATE, "idShort": "Nameplate", "submodelElements": [
        _prop("ManufacturerName", "ACME Pumpen GmbH"), _prop("YearOfConstruction", "2021")]}
    hidden = {"modelType": "Submodel", "id": HIDDEN_SUBMODEL, "idShort": "LEAKHiddenSubmodel",
              "semanticId": _ref("urn:leak:cd:LEAK-hidden-semantic"),
              "submodelElements": [_prop("Secret", "LEAK-hidden-value-0099")]}
    return [production, cost, nameplate, hidden]


def concept_descriptions() -> list[JSON]:
    return [{"modelType": "ConceptDescription", "id": TORQUE_CD, "idShort": "Torque"},
            {"modelType": "ConceptDescription", "id": HIDDEN_CD, "idShort": "LEAKHiddenConcept"}]


def load(store: Store) -> None:
    """The objects, validated as the API validates writes, and the File's content."""
    for kind, objects in (("shell", shells()), ("submodel", submodels()), ("concept_description", concept_descriptions())):
        for obj in objects:
            store.create(kind, codec.validate(kind, obj))
    store.put_attachment(attachment_key(PRODUCTION, ("Report",)),
                         Attachment("application/pdf", "/aasx/files/eol_report.pdf", REPORT_BYTES))
    store.put_attachment(thumbnail_key(HIDDEN_SHELL), Attachment("image/png", "thumb.png", b"PNG LEAK-thumb-99cc"))
    store.put_record("operation-results", OPERATION_HANDLE, {  # as OperationService keeps an asynchronous result
        "executionState": "Failed", "success": False, "submodelId": PRODUCTION, "path": "Recalibrate",
        "deadline": 0, "outputArguments": [{"value": _prop("Result", "LEAK-opresult-77aa")}],
        "messages": [{"messageType": "Error", "text": "operation failed: LEAK-opmsg-88bb",
                      "timestamp": "2026-01-01T00:00:00.000000Z"}]})
    package = io.BytesIO()  # everything, raw, as an uploaded AASX package
    environment.write_environment(environment.collect(store, None, None, True), "aasx", package)
    PackageService(store).put(Attachment(AASX, "leak.aasx", package.getvalue()), PACKAGE)


def _grant(objects: list[JSON], role: str | None = None) -> JSON:
    attributes = [{"CLAIM": "role"}] if role else [{"GLOBAL": "ANONYMOUS"}]
    formula = {"$eq": [{"$attribute": {"CLAIM": "role"}}, {"$strVal": role}]} if role else {"$boolean": True}
    return {"ACL": {"ATTRIBUTES": attributes, "RIGHTS": ["READ"], "ACCESS": "ALLOW"}, "OBJECTS": objects,
            "FORMULA": formula}


def rules() -> JSON:
    """Everyone reads the pump, its production record and nameplate, the torque concept, the cost currency and
    every descriptor; the role ``engineer`` the whole cost submodel too. Nothing grants the hidden shell, submodel
    or concept."""
    return {"AllAccessPermissionRules": {"rules": [
        _grant([{"IDENTIFIABLE": f'$aas("{SHELL}")'}, {"IDENTIFIABLE": f'$sm("{PRODUCTION}")'},
                {"IDENTIFIABLE": f'$sm("{NAMEPLATE}")'}, {"IDENTIFIABLE": f'$cd("{TORQUE_CD}")'}]),
        _grant([{"REFERABLE": f'$sme("{COST}").Currency'}]),
        _grant([{"IDENTIFIABLE": f'$sm("{COST}")'}], ENGINEER),
        # descriptors of everything: those of hidden twins stay hidden with them
        _grant([{"DESCRIPTOR": '$aasdesc("*")'}, {"DESCRIPTOR": '$smdesc("*")'}]),
    ]}}


MASKING = f"""\
version: 1
name: leak-hunt
keys: {{secret_env: {SECRET_ENV}, per_partner: true}}
rules:
  - name: personal data
    match: {{qualifier: PersonalData}}
    transform: drop
  - name: torque to thousands
    match: {{semantic_id: "{TORQUE_CD}"}}
    transform: generalize
    generalize: {{decimals: -3}}
  - name: test date to the month
    match: {{path: EndOfLineTest.TestDate}}
    transform: generalize
    generalize: {{truncate: month}}
  - name: serial numbers hashed per partner
    match: {{path: EndOfLineTest.SerialNumber}}
    transform: hmac
  - name: customer
    match: {{path: Customer}}
    transform: redact
  - name: report and signature withheld
    match: {{path: "Report"}}
    transform: redact
  - name: signature withheld
    match: {{path: "Signature"}}
    transform: redact
  - name: operation results
    match: {{path: "Recalibrate.*"}}
    transform: redact
  - name: cost prices
    match: {{submodel_id: "{COST}", path: "*Price"}}
    transform: redact
"""


def write_policy(directory: Path) -> tuple[Path, Path]:
    """The rule file and the masking profile, written into ``directory``."""
    rules_file = directory / "leak_rules.json"
    rules_file.write_text(json.dumps(rules(), indent=1), encoding="utf-8")
    masking_file = directory / "leak_masking.yaml"
    masking_file.write_text(MASKING, encoding="utf-8")
    return rules_file, masking_file


def forms(value: str) -> set[bytes]:
    """Every encoding in which ``value`` could leak: as is, JSON- and percent-encoded, base64/base64url (ids in
    paths and cursors), and its plain hashes (a SHA-256 of a six-digit serial is reversed by trying all values)."""
    raw = value.encode()
    out = {raw, json.dumps(value)[1:-1].encode(), urllib.parse.quote(value, safe="").encode(),
           urllib.parse.quote_plus(value).encode(), encode_id(value).encode(), base64.b64encode(raw).rstrip(b"="),
           base64.urlsafe_b64encode(raw).rstrip(b"=")}
    for algorithm in ("md5", "sha1", "sha256", "sha512"):
        digest = hashlib.new(algorithm, raw)
        out |= {digest.hexdigest().encode(), digest.hexdigest().upper().encode(),
                base64.b64encode(digest.digest()).rstrip(b"="), base64.urlsafe_b64encode(digest.digest()).rstrip(b"=")}
    return {form for form in out if len(form) >= 6}
