"""Technical Data (IDTA 02003-1-2) and Bill of Material (IDTA 02011-1-0) builders for centrifugal pumps."""

import datetime
from dataclasses import dataclass

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import semantic_ids as sid
from submodels.concept_descriptions import build_concept_descriptions
from submodels.templates import ARBITRARY, ElementSpec, Template, register


@dataclass(frozen=True)
class RatedValues:
    """Design point of a pump, the TechnicalProperties of the submodel."""

    flow_rate_m3h: float
    head_m: float
    power_kw: float
    speed_rpm: int
    medium_temperature_c: tuple[float, float]


def _prop(id_short: str, semantic_id: str, value, value_type=str) -> model.Property:
    return model.Property(id_short, value_type, value, semantic_id=sid.ref(semantic_id))


def _collection(id_short: str, semantic_id: str, elements) -> model.SubmodelElementCollection:
    return model.SubmodelElementCollection(id_short, elements, semantic_id=sid.ref(semantic_id))


def build_technical_data(
    asset_id_short: str,
    sm_id: str,
    *,
    manufacturer: str,
    designation: dict[str, str],
    article_number: str,
    order_code: str,
    product_image: str,
    rated: RatedValues,
    valid_from: datetime.date,
) -> model.Submodel:
    """Technical data of a pump (type or instance) with its rated operating point."""
    general = _collection("GeneralInformation", sid.GENERAL_INFORMATION, [
        _prop("ManufacturerName", sid.TD_MANUFACTURER_NAME, manufacturer),
        model.MultiLanguageProperty(
            "ManufacturerProductDesignation",
            model.MultiLanguageTextType(designation),
            semantic_id=sid.ref(sid.TD_MANUFACTURER_PRODUCT_DESIGNATION),
        ),
        _prop("ManufacturerArticleNumber", sid.TD_MANUFACTURER_ARTICLE_NUMBER, article_number),
        _prop("ManufacturerOrderCode", sid.TD_MANUFACTURER_ORDER_CODE, order_code),
        model.File("ProductImage", "image/png", product_image, semantic_id=sid.ref(sid.PRODUCT_IMAGE)),
    ])
    # No ECLASS class for this pump could be confirmed, so it is classified in the maker's own catalogue.
    classifications = _collection("ProductClassifications", sid.PRODUCT_CLASSIFICATIONS, [
        _collection("ProductClassificationItem01", sid.PRODUCT_CLASSIFICATION_ITEM, [
            _prop("ProductClassificationSystem", sid.PRODUCT_CLASSIFICATION_SYSTEM, f"{manufacturer} catalogue"),
            _prop("ClassificationSystemVersion", sid.CLASSIFICATION_SYSTEM_VERSION, "2024"),
            _prop("ProductClassId", sid.PRODUCT_CLASS_ID, "PUMPS/CENTRIFUGAL/END-SUCTION"),
        ]),
    ])
    low, high = rated.medium_temperature_c
    properties = _collection("TechnicalProperties", sid.TECHNICAL_PROPERTIES, [
        _prop("RatedFlowRate", sid.RATED_FLOW_RATE, rated.flow_rate_m3h, float),
        _prop("RatedHead", sid.RATED_HEAD, rated.head_m, float),
        _prop("RatedPower", sid.RATED_POWER, rated.power_kw, float),
        _prop("RatedSpeed", sid.RATED_SPEED, rated.speed_rpm, int),
        model.Range("PermissibleMediumTemperature", float, low, high, semantic_id=sid.ref(sid.MEDIUM_TEMPERATURE)),
    ])
    further = _collection("FurtherInformation", sid.FURTHER_INFORMATION, [
        model.MultiLanguageProperty(
            "TextStatement01",
            model.MultiLanguageTextType({
                "en": "Rated values apply to water at 20 °C.",
                "de": "Nennwerte gelten für Wasser bei 20 °C.",
            }),
            semantic_id=sid.ref(sid.TEXT_STATEMENT),
        ),
        _prop("ValidDate", sid.VALID_DATE, valid_from, datatypes.Date),
    ])
    return model.Submodel(
        sm_id,
        [general, classifications, properties, further],
        id_short="TechnicalData",
        description=model.MultiLanguageTextType(
            {"en": f"Technical data of {asset_id_short}", "de": f"Technische Daten von {asset_id_short}"}
        ),
        semantic_id=sid.ref(sid.TECHNICAL_DATA),
    )


def _entity_ref(sm_id: str, *path: str) -> model.ModelReference:
    keys = [model.Key(model.KeyTypes.SUBMODEL, sm_id)]
    keys += [model.Key(model.KeyTypes.ENTITY, id_short) for id_short in path]
    return model.ModelReference(tuple(keys), model.Entity)


def build_bill_of_material(
    asset_id_short: str,
    sm_id: str,
    *,
    asset_id: str,
    serial: str,
    motor_asset_id: str,
    motor_serial: str,
    impeller_asset_id: str,
    impeller_part_number: str,
    impeller_material: str,
) -> model.Submodel:
    """Pump made of a motor and an impeller, both identified assets of their own.

    All entities are SelfManagedEntities with specificAssetIds: basyx-python-sdk 2.2.0 serializes an Entity
    without them as "specificAssetIds": [], which the AAS JSON schema forbids, and a CoManagedEntity must
    not have any.
    """
    motor = model.Entity(
        "Motor",
        model.EntityType.SELF_MANAGED_ENTITY,
        global_asset_id=motor_asset_id,
        specific_asset_id=(model.SpecificAssetId("serialNumber", motor_serial),),
        semantic_id=sid.ref(sid.NODE),
    )
    impeller = model.Entity(
        "Impeller",
        model.EntityType.SELF_MANAGED_ENTITY,
        statement=(_prop("Material", sid.MATERIAL, impeller_material),),
        global_asset_id=impeller_asset_id,
        specific_asset_id=(model.SpecificAssetId("manufacturerPartId", impeller_part_number),),
        semantic_id=sid.ref(sid.NODE),
    )
    pump_ref = _entity_ref(sm_id, "Pump")
    motor_ref = _entity_ref(sm_id, "Pump", "Motor")
    impeller_ref = _entity_ref(sm_id, "Pump", "Impeller")
    pump = model.Entity(
        "Pump",
        model.EntityType.SELF_MANAGED_ENTITY,
        global_asset_id=asset_id,
        specific_asset_id=(model.SpecificAssetId("serialNumber", serial),),
        statement=(
            motor,
            impeller,
            model.RelationshipElement("HasPart_Motor", pump_ref, motor_ref, semantic_id=sid.ref(sid.HAS_PART)),
            model.RelationshipElement("HasPart_Impeller", pump_ref, impeller_ref, semantic_id=sid.ref(sid.HAS_PART)),
            model.AnnotatedRelationshipElement(
                "MotorDrivesImpeller",
                motor_ref,
                impeller_ref,
                annotation=(_prop("CouplingType", sid.COUPLING_TYPE, "close-coupled shaft"),),
                semantic_id=sid.ref(sid.DRIVES),
            ),
        ),
        semantic_id=sid.ref(sid.ENTRY_NODE),
    )
    return model.Submodel(
        sm_id,
        [pump, _prop("ArcheType", sid.ARCHE_TYPE, "Full")],
        id_short="BillOfMaterial",
        description=model.MultiLanguageTextType(
            {"en": f"Bill of material of {asset_id_short}", "de": f"Stückliste von {asset_id_short}"}
        ),
        semantic_id=sid.ref(sid.HIERARCHICAL_STRUCTURES),
    )


# -- registry entry (submodels.templates) ---------------------------------------------------------------------
# Elements and cardinalities of IDTA 02003-1-2 as in the template JSON of admin-shell-io/submodel-templates
# (published/Technical_Data/1/2). TechnicalProperties is free in the template; the pump quantities the builder
# above writes are listed (our custom IRIs, units from concept_descriptions.py), anything else is accepted.
MANUFACTURER_LOGO = "https://admin-shell.io/ZVEI/TechnicalData/ManufacturerLogo/1/1"
_CUSTOM = {cd.id: cd for cd in build_concept_descriptions()}
_P, _SMC = "Property", "SubmodelElementCollection"


def _quantity(id_short: str, semantic_id: str, value_type: str, model_type: str = _P) -> ElementSpec:
    content = _CUSTOM[semantic_id].embedded_data_specifications[0].data_specification_content
    unit = content.unit if isinstance(content, model.DataSpecificationIEC61360) else None
    return ElementSpec(f"TechnicalProperties.{id_short}", model_type, value_type, semantic_id, False, unit=unit)


TEMPLATE = register(Template(
    name="technical_data",
    semantic_id=sid.TECHNICAL_DATA,
    id_short="TechnicalData",
    version="IDTA 02003-1-2",
    elements=(
        ElementSpec("GeneralInformation", _SMC, None, sid.GENERAL_INFORMATION, True),
        ElementSpec("GeneralInformation.ManufacturerName", _P, "xs:string", sid.TD_MANUFACTURER_NAME, True),
        ElementSpec("GeneralInformation.ManufacturerLogo", "File", None, MANUFACTURER_LOGO, False),
        ElementSpec("GeneralInformation.ManufacturerProductDesignation", "MultiLanguageProperty", None,
                    sid.TD_MANUFACTURER_PRODUCT_DESIGNATION, True),
        ElementSpec("GeneralInformation.ManufacturerArticleNumber", _P, "xs:string", sid.TD_MANUFACTURER_ARTICLE_NUMBER,
                    True),
        ElementSpec("GeneralInformation.ManufacturerOrderCode", _P, "xs:string", sid.TD_MANUFACTURER_ORDER_CODE, True),
        ElementSpec("GeneralInformation.ProductImage{00}", "File", None, sid.PRODUCT_IMAGE, False),
        ElementSpec("ProductClassifications", _SMC, None, sid.PRODUCT_CLASSIFICATIONS, False),
        ElementSpec("ProductClassifications.ProductClassificationItem{00}", _SMC, None,
                    sid.PRODUCT_CLASSIFICATION_ITEM, False),
        ElementSpec("ProductClassifications.ProductClassificationItem{00}.ProductClassificationSystem", _P,
                    "xs:string", sid.PRODUCT_CLASSIFICATION_SYSTEM, True),
        ElementSpec("ProductClassifications.ProductClassificationItem{00}.ClassificationSystemVersion", _P,
                    "xs:string", sid.CLASSIFICATION_SYSTEM_VERSION, False),
        ElementSpec("ProductClassifications.ProductClassificationItem{00}.ProductClassId", _P, "xs:string",
                    sid.PRODUCT_CLASS_ID, True),
        ElementSpec("TechnicalProperties", _SMC, None, sid.TECHNICAL_PROPERTIES, True),
        _quantity("RatedFlowRate", sid.RATED_FLOW_RATE, "xs:double"),
        _quantity("RatedHead", sid.RATED_HEAD, "xs:double"),
        _quantity("RatedPower", sid.RATED_POWER, "xs:double"),
        _quantity("RatedSpeed", sid.RATED_SPEED, "xs:integer"),
        _quantity("PermissibleMediumTemperature", sid.MEDIUM_TEMPERATURE, "xs:double", "Range"),
        ElementSpec(f"TechnicalProperties.{ARBITRARY}", "SubmodelElement", None, None, False),
        ElementSpec("FurtherInformation", _SMC, None, sid.FURTHER_INFORMATION, False),
        ElementSpec("FurtherInformation.TextStatement{00}", "MultiLanguageProperty", None, sid.TEXT_STATEMENT, False),
        ElementSpec("FurtherInformation.ValidDate", _P, "xs:date", sid.VALID_DATE, True),
    ),
))

_NAMES = {
    sid.GENERAL_INFORMATION: ("general information", "General information, for example ordering and manufacturer "
                                                     "information"),
    sid.TD_MANUFACTURER_NAME: ("manufacturer name", "Legally valid designation of the natural or judicial body "
                                                    "which is directly responsible for the design, production, "
                                                    "packaging and labeling of a product"),
    MANUFACTURER_LOGO: ("manufacturer logo", "Imagefile for logo of manufacturer provided in common format"),
    sid.TD_MANUFACTURER_PRODUCT_DESIGNATION: ("manufacturer product designation", "Short description of the "
                                                                                  "product, product group or "
                                                                                  "function in common language"),
    sid.TD_MANUFACTURER_ARTICLE_NUMBER: ("manufacturer article number", "unique product identifier of the "
                                                                        "manufacturer"),
    sid.TD_MANUFACTURER_ORDER_CODE: ("manufacturer order code", "By manufactures issued unique combination of "
                                                                "numbers and letters used to identify the device "
                                                                "for ordering"),
    sid.PRODUCT_IMAGE: ("product image", "Image file for associated product provided in common format"),
    sid.PRODUCT_CLASSIFICATIONS: ("product classifications", "Product classifications by association of product "
                                                             "classes with common classification systems"),
    sid.PRODUCT_CLASSIFICATION_ITEM: ("product classification item", "Single product classification item by "
                                                                     "association with product class in a "
                                                                     "particular classification system"),
    sid.PRODUCT_CLASSIFICATION_SYSTEM: ("product classification system", "Common name of the classification "
                                                                          "system"),
    sid.CLASSIFICATION_SYSTEM_VERSION: ("classification system version", "Common version identifier of the "
                                                                         "used classification system"),
    sid.PRODUCT_CLASS_ID: ("product class ID", "Class of the associated product or industrial equipment in the "
                                               "classification system"),
    sid.TECHNICAL_PROPERTIES: ("technical properties", "Individual characteristics that describe the product and "
                                                       "its technical properties"),
    sid.FURTHER_INFORMATION: ("further information", "Further information on the product, the validity of the "
                                                     "information provided and this data record"),
    sid.TEXT_STATEMENT: ("text statement", "Statement by the manufacturer in text form, e.g. scope of validity of "
                                           "the statements, scopes of application, conditions of operation"),
    sid.VALID_DATE: ("valid date", "Denotes a date on which the data specified in the Submodel was valid from for "
                                   "the associated asset"),
}


def concept_descriptions() -> list[model.ConceptDescription]:
    """IEC 61360 concept descriptions of the template's elements, plus those of the listed pump quantities."""
    listed = {spec.semantic_id for spec in TEMPLATE.elements}
    return [*TEMPLATE.concept_descriptions(_NAMES, skip_prefix=sid.CUSTOM),
            *(cd for cd_id, cd in _CUSTOM.items() if cd_id in listed)]
