"""One dose once, on SQLite and PostgreSQL: simultaneous writers of one patient record one dose
(one patient per code); the losers are told who recorded it first and when. The unique keys of
revision 0004 are the last guard, and a record made before them upgrades with its doubles kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, column, func, select
from sqlalchemy import table as sql_table

from b12.adapters.storage import tables as t
from b12.adapters.storage.database import make_engine, migrate
from b12.adapters.storage.unit_of_work import SqlUnitOfWork
from b12.bootstrap import App, Settings, upgrade
from b12.domain.patient import Patient
from b12.domain.records import Administration, PatientRecord, Prescription, current
from b12.errors import AlreadyRecordedError
from b12.knowledge import load_knowledge
from b12.services.administering import Given, GiveRequest, give
from b12.services.planning import PlanRequest
from b12.services.record import add_patient, new_id, prescribe
from tests.record.helpers import LATER, cli, open_app

WRITERS = 8
START = date(2026, 1, 5)
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


def _together(apps: list[App], call: Callable[[App, int], Any]) -> list[Any]:
    """``call(app, i)`` in one thread per app, started together at a barrier: what each returned,
    or the exception it raised."""
    barrier = threading.Barrier(len(apps))
    out: list[Any] = [None] * len(apps)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = call(apps[i], i)
        except Exception as exc:  # every answer is checked by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


@pytest.fixture
def apps(db_url: str):  # type: ignore[no-untyped-def]
    """One App per writer (each its own engine and connections), on one record."""
    made = [open_app(db_url) for _ in range(WRITERS)]
    yield made
    for app in made:
        app.close()


def test_simultaneous_gives_for_one_patient_record_one_dose_per_round(apps, kb) -> None:  # type: ignore[no-untyped-def]
    work = apps[0].unit_of_work
    for round_ in range(20):
        code = f"G-{round_}"
        add_patient(
            work, code, Patient(age_months=Decimal(600)), "dr B", datetime(2026, 1, 2, tzinfo=UTC)
        )
        prescribe(work, kb, code, PlanRequest(start=START, indication="pernicious-anaemia",
                  product=PRODUCT), "dr B", datetime(2026, 1, 2, tzinfo=UTC))  # fmt: skip

        def one(app: App, i: int, code: str = code) -> Given:
            request = GiveRequest(code, AT, lot="L1", expiry=date(2027, 1, 1))
            return give(app.unit_of_work, app.knowledge, request, f"nurse-{i}", LATER)

        answers = _together(apps, one)
        assert not [a for a in answers if not isinstance(a, Given)], answers
        winners = [a for a in answers if a.recorded is not None]
        assert len(winners) == 1, f"round {round_}: {len(winners)} doses recorded"
        (winner,) = winners
        with apps[0].unit_of_work() as uow:
            (patient,) = uow.patients.with_code(code)
            stored = current(uow.administrations.for_patient(patient.id))
        assert [a.id for a in stored] == [winner.recorded.id]
        for loser in (a for a in answers if a.recorded is None):
            (said,) = [f for f in loser.stops if f.code == "RECORD_ALREADY_GIVEN_TODAY"]
            assert said.message == (
                f"A dose was already given on 2026-01-05, recorded by {winner.recorded.given_by} "
                "at 2026-01-05T09:00+00:00: a second would double it."
            )


def test_simultaneous_adds_of_one_code_make_one_patient(apps) -> None:  # type: ignore[no-untyped-def]
    for round_ in range(10):
        code = f"A-{round_}"

        def one(app: App, i: int, code: str = code) -> PatientRecord:
            at = datetime(2026, 1, 5, 8, i, tzinfo=UTC)
            return add_patient(app.unit_of_work, code, Patient(age_months=Decimal(600)),
                               f"clerk-{i}", at)  # fmt: skip

        answers = _together(apps, one)
        made = [a for a in answers if isinstance(a, PatientRecord)]
        refused = [a for a in answers if isinstance(a, AlreadyRecordedError)]
        assert len(made) == 1 and len(refused) == WRITERS - 1, answers
        (first,) = made
        with apps[0].unit_of_work() as uow:
            assert [p.id for p in uow.patients.with_code(code)] == [first.id]
        when = first.recorded_at.isoformat(timespec="seconds")
        for error in refused:
            assert (error.by, error.at, error.field) == (first.recorded_by, when, "correct")
            assert str(error) == (
                f"patient {code!r} already recorded by {first.recorded_by} at {when}: "
                "to change the profile, correct it"
            )


def test_a_second_add_on_the_command_line_is_an_input_error_naming_the_first(db_url: str) -> None:
    assert cli("patient", "add", "P-9", "--db", db_url)[0] == 0
    with open_app(db_url).unit_of_work() as uow:
        (first,) = uow.patients.with_code("P-9")
    code, out, err = cli("patient", "add", "P-9", "--db", db_url)
    assert code == 2 and "Traceback" not in out + err
    said = " ".join((out + err).split())
    assert (
        f"patient 'P-9' already recorded by {first.recorded_by} at "
        f"{first.recorded_at.isoformat(timespec='seconds')}: to change the profile, correct it"
    ) in said


# --- the unique keys: the last guard behind the lock ------------------------------------------


def _administration(patient_id: str, rx_id: str | None, number: int | None, who: str,
                    at: datetime = AT, **more: Any) -> Administration:  # fmt: skip
    return Administration(
        new_id(), patient_id, rx_id, at, Decimal("1000"), Decimal("1"), PRODUCT, "L1",
        date(2027, 1, 1), "IM", "left deltoid", who, number, (), "test", **more,
    )  # fmt: skip


def _as_0003(table: Any, record: Any) -> dict[str, Any]:
    """A record's row as revision 0003 kept it: wall-clock times, text amounts, the plan JSON."""
    from b12.adapters.storage.codec import to_row

    row = to_row(record, frozenset({"born", "age_months", "age_given_on", "regimen_id",
                                    "concentration", "substance", "doses", "labs", "scanned",
                                    "correction_reason", "corrected_by", "corrected_at",
                                    "entered_in_error", "self_injection", "ward"}))  # fmt: skip
    if table.name == "prescriptions":
        row["plan"] = {"administrations": []}
    for k, v in row.items():
        if isinstance(v, Decimal):
            row[k] = format(v, "f")
        elif isinstance(v, datetime):
            row[k] = v.replace(tzinfo=None)
    return row


def _prescription(patient_id: str) -> Prescription:
    return Prescription(
        new_id(), patient_id, None, PRODUCT, "pernicious-anaemia", START,
        "active", datetime(2026, 1, 2, tzinfo=UTC), "dr B", "test",
    )  # fmt: skip


def _patient(code: str, who: str, at: datetime, corrects: str | None = None) -> PatientRecord:
    return PatientRecord(new_id(), code, {"sex": "female"}, at, who, corrects)


def test_an_insert_past_the_lock_breaking_a_key_is_answered_with_who_and_when(db_url: str) -> None:
    engine = make_engine(db_url)
    with SqlUnitOfWork(engine) as uow:
        first = _patient("K-1", "clerk A", datetime(2026, 1, 5, 8, tzinfo=UTC))
        uow.patients.add(first)
        rx = _prescription(first.id)
        uow.prescriptions.add(rx)
        uow.administrations.add(_administration(first.id, rx.id, 1, "nurse A"))
        uow.commit()
    with SqlUnitOfWork(engine) as uow, pytest.raises(AlreadyRecordedError) as twice:
        uow.patients.add(_patient("K-1", "clerk B", datetime(2026, 1, 5, 9, tzinfo=UTC)))
    assert str(twice.value) == (
        "patient 'K-1' already recorded by clerk A at 2026-01-05T08:00:00+00:00: "
        "to change the profile, correct it"
    )
    with SqlUnitOfWork(engine) as uow, pytest.raises(AlreadyRecordedError) as doubled:
        uow.administrations.add(_administration(first.id, rx.id, 1, "nurse B"))
    assert str(doubled.value) == (
        f"dose 1 of prescription {rx.id} already recorded by nurse A at 2026-01-05T09:00:00+00:00: "
        "it is given; see the patient's status before giving another"
    )
    # a correction, a dose outside the plan (twice) and the next planned dose stay possible
    with SqlUnitOfWork(engine) as uow:
        (given,) = uow.administrations.for_patient(first.id)
        uow.administrations.add(
            _administration(first.id, rx.id, 1, "nurse A", corrects_id=given.id)
        )
        uow.administrations.add(
            _administration(first.id, rx.id, None, "nurse A", override_reason="x")
        )
        uow.administrations.add(
            _administration(first.id, rx.id, None, "nurse A", override_reason="y")
        )
        uow.administrations.add(_administration(first.id, rx.id, 2, "nurse A"))
        uow.patients.add(
            _patient("K-1", "clerk B", datetime(2026, 1, 6, tzinfo=UTC), corrects=first.id)
        )
        uow.commit()
        assert len(uow.administrations.for_patient(first.id)) == 5
    engine.dispose()


def test_a_record_of_revision_0003_with_doubles_upgrades_keeping_and_marking_them(
    empty_db_url: str,
) -> None:
    """The doubles an older b12 let through are kept; each later one is marked duplicate_of the
    first of its group (earliest time, then id), which alone holds the key."""
    engine = make_engine(empty_db_url)
    migrate(engine, "0003")
    p1 = _patient("D-1", "clerk A", datetime(2026, 1, 5, 8, tzinfo=UTC))
    p1_again = _patient("D-1", "clerk B", datetime(2026, 1, 5, 8, 1, tzinfo=UTC))
    p2 = _patient("D-2", "clerk A", datetime(2026, 1, 5, 8, tzinfo=UTC))
    p2_fix = _patient("D-2", "clerk A", datetime(2026, 1, 6, tzinfo=UTC), corrects=p2.id)
    rx = _prescription(p1.id)
    dose1 = _administration(p1.id, rx.id, 1, "nurse A")
    dose1_again = _administration(
        p1.id, rx.id, 1, "nurse B", at=datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
    )
    dose1_third = _administration(
        p1.id, rx.id, 1, "nurse C", at=datetime(2026, 1, 5, 9, 2, tzinfo=UTC)
    )
    dose2 = _administration(p1.id, rx.id, 2, "nurse A", at=datetime(2026, 2, 5, 9, tzinfo=UTC))
    dose2_fix = _administration(p1.id, rx.id, 2, "nurse A", at=datetime(2026, 2, 5, 10, tzinfo=UTC),
                                corrects_id=dose2.id)  # fmt: skip
    extras = [_administration(p1.id, rx.id, None, "nurse A", override_reason="extra")
              for _ in range(2)]  # fmt: skip
    with engine.begin() as c:  # as revision 0003 stored them: its columns only
        for table, record in [(t.patients, p) for p in (p1, p1_again, p2, p2_fix)] + [
            (t.prescriptions, rx)] + [(t.administrations, a) for a in
            (dose1, dose1_again, dose1_third, dose2, dose2_fix, *extras)]:  # fmt: skip
            row = _as_0003(table, record)
            columns = [
                column(
                    k,
                    table.c[k].type
                    if k in table.c and isinstance(table.c[k].type, JSON)
                    else JSON
                    if k == "plan"
                    else None,
                )
                for k in row
            ]
            c.execute(sql_table(table.name, *columns).insert().values(**row))
    engine.dispose()
    upgrade(Settings(database_url=empty_db_url))
    engine = make_engine(empty_db_url)
    with engine.connect() as c:
        marks = dict(c.execute(select(t.patients.c.id, t.patients.c.duplicate_of)).all())
        marks |= dict(
            c.execute(select(t.administrations.c.id, t.administrations.c.duplicate_of)).all()
        )
        counts = [c.execute(select(func.count()).select_from(x)).scalar() for x in
                  (t.patients, t.administrations)]  # fmt: skip
    assert counts == [4, 7]  # nothing deleted
    marked = {k: v for k, v in marks.items() if v is not None}
    assert marked == {p1_again.id: p1.id, dose1_again.id: dose1.id, dose1_third.id: dose1.id}
    # the key holds from now on, and the record reads as before
    with SqlUnitOfWork(engine) as uow, pytest.raises(AlreadyRecordedError, match="nurse A"):
        uow.administrations.add(_administration(p1.id, rx.id, 1, "nurse D"))
    with SqlUnitOfWork(engine) as uow:
        assert len(uow.administrations.for_patient(p1.id)) == 7
        assert [p.id for p in uow.patients.with_code("D-1")] == [p1.id, p1_again.id]
    engine.dispose()
