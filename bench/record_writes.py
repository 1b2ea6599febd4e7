"""Durable administration writes: one committed administration and its audit link per transaction.

SQLite: against bare sqlite3 with the same durability (WAL, synchronous=FULL) in the same run;
budget >= 0.5x its commits/s. PostgreSQL: 1 writer, then 8 concurrent writers of 8 different
patients (each its own engine): with one chain per patient they do not wait for each other.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.run import report

WRITES = 500
REPEATS = 5
WRITERS = 8
RATIO = 0.5


def _settings(url: str, folder: str):  # type: ignore[no-untyped-def]
    from b12.bootstrap import Settings

    return Settings(database_url=url, audit_key_file=str(Path(folder) / "audit.key"))


def _per_commit(url: str, folder: str) -> tuple[list[float], int]:
    """Seconds per write, one figure per repeat; and the SQL statements one write executes
    (not SQLite's BEGIN IMMEDIATE nor the COMMIT: the dialect's begin and commit run them)."""
    from sqlalchemy import event
    from tests.record.helpers import patient, write_one

    from b12.bootstrap import build, upgrade

    settings = _settings(url, folder)
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
    statements = []
    engine = app._engine  # the bench counts what one write sends
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with app.unit_of_work() as uow:
        write_one(uow, pid, -1)
    app.close()
    return figures, len(statements)


def _concurrent(url: str, folder: str, writers: int, each: int) -> float:
    """Commits per second of ``writers`` threads, each its own App and patient."""
    from tests.record.helpers import patient, write_one

    from b12.bootstrap import build

    apps = [build(_settings(url, folder)) for _ in range(writers)]
    ids = [patient(app.unit_of_work, f"W-{uuid.uuid4().hex[:8]}") for app in apps]
    barrier = threading.Barrier(writers + 1)

    def run(i: int) -> None:
        barrier.wait()
        for n in range(each):
            with apps[i].unit_of_work() as uow:
                write_one(uow, ids[i], n)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for app in apps:
        app.close()
    return writers * each / elapsed


def _same_sql_bare(path: Path) -> list[float]:
    """The floor: the rows one b12 write commits (an administration and its audit link, copied from
    the record's last write, with the record's own indexes and triggers) sent by bare sqlite3 with
    no Python around them; what is left between this and b12 is b12's Python."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")

    def last(table: str, order: str) -> dict[str, object]:
        cursor = db.execute(f"SELECT * FROM {table} ORDER BY {order} DESC LIMIT 1")
        return dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))

    given, link = last("administrations", "given_at"), last("audit_log", "seq")
    into = {
        table: f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        for table, row in (("administrations", given), ("audit_log", link))
    }
    head = (
        "SELECT stream_seq, hash FROM audit_log WHERE stream = ? ORDER BY stream_seq DESC LIMIT 1"
    )
    seq, stream_seq = int(str(link["seq"])), int(str(link["stream_seq"]))
    figures = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(WRITES):
            seq, stream_seq = seq + 1, stream_seq + 1
            row = {**given, "id": str(uuid.uuid4()), "planned_number": None}
            db.execute("BEGIN IMMEDIATE")
            db.execute(into["administrations"], list(row.values()))
            db.execute(head, (link["stream"],)).fetchone()
            entry = {**link, "seq": seq, "stream_seq": stream_seq, "entity_id": row["id"]}
            db.execute(into["audit_log"], list(entry.values()))
            db.execute("COMMIT")
        figures.append((time.perf_counter() - start) / WRITES)
    db.close()
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
        ours, statements = _per_commit(f"sqlite:///{Path(folder) / 'bench.db'}", folder)
        floor = _same_sql_bare(Path(folder) / "bench.db")
        raw = _raw_sqlite(Path(folder) / "raw.db")
    report("administration commit, SQLite WAL+FULL", ours, None, "us")
    report("  the same rows by bare sqlite3 (b12's floor)", floor, None, "us")
    report("bare sqlite3 commit, WAL+FULL (baseline)", raw, None, "us")
    ratio = _rate(ours) / _rate(raw)
    ok = ratio >= RATIO
    print(
        f"{'':<48} {_rate(ours):,.0f} commits/s, bare sqlite3 {_rate(raw):,.0f}/s: ratio "
        f"{ratio:.2f} (budget >= {RATIO}: {'met' if ok else 'MISSED'}); {statements} SQL "
        f"statements and a commit per write; the floor's ratio {_rate(floor) / _rate(raw):.2f}"
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
        with tempfile.TemporaryDirectory() as folder:
            figures, statements = _per_commit(url, folder)
            one = _concurrent(url, folder, 1, WRITES)
            many = _concurrent(url, folder, WRITERS, WRITES // WRITERS * 2)
        ok = report("administration commit, PostgreSQL", figures, None, "us")
        print(
            f"{'':<48} {_rate(figures):,.0f} commits/s, {statements} SQL statements and a commit per write; "
            f"1 writer {one:,.0f}/s, {WRITERS} writers of {WRITERS} patients {many:,.0f}/s "
            f"({many / one:.1f}x)"
        )
        return ok
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
