"""A seeded demo clinic on an SQLite record per test, and logged-in clients for each account.

The clinic is seeded once per session (through the use cases) and its file copied for each test,
so every test starts from the same record. The clock is fixed; passwords use argon2id's lightest
parameters (tests only).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

if os.environ.get("CI") == "true":  # on CI the web extra is installed: a missing one fails
    import fastapi  # noqa: F401
else:
    pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

import b12
from b12.adapters.passwords import argon2id
from b12.adapters.web import demo
from b12.adapters.web.app import create_app
from tests.fakes import FixedClock

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
ROLES = {name: role for name, (role, _codes, _self) in demo.ACCOUNTS.items()}
USER_OF = {role: name for name, role in ROLES.items()}
#: For each role, a patient its account may see, and one it may not (None: staff see all).
OWN = {"prescriber": "P-0001", "nurse": "P-0001", "pharmacist": "P-0001",
       "patient": "P-0003", "caregiver": "P-0004"}  # fmt: skip
FOREIGN = {"prescriber": None, "nurse": None, "pharmacist": None,
           "patient": "P-0001", "caregiver": "P-0001"}  # fmt: skip
ABSENT = "P-9999"


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def make_app(path: Path | str, clock: object | None = None) -> b12.App:
    settings = b12.Settings.read(database_url=str(path), time_zone="UTC", environ={})
    return b12.build(settings, clock=clock or FixedClock(NOW), passwords=argon2id(light=True))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clinic") / "clinic.db"
    b12.upgrade(b12.Settings.read(database_url=str(path), environ={}))
    app = make_app(path)
    assert demo.seed(app)
    app.close()
    return path


@pytest.fixture
def clinic_db(seeded_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copy(seeded_file, path)
    return path


@dataclass
class Web:
    app: b12.App
    client: Callable[[], TestClient]

    def login(self, username: str) -> tuple[TestClient, str]:
        client = self.client()
        r = client.post("/api/v1/session", json={"username": username, "password": demo.PASSWORD})
        assert r.status_code == 200, r.text
        return client, r.json()["csrf"]

    def as_role(self, role: str) -> tuple[TestClient, str]:
        return self.login(USER_OF[role])


@pytest.fixture
def web(clinic_db: Path) -> Iterator[Web]:
    app = make_app(clinic_db)
    asgi = create_app(app)
    yield Web(app, lambda: TestClient(asgi, raise_server_exceptions=False))
    app.close()


# --- both databases -------------------------------------------------------------------------------

from tests.record.conftest import _fresh_pg_schema, pg_server  # noqa: E402, F401


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    """The demo clinic seeded on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = str(tmp_path / "clinic.db")
    else:
        url = _fresh_pg_schema(request.getfixturevalue("pg_server"))
    b12.upgrade(b12.Settings.read(database_url=url, environ={}))
    app = make_app(url)
    assert demo.seed(app)
    asgi = create_app(app)
    yield Web(app, lambda: TestClient(asgi, raise_server_exceptions=False))
    app.close()
