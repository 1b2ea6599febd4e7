"""The application's PostgreSQL role may read and insert and nothing more (`b12 db grant ROLE`),
and writers of different patients append to their own streams at once without forking any.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from b12.adapters.storage import tables as t
from b12.domain.patient import Patient
from b12.services.record import add_patient, verify_audit
from tests.record.helpers import cli, open_app, patient, write_one

TABLES = [table.name for table in t.metadata.sorted_tables]
#: The web door's accounts and sessions change in place; every other table is insert-only.
CHANGING = [table.name for table in t.CHANGING_TABLES]
DENIED = r"permission denied|must be owner"


@pytest.fixture
def app_role(pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role with no privileges, and the record's URL as that role; dropped after."""
    db_url = pg_url
    role = f"b12_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with owner.begin() as c:
        c.execute(text(f"CREATE ROLE {role} LOGIN"))
    rest = db_url.split("://", 1)[1].split("@", 1)[1]
    yield role, f"postgresql+psycopg://{role}@{rest}"
    with owner.begin() as c:
        c.execute(text(f"DROP OWNED BY {role}"))
        c.execute(text(f"DROP ROLE {role}"))
    owner.dispose()


def _first_key(table: str) -> str:
    from b12.adapters.storage import tables as t

    return next(iter(t.metadata.tables[table].primary_key)).name


@pytest.mark.postgres
def test_the_granted_role_records_but_cannot_change_or_drop_anything(
    pg_url: str, app_role: tuple[str, str]
) -> None:
    db_url = pg_url
    role, as_app = app_role
    code, _, err = cli("db", "grant", role, "--db", db_url)
    assert code == 0, err
    app = open_app(as_app)
    pid = patient(app.unit_of_work)  # SELECT, INSERT, the audit sequence, the locks: allowed
    with app.unit_of_work() as uow:
        write_one(uow, pid, 1)
    assert verify_audit(app.unit_of_work).intact
    app.close()
    engine = create_engine(as_app)
    for table in CHANGING:
        with engine.begin() as c:  # a password, a lock-out, a session's last use
            c.execute(text(f"UPDATE {table} SET {_first_key(table)} = {_first_key(table)}"))
    for table in TABLES:
        for statement in (
            *(
                ()
                if table in CHANGING
                else (f"UPDATE {table} SET {_first_key(table)} = {_first_key(table)}",)
            ),
            f"DELETE FROM {table}",
            f"TRUNCATE {table} CASCADE",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"ALTER TABLE {table} ADD COLUMN x integer",
            f"DROP TABLE {table} CASCADE",
            f"CREATE TRIGGER t_{table} BEFORE INSERT ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION b12_append_only()",
        ):
            with pytest.raises(DBAPIError, match=DENIED), engine.begin() as c:
                c.execute(text(statement))
    with pytest.raises(DBAPIError, match=DENIED), engine.begin() as c:
        c.execute(text("SET session_replication_role = replica"))
    engine.dispose()


@pytest.mark.postgres
def test_grant_refuses_what_it_cannot_do(pg_url: str) -> None:
    db_url = pg_url
    assert cli("db", "grant", "no_such_role_b12", "--db", db_url)[:2] == (2, "")
    assert cli("db", "grant", "bad-name; DROP", "--db", db_url)[0] == 2
    assert cli("db", "grant", "postgres", "--db", db_url)[0] == 2  # the owner itself


def test_grant_on_sqlite_is_an_input_error(sqlite_url: str) -> None:
    code, _, err = cli("db", "grant", "b12_app", "--db", sqlite_url)
    assert code == 2 and "file's permissions" in err


def test_writers_of_different_patients_append_at_once_without_forking(db_url: str) -> None:
    writers, each = 8, 25
    apps = [open_app(db_url) for _ in range(writers)]
    ids = [
        add_patient(apps[0].unit_of_work, f"S-{i}", Patient(age_months=Decimal(600)), "x",
                    datetime(2026, 1, 1, tzinfo=UTC)).id
        for i in range(writers)
    ]  # fmt: skip
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            for n in range(each):
                with apps[i].unit_of_work() as uow:
                    write_one(uow, ids[i], n)
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = verify_audit(apps[0].unit_of_work)
    for app in apps:
        app.close()
    assert failures == []
    assert check.intact and check.rows == writers * (each + 1)
    assert {check.heads[pid][0] for pid in ids} == {each + 1}
