"""The calendar b12 works in: dates from 1900 to 2199.

A course is planned months past its start and a record reaches back to a patient's first dose; a
year outside these (0001, 9999) is a typing slip, and would overflow the calendar when a course is
planned from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import TypeVar

from b12.errors import InputError

D = TypeVar("D", bound=date)

FIRST_YEAR = 1900
LAST_YEAR = 2199


def in_range(value: D, field: str) -> D:
    """``value`` (a date or date-time) when its year is one b12 works in; else an input error."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InputError(
            f"{field.replace('_', ' ')} {value.isoformat()}: the year {value.year} is out of "
            f"range; write a date from {FIRST_YEAR} to {LAST_YEAR}, e.g. 2027-03-31",
            field=field,
        )
    return value


def on_wall_clock(moment: datetime, zone: tzinfo, field: str = "at") -> datetime:
    """``moment``, written without an offset, as the wall clock of ``zone`` shows it. A time the
    clock skipped (the hour the clocks go forward) or showed twice (the hour they go back) is an
    input error: it names no one instant, and a dose recorded an hour off is a dose an hour off."""
    if moment.tzinfo is not None:
        return moment
    first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    shown = moment.isoformat(timespec="minutes")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        raise InputError(
            f"{field.replace('_', ' ')} {shown}: the clock skipped this time that day (the clocks "
            "went forward); write the time the clock showed",
            field=field,
        )
    if first.utcoffset() != second.utcoffset():
        raise InputError(
            f"{field.replace('_', ' ')} {shown}: the clock showed this time twice that day (the "
            f"clocks went back); write it with its offset: {shown}{_offset(first)} for the first, "
            f"{shown}{_offset(second)} for the second",
            field=field,
        )
    return first


def _offset(moment: datetime) -> str:
    return moment.isoformat()[-6:] if moment.utcoffset() else "+00:00"
