"""The record commands read --at on the clinic's wall clock (B12_TIMEZONE) and refuse a time the
clock skipped or showed twice, rather than record one an hour off."""

from __future__ import annotations

import pytest

from tests.record.helpers import cli


@pytest.mark.parametrize(
    ("at", "code", "said"),
    [
        ("2025-03-30T00:59", 0, ""),
        ("2025-03-30T01:30", 2, "skipped"),
        ("2025-10-26T01:30", 2, "twice"),
        ("2025-10-26T01:30+00:00", 0, ""),
    ],
)
def test_patient_add_at_a_time_the_clock_skipped_or_repeated(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, at: str, code: int, said: str
) -> None:
    monkeypatch.setenv("B12_TIMEZONE", "Europe/London")
    got, _out, err = cli(
        "patient", "add", "P-1", "--age-years", "50", "--at", at, "--db", sqlite_url
    )
    assert got == code, err
    assert said in err
