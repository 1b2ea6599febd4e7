"""Group commit for the CDS Hooks service: the calls that arrive while one transaction commits are
kept together by the next (services.decision_support.accept_calls), so that an EHR's burst of
order-sign calls waits for a few commits, not one commit each (each is an fsync on SQLite).

A caller waits until its own call is committed: its answer is never sent before its token is
claimed, its cards kept and its audit entry written. A batch that fails is retried call by call,
so one call's bad data never refuses another's. The writer thread ends when idle (IDLE seconds)
and starts again with the next call.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from b12.services.decision_support import Call, CdsFactory, ReplayedTokenError, accept_calls

IDLE = 5.0
MOST = 256  # calls in one transaction at most


class CallWriter:
    def __init__(self, factory: CdsFactory) -> None:
        self._factory = factory
        self._queue: queue.SimpleQueue[tuple[Call, Future[bool]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def keep(self, call: Call) -> None:
        """Keep ``call``, once committed; ReplayedTokenError when its token was used before."""
        done: Future[bool] = Future()
        self._queue.put((call, done))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="b12-cds-writer", daemon=True
                )
                self._thread.start()
        if not done.result():
            raise ReplayedTokenError()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MOST:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[tuple[Call, Future[bool]]]) -> None:
        try:
            kept = accept_calls(self._factory, [call for call, _ in batch])
        except BaseException:
            for call, done in batch:
                try:
                    done.set_result(accept_calls(self._factory, [call])[0])
                except BaseException as error:
                    done.set_exception(error)
            return
        for (_, done), ok in zip(batch, kept, strict=True):
            done.set_result(ok)
