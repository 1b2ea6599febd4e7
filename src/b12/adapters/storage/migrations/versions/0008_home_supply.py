"""Supply at home and private calendar feeds: three append-only record tables.

  dispensings     containers of a product handed to a patient to use at home: count, lot, expiry
  wastes          containers and/or a volume discarded from a dispensing, with the reason
  calendar_feeds  a patient's calendar subscription: the sha256 of its token (never the token);
                  a revocation is a later row naming the feed it revokes

Each is patient data, bound row by row by the patient's audit stream, and guarded as revisions
0003 and 0006 guard the record: no UPDATE, DELETE or TRUNCATE, and on SQLite no REPLACE.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("dispensings", "wastes", "calendar_feeds")
PRECISION, SCALE = 15, 6


def _corrects(table: str) -> sa.Column[str]:
    return sa.Column(
        "corrects_id", sa.String(36), sa.ForeignKey(f"{table}.id", name=f"fk_{table}_corrects")
    )


def _patient() -> sa.Column[str]:
    return sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "dispensings",
        sa.Column("id", sa.String(36), primary_key=True),
        _patient(),
        sa.Column("product", sa.String(120), nullable=False),
        sa.Column("containers", sa.Integer, nullable=False),
        sa.Column("lot", sa.String(64), nullable=False),
        sa.Column("expiry", sa.Date, nullable=False),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispensed_by", sa.String(120), nullable=False),
        _corrects("dispensings"),
    )
    op.create_table(
        "wastes",
        sa.Column("id", sa.String(36), primary_key=True),
        _patient(),
        sa.Column("dispensing_id", sa.String(36), sa.ForeignKey("dispensings.id"), nullable=False),
        sa.Column("containers", sa.Integer, nullable=False),
        sa.Column("volume_ml", sa.Numeric(PRECISION, SCALE)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        _corrects("wastes"),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.String(36), primary_key=True),
        _patient(),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("revokes_id", sa.String(36), sa.ForeignKey("calendar_feeds.id")),
    )
    for table in TABLES:
        op.create_index(f"ix_{table}_patient", table, ["patient_id"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        keyed = importlib.import_module(
            "b12.adapters.storage.migrations.versions.0006_keyed_streams"
        )
        for table in TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
            keyed.refuse_replace(bind, table)
        return
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION b12_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION b12_append_only()"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_patient", table_name=table)
        op.drop_table(table)  # its triggers go with it
