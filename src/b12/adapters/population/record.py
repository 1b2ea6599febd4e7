"""The one place the therapy record's tables are mapped to the audit's layout (layout.py).

Read with SQL over the record's typed columns, streamed in batches (server-side cursors where the
database has them): memory grows with the patients and prescriptions (each id's integer key, one
numbering for the whole export), not with the administrations or results. The rules read the layout
and nothing else; only the queries and converters here know the record.

How the record maps:
* a correction row supersedes the row it corrects: only rows no later row corrects are read; a
  row marking the one it corrects entered in error (revision 0011) voids it: neither is read;
* an administration's ``ward`` is the patient's ward (revision 0012) when the dose was given: that
  of the patient's latest row (corrections included) recorded by then, else of the row the dose
  names; empty when none was recorded (the injection site is not the ward);
* planned doses are the ``planned_doses`` rows of each current prescription, by their number; a
  row's phase (a regimen phase's name) becomes the index of that phase in the regimen of the
  knowledge, else (a regimen the knowledge no longer has) its order of first appearance in the
  prescription; an administration's phase is that of the planned dose it fulfils (joined in its
  query), null when it fulfils none of a current prescription;
* amounts are the record's NUMERIC values, read as exact decimals (six places);
* times are the UTC instants the record keeps, written without a zone (layout.py);
* a laboratory result known by its date is taken at midnight UTC of that day;
* a reaction is a hypersensitivity when b12's own reading of its description says so
  (``b12.domain.reactions.why_it_stops``), else ``other``;
* the date of birth is the patient's ``born``; a patient known by an age given on a day
  (``age_months`` on ``age_given_on``) is born that many whole months before that day, the date
  from which the same age in whole months follows on every later day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa

from b12.adapters.population.layout import TABLES, Keys
from b12.adapters.population.parquet import write_batches
from b12.domain.reactions import why_it_stops
from b12.domain.records import AdverseEvent

BATCH = 50_000
Row = dict[str, Any]
#: Each regimen's phase names in order (regimen id -> names), from the knowledge.
Phases = Mapping[str, Sequence[str]]

_SIX = Decimal("0.000001")


def _latest(table: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {table} c WHERE c.corrects_id = t.id)"


#: The patient a record is of, as the current row of their code: a profile correction makes a new
#: patient row, and what was recorded before it stays under the row it was recorded on.
_PERSON = (
    "(SELECT c.id FROM patients o JOIN patients c ON c.code = o.code WHERE o.id = t.patient_id "
    "AND NOT EXISTS (SELECT 1 FROM patients n WHERE n.corrects_id = c.id) "
    "ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1)"
)


def _live(table: str) -> str:
    """Latest, and not a row voiding the one it corrects (administrations and results)."""
    return f"{_latest(table)} AND (t.entered_in_error IS NULL OR NOT t.entered_in_error)"


def _decimal(value: Any) -> Decimal | None:
    """An amount as an exact decimal of six places (SQLAlchemy's Numeric gives a Decimal on
    either database; a text or float value is read by its shortest decimal)."""
    if value is None:
        return None
    try:
        return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(_SIX)
    except InvalidOperation:
        return None


def _day(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _time(value: Any) -> datetime | None:
    """A stored instant as naive UTC: an aware value (PostgreSQL's timestamptz) is converted, a
    naive one (SQLite's UTC wall clock) is already UTC."""
    if value is None:
        return None
    moment: datetime | date = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
    return datetime.combine(moment, time())


def months_before(day: date, months: int) -> date:
    """The day ``months`` whole months before ``day`` (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = (following - date.resolution).day
    return date(year, month, min(day.day, last))


def birth_date(born: Any, age_months: Any, age_given_on: Any, recorded_at: Any) -> date | None:
    """The date of birth the record gives, or the one an age given on a day implies."""
    if born is not None:
        return _day(born)
    months = _decimal(age_months)
    if months is None:
        return None
    given_on = _day(age_given_on) or _day(_time(recorded_at))
    if given_on is None:
        return None
    return months_before(given_on, int(months))


def _patients(row: Row, phases: Phases) -> Iterator[Row]:
    yield {
        "patient_id": row["id"],
        "birth_date": birth_date(
            row["born"], row["age_months"], row["age_given_on"], row["recorded_at"]
        ),
    }


def _prescriptions(row: Row, phases: Phases) -> Iterator[Row]:
    yield {
        "prescription_id": row["id"],
        "patient_id": row["patient_id"],
        "regimen_id": row["regimen_id"],
        "indication_id": row["indication"],
        "product_id": row["product"],
        "start_date": _day(row["start"]),
        "end_date": None,
    }


def _phase(row: Row, phases: Phases) -> int | None:
    """A planned dose's phase name as its index in the regimen's phases; a phase the knowledge
    does not name, by its order of first appearance in the prescription (``first_seen``, from
    ``_PLANNED``). None: no planned dose."""
    name = row["phase"]
    if name is None:
        return None
    names = phases.get(row["regimen_id"] or "", ())
    return names.index(name) if name in names else int(row["first_seen"])


def _planned_doses(row: Row, phases: Phases) -> Iterator[Row]:
    yield {
        "prescription_id": row["prescription_id"],
        "planned_number": row["number"],
        "phase": _phase(row, phases),
        "due_date": _day(row["due_on"]),
    }


def _administrations(row: Row, phases: Phases) -> Iterator[Row]:
    yield {
        "administration_id": row["id"],
        "patient_id": row["patient_id"],
        "prescription_id": row["prescription_id"],
        "planned_number": row["planned_number"],
        "phase": _phase(row, phases),
        "given_at": _time(row["given_at"]),
        "dose_mcg": _decimal(row["dose_mcg"]),
        "volume_ml": _decimal(row["volume_ml"]),
        "product_id": row["product"],
        "route": row["route"],
        "lot": row["lot"],
        "expiry": _day(row["expiry"]),
        "ward": row["ward"],
        "bypass_reason": row["override_reason"],
    }


def _results(row: Row, phases: Phases) -> Iterator[Row]:
    value = _decimal(
        row["normalised_value"] if row["normalised_value"] is not None else row["value"]
    )
    yield {
        "result_id": row["id"],
        "patient_id": row["patient_id"],
        "analyte": row["analyte"],
        "taken_at": _time(_day(row["taken_on"])),
        "value": None if value is None else float(value),
    }


def _reactions(row: Row, phases: Phases) -> Iterator[Row]:
    recorded = _time(row["recorded_at"])
    event = AdverseEvent(
        id=row["id"],
        patient_id=row["patient_id"],
        on=_day(row["on"]) or date.min,
        description=row["description"],
        severity=row["severity"],
        neurological=bool(row["neurological"]),
        administration_id=None,
        recorded_at=(recorded or datetime.min).replace(tzinfo=UTC),
        recorded_by="",
    )
    why = why_it_stops(event)
    yield {
        "reaction_id": row["id"],
        "patient_id": row["patient_id"],
        "recorded_at": recorded,
        "kind": "hypersensitivity" if why and why.startswith("hypersensitivity") else "other",
    }


def _types() -> dict[str, Any]:
    """The typed columns, so that each database's driver value is read the same way: NUMERIC as
    a Decimal, an instant as a datetime (aware on PostgreSQL, UTC wall clock on SQLite)."""
    from sqlalchemy import Date, DateTime, Numeric

    amount = Numeric(15, 6, asdecimal=True)
    instant = DateTime(timezone=True)
    return {
        "dose_mcg": amount,
        "volume_ml": amount,
        "value": amount,
        "normalised_value": amount,
        "age_months": amount,
        "given_at": instant,
        "recorded_at": instant,
        "born": Date(),
        "age_given_on": Date(),
        "due_on": Date(),
        "start": Date(),
        "expiry": Date(),
        "taken_on": Date(),
        "on": Date(),
    }


_PRESCRIPTIONS = f"prescriptions t WHERE {_latest('prescriptions')}"
#: The ward of an administration's patient when it was given: the latest row of the patient's
#: code recorded by then (a correction moves a patient from ward to ward).
_WARD_THEN = (
    "SELECT w.ward FROM patients w WHERE w.code = p.code AND w.recorded_at <= t.given_at "
    "ORDER BY w.recorded_at DESC, w.id DESC LIMIT 1"
)
#: The planned doses of each current prescription, each with its regimen (the dose's own, else
#: the prescription's) and the order in which its phase name first appears in the prescription
#: (from 0): the planned_doses table and the phase of the dose an administration fulfils both
#: read it, so that the two agree.
_PLANNED = (
    "(SELECT f.prescription_id, f.number, f.due_on, f.phase, f.regimen_id, "
    "DENSE_RANK() OVER (PARTITION BY f.prescription_id ORDER BY f.first_number) - 1 AS first_seen "
    "FROM (SELECT d.prescription_id, d.number, d.due_on, d.phase, "
    "COALESCE(d.regimen_id, t.regimen_id) AS regimen_id, "
    "MIN(d.number) OVER (PARTITION BY d.prescription_id, d.phase) AS first_number "
    "FROM planned_doses d JOIN prescriptions t ON t.id = d.prescription_id "
    f"WHERE {_latest('prescriptions')}) f)"
)

#: Each layout table: the record's query and how one of its rows becomes layout rows (a factory,
#: for a converter that keeps state over the rows of one export).
QUERIES: dict[str, tuple[str, Callable[[], Callable[[Row, Phases], Iterator[Row]]]]] = {
    "patients": (
        "SELECT t.id, t.born, t.age_months, t.age_given_on, t.recorded_at FROM patients t "
        f"WHERE {_latest('patients')}",
        lambda: _patients,
    ),
    "prescriptions": (
        f"SELECT t.id, {_PERSON} AS patient_id, t.regimen_id, t.product, t.indication, t.start "
        f"FROM {_PRESCRIPTIONS}",
        lambda: _prescriptions,
    ),
    "planned_doses": (
        "SELECT d.prescription_id, d.number, d.due_on, d.phase, d.regimen_id, d.first_seen "
        f"FROM {_PLANNED} d ORDER BY d.prescription_id, d.number",
        lambda: _planned_doses,
    ),
    "administrations": (
        f"SELECT t.id, {_PERSON} AS patient_id, t.prescription_id, t.planned_number, t.given_at, "
        "t.dose_mcg, "
        "t.volume_ml, t.product, t.route, t.lot, t.expiry, t.override_reason, "
        f"COALESCE(({_WARD_THEN}), p.ward) AS ward, "
        "d.phase, d.regimen_id, d.first_seen "
        "FROM administrations t JOIN patients p ON p.id = t.patient_id "
        f"LEFT JOIN {_PLANNED} d "
        "ON d.prescription_id = t.prescription_id AND d.number = t.planned_number "
        f"WHERE {_live('administrations')}",
        lambda: _administrations,
    ),
    "results": (
        f"SELECT t.id, {_PERSON} AS patient_id, t.analyte, t.taken_on, t.value, "
        "t.normalised_value "
        f"FROM lab_results t WHERE {_live('lab_results')}",
        lambda: _results,
    ),
    "reactions": (
        f'SELECT t.id, {_PERSON} AS patient_id, t."on", t.description, t.severity, t.neurological, '
        f"t.recorded_at FROM adverse_events t WHERE {_latest('adverse_events')}",
        lambda: _reactions,
    ),
}


def regimen_phases(knowledge: Any) -> dict[str, tuple[str, ...]]:
    """Each regimen's phase names in order, from the knowledge."""
    return {r.id: tuple(p.name for p in r.phases) for r in knowledge.regimens.values()}


def _batches(connection: Any, name: str, phases: Phases, keys: Keys) -> Iterator[pa.RecordBatch]:
    from sqlalchemy import text

    schema = TABLES[name]
    sql, factory = QUERIES[name]
    convert = factory()
    types = _types()
    typed = {c: types[c] for c in types if f".{c}" in sql or f'"{c}"' in sql}
    query = text(sql).columns(**typed)
    result = connection.execution_options(yield_per=BATCH).execute(query)
    rows: list[Row] = []
    for raw in result.mappings():
        rows.extend(keys.fill(name, row) for row in convert(dict(raw), phases))
        if len(rows) >= BATCH:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def export(url: str, out: Path, phases: Phases | None = None) -> dict[str, int]:
    """Write the record at ``url`` to ``out`` in the audit's layout; the rows of each table.
    ``phases``: each regimen's phase names (``regimen_phases`` of the knowledge)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    counts = {}
    keys = Keys()  # one numbering for the whole export, so every table's keys agree
    try:
        with engine.connect() as connection:
            for name in TABLES:
                counts[name] = write_batches(
                    _batches(connection, name, phases or {}, keys), out / name, name
                )
    finally:
        engine.dispose()
    return counts
