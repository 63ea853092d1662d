"""IEC 61360 concept descriptions for our custom quantities: they carry the units the Properties lack."""

from typing import NamedTuple

from basyx.aas import model

from submodels import semantic_ids as sid


class _Concept(NamedTuple):
    id: str
    en: str
    de: str
    data_type: model.DataTypeIEC61360
    unit: str | None
    definition: str


_REAL = model.DataTypeIEC61360.REAL_MEASURE
_INT = model.DataTypeIEC61360.INTEGER_MEASURE

_CONCEPTS = (
    _Concept(sid.RATED_FLOW_RATE, "rated flow rate", "Nennförderstrom", _REAL, "m³/h",
             "Volume flow at the rated operating point"),
    _Concept(sid.RATED_HEAD, "rated head", "Nennförderhöhe", _REAL, "m",
             "Delivery head at the rated operating point"),
    _Concept(sid.RATED_POWER, "rated motor power", "Motornennleistung", _REAL, "kW",
             "Rated shaft power of the drive motor"),
    _Concept(sid.RATED_SPEED, "rated speed", "Nenndrehzahl", _INT, "1/min",
             "Shaft speed at the rated operating point"),
    _Concept(sid.MEDIUM_TEMPERATURE, "permissible medium temperature", "zulässige Medientemperatur", _REAL,
             "°C", "Range of temperatures of the pumped liquid the pump is designed for"),
    _Concept(sid.FLOW_RATE, "flow rate", "Förderstrom", _REAL, "m³/h",
             "Currently delivered volume flow"),
    _Concept(sid.DISCHARGE_PRESSURE, "discharge pressure", "Enddruck", _REAL, "bar",
             "Current gauge pressure at the discharge flange"),
    _Concept(sid.MOTOR_TEMPERATURE, "motor winding temperature", "Motorwicklungstemperatur", _REAL, "°C",
             "Current temperature of the motor winding"),
    _Concept(sid.ROTATIONAL_SPEED, "rotational speed", "Drehzahl", _INT, "1/min",
             "Current shaft speed"),
    _Concept(sid.OPERATING_HOURS, "operating hours", "Betriebsstunden", _INT, "h",
             "Hours the pump has run since commissioning or the last reset"),
    _Concept(sid.INSPECTION_INTERVAL, "inspection interval", "Inspektionsintervall", _INT, "h",
             "Operating hours between two inspections of the given level"),
    _Concept(sid.OPERATING_STATE, "operating state", "Betriebszustand", model.DataTypeIEC61360.STRING, None,
             "Current state of the pump: Running, Stopped or Fault"),
)


def _build(concept: _Concept) -> model.ConceptDescription:
    content = model.DataSpecificationIEC61360(
        preferred_name=model.PreferredNameTypeIEC61360({"en": concept.en, "de": concept.de}),
        data_type=concept.data_type,
        definition=model.DefinitionTypeIEC61360({"en": concept.definition}),
        unit=concept.unit,
    )
    return model.ConceptDescription(
        id_=concept.id,
        id_short=concept.id.removeprefix(sid.CUSTOM),
        embedded_data_specifications=(
            model.EmbeddedDataSpecification(sid.ref(sid.IEC61360_DATA_SPECIFICATION), content),
        ),
    )


def build_concept_descriptions() -> list[model.ConceptDescription]:
    """One concept description per custom quantity, ids equal to the semanticIds the elements use."""
    return [_build(concept) for concept in _CONCEPTS]
