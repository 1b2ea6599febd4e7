"""Every golden plan, dose given and result -> FHIR R4 -> b12 is identical, and every resource b12
writes validates against the R4 JSON schema and loads in fhir.resources' R4B models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.fhir.bundle import bundle, resources_of
from b12.adapters.fhir.medication_request import (
    medication_request,
    planned_doses,
    read_medication_request,
)
from b12.adapters.fhir.resources import (
    detected_issue,
    medication_administration,
    observation,
    patient,
    read_administration,
    read_observation,
    read_patient,
)
from b12.domain.findings import Level, finding, suggest
from b12.domain.lab_values import show_unit
from b12.domain.labs import loinc_for
from b12.domain.records import Administration, LabResult, PatientRecord
from b12.services.planning import plan_therapy
from tests.fhir.helpers import (
    GOLDEN_PLANS,
    PRESCRIBED,
    plan_of,
    prescription_of,
    r4b_loads,
    schema_errors,
    through_text,
)

KB = load_knowledge()
GIVEN_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _dated_regimens() -> list[str]:
    """Every regimen of the knowledge whose plan dates at least one dose."""
    out = []
    for regimen in sorted(KB.regimens):
        try:
            plan = plan_of(KB, regimen=regimen)
        except Exception:  # a regimen the planner refuses on its own is not a FHIR question
            continue
        if plan.administrations:
            out.append(regimen)
    return out


REGIMENS = _dated_regimens()


def _round_trip(options: dict[str, Any]) -> None:
    plan = plan_of(KB, **options)
    rx = prescription_of(plan)
    resource = medication_request(rx, "P-0042", KB)
    order = read_medication_request(through_text(resource), KB)
    assert planned_doses(order) == rx.doses
    assert (order.regimen, order.product, order.indication, order.substance, order.start) == (
        rx.regimen_id, rx.product, rx.indication, rx.substance, rx.start,
    )  # fmt: skip
    assert order.patient == "P-0042" and order.id == rx.id and order.unread == ()
    if rx.concentration and not rx.product:
        assert str(order.concentration) == rx.concentration
    # planned again from what the order says: the same dated doses
    again = plan_therapy(KB, order.plan_request(plan.request.patient))
    assert [(a.date, a.dose_mcg, a.route) for a in again.administrations] == [
        (d.date, d.dose_mcg, d.route) for d in rx.doses
    ]


@pytest.mark.parametrize("name", sorted(GOLDEN_PLANS))
def test_every_golden_plan_round_trips_exactly(name: str) -> None:
    _round_trip(GOLDEN_PLANS[name])


@pytest.mark.parametrize("regimen", REGIMENS)
def test_every_regimen_of_the_knowledge_round_trips_exactly(regimen: str) -> None:
    _round_trip({"regimen": regimen})


def test_the_label_course_reads_as_the_interoperability_facts_write_it() -> None:
    rx = prescription_of(plan_of(KB, **GOLDEN_PLANS["us-label-pernicious-anaemia"]))
    dosages = medication_request(rx, "P-1", KB)["dosageInstruction"]
    repeats = [d["timing"]["repeat"] for d in dosages]
    assert [d["sequence"] for d in dosages] == [1, 2, 3, 4]
    assert repeats[0] == {"frequency": 1, "period": 1, "periodUnit": "d", "count": 7,
                          "boundsPeriod": {"start": "2026-01-05"}}  # fmt: skip
    assert repeats[1] == {"frequency": 1, "period": 2, "periodUnit": "d", "count": 7}
    assert repeats[3] == {"frequency": 1, "period": 1, "periodUnit": "mo"}  # lifelong: no end
    assert dosages[0]["doseAndRate"][0]["doseQuantity"] == {
        "value": Decimal(100), "unit": "mcg", "system": "http://unitsofmeasure.org", "code": "ug",
    }  # fmt: skip


# --- administrations ----------------------------------------------------------------------------


def _administration(**changes: Any) -> Administration:
    base = Administration(
        "a-1", "patient-1", "rx-1", GIVEN_AT, Decimal(1000), Decimal("1"),
        "cyanocobalamin-us-1000mcg-ml-10ml-vial", "C4471", date(2027, 9, 30), "IM",
        "left deltoid", "nurse.bo", 1, (), "fp", None,
    )  # fmt: skip
    return replace(base, **changes)


ADMINISTRATIONS = {
    "every field": _administration(),
    "no site, lot or expiry": _administration(site=None, lot=None, expiry=None),
    "a fraction of a mcg, another zone": _administration(
        dose_mcg=Decimal("0.5"),
        volume_ml=Decimal("0.005"),
        given_at=datetime(2026, 1, 5, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ),
    "an override, subcutaneous": _administration(
        route="deep-SC",
        override_reason="prescriber-confirmed: reviewed",
        site="right vastus-lateralis",
    ),
    "no prescription or product": _administration(
        prescription_id=None, product=None, planned_number=None, volume_ml=None
    ),
}


@pytest.mark.parametrize("name", sorted(ADMINISTRATIONS))
def test_every_administration_round_trips_exactly(name: str) -> None:
    given = ADMINISTRATIONS[name]
    read = read_administration(
        through_text(medication_administration(given, "P-0042", KB, "cyanocobalamin")), KB
    )
    request = read.request
    assert (request.patient, request.at, request.dose.mass.mcg if request.dose else None) == (
        "P-0042", given.given_at, given.dose_mcg,
    )  # fmt: skip
    assert (request.product, request.route, request.site, request.lot, request.expiry) == (
        given.product, given.route, given.site, given.lot, given.expiry,
    )  # fmt: skip
    assert request.override == given.override_reason
    assert (read.prescription, read.planned_number, read.performer, read.volume_ml) == (
        given.prescription_id, given.planned_number, given.given_by, given.volume_ml,
    )  # fmt: skip


# --- results ------------------------------------------------------------------------------------


def _results() -> list[LabResult]:
    out = []
    for analyte in KB.all("analytes").values():
        for unit in analyte.units:
            code = loinc_for(analyte, unit)
            value = Decimal("4.65") if unit.unit != "%" else Decimal("1.20")
            out.append(
                LabResult(
                    f"lab-{analyte.id}-{len(out)}",
                    "patient-1",
                    date(2026, 1, 10),
                    analyte.id,
                    None if code is None else code.code,
                    value,
                    show_unit(unit.unit),
                    None,
                    None,
                    f"{analyte.id}={value}{show_unit(unit.unit)}",
                    PRESCRIBED,
                    "nurse.bo",
                )
            )
    return out


RESULTS = _results()


@pytest.mark.parametrize("lab", RESULTS, ids=[r.id for r in RESULTS])
def test_every_result_in_every_unit_round_trips_exactly(lab: LabResult) -> None:
    read = read_observation(through_text(observation(lab, "P-0042", KB)), KB)
    m = read.measurement
    assert (read.patient, read.taken_on) == ("P-0042", lab.taken_on)
    assert (m.analyte, m.value, show_unit(m.unit), m.text) == (
        lab.analyte,
        lab.value,
        lab.unit,
        lab.text,
    )
    unit = next(u for u in KB.get("analytes", m.analyte).units if u.unit == m.unit)
    code = loinc_for(KB.get("analytes", m.analyte), unit)
    assert (None if code is None else code.code) == lab.loinc
    assert str(m.value) == str(lab.value)  # the digits as written: 1.20 stays 1.20


def test_a_code_that_is_no_fhir_id_is_the_identifier_only(schema_validator: Any) -> None:
    record = PatientRecord("p-1", "P_0042/x", {}, PRESCRIBED, "dr")
    resource = patient(record)
    assert "id" not in resource and schema_errors(schema_validator, resource) == []
    assert read_patient(through_text(resource)).code == "P_0042/x"


def test_the_patient_round_trips_without_a_name() -> None:
    record = PatientRecord(
        "p-1", "P-0042", {"sex": "female"}, PRESCRIBED, "dr", born=date(1961, 4, 30)
    )
    resource = patient(record)
    assert "name" not in resource
    read = read_patient(through_text(resource))
    assert (read.code, read.born, read.sex) == ("P-0042", date(1961, 4, 30), "female")


# --- every resource b12 writes is valid R4 ----------------------------------------------------------


def _every_written() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for options in GOLDEN_PLANS.values():
        out.append(medication_request(prescription_of(plan_of(KB, **options)), "P-0042", KB))
    out += [
        medication_administration(a, "P-0042", KB, "cyanocobalamin")
        for a in ADMINISTRATIONS.values()
    ]
    out += [observation(lab, "P-0042", KB) for lab in RESULTS]
    out.append(
        patient(
            PatientRecord(
                "p-1", "P-0042", {"sex": "male"}, PRESCRIBED, "dr", born=date(1961, 4, 30)
            )
        )
    )
    slip = finding(
        "DOSE_UNIT_SLIP", Level.STOP, "1,000,000 mcg is 1,000 times ...", ("us-label",),
        {"dose": "1,000,000 mcg"}, suggestion=suggest("order 1,000 mcg", set="dose", to="1,000 mcg"),
    )  # fmt: skip
    out.append(detected_issue(slip, "P-0042", "MedicationRequest/rx-1", PRESCRIBED))
    out.append(detected_issue(slip.to_dict(), "P-0042", None))
    rx = prescription_of(plan_of(KB, **GOLDEN_PLANS["uk-without-neuro"]))
    given = [replace(_administration(), findings=(slip.to_dict(),))]
    found = resources_of(KB, "P-0042", out[-3], [rx], given, RESULTS[:2])
    out.append(bundle(found.all(), timestamp=PRESCRIBED))
    out.append(bundle(found.observations, "searchset", base="http://127.0.0.1/fhir/r4", total=9,
                      links=[("self", "http://127.0.0.1/fhir/r4/Observation?patient=P-0042")]))  # fmt: skip
    return out


WRITTEN = _every_written()
IDS = [f"{r['resourceType']}-{i}" for i, r in enumerate(WRITTEN)]


@pytest.mark.parametrize("resource", WRITTEN, ids=IDS)
def test_every_written_resource_validates_against_the_r4_json_schema(
    resource: dict[str, Any], schema_validator: Any
) -> None:
    assert schema_errors(schema_validator, resource) == []


@pytest.mark.parametrize("resource", WRITTEN, ids=IDS)
def test_every_written_resource_loads_in_the_r4b_models(resource: dict[str, Any]) -> None:
    r4b_loads(resource)


def test_the_schema_catches_what_the_models_let_through(schema_validator: Any) -> None:
    """The schema is the stricter check: a period unit that is not a code, a dose as a string."""
    rx = medication_request(prescription_of(plan_of(KB, **GOLDEN_PLANS["uk-with-neuro"])), "P", KB)
    rx["dosageInstruction"][0]["timing"]["repeat"]["periodUnit"] = "month"
    rx["dosageInstruction"][1]["doseAndRate"][0]["doseQuantity"]["value"] = "1000"
    errors = schema_errors(schema_validator, rx)
    assert any("'month' is not one of" in e for e in errors), errors
    assert any("'1000' is not of type 'number'" in e for e in errors), errors
    r4b_loads(rx)  # the models take both
