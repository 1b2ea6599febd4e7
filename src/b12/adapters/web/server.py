"""How the web app is served: uvicorn, in one process or in several worker processes.

    serve(settings, host, port, workers)   build the App once (a wrong record stops here), then serve
    app_from_environment()                 the app a worker process builds (settings from the environment)
    NoDelayH11Protocol                     uvicorn's HTTP/1.1 protocol with Nagle's algorithm off

Several workers share one listening socket that uvicorn binds itself, with the socket's protocol
number left at 0; asyncio turns TCP_NODELAY on only for sockets that report IPPROTO_TCP, so on
Linux every keep-alive response after the first would wait ~40 ms for the client's delayed ACK
(uvicorn issue #3149, open). The protocol below sets the option on every accepted connection,
whatever the listener, so one worker and several answer alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import TYPE_CHECKING

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from fastapi import FastAPI

    from b12.bootstrap import Settings


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with TCP_NODELAY set on the connection it is given."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # a peer already gone refuses the option: h11 finds out and closes
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_environment() -> FastAPI:
    """The web app of one worker process: its settings from the environment `serve` set."""
    from b12.adapters.web.app import create_app
    from b12.bootstrap import Settings, build

    return create_app(build(Settings.read()))


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Run the web app on ``host``:``port`` until interrupted, in ``workers`` processes."""
    import uvicorn

    from b12.adapters.web.app import create_app
    from b12.bootstrap import ENVIRONMENT, build
    from b12.services.accounts import list_accounts

    app = build(settings)
    # the record is opened (and its revision checked) now: a wrong --db stops here, not later
    list_accounts(app.accounts)
    common = {"host": host, "port": port, "log_level": "warning", "access_log": False}
    if workers == 1:
        uvicorn.run(create_app(app), http=NoDelayH11Protocol, **common)  # type: ignore[arg-type]
        return
    # each worker builds its own App from the same settings, handed down by the environment
    for name, variable in ENVIRONMENT.items():
        value = getattr(settings, name, None)
        if value is not None:
            os.environ[variable] = str(value)
    uvicorn.run(
        "b12.adapters.web.server:app_from_environment",
        factory=True,
        workers=workers,
        http=NoDelayH11Protocol,
        **common,  # type: ignore[arg-type]
    )
