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
from datetime import UTC, datetime, tzinfo
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Connection, Table, and_, exists, select, text
from sqlalchemy.exc import IntegrityError

from b12.adapters.storage import tables as t
from b12.adapters.storage.codec import from_row, to_row
from b12.adapters.storage.database import AUDIT_LOCK, PATIENT_LOCKS
from b12.adapters.storage.limits import check_row, check_text
from b12.domain.audit import GENESIS, link_hash
from b12.domain.jsonable import freeze, to_json
from b12.domain.records import AuditEntry, PatientRecord, PlannedDose, PlannedLab, Prescription
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
        self,
        connection: Connection,
        table: Table,
        kind: type[R],
        order_by: Column[Any],
        zone: tzinfo | None = None,
    ) -> None:
        self._connection = connection
        self._table = table
        self._kind = kind
        self._order = (order_by, table.c.id)
        self._zone = zone

    def add(self, record: R) -> None:
        insert(self._connection, self._table, to_row(record), self._zone)

    def get(self, record_id: str) -> R | None:
        row = self._connection.execute(
            select(self._table).where(self._table.c.id == record_id)
        ).first()
        return None if row is None else from_row(self._kind, row._mapping, self._zone)

    def for_patient(self, patient_id: str) -> list[R]:
        query = select(self._table).where(self._table.c.patient_id == patient_id)
        rows = self._connection.execute(query.order_by(*self._order))
        return [from_row(self._kind, row._mapping, self._zone) for row in rows]

    def every(self) -> Iterator[R]:
        """Every row, by patient then in the order they happened: one query, streamed."""
        query = select(self._table).order_by(self._table.c.patient_id, *self._order)
        for row in self._connection.execution_options(yield_per=500).execute(query):
            yield from_row(self._kind, row._mapping, self._zone)


def insert(
    connection: Connection, table: Table, row: Mapping[str, Any], zone: tzinfo | None = None
) -> None:
    """One row, checked first (the same refusal on every database, before it sees the row); a
    broken unique key is answered with AlreadyRecordedError."""
    check_row(table, row)
    try:
        # A plain INSERT with bound parameters: SQLAlchemy compiles it once and caches it.
        connection.execute(table.insert(), row)
    except IntegrityError:
        already = _already_recorded(connection, table, row, zone)
        if already is None:
            raise
        raise already from None


class SqlPrescriptions(SqlRecords[Prescription]):
    """Prescriptions with their planned doses and laboratory checks (rows of their own tables);
    reading any number of prescriptions takes three queries."""

    def __init__(self, connection: Connection, zone: tzinfo | None = None) -> None:
        super().__init__(
            connection, t.prescriptions, Prescription, t.prescriptions.c.prescribed_at, zone
        )

    def add(self, record: Prescription) -> None:
        insert(self._connection, t.prescriptions, to_row(record, frozenset({"doses", "labs"})))
        for dose in record.doses:
            insert(self._connection, t.planned_doses, {
                "prescription_id": record.id, "number": dose.number, "due_on": dose.date,
                "dose_mcg": dose.dose_mcg, "volume_ml": dose.volume_ml, "route": dose.route,
                "phase": dose.phase, "phase_kind": dose.phase_kind,
                "regimen_id": record.regimen_id, "fingerprint": record.fingerprint,
            })  # fmt: skip
        for lab in record.labs:
            insert(self._connection, t.planned_labs, {
                "prescription_id": record.id, "number": lab.number, "due_on": lab.date,
                "tests": list(lab.tests), "sources": list(lab.sources),
            })  # fmt: skip

    def get(self, record_id: str) -> Prescription | None:
        found = self._read(t.prescriptions.c.id == record_id)
        return found[0] if found else None

    def for_patient(self, patient_id: str) -> list[Prescription]:
        return self._read(t.prescriptions.c.patient_id == patient_id)

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
    def __init__(self, connection: Connection, zone: tzinfo | None = None) -> None:
        self._connection = connection
        self._zone = zone
        self._records = SqlRecords(
            connection, t.patients, PatientRecord, t.patients.c.recorded_at, zone
        )

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
