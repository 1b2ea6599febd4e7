"""The re-flow rule: a missed dose stays owed and is never doubled; intervals are never shortened."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from b12.domain.course import PlannedDose, next_owed, reflow
from b12.domain.records import Administration, MissedDose

START = date(2026, 1, 5)


def _plan(gaps: list[int]) -> list[PlannedDose]:
    days, out = 0, []
    for number, gap in enumerate([0, *gaps], start=1):
        days += gap
        out.append(PlannedDose(number, START + timedelta(days), Decimal(100), None, "IM", "x"))
    return out


def _given(number: int, day: date) -> Administration:
    return Administration(
        f"a{number}", "p", "rx", datetime.combine(day, datetime.min.time(), UTC), Decimal(100),
        None, None, None, None, "IM", None, "n", number,
    )  # fmt: skip


def _missed(number: int, day: date) -> MissedDose:
    return MissedDose(
        f"m{number}", "p", "rx", number, day, "missed", "ill", datetime(2026, 1, 1, tzinfo=UTC), "n"
    )


def test_a_missed_dose_moves_to_the_next_day_and_the_rest_keep_their_gaps() -> None:
    plan = _plan([1, 1, 2, 2])  # daily, daily, then alternate days
    course = reflow(plan, [_given(1, START)], [_missed(2, date(2026, 1, 6))])
    assert [(c.planned.number, c.due, c.state) for c in course] == [
        (1, date(2026, 1, 5), "given"),
        (2, date(2026, 1, 7), "missed"),
        (3, date(2026, 1, 8), "planned"),
        (4, date(2026, 1, 10), "planned"),
        (5, date(2026, 1, 12), "planned"),
    ]


def test_a_late_dose_moves_the_later_ones_and_an_early_one_moves_nothing() -> None:
    plan = _plan([7, 7])
    late = reflow(plan, [_given(1, START), _given(2, date(2026, 1, 15))], [])
    early = reflow(plan, [_given(1, START), _given(2, date(2026, 1, 11))], [])
    assert [c.due for c in late] == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 22)]
    assert [c.due for c in early] == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert [c.min_gap_days for c in late] == [0, 7, 7]


def test_the_next_owed_dose_is_the_first_not_given() -> None:
    plan = _plan([1])
    assert next_owed(reflow(plan, [_given(1, START)], [])).planned.number == 2  # type: ignore[union-attr]
    assert next_owed(reflow(plan, [_given(1, START), _given(2, START)], [])) is None
