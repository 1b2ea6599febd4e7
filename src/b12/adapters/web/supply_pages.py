"""The supply at home page (dispense and waste forms by role) and the patient's calendar feeds.

``/calendar/{token}.ics`` needs no session: the token is the credential. An unknown and a revoked
token get the same 404, and the feed names only the patient it was made for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from b12.adapters.web import actions
from b12.adapters.web.app import B12, Reader, Writer, page
from b12.bootstrap import App
from b12.domain.display import format_volume
from b12.errors import InputError
from b12.services import accounts as acc
from b12.services.accounts import Actor
from b12.services.home_supply import HomeSupply, dispense, home_supply, record_waste
from b12.services.reminders import (
    FeedMade,
    UnknownFeedError,
    live_feeds,
    make_feed,
    read_feed,
    revoke_feed,
)

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=4000)]


def _count(text: str, field: str, low: int) -> int:
    text = text.strip() or str(low)
    if not text.isdigit() or int(text) < low:
        raise InputError(f"{field} {text[:20]!r}: write a whole number from {low}", field=field)
    return int(text)


def _supply(app: App, actor: Actor, code: str) -> tuple[HomeSupply, list[str]]:
    """The supply and the live feeds' ids, read in the actor's name (audited)."""
    from inspect import unwrap

    day = app.clock.now().date()
    lead = app.settings.lead_days
    read_supply, read_feeds = unwrap(home_supply), unwrap(live_feeds)

    def both(uow: object) -> tuple[HomeSupply, list[str]]:
        shown = read_supply(uow, app.knowledge, code, day, lead)
        return shown, [f.id for f in read_feeds(uow, code)]

    result: tuple[HomeSupply, list[str]] = acc.audited_read(
        app.unit_of_work, actor, code, "read-supply", both
    )
    return result


def _page(
    request: Request, app: App, actor: Actor, code: str, *, made: FeedMade | None = None,
    done: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    shown, feeds = _supply(app, actor, code)
    products = sorted(
        (p.id, p.name)
        for p in app.knowledge.all("products").values()
        if p.container is not None
        and p.container.volume_ml is not None
        and p.container.kind in ("ampoule", "single-dose-vial", "multi-dose-vial")
    )
    feed_url = None
    if made is not None:
        feed_url = str(request.url_for("calendar_feed", token=made.token))
    return page(
        request, "supply.html",
        {"code": code, "shown": shown, "d": shown.to_dict(), "feeds": feeds, "products": products,
         "feed_url": feed_url, "done": done, "lots": sorted({x.lot for x in shown.dispensings}),
         "volume": lambda v: "" if v is None else format_volume(v)},
        status,
    )  # fmt: skip


@router.get("/patients/{code}/supply", response_class=HTMLResponse)
def supply(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    return _page(request, app, actor, code)


@router.post("/patients/{code}/supply/dispense", response_class=HTMLResponse)
def supply_dispense(
    request: Request, code: str, actor: Writer, app: B12, product: Field = "", count: Field = "",
    lot: Field = "", expiry: Field = "",
) -> HTMLResponse:  # fmt: skip
    acc.require(actor, code, "dispense")
    day = actions.form_date(expiry, "expiry")
    if day is None:
        raise InputError("write the expiry date on the pack, YYYY-MM-DD", field="expiry")
    done = dispense(
        app.unit_of_work, app.knowledge, code, product, _count(count, "count", 1), lot, day,
        actor.username, app.clock.now(),
    )  # fmt: skip
    said = f"Dispensed {done.containers} x {done.product}, lot {done.lot}."
    return _page(request, app, actor, code, done=said)


@router.post("/patients/{code}/supply/waste", response_class=HTMLResponse)
def supply_waste(
    request: Request, code: str, actor: Writer, app: B12, lot: Field = "", count: Field = "",
    volume: Field = "", reason: Field = "",
) -> HTMLResponse:  # fmt: skip
    acc.require(actor, code, "waste")
    now = app.clock.now()
    done = record_waste(
        app.unit_of_work, app.knowledge, code, lot, _count(count, "count", 0), volume or None,
        reason, now.date(), actor.username, now,
    )  # fmt: skip
    said = f"Waste recorded: {done.reason}."
    return _page(request, app, actor, code, done=said)


@router.post("/patients/{code}/calendar", response_class=HTMLResponse)
def calendar_make(request: Request, code: str, actor: Writer, app: B12) -> HTMLResponse:
    """A new private calendar address; its token is shown on this page only."""
    acc.require(actor, code, "calendar")
    made = make_feed(app.unit_of_work, code, actor.username, app.clock.now())
    return _page(request, app, actor, code, made=made)


@router.post("/patients/{code}/calendar/revoke", response_class=HTMLResponse)
def calendar_revoke(
    request: Request, code: str, actor: Writer, app: B12, feed: Field = ""
) -> HTMLResponse:
    acc.require(actor, code, "calendar")
    revoke_feed(app.unit_of_work, code, feed, actor.username, app.clock.now())
    return _page(request, app, actor, code, done="Calendar address revoked: it no longer works.")


@router.get("/calendar/{token}.ics", name="calendar_feed")
def calendar_feed(token: str, app: B12) -> Response:
    from b12.adapters.calendar import course_to_ics

    try:
        feed = read_feed(app.unit_of_work, app.knowledge, token, app.clock.now())
    except UnknownFeedError:
        return Response("no calendar feed at this address\n", 404, media_type="text/plain")
    return Response(course_to_ics(feed), media_type="text/calendar; charset=utf-8")
