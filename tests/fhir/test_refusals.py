"""What b12 cannot read is refused with the element named and what to send instead: floats and
float-looking garbage, unknown codes, wrong units, missing fields. Nothing is dropped."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.fhir.jsonio import FhirJsonError, dumps, loads
from b12.adapters.fhir.medication_request import read_medication_request
from b12.adapters.fhir.reading import FhirReadError
from b12.adapters.fhir.resources import read_administration, read_observation, read_patient
from b12.domain.findings import Level
from b12.errors import InputError

KB = load_knowledge()
UCUM = "http://unitsofmeasure.org"


def order(**dose: Any) -> dict[str, Any]:
    """A draft order from an EHR: B12 deficiency, cyanocobalamin 1000 mcg/mL, IM daily x 7."""
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/P-0042"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "0000"}],
            "text": "cyanocobalamin 1000 mcg/mL injection",
        },
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "D51.0"}]}],
        "dosageInstruction": [
            {
                "sequence": 1,
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                        "count": 7,
                        "boundsPeriod": {"start": "2027-01-04"},
                    }
                },
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "78421000"}]},
                "doseAndRate": [
                    {
                        "doseQuantity": dose
                        or {"value": 1000, "unit": "mcg", "system": UCUM, "code": "ug"}
                    }
                ],
            }
        ],
    }


def test_the_unit_slip_example_stays_1000_mg_and_stops_suggesting_1000_mcg() -> None:
    """The issue's example: a B12 deficiency ordered as 1000 mg IM."""
    read = read_medication_request(order(value=1000, unit="mg", system=UCUM, code="mg"), KB)
    dose = read.phases[0].dose
    assert (dose.text, dose.unit_written, dose.mass.mcg) == ("1000 mg", "mg", Decimal(1_000_000))
    assert (read.substance, str(read.concentration), read.phases[0].route) == (
        "cyanocobalamin", "1,000 mcg/mL", "IM",
    )  # fmt: skip
    assert read.indication == "pernicious-anaemia" and read.patient == "P-0042"
    assert read.unread and "0000" in read.unread[0]  # the RxNorm code: said, not dropped
    slip = [f for f in read.check(KB) if f.code == "DOSE_UNIT_SLIP"]
    assert slip and slip[0].level is Level.STOP
    assert slip[0].suggestion is not None and slip[0].suggestion.action is not None
    assert slip[0].suggestion.action["to"] == "1,000 mcg"


def test_a_fine_order_reads_as_its_phases_and_plans() -> None:
    read = read_medication_request(loads(dumps(order())), KB)
    timing = read.phases[0].timing
    assert (timing.frequency, timing.period, timing.period_unit, timing.count) == (1, 1, "d", 7)
    assert not [f for f in read.check(KB) if f.level is Level.STOP]
    request = read.plan_request()
    assert (request.indication, str(request.start)) == ("pernicious-anaemia", "2027-01-04")


def _set(resource: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with ``path`` ("dosageInstruction.0.route") set (None: removed)."""
    out = copy.deepcopy(resource)
    *parents, last = path.split(".")
    at: Any = out
    for key in parents:
        at = at[int(key)] if key.isdigit() else at[key]
    if value is None:
        del at[int(last) if last.isdigit() else last]
    elif last.isdigit():
        at[int(last)] = value
    else:
        at[last] = value
    return out


DOSE = "dosageInstruction.0.doseAndRate.0.doseQuantity"
REPEAT = "dosageInstruction.0.timing.repeat"
#: (what is wrong, the change, the element named, words of the message)
ORDER_REFUSALS = [
    ("a binary float", (f"{DOSE}.value", 1000.0), "doseQuantity.value", "binary float"),
    ("a dose as a string", (f"{DOSE}.value", "1000"), "doseQuantity.value", "expected a JSON number"),
    ("a boolean dose", (f"{DOSE}.value", True), "doseQuantity.value", "boolean"),
    ("an absurd exponent", (f"{DOSE}.value", Decimal("1E+999")), "doseQuantity.value", "out of any range"),
    ("a negative dose", (f"{DOSE}.value", Decimal("-5")), "doseQuantity", "negative"),
    ("no dose value", (f"{DOSE}.value", None), "doseQuantity.value", "missing"),
    ("no dose", ("dosageInstruction.0.doseAndRate", None), "doseQuantity", "missing"),
    ("a volume as the dose", (DOSE, {"value": 1, "unit": "mL", "system": UCUM, "code": "mL"}), "doseQuantity.code", "not a mass"),
    ("IU", (DOSE, {"value": 1000, "unit": "IU", "system": UCUM, "code": "[iU]"}), "doseQuantity", "international unit"),
    ("a unit and code that disagree", (DOSE, {"value": 1000, "unit": "mcg", "system": UCUM, "code": "mg"}), "doseQuantity", "disagree"),
    ("another unit system", (f"{DOSE}.system", "http://example.org/units"), "doseQuantity.system", "UCUM"),
    ("an unknown SNOMED route", ("dosageInstruction.0.route.coding.0.code", "99999"), "route.coding[0]", "unknown SNOMED CT route"),
    ("a route of no system b12 reads", ("dosageInstruction.0.route.coding.0.system", "http://example.org/r"), "route.coding[0]", "b12 reads SNOMED CT"),
    ("no timing", ("dosageInstruction.0.timing", None), "timing", "missing"),
    ("a timing code", ("dosageInstruction.0.timing.code", {"text": "BID"}), "timing.code", "timing.repeat"),
    ("a period unit that is no UCUM code", (f"{REPEAT}.periodUnit", "month"), "periodUnit", "unknown period unit"),
    ("a period without its unit", (f"{REPEAT}.periodUnit", None), "repeat", "periodUnit"),
    ("a fractional count", (f"{REPEAT}.count", Decimal("7.5")), "count", "whole number"),
    ("a time of day", (f"{REPEAT}.timeOfDay", ["08:00:00"]), "timeOfDay", "not read"),
    ("a dose range", ("dosageInstruction.0.doseAndRate.0", {"doseRange": {"low": {"value": 100}}}), "doseRange", "order one dose"),
    ("an unknown NDC", ("medicationCodeableConcept.coding.0", {"system": "http://hl7.org/fhir/sid/ndc", "code": "1234-5678-90"}), "medicationCodeableConcept.coding[0]", "unknown code"),
    ("no cobalamin", ("medicationCodeableConcept.text", "an injection"), "medicationCodeableConcept", "no cobalamin"),
    ("two cobalamins", ("medicationCodeableConcept.text", "cyanocobalamin and hydroxocobalamin"), "medicationCodeableConcept", "order one cobalamin"),
    ("an unknown ICD-10 code", ("reasonCode.0.coding.0.code", "J45"), "reasonCode[0].coding[0]", "no indication"),
    ("an ICD-10 code of two indications", ("reasonCode.0.coding.0.code", "E53.8"), "reasonCode[0].coding[0]", "b12-deficiency"),
    ("an unknown extension", ("dosageInstruction.0.extension", [{"url": "http://example.org/x", "valueString": "y"}]), "extension[0]", "not read"),
    ("no status", ("status", None), "status", "missing"),
    ("an unknown status", ("status", "signed"), "status", "unknown status"),
    ("not a MedicationRequest", ("resourceType", "MedicationStatement"), "resourceType", "send a MedicationRequest"),
    ("a reference to another type", ("subject", {"reference": "Group/7"}), "subject.reference", "Patient"),
    ("a date that is no date", (f"{REPEAT}.boundsPeriod.start", "2027-02-30"), "boundsPeriod.start", "full date"),
]  # fmt: skip


@pytest.mark.parametrize(
    "why, change, element, words", ORDER_REFUSALS, ids=[r[0] for r in ORDER_REFUSALS]
)
def test_an_order_b12_cannot_read_is_refused_naming_the_element(
    why: str, change: tuple[str, Any], element: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        read_medication_request(_set(order(), *change), KB)
    error = caught.value
    assert isinstance(error, FhirReadError)
    assert element in error.path, (why, error.path)
    assert words.lower() in str(error).lower(), (why, str(error))


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"value": NaN}', "NaN is not a FHIR number"),
        ('{"value": Infinity}', "Infinity is not a FHIR number"),
        ('{"value": 1000', "not JSON"),
        (b"\xff\xfe{}", "not"),
    ],
)
def test_json_b12_cannot_read_exactly_is_refused(text: str | bytes, words: str) -> None:
    with pytest.raises(FhirJsonError, match=words):
        loads(text)


def test_decimals_are_read_and_written_exactly() -> None:
    data = loads('{"a": 0.1, "b": 1.50, "c": 1000, "d": 1e2}')
    assert data == {"a": Decimal("0.1"), "b": Decimal("1.50"), "c": 1000, "d": Decimal("1e2")}
    assert str(data["b"]) == "1.50"
    assert dumps(data) == '{"a":0.1,"b":1.50,"c":1000,"d":100}'
    with pytest.raises(TypeError, match="binary float"):
        dumps({"a": 0.1})


OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
    "subject": {"reference": "Patient/P-0042"},
    "effectiveDateTime": "2027-01-04",
    "valueQuantity": {"value": 150, "unit": "pg/mL", "system": UCUM, "code": "pg/mL"},
}
OBSERVATION_REFUSALS = [
    ("an unknown LOINC code", ("code.coding.0.code", "1234-5"), "code.coding[0]", "no test b12 reads"),
    ("whole-blood cobalamin", ("code.coding.0.code", "16695-9"), "code.coding[0]", "no test b12 reads"),
    ("a mass code with a molar unit", ("valueQuantity", {"value": 110, "unit": "pmol/L", "system": UCUM, "code": "pmol/L"}), "valueQuantity", "send 14685-2"),
    ("a unit the test has not", ("valueQuantity.code", "g/dL"), "valueQuantity.code", "g/dL"),
    ("a comparator", ("valueQuantity.comparator", "<"), "comparator", "cannot be banded"),
    ("a float value", ("valueQuantity.value", 150.0), "valueQuantity.value", "binary float"),
    ("no value", ("valueQuantity", None), "valueQuantity", "missing"),
    ("a registered result", ("status", "registered"), "status", "final"),
    ("no subject", ("subject", None), "subject", "missing"),
    ("a code of another system", ("code.coding.0.system", "http://example.org/tests"), "code.coding[0]", "LOINC"),
]  # fmt: skip


@pytest.mark.parametrize(
    "why, change, element, words", OBSERVATION_REFUSALS, ids=[r[0] for r in OBSERVATION_REFUSALS]
)
def test_a_result_b12_cannot_read_is_refused_naming_the_element(
    why: str, change: tuple[str, Any], element: str, words: str
) -> None:
    with pytest.raises(FhirReadError) as caught:
        read_observation(_set(loads(dumps(OBSERVATION)), *change), KB)
    assert element in caught.value.path, (why, caught.value.path)
    assert words.lower() in str(caught.value).lower(), (why, str(caught.value))


ADMINISTRATION = {
    "resourceType": "MedicationAdministration",
    "status": "completed",
    "medicationCodeableConcept": {"text": "cyanocobalamin"},
    "subject": {"reference": "Patient/P-0042"},
    "effectiveDateTime": "2027-01-04T09:30:00+00:00",
    "dosage": {"dose": {"value": 1000, "unit": "mcg", "system": UCUM, "code": "ug"},
               "site": {"text": "left deltoid"}},
}  # fmt: skip
ADMINISTRATION_REFUSALS = [
    ("a dose not given", ("status", "not-done"), "status", "missed"),
    ("a time without a zone", ("effectiveDateTime", "2027-01-04T09:30:00"), "effectiveDateTime", "zone"),
    ("a day without a time", ("effectiveDateTime", "2027-01-04"), "effectiveDateTime", "time"),
    ("a site b12 does not know", ("dosage.site", {"text": "left ear"}), "dosage.site", "injection site"),
    ("a coded site of another system", ("dosage.site", {"coding": [{"system": "http://snomed.info/sct", "code": "16217701000119102"}]}), "site.coding[0]", "as text"),
    ("a dose in IU", ("dosage.dose", {"value": 1000, "system": UCUM, "code": "[iU]"}), "dosage.dose", "international unit"),
    ("no dose", ("dosage.dose", None), "dosage.dose", "missing"),
    ("a request to another type", ("request", {"reference": "ServiceRequest/1"}), "request.reference", "MedicationRequest"),
]  # fmt: skip


@pytest.mark.parametrize(
    "why, change, element, words",
    ADMINISTRATION_REFUSALS,
    ids=[r[0] for r in ADMINISTRATION_REFUSALS],
)
def test_a_dose_given_b12_cannot_read_is_refused_naming_the_element(
    why: str, change: tuple[str, Any], element: str, words: str
) -> None:
    with pytest.raises(FhirReadError) as caught:
        read_administration(_set(loads(dumps(ADMINISTRATION)), *change), KB)
    assert element in caught.value.path, (why, caught.value.path)
    assert words.lower() in str(caught.value).lower(), (why, str(caught.value))


def test_a_patient_with_a_name_is_refused_b12_keeps_a_code() -> None:
    with pytest.raises(FhirReadError, match="never a name"):
        read_patient({"resourceType": "Patient", "id": "P-1", "name": [{"family": "Doe"}]})
