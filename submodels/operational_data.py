"""Operational data (live values) and maintenance/event builders for a centrifugal pump.

Neither has a published IDTA template, so their semantic IDs are our custom IRIs; units come from the
concept descriptions in concept_descriptions.py.
"""

import datetime
from dataclasses import dataclass
from typing import Iterable

from basyx.aas import model
from basyx.aas.model import datatypes

from submodels import semantic_ids as sid

OPERATING_HOURS = "OperatingHours"


@dataclass(frozen=True)
class LiveValues:
    """Snapshot of the pump's process and drive values."""

    flow_rate_m3h: float
    discharge_pressure_bar: float
    motor_temperature_c: float
    speed_rpm: int
    operating_hours: int
    state: str  # Running, Stopped or Fault


@dataclass(frozen=True)
class MaintenanceRecord:
    date: datetime.date
    technician: str
    activity: dict[str, str]  # language -> text


def _prop(id_short: str | None, semantic_id: str, value_type, value=None) -> model.Property:
    return model.Property(id_short, value_type, value, semantic_id=sid.ref(semantic_id))


def _text(en: str, de: str) -> model.MultiLanguageTextType:
    return model.MultiLanguageTextType({"en": en, "de": de})


def build_operational_data(asset_id_short: str, sm_id: str, *, live: LiveValues) -> model.Submodel:
    """Live values plus the StartPump command a control system may invoke."""
    start_pump = model.Operation(
        "StartPump",
        input_variable=(_prop("TargetSpeed", sid.ROTATIONAL_SPEED, int),),
        output_variable=(_prop("Accepted", sid.COMMAND_ACCEPTED, bool),),
        description=_text("Starts the pump and ramps it to the target speed.",
                          "Startet die Pumpe und fährt sie auf die Solldrehzahl."),
        semantic_id=sid.ref(sid.START_PUMP),
    )
    return model.Submodel(
        sm_id,
        [
            _prop("FlowRate", sid.FLOW_RATE, float, live.flow_rate_m3h),
            _prop("DischargePressure", sid.DISCHARGE_PRESSURE, float, live.discharge_pressure_bar),
            _prop("MotorTemperature", sid.MOTOR_TEMPERATURE, float, live.motor_temperature_c),
            _prop("RotationalSpeed", sid.ROTATIONAL_SPEED, int, live.speed_rpm),
            _prop(OPERATING_HOURS, sid.OPERATING_HOURS, int, live.operating_hours),
            _prop("OperatingState", sid.OPERATING_STATE, str, live.state),
            start_pump,
        ],
        id_short="OperationalData",
        description=_text(f"Live operating values of {asset_id_short}", f"Aktuelle Betriebswerte von {asset_id_short}"),
        semantic_id=sid.ref(sid.OPERATIONAL_DATA),
    )


def _record(record: MaintenanceRecord) -> model.SubmodelElementCollection:
    return model.SubmodelElementCollection(
        None,
        [
            _prop("Date", sid.MAINTENANCE_DATE, datatypes.Date, record.date),
            _prop("Technician", sid.TECHNICIAN, str, record.technician),
            model.MultiLanguageProperty(
                "Activity", model.MultiLanguageTextType(record.activity), semantic_id=sid.ref(sid.MAINTENANCE_ACTIVITY)
            ),
        ],
        semantic_id=sid.ref(sid.MAINTENANCE_RECORD),
    )


def build_maintenance_and_events(
    asset_id_short: str,
    sm_id: str,
    *,
    nameplate_sm_id: str,
    operational_sm_id: str,
    records: Iterable[MaintenanceRecord],
    inspection_intervals_h: Iterable[int],
    manual_path: str,
    vibration_csv: bytes,
) -> model.Submodel:
    """Service history, documents, the operating-hours event and the maintenance operations of a pump."""
    operating_hours_ref = model.ModelReference(
        (model.Key(model.KeyTypes.SUBMODEL, operational_sm_id), model.Key(model.KeyTypes.PROPERTY, OPERATING_HOURS)),
        model.Property,
    )
    elements = [
        model.SubmodelElementList(
            "MaintenanceRecords",
            model.SubmodelElementCollection,
            [_record(record) for record in records],
            semantic_id_list_element=sid.ref(sid.MAINTENANCE_RECORD),
        ),
        model.SubmodelElementList(
            "InspectionIntervals",
            model.Property,
            [_prop(None, sid.INSPECTION_INTERVAL, int, hours) for hours in inspection_intervals_h],
            semantic_id_list_element=sid.ref(sid.INSPECTION_INTERVAL),
            value_type_list_element=int,
            description=_text("Minor, major and overhaul inspection", "Kleine, große Inspektion und Überholung"),
        ),
        model.File("ServiceManual", "application/pdf", manual_path, semantic_id=sid.ref(sid.SERVICE_MANUAL)),
        model.Blob("VibrationSpectrum", "text/csv", vibration_csv, semantic_id=sid.ref(sid.VIBRATION_SPECTRUM)),
        model.ReferenceElement(
            "ServicedNameplate",
            model.ModelReference((model.Key(model.KeyTypes.SUBMODEL, nameplate_sm_id),), model.Submodel),
            semantic_id=sid.ref(sid.SERVICED_NAMEPLATE),
        ),
        model.BasicEventElement(
            "OperatingHoursChanged",
            operating_hours_ref,
            model.Direction.OUTPUT,
            model.StateOfEvent.ON,
            message_topic=f"plant/{asset_id_short}/operating-hours",
            semantic_id=sid.ref(sid.OPERATING_HOURS_EVENT),
        ),
        model.Operation(
            "ResetOperatingHours",
            input_variable=(_prop("Reason", sid.RESET_REASON, str),),
            output_variable=(_prop("PreviousOperatingHours", sid.OPERATING_HOURS, int),),
            description=_text("Resets the operating hours counter after an overhaul.",
                              "Setzt den Betriebsstundenzähler nach einer Überholung zurück."),
            semantic_id=sid.ref(sid.RESET_OPERATING_HOURS),
        ),
        model.Capability(
            "SelfDiagnosis",
            description=_text("Detects bearing wear and cavitation from vibration.",
                              "Erkennt Lagerverschleiß und Kavitation an der Schwingung."),
            semantic_id=sid.ref(sid.SELF_DIAGNOSIS),
        ),
    ]
    return model.Submodel(
        sm_id,
        elements,
        id_short="MaintenanceAndEvents",
        description=_text(
            f"Maintenance and events of {asset_id_short}", f"Wartung und Ereignisse von {asset_id_short}"
        ),
        semantic_id=sid.ref(sid.MAINTENANCE_AND_EVENTS),
    )
