"""Writers killed with SIGKILL at random moments: the crash test's loop, and `make soak`'s.

Each kill strikes a writer that is writing: the parent waits for the child's first acknowledged
record (however slow the machine), then kills it at a random moment of its loop. What is counted is
kills, never the writes a machine manages in a given time.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time

from tests.record.helpers import open_app, write_one


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
    """Read until the child has reported one whole record (an error if the child dies first)."""
    data = b""
    while b"\n" not in data:
        ready, _, _ = select.select([fd], [], [], 120)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            raise AssertionError("the writer stopped before acknowledging one record")
        data += chunk
    return data


def kill_writers(url: str, patient_id: str, kills: int, rng: random.Random) -> list[str]:
    """Fork a writer ``kills`` times and SIGKILL each at a random moment; the ids acknowledged."""
    acknowledged: list[str] = []
    for _ in range(kills):
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            os.close(read_end)
            try:
                _writer_loop(url, patient_id, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        chunks = [_first_line(read_end, child)]
        time.sleep(rng.uniform(0, 0.06))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        # a line cut by the kill was never fully reported: only complete lines count
        text = b"".join(chunks).decode()
        acknowledged += [line for line in text.split("\n")[:-1] if line]
    return acknowledged
