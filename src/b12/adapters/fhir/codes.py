"""The code systems and codes b12 writes and reads, each with whether it was checked.

A code marked ``verified=False`` ("verify") was not checked against its code system's own
release: b12 reads it when another system sends it, but never writes it, and every concept b12
writes carries its text too, so nothing depends on an unchecked code. Checked codes are those of
the interoperability facts (NDC, UNII, HCPCS; LOINC from the clinical facts; UCUM).
"""

from __future__ import annotations

from dataclasses import dataclass

#: b12's own code systems: the ids of its knowledge and record, read back exactly.
B12 = "https://b12.invalid/fhir"
B12_PRODUCT = f"{B12}/CodeSystem/product"
B12_SUBSTANCE = f"{B12}/CodeSystem/substance"
B12_ROUTE = f"{B12}/CodeSystem/route"
B12_SITE = f"{B12}/CodeSystem/site"
B12_INDICATION = f"{B12}/CodeSystem/indication"
B12_FINDING = f"{B12}/CodeSystem/finding"
B12_ANALYTE = f"{B12}/CodeSystem/analyte"
B12_PATIENT = f"{B12}/patient-code"
B12_RECORD = f"{B12}/record-id"
EXT_REGIMEN = f"{B12}/StructureDefinition/regimen"
EXT_PHASE_KIND = f"{B12}/StructureDefinition/phase-kind"
EXT_HORIZON = f"{B12}/StructureDefinition/horizon-months"
EXT_FINGERPRINT = f"{B12}/StructureDefinition/knowledge-fingerprint"
EXT_PLANNED_DOSE = f"{B12}/StructureDefinition/planned-dose"
EXT_OVERRIDE = f"{B12}/StructureDefinition/override-reason"
EXT_AS_WRITTEN = f"{B12}/StructureDefinition/as-written"
EXT_VOLUME = f"{B12}/StructureDefinition/volume"
#: An age without a birth date: the age in months ("months", valueDecimal) and the day it was
#: given ("givenOn", valueDate), as the record keeps it.
EXT_AGE = f"{B12}/StructureDefinition/age-given"
#: The patient's profile: pregnancy and breastfeeding as b12 records them (yes when present).
B12_PROFILE = f"{B12}/CodeSystem/profile"


def knowledge_system(collection: str) -> str:
    """b12's code system of one knowledge collection (allergens, conditions, medicines ...)."""
    return f"{B12}/CodeSystem/{collection}"


UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
NDC = "http://hl7.org/fhir/sid/ndc"
UNII = "http://fdasis.nlm.nih.gov"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
#: Body weight (LOINC, as the FHIR vital-signs profile names it), in UCUM kg.
LOINC_BODY_WEIGHT = "29463-7"
DETECTED_ISSUE_SEVERITY = "http://hl7.org/fhir/detectedissue-severity"


@dataclass(frozen=True)
class Code:
    """One code of another system and what it means to b12."""

    system: str
    code: str
    display: str
    means: str  # a b12 id: a route, a substance, a product ...
    verified: bool


#: Routes (SNOMED CT route of administration). Not checked against a SNOMED release: "verify".
ROUTE_CODES = (
    Code(SNOMED, "78421000", "Intramuscular route", "IM", False),
    Code(SNOMED, "34206005", "Subcutaneous route", "SC", False),
    Code(SNOMED, "47625008", "Intravenous route", "IV", False),
    Code(SNOMED, "72607000", "Intrathecal route", "intrathecal", False),
    Code(SNOMED, "26643006", "Oral route", "oral", False),
    Code(SNOMED, "37839007", "Sublingual route", "sublingual", False),
    Code(SNOMED, "46713006", "Nasal route", "nasal", False),
)

#: Pregnancy and breastfeeding (SNOMED CT findings), read as b12's profile codes. Not checked
#: against a SNOMED release: "verify" (b12 writes its own profile code and the text).
PROFILE_CODES = (
    Code(SNOMED, "77386006", "Pregnancy", "pregnant", False),
    Code(SNOMED, "169750002", "Mother currently breast-feeding", "breastfeeding", False),
    Code(SNOMED, "413712001", "Breastfeeding (mother)", "breastfeeding", False),
)

#: Medicines: UNII and NDC as the interoperability facts give them. An NDC names a package of
#: cyanocobalamin or hydroxocobalamin 1000 mcg/mL; b12 reads the substance and strength from it.
MEDICATION_CODES = (
    Code(UNII, "P6YC3EG204", "cyanocobalamin", "cyanocobalamin", True),
    Code(NDC, "0143-9621-25", "cyanocobalamin 1000 mcg/mL", "cyanocobalamin", True),
    Code(NDC, "0143-9620-10", "cyanocobalamin 1000 mcg/mL", "cyanocobalamin", True),
    Code(NDC, "00591-2888-30", "hydroxocobalamin 1000 mcg/mL", "hydroxocobalamin", True),
)
#: The strength each NDC above is sold at (mcg per mL).
NDC_STRENGTH = {
    "0143-9621-25": "1000 mcg/mL",
    "0143-9620-10": "1000 mcg/mL",
    "00591-2888-30": "1000 mcg/mL",
}

#: Mass units b12 reads as UCUM codes (the display "mcg" is not UCUM; "ug" is).
UCUM_MASS = {"ug": "mcg", "mg": "mg", "g": "g"}
#: Period units of Timing.repeat b12 reads, and what b12 calls them.
PERIOD_UNITS = {"h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}


def by_system(codes: tuple[Code, ...], system: str, code: str) -> Code | None:
    for c in codes:
        if c.system == system and c.code == code:
            return c
    return None


def systems(codes: tuple[Code, ...]) -> frozenset[str]:
    return frozenset(c.system for c in codes)


def written(codes: tuple[Code, ...], means: str) -> list[dict[str, str]]:
    """The checked codings of ``means`` (never a "verify" code)."""
    return [
        {"system": c.system, "code": c.code, "display": c.display}
        for c in codes
        if c.means == means and c.verified
    ]
