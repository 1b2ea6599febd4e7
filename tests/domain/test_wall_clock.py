"""A time written without an offset is read on the clinic's wall clock, and a time that clock
skipped or showed twice is refused, in every kind of zone: an hour forward and back (London, New
York, southern Sydney), half an hour (Lord Howe Island), and zones that never change (UTC, Tokyo).
Each edge from both sides: the minute before, the first minute inside, the last, the one after."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from b12.domain.dates import on_wall_clock
from b12.errors import InputError

MINUTE = timedelta(minutes=1)
#: zone, the wall-clock start of the skipped span and its length, the start of the repeated span
#: and its length (each in 2025)
CHANGES = [
    ("Europe/London", datetime(2025, 3, 30, 1), 60, datetime(2025, 10, 26, 1), 60),
    ("America/New_York", datetime(2025, 3, 9, 2), 60, datetime(2025, 11, 2, 1), 60),
    ("Australia/Sydney", datetime(2025, 10, 5, 2), 60, datetime(2025, 4, 6, 2), 60),
    ("Australia/Lord_Howe", datetime(2025, 10, 5, 2), 30, datetime(2025, 4, 6, 1, 30), 30),
]


@pytest.mark.parametrize(("name", "gap", "gap_minutes", "fold", "fold_minutes"), CHANGES)
def test_skipped_and_repeated_times_are_refused_and_their_neighbours_read(
    name: str, gap: datetime, gap_minutes: int, fold: datetime, fold_minutes: int
) -> None:
    zone = ZoneInfo(name)
    inside = [gap, gap + (gap_minutes - 1) * MINUTE]
    for moment in inside:
        with pytest.raises(InputError, match="skipped"):
            on_wall_clock(moment, zone)
    twice = [fold, fold + (fold_minutes - 1) * MINUTE]
    for moment in twice:
        with pytest.raises(InputError, match="twice") as refused:
            on_wall_clock(moment, zone)
        # each offset it names reads back as one of the two instants
        offsets = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d", str(refused.value))
        assert len(offsets) == 2
        assert len({datetime.fromisoformat(o).astimezone(UTC) for o in offsets}) == 2
    outside = [
        gap - MINUTE,
        gap + gap_minutes * MINUTE,
        fold - MINUTE,
        fold + fold_minutes * MINUTE,
    ]
    for moment in outside:
        read = on_wall_clock(moment, zone)
        assert read.replace(tzinfo=None) == moment
        assert read.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment


@pytest.mark.parametrize("name", ["UTC", "Asia/Tokyo"])
def test_a_zone_that_never_changes_reads_every_minute(name: str) -> None:
    zone = ZoneInfo(name)
    for _, gap, _, fold, _ in CHANGES:
        for moment in (gap, fold):
            assert on_wall_clock(moment, zone) == moment.replace(tzinfo=zone)


def test_a_time_with_its_offset_is_taken_as_written() -> None:
    moment = datetime(2025, 10, 26, 1, 30, tzinfo=ZoneInfo("Europe/London"))
    assert on_wall_clock(moment, ZoneInfo("America/New_York")) is moment
