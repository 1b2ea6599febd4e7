"""The one place the therapy record's tables are mapped to the audit's layout (layout.py).

Read with plain SQL over the record's columns, streamed in batches (server-side cursors where the
database has them), so an export of any size runs in constant memory. When the record's facts
become typed (planned doses as rows, NUMERIC amounts, UTC timestamps, dates of birth), only the
queries and converters here change; the rules read the layout and nothing else.

Today's record, and how it maps:
* a correction row supersedes the row it corrects: only rows no later row corrects are read;
* the administration's injection site is not the ward: ``ward`` is empty until the record has one;
* planned doses come from the prescription's plan (its administrations, numbered from 1, each
  with its phase's name, matched to the regimen's phases by position);
* a laboratory result known by its date is taken at midnight UTC of that day;
* a reaction is a hypersensitivity when b12's own reading of its description says so
  (``b12.domain.reactions.why_it_stops``), else ``other``;
* dates of birth are read from the patient's profile when it holds one (``birth_date``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa

from b12.adapters.population.layout import TABLES
from b12.adapters.population.parquet import write_batches
from b12.domain.reactions import why_it_stops
from b12.domain.records import AdverseEvent

BATCH = 50_000
Row = dict[str, Any]


def _latest(table: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {table} c WHERE c.corrects_id = t.id)"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        return None


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _time(value: Any) -> datetime | None:
    """A stored time as naive UTC (the record keeps UTC; an aware value is converted)."""
    if value is None:
        return None
    moment: datetime | date = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
    return datetime.combine(moment, time())


def _patients(row: Row) -> Iterator[Row]:
    profile = _json(row["profile"])
    birth = profile.get("birth_date") if isinstance(profile, dict) else None
    yield {"patient_id": row["id"], "birth_date": _day(birth)}


def _prescriptions(row: Row) -> Iterator[Row]:
    plan = _json(row["plan"])
    regimen = plan.get("regimen") or {}
    yield {
        "prescription_id": row["id"],
        "patient_id": row["patient_id"],
        "regimen_id": regimen.get("id"),
        "indication_id": regimen.get("indication") or row["indication"],
        "product_id": row["product"],
        "start_date": _day(row["start"]),
        "end_date": None,
    }


def _planned_doses(row: Row) -> Iterator[Row]:
    plan = _json(row["plan"])
    names = [p.get("name") for p in (plan.get("regimen") or {}).get("phases", [])]
    for number, dose in enumerate(plan.get("administrations", []), start=1):
        name = dose.get("phase")
        yield {
            "prescription_id": row["id"],
            "planned_number": number,
            "phase": names.index(name) if name in names else None,
            "due_date": _day(dose.get("date")),
        }


def _administrations(row: Row) -> Iterator[Row]:
    yield {
        "administration_id": row["id"],
        "patient_id": row["patient_id"],
        "prescription_id": row["prescription_id"],
        "planned_number": row["planned_number"],
        "given_at": _time(row["given_at"]),
        "dose_mcg": _decimal(row["dose_mcg"]),
        "volume_ml": _decimal(row["volume_ml"]),
        "product_id": row["product"],
        "route": row["route"],
        "lot": row["lot"],
        "expiry": _day(row["expiry"]),
        "ward": None,
        "bypass_reason": row["override_reason"],
    }


def _results(row: Row) -> Iterator[Row]:
    value = _decimal(row["normalised_value"] or row["value"])
    yield {
        "result_id": row["id"],
        "patient_id": row["patient_id"],
        "analyte": row["analyte"],
        "taken_at": _time(_day(row["taken_on"])),
        "value": None if value is None else float(value),
    }


def _reactions(row: Row) -> Iterator[Row]:
    event = AdverseEvent(
        id=row["id"],
        patient_id=row["patient_id"],
        on=_day(row["on"]) or date.min,
        description=row["description"],
        severity=row["severity"],
        neurological=bool(row["neurological"]),
        administration_id=None,
        recorded_at=_time(row["recorded_at"]) or datetime.min,
        recorded_by="",
    )
    why = why_it_stops(event)
    yield {
        "reaction_id": row["id"],
        "patient_id": row["patient_id"],
        "recorded_at": _time(row["recorded_at"]),
        "kind": "hypersensitivity" if why and why.startswith("hypersensitivity") else "other",
    }


#: Each layout table: the record's query and how one of its rows becomes layout rows.
QUERIES: dict[str, tuple[str, Callable[[Row], Iterator[Row]]]] = {
    "patients": (f"SELECT t.id, t.profile FROM patients t WHERE {_latest('patients')}", _patients),
    "prescriptions": (
        f"SELECT t.id, t.patient_id, t.plan, t.product, t.indication, t.start FROM prescriptions t "
        f"WHERE {_latest('prescriptions')}",
        _prescriptions,
    ),
    "planned_doses": (
        f"SELECT t.id, t.plan FROM prescriptions t WHERE {_latest('prescriptions')}",
        _planned_doses,
    ),
    "administrations": (
        "SELECT t.id, t.patient_id, t.prescription_id, t.planned_number, t.given_at, t.dose_mcg, "
        "t.volume_ml, t.product, t.route, t.lot, t.expiry, t.override_reason "
        f"FROM administrations t WHERE {_latest('administrations')}",
        _administrations,
    ),
    "results": (
        "SELECT t.id, t.patient_id, t.analyte, t.taken_on, t.value, t.normalised_value "
        f"FROM lab_results t WHERE {_latest('lab_results')}",
        _results,
    ),
    "reactions": (
        'SELECT t.id, t.patient_id, t."on", t.description, t.severity, t.neurological, '
        f"t.recorded_at FROM adverse_events t WHERE {_latest('adverse_events')}",
        _reactions,
    ),
}


def _batches(connection: Any, name: str) -> Iterator[pa.RecordBatch]:
    from sqlalchemy import text

    schema = TABLES[name]
    convert = QUERIES[name][1]
    result = connection.execution_options(yield_per=BATCH).execute(text(QUERIES[name][0]))
    rows: list[Row] = []
    for raw in result.mappings():
        rows.extend(convert(dict(raw)))
        if len(rows) >= BATCH:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def export(url: str, out: Path) -> dict[str, int]:
    """Write the record at ``url`` to ``out`` in the audit's layout; the rows of each table."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    counts = {}
    try:
        with engine.connect() as connection:
            for name in TABLES:
                counts[name] = write_batches(_batches(connection, name), out / name, name)
    finally:
        engine.dispose()
    return counts
