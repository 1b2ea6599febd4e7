"""Right time by the clock, not only by the calendar: a second dose a few hours after the first
stops even across midnight, and a dose sooner than the prescribed gap warns when counted in hours,
as the population audit counts it. Both sides of each edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from b12.bootstrap import App
from b12.services.audit_thresholds import interval_tolerance_hours, shortest_gap_any_regimen
from tests.services import steps

FIRST = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)  # dose 1 of the daily loading, in the evening
MINUTE = timedelta(minutes=1)


@pytest.fixture
def first(course: App) -> App:
    assert steps.give(course, FIRST).recorded is not None
    return course


def _codes(done: object) -> list[str]:
    return [f.code for f in done.findings]  # type: ignore[attr-defined]


def test_the_window_is_half_the_shortest_gap_of_any_regimen(kb: object) -> None:
    assert shortest_gap_any_regimen(kb) == 1  # daily loading
    assert interval_tolerance_hours(kb) == 2  # audit.yaml interval-below-minimum


@pytest.mark.parametrize(
    ("after", "stops"),
    [
        (timedelta(hours=1), True),  # 21:00, the same day
        (timedelta(hours=4, minutes=30), True),  # 00:30 the next day: not a day apart
        (timedelta(hours=12) - MINUTE, True),
        (timedelta(hours=12), False),
    ],
)
def test_a_dose_within_12_hours_of_another_stops_across_midnight(
    first: App, after: timedelta, stops: bool
) -> None:
    done = steps.give(first, FIRST + after)
    doubled = {"RECORD_ALREADY_GIVEN_TODAY", "RECORD_DOSE_HOURS_APART"} & set(_codes(done))
    assert bool(doubled) is stops
    assert (done.recorded is None) is stops
    assert len(steps.given(first)) == (1 if stops else 2)


def test_the_stop_says_when_and_by_whom(first: App) -> None:
    done = steps.give(first, FIRST + timedelta(hours=4, minutes=30))
    (said,) = [f for f in done.findings if f.code == "RECORD_DOSE_HOURS_APART"]
    assert said.message == (
        "A dose was given at 2026-01-05T20:00+00:00, recorded by nurse Bo, 4.5 h before this one: "
        "a second so soon would double it (no regimen keeps doses less than 1 day(s) apart)."
    )


def test_a_dose_recorded_late_for_an_earlier_time_is_held_to_the_later_one(first: App) -> None:
    # a dose given at 02:00 two days on, then one recorded afterwards for 23:00 the evening before
    assert steps.give(first, FIRST + timedelta(hours=30)).recorded is not None
    done = steps.give(first, FIRST + timedelta(hours=27))
    assert done.recorded is None
    (said,) = [f for f in done.findings if f.code == "RECORD_DOSE_HOURS_APART"]
    assert "2026-01-07T02:00+00:00" in said.message and "3 h after this one" in said.message


@pytest.mark.parametrize(
    ("after", "warns"),
    [
        (timedelta(hours=22) - MINUTE, True),  # the daily gap less the 2 h tolerance
        (timedelta(hours=22), False),
    ],
)
def test_sooner_than_the_gap_in_hours_warns(first: App, after: timedelta, warns: bool) -> None:
    done = steps.give(first, FIRST + after)
    assert done.recorded is not None
    assert ("RECORD_TOO_EARLY" in _codes(done)) is warns


def test_a_prescriber_may_still_record_it_with_a_reason(first: App) -> None:
    done = steps.give(
        first, FIRST + timedelta(hours=5), override="second dose confirmed by dr Ames"
    )
    assert done.recorded is not None
    assert "RECORD_DOSE_HOURS_APART" in _codes(done)
