"""Repositories over SQLAlchemy Core: insert and select, never update or delete.

One dose once: a use case that checks before it writes (is the patient's code taken, was the dose
given) first takes the patient's lock (``SqlPatients.lock``), so the check and the insert happen
under one lock: on PostgreSQL a transaction-level advisory lock keyed on the patient's code, on
SQLite the write lock the transaction took with BEGIN IMMEDIATE. The unique keys of revision 0004
are the last guard: an insert that breaks one is answered with AlreadyRecordedError (who recorded
the row first, and when), never with the database's IntegrityError.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Connection, Table, and_, select, text
from sqlalchemy.exc import IntegrityError

from b12.adapters.storage import tables as t
from b12.adapters.storage.codec import from_row, to_row
from b12.adapters.storage.database import AUDIT_LOCK, PATIENT_LOCKS
from b12.adapters.storage.limits import check_row, check_text
from b12.domain.audit import GENESIS, link_hash
from b12.domain.jsonable import freeze, to_json
from b12.domain.records import AuditEntry, PatientRecord
from b12.errors import AlreadyRecordedError

R = TypeVar("R")
_LAST_LINK = (
    select(t.audit_log.c.seq, t.audit_log.c.hash).order_by(t.audit_log.c.seq.desc()).limit(1)
)


def new_id() -> str:
    return str(uuid.uuid4())


class SqlRecords(Generic[R]):
    """Records of one kind in one table, ordered by ``order_by`` then id."""

    def __init__(
        self, connection: Connection, table: Table, kind: type[R], order_by: Column[Any]
    ) -> None:
        self._connection = connection
        self._table = table
        self._kind = kind
        self._order = (order_by, table.c.id)

    def add(self, record: R) -> None:
        # A plain INSERT with bound parameters: SQLAlchemy compiles it once and caches it.
        row = to_row(record)
        check_row(self._table, row)  # the same refusal on every database, before it sees the row
        try:
            self._connection.execute(self._table.insert(), row)
        except IntegrityError:
            already = _already_recorded(self._connection, self._table, row)
            if already is None:
                raise
            raise already from None

    def get(self, record_id: str) -> R | None:
        row = self._connection.execute(
            select(self._table).where(self._table.c.id == record_id)
        ).first()
        return None if row is None else from_row(self._kind, row._mapping)

    def for_patient(self, patient_id: str) -> list[R]:
        query = select(self._table).where(self._table.c.patient_id == patient_id)
        rows = self._connection.execute(query.order_by(*self._order))
        return [from_row(self._kind, row._mapping) for row in rows]


#: Per keyed table: what a row is called, who recorded it and when, and what to do instead.
_KEYED: dict[str, tuple[Callable[[Mapping[str, Any]], str], str, str, str, str | None]] = {
    "patients": (
        lambda row: f"patient {row['code']!r}", "recorded_by", "recorded_at",
        "to change the profile, correct it", "correct",
    ),
    "administrations": (
        lambda row: f"dose {row['planned_number']} of prescription {row['prescription_id']}",
        "given_by", "given_at",
        "it is given; see the patient's status before giving another", None,
    ),
}  # fmt: skip


def _already_recorded(
    connection: Connection, table: Table, row: Mapping[str, Any]
) -> AlreadyRecordedError | None:
    """After an insert broke a unique key: the error naming the row that holds the key, who
    recorded it and when (None: no keyed row conflicts, the IntegrityError was another one).

    The failed transaction is rolled back first (PostgreSQL refuses every statement after an
    error); the unit of work then has nothing to commit."""
    if table.name not in _KEYED or row.get("corrects_id") is not None:
        return None
    _index, columns, _where = t.ONE_ONLY[table.name]
    if any(row.get(c) is None for c in columns):
        return None
    connection.rollback()
    query = select(table).where(
        and_(*(table.c[c] == row[c] for c in columns)),
        table.c.corrects_id.is_(None),
        table.c.duplicate_of.is_(None),
    )
    first = connection.execute(query).first()
    connection.rollback()
    if first is None:
        return None
    what, by, at, advice, field = _KEYED[table.name]
    found: Mapping[str, Any] = dict(first._mapping)
    return AlreadyRecordedError(
        what(found), str(found[by]), found[at].isoformat(timespec="seconds"), advice, field
    )


class SqlPatients:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._records = SqlRecords(connection, t.patients, PatientRecord, t.patients.c.recorded_at)

    def lock(self, code: str) -> None:
        """Hold the lock of the patient with ``code`` (whether the patient exists yet or not) until
        the transaction ends; writers of one patient queue here, others do not wait."""
        check_text("patient", code)
        if self._connection.dialect.name == "postgresql":
            # hashtext: two codes may share a key; they then only queue behind each other.
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:code))"),
                {"space": PATIENT_LOCKS, "code": code},
            )
        else:
            # The first statement begins the transaction, BEGIN IMMEDIATE: the write lock is held.
            self._connection.execute(text("SELECT 1"))

    def add(self, record: PatientRecord) -> None:
        self._records.add(record)

    def get(self, record_id: str) -> PatientRecord | None:
        return self._records.get(record_id)

    def with_code(self, code: str) -> list[PatientRecord]:
        check_text("patient", code)  # PostgreSQL refuses a NUL even in a query
        query = select(t.patients).where(t.patients.c.code == code)
        rows = self._connection.execute(query.order_by(t.patients.c.recorded_at, t.patients.c.id))
        return [from_row(PatientRecord, row._mapping) for row in rows]

    def all(self) -> list[PatientRecord]:
        query = select(t.patients).order_by(t.patients.c.code, t.patients.c.recorded_at)
        return [from_row(PatientRecord, row._mapping) for row in self._connection.execute(query)]


class SqlAuditTrail:
    """The hash-chained audit trail, appended under a lock so that the chain never forks."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(
        self,
        who: str,
        action: str,
        entity: str,
        entity_id: str,
        patient: str | None,
        payload: Mapping[str, Any],
    ) -> AuditEntry:
        if self._connection.dialect.name == "postgresql":
            # SQLite needs nothing more: the transaction began IMMEDIATE and holds the write lock.
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK}
            )
        last = self._connection.execute(_LAST_LINK).first()
        seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        body = to_json(payload)
        link = {
            "seq": seq,
            "at": at,
            "who": who,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient": patient,
            "payload": body,
            "prev_hash": prev,
        }
        row = {**link, "hash": link_hash(link)}
        self._connection.execute(t.audit_log.insert(), row)
        return AuditEntry(**{**row, "payload": freeze(body)})

    def entries(self) -> Iterator[AuditEntry]:
        query = select(t.audit_log).order_by(t.audit_log.c.seq)
        for row in self._connection.execute(query):
            values = dict(row._mapping)
            yield AuditEntry(**{**values, "payload": freeze(values["payload"])})


class SqlAccounts:
    """Accounts, their patient links and sessions (revision 0007): rows that change in place."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _account(self, row: Any) -> Any:
        from b12.services.accounts import Account

        return None if row is None else Account(**dict(row._mapping))

    def add(self, account: Any) -> None:
        self._connection.execute(t.accounts.insert(), vars(account))

    def get(self, account_id: str) -> Any:
        query = select(t.accounts).where(t.accounts.c.id == account_id)
        return self._account(self._connection.execute(query).first())

    def named(self, username: str) -> Any:
        check_text("username", username)
        query = select(t.accounts).where(t.accounts.c.username == username)
        return self._account(self._connection.execute(query).first())

    def all(self) -> list[Any]:
        query = select(t.accounts).order_by(t.accounts.c.username)
        return [self._account(row) for row in self._connection.execute(query)]

    def update(self, account: Any) -> None:
        values = {k: v for k, v in vars(account).items() if k != "id"}
        self._connection.execute(
            t.accounts.update().where(t.accounts.c.id == account.id).values(**values)
        )

    def link(self, link: Any) -> None:
        self._connection.execute(t.account_patients.insert(), vars(link))

    def links(self, account_id: str) -> list[Any]:
        from b12.services.accounts import PatientLink

        query = (
            select(t.account_patients)
            .where(t.account_patients.c.account_id == account_id)
            .order_by(t.account_patients.c.patient_code)
        )
        return [PatientLink(**dict(row._mapping)) for row in self._connection.execute(query)]

    def add_session(self, session: Any) -> None:
        self._connection.execute(t.web_sessions.insert(), vars(session))

    def session(self, session_id: str) -> Any:
        from b12.services.accounts import WebSession

        query = select(t.web_sessions).where(t.web_sessions.c.id == session_id)
        row = self._connection.execute(query).first()
        return None if row is None else WebSession(**dict(row._mapping))

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._connection.execute(
            t.web_sessions.update().where(t.web_sessions.c.id == session_id).values(last_seen=at)
        )

    def end_sessions(self, account_id: str, session_id: str | None = None) -> None:
        query = t.web_sessions.update().where(t.web_sessions.c.account_id == account_id)
        if session_id is not None:
            query = query.where(t.web_sessions.c.id == session_id)
        self._connection.execute(query.values(ended=True))
