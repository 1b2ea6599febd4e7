"""`make soak` (not in `make test`): >= 1,000 SIGKILLs of a writer on SQLite and on PostgreSQL.

Every acknowledged administration must be stored, the database must pass its integrity check
(SQLite) and the audit chain must verify on both. Prints the figures; exits 1 when anything was lost.
B12_SOAK_KILLS sets the kills per database (default 1,000); B12_TEST_PG the PostgreSQL admin URL.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

KILLS = int(os.environ.get("B12_SOAK_KILLS", "1000"))


def soak(url: str, name: str) -> bool:
    from sqlalchemy import select, text
    from tests.record.crash import kill_writers
    from tests.record.helpers import open_app, patient

    from b12.adapters.storage import tables as t
    from b12.bootstrap import Settings, upgrade
    from b12.services.record import verify_audit

    upgrade(Settings(database_url=url))
    app = open_app(url)
    pid = patient(app.unit_of_work)
    app.close()
    began = time.perf_counter()
    acknowledged = kill_writers(url, pid, KILLS, random.Random(20261130))
    took = time.perf_counter() - began
    app = open_app(url)
    with app.unit_of_work() as uow:
        stored = set(uow.connection.execute(select(t.administrations.c.id)).scalars())
        integrity = (
            uow.connection.execute(text("PRAGMA integrity_check")).scalar()
            if url.startswith("sqlite")
            else "n/a (PostgreSQL: the audit chain below)"
        )
    chain = verify_audit(app.unit_of_work)
    app.close()
    lost = set(acknowledged) - stored
    print(
        f"{name:<10} {KILLS} kills in {took:.0f} s, {len(acknowledged)} acknowledged, "
        f"{len(stored)} stored, {len(lost)} lost; integrity: {integrity}; audit chain "
        f"{'intact' if chain.intact else 'BROKEN'} ({chain.links} links)"
    )
    return (
        not lost and integrity in ("ok", "n/a (PostgreSQL: the audit chain below)") and chain.intact
    )


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        ok &= soak(f"sqlite:///{Path(folder) / 'soak.db'}", "SQLite")
    from tests.record.pg import create_database, drop_database

    url = create_database("b12_soak")
    try:
        ok &= soak(url, "PostgreSQL")
    finally:
        drop_database(url)
    print("no acknowledged record lost" if ok else "LOST RECORDS OR A BROKEN CHAIN")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
