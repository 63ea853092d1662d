"""Digital Nameplate (IDTA 02006-3-0) builder for pumps and pump types."""

import datetime
from dataclasses import dataclass

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import semantic_ids as sid


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
