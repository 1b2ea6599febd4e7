"""Databases for the record tests: an SQLite file per test, and a fresh PostgreSQL database per session,
upgraded to the head revision (``empty_*`` fixtures: not upgraded).

PostgreSQL tests are marked `postgres`; they skip only off CI (CI != "true") when the server at
127.0.0.1:5432 is unreachable; on CI an unreachable server fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.record.pg import create_database, drop_database


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a fresh database b12_test_<random>, dropped after the session."""
    from sqlalchemy.exc import OperationalError

    try:
        url = create_database("b12_test")
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable (not on CI): {exc.__class__.__name__}")
    yield url
    drop_database(url)


def _fresh_pg_schema(url: str) -> str:
    """Each test gets an empty database: drop and re-create every object of the session's one."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _upgraded(url: str) -> str:
    """Migrations are an explicit step: a test that needs a record upgrades it, as `b12 db upgrade`."""
    from b12.bootstrap import Settings, upgrade

    upgrade(Settings(database_url=url))
    return url


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'record.db'}"


@pytest.fixture
def sqlite_url(empty_sqlite_url: str) -> str:
    """An SQLite record at the head revision."""
    return _upgraded(empty_sqlite_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no b12 tables), SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'record.db'}"
    return _fresh_pg_schema(request.getfixturevalue("pg_server"))


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A record at the head revision, SQLite and PostgreSQL."""
    return _upgraded(empty_db_url)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A PostgreSQL record at the head revision (for what only PostgreSQL has: roles, TRUNCATE)."""
    return _upgraded(_fresh_pg_schema(pg_server))
