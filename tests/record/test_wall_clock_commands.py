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


@pytest.mark.parametrize(
    "argv",
    [
        ("patient", "add", "P-2", "--age-years", "5"),
        ("lab", "add", "P-1", "b12=300pg/mL"),
        ("event", "add", "P-1", "--description", "sore arm"),
        ("missed", "P-1", "--reason", "in hospital"),
    ],
)
def test_a_record_dated_after_the_clock_is_refused(sqlite_url: str, argv: tuple[str, ...]) -> None:
    assert cli("patient", "add", "P-1", "--age-years", "50", "--db", sqlite_url)[0] == 0
    code, _out, err = cli(*argv, "--at", "2199-01-01", "--db", sqlite_url)
    assert code == 2 and "after the clock's time" in err, err
    _code, _out, err = cli(*argv, "--at", "2026-11-30", "--db", sqlite_url)
    assert "after the clock's time" not in err


def test_a_day_asked_about_may_be_ahead(sqlite_url: str) -> None:
    assert cli("patient", "add", "P-1", "--age-years", "50", "--db", sqlite_url)[0] == 0
    assert cli("status", "P-1", "--at", "2199-01-01", "--db", sqlite_url)[0] == 0
    assert cli("due", "--date", "2199-01-01", "--db", sqlite_url)[0] == 0
