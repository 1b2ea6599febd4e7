"""`missed` on the fake record: the dose stays owed (never doubled), the prescriber is asked."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from b12.bootstrap import App
from b12.errors import InputError
from tests.services import steps


@pytest.mark.parametrize("refused", [False, True])
def test_a_missed_dose_stays_owed_and_the_next_give_takes_it(course: App, refused: bool) -> None:
    steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC))
    done = steps.missed(course, date(2026, 1, 6), refused=refused)
    assert (done.recorded.planned_number, done.recorded.kind) == (
        2,
        "refused" if refused else "missed",
    )
    (review,) = done.findings
    assert review.code == "RECORD_MISSED_REVIEW" and "Never double the next dose" in review.message
    given = steps.give(course, datetime(2026, 1, 7, 9, tzinfo=UTC)).recorded
    assert given is not None and (given.planned_number, given.dose_mcg) == (2, 100)
    assert steps.audit_actions(course)[-2:] == ["missed", "give"]


def test_missing_needs_an_active_prescription(app: App) -> None:
    steps.add_patient(app)
    with pytest.raises(InputError, match="has no active prescription"):
        steps.missed(app, date(2026, 1, 6))
    assert steps.audit_actions(app) == ["patient-add"]


@pytest.mark.parametrize("reason", ["", ".", "no"])
def test_a_reason_that_says_nothing_is_refused(course: App, reason: str) -> None:
    with pytest.raises(InputError, match="the reason for the missed dose must say why, in words"):
        steps.missed(course, date(2026, 1, 6), reason=reason)
    assert "missed" not in steps.audit_actions(course)
