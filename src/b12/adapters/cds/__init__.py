"""The CDS Hooks service (CDS Hooks 2.0) on the web app, under /cds-services.

    mount(web)   adds discovery, order-select, order-sign and feedback to the FastAPI app

Modules: ``security`` (the JWT checks and the issuers file), ``orders`` (the hook's FHIR input
read: prefetch and draft orders), ``cards`` (findings as cards), ``routes`` (the endpoints).
Loaded with the web app only; PyJWT loads on the first call.
"""

from __future__ import annotations

from typing import Any


def mount(web: Any) -> None:
    """Add the CDS Hooks routes to ``web`` (a FastAPI app whose state holds the App)."""
    from b12.adapters.cds.routes import router

    web.include_router(router)
