"""A whole course on a real database: prescribe, give (one late, one wrong dose caught), miss one
and re-flow, results showing a reticulocyte response and remission, then status and audit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from b12.adapters.cli import read
from b12.domain.lab_values import Measurement
from b12.domain.patient import Patient
from b12.knowledge import load_knowledge
from b12.knowledge.base import Knowledge
from b12.services.administering import GiveRequest, give, record_missed
from b12.services.follow_up import patient_status
from b12.services.planning import PlanRequest
from b12.services.record import add_event, add_labs, add_patient, due_on, prescribe, verify_audit
from tests.record.helpers import open_app

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
LOT = {"lot": "C123", "expiry": date(2027, 6, 30)}


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


def _give(record, kb, at: datetime, **options):  # type: ignore[no-untyped-def]
    return give(
        record.unit_of_work,
        kb,
        GiveRequest("P-0042", at, **{**LOT, **options}),
        "nurse A",
        record.clock,
    )


def _codes(findings) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in findings]


def _read(kb: Knowledge, *readings: str) -> list[Measurement]:
    return [read.reading(kb, text) for text in readings]


def test_a_course_from_prescription_to_remission(db_url: str, kb) -> None:  # type: ignore[no-untyped-def]
    record = open_app(db_url)
    work = record.unit_of_work
    add_patient(work, "P-0042", Patient(age_months=Decimal(744), sex="female"), "dr B",
                datetime(2026, 1, 2, 10, tzinfo=UTC))  # fmt: skip
    lab = add_labs(work, kb, "P-0042", _read(kb, "hb=8.9g/dL", "rbc=2.6", "reticulocytes=0.8%",
                                        "b12=110pg/mL"), date(2026, 1, 2), "lab", datetime(2026, 1, 2, 12, tzinfo=UTC))  # fmt: skip
    rx = prescribe(work, kb, "P-0042", PlanRequest(start=date(2026, 1, 5),
                   indication="pernicious-anaemia", product=PRODUCT), "dr B", datetime(2026, 1, 2, 14, tzinfo=UTC))  # fmt: skip
    b12 = next(r for r in lab.results if r.analyte == "b12")
    assert (b12.value, b12.unit, b12.normalised_value, b12.normalised_unit) == (
        Decimal(110), "pg/mL", Decimal("81.18"), "pmol/L")  # fmt: skip
    assert rx.prescription is not None and rx.prescription.product == PRODUCT
    planned = rx.prescription.doses
    assert [(d.date, d.dose_mcg, d.volume_ml) for d in planned[:3]] == [
        (date(2026, 1, 5), Decimal(100), Decimal("0.1")), (date(2026, 1, 6), Decimal(100), Decimal("0.1")),
        (date(2026, 1, 7), Decimal(100), Decimal("0.1"))]  # fmt: skip

    first = _give(record, kb, datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert first.recorded is not None and first.site == "left deltoid"
    assert (first.recorded.dose_mcg, first.recorded.volume_ml) == (Decimal(100), Decimal("0.1"))
    assert _give(record, kb, datetime(2026, 1, 6, 9, tzinfo=UTC)).site == "right deltoid"

    late = _give(record, kb, datetime(2026, 1, 8, 16, tzinfo=UTC))  # dose 3 was due on the 7th
    assert late.recorded is not None and "RECORD_LATE" in _codes(late.findings)
    assert late.recorded.findings[0]["code"] == "RECORD_LATE"  # findings kept with the record

    wrong = _give(record, kb, datetime(2026, 1, 9, 9, tzinfo=UTC), dose=read.dose("1000mcg"))
    assert wrong.recorded is None
    assert _codes(wrong.stops) == ["RECORD_NOT_RECORDED", "RECORD_DOSE_DIFFERS"]
    assert wrong.stops[1].suggestion is not None
    assert wrong.stops[1].suggestion.action == {"set": "dose", "to": "100 mcg"}
    assert (
        _give(record, kb, datetime(2026, 1, 9, 9, 5, tzinfo=UTC)).recorded is not None
    )  # dose 4, right dose

    twice = _give(record, kb, datetime(2026, 1, 9, 17, tzinfo=UTC))
    assert twice.recorded is None and "RECORD_ALREADY_GIVEN_TODAY" in _codes(twice.stops)

    missed = record_missed(record.unit_of_work, "P-0042", "in hospital", date(2026, 1, 10),
                           "nurse A", datetime(2026, 1, 10, 18, tzinfo=UTC))  # fmt: skip
    assert missed.recorded.planned_number == 5
    assert missed.next_due is not None
    assert (missed.next_due.planned.number, missed.next_due.due) == (5, date(2026, 1, 11))
    assert _codes(missed.findings) == ["RECORD_MISSED_REVIEW"]
    assert "needs the prescriber's review" in missed.findings[0].message
    assert _give(record, kb, datetime(2026, 1, 11, 9, tzinfo=UTC)).planned.planned.number == 5  # type: ignore[union-attr]

    work = record.unit_of_work
    add_labs(work, kb, "P-0042", _read(kb, "reticulocytes=6.5%", "hb=10.4g/dL"),
             date(2026, 1, 12), "lab", datetime(2026, 1, 12, 12, tzinfo=UTC))  # fmt: skip
    add_labs(work, kb, "P-0042", _read(kb, "rbc=4.6", "hb=12.1g/dL", "haematocrit=38%"),
             date(2026, 2, 20), "lab", datetime(2026, 2, 20, 12, tzinfo=UTC))  # fmt: skip
    add_event(work, "P-0042", date(2026, 1, 11), "pain at the injection site", "mild",
              "nurse A", datetime(2026, 1, 11, 10, tzinfo=UTC))  # fmt: skip
    status = patient_status(work, "P-0042", date(2026, 1, 13))
    due = due_on(work, date(2026, 1, 13))
    chain = verify_audit(work)
    with record.unit_of_work() as uow:
        entries = list(uow.audit.entries())
    actions = [e.action for e in entries if e.action != "bind"]
    # each planned dose and check is a row of its own, bound by a link of its own
    rx = status.prescription
    assert rx is not None
    bound = sorted((e.record_table, e.entity_id) for e in entries if e.action == "bind")
    assert bound == sorted(
        [("planned_doses", f"{rx.id}/{d.number}") for d in rx.doses]
        + [("planned_labs", f"{rx.id}/{lab.number}") for lab in rx.labs]
    )

    assert status.to_dict()["given"] == 5
    dose6 = status.course[5]
    assert (dose6.planned.date, dose6.due, dose6.state) == (
        date(2026, 1, 10),
        date(2026, 1, 12),
        "planned",
    )
    assert _codes(status.findings)[:1] == ["RECORD_OVERDUE"]
    assert {"RETIC_RISING", "REMISSION_REACHED"} <= set(_codes(status.findings))
    assert "HB_FALLING" not in _codes(status.findings)
    kinds = [e.kind for e in status.timeline if e.on <= date(2026, 1, 12)]
    assert kinds.count("given") == 5 and kinds.count("missed") == 1 and "event" in kinds
    assert [(d.patient, d.dose.planned.number, d.overdue_days) for d in due] == [("P-0042", 6, 1)]
    assert chain.intact
    assert actions == ["patient-add", "lab-add", "lab-add", "lab-add", "lab-add", "prescribe",
                       "give", "give", "give", "give-refused", "give", "give-refused", "missed",
                       "give", "lab-add", "lab-add", "lab-add", "lab-add", "lab-add", "event-add"]  # fmt: skip
