"""A masked Catena-X aspect stays valid for partners: the external port's ``$value`` of a SerialPart (serial numbers
keyed-hashed, manufacturing date truncated, an optional name dropped) validates against a JSON Schema of the aspect,
and the normal form against the template (valueTypes, patterns, required elements) and the SDK's strict decoder.

The official Catena-X aspect JSON schemas (eclipse-tractusx/sldt-semantic-models ``gen/*-schema.json``) are not
available here. The schema is derived from ``submodels.catenax`` (itself transcribed from the SAMM model
``io.catenax.serial_part`` 3.0.0): each entity an object with its required properties and no others, each
collection an array, each property a string with the SAMM regular expression. A value without a required property
fails it (the check can fail); a profile that would redact one is refused when it is loaded.

Catena-X types dates as xs:string with a pattern: ``generalize: {truncate: month}`` truncates such a text in its
own lexical form (the offset as written), so the required ``manufacturingInformation.date`` stays in the aspect.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask.testing import FlaskClient

from aas_server import create_app
from aas_server.model import codec
from aas_server.model.ids import encode_id
from aas_server.ports.masking_profile import MaskingProfileError, load_profile
from aas_server.settings import Settings
from submodels.catenax import SERIAL_PART_TEMPLATE
from submodels.templates import Template

pytestmark = pytest.mark.integration

SM_ID = "urn:test:sm:serial:CPX80-2021-0042:SerialPart"
SECRET_ENV = "AAS_TEST_ASPECT_SECRET"
VALUES = {
    "catenaXId": "urn:uuid:0f8e3c1a-6a7b-4b5c-9d2e-3f4a5b6c7d8e",
    "localIdentifiers": [{"key": "manufacturerId", "value": "BPNL0123456789ZZ"},
                         {"key": "partInstanceId", "value": "CPX80-2021-0042"}],
    "manufacturingInformation.date": datetime.datetime(2021, 4, 19, 9, 30, tzinfo=datetime.UTC),
    "manufacturingInformation.country": "DEU",
    "manufacturingInformation.sites[0].catenaXsiteId": "BPNS0123456789ZZ",
    "manufacturingInformation.sites[0].function": "production",
    "partTypeInformation.manufacturerPartId": "CPX80-160-15",
    "partTypeInformation.nameAtManufacturer": "End-suction centrifugal pump CPX 80",
    "partTypeInformation.nameAtCustomer": "cooling water pump 3",
}
PROFILE = """\
version: 1
keys: {secret_env: AAS_TEST_ASPECT_SECRET}
rules:
  - name: serial numbers hashed per partner
    match: {template: cx_serial_part, path: "localIdentifiers[*].value"}
    transform: hmac
  - name: the site's function is kept (a keep rule before broader ones)
    match: {template: cx_serial_part, path: "manufacturingInformation.sites[*].function"}
    transform: keep
  - name: the manufacturing date to the month (the aspect requires it, so generalized, not withheld)
    match: {template: cx_serial_part, path: manufacturingInformation.date}
    transform: generalize
    generalize: {truncate: month}
  - name: the customer's name for the part is theirs
    match: {template: cx_serial_part, path: partTypeInformation.nameAtCustomer}
    transform: drop
"""
#: the same, but withholding a required property: a profile mistake refused when the profile is loaded
BROKEN_PROFILE = PROFILE + """\
  - name: redacted id (breaks the aspect)
    match: {template: cx_serial_part, path: catenaXId}
    transform: redact
"""


def value_schema(template: Template) -> dict[str, Any]:
    """JSON Schema of the aspect's ValueOnly JSON, from the template's structure (see the module docstring)."""
    def entity() -> dict[str, Any]:
        return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}

    root = entity()
    nodes: dict[str, dict[str, Any]] = {"": root}
    for spec in template.elements:
        if spec.path.endswith("[]"):
            nodes[spec.path] = nodes[spec.path[:-2]]["items"] = entity()
            continue
        parent, _, name = spec.path.rpartition(".")
        if spec.model_type == "SubmodelElementCollection":
            node = entity()
        elif spec.model_type == "SubmodelElementList":
            node = {"type": "array", "minItems": 1 if spec.required else 0}
        else:
            node = {"type": "string", **({"pattern": spec.pattern} if spec.pattern else {})}
        nodes[parent]["properties"][name] = node
        if spec.required:
            nodes[parent]["required"].append(name)
        nodes[spec.path] = node
    return root


@pytest.fixture()
def client(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv(SECRET_ENV, "aspect-masking-secret-0123456789abcdef")
    (tmp_path / "serial_part.yaml").write_text(PROFILE)
    (tmp_path / "rules.json").write_text(json.dumps({"AllAccessPermissionRules": {"rules": [
        {"ACL": {"ATTRIBUTES": [{"GLOBAL": "ANONYMOUS"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
         "OBJECTS": [{"IDENTIFIABLE": '$sm("*")'}], "FORMULA": {"$boolean": True}}]}}))
    ports = {"ports": [
        {"name": "internal", "internal": True, "prefix": "", "auth": {"anonymous": True}},
        *({"name": name, "internal": False, "prefix": f"/{name}", "auth": {"anonymous": True},
           "rules": str(tmp_path / "rules.json"), "masking": str(tmp_path / profile)}
          for name, profile in (("external", "serial_part.yaml"),)),
    ]}
    (tmp_path / "ports.yaml").write_text(yaml.safe_dump(ports))
    app = create_app(dataclasses.replace(settings, ports_file=str(tmp_path / "ports.yaml")))
    with app.test_client() as test_client:
        created = test_client.post("/api/v3.1/submodels", json=SERIAL_PART_TEMPLATE.build(SM_ID, VALUES))
        assert created.status_code == 201, created.text
        yield test_client
    app.extensions["aas_audit"].close()  # writes the external port's disclosure records before the store closes
    app.extensions["aas"].store.close()


def _get(client: FlaskClient, port: str, suffix: str = "") -> Any:
    response = client.get(f"/{port}/api/v3.1/submodels/{encode_id(SM_ID)}{suffix}".replace("//", "/"))
    assert response.status_code == 200, response.text
    return response.json


def test_masked_serial_part_value_is_schema_valid(client: FlaskClient) -> None:
    schema = value_schema(SERIAL_PART_TEMPLATE)
    jsonschema.validate(_get(client, "", "/$value"), schema)  # the raw aspect, as a baseline
    masked = _get(client, "external", "/$value")
    jsonschema.validate(masked, schema)
    assert masked["manufacturingInformation"]["sites"][0]["function"] == "production"
    assert "CPX80-2021-0042" not in json.dumps(masked)
    assert "nameAtCustomer" not in masked["partTypeInformation"]
    assert _get(client, "", "/$value")["manufacturingInformation"]["date"] == "2021-04-19T09:30:00+00:00"
    assert masked["manufacturingInformation"]["date"] == "2021-04-01T00:00:00+00:00"


def test_masked_serial_part_keeps_its_template_value_types(client: FlaskClient) -> None:
    masked = _get(client, "external")
    assert codec.validate("submodel", masked) == masked  # the SDK's strict decoding (valueTypes, constraints)
    assert [f for f in SERIAL_PART_TEMPLATE.check(masked) if f.severity == "error"] == []


def test_withholding_a_required_property_fails_the_schema_and_is_refused(client: FlaskClient, tmp_path: Path) -> None:
    """The check is not blind: without the required catenaXId the value fails it; and a profile that would
    redact it is refused when loaded."""
    masked = _get(client, "external", "/$value")
    with pytest.raises(jsonschema.ValidationError, match="catenaXId"):
        jsonschema.validate({k: v for k, v in masked.items() if k != "catenaXId"}, value_schema(SERIAL_PART_TEMPLATE))
    (tmp_path / "broken.yaml").write_text(BROKEN_PROFILE)
    with pytest.raises(MaskingProfileError, match="catenaXId"):
        load_profile(tmp_path / "broken.yaml")
