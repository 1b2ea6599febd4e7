"""The fake record and the databases agree: the same scenarios give the same records and findings
on the fake (tests/fakes.py), SQLite and PostgreSQL, so the fake service tests speak for them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from b12.bootstrap import App, Settings, build
from b12.domain.jsonable import to_json
from b12.domain.records import AdverseEvent
from b12.knowledge import load_knowledge
from tests.fakes import FixedClock
from tests.services import steps

KB = load_knowledge()
#: What an id or a moment of writing would make differ between two runs.
VARYING = {"id", "patient_id", "prescription_id", "administration_id", "corrects_id", "replaces_id",
           "event", "corrects", "at", "hash", "prev_hash", "entity_id", "patient", "payload", "ref"}  # fmt: skip


def _same_shape(value: Any) -> Any:
    """The value without what varies between runs (ids, hashes, times of writing)."""
    if isinstance(value, dict):
        return {k: _same_shape(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    return value


def _course(app: App) -> dict[str, Any]:
    """Patient, prescription, doses, a missed one, results, a reaction, a refusal and its bypass,
    a correction: what each step returned, and the record and status afterwards."""
    from b12.services.record import due_on, wards

    out: dict[str, Any] = {}
    # wards (revision 0012): a correction without a ward keeps it, one with a ward moves the patient
    out["ward_added"] = steps.add_patient(app, "P-2", ward="Day unit").ward
    out["ward_kept"] = steps.add_patient(app, "P-2", correct=True, weight_kg=70).ward
    steps.add_patient(app, ward="Ward 3")
    out["ward_moved"] = steps.add_patient(app, correct=True, ward=" Ward 4 ").ward
    out["prescribed"] = steps.prescribe(app).to_dict()
    first = steps.give(app, datetime(2026, 1, 5, 9, tzinfo=UTC))
    out["given"] = [first.to_dict(), steps.give(app, datetime(2026, 1, 6, 9, tzinfo=UTC)).to_dict()]
    out["missed"] = steps.missed(app, date(2026, 1, 7)).to_dict()
    # one result a day: results of one day are ordered by their (random) ids, here as there
    out["labs"] = [steps.labs(app, ["hb=9.1g/dL"], date(2026, 1, 6)).to_dict(),
                   steps.labs(app, ["k=3.0mmol/L"], date(2026, 1, 7)).to_dict()]  # fmt: skip
    out["given"].append(steps.give(app, datetime(2026, 1, 8, 9, tzinfo=UTC)).to_dict())
    steps.event(app, date(2026, 1, 8), "urticaria", "severe")
    out["given"].append(steps.give(app, datetime(2026, 1, 9, 9, tzinfo=UTC)).to_dict())  # refused
    bypass = "prescriber reviewed: adrenaline at hand"
    out["given"].append(
        steps.give(app, datetime(2026, 1, 9, 9, tzinfo=UTC), override=bypass).to_dict()
    )
    assert first.recorded is not None
    out["corrected"] = steps.correct(
        app, "administration", first.recorded.id, {"site": "left thigh"}
    ).to_dict()
    # entered in error, given again in its place; held; a scanned pack (revision 0011)
    last = out["given"][-1]["administration"]
    out["voided"] = steps.void(app, "administration", last["id"]).to_dict()
    out["given"].append(
        steps.give(
            app, datetime(2026, 1, 10, 9, tzinfo=UTC), override=bypass, scanned=True
        ).to_dict()
    )
    out["held"] = steps.missed(
        app, date(2026, 1, 10), reason="potassium awaited", held=True
    ).to_dict()
    out["amended"] = [a.to_dict() for a in _amendments(app)]
    out["status"] = steps.status(app, date(2026, 1, 10)).to_dict()
    out["wards"] = wards(app.unit_of_work)
    out["due_on_ward"] = [
        d.to_dict() for d in due_on(app.unit_of_work, date(2026, 1, 12), "ward 4")
    ]
    out["audit"] = steps.audit_actions(app)
    from b12.services.record import verify_audit

    out["chain_intact"] = verify_audit(app.unit_of_work).intact
    return _same_shape(to_json(out))


def _amendments(app: App) -> list[Any]:
    from b12.services.corrections import amendments
    from b12.services.record import find_patient

    with app.unit_of_work() as uow:
        return amendments(uow, find_patient(uow, "P-1").id)


def test_a_whole_course_is_the_same_on_the_fake_and_the_database(db_url: str) -> None:
    database = build(Settings(database_url=db_url), knowledge=KB, clock=FixedClock(steps.NOW))
    on_fake, on_database = _course(steps.fake_app(KB)), _course(database)
    database.close()
    assert on_fake["chain_intact"] is True
    assert on_fake["audit"][-4:] == ["correct-administration", "void-administration", "give",
                                     "missed"]  # fmt: skip
    assert on_fake["given"][-1]["administration"]["scanned"] is True
    assert (on_fake["ward_added"], on_fake["ward_kept"], on_fake["ward_moved"]) == (
        "Day unit", "Day unit", "Ward 4"
    )  # fmt: skip
    assert on_fake["wards"] == ["Day unit", "Ward 4"]
    assert [(d["dose_number"], d["ward"]) for d in on_fake["due_on_ward"]] == [(5, "Ward 4")]
    assert on_fake == on_database


@pytest.mark.parametrize("where", ["fake", "database"])
def test_what_is_not_committed_is_dropped(db_url: str, where: str) -> None:
    app = (
        steps.fake_app(KB)
        if where == "fake"
        else build(Settings(database_url=db_url), knowledge=KB)
    )
    patient = steps.add_patient(app)
    event = AdverseEvent("e1", patient.id, date(2026, 1, 5), "sore arm", "mild", False, None,
                         datetime(2026, 1, 5, 10, tzinfo=UTC), "nurse Bo")  # fmt: skip
    with app.unit_of_work() as uow:
        uow.events.add(event)
        uow.audit.append("nurse Bo", "event-add", "AdverseEvent", "e1", patient.id, {})
        assert uow.events.for_patient(patient.id) == [event]  # seen inside its own unit of work
    with app.unit_of_work() as uow:
        assert uow.events.for_patient(patient.id) == []
    assert steps.audit_actions(app) == ["patient-add"]
    app.close()
