"""Crash and concurrency: no acknowledged administration is lost, the count is exact, the chain holds."""

from __future__ import annotations

import os
import random
import select as io_select
import signal
import time
from multiprocessing import get_context

from sqlalchemy import func, select, text

from b12.adapters.storage import tables as t
from b12.services.record import verify_audit
from tests.record.helpers import open_app, patient, write_one

KILLS = 200
WRITERS = 8
EACH = 200


def _writer_loop(url: str, patient_id: str, fd: int) -> None:
    """The child: write administrations forever, reporting each id only after its commit."""
    record = open_app(url)
    n = 0
    while True:
        with record.unit_of_work() as uow:
            done = write_one(uow, patient_id, n, f"child-{os.getpid()}")
        os.write(fd, (done + "\n").encode())
        n += 1


def _first_line(fd: int, child: int) -> bytes:
    """Read until the child has reported one whole record (it fails the test if the child dies)."""
    data = b""
    while b"\n" not in data:
        ready, _, _ = io_select.select([fd], [], [], 120)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            raise AssertionError("the writer stopped before acknowledging one record")
        data += chunk
    return data


def test_sigkill_at_random_moments_loses_no_acknowledged_record(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    pid_patient = patient(record.unit_of_work)
    record.close()
    rng = random.Random(20260105)
    acknowledged: list[str] = []
    for _ in range(KILLS):
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            os.close(read_end)
            try:
                _writer_loop(sqlite_url, pid_patient, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        # Kill only a writer that is writing: wait for its first acknowledgement (however slow
        # the machine), then strike at a random moment of its loop. The kills are counted, never
        # the writes a machine manages in a given time.
        chunks = [_first_line(read_end, child)]
        time.sleep(rng.uniform(0, 0.06))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        # a line cut by the kill was never fully reported: only complete lines count
        text_out = b"".join(chunks).decode()
        acknowledged += [line for line in text_out.split("\n")[:-1] if line]
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
