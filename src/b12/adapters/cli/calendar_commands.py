"""Calendar feeds of a patient's course: `b12 calendar make`, `b12 calendar list`,
`b12 calendar revoke` (the same use cases as the supply page's; services/reminders.py).

The token of a new feed is printed once: the record keeps only its sha256, so a lost address
cannot be shown again (make a new one and revoke the old).
"""

from __future__ import annotations

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json, table
from b12.adapters.cli.record_options import when, who
from b12.domain.display import format_instant
from b12.errors import InputError

#: Where the web app serves a feed, below its address.
FEED_PATH = "/calendar/{token}.ics"


def _address(url: str | None, token: str) -> str:
    """The feed's address: below ``url`` (the web app's, as patients reach it), else its path."""
    path = FEED_PATH.format(token=token)
    if url is None:
        return path
    base = url.strip().rstrip("/")
    scheme, _, rest = base.partition("://")
    if scheme not in ("https", "http") or not rest or any(c.isspace() for c in rest):
        raise InputError(
            f"--url {url[:60]!r} is not a web address: write the web app's address as patients "
            "reach it, e.g. --url https://b12.clinic.example",
            field="url",
        )
    return base + path


def make(
    *,
    code: str,
    url: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """A new private calendar address of the patient's course (shown once)."""
    from b12.services.reminders import make_feed

    b12 = open_app(db)
    moment = when(at, b12)
    _address(url, "")  # a wrong --url is refused before anything is recorded
    made = make_feed(b12.unit_of_work, code, who(by, b12), moment)
    address = _address(url, made.token)
    if as_json:
        emit_json({"id": made.feed.id, "patient": code, "address": address, "token": made.token})
        return 0
    c = console()
    c.print("Calendar address of {code} (id {id}):", code=code, id=made.feed.id)
    c.print("{address}", address=address)
    c.print(
        "It is shown this once: the record keeps only a hash of it. Subscribe to it in a calendar "
        "app{where}; revoke it with `b12 calendar revoke {code} {id}`.",
        where="" if url else " (below the web app's address)", code=code, id=made.feed.id,
    )  # fmt: skip
    return 0


def list_feeds(*, code: str, db: str | None = None, as_json: bool = False) -> int:
    """The patient's live calendar addresses (made and not revoked; their tokens are not kept)."""
    from b12.services.reminders import live_feeds

    b12 = open_app(db)
    feeds = live_feeds(b12.unit_of_work, code)
    zone = b12.settings.zone
    if as_json:
        emit_json({
            "patient": code,
            "feeds": [
                {"id": f.id, "made_at": f.created_at.isoformat(), "made_by": f.created_by}
                for f in feeds
            ],
        })  # fmt: skip
        return 0
    c = console()
    if not feeds:
        c.print("{code} has no live calendar address.", code=code)
        return 0
    rows = [(f.id, format_instant(f.created_at, zone), f.created_by) for f in feeds]
    c.print(table(f"Live calendar addresses of {code}", ("id", "made", "by"), rows))
    return 0


def revoke(
    *,
    code: str,
    feed: str,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """Revoke a calendar address: it answers 404 from now on."""
    from b12.services.reminders import revoke_feed

    b12 = open_app(db)
    row = revoke_feed(b12.unit_of_work, code, feed, who(by, b12), when(at, b12))
    if as_json:
        emit_json({"revoked": row.revokes_id, "patient": code, "at": row.created_at.isoformat()})
        return 0
    console().print(
        "Calendar address {id} of {code} revoked: it no longer works.", id=row.revokes_id, code=code
    )
    return 0
