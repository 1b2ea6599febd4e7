"""The record judges every laboratory result: `lab add` with the lab's own range and the day of
treatment, and `status` judging each stored result, not only the latest of each test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from b12 import load_knowledge
from b12.adapters.cli import read
from b12.domain.findings import Level
from b12.domain.patient import Patient

KB = load_knowledge()


def _record_with_course(db_url: str) -> Any:
    from b12.services.administering import GiveRequest, give
    from b12.services.planning import PlanRequest
    from b12.services.record import add_patient, prescribe
    from tests.record.helpers import open_app

    record = open_app(db_url)
    work = record.unit_of_work
    add_patient(work, "P-K", Patient(age_months=Decimal(720), sex="female"), "dr",
                datetime(2026, 1, 2, 10, tzinfo=UTC))  # fmt: skip
    prescribe(work, KB, "P-K", PlanRequest(start=date(2026, 1, 5), indication="pernicious-anaemia",
              product="cyanocobalamin-us-1000mcg-ml-10ml-vial"), "dr", datetime(2026, 1, 2, 11, tzinfo=UTC))  # fmt: skip
    given = give(work, KB, GiveRequest("P-K", datetime(2026, 1, 5, 9, tzinfo=UTC), lot="L1",
                 expiry=date(2027, 6, 30)), "nurse", record.clock)  # fmt: skip
    assert given.recorded is not None
    return record


def test_lab_add_warns_of_hypokalaemia_on_day_2_and_status_keeps_judging_it(db_url: str) -> None:
    from b12.services.follow_up import patient_status
    from b12.services.record import add_labs

    record = _record_with_course(db_url)
    early = add_labs(record.unit_of_work, KB, "P-K", [read.reading(KB, "k=3.0mmol/L")],
                     date(2026, 1, 7), "lab", datetime(2026, 1, 7, 12, tzinfo=UTC))  # fmt: skip
    later = add_labs(record.unit_of_work, KB, "P-K", [read.reading(KB, "k=3.6mmol/L")],
                     date(2026, 1, 20), "lab", datetime(2026, 1, 20, 12, tzinfo=UTC),
                     read.lab_ranges(KB, ["k=3.5-5.1mmol/L"]))  # fmt: skip
    status = patient_status(record.unit_of_work, "P-K", date(2026, 1, 21), KB)
    with_lab_range = patient_status(record.unit_of_work, "P-K", date(2026, 1, 21), KB,
                                    read.lab_ranges(KB, ["k=3.5-5.1"]))  # fmt: skip
    (hypo,) = [f for f in early.findings if f.code == "LAB_HYPOKALAEMIA"]
    assert hypo.level is Level.WARNING and hypo.message.startswith(
        "URGENT: potassium 3 mmol/L on day 2"
    )
    assert early.to_dict()["results"][0]["range_used"]["kind"] == "default"
    assert later.findings == ()  # 3.6 is normal by the lab's own range, which is reported
    assert later.to_dict()["results"][0]["range_used"]["text"] == "lab's own range 3.5-5.1 mmol/L"
    # status judges both results, the old low one too, each with its date and range
    assert [(r["date"], r["band"]) for r in status.results] == [
        ("2026-01-07", "low"),
        ("2026-01-20", "low"),  # 3.6 against the default 3.7-5.2: no lab range given to status
    ]
    assert [(r["date"], r["band"]) for r in with_lab_range.results] == [
        ("2026-01-07", "low"),
        ("2026-01-20", "normal"),
    ]
    old = [f for f in with_lab_range.findings if f.code == "LAB_HYPOKALAEMIA"]
    assert len(old) == 1
    assert old[0].level is Level.WARNING
    assert old[0].message.startswith("2026-01-07: URGENT: potassium 3 mmol/L on day 2")
    assert old[0].basis.values["taken on"] == "2026-01-07"
    assert "POTASSIUM_UNJUDGED" not in [f.code for f in status.findings]
    assert status.to_dict()["results"][0]["range_used"]["sources"] == ["medlineplus-potassium"]
