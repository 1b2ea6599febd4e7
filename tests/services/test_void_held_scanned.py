"""Entered in error, held doses, the scanned mark, and a nurse's reason that lifts no stop, on the
fake record (tests/record/test_fake_agrees.py runs the same steps on the databases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from b12.bootstrap import App
from b12.domain.records import MissedDose, current
from b12.errors import InputError, UnknownNameError
from b12.services import administering, corrections
from b12.services.record import find_patient
from tests.services import steps

DAY1, DAY2 = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 6, 9, tzinfo=UTC)


def test_a_dose_entered_in_error_stops_counting_and_the_original_stays(course: App) -> None:
    given = steps.give(course, DAY1).recorded
    assert given is not None
    done = steps.void(course, "administration", given.id)
    assert done.new.entered_in_error and done.new.corrects_id == given.id
    assert (done.new.correction_reason, done.new.corrected_by) == (
        "recorded for the wrong patient", "dr Ames",
    )  # fmt: skip
    assert steps.given(course) == []
    with course.unit_of_work() as uow:
        every = uow.administrations.for_patient(given.patient_id)
        last = list(uow.audit.entries())[-1]
    assert given in every and len(every) == 2
    assert (last.action, last.payload["reason"]) == (
        "void-administration",
        "recorded for the wrong patient",
    )
    status = steps.status(course, date(2026, 1, 6))
    assert status.course[0].given is None  # owed again
    # given again: dose 1, and it replaces the void (the first row keeps the dose's key)
    again = steps.give(course, DAY2).recorded
    assert again is not None and again.planned_number == 1 and again.corrects_id == done.new.id
    assert [a.id for a in steps.given(course)] == [again.id]


def test_a_void_cannot_be_corrected_voided_twice_or_reach_another_patients_record(
    course: App,
) -> None:
    given = steps.give(course, DAY1).recorded
    assert given is not None
    steps.add_patient(course, "P-2")
    with pytest.raises(UnknownNameError, match="no current administration"):
        steps.void(course, "administration", given.id, code="P-2")  # not P-2's
    done = steps.void(course, "administration", given.id)
    with pytest.raises(UnknownNameError, match="already marked entered in error by dr Ames"):
        steps.void(course, "administration", given.id)
    for record_id in (given.id, done.new.id):
        with pytest.raises(UnknownNameError, match="no current administration"):
            steps.void(course, "administration", record_id)
        with pytest.raises(UnknownNameError):
            steps.correct(course, "administration", record_id, {"lot": "L2"})


def test_only_doses_and_results_are_voided_and_the_reason_must_say_why(course: App) -> None:
    event = steps.event(course, date(2026, 1, 5), "sore arm")
    with pytest.raises(InputError, match="cannot mark 'event' entered in error"):
        steps.void(course, "event", event.id)
    given = steps.give(course, DAY1).recorded
    assert given is not None
    with pytest.raises(InputError, match="must say why"):
        steps.void(course, "administration", given.id, reason="x")
    assert len(steps.given(course)) == 1


def test_a_result_entered_in_error_is_no_longer_judged(course: App) -> None:
    (lab,) = steps.labs(course, ["hb=9.1g/dL"], date(2026, 1, 5)).results
    steps.void(course, "lab", lab.id)
    assert steps.status(course, date(2026, 1, 6)).results == ()


def test_a_record_corrected_then_voided_says_so_and_a_corrected_one_names_its_successor(
    course: App,
) -> None:
    given = steps.give(course, DAY1).recorded
    assert given is not None
    first = steps.correct(course, "administration", given.id, {"lot": "L2"})
    with pytest.raises(UnknownNameError, match=f"the record that counts now is '{first.new.id}'"):
        steps.void(course, "administration", given.id)
    steps.void(course, "administration", first.new.id)
    for record_id in (given.id, first.new.id):  # the whole line is out of the count
        with pytest.raises(UnknownNameError, match="already marked entered in error"):
            steps.correct(course, "administration", record_id, {"lot": "L3"})


def test_a_correction_keeps_its_reason_who_and_when_on_the_record(course: App) -> None:
    given = steps.give(course, DAY1).recorded
    assert given is not None
    done = steps.correct(course, "administration", given.id, {"lot": "L2"})
    assert (done.new.correction_reason, done.new.corrected_by, done.new.corrected_at) == (
        "written in the wrong row", "nurse Bo", datetime(2026, 1, 20, 9, tzinfo=UTC),
    )  # fmt: skip
    assert not done.new.entered_in_error
    with course.unit_of_work() as uow:
        (amended,) = corrections.amendments(uow, given.patient_id)
    assert (amended.original, amended.by, amended.entered_in_error) == (given, done.new, False)


# --- held ---------------------------------------------------------------------------------------


def test_a_held_dose_is_its_own_kind_and_stays_owed(course: App) -> None:
    steps.give(course, DAY1)
    done = steps.missed(course, date(2026, 1, 6), reason="potassium awaited", held=True)
    assert (done.recorded.kind, done.recorded.reason) == ("held", "potassium awaited")
    entry = [e for e in steps.status(course, date(2026, 1, 7)).timeline if e.kind == "missed"]
    assert [e.says for e in entry] == ["dose 2 held: potassium awaited"]
    with pytest.raises(InputError, match="refused or held, not both"):
        steps.missed(course, date(2026, 1, 6), held=True, refused=True)


def test_a_held_dose_kept_before_the_held_kind_reads_as_held(course: App) -> None:
    """Revision 0011 rewrites no row: an older "missed" with the reason "held: ..." shows held."""
    steps.give(course, DAY1)
    done = steps.missed(course, date(2026, 1, 6), reason="held: potassium awaited")
    assert done.recorded.kind == "missed"  # as an older b12 kept it
    says = [e.says for e in steps.status(course, date(2026, 1, 7)).timeline if e.kind == "missed"]
    assert says == ["dose 2 held: potassium awaited"]


def test_missed_kind_reads_only_the_older_held_prefix() -> None:
    from b12.domain.records import missed_kind

    base = MissedDose("m", "p", "rx", 1, date(2026, 1, 6), "missed", "away", DAY1, "n")
    assert missed_kind(base) == ("missed", "away")
    assert missed_kind(replace(base, reason="held: low k")) == ("held", "low k")
    assert missed_kind(replace(base, kind="refused", reason="held: x")) == ("refused", "held: x")
    assert missed_kind(replace(base, kind="held", reason="low k")) == ("held", "low k")


# --- scanned ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scanned", [True, False, None])
def test_the_administration_keeps_whether_the_pack_was_scanned(course: App, scanned: Any) -> None:
    given = steps.give(course, DAY1, scanned=scanned).recorded
    assert given is not None and given.scanned is scanned
    assert steps.given(course)[0].scanned is scanned


# --- a nurse's reason lifts no stop ---------------------------------------------------------------


def _nurse_gives(app: App, at: datetime, override: str) -> administering.Given:
    request = administering.GiveRequest("P-1", at, override=override, lot="C4471",
                                        expiry=date(2027, 9, 30))  # fmt: skip
    return administering.give(
        app.unit_of_work, app.knowledge, request, "nurse Bo", app.clock, may_lift_stop=False
    )


def test_a_reason_from_a_role_that_may_not_lift_a_stop_carries_a_dose_past_warnings_only(
    course: App,
) -> None:
    steps.give(course, DAY1)
    steps.event(course, date(2026, 1, 5), "urticaria", "severe")  # a reaction: a stop
    with pytest.raises(administering.NotLiftedError, match="RECORD_REACTION_STOP"):
        _nurse_gives(course, DAY2, "patient-informed")
    assert len(steps.given(course)) == 1
    assert steps.audit_actions(course)[-1] == "give-refused"
    # past a warning (given early): the reason is kept
    clean = steps.fake_app(course.knowledge)
    steps.add_patient(clean)
    steps.prescribe(clean)
    steps.give(clean, DAY1)
    with pytest.raises(administering.NotLiftedError, match="RECORD_ALREADY_GIVEN_TODAY"):
        _nurse_gives(clean, datetime(2026, 1, 5, 18, tzinfo=UTC), "the round moved")
    late = _nurse_gives(clean, datetime(2026, 1, 9, 9, tzinfo=UTC), "patient away two days")
    assert late.recorded is not None and late.recorded.override_reason == "patient away two days"


def test_a_stop_recorded_between_a_check_and_the_give_is_not_lifted_by_a_nurses_reason(
    course: App,
) -> None:
    """The check and the give are one transaction under the patient's lock: a reaction recorded
    by a colleague after the nurse's preview is seen by her give, which her reason cannot pass."""
    from b12.services import previews

    steps.give(course, DAY1)
    request = administering.GiveRequest("P-1", DAY2, lot="C4471", expiry=date(2027, 9, 30))
    shown = previews.preview(course.unit_of_work, administering.give, course.knowledge, request,
                             "nurse Bo", course.clock)  # fmt: skip
    assert not shown.stops  # the nurse looks first: no stop yet
    steps.event(course, date(2026, 1, 5), "anaphylaxis", "severe")  # meanwhile, a colleague
    with pytest.raises(administering.NotLiftedError):
        _nurse_gives(course, DAY2, "patient-informed")
    assert len(steps.given(course)) == 1
    assert not any(a.override_reason for a in steps.given(course))


def test_the_give_checks_a_nurses_reason_in_the_transaction_that_records(course: App) -> None:
    """One unit of work: nothing is checked in a separate one before (where a stop could be
    missed) and then recorded in another."""
    opened: list[int] = []
    factory = course.unit_of_work

    def counting() -> Any:
        opened.append(1)
        return factory()

    steps.give(course, DAY1)
    request = administering.GiveRequest("P-1", DAY2, override="patient informed",
                                        lot="C4471", expiry=date(2027, 9, 30))  # fmt: skip
    done = administering.give(counting, course.knowledge, request, "nurse Bo", course.clock,
                              may_lift_stop=False)  # fmt: skip
    assert done.recorded is not None and len(opened) == 1
    with course.unit_of_work() as uow:
        assert len(current(uow.administrations.for_patient(find_patient(uow, "P-1").id))) == 2
    assert done.recorded.override_reason == "patient informed"
