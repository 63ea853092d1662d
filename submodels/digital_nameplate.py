"""Digital Nameplate (IDTA 02006-3-0) builder for pumps and pump types."""

import datetime
from dataclasses import dataclass

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import semantic_ids as sid
from submodels.templates import ARBITRARY, ElementSpec, Template, register


@dataclass(frozen=True)
class Address:
    """Manufacturer address, the AddressInformation drop-in of the nameplate."""

    street: str
    zipcode: str
    city: str
    national_code: str


def _semantics(ids: tuple[str, str]) -> dict:
    """Nameplate 3.0 elements carry the IEC CDD IRDI as semanticId and ECLASS as supplemental one."""
    primary, supplemental = ids
    return {"semantic_id": sid.ref(primary), "supplemental_semantic_id": (sid.ref(supplemental),)}


def _prop(id_short: str, ids: tuple[str, str], value, value_type=str) -> model.Property:
    return model.Property(id_short, value_type, value, **_semantics(ids))


def _mlp(id_short: str, text: dict[str, str], **semantics) -> model.MultiLanguageProperty:
    return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType(text), **semantics)


def _address(address: Address) -> model.SubmodelElementCollection:
    return model.SubmodelElementCollection(
        "AddressInformation",
        [
            _mlp("Street", {"de": address.street}, semantic_id=sid.ref(sid.STREET)),
            _mlp("Zipcode", {"de": address.zipcode}, semantic_id=sid.ref(sid.ZIPCODE)),
            _mlp("CityTown", {"de": address.city}, semantic_id=sid.ref(sid.CITY_TOWN)),
            _mlp("NationalCode", {"de": address.national_code}, semantic_id=sid.ref(sid.NATIONAL_CODE)),
        ],
        semantic_id=sid.ref(sid.ADDRESS_INFORMATION),
    )


def _ce_markings(marking_file: str) -> model.SubmodelElementList:
    marking = model.SubmodelElementCollection(
        None,
        [
            _prop("MarkingName", sid.MARKING_NAME, sid.MARKING_NAME_CE),
            model.File("MarkingFile", "image/png", marking_file, **_semantics(sid.MARKING_FILE)),
        ],
        **_semantics(sid.MARKING),
    )
    return model.SubmodelElementList(
        "Markings",
        model.SubmodelElementCollection,
        [marking],
        semantic_id_list_element=sid.ref(sid.MARKING[0]),
        **_semantics(sid.MARKINGS),
    )


def build_nameplate(
    asset_id_short: str,
    sm_id: str,
    *,
    manufacturer: str,
    address: Address,
    product_uri: str,
    designation: dict[str, str],
    product_family: str,
    product_type: str,
    order_code: str,
    article_number: str,
    marking_file: str,
    serial: str | None = None,
    date_of_manufacture: datetime.date | None = None,
    country_of_origin: str = "DE",
) -> model.Submodel:
    """Nameplate of a pump instance, or of a pump type when serial and date are left out."""
    elements = [
        _prop("URIOfTheProduct", sid.URI_OF_THE_PRODUCT, datatypes.AnyURI(product_uri), datatypes.AnyURI),
        _mlp("ManufacturerName", {"en": manufacturer, "de": manufacturer}, **_semantics(sid.MANUFACTURER_NAME)),
        _mlp("ManufacturerProductDesignation", designation, **_semantics(sid.MANUFACTURER_PRODUCT_DESIGNATION)),
        _address(address),
        _mlp("ManufacturerProductFamily", {"en": product_family}, **_semantics(sid.MANUFACTURER_PRODUCT_FAMILY)),
        _prop("ManufacturerProductType", sid.MANUFACTURER_PRODUCT_TYPE, product_type),
        _prop("OrderCodeOfManufacturer", sid.ORDER_CODE_OF_MANUFACTURER, order_code),
        _prop("ProductArticleNumberOfManufacturer", sid.PRODUCT_ARTICLE_NUMBER_OF_MANUFACTURER, article_number),
    ]
    if serial is not None:
        elements.append(_prop("SerialNumber", sid.SERIAL_NUMBER, serial))
    if date_of_manufacture is not None:
        elements += [
            # The template types YearOfConstruction as xs:string.
            _prop("YearOfConstruction", sid.YEAR_OF_CONSTRUCTION, str(date_of_manufacture.year)),
            _prop("DateOfManufacture", sid.DATE_OF_MANUFACTURE, date_of_manufacture, datatypes.Date),
        ]
    elements += [
        _prop("CountryOfOrigin", sid.COUNTRY_OF_ORIGIN, country_of_origin),
        _ce_markings(marking_file),
    ]
    return model.Submodel(
        sm_id,
        elements,
        id_short="Nameplate",
        description=model.MultiLanguageTextType(
            {"en": f"Digital nameplate of {asset_id_short}", "de": f"Digitales Typenschild von {asset_id_short}"}
        ),
        semantic_id=sid.ref(sid.NAMEPLATE),
    )


# -- registry entry (submodels.templates) ---------------------------------------------------------------------
# Elements and cardinalities of IDTA 02006-3-0 as in the template JSON of admin-shell-io/submodel-templates
# (published/Digital nameplate/3/0, bug-fix release 3.0.2). IDs the builder above does not use are written here
# from the same JSON: (IEC CDD semanticId, ECLASS supplementalSemanticId).
MANUFACTURER_PRODUCT_ROOT = ("0112/2///61360_7#AAS011#001", "0173-1#02-AAU732#003")
HARDWARE_VERSION = ("0112/2///61987#ABA926#008", "0173-1#02-AAN270#004")
FIRMWARE_VERSION = ("0112/2///61987#ABA302#006", "0173-1#02-AAM985#004")
SOFTWARE_VERSION = ("0112/2///61987#ABA601#008", "0173-1#02-AAM737#004")
UNIQUE_FACILITY_IDENTIFIER = "https://admin-shell.io/idta/nameplate/3/0/UniqueFacilityIdentifier"
COMPANY_LOGO = ("0112/2///61987#ABP463#001", "0173-1#02-ABI776#002")
DESIGNATION_OF_CERTIFICATE = ("0112/2///61987#ABH783#003", "0173-1#02-ABI975#002")
ISSUE_DATE = ("0112/2///61987#ABO097#001", "0173-1#02-ABL774#001")
EXPIRY_DATE = ("0112/2///61987#ABH830#002", "0173-1#02-ABL775#001")
MARKING_ADDITIONAL_TEXT = ("0112/2///61987#ABB146#007", "0173-1#02-ABI192#003")
ASSET_SPECIFIC_PROPERTIES = "0173-1#02-ABI218#003/0173-1#01-AGZ672#004"
ADDRESS_DROP_IN = ("https://admin-shell.io/smt-dropin/smt-dropin-use/1/0", "0112/2///61360_7#AAS002#001",
                   "0173-1#02-AAQ837#008/0173-1#01-ADR448#008")


def _spec(path: str, model_type: str, value_type: str | None, ids: tuple[str, str] | str | None, required: bool,
          **extra) -> ElementSpec:
    primary, supplemental = (ids, ()) if not isinstance(ids, tuple) else (ids[0], (ids[1],))
    return ElementSpec(path, model_type, value_type, primary, required, supplemental_semantic_ids=supplemental,
                       **extra)


_P, _MLP, _SMC = "Property", "MultiLanguageProperty", "SubmodelElementCollection"

TEMPLATE = register(Template(
    name="nameplate",
    semantic_id=sid.NAMEPLATE,
    id_short="Nameplate",
    version="IDTA 02006-3-0",
    elements=(
        _spec("URIOfTheProduct", _P, "xs:anyURI", sid.URI_OF_THE_PRODUCT, True),
        _spec("ManufacturerName", _MLP, None, sid.MANUFACTURER_NAME, True),
        _spec("ManufacturerProductDesignation", _MLP, None, sid.MANUFACTURER_PRODUCT_DESIGNATION, True),
        ElementSpec("AddressInformation", _SMC, None, sid.ADDRESS_INFORMATION, True,
                    supplemental_semantic_ids=ADDRESS_DROP_IN),
        _spec("AddressInformation.Street", _MLP, None, sid.STREET, False),
        _spec("AddressInformation.Zipcode", _MLP, None, sid.ZIPCODE, False),
        _spec("AddressInformation.CityTown", _MLP, None, sid.CITY_TOWN, False),
        _spec("AddressInformation.NationalCode", _MLP, None, sid.NATIONAL_CODE, False),
        _spec(f"AddressInformation.{ARBITRARY}", "SubmodelElement", None, None, False),  # rest of the drop-in
        _spec("ManufacturerProductRoot", _MLP, None, MANUFACTURER_PRODUCT_ROOT, False),
        _spec("ManufacturerProductFamily", _MLP, None, sid.MANUFACTURER_PRODUCT_FAMILY, False),
        _spec("ManufacturerProductType", _P, "xs:string", sid.MANUFACTURER_PRODUCT_TYPE, False),
        _spec("OrderCodeOfManufacturer", _P, "xs:string", sid.ORDER_CODE_OF_MANUFACTURER, True),
        _spec("ProductArticleNumberOfManufacturer", _P, "xs:string", sid.PRODUCT_ARTICLE_NUMBER_OF_MANUFACTURER,
              False),
        _spec("SerialNumber", _P, "xs:string", sid.SERIAL_NUMBER, False),
        _spec("YearOfConstruction", _P, "xs:string", sid.YEAR_OF_CONSTRUCTION, False),
        _spec("DateOfManufacture", _P, "xs:date", sid.DATE_OF_MANUFACTURE, False),
        _spec("HardwareVersion", _P, "xs:string", HARDWARE_VERSION, False),
        _spec("FirmwareVersion", _P, "xs:string", FIRMWARE_VERSION, False),
        _spec("SoftwareVersion", _P, "xs:string", SOFTWARE_VERSION, False),
        _spec("CountryOfOrigin", _P, "xs:string", sid.COUNTRY_OF_ORIGIN, False),
        _spec("UniqueFacilityIdentifier", _P, "xs:string", UNIQUE_FACILITY_IDENTIFIER, False),
        _spec("CompanyLogo", "File", None, COMPANY_LOGO, False),
        _spec("Markings", "SubmodelElementList", None, sid.MARKINGS, False),
        _spec("Markings[]", _SMC, None, sid.MARKING, False),
        _spec("Markings[].MarkingName", _P, "xs:string", sid.MARKING_NAME, True),
        _spec("Markings[].DesignationOfCertificateOrApproval", _P, "xs:string", DESIGNATION_OF_CERTIFICATE, False),
        _spec("Markings[].IssueDate", _P, "xs:date", ISSUE_DATE, False),
        _spec("Markings[].ExpiryDate", _P, "xs:date", EXPIRY_DATE, False),
        _spec("Markings[].MarkingFile", "File", None, sid.MARKING_FILE, True),
        _spec("Markings[].MarkingAdditionalText{00}", _P, "xs:string", MARKING_ADDITIONAL_TEXT, False),
        _spec("AssetSpecificProperties", _SMC, None, ASSET_SPECIFIC_PROPERTIES, False),
        _spec(f"AssetSpecificProperties.{ARBITRARY}", "SubmodelElement", None, None, False),
    ),
))

_NAMES = {
    sid.URI_OF_THE_PRODUCT[0]: ("URI of the product", "unique global identification of the product using a "
                                                      "universal resource identifier (URI)"),
    sid.MANUFACTURER_NAME[0]: ("manufacturer name", "legally valid designation of the natural or judicial person "
                                                    "which is directly responsible for the design, production, "
                                                    "packaging and labeling of a product"),
    sid.MANUFACTURER_PRODUCT_DESIGNATION[0]: ("manufacturer product designation", "short description of the "
                                                                                  "product (short text)"),
    sid.ADDRESS_INFORMATION: ("address information", "physical address of the manufacturer"),
    sid.STREET: ("street", "street name and house number"),
    sid.ZIPCODE: ("ZIP code", "ZIP code of the address"),
    sid.CITY_TOWN: ("city/town", "town or city of the address"),
    sid.NATIONAL_CODE: ("national code", "code of the country of the address"),
    MANUFACTURER_PRODUCT_ROOT[0]: ("manufacturer product root", "top level of a 3 level manufacturer specific "
                                                                "product hierarchy"),
    sid.MANUFACTURER_PRODUCT_FAMILY[0]: ("manufacturer product family", "2nd level of a 3 level manufacturer "
                                                                        "specific product hierarchy"),
    sid.MANUFACTURER_PRODUCT_TYPE[0]: ("manufacturer product type", "characteristic to differentiate between "
                                                                    "different products of a product family"),
    sid.ORDER_CODE_OF_MANUFACTURER[0]: ("order code of manufacturer", "unique combination of numbers and letters "
                                                                      "issued by the manufacturer to identify the "
                                                                      "product for ordering"),
    sid.PRODUCT_ARTICLE_NUMBER_OF_MANUFACTURER[0]: ("product article number of manufacturer", "unique product "
                                                                                              "identifier of the "
                                                                                              "manufacturer"),
    sid.SERIAL_NUMBER[0]: ("serial number", "unique combination of numbers and letters used to identify the "
                                            "device once it has been manufactured"),
    sid.YEAR_OF_CONSTRUCTION[0]: ("year of construction", "year as completion date of object"),
    sid.DATE_OF_MANUFACTURE[0]: ("date of manufacture", "date from which the production and / or development "
                                                        "process is completed"),
    HARDWARE_VERSION[0]: ("hardware version", "version of the hardware supplied with the device"),
    FIRMWARE_VERSION[0]: ("firmware version", "version of the firmware supplied with the device"),
    SOFTWARE_VERSION[0]: ("software version", "version of the software used by the device"),
    sid.COUNTRY_OF_ORIGIN[0]: ("country of origin", "country where the product was manufactured "
                                                    "(ISO 3166-1 alpha-2)"),
    UNIQUE_FACILITY_IDENTIFIER: ("unique facility identifier", "unique identifier of the facility where the "
                                                               "product was manufactured"),
    COMPANY_LOGO[0]: ("company logo", "graphic mark of the manufacturer"),
    sid.MARKINGS[0]: ("markings", "collection of product markings, e.g. CE marking"),
    sid.MARKING[0]: ("marking", "one product marking with its name and file"),
    sid.MARKING_NAME[0]: ("marking name", "common name of the marking"),
    DESIGNATION_OF_CERTIFICATE[0]: ("designation of certificate or approval", "identifier of the certificate or "
                                                                              "approval the marking refers to"),
    ISSUE_DATE[0]: ("issue date", "date on which the certificate or approval was issued"),
    EXPIRY_DATE[0]: ("expiry date", "date up to which the certificate or approval is valid"),
    sid.MARKING_FILE[0]: ("marking file", "picture of the marking"),
    MARKING_ADDITIONAL_TEXT[0]: ("marking additional text", "additional text of the marking, e.g. the number of "
                                                            "the notified body"),
    ASSET_SPECIFIC_PROPERTIES: ("asset specific properties", "properties specific to the asset, e.g. required "
                                                             "by guidelines"),
}


def concept_descriptions() -> list[model.ConceptDescription]:
    """IEC 61360 concept descriptions of the nameplate elements, ids = their (IEC CDD) semanticIds."""
    return TEMPLATE.concept_descriptions(_NAMES)
