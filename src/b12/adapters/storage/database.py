"""Engines and migrations. Nothing here runs at import time: bootstrap.py calls it.

Migrations are an explicit step (`b12 db upgrade`); every other use refuses a record that is not at
the head revision (``require_head``).

SQLite is set on every connection to WAL with synchronous=FULL (a commit is on disk when it
returns), foreign keys on, and a busy timeout; every transaction starts with BEGIN IMMEDIATE so
that concurrent writers queue for the write lock instead of failing half-way. PostgreSQL
serialises migrations and audit appends with transaction-level advisory locks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text

from b12.errors import RecordVersionError

#: Keys of pg_advisory_xact_lock; any two constants distinct from other applications' locks.
MIGRATION_LOCK = 0x6231_3201
AUDIT_LOCK = 0x6231_3202
BUSY_TIMEOUT_MS = 60_000
MIGRATIONS = Path(__file__).parent / "migrations"


def default_url() -> str:
    """An SQLite file in the user's data directory (created on first use)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("b12"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'b12.db'}"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with b12's durability settings."""
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


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


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


def shown_url(engine: Engine) -> str:
    """The engine's URL as it may be printed: without its password."""
    return engine.url.render_as_string(hide_password=True)
