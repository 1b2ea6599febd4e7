"""The ports the use cases need: repositories, a unit of work (storage is behind them) and a clock."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

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


class Records(Protocol[R]):
    """Append-only records of one kind; read back in the order they happened."""

    def add(self, record: R) -> None: ...
    def get(self, record_id: str) -> R | None: ...
    def for_patient(self, patient_id: str) -> list[R]: ...


class Patients(Protocol):
    def add(self, record: PatientRecord) -> None: ...
    def get(self, record_id: str) -> PatientRecord | None: ...
    def with_code(self, code: str) -> list[PatientRecord]: ...
    def all(self) -> list[PatientRecord]: ...


class AuditTrail(Protocol):
    def append(
        self,
        who: str,
        action: str,
        entity: str,
        entity_id: str,
        patient: str | None,
        payload: Mapping[str, Any],
    ) -> AuditEntry: ...
    def entries(self) -> Iterator[AuditEntry]: ...


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
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class Clock(Protocol):
    """The time now, aware and in the clinic's time zone (SystemClock in adapters; fixed in tests)."""

    def now(self) -> datetime: ...
