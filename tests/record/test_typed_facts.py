"""Typed facts on both databases: every amount the record accepts comes back exactly equal and
every instant comes back the same instant; what it cannot keep is refused before the database;
`due` and `status` read in a number of queries that does not grow with the record; patients list
a page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from b12.adapters.storage import tables as t
from b12.adapters.storage.limits import StoredTextError, check_row
from b12.adapters.storage.types import ExactDecimal, NaiveTimeError
from b12.adapters.storage.unit_of_work import SqlUnitOfWork
from b12.bootstrap import App
from b12.domain.patient import Patient
from b12.domain.records import LabResult
from b12.services.follow_up import patient_status
from b12.services.record import add_patient, due_on, list_patients, new_id, patient_on
from tests.record.helpers import administration, open_app, patient, write_one

AMOUNTS = st.decimals(
    min_value=Decimal("-999999999.999999"), max_value=Decimal("999999999.999999"), places=6,
    allow_nan=False, allow_infinity=False,
)  # fmt: skip
INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                               timezone(timedelta(hours=-11))]),
)  # fmt: skip
#: Every ExactDecimal column of the head schema (table, column).
EXACT = [
    (table.name, column.name)
    for table in t.metadata.tables.values()
    for column in table.columns
    if isinstance(column.type, ExactDecimal)
]


def test_the_amount_columns_are_the_ones_named() -> None:
    assert sorted(EXACT) == [
        ("administrations", "dose_mcg"), ("administrations", "volume_ml"),
        ("lab_results", "normalised_value"), ("lab_results", "value"),
        ("patients", "age_months"), ("planned_doses", "dose_mcg"),
        ("planned_doses", "volume_ml"), ("wastes", "volume_ml"),
    ]  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dose=AMOUNTS, volume=AMOUNTS, at=INSTANTS)
def test_every_accepted_amount_and_instant_comes_back_exactly(
    db_url: str, dose: Decimal, volume: Decimal, at: datetime
) -> None:
    record = open_app(db_url)
    pid = _patient_once(record)
    written = administration(pid, 1)
    written = type(written)(**{**vars(written), "dose_mcg": dose, "volume_ml": volume,
                               "given_at": at})  # fmt: skip
    lab = LabResult(new_id(), pid, date(2026, 1, 5), "haemoglobin", None, dose, "g/dL", volume,
                    "g/dL", "hb", at, "t")  # fmt: skip
    with record.unit_of_work() as uow:
        uow.administrations.add(written)
        uow.labs.add(lab)
        uow.commit()
    with record.unit_of_work() as uow:
        back = uow.administrations.get(written.id)
        lab_back = uow.labs.get(lab.id)
    record.close()
    assert back is not None and lab_back is not None
    assert back.dose_mcg == dose and back.volume_ml == volume
    assert (lab_back.value, lab_back.normalised_value) == (dose, volume)
    assert back.given_at == at and back.given_at.utcoffset() is not None
    assert lab_back.recorded_at == at


def _patient_once(record: App) -> str:
    with record.unit_of_work() as uow:
        found = uow.patients.with_code("P-1")
    return found[0].id if found else patient(record.unit_of_work)


@pytest.mark.parametrize(("table", "column"), EXACT)
@pytest.mark.parametrize(
    "value", [Decimal("1E+9"), Decimal("-1E+9"), Decimal("0.0000001"), Decimal("NaN"),
              Decimal("Infinity"), Decimal("1e999999")],
)  # fmt: skip
def test_an_amount_the_record_cannot_keep_is_refused_before_the_database(
    table: str, column: str, value: Decimal
) -> None:
    with pytest.raises(StoredTextError, match=r"record keeps|not a number"):
        check_row(t.metadata.tables[table], {column: value})


@pytest.mark.parametrize(("table", "column"), EXACT)
@pytest.mark.parametrize(
    "value", [Decimal("999999999.999999"), Decimal("-999999999.999999"), Decimal("0.000001"),
              Decimal("1.5000000000"), Decimal(0)],
)  # fmt: skip
def test_an_amount_within_the_bounds_is_accepted(table: str, column: str, value: Decimal) -> None:
    check_row(t.metadata.tables[table], {column: value})


def test_a_naive_time_is_refused(db_url: str) -> None:
    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    naive = type(administration(pid, 1))(**{**vars(administration(pid, 1)),
                                            "given_at": datetime(2026, 1, 5, 9)})  # fmt: skip
    with pytest.raises(Exception) as refused, record.unit_of_work() as uow:
        uow.administrations.add(naive)
    assert isinstance(refused.value.__cause__ or refused.value, NaiveTimeError) or (
        "has no time zone" in str(refused.value)
    )


def test_times_are_read_back_in_the_clinic_zone(db_url: str) -> None:
    from zoneinfo import ZoneInfo

    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        write_one(uow, pid, 1)
    engine = record._engine
    assert engine is not None
    with SqlUnitOfWork(engine, ZoneInfo("Pacific/Kiritimati")) as uow:  # UTC+14
        (given,) = uow.administrations.for_patient(pid)
    assert given.given_at.utcoffset() == timedelta(hours=14)
    assert given.given_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert given.given_at.date() == date(2026, 1, 5)  # 23:00 there


@contextmanager
def _counted(record: App) -> Iterator[list[str]]:
    engine = record._engine
    assert engine is not None
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add_courses(record: App, codes: range) -> None:
    from tests.services import steps

    for n in codes:
        code = f"P-{n:03d}"
        steps.add_patient(record, code)
        steps.prescribe(record, code)
        steps.give(record, datetime(2026, 1, 5, 9, tzinfo=UTC), code)


def _queries(record: App, kb: Any) -> tuple[int, int, int]:
    with _counted(record) as due_queries:
        listed = due_on(record.unit_of_work, date(2026, 2, 1))
    with _counted(record) as status_queries:
        patient_status(record.unit_of_work, "P-000", date(2026, 2, 1), kb)
    return len(listed), len(due_queries), len(status_queries)


def test_due_and_status_take_the_same_number_of_queries_for_1_and_50_patients(
    db_url: str,
) -> None:
    from b12.bootstrap import Settings, build
    from b12.knowledge import load_knowledge
    from tests.fakes import FixedClock
    from tests.services.steps import NOW

    kb = load_knowledge()
    record = build(Settings(database_url=db_url), knowledge=kb, clock=FixedClock(NOW))
    _add_courses(record, range(1))
    due_1, *one = _queries(record, kb)
    _add_courses(record, range(1, 50))
    due_50, *fifty = _queries(record, kb)
    record.close()
    assert (due_1, due_50) == (1, 50)
    assert one == fifty


def test_patients_list_a_page_at_a_time(db_url: str) -> None:
    record = open_app(db_url)
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    for n in (3, 1, 2, 5, 4):
        add_patient(record.unit_of_work, f"P-{n}", Patient(sex="female"), "t", at)
    add_patient(record.unit_of_work, "P-2", Patient(sex="male"), "t", at, correct=True)
    seen: list[str] = []
    after = None
    while True:
        page = list_patients(record.unit_of_work, after, 2)
        seen += [p.code for p in page.patients]
        assert len(page.patients) <= 2
        if page.after is None:
            break
        after = page.after
    assert seen == ["P-1", "P-2", "P-3", "P-4", "P-5"]  # the corrected P-2 once, its correction
    with record.unit_of_work() as uow:
        (p2,) = [p for p in uow.patients.page("P-1", 1)]
    assert p2.profile["sex"] == "male"


def test_a_date_of_birth_gives_the_age_on_the_day_asked(sqlite_url: str) -> None:
    from tests.record.helpers import cli

    status, out, err = cli("patient", "add", "B-1", "--born", "1960-05-15", "--sex", "male",
                           "--at", "2026-01-05T09:00", "--db", sqlite_url, "--json")  # fmt: skip
    assert status == 0, err
    assert json.loads(out)["patient"]["born"] == "1960-05-15"
    record = open_app(sqlite_url)
    with record.unit_of_work() as uow:
        (kept,) = uow.patients.with_code("B-1")
    assert (kept.born, kept.age_months, kept.age_given_on) == (date(1960, 5, 15), None, None)
    ages = {day: patient_on(kept, day).age_months for day in
            (date(2026, 5, 14), date(2026, 5, 15), date(2030, 1, 1))}  # fmt: skip
    assert ages == {date(2026, 5, 14): 791, date(2026, 5, 15): 792, date(2030, 1, 1): 835}


def test_an_age_moves_on_from_the_day_it_was_given(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    add_patient(record.unit_of_work, "A-1", Patient(age_months=Decimal("30.5")), "t",
                datetime(2026, 1, 31, 9, tzinfo=UTC))  # fmt: skip
    with record.unit_of_work() as uow:
        (kept,) = uow.patients.with_code("A-1")
    assert (kept.age_months, kept.age_given_on) == (Decimal("30.5"), date(2026, 1, 31))
    assert "age_months" not in kept.profile
    assert patient_on(kept, date(2026, 2, 28)).age_months == Decimal("30.5")
    assert patient_on(kept, date(2026, 3, 31)).age_months == Decimal("32.5")


@pytest.mark.parametrize(
    "argv",
    [["--born", "1960-05-15", "--age-years", "60"], ["--born", "1960-05-15", "--age-months", "9"],
     ["--born", "2100-01-01"], ["--born", "1960-02-30"], ["--born", "1850-01-01"]],
)  # fmt: skip
def test_a_date_of_birth_that_cannot_be_is_an_input_error(sqlite_url: str, argv: list[str]) -> None:
    from tests.record.helpers import cli

    status, out, err = cli("patient", "add", "B-2", *argv, "--db", sqlite_url)
    assert status == 2 and err.startswith("b12: ") and "Traceback" not in err + out
    record = open_app(sqlite_url)
    with record.unit_of_work() as uow:
        assert uow.patients.with_code("B-2") == []


def test_patient_list_pages_through_the_command(sqlite_url: str) -> None:
    from tests.record.helpers import cli

    for n in range(5):
        assert cli("patient", "add", f"L-{n}", "--db", sqlite_url)[0] == 0
    status, out, _ = cli("patient", "list", "--limit", "2", "--db", sqlite_url, "--json")
    first = json.loads(out)
    assert status == 0 and [p["code"] for p in first["patients"]] == ["L-0", "L-1"]
    assert first["next"] == "L-1"
    _, out, _ = cli("patient", "list", "--limit", "2", "--after", "L-3", "--db", sqlite_url,
                    "--json")  # fmt: skip
    assert json.loads(out) == {**json.loads(out), "next": None}
    assert [p["code"] for p in json.loads(out)["patients"]] == ["L-4"]
    assert cli("patient", "list", "--limit", "0", "--db", sqlite_url)[0] == 2
