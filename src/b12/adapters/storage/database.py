"""Engines and migrations. Nothing here runs at import time: bootstrap.py calls it.

Migrations are an explicit step (`b12 db upgrade`); every other use refuses a record that is not at
the head revision (``require_head``).

SQLite is set on every connection to WAL with synchronous=FULL (a commit is on disk when it
returns), foreign keys on, and a busy timeout; every transaction starts with BEGIN IMMEDIATE so
that concurrent writers queue for the write lock instead of failing half-way. PostgreSQL
serialises migrations and audit appends with transaction-level advisory locks.

Opening a record never creates one by accident: an SQLite file that does not exist is refused
(``make_engine(url, existing=True)``) except by `b12 db upgrade`, the explicit create/upgrade step.
A URL b12 cannot read, and a file, folder, server or database it cannot reach, are one line each
(``RecordUrlError``, ``RecordUnavailableError``, via ``reached``), never with the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text

from b12.errors import RecordUnavailableError, RecordUrlError, RecordVersionError

#: Keys of pg_advisory_xact_lock; any two constants distinct from other applications' locks.
MIGRATION_LOCK = 0x6231_3201
AUDIT_LOCK = 0x6231_3202
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
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN (deferred) is switched off so that _sqlite_begin issues BEGIN IMMEDIATE.
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


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
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


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision`` (default: head); concurrent callers wait for each other.

    Returns the revision it was at before (None: empty)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        target = head_revision() if revision == "head" else revision
        before = current_revision(connection)
        if before != target:
            command.upgrade(alembic_config(connection), revision)
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
