"""`correct` on the fake record: a new record replaces the old, which is kept and no longer counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from b12.bootstrap import App
from b12.domain.records import current
from b12.errors import InputError
from tests.services import steps


def _records(app: App) -> dict[str, Any]:
    """One current record of each correctable kind."""
    given = steps.give(app, datetime(2026, 1, 5, 9, tzinfo=UTC)).recorded
    (lab,) = steps.labs(app, ["hb=9.1g/dL"], date(2026, 1, 5)).results
    event = steps.event(app, date(2026, 1, 5), "sore arm")
    return {"administration": given, "lab": lab, "event": event}


CHANGES = {
    "administration": ("administrations", {"site": "right deltoid", "lot": "L2"}),
    "lab": ("labs", {"taken_on": date(2026, 1, 4)}),
    "event": ("events", {"severity": "moderate"}),
}


@pytest.mark.parametrize("kind", CHANGES)
def test_a_correction_replaces_the_record_and_keeps_the_old_one(course: App, kind: str) -> None:
    old = _records(course)[kind]
    holder, changes = CHANGES[kind]
    done = steps.correct(course, kind, old.id, changes)
    assert done.new.corrects_id == old.id and done.old == old
    assert {k: getattr(done.new, k) for k in changes} == changes
    with course.unit_of_work() as uow:
        every = getattr(uow, holder).for_patient(old.patient_id)
        last = list(uow.audit.entries())[-1]
    assert {r.id for r in every} == {old.id, done.new.id}  # nothing deleted
    assert [r.id for r in current(every)] == [done.new.id]
    assert (last.action, last.payload["reason"]) == (f"correct-{kind}", "written in the wrong row")


def test_a_corrected_dose_counts_in_place_of_the_old_one(course: App) -> None:
    old = _records(course)["administration"]
    steps.correct(
        course, "administration", old.id, {"dose_mcg": Decimal(50), "volume_ml": Decimal("0.05")}
    )
    (now,) = steps.given(course)
    assert (now.dose_mcg, now.planned_number) == (Decimal(50), 1)


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("administration", {"patient_id": "other"}, "not patient_id"),
        ("administration", {}, "nothing was given to correct"),
        ("prescription", {"start": date(2026, 1, 6)}, "cannot correct 'prescription'"),
    ],
)
def test_a_correction_of_what_cannot_change_is_refused(
    course: App, kind: str, changes: dict[str, Any], message: str
) -> None:
    old = _records(course)["administration"]
    with pytest.raises(InputError, match=message):
        steps.correct(course, kind, old.id, changes)


def test_a_record_already_corrected_is_refused(course: App) -> None:
    old = _records(course)["administration"]
    steps.correct(course, "administration", old.id, {"lot": "L2"})
    with pytest.raises(InputError, match="already corrected"):
        steps.correct(course, "administration", old.id, {"lot": "L3"})
