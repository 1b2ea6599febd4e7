"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from datetime import tzinfo
from types import TracebackType

from sqlalchemy import Connection, Engine

from b12.adapters.storage import tables as t
from b12.adapters.storage.repositories import (
    SqlAuditTrail,
    SqlPatients,
    SqlPrescriptions,
    SqlRecords,
)
from b12.domain.records import Administration, AdverseEvent, LabResult, MissedDose


class SqlUnitOfWork:
    """``with SqlUnitOfWork(engine) as uow: ...; uow.commit()``; leaving without commit rolls back.

    The transaction begins with the first statement (BEGIN IMMEDIATE on SQLite). Times are read
    back in ``zone``, the clinic's time zone (None: the machine's)."""

    def __init__(self, engine: Engine, zone: tzinfo | None = None) -> None:
        self._engine = engine
        self._zone = zone
        self._connection: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        self._connection = connection
        zone = self._zone
        self.patients = SqlPatients(connection, zone)
        self.prescriptions = SqlPrescriptions(connection, zone)
        self.administrations = SqlRecords(
            connection, t.administrations, Administration, t.administrations.c.given_at, zone
        )
        self.missed = SqlRecords(connection, t.missed_doses, MissedDose, t.missed_doses.c.on, zone)
        self.labs = SqlRecords(connection, t.lab_results, LabResult, t.lab_results.c.taken_on, zone)
        self.events = SqlRecords(
            connection, t.adverse_events, AdverseEvent, t.adverse_events.c.on, zone
        )
        self.audit = SqlAuditTrail(connection)
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
