"""A patient's ward: the list the MAR is read by, and the ward of the population audit.

  patients.ward   the ward or list the patient is on, as the clinic names it (e.g. "Ward 4");
                  NULL on rows written before this revision and on patients on no ward, so the
                  audit digests of the rows already there (a NULL column is left out of a row's
                  canonical form) still hold

Patients are append-only: a ward changes by a correcting row, as any other detail of the
patient does.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("ward", sa.String(120)))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy would lose the
    # append-only triggers of revision 0003.
    op.drop_column("patients", "ward")
