"""How the web app is served: Nagle's algorithm off on every connection, and `b12 serve
--workers N` serving from N processes.

uvicorn binds the listening socket itself when it starts several workers, with the socket's protocol
number left at 0, and asyncio turns TCP_NODELAY on only for sockets that report IPPROTO_TCP: each
keep-alive answer after the first then waited for the client's delayed ACK (~40 ms on Linux). The
first test shows that mechanism on a listener made the same way, with uvicorn's own protocol and with
b12's; no test here times anything.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

import b12
from b12.adapters.web.server import NoDelayH11Protocol


async def _app(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _nodelay_of_accepted(protocol: type[H11Protocol]) -> int:
    """TCP_NODELAY on the server's side of a connection accepted by ``protocol`` from a listener
    bound as uvicorn binds one for several workers (protocol number 0)."""
    config = Config(app=_app, http=protocol, lifespan="off", log_level="error")
    config.load()
    state = ServerState()
    made: list[H11Protocol] = []

    def factory() -> H11Protocol:
        made.append(protocol(config=config, server_state=state, app_state={}))
        return made[-1]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    assert listener.proto == 0
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = await asyncio.get_running_loop().create_server(factory, sock=listener)
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 204")
        accepted = made[0].transport.get_extra_info("socket")
        value = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        return int(value)
    finally:
        server.close()


def test_uvicorns_own_protocol_leaves_nagle_on_for_a_listener_bound_with_protocol_zero() -> None:
    assert asyncio.run(_nodelay_of_accepted(H11Protocol)) == 0


def test_b12s_protocol_turns_nagle_off_on_every_accepted_connection() -> None:
    assert asyncio.run(_nodelay_of_accepted(NoDelayH11Protocol)) != 0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_b12_serve_with_two_workers_serves_one_record_from_either(tmp_path: Path) -> None:
    """A session opened on one connection is honoured on fresh connections (the kernel hands them
    to either worker): sessions live in the record that --db names, not in a worker."""
    import os

    import httpx

    db = str(tmp_path / "r.db")
    b12.upgrade(b12.Settings.read(database_url=db, environ={}))
    env = {**os.environ, "B12_PASSWORD": "correct horse battery"}
    add = [sys.executable, "-m", "b12", "user", "add", "ana", "--role", "nurse", "--db", db]
    assert subprocess.run(add, env=env, capture_output=True, timeout=60).returncode == 0
    port = _port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "b12", "serve", "--port", str(port), "--workers", "2", "--db", db]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, first = time.monotonic() + 60, None
        while first is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                first = httpx.post(
                    base + "/api/v1/session",
                    json={"username": "ana", "password": "correct horse battery"},
                    timeout=5,
                )
            except httpx.TransportError:
                time.sleep(0.2)
        assert first is not None and first.status_code == 200, proc.stderr
        cookies = dict(first.cookies)
        with httpx.Client(base_url=base, cookies=cookies, timeout=5) as client:
            kept = [client.get("/api/v1/me") for _ in range(5)]  # one keep-alive connection
        fresh = [httpx.get(base + "/api/v1/me", cookies=cookies, timeout=5) for _ in range(10)]
        assert all(a.status_code == 200 and a.json()["username"] == "ana" for a in kept + fresh)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_b12_serve_refuses_a_number_of_workers_it_cannot_start(workers: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "b12", "serve", "--workers", workers],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--workers" in done.stderr
    assert "Traceback" not in done.stderr
