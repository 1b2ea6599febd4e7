"""Fakes of the ports in b12.services.ports: a unit of work over lists, and a fixed clock.

The fake keeps the transaction's promise: what a unit of work adds is seen by later units of work
only once committed; leaving without commit drops it (as the SQL one rolls back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

from b12.domain.audit import GENESIS, link_hash
from b12.domain.jsonable import freeze, to_json
from b12.domain.records import AuditEntry, PatientRecord

R = TypeVar("R")


@dataclass(frozen=True)
class FixedClock:
    """A clock that always says ``at`` (aware)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


class FakeRecords(Generic[R]):
    """Append-only rows of one kind, read back by ``order`` then id (as the SQL tables are)."""

    def __init__(self, rows: list[Any], order: str) -> None:
        self._rows, self._order = rows, order

    def add(self, record: R) -> None:
        if self.get(record.id) is not None:  # type: ignore[attr-defined]
            raise ValueError(f"duplicate id {record.id}")  # type: ignore[attr-defined]
        self._rows.append(record)

    def get(self, record_id: str) -> R | None:
        return next((r for r in self._rows if r.id == record_id), None)

    def for_patient(self, patient_id: str) -> list[R]:
        mine = [r for r in self._rows if r.patient_id == patient_id]
        return sorted(mine, key=lambda r: (getattr(r, self._order), r.id))

    def every(self) -> Iterator[R]:
        return iter(sorted(self._rows, key=lambda r: (r.patient_id, getattr(r, self._order), r.id)))


class FakePatients(FakeRecords[PatientRecord]):
    def lock(self, code: str) -> None:
        """One thread uses the fake: nothing to wait for."""

    def with_code(self, code: str) -> list[PatientRecord]:
        return sorted(
            (p for p in self._rows if p.code == code), key=lambda p: (p.recorded_at, p.id)
        )

    def all(self) -> list[PatientRecord]:
        return sorted(self._rows, key=lambda p: (p.code, p.recorded_at))

    def page(self, after: str | None, limit: int) -> list[PatientRecord]:
        corrected = {p.corrects_id for p in self._rows}
        live = [p for p in self.all() if p.id not in corrected]
        return [p for p in live if after is None or p.code > after][:limit]


class FakeAuditTrail:
    """The hash chain, linked exactly as the SQL trail links it."""

    def __init__(self, rows: list[AuditEntry]) -> None:
        self._rows = rows

    def append(
        self, who: str, action: str, entity: str, entity_id: str, patient: str | None,
        payload: Mapping[str, Any],
    ) -> AuditEntry:  # fmt: skip
        seq, prev = (len(self._rows) + 1, self._rows[-1].hash if self._rows else GENESIS)
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        link = {"seq": seq, "at": at, "who": who, "action": action, "entity": entity,
                "entity_id": entity_id, "patient": patient, "payload": to_json(payload),
                "prev_hash": prev}  # fmt: skip
        entry = AuditEntry(**{**link, "payload": freeze(link["payload"]), "hash": link_hash(link)})
        self._rows.append(entry)
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        return iter(list(self._rows))


#: Each repository of the unit of work: its name and the field its records are ordered by.
ORDER = {"prescriptions": "prescribed_at", "administrations": "given_at", "missed": "on",
         "labs": "taken_on", "events": "on"}  # fmt: skip


class FakeUnitOfWork:
    """``with FakeUnitOfWork(store) as uow: ...; uow.commit()``; ``store`` holds what is committed."""

    def __init__(self, store: dict[str, list[Any]]) -> None:
        self.store = store
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        self._rows = {
            name: list(self.store.setdefault(name, [])) for name in [*ORDER, "patients", "audit"]
        }
        self.patients = FakePatients(self._rows["patients"], "recorded_at")
        for name, order in ORDER.items():
            setattr(self, name, FakeRecords(self._rows[name], order))
        self.audit = FakeAuditTrail(self._rows["audit"])
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        del self._rows  # what was not committed is dropped

    def commit(self) -> None:
        for name, rows in self._rows.items():
            self.store[name] = list(rows)
        self.commits += 1


def fake_factory() -> Callable[[], FakeUnitOfWork]:
    """A factory of fake units of work sharing one committed store (one record)."""
    store: dict[str, list[Any]] = {}
    return lambda: FakeUnitOfWork(store)
