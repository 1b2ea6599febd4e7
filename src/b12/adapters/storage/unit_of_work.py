"""The SQL unit of work: one connection, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine

from b12.adapters.storage import tables as t
from b12.adapters.storage.cds_store import SqlCdsStore
from b12.adapters.storage.repositories import (
    SqlAccounts,
    SqlAuditTrail,
    SqlCalendarFeeds,
    SqlPatients,
    SqlPrescriptions,
    SqlRecords,
    Written,
)
from b12.domain.home_supply import Dispensing, Waste
from b12.domain.records import Administration, AdverseEvent, LabResult, MissedDose

R = TypeVar("R")


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
        self._written: Written = {}  # each row added, until the audit link that names it
        self._made: dict[str, Any] = {}

    def __enter__(self) -> SqlUnitOfWork:
        self._connection = self._engine.connect()
        self._written = {}
        self._made = {}  # the repositories, each made on first use, on this connection
        return self

    def _repository(self, name: str, make: Callable[[Connection], R]) -> R:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = make(self.connection)
        return cast(R, found)

    @property
    def patients(self) -> SqlPatients:
        return self._repository("patients", lambda c: SqlPatients(c, self._zone, self._written))

    @property
    def prescriptions(self) -> SqlPrescriptions:
        return self._repository(
            "prescriptions", lambda c: SqlPrescriptions(c, self._zone, self._written)
        )

    @property
    def administrations(self) -> SqlRecords[Administration]:
        return self._repository(
            "administrations", lambda c: SqlRecords(
                c, t.administrations, Administration, t.administrations.c.given_at, self._zone,
                self._written,
            ),
        )  # fmt: skip

    @property
    def missed(self) -> SqlRecords[MissedDose]:
        return self._repository(
            "missed", lambda c: SqlRecords(
                c, t.missed_doses, MissedDose, t.missed_doses.c.on, self._zone, self._written
            ),
        )  # fmt: skip

    @property
    def labs(self) -> SqlRecords[LabResult]:
        return self._repository(
            "labs", lambda c: SqlRecords(
                c, t.lab_results, LabResult, t.lab_results.c.taken_on, self._zone, self._written
            ),
        )  # fmt: skip

    @property
    def events(self) -> SqlRecords[AdverseEvent]:
        return self._repository(
            "events", lambda c: SqlRecords(
                c, t.adverse_events, AdverseEvent, t.adverse_events.c.on, self._zone,
                self._written,
            ),
        )  # fmt: skip

    @property
    def dispensings(self) -> SqlRecords[Dispensing]:
        return self._repository(
            "dispensings", lambda c: SqlRecords(
                c, t.dispensings, Dispensing, t.dispensings.c.dispensed_at, self._zone,
                self._written,
            ),
        )  # fmt: skip

    @property
    def wastes(self) -> SqlRecords[Waste]:
        return self._repository(
            "wastes", lambda c: SqlRecords(
                c, t.wastes, Waste, t.wastes.c.recorded_at, self._zone, self._written
            ),
        )  # fmt: skip

    @property
    def calendar_feeds(self) -> SqlCalendarFeeds:
        return self._repository(
            "calendar_feeds", lambda c: SqlCalendarFeeds(c, self._zone, self._written)
        )

    @property
    def audit(self) -> SqlAuditTrail:
        return self._repository("audit", lambda c: SqlAuditTrail(c, self._audit_key, self._written))

    @property
    def accounts(self) -> SqlAccounts:
        return self._repository("accounts", lambda c: SqlAccounts(c, self._zone))

    @property
    def cds(self) -> SqlCdsStore:
        return self._repository("cds", SqlCdsStore)

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
        if self._written:
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
