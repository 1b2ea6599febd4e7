"""Administrations keep whether the pack was scanned; a correction keeps its reason, who and when,
and may void the row it corrects (entered in error). A held dose is its own kind of not-given.

  administrations  + scanned (the pack's barcode was read; NULL on rows written before)
  administrations, lab_results
                   + correction_reason, corrected_by, corrected_at, entered_in_error (set on a
                     correcting row only)

The record is append-only: no row is rewritten. A dose held before this revision stays a
missed_doses row of kind "missed" whose reason starts "held: "; readers show it as held
(``b12.domain.records.missed_kind``); new ones are kind "held" (the column is free text).
Every new column is NULL on the rows already there, so their audit digests do not change.

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CORRECTED = ("administrations", "lab_results")


def _correction_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("correction_reason", sa.Text),
        sa.Column("corrected_by", sa.String(120)),
        sa.Column("corrected_at", sa.DateTime(timezone=True)),
        sa.Column("entered_in_error", sa.Boolean),
    ]


def upgrade() -> None:
    op.add_column("administrations", sa.Column("scanned", sa.Boolean))
    for table in CORRECTED:
        for column in _correction_columns():
            op.add_column(table, column)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy would lose the
    # append-only triggers of revision 0003.
    for table in CORRECTED:
        for column in reversed(_correction_columns()):
            op.drop_column(table, column.name)
    op.drop_column("administrations", "scanned")
