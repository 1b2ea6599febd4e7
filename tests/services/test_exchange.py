"""The record exchanged with other systems: each use case reads (and writes) in one unit of
work of its own; a check that refuses leaves nothing written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from b12.bootstrap import App
from b12.domain.findings import Finding, Level
from b12.domain.patient import Patient
from b12.errors import InputError
from b12.services import administering, exchange, record
from b12.services.accounts import entries_of
from b12.services.planning import PlanRequest
from tests.fakes import Opened
from tests.services import steps

NOW = datetime(2026, 1, 20, 9, tzinfo=UTC)


def _actions(app: App) -> list[str]:
    return [e.action for e in entries_of(app.unit_of_work) if e.action != "bind"]


def _one_unit(factory: Opened, commits: int) -> None:
    (unit,) = factory.units
    assert unit.commits == commits
    assert not hasattr(unit, "_rows")  # closed


def test_an_export_reads_the_current_records_and_is_audited_in_the_same_transaction(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    found = exchange.export_records(app.unit_of_work, "P-1", "dr Ames", "fhir-export")
    _one_unit(factory, 1)
    assert found.patient.code == "P-1"
    assert len(found.prescriptions) == 1 and len(found.administrations) == 1
    assert found.labs == ()
    assert _actions(app)[-1] == "fhir-export"


def test_an_export_of_an_unknown_patient_writes_no_audit_entry(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    before = _actions(app)
    factory.units.clear()
    with pytest.raises(record.UnknownPatientError):
        exchange.export_records(app.unit_of_work, "P-9", "dr Ames", "fhir-export")
    _one_unit(factory, 0)
    factory.units.clear()
    assert _actions(app) == before


def test_the_owner_of_a_record_is_its_patient_and_of_a_corrected_one_none(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    given = steps.given(app)[0].id
    rx = record.patient_record(app.unit_of_work, "P-1")[1][0].id
    factory.units.clear()
    assert exchange.owner_of(app.unit_of_work, "administration", given) == "P-1"
    _one_unit(factory, 0)
    assert exchange.owner_of(app.unit_of_work, "prescription", rx) == "P-1"
    assert exchange.owner_of(app.unit_of_work, "lab", given) is None  # not a result's id
    assert exchange.owner_of(app.unit_of_work, "administration", "x" * 65) is None
    steps.correct(app, "administration", given, {"lot": "L2"})
    assert exchange.owner_of(app.unit_of_work, "administration", given) is None
    assert exchange.substance_of(app.unit_of_work, rx) == "cyanocobalamin"
    assert exchange.substance_of(app.unit_of_work, None) is None


def test_a_patient_received_is_added_once_then_present(opened: tuple[App, Opened]) -> None:
    app, factory = opened
    patient = Patient(sex="male")
    added = exchange.receive_patient(
        app.unit_of_work, "P-2", patient, "dr Ames", NOW, born=date(1960, 3, 1)
    )
    _one_unit(factory, 1)
    assert added.added and added.record.born == date(1960, 3, 1)
    factory.units.clear()
    again = exchange.receive_patient(app.unit_of_work, "P-2", patient, "dr Ames", NOW, born=None)
    _one_unit(factory, 0)
    assert not again.added and again.record.id == added.record.id
    present = exchange.receive_patient(app.unit_of_work, "P-1", patient, "x", NOW, born=None)
    assert not present.added and present.record.profile["sex"] == "female"


def test_a_patient_received_keeps_the_day_its_age_was_given(opened: tuple[App, Opened]) -> None:
    app, _ = opened
    profile = Patient(age_months=Decimal(480), allergies=("cobalt",))
    given_on = date(2025, 7, 1)
    added = exchange.receive_patient(
        app.unit_of_work, "P-3", profile, "dr Ames", NOW, born=None, age_given_on=given_on
    )
    assert (added.record.age_months, added.record.age_given_on) == (Decimal(480), given_on)
    assert record.patient_on(added.record, NOW.date()).age_months == Decimal(486)
    assert exchange.profile_differs(added.record, profile, None, given_on) is None
    other = Patient(age_months=Decimal(480))
    assert "allergies" in (exchange.profile_differs(added.record, other, None, given_on) or "")
    later = exchange.profile_differs(added.record, profile, None, date(2025, 8, 1))
    assert later is not None and later.startswith("age")


@pytest.mark.parametrize(
    ("profile", "given_on", "words"),
    [
        (Patient(age_months=Decimal(480)), date(2026, 1, 21), "after today"),
        (Patient(), date(2025, 1, 1), "but no age"),
    ],
)
def test_an_age_given_on_a_day_that_cannot_be_is_refused_nothing_written(
    opened: tuple[App, Opened], profile: Patient, given_on: date, words: str
) -> None:
    app, _ = opened
    with pytest.raises(InputError, match=words):
        exchange.receive_patient(
            app.unit_of_work, "P-4", profile, "dr Ames", NOW, born=None, age_given_on=given_on
        )
    with pytest.raises(record.UnknownPatientError):
        exchange.export_records(app.unit_of_work, "P-4", "dr Ames", "fhir-export")


def _request() -> PlanRequest:
    return PlanRequest(
        start=date(2026, 2, 1), indication="pernicious-anaemia", product=steps.PRODUCT
    )


def _stop(profile: Patient) -> list[Finding]:
    from b12.domain.findings import finding

    assert profile.age_months == Decimal(744)  # the record's profile, in the transaction
    return [finding("DOSE_UNIT_SLIP", Level.STOP, "1000 mg: did you mean mcg?", ())]


def test_an_order_whose_checks_stop_is_not_prescribed_without_an_override(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    done = exchange.prescribe_checked(
        app.unit_of_work, app.knowledge, "P-1", _request(), "dr Ames", NOW,
        checks=_stop, agrees=lambda plan: None,
    )  # fmt: skip
    _one_unit(factory, 0)
    assert done.prescription is None
    assert [f.code for f in done.findings] == ["DOSE_UNIT_SLIP"]
    factory.units.clear()
    lifted = exchange.prescribe_checked(
        app.unit_of_work, app.knowledge, "P-1", _request(), "dr Ames", NOW,
        checks=_stop, agrees=lambda plan: None, override="checked with the prescriber by phone",
    )  # fmt: skip
    _one_unit(factory, 1)
    assert lifted.prescription is not None
    assert lifted.findings[0].code == "DOSE_UNIT_SLIP"
    assert len({(f.code, f.message) for f in lifted.findings}) == len(lifted.findings)


def test_an_order_the_plan_does_not_agree_with_records_nothing(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened

    def disagrees(plan: Any) -> None:
        raise InputError("the order's doses are not the plan's", field="dose")

    with pytest.raises(InputError, match="not the plan's"):
        exchange.prescribe_checked(
            app.unit_of_work, app.knowledge, "P-1", _request(), "dr Ames", NOW,
            checks=lambda profile: [], agrees=disagrees,
        )  # fmt: skip
    _one_unit(factory, 0)
    factory.units.clear()
    (rx,) = record.patient_record(app.unit_of_work, "P-1")[1]
    assert rx.start == steps.START  # the old prescription still the only one


def test_a_dose_naming_another_prescription_or_dose_is_refused_in_its_transaction(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    (rx,) = record.patient_record(app.unit_of_work, "P-1")[1]
    factory.units.clear()
    request = administering.GiveRequest("P-1", datetime(2026, 1, 12, 9, tzinfo=UTC), **steps.LOT)

    def give(**named: Any) -> administering.Given:
        return administering.give(
            app.unit_of_work, app.knowledge, request, "nurse Bo", app.clock, **named
        )

    with pytest.raises(administering.NotActivePrescriptionError) as wrong:
        give(prescription="another")
    assert (wrong.value.named, wrong.value.active) == ("another", rx.id)
    with pytest.raises(administering.NotOwedNextError) as later:
        give(prescription=rx.id, planned_number=3)
    assert (later.value.named, later.value.owed) == (3, 2)
    assert all(u.commits == 0 for u in factory.units)
    assert len(steps.given(app)) == 1
    done = give(prescription=rx.id, planned_number=2)
    assert done.recorded is not None and done.recorded.planned_number == 2
