"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from b12.adapters.storage import tables as t
from b12.adapters.storage.repositories import SqlAccounts, SqlAuditTrail, SqlPatients, SqlRecords
from b12.domain.records import (
    Administration,
    AdverseEvent,
    LabResult,
    MissedDose,
    Prescription,
)


class SqlUnitOfWork:
    """``with SqlUnitOfWork(engine) as uow: ...; uow.commit()``; leaving without commit rolls back.

    The transaction begins with the first statement (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        self._connection = connection
        self.patients = SqlPatients(connection)
        self.prescriptions = SqlRecords(
            connection, t.prescriptions, Prescription, t.prescriptions.c.prescribed_at
        )
        self.administrations = SqlRecords(
            connection, t.administrations, Administration, t.administrations.c.given_at
        )
        self.missed = SqlRecords(connection, t.missed_doses, MissedDose, t.missed_doses.c.on)
        self.labs = SqlRecords(connection, t.lab_results, LabResult, t.lab_results.c.taken_on)
        self.events = SqlRecords(connection, t.adverse_events, AdverseEvent, t.adverse_events.c.on)
        self.audit = SqlAuditTrail(connection)
        self.accounts = SqlAccounts(connection)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        if self._connection.in_transaction():
            self._connection.rollback()
        self._connection.close()
        self._connection = None

    def commit(self) -> None:
        """Commit what was done so far; the next statement begins a new transaction."""
        assert self._connection is not None
        self._connection.commit()

    @property
    def connection(self) -> Connection:
        """For the integrity check and tests; use cases go through the repositories."""
        assert self._connection is not None
        return self._connection
