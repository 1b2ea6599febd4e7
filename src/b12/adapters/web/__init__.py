"""The web door for staff, patients and caregivers: pages (Jinja2 + htmx, served from the package)
and a JSON API under /api/v1 with its OpenAPI document. Needs the ``web`` extra; the command line
imports it only inside `b12 serve`.

    serve(settings, host, port)   build the App once, then run the server (uvicorn)
"""

from __future__ import annotations

from b12.bootstrap import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the web app on ``host``:``port`` until interrupted."""
    import uvicorn

    from b12.adapters.web.app import create_app
    from b12.bootstrap import build

    app = build(settings)
    # the record is opened (and its revision checked) now: a wrong --db stops here, not later
    from b12.services.accounts import list_accounts

    list_accounts(app.accounts)
    uvicorn.run(create_app(app), host=host, port=port, log_level="warning", access_log=False)
