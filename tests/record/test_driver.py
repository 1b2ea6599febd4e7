"""The statements a write runs on the driver's cursor (storage/driver.py) send what SQLAlchemy sends,
and the audit stream's head read once per transaction stays right across transactions and writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, Integer, event
from sqlalchemy.exc import DBAPIError, IntegrityError

from b12.adapters.storage import repositories as r
from b12.adapters.storage import tables as t
from b12.adapters.storage.driver import prepare, run
from b12.adapters.storage.types import ExactDecimal, UtcDateTime
from b12.services.record import verify_audit
from tests.record.helpers import open_app, patient, write_one


def _sample(column: Any, n: int) -> Any:
    """A value of the column's type (n varies it); None for a nullable column when n is 0."""
    if n == 0 and column.nullable and not column.primary_key:
        return None
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return Decimal("1000") if n == 1 else Decimal("0.333333")
    if isinstance(kind, UtcDateTime):
        return datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2027, 1, 1)
    if isinstance(kind, JSON):
        return [{"code": "X", "values": {"v": "0.1", "n": 2}}, "ü"] if n else {}
    if isinstance(kind, Boolean):
        return bool(n)
    if isinstance(kind, Integer | BigInteger):
        return 7 + n
    return f"{column.name}-é{n}"


def _comparable(parameters: Any) -> Any:
    """Parameters as values that compare (psycopg's Json wrapper compares by identity)."""

    def one(value: Any) -> Any:
        if type(value).__name__ in ("Json", "Jsonb"):
            return (type(value).__name__, value.obj)
        return value

    if isinstance(parameters, dict):
        return {k: one(v) for k, v in parameters.items()}
    return tuple(one(v) for v in parameters)


@contextmanager
def _sent(connection: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The statements and parameters the connection gives the driver."""
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, _comparable(parameters)))

    event.listen(connection, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", keep)


def _by_sqlalchemy(connection: Connection, statement: Any, values: dict[str, Any]) -> Any:
    # what was sent is the point, not whether the row fits the record
    with _sent(connection) as seen, suppress(DBAPIError):
        connection.execute(statement, values)
    connection.rollback()
    (sent,) = [s for s in seen if not s[0].startswith("BEGIN")]
    return sent


def _by_driver(connection: Connection, statement: Any, values: dict[str, Any]) -> Any:
    prepared = prepare(statement, connection.dialect, tuple(values))
    with _sent(connection) as seen, suppress(DBAPIError):
        run(connection, prepared, values).close()
    connection.rollback()
    (sent,) = [s for s in seen if not s[0].startswith("BEGIN")]
    assert sent == (prepared.sql, _comparable(prepared.parameters(values)))
    return sent


@pytest.mark.parametrize("n", [0, 1, 2])
def test_each_insert_sends_what_sqlalchemy_sends(db_url: str, n: int) -> None:
    """Every record table's INSERT, and the audit link's, with values of every column type (NULLs
    too): the same SQL text and the same converted parameters as Connection.execute."""
    record = open_app(db_url)
    with record.unit_of_work() as uow:
        c = uow.connection
        for table in [*t.RECORD_TABLES, t.audit_log]:
            columns = [col for col in table.c if not (table is t.audit_log and col.name == "seq")]
            values = {col.name: _sample(col, n) for col in reversed(columns)}
            statement = r._INSERT.get(table.name, r._APPEND[c.dialect.name])
            assert _by_driver(c, statement, values) == _by_sqlalchemy(c, statement, values)
        head = {"stream": "record"}
        assert _by_driver(c, r._STREAM_HEAD, head) == _by_sqlalchemy(c, r._STREAM_HEAD, head)
    record.close()


def test_a_driver_error_is_sqlalchemys_exception(db_url: str) -> None:
    """A broken key surfaces as SQLAlchemy's IntegrityError (what the repositories answer with
    AlreadyRecordedError), and the unit of work rolls back cleanly."""
    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        c = uow.connection
        row = {col.name: _sample(col, 1) for col in t.patients.c}
        row["id"] = pid  # taken
        with pytest.raises(IntegrityError):
            run(c, prepare(r._INSERT["patients"], c.dialect, tuple(row)), row)
    with record.unit_of_work() as uow:
        assert uow.patients.get(pid) is not None
    record.close()


def test_links_of_one_stream_chain_across_transactions_and_writers(db_url: str) -> None:
    """One unit of work commits, another writer (its own engine) appends to the same patient's
    stream, the first writes again, twice in one transaction: every link follows the one before."""
    first, other = open_app(db_url), open_app(db_url)
    pid = patient(first.unit_of_work)
    with first.unit_of_work() as uow:
        write_one(uow, pid, 1)
        with other.unit_of_work() as theirs:
            write_one(theirs, pid, 2, "another writer")
        write_one(uow, pid, 3)
        uow.audit.append("writer", "read", "PatientRecord", pid, pid, {})
        uow.audit.append("writer", "read", "PatientRecord", pid, pid, {})
        uow.commit()
    chain = verify_audit(first.unit_of_work)
    assert chain.intact, chain.problems
    assert chain.heads[pid][0] == 6  # the patient's link, three writes, two reads
    first.close()
    other.close()


def test_sqlite_transactions_hold_the_write_lock_from_their_start(sqlite_url: str) -> None:
    """A unit of work that takes a patient's lock holds SQLite's write lock (BEGIN IMMEDIATE):
    another writer cannot begin until it ends."""
    import sqlite3

    record = open_app(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with record.unit_of_work() as uow:
        uow.patients.lock("P-1")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    record.close()
