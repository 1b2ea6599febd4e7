"""Crash and concurrency: no acknowledged administration is lost, the count is exact, the chain holds."""

from __future__ import annotations

import random
import time
from multiprocessing import get_context

from sqlalchemy import func, select, text

from b12.adapters.storage import tables as t
from b12.services.record import verify_audit
from tests.record.crash import kill_writers
from tests.record.helpers import open_app, patient, write_one

KILLS = 200
WRITERS = 8
EACH = 200


def test_sigkill_at_random_moments_loses_no_acknowledged_record(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    pid_patient = patient(record.unit_of_work)
    record.close()
    acknowledged = kill_writers(sqlite_url, pid_patient, KILLS, random.Random(20260105))
    record = open_app(sqlite_url)
    with record.unit_of_work() as uow:
        stored = set(uow.connection.execute(select(t.administrations.c.id)).scalars())
        integrity = uow.connection.execute(text("PRAGMA integrity_check")).scalar()
    chain = verify_audit(record.unit_of_work)
    print(f"{KILLS} kills, {len(acknowledged)} acknowledged, {len(stored)} stored")
    assert len(acknowledged) >= KILLS  # every child acknowledged before its kill
    assert set(acknowledged) <= stored
    assert integrity == "ok"
    assert chain.intact
    assert chain.links == len(stored) + 1  # every administration's link, and the patient's


def _writer(url: str, patient_id: str, n: int) -> int:
    record = open_app(url)
    for i in range(EACH):
        with record.unit_of_work() as uow:
            write_one(uow, patient_id, i, f"writer-{n}")
    record.close()
    return EACH


def test_eight_writers_count_exact_and_chain_intact(db_url: str) -> None:
    record = open_app(db_url)
    pid_patient = patient(record.unit_of_work)
    record.close()
    began = time.perf_counter()
    with get_context("fork").Pool(WRITERS) as pool:
        written = pool.starmap(_writer, [(db_url, pid_patient, n) for n in range(WRITERS)])
    print(f"{WRITERS} x {EACH} commits in {time.perf_counter() - began:.1f} s")
    record = open_app(db_url)
    with record.unit_of_work() as uow:
        count = uow.connection.execute(select(func.count()).select_from(t.administrations)).scalar()
        distinct = uow.connection.execute(
            select(func.count(func.distinct(t.administrations.c.id)))
        ).scalar()
    chain = verify_audit(record.unit_of_work)
    record.close()
    assert sum(written) == WRITERS * EACH
    assert count == distinct == WRITERS * EACH
    assert chain.intact and chain.links == WRITERS * EACH + 1
