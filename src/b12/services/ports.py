"""The ports the use cases need: repositories, a unit of work (storage is behind them) and a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import wraps
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

from b12.domain.audit import RowDigest
from b12.domain.calendar_feed import CalendarFeed
from b12.domain.home_supply import Dispensing, Waste
from b12.domain.records import (
    Administration,
    AdverseEvent,
    AuditEntry,
    LabResult,
    MissedDose,
    PatientRecord,
    Prescription,
)

R = TypeVar("R")
P = ParamSpec("P")
T = TypeVar("T")


class Records(Protocol[R]):
    """Append-only records of one kind; read back in the order they happened."""

    def add(self, record: R) -> None: ...
    def get(self, record_id: str) -> R | None: ...
    def for_patient(self, patient_id: str) -> list[R]:
        """The records of the patient whose row is ``patient_id``, under every row of their code
        (a profile correction makes a new row; what came before stays under the old one)."""
        ...

    def every(self) -> Iterator[R]:
        """Every record, by patient then in order: one pass, whatever the number of patients."""
        ...


class Patients(Protocol):
    def lock(self, code: str) -> None:
        """Hold the lock of the patient ``code`` until the unit of work ends: a use case that
        checks the record before it writes (one patient per code, one dose once) takes it first,
        so that its check and its insert happen under one lock."""
        ...

    def add(self, record: PatientRecord) -> None: ...
    def get(self, record_id: str) -> PatientRecord | None: ...
    def with_code(self, code: str) -> list[PatientRecord]: ...
    def all(self) -> list[PatientRecord]: ...
    def page(self, after: str | None, limit: int) -> list[PatientRecord]:
        """At most ``limit`` current patients by code, after the code ``after`` (None: from the
        first)."""
        ...

    def duplicates(self, code: str, patient_id: str) -> list[tuple[str, str, str]]:
        """The patient's rows an older b12 recorded twice, kept and marked by revision 0004:
        (table, id, the id of the first one)."""
        ...


class CalendarFeeds(Records[CalendarFeed], Protocol):
    def with_token(self, token_hash: str) -> list[CalendarFeed]:
        """The feed made with this token's hash, and any row revoking it (oldest first)."""
        ...


class AuditTrail(Protocol):
    def append(
        self,
        who: str,
        action: str,
        entity: str,
        entity_id: str,
        patient: str | None,
        payload: Mapping[str, Any],
    ) -> AuditEntry:
        """Append a link to the stream of ``patient`` (or the "record" stream); when a row was
        added in this unit of work with id ``entity_id``, the link binds that row's digest. The
        payload is kept as plain JSON (``b12.domain.jsonable.to_json``: Decimals as text, dates
        ISO 8601), made here."""
        ...

    def entries(self) -> Iterator[AuditEntry]: ...
    def record_rows(self) -> Iterator[RowDigest]:
        """Every row of every record table, read back and digested (for verify)."""
        ...

    def sign(self, message: bytes) -> str:
        """The keyed hash of a link's message: the key stays behind the port."""
        ...


class UnitOfWork(Protocol):
    """One transaction: everything added and its audit links commit together, or nothing does."""

    # Read-only properties: a real unit of work may hold richer repositories than the port names.
    @property
    def patients(self) -> Patients: ...
    @property
    def prescriptions(self) -> Records[Prescription]: ...
    @property
    def administrations(self) -> Records[Administration]: ...
    @property
    def missed(self) -> Records[MissedDose]: ...
    @property
    def labs(self) -> Records[LabResult]: ...
    @property
    def events(self) -> Records[AdverseEvent]: ...
    @property
    def dispensings(self) -> Records[Dispensing]: ...
    @property
    def wastes(self) -> Records[Waste]: ...
    @property
    def calendar_feeds(self) -> CalendarFeeds: ...
    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


#: What a use case is given to reach the record: each call returns a new unit of work
#: (``App.unit_of_work``; ``tests.fakes.fake_factory()`` in tests).
UnitOfWorkFactory = Callable[[], UnitOfWork]


def opens_unit_of_work(
    use_case: Callable[Concatenate[UnitOfWork, P], T],
) -> Callable[Concatenate[UnitOfWorkFactory, P], T]:
    """Called with a unit-of-work factory, the use case opens its own unit of work from it and
    commits inside: a door never holds a transaction. Its body is written against the open one."""

    @wraps(use_case)
    def opened(unit_of_work: UnitOfWorkFactory, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with unit_of_work() as uow:
            return use_case(uow, *args, **kwargs)

    return opened


class Clock(Protocol):
    """The time now, aware and in the clinic's time zone (SystemClock in adapters; fixed in tests)."""

    def now(self) -> datetime: ...
