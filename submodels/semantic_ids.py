"""Semantic IDs of the demo submodels, in one place so that builders and concept descriptions agree.

Official IDs are taken from the published IDTA templates (github.com/admin-shell-io/submodel-templates):
IDTA 02006-3-0 Digital Nameplate, IDTA 02003-1-2 Technical Data, IDTA 02011-1-0 Hierarchical Structures
and the address drop-in of IDTA 02002-1-0 Contact Information. The Nameplate 3.0 template uses IEC CDD
IRDIs as semanticId and the ECLASS IRDI as supplementalSemanticId, so its elements are (primary,
supplemental) pairs. Technical Data 1.2 still uses the older ECLASS revisions (e.g. AAO677#002).

Everything under CUSTOM is our own: no published ECLASS IRDI for these pump quantities could be
confirmed, so they are clearly marked example.com IRIs; the quantities among them get a concept
description with unit in concept_descriptions.py.
"""

from basyx.aas import model


def ref(value: str) -> model.ExternalReference:
    """External reference to a global semantic ID (IRI or IRDI)."""
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


IEC61360_DATA_SPECIFICATION = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"

# IDTA 02006-3-0 Digital Nameplate: (IEC CDD semanticId, ECLASS supplementalSemanticId)
NAMEPLATE = "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
URI_OF_THE_PRODUCT = ("0112/2///61987#ABN590#002", "0173-1#02-ABH173#003")
MANUFACTURER_NAME = ("0112/2///61987#ABA565#009", "0173-1#02-AAO677#004")
MANUFACTURER_PRODUCT_DESIGNATION = ("0112/2///61987#ABA567#009", "0173-1#02-AAW338#003")
MANUFACTURER_PRODUCT_FAMILY = ("0112/2///61987#ABP464#002", "0173-1#02-AAU731#003")
MANUFACTURER_PRODUCT_TYPE = ("0112/2///61987#ABA300#008", "0173-1#02-AAO057#004")
ORDER_CODE_OF_MANUFACTURER = ("0112/2///61987#ABA950#008", "0173-1#02-AAO227#004")
PRODUCT_ARTICLE_NUMBER_OF_MANUFACTURER = ("0112/2///61987#ABA581#007", "0173-1#02-AAO676#005")
SERIAL_NUMBER = ("0112/2///61987#ABA951#009", "0173-1#02-AAM556#004")
YEAR_OF_CONSTRUCTION = ("0112/2///61987#ABP000#002", "0173-1#02-AAP906#003")
DATE_OF_MANUFACTURE = ("0112/2///61987#ABB757#007", "0173-1#02-AAR972#004")
COUNTRY_OF_ORIGIN = ("0112/2///61987#ABP462#001", "0173-1#02-AAO259#007")
MARKINGS = ("0112/2///61360_7#AAS006#001", "0173-1#02-ABI563#003/0173-1#01-AHF849#003")
MARKING = ("0112/2///61360_7#AAS009#001", "0173-1#02-ABI564#003/0173-1#01-AHF850#003")
MARKING_NAME = ("0112/2///61987#ABA231#009", "0173-1#02-ABI190#003")
MARKING_FILE = ("0112/2///61987#ABO100#002", "0173-1#02-ABI191#003")
MARKING_NAME_CE = "0173-1#07-DAA603#004"  # example value of MarkingName in the template: CE marking
ADDRESS_INFORMATION = "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/AddressInformation"

# IDTA 02002-1-0 Contact Information, used by the AddressInformation drop-in
STREET = "0173-1#02-AAO128#002"
ZIPCODE = "0173-1#02-AAO129#002"
CITY_TOWN = "0173-1#02-AAO132#002"
NATIONAL_CODE = "0173-1#02-AAO134#002"

# IDTA 02003-1-2 Technical Data
TECHNICAL_DATA = "https://admin-shell.io/ZVEI/TechnicalData/Submodel/1/2"
GENERAL_INFORMATION = "https://admin-shell.io/ZVEI/TechnicalData/GeneralInformation/1/1"
TD_MANUFACTURER_NAME = "0173-1#02-AAO677#002"
TD_MANUFACTURER_PRODUCT_DESIGNATION = "0173-1#02-AAW338#001"
TD_MANUFACTURER_ARTICLE_NUMBER = "0173-1#02-AAO676#003"
TD_MANUFACTURER_ORDER_CODE = "0173-1#02-AAO227#002"
PRODUCT_IMAGE = "https://admin-shell.io/ZVEI/TechnicalData/ProductImage/1/1"
PRODUCT_CLASSIFICATIONS = "https://admin-shell.io/ZVEI/TechnicalData/ProductClassifications/1/1"
PRODUCT_CLASSIFICATION_ITEM = "https://admin-shell.io/ZVEI/TechnicalData/ProductClassificationItem/1/1"
PRODUCT_CLASSIFICATION_SYSTEM = "https://admin-shell.io/ZVEI/TechnicalData/ProductClassificationSystem/1/1"
CLASSIFICATION_SYSTEM_VERSION = "https://admin-shell.io/ZVEI/TechnicalData/ClassificationSystemVersion/1/1"
PRODUCT_CLASS_ID = "https://admin-shell.io/ZVEI/TechnicalData/ProductClassId/1/1"
TECHNICAL_PROPERTIES = "https://admin-shell.io/ZVEI/TechnicalData/TechnicalProperties/1/1"
FURTHER_INFORMATION = "https://admin-shell.io/ZVEI/TechnicalData/FurtherInformation/1/1"
TEXT_STATEMENT = "https://admin-shell.io/ZVEI/TechnicalData/TextStatement/1/1"
# The template JSON carries ManufacturerOrderCode's ID on ValidDate by mistake; the spec names this one.
VALID_DATE = "https://admin-shell.io/ZVEI/TechnicalData/ValidDate/1/1"

# IDTA 02011-1-0 Hierarchical Structures enabling Bills of Material
HIERARCHICAL_STRUCTURES = "https://admin-shell.io/idta/HierarchicalStructures/1/0/Submodel"
ARCHE_TYPE = "https://admin-shell.io/idta/HierarchicalStructures/ArcheType/1/0"
ENTRY_NODE = "https://admin-shell.io/idta/HierarchicalStructures/EntryNode/1/0"
NODE = "https://admin-shell.io/idta/HierarchicalStructures/Node/1/0"
HAS_PART = "https://admin-shell.io/idta/HierarchicalStructures/HasPart/1/0"

# CUSTOM: our own IRIs, not from any published dictionary
CUSTOM = "https://example.com/ids/cd/"
OPERATIONAL_DATA = CUSTOM + "OperationalData/1/0"
MAINTENANCE_AND_EVENTS = CUSTOM + "MaintenanceAndEvents/1/0"
RATED_FLOW_RATE = CUSTOM + "RatedFlowRate"
RATED_HEAD = CUSTOM + "RatedHead"
RATED_POWER = CUSTOM + "RatedPower"
RATED_SPEED = CUSTOM + "RatedSpeed"
MEDIUM_TEMPERATURE = CUSTOM + "PermissibleMediumTemperature"
FLOW_RATE = CUSTOM + "FlowRate"
DISCHARGE_PRESSURE = CUSTOM + "DischargePressure"
MOTOR_TEMPERATURE = CUSTOM + "MotorTemperature"
ROTATIONAL_SPEED = CUSTOM + "RotationalSpeed"
OPERATING_HOURS = CUSTOM + "OperatingHours"
OPERATING_STATE = CUSTOM + "OperatingState"
INSPECTION_INTERVAL = CUSTOM + "InspectionInterval"
START_PUMP = CUSTOM + "StartPump"
COMMAND_ACCEPTED = CUSTOM + "CommandAccepted"
RESET_OPERATING_HOURS = CUSTOM + "ResetOperatingHours"
RESET_REASON = CUSTOM + "ResetReason"
MAINTENANCE_RECORD = CUSTOM + "MaintenanceRecord"
MAINTENANCE_DATE = CUSTOM + "MaintenanceDate"
TECHNICIAN = CUSTOM + "Technician"
MAINTENANCE_ACTIVITY = CUSTOM + "MaintenanceActivity"
SERVICE_MANUAL = CUSTOM + "ServiceManual"
VIBRATION_SPECTRUM = CUSTOM + "VibrationSpectrum"
SERVICED_NAMEPLATE = CUSTOM + "ServicedNameplate"
OPERATING_HOURS_EVENT = CUSTOM + "OperatingHoursEvent"
SELF_DIAGNOSIS = CUSTOM + "SelfDiagnosis"
DRIVES = CUSTOM + "Drives"
COUPLING_TYPE = CUSTOM + "CouplingType"
MATERIAL = CUSTOM + "Material"
