"""Carbon Footprint (IDTA 02023) as registry templates: ``carbon_footprint`` and ``carbon_footprint_0_9``.

Source: admin-shell-io/submodel-templates, ``published/Carbon Footprint``:

- ``carbon_footprint`` is the current release, IDTA 02023-1-0 (template JSON of its bug-fix release 1.0.2,
  ``1/0/2``): a list ``ProductCarbonFootprints`` of ``ProductCarbonFootprint`` collections, plus the optional
  ``ProductOrSectorSpecificCarbonFootprints``;
- ``carbon_footprint_0_9`` is IDTA 2023-0-9 (``0/9``), which its own README calls a pre-release "not to be used
  productively", incompatible with 1.0: ``ProductCarbonFootprint{00}`` and ``TransportCarbonFootprint{00}``
  collections with ``PCF...``/``TCF...`` elements. Its quirks are kept as published, because they are what
  0.9 readers match on: PublicationDate/ExpirationDate are xs:string, ExpirationDate's semanticId is spelled
  ``ExpirationnDate``, the TCF ExplanatoryStatement has an example.com semanticId.

Both JSONs give the submodel semanticId as published (0.9 as a ModelReference, here an ExternalReference).
The unit of the CO2 equivalents is the one of the template's concept description: ``CO2eq``.
"""

from __future__ import annotations

from basyx.aas import model

from submodels import semantic_ids as sid
from submodels.templates import ARBITRARY, ElementSpec, Template, register

CF = "https://admin-shell.io/idta/CarbonFootprint/"
CARBON_FOOTPRINT = CF + "CarbonFootprint/1/0"
PRODUCT_CARBON_FOOTPRINTS = CF + "ProductCarbonFootprints/1/0"
PRODUCT_CARBON_FOOTPRINT = CF + "ProductCarbonFootprint/1/0"
PCF_CALCULATION_METHODS = CF + "PcfCalculationMethods/1/0"
PCF_CALCULATION_METHOD = "0173-1#02-ABG854#003"
PCF_CO2EQ = "0173-1#02-ABG855#003"
REFERENCE_IMPACT_UNIT = "0173-1#02-ABG856#003"
QUANTITY_OF_MEASURE = "0173-1#02-ABG857#003"
LIFE_CYCLE_PHASES = CF + "LifeCyclePhases/1/0"
LIFE_CYCLE_PHASE = "0173-1#02-ABG858#003"
EXPLANATORY_STATEMENT = CF + "ExplanatoryStatement/1/0"
PUBLICATION_DATE = CF + "PublicationDate/1/0"
EXPIRATION_DATE = CF + "ExpirationDate/1/0"
SECTOR_FOOTPRINTS = CF + "ProductOrSectorSpecificCarbonFootprints/1/0"
SECTOR_FOOTPRINT = CF + "ProductOrSectorSpecificCarbonFootprint/1/0"
SECTOR_RULE = CF + "ProductOrSectorSpecificRule/1/0"
RULE_OPERATOR = CF + "ProductOrSectorSpecificRule/Operator/1/0"
RULE_NAME = CF + "ProductOrSectorSpecificRule/Name/1/0"
RULE_VERSION = CF + "ProductOrSectorSpecificRule/Version/1/0"
RULE_ONLINE_REFERENCE = CF + "ProductOrSectorSpecificRule/OnlineReference/1/0"
EXTERNAL_PCF_API = CF + "ExternalPcfApi/1/0"
PCF_API_ENDPOINT = CF + "ExternalPcfApi/Endpoint/1/0"
PCF_API_QUERY = CF + "ExternalPcfApi/Query/1/0"
PCF_INFORMATION = CF + "PcfInformation/1/0"
# the AddressInformation drop-in (IDTA 02002) used as GoodsHandoverAddress, with its supplemental IDs
ADDRESS_DROP_IN = ("https://admin-shell.io/smt-dropin/smt-dropin-use/1/0", "0112/2///61360_7#AAS002#001",
                   "0173-1#02-AAQ837#008")

_PROP, _MLP, _SMC, _SML = "Property", "MultiLanguageProperty", "SubmodelElementCollection", "SubmodelElementList"
_CO2EQ = "CO2eq"


def _calculation_methods(parent: str) -> list[ElementSpec]:
    return [
        ElementSpec(f"{parent}.PcfCalculationMethods", _SML, None, PCF_CALCULATION_METHODS, True),
        ElementSpec(f"{parent}.PcfCalculationMethods[]", _PROP, "xs:string", PCF_CALCULATION_METHOD, False),
    ]


_PCF = "ProductCarbonFootprints[]"
_SECTOR = "ProductOrSectorSpecificCarbonFootprints[]"
_ADDRESS = f"{_PCF}.GoodsHandoverAddress"

TEMPLATE = register(Template(
    name="carbon_footprint",
    semantic_id=CARBON_FOOTPRINT,
    id_short="CarbonFootprint",
    version="IDTA 02023-1-0",
    elements=(
        ElementSpec("ProductCarbonFootprints", _SML, None, PRODUCT_CARBON_FOOTPRINTS, True),
        ElementSpec(_PCF, _SMC, None, PRODUCT_CARBON_FOOTPRINT, False),
        *_calculation_methods(_PCF),
        ElementSpec(f"{_PCF}.PcfCO2eq", _PROP, "xs:decimal", PCF_CO2EQ, True, unit=_CO2EQ),
        ElementSpec(f"{_PCF}.ReferenceImpactUnitForCalculation", _PROP, "xs:string", REFERENCE_IMPACT_UNIT, True),
        ElementSpec(f"{_PCF}.QuantityOfMeasureForCalculation", _PROP, "xs:double", QUANTITY_OF_MEASURE, True),
        ElementSpec(f"{_PCF}.LifeCyclePhases", _SML, None, LIFE_CYCLE_PHASES, True),
        ElementSpec(f"{_PCF}.LifeCyclePhases[]", _PROP, "xs:string", LIFE_CYCLE_PHASE, False),
        ElementSpec(f"{_PCF}.ExplanatoryStatement", "File", None, EXPLANATORY_STATEMENT, False),
        ElementSpec(_ADDRESS, _SMC, None, sid.ADDRESS_INFORMATION, False, supplemental_semantic_ids=ADDRESS_DROP_IN),
        ElementSpec(f"{_ADDRESS}.Street", _MLP, None, sid.STREET, False),
        ElementSpec(f"{_ADDRESS}.Zipcode", _MLP, None, sid.ZIPCODE, False),
        ElementSpec(f"{_ADDRESS}.CityTown", _MLP, None, sid.CITY_TOWN, False),
        ElementSpec(f"{_ADDRESS}.NationalCode", _MLP, None, sid.NATIONAL_CODE, False),
        ElementSpec(f"{_ADDRESS}.{ARBITRARY}", "SubmodelElement", None, None, False),  # rest of the drop-in
        ElementSpec(f"{_PCF}.PublicationDate", _PROP, "xs:dateTime", PUBLICATION_DATE, True),
        ElementSpec(f"{_PCF}.ExpirationDate", _PROP, "xs:dateTime", EXPIRATION_DATE, False),
        ElementSpec("ProductOrSectorSpecificCarbonFootprints", _SML, None, SECTOR_FOOTPRINTS, False),
        ElementSpec(_SECTOR, _SMC, None, SECTOR_FOOTPRINT, False),
        *_calculation_methods(_SECTOR),
        ElementSpec(f"{_SECTOR}.ProductOrSectorSpecificRule", _SMC, None, SECTOR_RULE, True),
        ElementSpec(f"{_SECTOR}.ProductOrSectorSpecificRule.PcfRuleOperator", _PROP, "xs:string", RULE_OPERATOR,
                    True),
        ElementSpec(f"{_SECTOR}.ProductOrSectorSpecificRule.PcfRuleName", _PROP, "xs:string", RULE_NAME, True),
        ElementSpec(f"{_SECTOR}.ProductOrSectorSpecificRule.PcfRuleVersion", _PROP, "xs:string", RULE_VERSION,
                    False),
        ElementSpec(f"{_SECTOR}.ProductOrSectorSpecificRule.PcfRuleOnlineReference", "File", None,
                    RULE_ONLINE_REFERENCE, False),
        ElementSpec(f"{_SECTOR}.ExternalPcfApi", _SMC, None, EXTERNAL_PCF_API, False),
        ElementSpec(f"{_SECTOR}.ExternalPcfApi.PcfApiEndpoint", _PROP, "xs:anyURI", PCF_API_ENDPOINT, True),
        ElementSpec(f"{_SECTOR}.ExternalPcfApi.PcfApiQuery", _PROP, "xs:string", PCF_API_QUERY, True),
        ElementSpec(f"{_SECTOR}.PcfInformation", _SMC, None, PCF_INFORMATION, True),
        ElementSpec(f"{_SECTOR}.PcfInformation.{ARBITRARY}", "SubmodelElement", None, None, False),
    ),
))

# -- IDTA 2023-0-9 (pre-release) ------------------------------------------------------------------------------

CARBON_FOOTPRINT_0_9 = CF + "CarbonFootprint/0/9"
PRODUCT_CARBON_FOOTPRINT_0_9 = CF + "ProductCarbonFootprint/0/9"
TRANSPORT_CARBON_FOOTPRINT_0_9 = CF + "TransportCarbonFootprint/0/9"
EXPIRATION_DATE_0_9 = CF + "ExpirationnDate/1/0"  # sic, as published in 0.9
TCF_EXPLANATORY_STATEMENT_0_9 = "https://example.com/ids/cd/3291_7022_2032_0718"  # sic, as published in 0.9


def _address_0_9(path: str, semantic_id: str) -> list[ElementSpec]:
    return [
        ElementSpec(path, _SMC, None, semantic_id, True),
        ElementSpec(f"{path}.Street", _PROP, "xs:string", "0173-1#02-ABH956#001", False),
        ElementSpec(f"{path}.HouseNumber", _PROP, "xs:string", "0173-1#02-ABH957#001", False),
        ElementSpec(f"{path}.ZipCode", _PROP, "xs:string", "0173-1#02-ABH958#001", False),
        ElementSpec(f"{path}.CityTown", _PROP, "xs:string", "0173-1#02-ABH959#001", False),
        ElementSpec(f"{path}.Country", _PROP, "xs:string", "0173-1#02-AAO259#005", False),
    ]


def _dates_0_9(parent: str) -> list[ElementSpec]:
    return [
        ElementSpec(f"{parent}.PublicationDate", _PROP, "xs:string", PUBLICATION_DATE, True),
        ElementSpec(f"{parent}.ExpirationDate", _PROP, "xs:string", EXPIRATION_DATE_0_9, False),
    ]


_PCF_0_9 = "ProductCarbonFootprint{00}"
_TCF_0_9 = "TransportCarbonFootprint{00}"

TEMPLATE_0_9 = register(Template(
    name="carbon_footprint_0_9",
    semantic_id=CARBON_FOOTPRINT_0_9,
    id_short="CarbonFootprint",
    version="IDTA 2023-0-9",
    elements=(
        ElementSpec(_PCF_0_9, _SMC, None, PRODUCT_CARBON_FOOTPRINT_0_9, False),
        ElementSpec(f"{_PCF_0_9}.PCFCalculationMethod{{00}}", _PROP, "xs:string", "0173-1#02-ABG854#001", True),
        ElementSpec(f"{_PCF_0_9}.PCFCO2eq", _PROP, "xs:double", "0173-1#02-ABG855#001", True, unit=_CO2EQ),
        ElementSpec(f"{_PCF_0_9}.PCFReferenceValueForCalculation", _PROP, "xs:string", "0173-1#02-ABG856#001",
                    True),
        ElementSpec(f"{_PCF_0_9}.PCFQuantityOfMeasureForCalculation", _PROP, "xs:double", "0173-1#02-ABG857#001",
                    True),
        ElementSpec(f"{_PCF_0_9}.PCFLifeCyclePhase{{00}}", _PROP, "xs:string", "0173-1#02-ABG858#001", True),
        ElementSpec(f"{_PCF_0_9}.ExplanatoryStatement", "File", None, EXPLANATORY_STATEMENT, False),
        *_address_0_9(f"{_PCF_0_9}.PCFGoodsAddressHandover", "0173-1#02-ABI497#001"),
        *_dates_0_9(_PCF_0_9),
        ElementSpec(_TCF_0_9, _SMC, None, TRANSPORT_CARBON_FOOTPRINT_0_9, False),
        ElementSpec(f"{_TCF_0_9}.TCFCalculationMethod", _PROP, "xs:string", "0173-1#02-ABG859#001", True),
        ElementSpec(f"{_TCF_0_9}.TCFCO2eq", _PROP, "xs:double", "0173-1#02-ABG860#001", True),
        ElementSpec(f"{_TCF_0_9}.TCFReferenceValueForCalculation", _PROP, "xs:string", "0173-1#02-ABG861#001",
                    True),
        ElementSpec(f"{_TCF_0_9}.TCFQuantityOfMeasureForCalculation", _PROP, "xs:double", "0173-1#02-ABG862#001",
                    True),
        ElementSpec(f"{_TCF_0_9}.TCFProcessesForGreenhouseGasEmissionInATransportService{{00}}", _PROP, "xs:string",
                    "0173-1#02-ABG863#001", True),
        ElementSpec(f"{_TCF_0_9}.ExplanatoryStatement", "File", None, TCF_EXPLANATORY_STATEMENT_0_9, False),
        *_address_0_9(f"{_TCF_0_9}.TCFGoodsTransportAddressTakeover", "0173-1#02-ABI499#001"),
        *_address_0_9(f"{_TCF_0_9}.TCFGoodsTransportAddressHandover", "0173-1#02-ABI498#001"),
        *_dates_0_9(_TCF_0_9),
    ),
))

# English preferred names and definitions, from the templates' concept descriptions
_NAMES: dict[str, str | tuple[str, str]] = {
    PRODUCT_CARBON_FOOTPRINTS: ("product carbon footprints", "Balance of greenhouse gas emissions along the entire "
                                                             "life cycle of a product"),
    PRODUCT_CARBON_FOOTPRINT: ("product carbon footprint", "Balance of greenhouse gas emissions along the entire "
                                                           "life cycle of a product in a defined application and in "
                                                           "relation to a defined unit of use"),
    PCF_CALCULATION_METHODS: ("impact assessment methods", "Standards, methods for determining the greenhouse gas "
                                                           "emissions of a product"),
    PCF_CALCULATION_METHOD: ("impact assessment method / calculation method", "standard, method for determining "
                                                                              "the greenhouse gas emissions of a "
                                                                              "product"),
    PCF_CO2EQ: ("CO2 equivalent - total (for PCF and LCA)", "sum of all greenhouse gas emissions of a product "
                                                            "according to the quantification requirements of the "
                                                            "standard"),
    REFERENCE_IMPACT_UNIT: ("reference value for calculation", "Quantity unit of the product to which the PCF "
                                                               "information on the CO2 footprint refers"),
    QUANTITY_OF_MEASURE: ("quantity of measure for calculation", "provides the quantity number of pieces or mass "
                                                                 "or volume to compute the impact of climate "
                                                                 "change or product carbon footprint"),
    LIFE_CYCLE_PHASES: ("life cycle phases", "List of life cycle stages of the product to which the PCF "
                                             "statement refers"),
    LIFE_CYCLE_PHASE: ("life cycle phase", "life cycle stages of the product according to the quantification "
                                           "requirements of the standard to which the PCF statement refers"),
    EXPLANATORY_STATEMENT: ("explanatory statement", "Explanation required or provided to ensure that a footprint "
                                                     "communication can be properly understood"),
    PUBLICATION_DATE: ("publication date", "The UTC timestamp on which a Product Carbon Footprint was created "
                                           "and published"),
    EXPIRATION_DATE: ("expiration date", "End date up to which a study or data collection for calculating an "
                                         "ecological footprint is considered current and valid"),
    SECTOR_FOOTPRINTS: ("product or sector specific carbon footprints", "Product carbon footprints determined in "
                                                                        "accordance with sector or product group "
                                                                        "specific rules"),
    SECTOR_FOOTPRINT: ("product or sector specific carbon footprint", "Product carbon footprint determined in "
                                                                      "accordance with sector or product group "
                                                                      "specific rules or guidelines"),
    SECTOR_RULE: ("product or sector specific rule", "Further information on the product-specific or "
                                                     "sector-specific rule used to calculate the carbon footprint"),
    RULE_OPERATOR: ("operator of the PCF calculation method", "Organization that defines and implements specific "
                                                              "instructions and methods for calculating the carbon "
                                                              "footprint of a product or sector"),
    RULE_NAME: ("name of the PCF calculation method", "Name of the rule used to calculate the carbon footprint"),
    RULE_VERSION: ("version of the PCF calculation method", "Specific version or revision of the rule used to "
                                                            "calculate the carbon footprint of a product"),
    RULE_ONLINE_REFERENCE: ("online reference to the PCF calculation method", "Document with the PCF calculation "
                                                                              "methodology"),
    EXTERNAL_PCF_API: ("external API for PCF information", "An external service that provides carbon footprint "
                                                           "information via an interface"),
    PCF_API_ENDPOINT: ("endpoint", "URL of the external service providing carbon footprint data"),
    PCF_API_QUERY: ("query", "Query that retrieves the carbon footprint data from the external service"),
    PCF_INFORMATION: ("PCF information", "Further content according to the calculation method for the product "
                                         "carbon footprint"),
    sid.ADDRESS_INFORMATION: ("goods handover address", "Hand-over address of the goods transport"),
    sid.STREET: ("street", "street name and house number"),
    sid.ZIPCODE: ("ZIP code", "ZIP code of the address"),
    sid.CITY_TOWN: ("city/town", "town or city of the address"),
    sid.NATIONAL_CODE: ("national code", "code of the country of the address"),
}


def concept_descriptions() -> list[model.ConceptDescription]:
    """IEC 61360 concept descriptions of the elements of ``carbon_footprint`` (IDTA 02023-1-0)."""
    return TEMPLATE.concept_descriptions(_NAMES)
