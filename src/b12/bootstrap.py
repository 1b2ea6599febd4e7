"""The composition root: where settings become an engine and a unit of work. Nothing at import."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from b12.adapters.storage.unit_of_work import SqlUnitOfWork

DATABASE_ENV = "B12_DATABASE_URL"


@dataclass(frozen=True)
class Record:
    """An open therapy record: the engine and a factory of units of work on it."""

    url: str
    engine: Engine

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    @property
    def uow_factory(self) -> Callable[[], SqlUnitOfWork]:
        return self.unit_of_work

    def close(self) -> None:
        self.engine.dispose()


def database_url(given: str | None = None) -> str:
    """--db, else B12_DATABASE_URL, else the SQLite file in the user's data directory."""
    from b12.adapters.storage.database import default_url

    url = given or os.environ.get(DATABASE_ENV) or default_url()
    if "://" not in url:  # a bare path means an SQLite file
        url = f"sqlite:///{os.path.abspath(url)}"
    return url


def open_record(url: str | None = None, *, migrate: bool = True) -> Record:
    """Open (and bring up to date) the therapy record at ``url``."""
    from b12.adapters.storage.database import make_engine
    from b12.adapters.storage.database import migrate as upgrade

    resolved = database_url(url)
    engine = make_engine(resolved)
    if migrate:
        upgrade(engine)
    return Record(resolved, engine)
