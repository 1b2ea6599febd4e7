"""The supply at home page (dispense and waste forms by role) and the patient's calendar feeds.

``/calendar/{token}.ics`` needs no session: the token is the credential. An unknown and a revoked
token get the same 404, and the feed names only the patient it was made for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from b12.adapters.web import actions
from b12.adapters.web.app import B12, Reader, Writer, known_form_fields, page
from b12.bootstrap import App
from b12.domain.display import format_volume
from b12.errors import InputError
from b12.services import accounts as acc
from b12.services.accounts import Actor
from b12.services.home_supply import dispensable
from b12.services.reminders import FeedMade, UnknownFeedError, read_feed

router = APIRouter(include_in_schema=False, dependencies=[Depends(known_form_fields)])
Field = Annotated[str, Form(max_length=4000)]


def _count(text: str, field: str, low: int) -> int:
    text = text.strip() or str(low)
    if not text.isdigit() or int(text) < low:
        raise InputError(f"{field} {text[:20]!r}: write a whole number from {low}", field=field)
    return int(text)


def _page(
    request: Request, app: App, actor: Actor, code: str, *, made: FeedMade | None = None,
    done: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    view = actions.supply_view(app, actor, code)
    shown = view.supply
    feed_url = None
    if made is not None:
        feed_url = str(request.url_for("calendar_feed", token=made.token))
    return page(
        request, "supply.html",
        {"code": code, "shown": shown, "d": shown.to_dict(), "feeds": [f.id for f in view.feeds],
         "products": dispensable(app.knowledge), "feed_url": feed_url, "done": done,
         "lots": sorted({x.lot for x in shown.dispensings}),
         "volume": lambda v: "" if v is None else format_volume(v)},
        status,
    )  # fmt: skip


@router.get("/patients/{code:code}/supply", response_class=HTMLResponse)
def supply(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    return _page(request, app, actor, code)


@router.post("/patients/{code:code}/supply/dispense", response_class=HTMLResponse)
def supply_dispense(
    request: Request, code: str, actor: Writer, app: B12, product: Field = "", count: Field = "",
    lot: Field = "", expiry: Field = "",
) -> HTMLResponse:  # fmt: skip
    acc.require(actor, code, "dispense")
    day = actions.form_date(expiry, "expiry")
    if day is None:
        raise InputError("write the expiry date on the pack, YYYY-MM-DD", field="expiry")
    done = actions.dispense(app, actor, code, product, _count(count, "count", 1), lot, day)
    said = f"Dispensed {done.containers} x {done.product}, lot {done.lot}."
    return _page(request, app, actor, code, done=said)


@router.post("/patients/{code:code}/supply/waste", response_class=HTMLResponse)
def supply_waste(
    request: Request, code: str, actor: Writer, app: B12, lot: Field = "", count: Field = "",
    volume: Field = "", reason: Field = "",
) -> HTMLResponse:  # fmt: skip
    acc.require(actor, code, "waste")
    done = actions.waste(app, actor, code, lot, _count(count, "count", 0), volume, reason)
    said = f"Waste recorded: {done.reason}."
    return _page(request, app, actor, code, done=said)


@router.post("/patients/{code:code}/calendar", response_class=HTMLResponse)
def calendar_make(request: Request, code: str, actor: Writer, app: B12) -> HTMLResponse:
    """A new private calendar address; its token is shown on this page only."""
    made = actions.make_feed(app, actor, code)
    return _page(request, app, actor, code, made=made)


@router.post("/patients/{code:code}/calendar/revoke", response_class=HTMLResponse)
def calendar_revoke(
    request: Request, code: str, actor: Writer, app: B12, feed: Field = ""
) -> HTMLResponse:
    actions.revoke_feed(app, actor, code, feed)
    return _page(request, app, actor, code, done="Calendar address revoked: it no longer works.")


@router.get("/calendar/{token}.ics", name="calendar_feed")
def calendar_feed(token: str, app: B12) -> Response:
    from b12.adapters.calendar import course_to_ics

    try:
        feed = read_feed(app.unit_of_work, app.knowledge, token, app.clock.now())
    except UnknownFeedError:
        return Response("no calendar feed at this address\n", 404, media_type="text/plain")
    return Response(course_to_ics(feed), media_type="text/calendar; charset=utf-8")
