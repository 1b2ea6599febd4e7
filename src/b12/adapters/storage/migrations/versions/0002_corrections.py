"""Corrections: every record table gains ``corrects_id`` (a correction is a new row pointing at the
one it corrects), and indexes for reading a patient's record by time.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "patients",
    "prescriptions",
    "administrations",
    "missed_doses",
    "lab_results",
    "adverse_events",
)
INDEXES = (
    ("ix_administrations_patient_given", "administrations", ["patient_id", "given_at"]),
    ("ix_lab_results_patient_taken", "lab_results", ["patient_id", "taken_on"]),
    ("ix_prescriptions_patient", "prescriptions", ["patient_id"]),
    ("ix_missed_doses_patient", "missed_doses", ["patient_id"]),
    ("ix_adverse_events_patient", "adverse_events", ["patient_id"]),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            # SQLite adds a column with its REFERENCES clause in place; Alembic would need a
            # table copy (batch mode) to add the constraint separately.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN corrects_id VARCHAR(36) REFERENCES {table} (id)"
            )
        else:
            op.add_column(table, sa.Column("corrects_id", sa.String(36)))
            op.create_foreign_key(f"fk_{table}_corrects", table, table, ["corrects_id"], ["id"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    for table in TABLES:
        op.drop_column(table, "corrects_id")
