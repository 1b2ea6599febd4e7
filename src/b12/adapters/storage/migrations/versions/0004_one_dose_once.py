"""One dose once: unique keys for one patient per code and one administration per planned dose.

Partial unique indexes (SQLite and PostgreSQL both have them):
  uq_patients_code                 patients(code) WHERE corrects_id IS NULL AND duplicate_of IS NULL
  uq_administrations_planned_dose  administrations(prescription_id, planned_number)
                                   WHERE planned_number IS NOT NULL AND corrects_id IS NULL
                                   AND duplicate_of IS NULL
A correction repeats its original's key and an extra dose has no planned number: both stay possible.

The doubles an older b12 let concurrent writers record are kept, never deleted: the first of each
group (earliest time, then id) keeps the key, and every later one gets ``duplicate_of`` = the first
one's id, so the index can be built and the doubles stay visible. Marking them is the one UPDATE
ever made to these append-only tables: the refusing triggers are lifted for it and put back in the
same transaction.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: table: (index, key columns, the time that orders a group, the index's condition)
KEYS = {
    "patients": (
        "uq_patients_code",
        ("code",),
        "recorded_at",
        "corrects_id IS NULL AND duplicate_of IS NULL",
    ),
    "administrations": (
        "uq_administrations_planned_dose",
        ("prescription_id", "planned_number"),
        "given_at",
        "planned_number IS NOT NULL AND corrects_id IS NULL AND duplicate_of IS NULL",
    ),
}


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table, (index, columns, time, where) in KEYS.items():
        op.add_column(table, sa.Column("duplicate_of", sa.String(36)))
        doubles = _doubles(bind, table, columns, time)
        if doubles:
            _lift_append_only(table, sqlite)
            for row_id, first in doubles:
                bind.execute(
                    sa.text(f"UPDATE {table} SET duplicate_of = :first WHERE id = :id"),
                    {"first": first, "id": row_id},
                )
            _restore_append_only(table, sqlite)
        op.create_index(
            index,
            table,
            list(columns),
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def _doubles(
    bind: sa.Connection, table: str, columns: tuple[str, ...], time: str
) -> list[tuple[str, str]]:
    """(id, id of the first of its group) for every row after the first of a group with one key."""
    key = ", ".join(columns)
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    rows = bind.execute(
        sa.text(
            f"SELECT id, {key} FROM {table} WHERE corrects_id IS NULL AND {present} "
            f"ORDER BY {key}, {time}, id"
        )
    ).all()
    firsts: dict[tuple[object, ...], str] = {}
    out = []
    for row in rows:
        group = tuple(row[1:])
        if group in firsts:
            out.append((row[0], firsts[group]))
        else:
            firsts[group] = row[0]
    return out


def _lift_append_only(table: str, sqlite: bool) -> None:
    if sqlite:
        op.execute(f"DROP TRIGGER {table}_no_update")
    else:
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")


def _restore_append_only(table: str, sqlite: bool) -> None:
    if sqlite:  # as revision 0003 made it
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    else:
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def downgrade() -> None:
    for table, (index, *_rest) in KEYS.items():
        op.drop_index(index, table_name=table)
        op.drop_column(table, "duplicate_of")
