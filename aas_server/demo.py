"""Demo data for the server: a small plant of three CPX-80 centrifugal pumps and their type.

Everything is built in memory, files included, so a fresh server or a test can load it without any IO.
Ids are stable IRIs: https://example.com/ids/aas/P-101, https://example.com/ids/sm/P-101/Nameplate, ...
"""

import datetime
import io
import struct
import zlib
from dataclasses import dataclass

from basyx.aas import model
from basyx.aas.adapter.aasx import DictSupplementaryFileContainer

from submodels.concept_descriptions import build_concept_descriptions
from submodels.digital_nameplate import Address, build_nameplate
from submodels.operational_data import (
    LiveValues,
    MaintenanceRecord,
    build_maintenance_and_events,
    build_operational_data,
)
from submodels.technical_data import RatedValues, build_bill_of_material, build_technical_data

BASE = "https://example.com/ids"
# File names are lower case: the AASX writer lower-cases relationship targets but not the zip entries,
# and the official AASX check looks the targets up case-sensitively.
FILES = "/aasx/files"
TYPE = "CPX-80"
MANUFACTURER = "ACME Pumpen GmbH"
ADDRESS = Address("Pumpenweg 1", "70173", "Stuttgart", "DE")
DESIGNATION = {"en": "End-suction centrifugal pump CPX 80", "de": "Normkreiselpumpe CPX 80"}
ARTICLE_NUMBER = "CPX80-160-15"
ORDER_CODE = "CPX 80-160 / 15 kW / GG"
RATED = RatedValues(
    flow_rate_m3h=120.0, head_m=32.0, power_kw=15.0, speed_rpm=2950, medium_temperature_c=(-10.0, 120.0)
)


@dataclass(frozen=True)
class _Pump:
    tag: str
    serial: str
    manufactured: datetime.date
    live: LiveValues
    records: tuple[MaintenanceRecord, ...]


_INSPECTION = MaintenanceRecord(
    datetime.date(2024, 3, 12),
    "J. Weber",
    {"en": "Minor inspection, seals checked", "de": "Kleine Inspektion, Dichtungen geprüft"},
)
_BEARINGS = MaintenanceRecord(
    datetime.date(2025, 1, 28), "A. Yilmaz", {"en": "Bearings replaced", "de": "Lager getauscht"}
)
_CAVITATION = MaintenanceRecord(
    datetime.date(2025, 6, 2),
    "A. Yilmaz",
    {"en": "Cavitation damage on impeller inspected", "de": "Kavitationsschaden am Laufrad begutachtet"},
)
_PUMPS = (
    _Pump("P-101", "CPX80-2021-0042", datetime.date(2021, 4, 19),
          LiveValues(118.4, 6.2, 61.5, 2950, 12873, "Running"), (_INSPECTION, _BEARINGS)),
    _Pump("P-102", "CPX80-2021-0043", datetime.date(2021, 4, 20),
          LiveValues(0.0, 0.4, 22.0, 0, 8410, "Stopped"), (_INSPECTION,)),
    _Pump("P-103", "CPX80-2023-0117", datetime.date(2023, 9, 5),
          LiveValues(64.9, 3.1, 96.8, 1480, 6032, "Fault"), (_CAVITATION,)),
)


def _png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A plain single-colour PNG, enough for a thumbnail placeholder."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + bytes(rgb) * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8 bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    """A one-page PDF with a correct xref table, so that PDF viewers open it."""
    stream = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode("latin-1")
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _vibration_csv(speed_rpm: int) -> bytes:
    """Amplitude at the first three multiples of the shaft frequency."""
    shaft_hz = speed_rpm / 60
    lines = ["frequency_hz,amplitude_mm_s"] + [f"{n * shaft_hz:.1f},{1.8 / n:.2f}" for n in (1, 2, 3)]
    return ("\n".join(lines) + "\n").encode()


def _sm_id(tag: str, name: str) -> str:
    return f"{BASE}/sm/{tag}/{name}"


def _part_id() -> model.SpecificAssetId:
    return model.SpecificAssetId("manufacturerPartId", ARTICLE_NUMBER)


def _thumbnail(path: str) -> model.Resource:
    return model.Resource(path, "image/png")


def _add_shell(
    store: model.DictIdentifiableStore,
    tag: str,
    asset_information: model.AssetInformation,
    submodels: list[model.Submodel],
    derived_from: model.AssetAdministrationShell | None = None,
) -> model.AssetAdministrationShell:
    store.update(submodels)
    shell = model.AssetAdministrationShell(
        asset_information,
        f"{BASE}/aas/{tag}",
        id_short=tag.replace("-", "_"),
        submodel={model.ModelReference.from_referable(submodel) for submodel in submodels},
        derived_from=model.ModelReference.from_referable(derived_from) if derived_from else None,
    )
    store.add(shell)
    return shell


def _product(tag: str, image: str, marking: str, **nameplate) -> tuple[model.Submodel, model.Submodel]:
    """Nameplate and technical data, shared by the type and its instances."""
    return (
        build_nameplate(tag, _sm_id(tag, "Nameplate"), manufacturer=MANUFACTURER, address=ADDRESS,
                        product_uri=f"{BASE}/asset/{tag}", designation=DESIGNATION, product_family="CPX",
                        product_type=TYPE, order_code=ORDER_CODE, article_number=ARTICLE_NUMBER,
                        marking_file=marking, **nameplate),
        build_technical_data(tag, _sm_id(tag, "TechnicalData"), manufacturer=MANUFACTURER, designation=DESIGNATION,
                             article_number=ARTICLE_NUMBER, order_code=ORDER_CODE, product_image=image, rated=RATED,
                             valid_from=datetime.date(2021, 1, 1)),
    )


def _pump_submodels(
    pump: _Pump, files: DictSupplementaryFileContainer, image: str, marking: str
) -> list[model.Submodel]:
    nameplate, technical_data = _product(pump.tag, image, marking, serial=pump.serial,
                                         date_of_manufacture=pump.manufactured)
    operational = build_operational_data(pump.tag, _sm_id(pump.tag, "OperationalData"), live=pump.live)
    manual = files.add_file(f"{FILES}/{pump.tag.lower()}_manual.pdf",
                            io.BytesIO(_pdf(f"{TYPE} service manual for {pump.tag}")), "application/pdf")
    maintenance = build_maintenance_and_events(
        pump.tag, _sm_id(pump.tag, "MaintenanceAndEvents"),
        nameplate_sm_id=nameplate.id, operational_sm_id=operational.id, records=pump.records,
        inspection_intervals_h=(2000, 8000, 24000), manual_path=manual,
        vibration_csv=_vibration_csv(pump.live.speed_rpm or RATED.speed_rpm),  # a stopped pump: last run
    )
    bill_of_material = build_bill_of_material(
        pump.tag, _sm_id(pump.tag, "BillOfMaterial"), asset_id=f"{BASE}/asset/{pump.tag}", serial=pump.serial,
        motor_asset_id=f"{BASE}/asset/{pump.tag}-M", motor_serial=f"M-{pump.serial}",
        impeller_asset_id=f"{BASE}/asset/{TYPE}-Impeller-160", impeller_part_number="CPX80-IMP-160",
        impeller_material="1.4408",
    )
    return [nameplate, technical_data, operational, maintenance, bill_of_material]


def build_demo_plant() -> tuple[model.DictIdentifiableStore, DictSupplementaryFileContainer]:
    """Three pump instance shells, their type shell, all submodels and concept descriptions, and the files."""
    files = DictSupplementaryFileContainer()
    image = files.add_file(f"{FILES}/{TYPE.lower()}.png", io.BytesIO(_png((0, 94, 184))), "image/png")
    marking = files.add_file(f"{FILES}/ce_marking.png", io.BytesIO(_png((20, 20, 20))), "image/png")
    store: model.DictIdentifiableStore = model.DictIdentifiableStore(build_concept_descriptions())

    type_information = model.AssetInformation(
        model.AssetKind.TYPE, f"{BASE}/asset/{TYPE}", (_part_id(),), default_thumbnail=_thumbnail(image)
    )
    type_shell = _add_shell(store, TYPE, type_information, list(_product(TYPE, image, marking)))
    for pump in _PUMPS:
        asset_information = model.AssetInformation(
            model.AssetKind.INSTANCE,
            f"{BASE}/asset/{pump.tag}",
            (model.SpecificAssetId("serialNumber", pump.serial), _part_id()),
            asset_type=f"{BASE}/asset/{TYPE}",
            default_thumbnail=_thumbnail(image),
        )
        _add_shell(store, pump.tag, asset_information, _pump_submodels(pump, files, image, marking), type_shell)
    return store, files
