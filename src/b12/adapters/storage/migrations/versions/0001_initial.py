"""The initial therapy record: patients, prescriptions, administrations, missed doses,
laboratory results, adverse events and the hash-chained audit trail.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 36


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(ID), primary_key=True)


def _patient() -> sa.Column[str]:
    return sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "patients",
        _id(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_index("ix_patients_code", "patients", ["code"])
    op.create_table(
        "prescriptions",
        _id(),
        _patient(),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("product", sa.String(120)),
        sa.Column("indication", sa.String(120)),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prescribed_at", sa.DateTime, nullable=False),
        sa.Column("prescribed_by", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(120), nullable=False),
        sa.Column("replaces_id", sa.String(ID), sa.ForeignKey("prescriptions.id")),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "administrations",
        _id(),
        _patient(),
        sa.Column("prescription_id", sa.String(ID), sa.ForeignKey("prescriptions.id")),
        sa.Column("given_at", sa.DateTime, nullable=False),
        sa.Column("dose_mcg", sa.String(40), nullable=False),
        sa.Column("volume_ml", sa.String(40)),
        sa.Column("product", sa.String(120)),
        sa.Column("lot", sa.String(64)),
        sa.Column("expiry", sa.Date),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("site", sa.String(64)),
        sa.Column("given_by", sa.String(120), nullable=False),
        sa.Column("planned_number", sa.Integer),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(120), nullable=False),
        sa.Column("override_reason", sa.Text),
    )
    op.create_table(
        "missed_doses",
        _id(),
        _patient(),
        sa.Column(
            "prescription_id", sa.String(ID), sa.ForeignKey("prescriptions.id"), nullable=False
        ),
        sa.Column("planned_number", sa.Integer, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "lab_results",
        _id(),
        _patient(),
        sa.Column("taken_on", sa.Date, nullable=False),
        sa.Column("analyte", sa.String(64), nullable=False),
        sa.Column("loinc", sa.String(16)),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("normalised_value", sa.String(40)),
        sa.Column("normalised_unit", sa.String(32)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "adverse_events",
        _id(),
        _patient(),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("neurological", sa.Boolean, nullable=False),
        sa.Column("administration_id", sa.String(ID), sa.ForeignKey("administrations.id")),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("who", sa.String(120), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(ID), nullable=False),
        sa.Column("patient", sa.String(ID)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "adverse_events",
        "lab_results",
        "missed_doses",
        "administrations",
        "prescriptions",
        "patients",
    ):
        op.drop_table(table)
