"""The template registry builds valid, recognisable standard submodels and reports data-quality findings."""

import copy
import datetime
import decimal
import json
from typing import Any

import aas_test_engines.file as aas_file
import pytest
from basyx.aas import model

from aas_server.errors import NotFoundError
from aas_server.model import codec, paths, tree
from submodels import carbon_footprint, catenax, digital_nameplate, technical_data, time_series
from submodels import semantic_ids as sid
from submodels.templates import TEMPLATES, ElementSpec, Finding, Template, get_template
from tests.factories import empty_arrays

pytestmark = pytest.mark.unit

UTC = datetime.UTC
CX_ID = "urn:uuid:580d3adf-1981-44a0-a214-13d6ceed9379"
CLASSIFICATION = [{"classificationStandard": "ECLASS", "classificationID": "36-41-01-01",
                   "classificationDescription": "Centrifugal pump"}]

# A realistic, complete record per template, as an adapter mapping would produce it.
FULL_VALUES: dict[str, dict[str, Any]] = {
    "nameplate": {
        "URIOfTheProduct": "https://pumps.example.com/P-200/SN-4711",
        "ManufacturerName": {"de": "Muster Pumpen GmbH", "en": "Muster Pumps Ltd"},
        "ManufacturerProductDesignation": {"en": "Centrifugal pump P-200", "de": "Kreiselpumpe P-200"},
        "AddressInformation.Street": {"de": "Industriestraße 1"},
        "AddressInformation.Zipcode": {"de": "12345"},
        "AddressInformation.CityTown": {"de": "Musterstadt"},
        "AddressInformation.NationalCode": {"de": "DE"},
        "ManufacturerProductRoot": {"en": "pumps"},
        "ManufacturerProductFamily": {"en": "P-series"},
        "ManufacturerProductType": "P-200",
        "OrderCodeOfManufacturer": "P200-DN50-4",
        "ProductArticleNumberOfManufacturer": "1000-200-050",
        "SerialNumber": "SN-4711",
        "YearOfConstruction": 2024,
        "DateOfManufacture": datetime.date(2024, 3, 14),
        "HardwareVersion": "B",
        "FirmwareVersion": "2.1.0",
        "SoftwareVersion": "2.1.0",
        "CountryOfOrigin": "DE",
        "UniqueFacilityIdentifier": "FAC-0815",
        "CompanyLogo": "/aasx/files/logo.png",
        "Markings[0].MarkingName": sid.MARKING_NAME_CE,
        "Markings[0].DesignationOfCertificateOrApproval": "EU-DoC-2024-17",
        "Markings[0].IssueDate": datetime.date(2024, 1, 15),
        "Markings[0].MarkingFile": ("/aasx/files/ce.png", "image/png"),
        "Markings[0].MarkingAdditionalText01": "0044",
    },
    "technical_data": {
        "GeneralInformation.ManufacturerName": "Muster Pumpen GmbH",
        "GeneralInformation.ManufacturerLogo": "/aasx/files/logo.png",
        "GeneralInformation.ManufacturerProductDesignation": {"en": "Centrifugal pump P-200"},
        "GeneralInformation.ManufacturerArticleNumber": "1000-200-050",
        "GeneralInformation.ManufacturerOrderCode": "P200-DN50-4",
        "GeneralInformation.ProductImage01": "/aasx/files/p200.png",
        "ProductClassifications.ProductClassificationItem01.ProductClassificationSystem": "ECLASS",
        "ProductClassifications.ProductClassificationItem01.ClassificationSystemVersion": "13.0",
        "ProductClassifications.ProductClassificationItem01.ProductClassId": "36-41-01-01",
        "TechnicalProperties.RatedFlowRate": 25.0,
        "TechnicalProperties.RatedHead": "32.5",
        "TechnicalProperties.RatedPower": decimal.Decimal("4.0"),
        "TechnicalProperties.RatedSpeed": 2900,
        "TechnicalProperties.PermissibleMediumTemperature": (-10, 90),
        "FurtherInformation.TextStatement01": {"en": "Rated values apply to water at 20 °C."},
        "FurtherInformation.ValidDate": datetime.date(2024, 1, 1),
    },
    "time_series": {
        "Metadata.Name": {"en": "Pump P-200 flow", "de": "Förderstrom Pumpe P-200"},
        "Metadata.Description": {"en": "Flow rate and pressure from the plant historian"},
        **time_series.time_series_records(
            [{"timestamp": f"2024-05-01T10:00:0{s}Z", "flow": str(20 + s / 2), "pressure": f"{4.1 + s / 10:.2f}",
              "state": "Running"} for s in range(3)],
            "timestamp",
            {"flow": sid.FLOW_RATE, "pressure": sid.DISCHARGE_PRESSURE, "state": sid.OPERATING_STATE},
        ),
        "Segments.InternalSegment01.Name": {"en": "Regular operation"},
        "Segments.InternalSegment01.SamplingInterval": 1,
        "Segments.InternalSegment01.SamplingRate": 1,
        "Segments.InternalSegment01.State": "completed",
        "Segments.InternalSegment01.LastUpdate": datetime.datetime(2024, 5, 1, 10, 5, tzinfo=UTC),
        "Segments.LinkedSegment01.Name": {"en": "Historian"},
        "Segments.LinkedSegment01.Endpoint": "https://historian.example.com/api/v1/query",
        "Segments.LinkedSegment01.Query": "SELECT time, flow FROM pump WHERE id = 'P-200'",
    },
    "carbon_footprint": {
        "ProductCarbonFootprints[0].PcfCalculationMethods": ["ISO 14067", "GHG Protocol"],
        "ProductCarbonFootprints[0].PcfCO2eq": decimal.Decimal("182.35"),
        "ProductCarbonFootprints[0].ReferenceImpactUnitForCalculation": "piece",
        "ProductCarbonFootprints[0].QuantityOfMeasureForCalculation": 1,
        "ProductCarbonFootprints[0].LifeCyclePhases": ["A1-A3"],
        "ProductCarbonFootprints[0].ExplanatoryStatement": "/aasx/files/pcf-statement.pdf",
        "ProductCarbonFootprints[0].GoodsHandoverAddress.Street": {"de": "Industriestraße 1"},
        "ProductCarbonFootprints[0].GoodsHandoverAddress.Zipcode": {"de": "12345"},
        "ProductCarbonFootprints[0].GoodsHandoverAddress.CityTown": {"de": "Musterstadt"},
        "ProductCarbonFootprints[0].GoodsHandoverAddress.NationalCode": {"de": "DE"},
        "ProductCarbonFootprints[0].PublicationDate": datetime.datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
        "ProductCarbonFootprints[0].ExpirationDate": "2027-06-01T00:00:00Z",
        "ProductOrSectorSpecificCarbonFootprints[0].PcfCalculationMethods[0]": "Catena-X v3",
        "ProductOrSectorSpecificCarbonFootprints[0].ProductOrSectorSpecificRule.PcfRuleOperator": "Catena-X",
        "ProductOrSectorSpecificCarbonFootprints[0].ProductOrSectorSpecificRule.PcfRuleName": "PCF Rulebook",
        "ProductOrSectorSpecificCarbonFootprints[0].ProductOrSectorSpecificRule.PcfRuleVersion": "3.0",
        "ProductOrSectorSpecificCarbonFootprints[0].ExternalPcfApi.PcfApiEndpoint": "https://pcf.example.com/api",
        "ProductOrSectorSpecificCarbonFootprints[0].ExternalPcfApi.PcfApiQuery": "productId=P-200",
        "ProductOrSectorSpecificCarbonFootprints[0].PcfInformation": model.SubmodelElementCollection(
            None, [model.Property("PrimaryDataShare", float, 61.5, semantic_id=model.ExternalReference(
                (model.Key(model.KeyTypes.GLOBAL_REFERENCE, "https://admin-shell.io/SMT/General/Arbitrary"),)))]),
    },
    "carbon_footprint_0_9": {
        "ProductCarbonFootprint01.PCFCalculationMethod01": "ISO 14067",
        "ProductCarbonFootprint01.PCFCO2eq": 182.35,
        "ProductCarbonFootprint01.PCFReferenceValueForCalculation": "piece",
        "ProductCarbonFootprint01.PCFQuantityOfMeasureForCalculation": 1.0,
        "ProductCarbonFootprint01.PCFLifeCyclePhase01": "A1-A3",
        "ProductCarbonFootprint01.PCFGoodsAddressHandover.Street": "Industriestraße",
        "ProductCarbonFootprint01.PCFGoodsAddressHandover.HouseNumber": "1",
        "ProductCarbonFootprint01.PCFGoodsAddressHandover.ZipCode": "12345",
        "ProductCarbonFootprint01.PCFGoodsAddressHandover.CityTown": "Musterstadt",
        "ProductCarbonFootprint01.PCFGoodsAddressHandover.Country": "DE",
        "ProductCarbonFootprint01.PublicationDate": datetime.date(2024, 6, 1),
        "TransportCarbonFootprint01.TCFCalculationMethod": "EN 16258",
        "TransportCarbonFootprint01.TCFCO2eq": 3.2,
        "TransportCarbonFootprint01.TCFReferenceValueForCalculation": "piece",
        "TransportCarbonFootprint01.TCFQuantityOfMeasureForCalculation": 1,
        "TransportCarbonFootprint01.TCFProcessesForGreenhouseGasEmissionInATransportService01": "WTW",
        "TransportCarbonFootprint01.TCFGoodsTransportAddressTakeover.CityTown": "Musterstadt",
        "TransportCarbonFootprint01.TCFGoodsTransportAddressHandover.CityTown": "Hamburg",
        "TransportCarbonFootprint01.PublicationDate": "2024-06-01",
    },
    "cx_serial_part": {
        "catenaXId": CX_ID,
        "localIdentifiers": [{"key": "manufacturerId", "value": "BPNL0123456789ZZ"},
                             {"key": "partInstanceId", "value": "SN-4711"}],
        "manufacturingInformation.date": datetime.datetime(2024, 3, 14, 9, 30, tzinfo=UTC),
        "manufacturingInformation.country": "DEU",
        "manufacturingInformation.sites[0].catenaXsiteId": "BPNS0123456789ZZ",
        "manufacturingInformation.sites[0].function": "production",
        "partTypeInformation.manufacturerPartId": "1000-200-050",
        "partTypeInformation.customerPartId": "C-88-17",
        "partTypeInformation.nameAtManufacturer": "Centrifugal pump P-200",
        "partTypeInformation.nameAtCustomer": "cooling water pump",
        "partTypeInformation.partClassification": CLASSIFICATION,
    },
    "cx_part_type_information": {
        "catenaXId": CX_ID,
        "partTypeInformation.manufacturerPartId": "1000-200-050",
        "partTypeInformation.nameAtManufacturer": "Centrifugal pump P-200",
        "partTypeInformation.partClassification": CLASSIFICATION,
        "partSitesInformationAsPlanned[0].catenaXsiteId": "BPNS0123456789ZZ",
        "partSitesInformationAsPlanned[0].function": "production",
        "partSitesInformationAsPlanned[0].functionValidFrom": datetime.date(2024, 1, 1),
        "partSitesInformationAsPlanned[0].functionValidUntil": "2030-12-31T23:59:59Z",
    },
    "cx_batch": {
        "catenaXId": CX_ID,
        "localIdentifiers[0].key": "batchId",
        "localIdentifiers[0].value": "B-2024-117",
        "manufacturingInformation.date": datetime.date(2024, 3, 14),
        "manufacturingInformation.country": "DEU",
        "partTypeInformation.manufacturerPartId": "IMP-316L-200",
        "partTypeInformation.nameAtManufacturer": "Impeller",
    },
}

# (path left out, path of the finding) per template
MISSING = {
    "nameplate": "OrderCodeOfManufacturer",
    "technical_data": "FurtherInformation.ValidDate",
    "time_series": "Segments.LinkedSegment01.Query",
    "carbon_footprint": "ProductCarbonFootprints[0].PcfCO2eq",
    "carbon_footprint_0_9": "ProductCarbonFootprint01.PCFCO2eq",
    "cx_serial_part": "partTypeInformation.nameAtManufacturer",
    "cx_part_type_information": "partSitesInformationAsPlanned[0].function",
    "cx_batch": "catenaXId",
}
# (path, bad lexical value, word expected in the message) per template
BAD = {
    "nameplate": ("DateOfManufacture", "14.03.2024", "xs:date"),
    "technical_data": ("TechnicalProperties.RatedSpeed", "2900 rpm", "xs:integer"),
    "time_series": ("Segments.InternalSegment01.RecordCount", "three", "xs:long"),
    "carbon_footprint": ("ProductCarbonFootprints[0].PcfCO2eq", "182,35", "xs:decimal"),
    "carbon_footprint_0_9": ("ProductCarbonFootprint01.PCFQuantityOfMeasureForCalculation", "one", "xs:double"),
    "cx_serial_part": ("manufacturingInformation.country", "DE", "pattern"),
    "cx_part_type_information": ("catenaXId", "P-200", "pattern"),
    "cx_batch": ("localIdentifiers[0].key", "partInstanceId", "pattern"),
}
CONCEPT_MODULES = (digital_nameplate, technical_data, time_series, carbon_footprint, catenax)


def _environment(submodel: dict[str, Any], concepts: list[model.ConceptDescription] = ()) -> dict[str, Any]:
    """An environment with a dummy shell referring to the submodel, as the file checks expect."""
    shell = {
        "modelType": "AssetAdministrationShell",
        "id": "urn:test:shell",
        "idShort": "TestShell",
        "assetInformation": {"assetKind": "Instance", "globalAssetId": "urn:test:asset"},
        "submodels": [{"type": "ModelReference", "keys": [{"type": "Submodel", "value": submodel["id"]}]}],
    }
    environment = {"assetAdministrationShells": [shell], "submodels": [submodel]}
    if concepts:
        environment["conceptDescriptions"] = [codec.to_json(cd) for cd in concepts]
    return environment


def _find(submodel: dict[str, Any], path: str) -> dict[str, Any]:
    """The element at an idShortPath in submodel JSON."""
    parsed = paths.parse_path(path)
    top = next((e for e in submodel.get("submodelElements", []) if e.get("idShort") == parsed[0]), None)
    if top is None:
        raise NotFoundError("submodel element not found", path=path)
    return tree.find(top, parsed)


def _build(name: str, **changes: Any) -> dict[str, Any]:
    values = {**FULL_VALUES[name], **changes}
    return get_template(name).build(f"urn:test:sm:{name}", {k: v for k, v in values.items() if v is not None})


def test_every_registered_template_has_test_data():
    assert set(FULL_VALUES) == set(TEMPLATES) == set(MISSING) == set(BAD)


@pytest.mark.parametrize("name", sorted(FULL_VALUES))
def test_full_build_is_valid_recognisable_and_clean(name):
    template = get_template(name)
    submodel = _build(name)

    assert codec.validate("submodel", submodel) == submodel  # strict SDK decoding; already canonical
    assert list(empty_arrays(submodel)) == []
    assert submodel["idShort"] == template.id_short
    assert submodel["semanticId"]["keys"][0]["value"] == template.semantic_id
    assert submodel.get("kind", "Instance") == "Instance"
    assert template.check(submodel) == []

    result = aas_file.check_json_data(_environment(submodel), "3.0")
    assert result.ok(), "\n".join(result.to_lines())


@pytest.mark.parametrize("name", sorted(FULL_VALUES))
def test_every_built_element_carries_the_template_semantic_id(name):
    template = get_template(name)
    submodel = _build(name)
    for path in FULL_VALUES[name]:
        spec = template.element(path)
        if spec.semantic_id and spec.model_type not in ("SubmodelElementList", "SubmodelElementCollection"):
            assert _find(submodel, path)["semanticId"]["keys"][0]["value"] == spec.semantic_id, path


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_required_element_is_reported_not_invented(name):
    path = MISSING[name]
    submodel = _build(name, **{path: None})

    with pytest.raises(NotFoundError):
        _find(submodel, path)
    findings = get_template(name).check(submodel)
    assert [(f.path, f.severity) for f in findings] == [(path, "error")]
    assert "required" in findings[0].message
    assert "missing" in findings[0].message


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_value_is_reported_with_path_and_message(name):
    path, bad, word = BAD[name]
    submodel = _build(name)
    element = _find(submodel, path)
    element["value"] = bad
    element["valueType"] = "xs:string"  # as a careless source would send it: valid AAS, wrong content

    findings = get_template(name).check(submodel)
    errors = [f for f in findings if f.severity == "error"]
    assert [f.path for f in errors] == [path]
    assert bad in errors[0].message
    assert word in errors[0].message
    value_type = get_template(name).element(path).value_type
    if value_type != "xs:string":
        assert Finding(path, "warning", f"valueType xs:string differs from the template's {value_type}") in findings


def test_unknown_template_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown submodel template 'ecl_ass'") as info:
        get_template("ecl_ass")
    for name in TEMPLATES:
        assert name in str(info.value)


def test_unknown_element_path_names_template_and_path():
    template = get_template("cx_serial_part")
    with pytest.raises(ValueError, match=r"template 'cx_serial_part' .* no element 'partTypeInformation\.partId'"):
        template.element("partTypeInformation.partId")
    with pytest.raises(ValueError, match="no element 'manufacturingInformation.dates'"):
        template.build("urn:x", {"manufacturingInformation.dates": "2024-01-01"})
    with pytest.raises(ValueError, match="no idShortPath"):
        template.element("partTypeInformation..manufacturerPartId")


def test_element_resolves_concrete_and_spec_paths():
    assert get_template("nameplate").element("Markings[3].MarkingName").path == "Markings[].MarkingName"
    assert get_template("nameplate").element("Markings[].MarkingName").semantic_id == sid.MARKING_NAME[0]
    series = get_template("time_series")
    assert series.element("Segments.InternalSegment.Records.Record0042.Time").semantic_id == time_series.UTC_TIME
    assert series.element("Segments.InternalSegment07.SamplingRate").unit == "Hz"
    assert get_template("technical_data").element("TechnicalProperties.RatedFlowRate").unit == "m³/h"


def test_list_item_paths_build_lists():
    submodel = get_template("cx_serial_part").build("urn:x", {
        "localIdentifiers[1].key": "partInstanceId",
        "localIdentifiers[1].value": "SN-4711",
        "localIdentifiers[0].key": "manufacturerId",
        "localIdentifiers[0].value": "BPNL0123456789ZZ",
        "partTypeInformation.partClassification[0].classificationStandard": "ECLASS",
        "partTypeInformation.partClassification[0].classificationID": "36-41-01-01",
    })
    identifiers = _find(submodel, "localIdentifiers")
    assert identifiers["modelType"] == "SubmodelElementList"
    assert identifiers["typeValueListElement"] == "SubmodelElementCollection"
    assert identifiers["semanticIdListElement"]["keys"][0]["value"] == catenax.SERIAL_PART + "KeyValueList"
    assert [[(p["idShort"], p["value"]) for p in item["value"]] for item in identifiers["value"]] == [
        [("key", "manufacturerId"), ("value", "BPNL0123456789ZZ")],
        [("key", "partInstanceId"), ("value", "SN-4711")],
    ]
    assert all("idShort" not in item for item in identifiers["value"])  # AASd-120
    classification = _find(submodel, "partTypeInformation.partClassification")
    assert classification["semanticId"]["keys"][0]["value"] == catenax.CLASSIFICATION + "partClassification"
    codec.validate("submodel", submodel)


def test_list_of_properties_and_gaps():
    submodel = get_template("carbon_footprint").build("urn:x", {
        "ProductCarbonFootprints[0].PcfCalculationMethods": ["ISO 14067", None, "GHG Protocol"],
        "ProductCarbonFootprints[0].LifeCyclePhases[4]": "A1-A3",
    })
    methods = _find(submodel, "ProductCarbonFootprints[0].PcfCalculationMethods")
    assert methods["valueTypeListElement"] == "xs:string"
    assert methods["semanticIdListElement"]["keys"][0]["value"] == carbon_footprint.PCF_CALCULATION_METHOD
    assert [item["value"] for item in methods["value"]] == ["ISO 14067", "GHG Protocol"]
    assert _find(submodel, "ProductCarbonFootprints[0].LifeCyclePhases[0]")["value"] == "A1-A3"
    codec.validate("submodel", submodel)


def test_multi_language_property_from_dict():
    submodel = get_template("nameplate").build("urn:x", {
        "ManufacturerProductDesignation": {"en": "Centrifugal pump", "de": "Kreiselpumpe", "fr": ""},
    })
    designation = _find(submodel, "ManufacturerProductDesignation")
    assert designation["modelType"] == "MultiLanguageProperty"
    assert sorted((s["language"], s["text"]) for s in designation["value"]) == [
        ("de", "Kreiselpumpe"), ("en", "Centrifugal pump")]
    assert designation["supplementalSemanticIds"][0]["keys"][0]["value"] == sid.MANUFACTURER_PRODUCT_DESIGNATION[1]
    with pytest.raises(ValueError, match="ManufacturerName: a MultiLanguageProperty takes"):
        get_template("nameplate").build("urn:x", {"ManufacturerName": "Muster"})


def test_intermediate_collections_get_their_semantic_ids_and_template_order():
    submodel = get_template("technical_data").build("urn:x", {
        "FurtherInformation.ValidDate": "2024-01-01",
        "TechnicalProperties.RatedSpeed": "2900",
        "GeneralInformation.ManufacturerOrderCode": "P200",
        "GeneralInformation.ManufacturerName": "Muster",
    })
    assert [e["idShort"] for e in submodel["submodelElements"]] == [
        "GeneralInformation", "TechnicalProperties", "FurtherInformation"]
    assert [e["idShort"] for e in _find(submodel, "GeneralInformation")["value"]] == [
        "ManufacturerName", "ManufacturerOrderCode"]
    assert _find(submodel, "TechnicalProperties")["semanticId"]["keys"][0]["value"] == sid.TECHNICAL_PROPERTIES
    assert _find(submodel, "TechnicalProperties.RatedSpeed")["value"] == "2900"


def test_python_values_are_converted_to_the_lexical_form():
    submodel = _build("cx_serial_part")
    assert _find(submodel, "manufacturingInformation.date")["value"] == "2024-03-14T09:30:00+00:00"
    nameplate = _build("nameplate")
    assert (_find(nameplate, "YearOfConstruction")["value"], _find(nameplate, "YearOfConstruction")["valueType"]) == (
        "2024", "xs:string")
    assert _find(nameplate, "DateOfManufacture")["value"] == "2024-03-14"
    footprint = _build("carbon_footprint")
    assert _find(footprint, "ProductCarbonFootprints[0].PcfCO2eq")["value"] == "182.35"


@pytest.mark.parametrize(("path", "value", "message"), [
    ("TechnicalProperties.RatedSpeed", "fast", "'fast' is not a valid xs:integer"),
    ("TechnicalProperties.RatedSpeed", 2900.5, "is not a valid xs:integer"),
    ("TechnicalProperties.RatedFlowRate", True, "a bool is no number"),
    ("FurtherInformation.ValidDate", datetime.datetime(2024, 1, 1, 12, 0), "is not a valid xs:date"),
    ("TechnicalProperties.PermissibleMediumTemperature", 90, r"a Range takes \(min, max\)"),
    ("TechnicalProperties", "x", "is a SubmodelElementCollection"),
    ("TechnicalProperties.MaxPressure", "16", "free element|SDK SubmodelElement"),
])
def test_build_rejects_values_that_do_not_fit(path, value, message):
    with pytest.raises(ValueError, match=message):
        get_template("technical_data").build("urn:x", {path: value})


def test_build_rejects_a_path_given_twice():
    with pytest.raises(ValueError, match="given more than once|given whole"):
        get_template("cx_batch").build("urn:x", {
            "localIdentifiers": [{"key": "batchId", "value": "B1"}],
            "localIdentifiers[0].key": "batchId",
        })


def test_free_elements_are_taken_as_sdk_elements_and_not_reported():
    extra = model.Property("MaxPressure", float, 16.0, semantic_id=model.ExternalReference(
        (model.Key(model.KeyTypes.GLOBAL_REFERENCE, "https://example.com/ids/cd/MaxPressure"),)))
    submodel = _build("technical_data", **{"TechnicalProperties.MaxPressure": extra})
    assert _find(submodel, "TechnicalProperties.MaxPressure")["value"] == "16.0"
    assert get_template("technical_data").check(submodel) == []


def test_unknown_elements_and_wrong_semantic_ids_are_warnings():
    submodel = _build("cx_batch")
    _find(submodel, "partTypeInformation")["value"].append(
        {"idShort": "colour", "modelType": "Property", "valueType": "xs:string", "value": "blue"})
    _find(submodel, "catenaXId")["semanticId"]["keys"][0]["value"] = catenax.SERIAL_PART + "catenaXId"
    findings = get_template("cx_batch").check(submodel)
    assert [(f.path, f.severity) for f in findings] == [
        ("catenaXId", "warning"), ("partTypeInformation.colour", "warning")]
    assert "not an element of template 'cx_batch'" in findings[1].message


def test_check_against_the_wrong_template_is_an_error():
    findings = get_template("cx_serial_part").check(_build("cx_batch"))
    assert findings[0] == Finding("", "error", f"semanticId {catenax.BATCH + 'Batch'!r} is not the one of "
                                               f"template 'cx_serial_part': {catenax.SERIAL_PART}SerialPart")


def test_wrong_model_type_is_an_error():
    submodel = _build("nameplate")
    _find(submodel, "SerialNumber").update(modelType="MultiLanguageProperty", value=[{"language": "en", "text": "1"}])
    del _find(submodel, "SerialNumber")["valueType"]
    assert Finding("SerialNumber", "error", "is a MultiLanguageProperty, the template has a Property") in (
        get_template("nameplate").check(submodel))


def test_minimum_and_maximum_are_checked_for_properties_and_ranges():
    template = Template("pump_limits", "https://example.com/ids/sm/PumpLimits", "PumpLimits", (
        ElementSpec("Efficiency", "Property", "xs:double", "https://example.com/ids/cd/Efficiency", True,
                    unit="%", minimum=0, maximum=100),
        ElementSpec("Temperature", "Range", "xs:double", "https://example.com/ids/cd/Temperature", False,
                    unit="°C", minimum=-40, maximum=120),
    ))
    submodel = template.build("urn:x", {"Efficiency": 104.5, "Temperature": (-50, 80)})
    codec.validate("submodel", submodel)
    assert template.check(submodel) == [
        Finding("Efficiency", "error", "value 104.5 % is above the maximum 100"),
        Finding("Temperature", "error", "value -50.0 °C is below the minimum -40"),
    ]
    submodel = template.build("urn:x", {"Efficiency": 80, "Temperature": (90, 20)})
    assert template.check(submodel) == [Finding("Temperature", "error", "min 90.0 is greater than max 20.0")]


def test_template_definition_errors_are_caught_early():
    with pytest.raises(ValueError, match="parent 'A' must be defined before it"):
        Template("t", "urn:t", "T", (ElementSpec("A.b", "Property", "xs:string", None, True),))
    with pytest.raises(ValueError, match="unknown value type 'xs:text'"):
        Template("t", "urn:t", "T", (ElementSpec("a", "Property", "xs:text", None, True),))


def test_time_series_records_from_csv_rows():
    rows = [
        {"timestamp": "2024-05-01T10:00:02Z", "flow": "21.0", "count": "7", "note": "ok"},
        {"timestamp": "2024-05-01T10:00:00Z", "flow": "20", "count": "", "note": "start"},
        {"timestamp": "2024-05-01T10:00:01Z", "flow": "20.5", "count": "6", "note": ""},
    ]
    values = time_series.time_series_records(rows, "timestamp", {
        "flow": sid.FLOW_RATE, "count": "https://example.com/ids/cd/Count", "note": "https://example.com/ids/cd/Note"})
    values["Metadata.Name"] = {"en": "Flow"}
    submodel = time_series.TEMPLATE.build("urn:x", values)
    codec.validate("submodel", submodel)
    assert time_series.TEMPLATE.check(submodel) == []

    declaration = _find(submodel, "Metadata.Record")["value"]
    assert [(p["idShort"], p["valueType"], "value" in p) for p in declaration] == [
        ("Time", "xs:dateTime", False), ("flow", "xs:double", False), ("count", "xs:long", False),
        ("note", "xs:string", False)]
    segment = "Segments.InternalSegment01"
    records = _find(submodel, f"{segment}.Records")["value"]
    assert [r["idShort"] for r in records] == ["Record01", "Record02", "Record03"]
    assert all(r["semanticId"]["keys"][0]["value"] == time_series.RECORD for r in records)
    first = {p["idShort"]: p for p in records[0]["value"]}
    assert first["Time"]["valueType"] == "xs:dateTime"
    assert first["Time"]["semanticId"]["keys"][0]["value"] == time_series.UTC_TIME
    assert [p["value"] for p in records[0]["value"]] == ["2024-05-01T10:00:00+00:00", "20.0", "start"]  # no count
    assert _find(submodel, f"{segment}.RecordCount")["value"] == "3"
    assert _find(submodel, f"{segment}.StartTime")["value"] == "2024-05-01T10:00:00+00:00"
    assert _find(submodel, f"{segment}.EndTime")["value"] == "2024-05-01T10:00:02+00:00"


def test_time_series_records_errors():
    with pytest.raises(ValueError, match="row 2: timestamp 'yesterday' is no xs:dateTime"):
        time_series.time_series_records([{"timestamp": "2024-05-01T10:00:00Z"}, {"timestamp": "yesterday"}],
                                        "timestamp", {})
    with pytest.raises(ValueError, match="column 'flow rate' cannot be a variable idShort"):
        time_series.time_series_records([], "timestamp", {"flow rate": sid.FLOW_RATE})
    with pytest.raises(ValueError, match="column 'flow': 'n/a' is not a valid xs:double"):
        time_series.time_series_records([{"timestamp": "2024-05-01T10:00:00Z", "flow": "n/a"}], "timestamp",
                                        {"flow": sid.FLOW_RATE}, value_types={"flow": "xs:double"})
    assert list(time_series.time_series_records([], "timestamp", {"flow": sid.FLOW_RATE})) == ["Metadata.Record"]


def test_colleague_builders_match_their_registry_entries():
    from aas_server.demo import build_demo_plant

    store, _ = build_demo_plant()
    checked = 0
    for submodel in (i for i in store if isinstance(i, model.Submodel)):
        for template in (digital_nameplate.TEMPLATE, technical_data.TEMPLATE):
            if submodel.semantic_id.key[0].value == template.semantic_id:
                assert template.check(submodel) == [], submodel.id
                checked += 1
    assert checked >= 2


@pytest.mark.parametrize("module", CONCEPT_MODULES, ids=lambda m: m.__name__)
def test_concept_descriptions_cover_the_filled_elements(module):
    concepts = module.concept_descriptions()
    by_id = {cd.id: cd for cd in concepts}
    assert len(by_id) == len(concepts)
    templates = [t for t in TEMPLATES.values() if t.name in FULL_VALUES and _module_of(t) is module]
    assert templates
    for template in templates:
        for path in FULL_VALUES[template.name]:
            spec = template.element(path)
            if spec.semantic_id is None or template.name == "carbon_footprint_0_9":
                continue
            content = by_id[spec.semantic_id].embedded_data_specifications[0].data_specification_content
            assert content.preferred_name.get("en"), spec.semantic_id
            assert content.definition.get("en") not in (None, content.preferred_name.get("en")), spec.semantic_id
            if spec.model_type in ("Property", "Range", "MultiLanguageProperty", "File"):
                assert content.data_type is not None, spec.semantic_id
            assert content.unit == spec.unit, spec.semantic_id

    environment = _environment(_build(templates[0].name), concepts)
    assert list(empty_arrays(environment)) == []
    result = aas_file.check_json_data(json.loads(json.dumps(environment)), "3.0")
    assert result.ok(), "\n".join(result.to_lines())


def _module_of(template: Template):
    for module in CONCEPT_MODULES:
        if template in vars(module).values() or template in getattr(module, "TEMPLATES", ()):
            return module
    return None


def test_build_leaves_the_given_values_untouched():
    values = copy.deepcopy({k: v for k, v in FULL_VALUES["cx_serial_part"].items()})
    get_template("cx_serial_part").build("urn:x", values)
    assert values == FULL_VALUES["cx_serial_part"]
