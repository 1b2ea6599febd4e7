"""The JSON API under /api/v1: the same use cases as the pages, described by the OpenAPI document.

Log in with POST /session (the cookie is set; the answer carries the CSRF token to send back as
the X-CSRF-Token header on every POST and DELETE).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from b12.adapters.web import actions
from b12.adapters.web.app import (
    B12,
    ERROR_RESPONSES,
    Reader,
    Writer,
    clear_session_cookie,
    set_session_cookie,
)
from b12.bootstrap import App
from b12.domain.dates import in_range
from b12.domain.jsonable import to_json
from b12.services import accounts as acc
from b12.services.home_supply import MAX_CONTAINERS

router = APIRouter(responses=ERROR_RESPONSES)

Text = Annotated[str, Field(max_length=4000)]
Short = Annotated[str, Field(max_length=200)]
#: A patient's pseudonymous code in a path (the record keeps at most 64 characters).
Code = Annotated[
    str, Path(max_length=64, description="the patient's pseudonymous code", examples=["P-0001"])
]


def _in_range(value: date, info: ValidationInfo) -> date:
    return in_range(value, info.field_name or "date")


#: A date a request gives: one of the years b12 works in, refused as the command line refuses it.
Day = Annotated[date, AfterValidator(_in_range)]


class In(BaseModel):
    """Every request body: a field it does not declare is refused (422 naming it), never ignored
    (a ``dose_mcg`` sent to the give would otherwise leave the prescribed dose to be given)."""

    model_config = ConfigDict(extra="forbid")


class Login(In):
    username: Annotated[str, Field(max_length=200)]
    password: Annotated[str, Field(max_length=1000)]


class Me(BaseModel):
    username: str
    role: str
    patients: list[str]
    csrf: str


class Body(BaseModel):
    """A use case's answer, as its to_dict() gives it."""

    model_config = {"extra": "allow"}


class GiveIn(In):
    dose: Short | None = Field(None, description="default: the prescribed dose, e.g. 1000 mcg")
    site: Short | None = Field(None, description="default: the suggested site, e.g. left deltoid")
    lot: Annotated[str, Field(max_length=64)] | None = None
    expiry: Day | None = None
    scan: Short | None = Field(None, description="a GS1 element string read from the pack")
    override_code: Short | None = Field(None, description=", ".join(actions.OVERRIDE_CODES))
    override_reason: Text | None = None


class NotGivenIn(In):
    kind: Literal["missed", "refused", "held"]
    reason: Text


class LabsIn(In):
    readings: Annotated[list[Short], Field(max_length=40)]
    taken_on: Day


class PrescribeIn(In):
    indication: Short
    start: Day
    product: Short | None = None
    months: Annotated[int, Field(ge=1, le=120)] = 12
    neuro: bool = False
    override_code: Short | None = None
    override_reason: Text | None = None
    self_injection: bool = Field(
        False, description="the doses are given at home, by the patient or a carer linked to inject"
    )


class StopIn(In):
    reason: Text


class EventIn(In):
    on: Day
    description: Text
    severity: Literal["mild", "moderate", "severe"]
    neurological: bool = False


class ScanIn(In):
    text: Short


class ScanOut(BaseModel):
    gtin: str | None
    expiry: date | None
    lot: str | None
    serial: str | None


def _me(actor: acc.Actor) -> Me:
    return Me(
        username=actor.username,
        role=actor.role,
        patients=[link.patient_code for link in actor.links],
        csrf=actor.csrf,
    )


@router.post("/session", response_model=Me, tags=["session"])
def log_in(body: Login, request: Request, response: Response, app: B12) -> Me:
    """Log in: sets the session cookie; send the answer's csrf back as X-CSRF-Token."""
    done = acc.log_in(app.accounts, app.passwords, body.username, body.password, app.clock)
    set_session_cookie(request, response, done.token)
    return _me(done.actor)


@router.delete("/session", status_code=204, tags=["session"])
def log_out(actor: Writer, app: B12, response: Response) -> Response:
    acc.log_out(app.accounts, actor)
    out = Response(status_code=204)
    clear_session_cookie(out)
    return out


@router.get("/me", response_model=Me, tags=["session"])
def me(actor: Reader) -> Me:
    return _me(actor)


@router.get("/mar", response_model=Body, tags=["record"])
def mar(
    actor: Reader,
    app: B12,
    on: Annotated[date | None, Query(), AfterValidator(lambda d: in_range(d, "on"))] = None,
    ward: Annotated[str | None, Query()] = None,
) -> Any:
    """Everyone due or overdue (staff), on one ward with ``ward``: dose in mcg and the volume in
    mL, and the wards patients are on. A ward no patient is on is an error naming the wards."""
    due = actions.mar(app, actor, on, ward)
    return {
        "date": (on or actions.today(app)).isoformat(),
        **({} if ward is None else {"ward": ward.strip()}),
        "wards": actions.mar_wards(app, actor),
        "due": to_json([d.to_dict() for d in due]),
    }


@router.get("/patients", response_model=Body, tags=["record"])
def patients(actor: Reader, app: B12) -> Any:
    """The patients this account may open."""
    return {"patients": actions.visible_patients(app, actor)}


@router.get("/patients/{code:code}", response_model=Body, tags=["record"])
def patient(code: Code, actor: Reader, app: B12) -> Any:
    """The patient's course, timeline, results and findings, and every corrected or voided
    record with what replaced it (the read is audited)."""
    shown = actions.patient_page(app, actor, code)
    return to_json(
        {**shown.status.to_dict(), "corrections": [a.to_dict() for a in shown.amendments]}
    )


def _give_form(body: GiveIn) -> actions.GiveForm:
    return actions.GiveForm(
        body.dose, body.site, body.lot, body.expiry, body.scan, body.override_code,
        body.override_reason,
    )  # fmt: skip


@router.post("/patients/{code:code}/give/preview", response_model=Body, tags=["record"])
def give_preview(code: Code, body: GiveIn, actor: Writer, app: B12) -> Any:
    """The five rights, the volume to draw, the site and the needle: nothing is recorded."""
    return to_json(actions.give_dose(app, actor, code, _give_form(body), preview=True).to_dict())


@router.post("/patients/{code:code}/give", response_model=Body, tags=["record"])
def give(code: Code, body: GiveIn, actor: Writer, app: B12) -> Any:
    """Record the dose due (unless a stop; a second dose the same day is refused)."""
    return to_json(actions.give_dose(app, actor, code, _give_form(body), preview=False).to_dict())


@router.post("/patients/{code:code}/not-given", response_model=Body, tags=["record"])
def not_given(code: Code, body: NotGivenIn, actor: Writer, app: B12) -> Any:
    """The dose due was missed, refused or held, and why (never doubled later)."""
    return to_json(actions.not_given(app, actor, code, body.kind, body.reason).to_dict())


@router.post("/patients/{code:code}/labs", response_model=Body, tags=["record"])
def labs(code: Code, body: LabsIn, actor: Writer, app: B12) -> Any:
    """Results as written (b12=150pg/mL ...), judged and kept."""
    return to_json(actions.labs(app, actor, code, body.readings, body.taken_on).to_dict())


def _prescribe_form(body: PrescribeIn) -> actions.PrescribeForm:
    return actions.PrescribeForm(
        body.indication, body.start, body.product, body.months, body.neuro, body.override_code,
        body.override_reason, body.self_injection,
    )  # fmt: skip


@router.post("/patients/{code:code}/prescriptions/preview", response_model=Body, tags=["record"])
def prescribe_preview(code: Code, body: PrescribeIn, actor: Writer, app: B12) -> Any:
    """The plan and its findings before signing: nothing is kept."""
    done = actions.prescribe_plan(app, actor, code, _prescribe_form(body), preview=True)
    return to_json({**done.to_dict(), "plan": done.plan})


@router.post("/patients/{code:code}/prescriptions", response_model=Body, tags=["record"])
def prescribe(code: Code, body: PrescribeIn, actor: Writer, app: B12) -> Any:
    """Sign the plan (a stop needs an override reason, kept with it)."""
    done = actions.prescribe_plan(app, actor, code, _prescribe_form(body), preview=False)
    return to_json(done.to_dict())


@router.post("/patients/{code:code}/prescriptions/stop", response_model=Body, tags=["record"])
def stop(code: Code, body: StopIn, actor: Writer, app: B12) -> Any:
    """Stop the active prescription, with the reason (the old one is kept)."""
    from b12.services.record import prescription_dict

    return to_json({"prescription": prescription_dict(actions.stop(app, actor, code, body.reason))})


@router.post("/patients/{code:code}/events", response_model=Body, tags=["record"])
def events(code: Code, body: EventIn, actor: Writer, app: B12) -> Any:
    """An adverse event (a reaction after an injection stops the next dose until reviewed)."""
    done = actions.event(
        app, actor, code, body.on, body.description, body.severity, body.neurological
    )
    return to_json({"event": vars(done)})


@router.get("/overrides", response_model=Body, tags=["review"])
def overrides(actor: Reader, app: B12) -> Any:
    """Override rates per finding code (pharmacist, prescriber)."""
    return {"rates": [r.to_dict() for r in actions.override_rates(app, actor)]}


@router.post("/scan", response_model=ScanOut, tags=["record"])
def scan(body: ScanIn, actor: Writer) -> ScanOut:
    """A pack's GS1 element string read: GTIN, expiry, lot, serial."""
    from b12.adapters.web.scan import read_scan

    pack = read_scan(body.text)
    return ScanOut(gtin=pack.gtin, expiry=pack.expiry, lot=pack.lot, serial=pack.serial)


#: A record's id in a path (a UUID as the record keeps it).
RecordId = Annotated[str, Path(max_length=36, description="the id of an administration or result")]


class CorrectIn(In):
    """The fields to correct (those given that differ from the record), and why."""

    given_at: Short | None = Field(
        None, description="an administration's time, e.g. 2027-03-01T09:00"
    )
    dose_mcg: Short | None = Field(None, description="an administration's dose in mcg, e.g. 1000")
    volume_ml: Short | None = Field(None, description="the volume drawn in mL, e.g. 1")
    site: Short | None = None
    lot: Annotated[str, Field(max_length=64)] | None = None
    expiry: Short | None = Field(None, description="e.g. 2027-09-30")
    reading: Short | None = Field(None, description="a result re-read, e.g. b12=150pg/mL")
    taken_on: Short | None = Field(None, description="a result's day, e.g. 2027-03-01")
    reason: Text


class VoidIn(In):
    reason: Text


@router.post(
    "/patients/{code:code}/records/{record_id}/correct", response_model=Body, tags=["record"]
)
def correct(code: Code, record_id: RecordId, body: CorrectIn, actor: Writer, app: B12) -> Any:
    """Correct an administration or a result: a new record replaces it; the original is kept."""
    fields = body.model_dump(exclude={"reason"})
    done = actions.correct_record(app, actor, code, record_id, fields, body.reason)
    return to_json(done.to_dict())


@router.post(
    "/patients/{code:code}/records/{record_id}/entered-in-error",
    response_model=Body,
    tags=["record"],
)
def entered_in_error(code: Code, record_id: RecordId, body: VoidIn, actor: Writer, app: B12) -> Any:
    """Mark an administration or a result entered in error: it no longer counts; it is kept."""
    return to_json(actions.void_record(app, actor, code, record_id, body.reason).to_dict())


# --- supply at home, calendar feeds and carers -----------------------------------------------------

Lot = Annotated[str, Field(max_length=64, description="the lot number printed on the pack")]
#: Ampoules or vials of one lot.
Count = Annotated[int, Field(le=MAX_CONTAINERS)]


class DispenseIn(In):
    product: Short = Field(
        description="a product id or name the knowledge knows (the supply's `dispensable`)",
        examples=["cyanocobalamin-us-1000mcg-ml-10ml-vial"],
    )
    count: Annotated[Count, Field(ge=1, description="how many ampoules or vials")]
    lot: Lot
    expiry: Day


class WasteIn(In):
    lot: Lot = Field(description="a lot dispensed to the patient")
    count: Annotated[Count, Field(ge=0, description="whole ampoules or vials thrown away")] = 0
    volume: Short | None = Field(
        None, description="or a volume from the open vial, in mL as exact text, e.g. 0.5"
    )
    reason: Text


class RevokeIn(In):
    feed: Annotated[str, Field(max_length=64, description="a live feed's id (GET .../calendar)")]


class LinkIn(In):
    username: Annotated[str, Field(max_length=200, description="a patient's or carer's account")]
    injects: bool = Field(
        False, description="this carer gives the injections (set by a prescriber only)"
    )


class UnlinkIn(In):
    username: Annotated[str, Field(max_length=200)]


def _feed(feed: Any) -> dict[str, Any]:
    return {"id": feed.id, "made_at": feed.created_at.isoformat(), "made_by": feed.created_by}


@router.get("/patients/{code:code}/supply", response_model=Body, tags=["supply"])
def supply(code: Code, actor: Reader, app: B12) -> Any:
    """What is at home (ampoules and vials left, the volume in them, what was drawn and thrown
    away), the day it runs out along the course still owed, the day to ask for a new prescription
    by, and the products that may be dispensed (the read is audited)."""
    from b12.services.home_supply import dispensable

    shown = actions.supply_view(app, actor, code).supply
    products = [{"id": i, "name": n} for i, n in dispensable(app.knowledge)]
    return to_json({**shown.to_dict(), "dispensable": products})


@router.post("/patients/{code:code}/supply/dispense", response_model=Body, tags=["supply"])
def supply_dispense(code: Code, body: DispenseIn, actor: Writer, app: B12) -> Any:
    """Ampoules or vials of one lot handed over for use at home (nurse, pharmacist)."""
    done = actions.dispense(app, actor, code, body.product, body.count, body.lot, body.expiry)
    return to_json({"dispensing": vars(done)})


@router.post("/patients/{code:code}/supply/waste", response_model=Body, tags=["supply"])
def supply_waste(code: Code, body: WasteIn, actor: Writer, app: B12) -> Any:
    """Ampoules, vials or a volume of a dispensed lot thrown away today, and why."""
    done = actions.waste(app, actor, code, body.lot, body.count, body.volume, body.reason)
    return to_json({"waste": vars(done)})


@router.get("/patients/{code:code}/calendar", response_model=Body, tags=["supply"])
def calendar(code: Code, actor: Reader, app: B12) -> Any:
    """The patient's live calendar feeds: id, when and by whom made (never their token)."""
    return {"feeds": [_feed(f) for f in actions.calendar_feeds(app, actor, code)]}


@router.post("/patients/{code:code}/calendar", response_model=Body, tags=["supply"])
def calendar_make(code: Code, request: Request, actor: Writer, app: B12) -> Any:
    """A new private calendar feed of the course: its address (``url``, GET without a session)
    is in this answer only; the record keeps the token's hash."""
    made = actions.make_feed(app, actor, code)
    url = str(request.url_for("calendar_feed", token=made.token))
    return {"feed": _feed(made.feed), "token": made.token, "url": url}


@router.post("/patients/{code:code}/calendar/revoke", response_model=Body, tags=["supply"])
def calendar_revoke(code: Code, body: RevokeIn, actor: Writer, app: B12) -> Any:
    """Revoke a live feed: its address answers 404 from now on."""
    done = actions.revoke_feed(app, actor, code, body.feed)
    return {"revoked": done.revokes_id, "at": done.created_at.isoformat(), "by": done.created_by}


def _carers(app: App, actor: acc.Actor, code: str) -> dict[str, Any]:
    return {"carers": [vars(c) for c in actions.carers(app, actor, code)]}


@router.get("/patients/{code:code}/carers", response_model=Body, tags=["carers"])
def carers(code: Code, actor: Reader, app: B12) -> Any:
    """The accounts linked to the patient, the patient's own first (prescriber, the patient)."""
    return _carers(app, actor, code)


@router.post("/patients/{code:code}/carers", response_model=Body, tags=["carers"])
def link(code: Code, body: LinkIn, actor: Writer, app: B12) -> Any:
    """Link a carer's (or the patient's) account; only a prescriber says a carer injects."""
    actions.link(app, actor, code, body.username, body.injects)
    return _carers(app, actor, code)


@router.post("/patients/{code:code}/carers/unlink", response_model=Body, tags=["carers"])
def unlink(code: Code, body: UnlinkIn, actor: Writer, app: B12) -> Any:
    """End a carer's link: their next request no longer reaches the patient."""
    actions.unlink(app, actor, code, body.username)
    return _carers(app, actor, code)
