"""The CDS Hooks service: tokens seen (a replayed jti is refused by every worker), cards issued,
and the feedback an EHR sends on them.

  cds_tokens    (issuer, jti) once each, with the token's expiry and when it was used
  cds_cards     each card issued: its uuid, the service, the finding code and level it came from,
                the EHR's patient and user ids, the issuer, the knowledge fingerprint, when
  cds_feedback  one row per card and outcome (accepted | overridden): the suggestions accepted, the
                override reason (a Coding) and the user's comment, when it happened, when received

Append-only, as the record (triggers refuse UPDATE and DELETE).

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("cds_tokens", "cds_cards", "cds_feedback")


def upgrade() -> None:
    at = sa.DateTime(timezone=True)
    op.create_table(
        "cds_tokens",
        sa.Column("issuer", sa.String(255), primary_key=True),
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", at, nullable=False),
        sa.Column("used_at", at, nullable=False),
    )
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("hook_instance", sa.String(64), nullable=False),
        sa.Column("finding_code", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("patient", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("issued_at", at, nullable=False),
    )
    op.create_index("ix_cds_cards_finding_code", "cds_cards", ["finding_code"])
    op.create_table(
        "cds_feedback",
        sa.Column("card_uuid", sa.String(36), sa.ForeignKey("cds_cards.uuid"), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("accepted", sa.JSON, nullable=False),
        sa.Column("reason_system", sa.String(255)),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("reason_display", sa.String(255)),
        sa.Column("comment", sa.Text),
        sa.Column("outcome_at", at, nullable=False),
        sa.Column("received_at", at, nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        else:  # b12_append_only() is revision 0003's
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION b12_append_only()"
            )


def downgrade() -> None:
    op.drop_table("cds_feedback")
    op.drop_index("ix_cds_cards_finding_code", table_name="cds_cards")
    op.drop_table("cds_cards")
    op.drop_table("cds_tokens")
