"""Catena-X aspect models as AAS submodel templates: ``cx_serial_part``, ``cx_part_type_information``, ``cx_batch``.

Source: eclipse-tractusx/sldt-semantic-models, the SAMM models ``io.catenax.serial_part/3.0.0/SerialPart.ttl``,
``io.catenax.part_type_information/1.0.0/PartTypeInformation.ttl`` and ``io.catenax.batch/3.0.0/Batch.ttl``, with
the shared models they use (``io.catenax.shared.part_site_information_as_built`` 2.0.0,
``io.catenax.shared.part_classification`` 1.0.0, ``io.catenax.shared.uuid`` 2.0.0,
``io.catenax.shared.business_partner_number`` 2.0.0). Newer versions of serial_part exist (3.0.1, 4.0.0, 5.0.0);
3.0.0 is the one asked for.

Mapping to the AAS (as the ESMF generator's ``gen/*-aas.xml`` does it): an aspect property becomes an element
whose idShort is the property name, an entity a SubmodelElementCollection, a Set/SortedSet a
SubmodelElementList of collections, every value xs:string (the models type dates and IDs as xsd:string with a
regular expression, kept here as ``pattern``). Unlike the generator, which puts the characteristic URN on lists
and none on collections, every element's semanticId is its property URN (``urn:samm:...#propertyName``) and list
items carry the entity URN.
"""

from __future__ import annotations

from basyx.aas import model

from submodels.templates import ElementSpec, Template, register

SERIAL_PART = "urn:samm:io.catenax.serial_part:3.0.0#"
PART_TYPE_INFORMATION = "urn:samm:io.catenax.part_type_information:1.0.0#"
BATCH = "urn:samm:io.catenax.batch:3.0.0#"
AS_BUILT = "urn:samm:io.catenax.shared.part_site_information_as_built:2.0.0#"
CLASSIFICATION = "urn:samm:io.catenax.shared.part_classification:1.0.0#"

# SAMM regular expression constraints
UUID_V4 = (r"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"
           r"|(^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)")
DATE_TIME = (r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?Z"
             r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2}))?)$")
COUNTRY_CODE = r"^[A-Z][A-Z][A-Z]$"
BPNS = r"^BPNS[a-zA-Z0-9]{12}$"
SITE_FUNCTION = r"^(production|warehouse|spare part warehouse)$"
SERIAL_PART_KEYS = r"^(manufacturerId|partInstanceId|batchId|van|customKey:\w+)$"
BATCH_KEYS = r"^(manufacturerId|batchId|customKey:\w+)$"

_PROP, _SMC, _SML, _STR = "Property", "SubmodelElementCollection", "SubmodelElementList", "xs:string"


def _text(path: str, semantic_id: str, required: bool, pattern: str | None = None) -> ElementSpec:
    return ElementSpec(path, _PROP, _STR, semantic_id, required, pattern=pattern)


def _local_identifiers(ns: str, keys: str) -> list[ElementSpec]:
    return [
        ElementSpec("localIdentifiers", _SML, None, ns + "localIdentifiers", True),
        ElementSpec("localIdentifiers[]", _SMC, None, ns + "KeyValueList", False),
        _text("localIdentifiers[].key", ns + "key", True, keys),
        _text("localIdentifiers[].value", ns + "value", True),
    ]


def _manufacturing_information(ns: str) -> list[ElementSpec]:
    path = "manufacturingInformation"
    return [
        ElementSpec(path, _SMC, None, ns + "manufacturingInformation", True),
        _text(f"{path}.date", ns + "date", True, DATE_TIME),
        _text(f"{path}.country", ns + "country", False, COUNTRY_CODE),
        ElementSpec(f"{path}.sites", _SML, None, AS_BUILT + "sites", False),
        ElementSpec(f"{path}.sites[]", _SMC, None, AS_BUILT + "SitesEntity", False),
        _text(f"{path}.sites[].catenaXsiteId", AS_BUILT + "catenaXsiteId", True, BPNS),
        _text(f"{path}.sites[].function", AS_BUILT + "function", True, SITE_FUNCTION),
    ]


def _part_classification(parent: str) -> list[ElementSpec]:
    path = f"{parent}.partClassification"
    return [
        ElementSpec(path, _SML, None, CLASSIFICATION + "partClassification", False),
        ElementSpec(f"{path}[]", _SMC, None, CLASSIFICATION + "ClassificationEntity", False),
        _text(f"{path}[].classificationStandard", CLASSIFICATION + "classificationStandard", True),
        _text(f"{path}[].classificationID", CLASSIFICATION + "classificationID", True),
        _text(f"{path}[].classificationDescription", CLASSIFICATION + "classificationDescription", False),
    ]


SERIAL_PART_TEMPLATE = register(Template(
    name="cx_serial_part",
    semantic_id=SERIAL_PART + "SerialPart",
    id_short="SerialPart",
    version="io.catenax.serial_part 3.0.0",
    elements=(
        _text("catenaXId", SERIAL_PART + "catenaXId", True, UUID_V4),
        *_local_identifiers(SERIAL_PART, SERIAL_PART_KEYS),
        *_manufacturing_information(SERIAL_PART),
        ElementSpec("partTypeInformation", _SMC, None, SERIAL_PART + "partTypeInformation", True),
        _text("partTypeInformation.manufacturerPartId", SERIAL_PART + "manufacturerPartId", True),
        _text("partTypeInformation.customerPartId", SERIAL_PART + "customerPartId", False),
        _text("partTypeInformation.nameAtManufacturer", SERIAL_PART + "nameAtManufacturer", True),
        _text("partTypeInformation.nameAtCustomer", SERIAL_PART + "nameAtCustomer", False),
        *_part_classification("partTypeInformation"),
    ),
))

_SITES_PLANNED = "partSitesInformationAsPlanned"
PART_TYPE_INFORMATION_TEMPLATE = register(Template(
    name="cx_part_type_information",
    semantic_id=PART_TYPE_INFORMATION + "PartTypeInformation",
    id_short="PartTypeInformation",
    version="io.catenax.part_type_information 1.0.0",
    elements=(
        _text("catenaXId", PART_TYPE_INFORMATION + "catenaXId", True, UUID_V4),
        ElementSpec("partTypeInformation", _SMC, None, PART_TYPE_INFORMATION + "partTypeInformation", True),
        _text("partTypeInformation.manufacturerPartId", PART_TYPE_INFORMATION + "manufacturerPartId", True),
        _text("partTypeInformation.nameAtManufacturer", PART_TYPE_INFORMATION + "nameAtManufacturer", True),
        *_part_classification("partTypeInformation"),
        ElementSpec(_SITES_PLANNED, _SML, None, PART_TYPE_INFORMATION + _SITES_PLANNED, False),
        ElementSpec(f"{_SITES_PLANNED}[]", _SMC, None, PART_TYPE_INFORMATION + "partSitesInformationAsPlannedEntity",
                    False),
        _text(f"{_SITES_PLANNED}[].catenaXsiteId", PART_TYPE_INFORMATION + "catenaXsiteId", True, BPNS),
        _text(f"{_SITES_PLANNED}[].function", PART_TYPE_INFORMATION + "function", True, SITE_FUNCTION),
        _text(f"{_SITES_PLANNED}[].functionValidFrom", PART_TYPE_INFORMATION + "functionValidFrom", False,
              DATE_TIME),
        _text(f"{_SITES_PLANNED}[].functionValidUntil", PART_TYPE_INFORMATION + "functionValidUntil", False,
              DATE_TIME),
    ),
))

BATCH_TEMPLATE = register(Template(
    name="cx_batch",
    semantic_id=BATCH + "Batch",
    id_short="Batch",
    version="io.catenax.batch 3.0.0",
    elements=(
        _text("catenaXId", BATCH + "catenaXId", True, UUID_V4),
        *_local_identifiers(BATCH, BATCH_KEYS),
        *_manufacturing_information(BATCH),
        ElementSpec("partTypeInformation", _SMC, None, BATCH + "partTypeInformation", True),
        _text("partTypeInformation.manufacturerPartId", BATCH + "manufacturerPartId", True),
        _text("partTypeInformation.nameAtManufacturer", BATCH + "nameAtManufacturer", True),
        *_part_classification("partTypeInformation"),
    ),
))

TEMPLATES = (SERIAL_PART_TEMPLATE, PART_TYPE_INFORMATION_TEMPLATE, BATCH_TEMPLATE)

# SAMM preferredName and (shortened) description of each property and entity, by local name
_TEXTS: dict[str, tuple[str, str]] = {
    "catenaXId": ("Catena-X ID", "The fully anonymous Catena-X ID, valid for the Catena-X dataspace."),
    "localIdentifiers": ("Local Identifiers", "A local identifier enables identification of a part in a specific "
                                              "dataspace, but is not unique in Catena-X dataspace."),
    "KeyValueList": ("Key Value List", "A list of key value pairs for local identifiers."),
    "key": ("Identifier Key", "The key of a local identifier."),
    "value": ("Identifier Value", "The value of an identifier."),
    "manufacturingInformation": ("Manufacturing Information", "Information from manufacturing process, such as "
                                                              "manufacturing date and manufacturing country"),
    "date": ("Production Date", "Timestamp of the manufacturing date as the final step in production process"),
    "country": ("Country code", "Country code where the part was manufactured (ISO 3166-1 alpha-3)"),
    "sites": ("Sites", "Sites related to the part, e.g. where it was produced"),
    "SitesEntity": ("Site Entity", "Describes the ID and function of a site for the associated part in the "
                                   "AsBuilt context"),
    "catenaXsiteId": ("Catena-X site identifier", "The identifier of the site according to Catena-X BPDM (BPNS)"),
    "function": ("Function", "The function of the site in relation to the part"),
    "partTypeInformation": ("Part Type Information", "The part type from which the part has been instantiated"),
    "manufacturerPartId": ("Manufacturer Part ID", "Part ID as assigned by the manufacturer of the part"),
    "customerPartId": ("Customer Part ID", "Part ID as assigned by the customer of the part"),
    "nameAtManufacturer": ("Name at Manufacturer", "Name of the part as assigned by the manufacturer"),
    "nameAtCustomer": ("Name at Customer", "Name of the part as assigned by the customer"),
    "partClassification": ("Part Classification", "Property describing the classification of a part."),
    "ClassificationEntity": ("ClassificationEntity", "Encapsulates data related to the classification of the "
                                                     "part."),
    "classificationStandard": ("Classification Standard", "Identified classification standards that align to the "
                                                          "Catena-X needs."),
    "classificationID": ("Classification ID", "The classification ID of the part type according to the "
                                              "corresponding standard definition."),
    "classificationDescription": ("Classification Description", "Optional property describing the classification "
                                                                "standard."),
    _SITES_PLANNED: ("Part Sites Information as Planned", "Sites related to the part type"),
    "partSitesInformationAsPlannedEntity": ("Part Sites Information as Planned Entity", "Describes the ID, "
                                            "function and validity date of a site for the associated part in the "
                                            "AsPlanned context."),
    "functionValidFrom": ("Function valid from", "Timestamp, from when the site has the specified function for "
                                                 "the given part."),
    "functionValidUntil": ("Function valid until", "Timestamp, until when the site has the specified function for "
                                                   "the given part."),
}


def concept_descriptions() -> list[model.ConceptDescription]:
    """IEC 61360 concept descriptions of the elements of the three aspect templates (URNs as ids)."""
    result: dict[str, model.ConceptDescription] = {}
    for template in TEMPLATES:
        names = {spec.semantic_id: _TEXTS[spec.semantic_id.rsplit("#", 1)[1]]
                 for spec in template.elements if spec.semantic_id}
        for cd in template.concept_descriptions(names):
            result.setdefault(cd.id, cd)
    return list(result.values())
