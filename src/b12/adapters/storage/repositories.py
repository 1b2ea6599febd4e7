"""Repositories over SQLAlchemy Core: insert and select, never update or delete.

One dose once: a use case that checks before it writes (is the patient's code taken, was the dose
given) first takes the patient's lock (``SqlPatients.lock``), so the check and the insert happen
under one lock: on PostgreSQL a transaction-level advisory lock keyed on the patient's code, on
SQLite the write lock the transaction took with BEGIN IMMEDIATE. The unique keys of revision 0004
are the last guard: an insert that breaks one is answered with AlreadyRecordedError (who recorded
the row first, and when), never with the database's IntegrityError.

Tamper evidence (revision 0006): every row is inserted with ``RETURNING *``, so the digest of its
canonical form (``row_digest``) is taken from the row as the database stored it, in the driver's
own types, exactly as `audit-log verify` reads it back with ``SELECT *``; the audit link that names
the row (same unit of work, ``entity_id``) carries that digest. Each link goes to its stream (the
patient's, or "record"): on PostgreSQL the stream's advisory lock, not one global lock, orders
the writers of one patient; the unique key (stream, stream_seq) is the last guard against a fork.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from b12.adapters.storage import tables as t
from b12.adapters.storage.codec import from_row, to_row
from b12.adapters.storage.database import AUDIT_STREAMS, PATIENT_LOCKS
from b12.adapters.storage.driver import begin, prepare, run
from b12.adapters.storage.limits import check_row, check_text
from b12.domain.audit import (
    GENESIS,
    RECORD_STREAM,
    RowDigest,
    link_mac,
    link_message,
    row_digest,
    row_key,
)
from b12.domain.calendar_feed import CalendarFeed
from b12.domain.jsonable import freeze, to_json
from b12.domain.records import AuditEntry, PatientRecord, PlannedDose, PlannedLab, Prescription
from b12.errors import AlreadyRecordedError

R = TypeVar("R")
#: Rows written in a unit of work and not yet named by an audit link:
#: (table, row key (b12.domain.audit.row_key)) -> (digest, the patient's id).
Written = dict[tuple[str, str], tuple[str, str | None]]
_STREAM_HEAD = (
    select(t.audit_log.c.stream_seq, t.audit_log.c.hash)
    .where(t.audit_log.c.stream == bindparam("stream"))
    .order_by(t.audit_log.c.stream_seq.desc())
    .limit(1)
)
_NEXT_SEQ = {
    "postgresql": func.nextval("b12_audit_seq"),
    "sqlite": select(func.coalesce(func.max(t.audit_log.c.seq), 0) + 1).scalar_subquery(),
}
_APPEND = {
    name: t.audit_log.insert().values(seq=seq).returning(t.audit_log.c.seq)
    for name, seq in _NEXT_SEQ.items()
}
#: The lock of a patient (its code) or of an audit stream, on PostgreSQL (hashtext: two keys may
#: share a lock; they then only queue behind each other).
_LOCK = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")
_INSERT: dict[str, Any] = {
    table.name: table.insert().returning(literal_column("*")) for table in t.RECORD_TABLES
}


def new_id() -> str:
    return str(uuid.uuid4())


def same_person(column: Any, patient_id: str) -> Any:
    """``column`` (a patient id) names any row of the patient whose row is ``patient_id``: a
    profile correction makes a new patient row, and what was recorded before it stays under the
    row it was recorded on, so a patient's records are read under every row of their code."""
    other = t.patients.alias("same_person")
    code = select(t.patients.c.code).where(t.patients.c.id == patient_id).scalar_subquery()
    return column.in_(select(other.c.id).where(other.c.code == code))


class SqlRecords(Generic[R]):
    """Records of one kind in one table, ordered by ``order_by`` then id."""

    def __init__(
        self,
        connection: Connection,
        table: Table,
        kind: type[R],
        order_by: Column[Any],
        zone: tzinfo | None = None,
        written: Written | None = None,
    ) -> None:
        self._connection = connection
        self._table = table
        self._kind = kind
        self._order = (order_by, table.c.id)
        self._zone = zone
        self._written = {} if written is None else written

    def add(self, record: R) -> None:
        row = to_row(record)
        patient = row["id"] if self._table is t.patients else row.get("patient_id")
        insert(self._connection, self._table, row, patient, self._written, self._zone)

    def get(self, record_id: str) -> R | None:
        row = self._connection.execute(
            select(self._table).where(self._table.c.id == record_id)
        ).first()
        return None if row is None else from_row(self._kind, row._mapping, self._zone)

    def for_patient(self, patient_id: str) -> list[R]:
        query = select(self._table).where(same_person(self._table.c.patient_id, patient_id))
        rows = self._connection.execute(query.order_by(*self._order))
        return [from_row(self._kind, row._mapping, self._zone) for row in rows]

    def every(self) -> Iterator[R]:
        """Every row, by patient then in the order they happened: one query, streamed."""
        query = select(self._table).order_by(self._table.c.patient_id, *self._order)
        # on the statement: Connection.execution_options would stream every later statement of
        # the unit of work too (a server-side cursor for an INSERT fails on PostgreSQL)
        for row in self._connection.execute(query.execution_options(yield_per=500)):
            yield from_row(self._kind, row._mapping, self._zone)


def insert(
    connection: Connection,
    table: Table,
    row: Mapping[str, Any],
    patient: str | None,
    written: Written,
    zone: tzinfo | None = None,
) -> None:
    """One row, checked first (the same refusal on every database, before it sees the row), kept
    in ``written`` with its digest until an audit link names it; a broken unique key is answered
    with AlreadyRecordedError.

    One INSERT ... RETURNING * with bound parameters, compiled once per dialect and run on the
    driver's cursor (``driver.run``): the row comes back as stored (raw driver values, no type
    processing) for its digest."""
    check_row(table, row)
    try:
        cursor = run(connection, prepare(_INSERT[table.name], connection.dialect, tuple(row)), row)
    except IntegrityError:
        written.clear()  # the transaction is rolled back below: nothing stays written
        already = _already_recorded(connection, table, row, zone)
        if already is None:
            raise
        raise already from None
    stored = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    cursor.close()
    # str(): SQLAlchemy's quoted_name, as a link's value, costs the driver a failed adaptation
    name = str(table.name)
    written[name, row_key(name, row)] = (row_digest(stored), patient)


class SqlCalendarFeeds(SqlRecords[CalendarFeed]):
    """A patient's calendar feeds (revision 0008), found also by their token's hash."""

    def __init__(
        self, connection: Connection, zone: tzinfo | None = None, written: Written | None = None
    ) -> None:
        feeds = t.calendar_feeds
        super().__init__(connection, feeds, CalendarFeed, feeds.c.created_at, zone, written)

    def with_token(self, token_hash: str) -> list[CalendarFeed]:
        feeds = t.calendar_feeds
        made = select(feeds.c.id).where(feeds.c.token_hash == token_hash).scalar_subquery()
        query = select(feeds).where((feeds.c.id == made) | (feeds.c.revokes_id == made))
        rows = self._connection.execute(query.order_by(*self._order))
        return [from_row(CalendarFeed, row._mapping, self._zone) for row in rows]


class SqlPrescriptions(SqlRecords[Prescription]):
    """Prescriptions with their planned doses and laboratory checks (rows of their own tables);
    reading any number of prescriptions takes three queries."""

    def __init__(
        self, connection: Connection, zone: tzinfo | None = None, written: Written | None = None
    ) -> None:
        super().__init__(
            connection, t.prescriptions, Prescription, t.prescriptions.c.prescribed_at, zone,
            written,
        )  # fmt: skip

    def add(self, record: Prescription) -> None:
        def put(table: Table, row: Mapping[str, Any]) -> None:
            insert(self._connection, table, row, record.patient_id, self._written, self._zone)

        put(t.prescriptions, to_row(record, frozenset({"doses", "labs"})))
        for dose in record.doses:
            put(t.planned_doses, {
                "prescription_id": record.id, "number": dose.number, "due_on": dose.date,
                "dose_mcg": dose.dose_mcg, "volume_ml": dose.volume_ml, "route": dose.route,
                "phase": dose.phase, "phase_kind": dose.phase_kind,
                "regimen_id": record.regimen_id, "fingerprint": record.fingerprint,
            })  # fmt: skip
        for lab in record.labs:
            put(t.planned_labs, {
                "prescription_id": record.id, "number": lab.number, "due_on": lab.date,
                "tests": list(lab.tests), "sources": list(lab.sources),
            })  # fmt: skip

    def get(self, record_id: str) -> Prescription | None:
        found = self._read(t.prescriptions.c.id == record_id)
        return found[0] if found else None

    def for_patient(self, patient_id: str) -> list[Prescription]:
        return self._read(same_person(t.prescriptions.c.patient_id, patient_id))

    def every(self) -> Iterator[Prescription]:
        yield from self._read(None)

    def _read(self, where: Any) -> list[Prescription]:
        rx, pd, pl = t.prescriptions, t.planned_doses, t.planned_labs
        query = select(rx).order_by(rx.c.patient_id, *self._order)
        ids = select(rx.c.id)
        if where is not None:
            query, ids = query.where(where), ids.where(where)
        rows = self._connection.execute(query).all()
        if not rows:
            return []
        doses: dict[str, list[PlannedDose]] = {}
        dose_rows = select(pd).where(pd.c.prescription_id.in_(ids.scalar_subquery()))
        for d in self._connection.execute(dose_rows.order_by(pd.c.prescription_id, pd.c.number)):
            doses.setdefault(d.prescription_id, []).append(
                PlannedDose(
                    d.number, d.due_on, d.dose_mcg, d.volume_ml, d.route, d.phase, d.phase_kind
                )
            )
        labs: dict[str, list[PlannedLab]] = {}
        lab_rows = select(pl).where(pl.c.prescription_id.in_(ids.scalar_subquery()))
        for lab in self._connection.execute(lab_rows.order_by(pl.c.prescription_id, pl.c.number)):
            labs.setdefault(lab.prescription_id, []).append(
                PlannedLab(lab.number, lab.due_on, tuple(lab.tests), tuple(lab.sources))
            )
        return [
            from_row(
                Prescription,
                row._mapping,
                self._zone,
                doses=tuple(doses.get(row.id, ())),
                labs=tuple(labs.get(row.id, ())),
                self_injection=bool(row.self_injection),  # NULL before revision 0009
            )
            for row in rows
        ]


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
    connection: Connection, table: Table, row: Mapping[str, Any], zone: tzinfo | None
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
        what(found),
        str(found[by]),
        found[at].astimezone(zone).isoformat(timespec="seconds"),
        advice,
        field,
    )


class SqlPatients:
    def __init__(
        self, connection: Connection, zone: tzinfo | None = None, written: Written | None = None
    ) -> None:
        self._connection = connection
        self._zone = zone
        self._records = SqlRecords(
            connection, t.patients, PatientRecord, t.patients.c.recorded_at, zone, written
        )

    def lock(self, code: str) -> None:
        """Hold the lock of the patient with ``code`` (whether the patient exists yet or not) until
        the transaction ends; writers of one patient queue here, others do not wait."""
        check_text("patient", code)
        connection = self._connection
        if connection.dialect.name == "postgresql":
            # hashtext: two codes may share a key; they then only queue behind each other.
            lock = prepare(_LOCK, connection.dialect, ("space", "key"))
            run(connection, lock, {"space": PATIENT_LOCKS, "key": code}).close()
        else:
            # The transaction begins with BEGIN IMMEDIATE: the write lock is held.
            begin(connection)

    def add(self, record: PatientRecord) -> None:
        self._records.add(record)

    def get(self, record_id: str) -> PatientRecord | None:
        return self._records.get(record_id)

    def with_code(self, code: str) -> list[PatientRecord]:
        check_text("patient", code)  # PostgreSQL refuses a NUL even in a query
        query = select(t.patients).where(t.patients.c.code == code)
        rows = self._connection.execute(query.order_by(t.patients.c.recorded_at, t.patients.c.id))
        return [from_row(PatientRecord, row._mapping, self._zone) for row in rows]

    def all(self) -> list[PatientRecord]:
        query = select(t.patients).order_by(t.patients.c.code, t.patients.c.recorded_at)
        rows = self._connection.execute(query)
        return [from_row(PatientRecord, row._mapping, self._zone) for row in rows]

    def page(self, after: str | None, limit: int) -> list[PatientRecord]:
        """At most ``limit`` current patients (no later row corrects them) by code, after the code
        ``after``: one query, whatever the size of the record."""
        p = t.patients
        later = p.alias("later")
        query = select(p).where(~exists().where(later.c.corrects_id == p.c.id))
        if after is not None:
            check_text("patient", after)
            query = query.where(p.c.code > after)
        query = query.order_by(p.c.code, p.c.recorded_at, p.c.id).limit(limit)
        rows = self._connection.execute(query)
        return [from_row(PatientRecord, row._mapping, self._zone) for row in rows]

    def duplicates(self, code: str, patient_id: str) -> list[tuple[str, str, str]]:
        marked = [
            select(literal_column("'patients'"), t.patients.c.id, t.patients.c.duplicate_of)
            .where(t.patients.c.code == code, t.patients.c.duplicate_of.is_not(None)),
            select(literal_column("'administrations'"), t.administrations.c.id,
                   t.administrations.c.duplicate_of)
            .where(same_person(t.administrations.c.patient_id, patient_id),
                   t.administrations.c.duplicate_of.is_not(None)),
        ]  # fmt: skip
        rows = self._connection.execute(marked[0].union_all(marked[1]))
        return sorted((str(a), str(b), str(c)) for a, b, c in rows)


class SqlAuditTrail:
    """The hash-chained audit trail: one keyed chain per stream, appended under the stream's lock."""

    def __init__(
        self,
        connection: Connection,
        key: Callable[[], bytes],
        written: Written | None = None,
    ) -> None:
        self._connection = connection
        self._key = key
        self._written = {} if written is None else written
        self._who: str | None = None
        #: The transaction the heads below were read or written in, and per stream the number
        #: and hash of its last link in that transaction.
        self._transaction: Any = None
        self._heads: dict[str, tuple[int, str]] = {}

    def bind_unnamed(self) -> None:
        """Give each row written in this unit of work that no link named (a row a use case
        wrote beside the one its link records) a ``bind`` link of its own, so that no row is
        committed through b12 without one."""
        for table, row_id in list(self._written):
            patient = self._written[table, row_id][1]
            self.append(self._who or "b12", "bind", table, row_id, patient, {}, table)

    def append(
        self,
        who: str,
        action: str,
        entity: str,
        entity_id: str,
        patient: str | None,
        payload: Mapping[str, Any],
        table: str | None = None,
    ) -> AuditEntry:
        """A link in the stream of ``patient`` (the "record" stream without one). It binds the row
        this unit of work wrote with the key ``entity_id`` (in ``table``, or in whichever table
        holds it), with the digest of that row as stored."""
        connection = self._connection
        dialect = connection.dialect.name
        stream = patient or RECORD_STREAM
        number, prev = self._head(stream)
        if table is None:  # a use case's link: the row it names, whatever its table
            table = next((tb for tb, key in self._written if key == entity_id), None)
        digest = None if table is None else self._written.pop((table, entity_id), (None,))[0]
        self._who = who
        body = to_json(payload)
        link = {
            "stream": stream,
            "stream_seq": number,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "who": who,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient": patient,
            "record_table": table,
            "row_hash": digest,
            "payload": body,
            "prev_hash": prev,
        }
        row = {**link, "hash": link_mac(self._key(), link_message(link))}
        cursor = run(connection, prepare(_APPEND[dialect], connection.dialect, tuple(row)), row)
        seq = cursor.fetchone()[0]
        cursor.close()
        self._heads[stream] = (number, row["hash"])
        return AuditEntry(**{**row, "seq": seq, "payload": freeze(body)})

    def _head(self, stream: str) -> tuple[int, str]:
        """The number and hash of the next link of ``stream``: the stream's lock is taken (SQLite:
        the write lock the transaction took with BEGIN IMMEDIATE; PostgreSQL: the stream's
        advisory lock) and its last link read, once per transaction; while the transaction lasts
        no other writer can append to the stream, so its later links follow the ones written
        here without reading it again. A new transaction (after a commit or a rollback) reads
        it afresh."""
        connection = self._connection
        transaction = connection.get_transaction()
        if transaction is not self._transaction:
            self._transaction, self._heads = transaction, {}
        known = self._heads.get(stream)
        if known is not None:
            return known[0] + 1, known[1]
        if connection.dialect.name == "postgresql":
            lock = prepare(_LOCK, connection.dialect, ("space", "key"))
            run(connection, lock, {"space": AUDIT_STREAMS, "key": stream}).close()
        cursor = run(
            connection, prepare(_STREAM_HEAD, connection.dialect, ("stream",)), {"stream": stream}
        )
        last = cursor.fetchone()
        cursor.close()
        if self._transaction is None:  # the statement began the transaction
            self._transaction = connection.get_transaction()
        return (1, GENESIS) if last is None else (last[0] + 1, last[1])

    def entries(self) -> Iterator[AuditEntry]:
        query = select(t.audit_log).order_by(t.audit_log.c.seq)
        for row in self._connection.execute(query):
            values = dict(row._mapping)
            yield AuditEntry(**{**values, "payload": freeze(values["payload"])})

    def record_rows(self) -> Iterator[RowDigest]:
        """Every row of every record table, read back as stored (``SELECT *``: every column,
        whatever its type) and digested as it was when written."""
        for table in t.RECORD_TABLES:
            for row in self._connection.exec_driver_sql(f"SELECT * FROM {table.name}"):
                values = row._mapping
                yield RowDigest(
                    table.name,
                    row_key(table.name, values),
                    row_digest(values),
                    values.get("duplicate_of"),
                )

    def sign(self, message: bytes) -> str:
        """The keyed hash of a link's message (b12.domain.audit.link_message)."""
        return link_mac(self._key(), message)


class SqlAccounts:
    """Accounts, their patient links and sessions (revision 0007): rows that change in place.
    Their instants are stored in UTC and read back in the clinic's zone, as the record's are."""

    def __init__(self, connection: Connection, zone: tzinfo | None = None) -> None:
        self._connection = connection
        self._zone = zone

    def _values(self, row: Any) -> dict[str, Any]:
        values = dict(row._mapping)
        if self._zone is None:
            return values
        return {
            k: v.astimezone(self._zone) if isinstance(v, datetime) else v for k, v in values.items()
        }

    def _account(self, row: Any) -> Any:
        from b12.services.accounts import Account

        return None if row is None else Account(**self._values(row))

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
        """A new link, or an ended one made live again (with the mark given now)."""
        ap = t.account_patients
        key = and_(ap.c.account_id == link.account_id, ap.c.patient_code == link.patient_code)
        values = {"self_injects": link.self_injects, "ended_at": None}
        if self._connection.execute(select(ap.c.account_id).where(key)).first() is None:
            self._connection.execute(
                ap.insert(), {"account_id": link.account_id, "patient_code": link.patient_code,
                              **values},
            )  # fmt: skip
        else:
            self._connection.execute(ap.update().where(key).values(**values))

    def links(self, account_id: str) -> list[Any]:
        """The account's live links, by patient code."""
        ap = t.account_patients
        query = select(ap).where(ap.c.account_id == account_id, ap.c.ended_at.is_(None))
        return self._links(query.order_by(ap.c.patient_code))

    def linked_to(self, patient_code: str) -> list[Any]:
        """The live links to one patient."""
        ap = t.account_patients
        query = select(ap).where(ap.c.patient_code == patient_code, ap.c.ended_at.is_(None))
        return self._links(query.order_by(ap.c.account_id))

    def _links(self, query: Any) -> list[Any]:
        from b12.services.accounts import PatientLink

        return [PatientLink(**self._values(row)) for row in self._connection.execute(query)]

    def end_link(self, account_id: str, patient_code: str, at: datetime) -> None:
        ap = t.account_patients
        self._connection.execute(
            ap.update()
            .where(ap.c.account_id == account_id, ap.c.patient_code == patient_code)
            .values(ended_at=at)
        )

    def add_session(self, session: Any) -> None:
        self._connection.execute(t.web_sessions.insert(), vars(session))

    def session(self, session_id: str) -> Any:
        from b12.services.accounts import WebSession

        query = select(t.web_sessions).where(t.web_sessions.c.id == session_id)
        row = self._connection.execute(query).first()
        return None if row is None else WebSession(**self._values(row))

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._connection.execute(
            t.web_sessions.update().where(t.web_sessions.c.id == session_id).values(last_seen=at)
        )

    def end_sessions(self, account_id: str, session_id: str | None = None) -> None:
        query = t.web_sessions.update().where(t.web_sessions.c.account_id == account_id)
        if session_id is not None:
            query = query.where(t.web_sessions.c.id == session_id)
        self._connection.execute(query.values(ended=True))
