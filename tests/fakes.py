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

from b12.domain.audit import (
    GENESIS,
    RECORD_STREAM,
    RowDigest,
    link_mac,
    link_message,
    row_digest,
)
from b12.domain.jsonable import freeze, to_json
from b12.domain.records import AuditEntry, PatientRecord

R = TypeVar("R")


@dataclass(frozen=True)
class FixedClock:
    """A clock that always says ``at`` (aware)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


#: The fake's audit key (the SQL trail's comes from the settings).
FAKE_KEY = b"fake audit key, for tests only.."


def _digest(record: Any) -> str:
    return row_digest(to_json({k: getattr(record, k) for k in record.__dataclass_fields__}))


def _planned(record: Any) -> Iterator[tuple[str, str, Any]]:
    """The planned doses and checks of a prescription, as the SQL record keeps them (rows of
    planned_doses and planned_labs, keyed "<prescription id>/<number>")."""
    for table, field in (("planned_doses", "doses"), ("planned_labs", "labs")):
        for item in getattr(record, field, ()):
            yield table, f"{record.id}/{item.number}", item


class FakeRecords(Generic[R]):
    """Append-only rows of one kind, read back by ``order`` then id (as the SQL tables are)."""

    def __init__(
        self, rows: list[Any], order: str, table: str = "", written: dict[str, Any] | None = None
    ) -> None:
        self._rows, self._order, self._table = rows, order, table
        self._written = {} if written is None else written

    def add(self, record: R) -> None:
        if self.get(record.id) is not None:  # type: ignore[attr-defined]
            raise ValueError(f"duplicate id {record.id}")  # type: ignore[attr-defined]
        self._rows.append(record)
        patient = getattr(record, "patient_id", record.id)  # type: ignore[attr-defined]
        self._written[self._table, record.id] = (_digest(record), patient)  # type: ignore[attr-defined]
        for table, key, planned in _planned(record):  # a prescription's course: rows of their own
            self._written[table, key] = (_digest(planned), patient)

    def get(self, record_id: str) -> R | None:
        return next((r for r in self._rows if r.id == record_id), None)

    #: the patient rows of the unit of work (set by FakeUnitOfWork): a patient's records are read
    #: under every row of their code, as the SQL record reads them
    people: list[Any] | None = None

    def for_patient(self, patient_id: str) -> list[R]:
        ids = {patient_id}
        if self.people is not None:
            code = next((p.code for p in self.people if p.id == patient_id), None)
            ids |= {p.id for p in self.people if code is not None and p.code == code}
        mine = [r for r in self._rows if r.patient_id in ids]
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

    def duplicates(self, code: str, patient_id: str) -> list[tuple[str, str, str]]:
        """The fake is written by this b12 only: no doubles of an older one."""
        return []


class FakeCalendarFeeds(FakeRecords[Any]):
    def with_token(self, token_hash: str) -> list[Any]:
        made = {r.id for r in self._rows if r.token_hash == token_hash}
        rows = [r for r in self._rows if r.id in made or r.revokes_id in made]
        return sorted(rows, key=lambda r: (r.created_at, r.id))


class FakeAuditTrail:
    """The keyed chains per stream, linked exactly as the SQL trail links them."""

    def __init__(
        self, rows: list[AuditEntry], written: dict[str, Any], tables: dict[str, list[Any]]
    ) -> None:
        self._rows, self._written, self._tables = rows, written, tables

    def append(
        self, who: str, action: str, entity: str, entity_id: str, patient: str | None,
        payload: Mapping[str, Any], table: str | None = None,
    ) -> AuditEntry:  # fmt: skip
        stream = patient or RECORD_STREAM
        mine = [e for e in self._rows if e.stream == stream]
        number, prev = (len(mine) + 1, mine[-1].hash if mine else GENESIS)
        if table is None:
            table = next((tb for tb, key in self._written if key == entity_id), None)
        digest = None if table is None else self._written.pop((table, entity_id), (None,))[0]
        link = {"stream": stream, "stream_seq": number,
                "at": datetime.now(UTC).isoformat(timespec="microseconds"), "who": who,
                "action": action, "entity": entity, "entity_id": entity_id, "patient": patient,
                "record_table": table, "row_hash": digest, "payload": to_json(payload),
                "prev_hash": prev}  # fmt: skip
        entry = AuditEntry(
            **{**link, "seq": len(self._rows) + 1, "payload": freeze(link["payload"]),
               "hash": self.sign(link_message(link))},
        )  # fmt: skip
        self._rows.append(entry)
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        return iter(list(self._rows))

    def record_rows(self) -> Iterator[RowDigest]:
        for table, rows in self._tables.items():
            for r in rows:
                yield RowDigest(table, r.id, _digest(r), getattr(r, "duplicate_of", None))
                for planned_table, key, planned in _planned(r):
                    yield RowDigest(planned_table, key, _digest(planned))

    def sign(self, message: bytes) -> str:
        return link_mac(FAKE_KEY, message)


#: Each repository of the unit of work: its name and the field its records are ordered by.
ORDER = {"prescriptions": "prescribed_at", "administrations": "given_at", "missed": "on",
         "labs": "taken_on", "events": "on", "dispensings": "dispensed_at",
         "wastes": "recorded_at", "calendar_feeds": "created_at"}  # fmt: skip
#: Each repository's table in the SQL record.
TABLE = {"prescriptions": "prescriptions", "administrations": "administrations",
         "missed": "missed_doses", "labs": "lab_results", "events": "adverse_events",
         "dispensings": "dispensings", "wastes": "wastes", "calendar_feeds": "calendar_feeds"}  # fmt: skip


class FakeUnitOfWork:
    """``with FakeUnitOfWork(store) as uow: ...; uow.commit()``; ``store`` holds what is committed."""

    def __init__(self, store: dict[str, list[Any]]) -> None:
        self.store = store
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        self._rows = {
            name: list(self.store.setdefault(name, [])) for name in [*ORDER, "patients", "audit"]
        }
        written: dict[str, Any] = {}
        self._written = written
        self.patients = FakePatients(self._rows["patients"], "recorded_at", "patients", written)
        for name, order in ORDER.items():
            setattr(self, name, FakeRecords(self._rows[name], order, TABLE[name], written))
        self.calendar_feeds = FakeCalendarFeeds(
            self._rows["calendar_feeds"], "created_at", "calendar_feeds", written
        )
        for name in [*ORDER, "calendar_feeds"]:
            getattr(self, name).people = self._rows["patients"]
        tables = {TABLE.get(name, name): self._rows[name] for name in [*ORDER, "patients"]}
        self.audit = FakeAuditTrail(self._rows["audit"], written, tables)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        del self._rows  # what was not committed is dropped

    def commit(self) -> None:
        for table, row_id in list(self._written):
            patient = self._written[table, row_id][1]
            self.audit.append("b12", "bind", table, row_id, patient, {}, table)
        for name, rows in self._rows.items():
            self.store[name] = list(rows)
        self.commits += 1


def fake_factory() -> Callable[[], FakeUnitOfWork]:
    """A factory of fake units of work sharing one committed store (one record)."""
    store: dict[str, list[Any]] = {}
    return lambda: FakeUnitOfWork(store)


class Opened:
    """A unit-of-work factory on one fake record that keeps every unit of work it made."""

    def __init__(self) -> None:
        self.store: dict[str, list[Any]] = {}
        self.units: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        unit = FakeUnitOfWork(self.store)
        self.units.append(unit)
        return unit
