"""Tamper evidence that covers the records: keyed audit chains per stream, every row bound.

audit_log gains ``stream`` (a patient's id, or "record"), ``stream_seq`` (1, 2, ... per stream;
unique with the stream, so a stream cannot fork), ``record_table`` and ``row_hash`` (the table and
canonical digest of the row a link records). New links are keyed (HMAC-SHA256, see
b12.domain.audit); writers of different patients no longer wait for one global lock.

What was written before this revision stays as it is and is bound into the keyed chains here:
  - the unkeyed links (stream NULL) keep their sha256 chain; one keyed link in the "record" stream
    (action ``audit-seal-legacy``) seals their count and head, so none can be changed, added,
    removed or re-hashed without `b12 audit-log verify` saying so;
  - every row of every record table gets an ``adopt`` link in its patient's stream with its
    digest, read generically (``SELECT *``, each value in its canonical form whatever its column's
    type), so these rows are checked like every later one.
Both need the audit key: `b12 db upgrade` hands it in (``config.attributes["audit_key"]``); an
empty record needs none.

The database refuses more than UPDATE and DELETE (revision 0003):
  - SQLite: a BEFORE INSERT trigger per record table and audit_log refuses a row whose primary or
    unique key (partial keys with their condition) is taken, so `INSERT OR REPLACE`, `REPLACE` and
    upserts cannot delete a row to put another in its place, whatever the connection's pragmas
    (recursive_triggers is per connection, so it is no guard). The keys are read from the
    database; a later revision that adds a unique key re-creates the trigger (``refuse_replace``).
  - PostgreSQL: a statement trigger per table refuses TRUNCATE; a sequence gives audit_log.seq.

Downgrade: refused once a keyed link exists (a keyed chain cannot be made unkeyed again).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from b12.domain.audit import (
    ADOPT_ACTION,
    GENESIS,
    RECORD_STREAM,
    SEAL_ACTION,
    link_mac,
    link_message,
    row_digest,
    row_key,
    verify_chain,
)
from b12.domain.records import AuditEntry

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RECORD_TABLES = (
    "patients",
    "prescriptions",
    "administrations",
    "missed_doses",
    "lab_results",
    "adverse_events",
    "planned_doses",
    "planned_labs",
)
TABLES = (*RECORD_TABLES, "audit_log")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("audit_log", sa.Column("stream", sa.String(36)))
    op.add_column("audit_log", sa.Column("stream_seq", sa.BigInteger))
    op.add_column("audit_log", sa.Column("record_table", sa.String(64)))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(64)))
    op.create_index("uq_audit_log_stream_seq", "audit_log", ["stream", "stream_seq"], unique=True)
    if sqlite:
        _entity_id(80)
        for table in TABLES:
            refuse_replace(bind, table)
    else:
        # A planned dose's key is "<prescription id>/<number>" (SQLite does not enforce lengths).
        op.alter_column("audit_log", "entity_id", type_=sa.String(80), existing_nullable=False)
        op.execute("CREATE SEQUENCE b12_audit_seq OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('b12_audit_seq', max(seq)) FROM audit_log HAVING max(seq) IS NOT NULL"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION b12_append_only()"
            )
    _bind_the_past(bind)


def _entity_id(length: int) -> None:
    """SQLite: audit_log.entity_id as VARCHAR(length) without rebuilding the table (a rebuild
    drops its triggers): a new column, the values copied under a lifted UPDATE trigger, the old
    column dropped and the new one renamed. A planned dose's key is "<prescription id>/<number>"."""
    op.execute("DROP TRIGGER audit_log_no_update")
    op.execute(f"ALTER TABLE audit_log ADD COLUMN entity_key VARCHAR({length}) NOT NULL DEFAULT ''")
    op.execute("UPDATE audit_log SET entity_key = entity_id")
    op.execute("ALTER TABLE audit_log DROP COLUMN entity_id")
    op.execute("ALTER TABLE audit_log RENAME COLUMN entity_key TO entity_id")
    op.execute(  # as revision 0003 made it
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


def refuse_replace(bind: sa.Connection, table: str) -> None:
    """(Re-)create SQLite's BEFORE INSERT trigger refusing a row whose key is taken: every unique
    index of ``table`` as the database has it (the primary key's too), partial ones with their
    condition, evaluated on the existing rows and on the new one."""
    columns = [r[1] for r in bind.exec_driver_sql(f"PRAGMA table_info({table})")]
    new_row = ", ".join(f'NEW."{c}" AS "{c}"' for c in columns)
    taken = []
    for index in bind.exec_driver_sql(f"PRAGMA index_list({table})").all():
        name, unique = index[1], index[2]
        if not unique:
            continue
        keys = [r[2] for r in bind.exec_driver_sql(f'PRAGMA index_info("{name}")')]
        same = " AND ".join(f'"{k}" = NEW."{k}"' for k in keys)
        sql = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).scalar()
        where = None
        if sql:
            found = re.search(r"\bWHERE\b(.*)$", sql, re.IGNORECASE | re.DOTALL)
            where = found.group(1).strip() if found else None
        if where is None:
            taken.append(f"EXISTS (SELECT 1 FROM {table} WHERE {same})")
        else:
            taken.append(
                f"(EXISTS (SELECT 1 FROM {table} WHERE {same} AND ({where})) "
                f"AND EXISTS (SELECT 1 FROM (SELECT {new_row}) WHERE {where}))"
            )
    bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    if taken:
        bind.exec_driver_sql(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN {' OR '.join(taken)} BEGIN SELECT RAISE(ABORT, "
            f"'{table}: a row with this key is recorded (REPLACE and upserts are refused)'); END"
        )


def _bind_the_past(bind: sa.Connection) -> None:
    """Seal the unkeyed links and adopt every row recorded so far, under the audit key."""
    legacy = [
        AuditEntry(**{**dict(r._mapping), "payload": r.payload})
        for r in bind.execute(
            sa.text(
                "SELECT seq, at, who, action, entity, entity_id, patient, payload, prev_hash, hash "
                "FROM audit_log ORDER BY seq"
            ).columns(payload=sa.JSON)
        )
    ]
    rows = []
    # A planned dose or check has no patient column: it is in its prescription's patient's stream.
    patient_of: dict[str, str] = {
        str(i): str(p) for i, p in bind.exec_driver_sql("SELECT id, patient_id FROM prescriptions")
    }
    for table in RECORD_TABLES:
        for row in bind.exec_driver_sql(f"SELECT * FROM {table}"):
            values = dict(row._mapping)
            if table == "patients":
                stream = values["id"]
            elif "patient_id" in values:
                stream = values["patient_id"]
            else:
                stream = patient_of[values["prescription_id"]]
            rows.append((table, row_key(table, values), stream, row_digest(values)))
    rows.sort(key=lambda r: (RECORD_TABLES.index(r[0]), r[1]))
    if not legacy and not rows:
        return
    key = context.config.attributes.get("audit_key")
    if not key:
        from b12.errors import AuditKeyError

        raise AuditKeyError(
            "revision 0006 binds the record's existing rows and links under the audit key: "
            "run `b12 db upgrade`, which reads (or creates) the key"
        )
    writer = _Writer(bind, key)
    if legacy:
        check = verify_chain(legacy)
        if check.broken_seq is not None:
            from b12.errors import AuditKeyError

            raise AuditKeyError(
                f"the audit trail is broken at seq {check.broken_seq} ({check.problem}): "
                "it is not sealed as it is; restore the record from a backup"
            )
        writer.append(
            RECORD_STREAM, SEAL_ACTION, "audit_log", str(check.links), None, None, None,
            {"links": check.links, "head": check.head, "revision": revision},
        )  # fmt: skip
    for table, row_id, stream, digest in rows:
        writer.append(
            stream, ADOPT_ACTION, table, row_id, stream, table, digest, {"revision": revision}
        )


class _Writer:
    """Keyed links written as b12 writes them (b12.domain.audit), one stream head each."""

    def __init__(self, bind: sa.Connection, key: bytes) -> None:
        self.bind, self.key = bind, key
        self.heads: dict[str, tuple[int, str]] = {}
        self.seq: int = bind.execute(
            sa.text("SELECT coalesce(max(seq), 0) FROM audit_log")
        ).scalar_one()
        self.at = datetime.now(UTC).isoformat(timespec="microseconds")

    def append(
        self, stream: str, action: str, entity: str, entity_id: str, patient: str | None,
        table: str | None, digest: str | None, payload: dict[str, Any],
    ) -> None:  # fmt: skip
        n, prev = self.heads.get(stream, (0, GENESIS))
        link = {
            "stream": stream, "stream_seq": n + 1, "at": self.at, "who": "b12 db upgrade",
            "action": action, "entity": entity, "entity_id": entity_id, "patient": patient,
            "record_table": table, "row_hash": digest, "payload": payload, "prev_hash": prev,
        }  # fmt: skip
        mac = link_mac(self.key, link_message(link))
        self.seq += 1
        self.bind.execute(
            sa.text(
                "INSERT INTO audit_log (seq, at, who, action, entity, entity_id, patient, payload,"
                " prev_hash, hash, stream, stream_seq, record_table, row_hash) VALUES (:seq, :at,"
                " :who, :action, :entity, :entity_id, :patient, :payload, :prev_hash, :hash,"
                " :stream, :stream_seq, :record_table, :row_hash)"
            ).bindparams(sa.bindparam("payload", type_=sa.JSON)),
            {**link, "seq": self.seq, "hash": mac},
        )
        self.heads[stream] = (n + 1, mac)


def downgrade() -> None:
    bind = op.get_bind()
    keyed = bind.execute(sa.text("SELECT count(*) FROM audit_log WHERE stream IS NOT NULL"))
    if keyed.scalar():
        raise RuntimeError(
            "the record has keyed audit links: a keyed chain cannot be made unkeyed again "
            "(restore a backup taken before revision 0006 instead)"
        )
    if bind.dialect.name == "sqlite":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
        _entity_id(36)
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP SEQUENCE b12_audit_seq")
        op.alter_column("audit_log", "entity_id", type_=sa.String(36), existing_nullable=False)
    op.drop_index("uq_audit_log_stream_seq", table_name="audit_log")
    for column in ("row_hash", "record_table", "stream_seq", "stream"):
        op.drop_column("audit_log", column)
