"""The calendar b12 works in: dates from 1900 to 2199.

A course is planned months past its start and a record reaches back to a patient's first dose; a
year outside these (0001, 9999) is a typing slip, and would overflow the calendar when a course is
planned from it.
"""

from __future__ import annotations

from datetime import date
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
