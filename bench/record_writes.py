"""Durable administration writes: one committed administration and its audit link per transaction."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

from bench.run import report

WRITES = 500
REPEATS = 5


def _per_commit(url: str) -> list[float]:
    from tests.record.helpers import patient, write_one

    from b12.bootstrap import Settings, build, upgrade

    settings = Settings(database_url=url)
    upgrade(settings)  # as `b12 db upgrade`: migrations are an explicit step
    app = build(settings)
    pid = patient(app.unit_of_work)
    figures = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for n in range(WRITES):
            with app.unit_of_work() as uow:
                write_one(uow, pid, n)
        figures.append((time.perf_counter() - start) / WRITES)
    app.close()
    return figures


def _raw_sqlite(path: Path) -> list[float]:
    """Baseline: the same durability with bare sqlite3 (one 300-byte row per commit)."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    figures = []
    for r in range(REPEATS):
        start = time.perf_counter()
        for n in range(WRITES):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (?, ?)", (f"{r}-{n}", "x" * 300))
            db.execute("COMMIT")
        figures.append((time.perf_counter() - start) / WRITES)
    db.close()
    return figures


def _rate(figures: list[float]) -> float:
    return 1 / sorted(figures)[len(figures) // 2]


def sqlite_durable_writes() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        ours = _per_commit(f"sqlite:///{Path(folder) / 'bench.db'}")
        raw = _raw_sqlite(Path(folder) / "raw.db")
    ok = report("administration commit, SQLite WAL+FULL", ours, 0.001, "us")  # >= 1,000/s
    report("bare sqlite3 commit, WAL+FULL (baseline)", raw, None, "us")
    print(
        f"{'':<48} {_rate(ours):,.0f} commits/s (budget >= 1,000/s); bare sqlite3 "
        f"{_rate(raw):,.0f}/s, ratio {_rate(ours) / _rate(raw):.2f}"
    )
    return ok


def postgres_durable_writes() -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    name = f"b12_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        print("administration commit, PostgreSQL: skipped (no server at 127.0.0.1:5432)")
        return True
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        figures = _per_commit(url)
        ok = report("administration commit, PostgreSQL", figures, None, "us")
        print(f"{'':<48} {_rate(figures):,.0f} commits/s (no budget set for PostgreSQL)")
        return ok
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
