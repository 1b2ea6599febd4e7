"""`event add` on the fake record: linked to that day's injection; a severe reaction stops `give`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from b12.bootstrap import App
from b12.errors import InputError
from tests.services import steps


def test_an_event_is_linked_to_the_injection_of_its_day_only(course: App) -> None:
    given = steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC)).recorded
    assert given is not None
    assert steps.event(course, date(2026, 1, 5), "sore arm").administration_id == given.id
    assert steps.event(course, date(2026, 1, 6), "headache").administration_id is None
    assert steps.audit_actions(course)[-2:] == ["event-add", "event-add"]


@pytest.mark.parametrize(
    ("severity", "stops"), [("mild", False), ("moderate", False), ("severe", True)]
)
def test_only_a_severe_reaction_after_an_injection_stops_the_next_dose(
    course: App, severity: str, stops: bool
) -> None:
    steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC))
    steps.event(course, date(2026, 1, 5), "flushing", severity)
    done = steps.give(course, datetime(2026, 1, 6, 9, tzinfo=UTC))
    assert (done.recorded is None) is stops
    assert ("RECORD_REACTION_STOP" in {f.code for f in done.findings}) is stops


@pytest.mark.parametrize(
    ("severity", "description"), [("fatal", "x"), ("Severe", "x"), ("mild", " ")]
)
def test_an_unreadable_event_is_refused(course: App, severity: str, description: str) -> None:
    with pytest.raises(InputError):
        steps.event(course, date(2026, 1, 5), description, severity)
    assert "event-add" not in steps.audit_actions(course)
