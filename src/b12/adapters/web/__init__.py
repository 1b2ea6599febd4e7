"""The web door for staff, patients and caregivers: pages (Jinja2 + htmx, served from the package)
and a JSON API under /api/v1 with its OpenAPI document. Needs the ``web`` extra; the command line
imports it only inside `b12 serve`.

    serve(settings, host, port, workers)   build the App once, then run the server (server.py)
"""

from __future__ import annotations

from b12.bootstrap import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the web app on ``host``:``port`` until interrupted, in ``workers`` processes."""
    from b12.adapters.web.server import serve as run

    run(settings, host, port, workers)
