"""A dose is recorded at a time that can be true: not in the future beyond the clock skew, not
before the prescription starts; both sides of each boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from b12.domain.patient import Patient
from b12.knowledge import load_knowledge
from b12.services.administering import CLOCK_SKEW, GiveRequest, GiveTimeError, give
from b12.services.planning import PlanRequest
from b12.services.record import add_patient, prescribe
from tests.fakes import FixedClock
from tests.record.helpers import cli, open_app

START = date(2026, 1, 5)
NOW = datetime(2026, 1, 9, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


@pytest.fixture
def record(sqlite_url: str, kb):  # type: ignore[no-untyped-def]
    record = open_app(sqlite_url)
    work = record.unit_of_work
    add_patient(
        work, "P-1", Patient(age_months=Decimal(600)), "dr B", datetime(2026, 1, 2, tzinfo=UTC)
    )
    prescribe(work, kb, "P-1", PlanRequest(start=START, indication="pernicious-anaemia",
              product="cyanocobalamin-us-1000mcg-ml-10ml-vial"), "dr B", datetime(2026, 1, 2, tzinfo=UTC))  # fmt: skip
    return record


def _give(record, kb, at: datetime):  # type: ignore[no-untyped-def]
    return give(
        record.unit_of_work,
        kb,
        GiveRequest("P-1", at, lot="L1", expiry=date(2027, 1, 1)),
        "nurse",
        FixedClock(NOW.replace(tzinfo=UTC)),
    )


def test_the_clock_skew_is_five_minutes() -> None:
    assert timedelta(minutes=5) == CLOCK_SKEW


@pytest.mark.parametrize("at", [NOW, NOW + CLOCK_SKEW, NOW - timedelta(days=1)])
def test_a_time_up_to_the_skew_ahead_is_recorded(record, kb, at: datetime) -> None:  # type: ignore[no-untyped-def]
    assert _give(record, kb, at).recorded is not None


@pytest.mark.parametrize("at", [NOW + CLOCK_SKEW + SECOND, NOW + timedelta(days=1)])
def test_a_time_beyond_the_skew_is_refused(record, kb, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GiveTimeError) as refused:
        _give(record, kb, at)
    assert str(refused.value) == (
        f"the time given, {at.isoformat()}, is in the future (now 2026-01-09T09:00:00+00:00, 5 minutes "
        "of clock difference allowed): record a dose after it is given, with the time it was given"
    )
    assert refused.value.field == "at"
    with record.unit_of_work() as uow:
        assert uow.administrations.for_patient(uow.patients.with_code("P-1")[0].id) == []


def test_the_start_of_the_prescription_is_recorded(record, kb) -> None:  # type: ignore[no-untyped-def]
    assert _give(record, kb, datetime(2026, 1, 5, 0, 0, tzinfo=UTC)).recorded is not None


def test_a_time_before_the_prescription_starts_is_refused(record, kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GiveTimeError, match=r"^the time given, 2026-01-04T23:59:59\+00:00, is before the prescription "
                       r"starts \(2026-01-05\): write the time the dose was given, on or after "
                       r"the start$"):  # fmt: skip
        _give(record, kb, datetime(2026, 1, 5, tzinfo=UTC) - SECOND)


def test_the_command_refuses_a_future_time_with_exit_2(sqlite_url: str) -> None:
    cli("patient", "add", "P-1", "--age-years", "60", "--db", sqlite_url)
    cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", "cyanocobalamin-us-1000mcg-ml-10ml-vial", "--db", sqlite_url)  # fmt: skip
    code, out, err = cli("give", "P-1", "--at", "2099-01-05T09:00", "--db", sqlite_url)
    assert code == 2 and out == ""
    assert err.startswith("b12: --at: the time given, 2099-01-05T09:00:00")
    assert "is in the future" in err
