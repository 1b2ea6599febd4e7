"""A throwaway PostgreSQL database on the test server: for the record tests and `make soak`."""

from __future__ import annotations

import os
import uuid

PG_ADMIN = os.environ.get("B12_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _admin():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")


def create_database(prefix: str) -> str:
    """The URL of a new, empty database <prefix>_<random> (OperationalError if unreachable)."""
    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    """End the database's sessions and drop it."""
    from sqlalchemy import text

    name = url.rsplit("/", 1)[1]
    admin = _admin()
    try:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
