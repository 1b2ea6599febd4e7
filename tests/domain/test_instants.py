"""One way to print a time of the record, the clinic's clock to the minute, for every door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from b12.domain.display import format_instant

AT = datetime(2027, 3, 1, 9, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        (UTC, "2027-03-01 09:00"),
        (ZoneInfo("Europe/Paris"), "2027-03-01 10:00"),
        (ZoneInfo("America/New_York"), "2027-03-01 04:00"),
        (timezone(timedelta(hours=-10)), "2027-02-28 23:00"),  # the clinic's day, not UTC's
    ],
)
def test_an_instant_is_printed_on_the_clinics_clock(zone: timezone, shown: str) -> None:
    assert format_instant(AT, zone) == shown


def test_the_same_instant_in_any_zone_prints_the_same() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert format_instant(AT.astimezone(ZoneInfo("Asia/Tokyo")), paris) == format_instant(AT, paris)
