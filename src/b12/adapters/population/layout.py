"""The table layout the population audit reads (docs/population-audit.md describes each column).

Six tables, one folder each under the audit's directory (``DIR/administrations/...``), as Parquet
files, partitioned by month where a table grows with time. Times are UTC without a zone
(``timestamp[us]``): DuckDB and Spark then read the same instant whatever the session's zone.
Doses and volumes are exact decimals (six places, as b12 keeps a typed quantity).
"""

from __future__ import annotations

import pyarrow as pa

DECIMAL = pa.decimal128(18, 6)
TIME = pa.timestamp("us")

PATIENTS = pa.schema(
    [
        ("patient_id", pa.string()),
        ("birth_date", pa.date32()),  # null: unknown (every age group's regimens then apply)
    ]
)
PRESCRIPTIONS = pa.schema(
    [
        ("prescription_id", pa.string()),
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
        ("prescription_id", pa.string()),
        ("planned_number", pa.int32()),  # 1, 2, ... within the prescription
        ("phase", pa.int32()),  # index of the regimen's phase, from 0
        ("due_date", pa.date32()),
    ]
)
ADMINISTRATIONS = pa.schema(
    [
        ("administration_id", pa.string()),
        ("patient_id", pa.string()),
        ("prescription_id", pa.string()),
        ("planned_number", pa.int32()),  # null: a dose outside the plan
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
        ("patient_id", pa.string()),
        ("analyte", pa.string()),  # an analyte of the knowledge (laboratory.yaml)
        ("taken_at", TIME),  # a result known only by its date: midnight UTC of that date
        ("value", pa.float64()),
    ]
)
REACTIONS = pa.schema(
    [
        ("reaction_id", pa.string()),
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
