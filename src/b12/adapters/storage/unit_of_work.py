"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from types import TracebackType

from sqlalchemy import Connection, Engine

from b12.adapters.storage import tables as t
from b12.adapters.storage.cds_store import SqlCdsStore
from b12.adapters.storage.repositories import (
    SqlAccounts,
    SqlAuditTrail,
    SqlPatients,
    SqlPrescriptions,
    SqlRecords,
    Written,
)
from b12.domain.records import Administration, AdverseEvent, LabResult, MissedDose


class SqlUnitOfWork:
    """``with SqlUnitOfWork(engine) as uow: ...; uow.commit()``; leaving without commit rolls back.

    The transaction begins with the first statement (BEGIN IMMEDIATE on SQLite). Times are read
    back in ``zone``, the clinic's time zone (None: the machine's). ``audit_key`` gives the audit
    key when a link is first written or verified (reading needs none)."""

    def __init__(
        self,
        engine: Engine,
        zone: tzinfo | None = None,
        audit_key: Callable[[], bytes] | None = None,
    ) -> None:
        self._engine = engine
        self._zone = zone
        self._connection: Connection | None = None
        self._audit_key = audit_key or _default_key

    def __enter__(self) -> SqlUnitOfWork:
        connection = self._engine.connect()
        self._connection = connection
        zone = self._zone
        written: Written = {}  # each row added, until the audit link that names it
        self.patients = SqlPatients(connection, zone, written)
        self.prescriptions = SqlPrescriptions(connection, zone, written)
        self.administrations = SqlRecords(
            connection, t.administrations, Administration, t.administrations.c.given_at, zone,
            written,
        )  # fmt: skip
        self.missed = SqlRecords(
            connection, t.missed_doses, MissedDose, t.missed_doses.c.on, zone, written
        )
        self.labs = SqlRecords(
            connection, t.lab_results, LabResult, t.lab_results.c.taken_on, zone, written
        )
        self.events = SqlRecords(
            connection, t.adverse_events, AdverseEvent, t.adverse_events.c.on, zone, written
        )
        self.audit = SqlAuditTrail(connection, self._audit_key, written)
        self.accounts = SqlAccounts(connection, zone)
        self.cds = SqlCdsStore(connection)
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
        """Commit what was done so far (every row written bound by an audit link); the next
        statement begins a new transaction."""
        assert self._connection is not None
        self.audit.bind_unnamed()
        self._connection.commit()

    @property
    def connection(self) -> Connection:
        """For the integrity check and tests; use cases go through the repositories."""
        assert self._connection is not None
        return self._connection


def _default_key() -> bytes:
    from b12.adapters.storage.audit_key import default_key_file, read_key

    return read_key(default_key_file())
