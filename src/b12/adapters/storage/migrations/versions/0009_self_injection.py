"""Self-injection is the prescriber's decision, kept with the prescription; a carer's link can end.

  prescriptions.self_injection     true: the prescriber says the doses are given at home, by the
                                   patient (or a carer linked to inject); NULL on rows written
                                   before this revision (read as false), so their audit digests
                                   (a NULL column is left out of a row's canonical form) still hold
  account_patients.ended_at        when the link was ended (NULL: live); linking again clears it

Before this revision the mark lived on the account's link ("self_injects"). On a patient's own
link it is no longer read: a patient records a dose only when the active prescription says
self-injection (prescribe again with the mark; prescriptions are never updated). On a caregiver's
link it keeps one meaning: this carer is the one who injects (a prescription at home says that the
doses are given at home, not who among the carers gives them).

account_patients is not patient data (revision 0007): its rows change in place, so `b12 db grant`
lets the application's role UPDATE it (an ended link is kept, never deleted).

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b12.adapters.storage.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("prescriptions", sa.Column("self_injection", sa.Boolean))
    op.add_column("account_patients", sa.Column("ended_at", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("account_patients") as batch:
        batch.drop_column("ended_at")
    if op.get_bind().dialect.name == "sqlite":
        # prescriptions carry append-only triggers a batch copy would drop: SQLite >= 3.35 drops
        # a column in place
        op.execute("ALTER TABLE prescriptions DROP COLUMN self_injection")
    else:
        op.drop_column("prescriptions", "self_injection")
