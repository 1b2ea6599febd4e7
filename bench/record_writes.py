"""Durable administration writes: one committed administration and its audit link per transaction.

SQLite: against bare sqlite3 with the same durability (WAL, synchronous=FULL) in the same run;
budget >= 0.5x its commits/s. PostgreSQL: 1 writer, then 8 concurrent writers of 8 different
patients (each its own engine): with one chain per patient they do not wait for each other.
"""

from __future__ import annotations

import statistics
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


class _Ours:
    """b12's writes on the record at ``url``: ``repeat()`` times WRITES of them (seconds per
    write); ``close()`` counts the SQL statements one write executes (not SQLite's BEGIN
    IMMEDIATE nor the COMMIT: the dialect's begin and commit run them)."""

    def __init__(self, url: str, folder: str) -> None:
        from tests.record.helpers import patient

        from b12.bootstrap import build, upgrade

        settings = _settings(url, folder)
        upgrade(settings)  # as `b12 db upgrade`: migrations are an explicit step
        self.app = build(settings)
        self.pid = patient(self.app.unit_of_work)

    def repeat(self) -> float:
        from tests.record.helpers import write_one

        app, pid = self.app, self.pid
        start = time.perf_counter()
        for n in range(WRITES):
            with app.unit_of_work() as uow:
                write_one(uow, pid, n)
        return (time.perf_counter() - start) / WRITES

    def close(self) -> int:
        from sqlalchemy import event
        from tests.record.helpers import write_one

        statements = []
        engine = self.app._engine  # the bench counts what one write sends
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        with self.app.unit_of_work() as uow:
            write_one(uow, self.pid, -1)
        self.app.close()
        return len(statements)


def _per_commit(url: str, folder: str) -> tuple[list[float], int]:
    """Seconds per write, one figure per repeat; and the SQL statements one write executes."""
    ours = _Ours(url, folder)
    figures = [ours.repeat() for _ in range(REPEATS)]
    return figures, ours.close()


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


class _SameSqlBare:
    """The floor: the rows one b12 write commits (an administration and its audit link, copied from
    the record's last write, with the record's own indexes and triggers) sent by bare sqlite3 with
    no Python around them; what is left between this and b12 is b12's Python."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        self.db = db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            db.execute(f"PRAGMA {pragma}")
        self.given, link = self._last("administrations", "given_at"), self._last("audit_log", "seq")
        self.into = {
            table: f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            for table, row in (("administrations", self.given), ("audit_log", link))
        }

    def _last(self, table: str, order: str) -> dict[str, object]:
        cursor = self.db.execute(f"SELECT * FROM {table} ORDER BY {order} DESC LIMIT 1")
        return dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))

    def repeat(self) -> float:
        db, given, into = self.db, self.given, self.into
        head = (
            "SELECT stream_seq, hash FROM audit_log WHERE stream = ? "
            "ORDER BY stream_seq DESC LIMIT 1"
        )
        link = self._last("audit_log", "seq")  # b12 wrote on since the last repeat
        seq, stream_seq = int(str(link["seq"])), int(str(link["stream_seq"]))
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
        return (time.perf_counter() - start) / WRITES

    def close(self) -> None:
        self.db.close()


class _RawSqlite:
    """Baseline: the same durability with bare sqlite3 (one 300-byte row per commit)."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
        self.repeats = 0

    def repeat(self) -> float:
        db, r = self.db, self.repeats
        self.repeats += 1
        start = time.perf_counter()
        for n in range(WRITES):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (?, ?)", (f"{r}-{n}", "x" * 300))
            db.execute("COMMIT")
        return (time.perf_counter() - start) / WRITES

    def close(self) -> None:
        self.db.close()


def _rate(figures: list[float]) -> float:
    return 1 / sorted(figures)[len(figures) // 2]


def sqlite_durable_writes() -> bool:
    """The three measurements interleaved repeat by repeat (b12, its floor, the baseline), so that
    each repeat's ratio compares neighbours in time on a shared, unevenly loaded machine; the
    ratios are the medians of the repeats' ratios."""
    with tempfile.TemporaryDirectory() as folder:
        b12 = _Ours(f"sqlite:///{Path(folder) / 'bench.db'}", folder)
        b12.repeat()  # the record's last write, which the floor copies; caches warm
        bare, raw_db = _SameSqlBare(Path(folder) / "bench.db"), _RawSqlite(Path(folder) / "raw.db")
        ours: list[float] = []
        floor: list[float] = []
        raw: list[float] = []
        for _ in range(REPEATS):
            ours.append(b12.repeat())
            floor.append(bare.repeat())
            raw.append(raw_db.repeat())
        bare.close()
        raw_db.close()
        statements = b12.close()
    report("administration commit, SQLite WAL+FULL", ours, None, "us")
    report("  the same rows by bare sqlite3 (b12's floor)", floor, None, "us")
    report("bare sqlite3 commit, WAL+FULL (baseline)", raw, None, "us")
    ratio = statistics.median(r / o for o, r in zip(ours, raw, strict=True))
    floor_ratio = statistics.median(r / f for f, r in zip(floor, raw, strict=True))
    ok = ratio >= RATIO
    print(
        f"{'':<48} {_rate(ours):,.0f} commits/s, bare sqlite3 {_rate(raw):,.0f}/s: ratio "
        f"{ratio:.2f} (budget >= {RATIO}: {'met' if ok else 'MISSED'}); {statements} SQL "
        f"statements and a commit per write; the floor's ratio {floor_ratio:.2f}"
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
