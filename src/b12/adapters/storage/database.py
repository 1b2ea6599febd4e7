"""Engines and migrations. Nothing here runs at import time: bootstrap.py calls it.

Migrations are an explicit step (`b12 db upgrade`); every other use refuses a record that is not at
the head revision (``require_head``).

SQLite is set on every connection to WAL with synchronous=FULL (a commit is on disk when it
returns), foreign keys on, and a busy timeout; every transaction starts with BEGIN IMMEDIATE so
that concurrent writers queue for the write lock instead of failing half-way. PostgreSQL
serialises migrations, and the appends to one audit stream, with transaction-level advisory
locks.

Opening a record never creates one by accident: an SQLite file that does not exist is refused
(``make_engine(url, existing=True)``) except by `b12 db upgrade`, the explicit create/upgrade step.
A URL b12 cannot read, and a file, folder, server or database it cannot reach, are one line each
(``RecordUrlError``, ``RecordUnavailableError``, via ``reached``), never with the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text

from b12.errors import RecordUnavailableError, RecordUrlError, RecordVersionError

#: Keys of pg_advisory_xact_lock; any two constants distinct from other applications' locks.
MIGRATION_LOCK = 0x6231_3201
#: The first key of pg_advisory_xact_lock(int, int) for an audit stream's lock (revision 0006;
#: the second: the stream's hash). 0x6231_3202 was the one global audit lock before.
AUDIT_STREAMS = 0x6231_3204
#: The first key of pg_advisory_xact_lock(int, int) for a patient's lock (the second: the code's
#: hash); the two-key space does not overlap the one-key space of the locks above.
PATIENT_LOCKS = 0x6231_3203
BUSY_TIMEOUT_MS = 60_000
MIGRATIONS = Path(__file__).parent / "migrations"


def default_url() -> str:
    """An SQLite file in the user's data directory (created on first use)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("b12"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'b12.db'}"


def read_url(url: str) -> URL:
    """``url`` read as a database URL b12 can open, or RecordUrlError (password hidden)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    hidden = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise RecordUrlError(
            hidden, "not a database URL; write a file path, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE"
        ) from None  # fmt: skip
    name = parsed.get_backend_name()
    if name == "postgres":
        raise RecordUrlError(
            hidden, "`postgres://` is not a scheme SQLAlchemy reads; write postgresql://..."
        )
    try:
        if name not in ("sqlite", "postgresql"):
            raise NoSuchModuleError(name)
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ArgumentError, ImportError):
        raise RecordUrlError(
            hidden, f"b12 cannot open a {parsed.drivername!r} database; write a file path, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE"
        ) from None  # fmt: skip
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The file of an SQLite URL (None: not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(url.database)


def make_engine(url: str, *, existing: bool = False) -> Engine:
    """An engine for ``url`` with b12's durability settings. With ``existing``, an SQLite file
    that does not exist is refused instead of created; a file never goes into a missing folder."""
    file = sqlite_file(read_url(url))
    if file is not None and not file.exists():
        if existing:
            raise RecordUnavailableError(
                str(file), f"no record at {file}: run `b12 db upgrade --db {file}` to create one"
            )
        if not file.parent.is_dir():
            raise RecordUnavailableError(
                str(file), f"cannot create the record {file}: the folder {file.parent} does not "
                "exist; create it, or give a path in an existing folder"
            )  # fmt: skip
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN IMMEDIATE as the dialect's own begin, not a "begin" event: an engine with a
        # connection event makes each connection join the engine's dispatch, and each connect,
        # begin, statement and commit of every write then pays for the look-up.
        engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN (deferred) is switched off so that _begin_immediate issues BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _begin_immediate(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


def alembic_config(connection: Connection, zone: tzinfo | None = None) -> Any:
    """``zone``: the clinic's time zone, in which the naive times of revisions 0001-0004 were
    written (revision 0005 reads them in it; None: the machine's zone)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["time_zone"] = zone
    return config


#: ``revision = "0004"`` and ``down_revision = "0003"`` (or None) as a migration script states them.
_DECLARED = re.compile(r'^(down_)?revision\b[^=\n]*=\s*(?:"([^"]+)"|None)\s*$', re.M)


def head_revision() -> str:
    """The newest migration's revision, read from the scripts' text: importing Alembic and its
    scripts to learn it would cost every record command's start ~0.1 s (tests compare the two).
    A history that is not one line (a merge, several heads) is left to Alembic."""
    revisions: set[str] = set()
    parents: set[str | None] = set()
    for script in (MIGRATIONS / "versions").glob("[!_]*.py"):
        declared = {bool(m.group(1)): m.group(2) for m in _DECLARED.finditer(script.read_text())}
        if set(declared) != {False, True}:
            return _alembic_head()
        revisions.add(str(declared[False]))
        parents.add(declared[True])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the record is at (None: no tables yet), read as Alembic keeps it, without
    importing Alembic."""
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # branches: Alembic's own reading
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return str(rows[0]) if rows else None


def migrate(
    engine: Engine,
    revision: str = "head",
    zone: tzinfo | None = None,
    *,
    audit_key: bytes | None = None,
) -> str | None:
    """Bring the database to ``revision`` (default: head); concurrent callers wait for each other.
    ``zone``: the clinic's time zone (see ``alembic_config``). Revision 0006 binds the rows and
    links already recorded under ``audit_key``.

    Returns the revision it was at before (None: empty)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        target = head_revision() if revision == "head" else revision
        before = current_revision(connection)
        if before != target:
            config = alembic_config(connection, zone)
            config.attributes["audit_key"] = audit_key
            command.upgrade(config, revision)
        return before


def require_head(engine: Engine) -> None:
    """Refuse a record that is empty or not at the head revision (migrations are an explicit step)."""
    with engine.connect() as connection:
        current = current_revision(connection)
    head = head_revision()
    if current != head:
        raise RecordVersionError(shown_url(engine), current, head)


@contextmanager
def reached(engine: Engine) -> Iterator[None]:
    """Turn the database's refusal to open the record (no server, port, database, file, or not a
    database) into one line, without the password."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "refused"
        reason = reason.removeprefix("connection failed: ")
        if engine.url.password:
            reason = reason.replace(str(engine.url.password), "***")
        shown = shown_url(engine)
        raise RecordUnavailableError(shown, f"cannot open the record {shown}: {reason}") from None


def shown_url(engine: Engine) -> str:
    """The engine's URL as it may be printed: without its password."""
    return engine.url.render_as_string(hide_password=True)


_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def grant_app_role(engine: Engine, role: str) -> None:
    """Let the PostgreSQL role ``role`` (which must exist) record and read, and nothing more: it
    owns no table and gets SELECT and INSERT on the record and audit tables, SELECT on the
    revision table, USAGE on the audit sequence; UPDATE, DELETE, TRUNCATE and every other
    privilege are revoked. Run as the tables' owner, after `b12 db upgrade`."""
    from b12.errors import InputError

    if engine.dialect.name != "postgresql":
        raise InputError(
            "roles are PostgreSQL's: an SQLite record is protected by its file's permissions "
            "(the application's user may write it; keep the audit key where that user can read "
            "it and a database administrator cannot)",
            field="role",
        )
    if not _ROLE.fullmatch(role):
        raise InputError(
            f"role {role!r}: write a PostgreSQL role name of letters, digits and _ (e.g. b12_app)",
            field="role",
        )
    from b12.adapters.storage import tables as t

    with engine.begin() as connection:
        exists = connection.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists is None:
            raise InputError(
                f"no PostgreSQL role {role!r}: create it first, e.g. "
                f"CREATE ROLE {role} LOGIN PASSWORD '...'",
                field="role",
            )
        owner = connection.execute(
            text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")
        ).scalar()
        if owner == role:
            raise InputError(
                f"role {role!r} owns the tables: the application must connect as another role",
                field="role",
            )
        tables = ", ".join([*(table.name for table in t.metadata.sorted_tables)])
        changing = ", ".join(table.name for table in t.CHANGING_TABLES)
        quoted = f'"{role}"'
        for statement in (
            f"REVOKE ALL ON {tables}, alembic_version FROM {quoted}",
            f"REVOKE ALL ON SEQUENCE b12_audit_seq FROM {quoted}",
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT, INSERT ON {tables} TO {quoted}",
            f"GRANT UPDATE ON {changing} TO {quoted}",
            f"GRANT SELECT ON alembic_version TO {quoted}",
            f"GRANT USAGE ON SEQUENCE b12_audit_seq TO {quoted}",
        ):
            connection.execute(text(statement))
