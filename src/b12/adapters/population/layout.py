"""The table layout the population audit reads (docs/population-audit.md describes each column).

Six tables, one folder each under the audit's directory (``DIR/administrations/...``), as Parquet
files, partitioned by month where a table grows with time. Times are UTC without a zone
(``timestamp[us]``): DuckDB and Spark then read the same instant whatever the session's zone.
Doses and volumes are exact decimals (six places, as b12 keeps a typed quantity).

Every patient, prescription and administration has an integer key beside its id, assigned by the
writer (``*_key``, int64): the rules join, group and order by the keys, which an engine compares
far faster than text; the ids (the record's own) are read only for the findings. Each key stands
for exactly one id within a folder, and ``administration_key`` is unique.

An administration carries the phase of the planned dose it fulfils (the ``phase`` of its
``planned_doses`` row), written beside it so that the rules need not join the planned doses.
"""

from __future__ import annotations

import pyarrow as pa

DECIMAL = pa.decimal128(18, 6)
TIME = pa.timestamp("us")
KEY = pa.int64()

PATIENTS = pa.schema(
    [
        ("patient_key", KEY),
        ("patient_id", pa.string()),
        ("birth_date", pa.date32()),  # null: unknown (every age group's regimens then apply)
    ]
)
PRESCRIPTIONS = pa.schema(
    [
        ("prescription_key", KEY),
        ("prescription_id", pa.string()),
        ("patient_key", KEY),
        ("patient_id", pa.string()),
        ("regimen_id", pa.string()),  # a regimen of the knowledge (regimens.yaml)
        ("indication_id", pa.string()),  # an indication of the knowledge
        ("product_id", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),  # null: still running
    ]
)
PLANNED_DOSES = pa.schema(
    [
        ("prescription_key", KEY),
        ("prescription_id", pa.string()),
        ("planned_number", pa.int32()),  # 1, 2, ... within the prescription
        ("phase", pa.int32()),  # index of the regimen's phase, from 0
        ("due_date", pa.date32()),
    ]
)
ADMINISTRATIONS = pa.schema(
    [
        ("administration_key", KEY),  # unique in the folder
        ("administration_id", pa.string()),
        ("patient_key", KEY),
        ("patient_id", pa.string()),
        ("prescription_key", KEY),
        ("prescription_id", pa.string()),
        ("planned_number", pa.int32()),  # null: a dose outside the plan
        ("phase", pa.int32()),  # its planned dose's phase (as planned_doses); null: none
        ("given_at", TIME),
        ("dose_mcg", DECIMAL),
        ("volume_ml", DECIMAL),  # null: not recorded
        ("product_id", pa.string()),  # a product of the knowledge; null: not recorded
        ("route", pa.string()),  # IM, SC, deep-SC, IV, intrathecal
        ("lot", pa.string()),
        ("expiry", pa.date32()),
        ("ward", pa.string()),  # the site and ward that gave the dose
        ("bypass_reason", pa.string()),  # null: no stop was bypassed
    ]
)
RESULTS = pa.schema(
    [
        ("result_id", pa.string()),
        ("patient_key", KEY),
        ("patient_id", pa.string()),
        ("analyte", pa.string()),  # an analyte of the knowledge (laboratory.yaml)
        ("taken_at", TIME),  # a result known only by its date: midnight UTC of that date
        ("value", pa.float64()),
    ]
)
REACTIONS = pa.schema(
    [
        ("reaction_id", pa.string()),
        ("patient_key", KEY),
        ("patient_id", pa.string()),
        ("recorded_at", TIME),
        ("kind", pa.string()),  # hypersensitivity | other
    ]
)

TABLES: dict[str, pa.Schema] = {
    "patients": PATIENTS,
    "prescriptions": PRESCRIPTIONS,
    "planned_doses": PLANNED_DOSES,
    "administrations": ADMINISTRATIONS,
    "results": RESULTS,
    "reactions": REACTIONS,
}
#: Each integer key and the id it stands for.
KEYS = {
    "patient_key": "patient_id",
    "prescription_key": "prescription_id",
    "administration_key": "administration_id",
}
#: The column a table is partitioned by month on (``month=2025-03``), where it grows with time.
PARTITION_TIME = {"administrations": "given_at", "results": "taken_at"}

#: The findings' own table (Parquet and CSV in a report).
FINDINGS = pa.schema(
    [
        ("rule", pa.string()),  # the audit rule's code
        ("level", pa.string()),
        ("administration_id", pa.string()),
        ("patient_id", pa.string()),
        ("prescription_id", pa.string()),
        ("ward", pa.string()),
        ("at", TIME),
        ("value", pa.float64()),  # what was found (a dose, hours, days, ...)
        ("limit", pa.float64()),  # what it was held against
        ("basis", pa.string()),  # the figure and the knowledge it came from, in words
    ]
)


class Keys:
    """Integer keys for a writer's rows: a patient's and a prescription's key numbers its id in
    the order first met (1, 2, ...); each administration row takes the next administration key.
    Holds one entry per patient and per prescription (not per administration)."""

    def __init__(self) -> None:
        self._known: dict[str, dict[str, int]] = {"patient_key": {}, "prescription_key": {}}
        self._administrations = 0

    def key(self, kind: str, ident: str | None) -> int | None:
        if ident is None:
            return None
        known = self._known[kind]
        found = known.get(ident)
        if found is None:
            found = known[ident] = len(known) + 1
        return found

    def fill(self, table: str, row: dict[str, object]) -> dict[str, object]:
        """``row`` of ``table`` with its key columns set from its ids (in place; returned)."""
        names = TABLES[table].names
        for kind in ("patient_key", "prescription_key"):
            if kind in names:
                ident = row.get(KEYS[kind])
                row[kind] = self.key(kind, None if ident is None else str(ident))
        if "administration_key" in names:
            self._administrations += 1
            row["administration_key"] = self._administrations
        return row
