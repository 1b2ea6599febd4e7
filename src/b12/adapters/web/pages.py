"""The server-rendered pages (Jinja2, htmx from /static: nothing is loaded from elsewhere).

Every form carries the session's CSRF token in a hidden ``csrf`` field; htmx requests send it as
the X-CSRF-Token header (set once on the page's body).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from b12.adapters.web import actions, lay
from b12.adapters.web.app import (
    B12,
    COOKIE,
    Reader,
    Writer,
    clear_session_cookie,
    known_form_fields,
    page,
    set_session_cookie,
)
from b12.domain.display import format_mass, format_volume
from b12.errors import InputError
from b12.services import accounts as acc

router = APIRouter(include_in_schema=False, dependencies=[Depends(known_form_fields)])
Field = Annotated[str, Form(max_length=4000)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _helpers() -> dict[str, Any]:
    return {
        "mass": format_mass,
        "volume": lambda v: "" if v is None else format_volume(v),
        "override_codes": actions.OVERRIDE_CODES,
        "lay": lay,
    }


def _landing(actor: acc.Actor) -> str:
    """Staff land on the MAR, a patient on their own page, a carer on the list to choose from."""
    if actor.staff:
        return "/mar"
    if actor.role == "patient" and len(actor.links) == 1:
        from urllib.parse import quote

        return f"/patients/{quote(actor.links[0].patient_code, safe='')}"
    return "/patients"


# --- session ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, app: B12) -> Response:
    try:
        actor = acc.session_actor(app.accounts, request.cookies.get(COOKIE, ""), app.clock)
    except acc.SessionExpiredError:
        return _see_other("/login")
    return _see_other(_landing(actor))


#: Before a session exists the login form is tied to its browser by a double-submit token: a
#: SameSite=Strict cookie and the same value in the form (another site's form has neither).
LOGIN_COOKIE = "b12_login"


def _login_page(request: Request, message: str | None, status: int = 200) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", {"message": message, "login_token": token}, status)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, app: B12, username: Field = "", password: Field = "", login_token: Field = ""
) -> Response:
    import hmac

    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
        return _login_page(request, "the login form has expired: log in again", status=403)
    try:
        done = acc.log_in(app.accounts, app.passwords, username, password, app.clock)
    except acc.LoginError as error:
        return _login_page(request, str(error), status=401)
    response = _see_other(_landing(done.actor))
    set_session_cookie(request, response, done.token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(actor: Writer, app: B12) -> Response:
    acc.log_out(app.accounts, actor)
    response = _see_other("/login")
    clear_session_cookie(response)
    return response


# --- reading ------------------------------------------------------------------------------------


@router.get("/mar", response_class=HTMLResponse)
def mar(request: Request, actor: Reader, app: B12, ward: str | None = None) -> HTMLResponse:
    """Today's MAR, of every ward or of ``?ward=NAME``; the wards patients are on as links."""
    from b12.services.record import UnknownWardError

    chosen = None if ward is None or ward == "" else ward
    context = {"today": actions.today(app), "ward": chosen, "unknown": None, **_helpers()}
    try:
        due = actions.mar(app, actor, ward=chosen)
    except UnknownWardError as error:
        context.update(due=[], wards=list(error.wards), unknown=error.ward)
        return page(request, "mar.html", context, status=404)
    wards = actions.mar_wards(app, actor)
    if chosen is not None:  # the ward as the record names it (it was found: exactly or by case)
        asked = chosen.strip()
        chosen = (
            asked
            if asked in wards
            else next((w for w in wards if w.casefold() == asked.casefold()), asked)
        )
    context.update(due=due, ward=chosen, wards=wards)
    return page(request, "mar.html", context)


@router.get("/patients", response_class=HTMLResponse)
def patients(request: Request, actor: Reader, app: B12) -> HTMLResponse:
    return page(request, "patients.html", {"codes": actions.visible_patients(app, actor)})


@router.get("/patients/{code:code}", response_class=HTMLResponse)
def patient(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    if not actor.staff:  # the patient's own view, or a carer's view of one of theirs
        home = actions.home_view(app, actor, code)
        return page(request, "home.html", {"code": code, "home": home, **_helpers()})
    shown = actions.patient_page(app, actor, code)
    status = shown.status
    store = actions.store_estimate(app, status)  # shown to staff only: the prescriber's estimate
    return page(
        request, "patient.html",
        {"code": code, "status": status, "shown": status.to_dict(), "store": store,
         "amendments": shown.amendments, **_helpers()},
    )  # fmt: skip


@router.get("/patients/{code:code}/chart.svg")
def chart(code: str, actor: Reader, app: B12) -> Response:
    """The results chart with the injections (an image the patient page shows)."""
    return Response(actions.lab_chart(app, actor, code), media_type="image/svg+xml")


@router.get("/overrides", response_class=HTMLResponse)
def overrides(request: Request, actor: Reader, app: B12) -> HTMLResponse:
    return page(request, "overrides.html", {"rates": actions.override_rates(app, actor)})


# --- giving -------------------------------------------------------------------------------------


def _give_fields(
    dose: Field = "", site: Field = "", lot: Field = "", expiry: Field = "", scan: Field = "",
    override_code: Field = "", override_text: Field = "",
) -> actions.GiveForm:  # fmt: skip
    """The give form's fields, read once for the confirm step and the give (a dependency)."""
    return actions.GiveForm(
        dose or None, site or None, lot or None, actions.form_date(expiry, "expiry"), scan or None,
        override_code or None, override_text or None,
    )  # fmt: skip


GiveFields = Annotated[actions.GiveForm, Depends(_give_fields)]


@router.get("/patients/{code:code}/give", response_class=HTMLResponse)
def give_form(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    """The five rights of the dose due, the volume, the suggested site, then lot and expiry."""
    shown = actions.give_dose(app, actor, code, actions.GiveForm(), preview=True)
    sites = [
        f"{side} {s.id}" for s in app.knowledge.all("sites").values() if not s.avoid or actor.staff
        for side in ("left", "right")
    ]  # fmt: skip
    context = {"code": code, "shown": shown, "form": {}, "sites": sites, **_helpers()}
    if not actor.staff:
        context["home"] = actions.home_view(app, actor, code)
    return page(request, "give.html" if actor.staff else "home_give.html", context)


@router.post("/patients/{code:code}/give/check", response_class=HTMLResponse)
def give_check(
    request: Request, code: str, actor: Writer, app: B12, form: GiveFields
) -> HTMLResponse:
    """The confirm step: the same checks with what was typed or scanned; nothing recorded."""
    shown = actions.give_dose(app, actor, code, form, preview=True)
    return page(
        request, "give_confirm.html" if actor.staff else "home_give_confirm.html",
        {"code": code, "shown": shown, "form": form, **_helpers()},
    )  # fmt: skip


@router.post("/patients/{code:code}/give", response_class=HTMLResponse)
def give(request: Request, code: str, actor: Writer, app: B12, form: GiveFields) -> HTMLResponse:
    done = actions.give_dose(app, actor, code, form, preview=False)
    context = {"code": code, "done": done, **_helpers()}
    if not actor.staff and done.given.recorded is not None:
        context["home"] = actions.home_view(app, actor, code)  # the next dose and the next site
    return page(
        request, "give_done.html" if actor.staff else "home_give_done.html", context,
        status=200 if done.given.recorded is not None else 409,
    )  # fmt: skip


@router.post("/patients/{code:code}/give/scan", response_class=HTMLResponse)
def give_scan(
    request: Request, code: str, actor: Writer, app: B12, scan: Field = ""
) -> HTMLResponse:
    """htmx: the lot and expiry fields filled from a scanned GS1 string."""
    from b12.adapters.web.scan import read_scan

    actions.open_form(app, actor, code, "give")
    try:
        pack, problem = read_scan(scan), None
    except InputError as error:
        pack, problem = None, str(error)
    return page(request, "_scan_fields.html", {"pack": pack, "problem": problem})


# --- not given, labs, prescribing ----------------------------------------------------------------


@router.get("/patients/{code:code}/not-given", response_class=HTMLResponse)
def not_given_form(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    actions.open_form(app, actor, code, "missed")
    if not actor.staff:
        return page(request, "home_missed.html", {"code": code})
    return page(request, "not_given.html", {"code": code, "kinds": actions.MISS_KINDS})


@router.post("/patients/{code:code}/not-given", response_class=HTMLResponse)
def not_given(
    request: Request, code: str, actor: Writer, app: B12, kind: Field = "", reason: Field = ""
) -> HTMLResponse:
    done = actions.not_given(app, actor, code, kind, reason)
    name = "not_given_done.html" if actor.staff else "home_missed_done.html"
    return page(request, name, {"code": code, "done": done, **_helpers()})


@router.post("/patients/{code:code}/stop", response_class=HTMLResponse)
def stop(request: Request, code: str, actor: Writer, app: B12, reason: Field = "") -> HTMLResponse:
    done = actions.stop(app, actor, code, reason)
    return page(request, "stopped.html", {"code": code, "rx": done})


@router.get("/patients/{code:code}/events", response_class=HTMLResponse)
def event_form(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    actions.open_form(app, actor, code, "events")
    name = "event.html" if actor.staff else "home_event.html"
    return page(request, name, {"code": code, "today": actions.today(app), **_helpers()})


@router.post("/patients/{code:code}/events", response_class=HTMLResponse)
def event(
    request: Request, code: str, actor: Writer, app: B12, on: Field = "", description: Field = "",
    severity: Field = "", neurological: Field = "",
) -> HTMLResponse:  # fmt: skip
    day = actions.form_date(on, "on") or actions.today(app)
    done = actions.event(app, actor, code, day, description, severity, neurological == "on")
    name = "event_done.html" if actor.staff else "home_event_done.html"
    return page(request, name, {"code": code, "done": done, **_helpers()})


@router.get("/patients/{code:code}/labs", response_class=HTMLResponse)
def labs_form(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    actions.open_form(app, actor, code, "labs")
    return page(request, "labs.html", {"code": code, "today": actions.today(app)})


@router.post("/patients/{code:code}/labs", response_class=HTMLResponse)
def labs(
    request: Request, code: str, actor: Writer, app: B12, readings: Field = "",
    taken_on: Field = "",
) -> HTMLResponse:  # fmt: skip
    day = actions.form_date(taken_on, "taken_on") or actions.today(app)
    done = actions.labs(app, actor, code, readings.split(), day)
    rows = done.to_dict()["results"]  # each result with its band as the record judged it
    return page(request, "labs_done.html", {"code": code, "done": done, "rows": rows})


def _choices(app: Any, collection: str) -> list[tuple[str, str]]:
    return sorted(
        (
            (str(e.id), str(getattr(e, "name", e.id)))
            for e in app.knowledge.all(collection).values()
        ),
        key=lambda x: x[1].lower(),
    )


@router.get("/patients/{code:code}/prescribe", response_class=HTMLResponse)
def prescribe_form(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    actions.open_form(app, actor, code, "prescribe")
    return page(
        request, "prescribe.html",
        {"code": code, "today": actions.today(app), "indications": _choices(app, "indications"),
         "products": _choices(app, "products")},
    )  # fmt: skip


def _prescribe_form(
    indication: str, start: str, product: str, months: str, neuro: str, override_code: str,
    override_text: str, self_injection: str = "",
) -> actions.PrescribeForm:  # fmt: skip
    first = actions.form_date(start, "start")
    if first is None:
        raise InputError("write the date of the first dose, YYYY-MM-DD", field="start")
    try:
        span = int(months or "12")
    except ValueError:
        raise InputError("months: write a whole number of months, 1-120", field="months") from None
    return actions.PrescribeForm(
        indication, first, product or None, span, neuro == "on", override_code or None,
        override_text or None, self_injection == "on",
    )  # fmt: skip


@router.post("/patients/{code:code}/prescribe/preview", response_class=HTMLResponse)
def prescribe_preview(
    request: Request, code: str, actor: Writer, app: B12, indication: Field = "",
    start: Field = "", product: Field = "", months: Field = "12", neuro: Field = "",
    override_code: Field = "", override_text: Field = "", self_injection: Field = "",
) -> HTMLResponse:  # fmt: skip
    form = _prescribe_form(
        indication, start, product, months, neuro, override_code, override_text, self_injection
    )
    shown = actions.prescribe_plan(app, actor, code, form, preview=True)
    return page(
        request, "prescribe_preview.html",
        {"code": code, "shown": shown, "form": form, "neuro": neuro,
         "rows": _plan_rows(shown.plan), **_helpers()},
    )  # fmt: skip


def _plan_rows(plan: Any) -> list[dict[str, str]]:
    """Every administration of the plan, its dose and draw printed as the command line prints
    them (thousands separated, the source's range beside a dose read from one)."""
    from decimal import Decimal

    from b12.domain.display import format_planned_dose

    rows = []
    for a in (plan or {}).get("administrations", []):
        volume = a.get("volume_ml")
        rows.append({
            "date": str(a["date"]), "phase": str(a["phase"]), "route": str(a["route"]),
            "dose": format_planned_dose(Decimal(str(a["dose_mcg"])), a.get("dose_range_mcg")),
            "draw": "" if volume is None else format_volume(Decimal(str(volume))),
        })  # fmt: skip
    return rows


@router.post("/patients/{code:code}/prescribe", response_class=HTMLResponse)
def prescribe(
    request: Request, code: str, actor: Writer, app: B12, indication: Field = "",
    start: Field = "", product: Field = "", months: Field = "12", neuro: Field = "",
    override_code: Field = "", override_text: Field = "", self_injection: Field = "",
) -> HTMLResponse:  # fmt: skip
    form = _prescribe_form(
        indication, start, product, months, neuro, override_code, override_text, self_injection
    )
    done = actions.prescribe_plan(app, actor, code, form, preview=False)
    return page(
        request, "prescribe_done.html", {"code": code, "done": done, **_helpers()},
        status=200 if done.prescription is not None else 409,
    )  # fmt: skip


# --- corrections ----------------------------------------------------------------------------------


@router.get("/patients/{code:code}/records/{record_id}/correct", response_class=HTMLResponse)
def correct_form(request: Request, code: str, record_id: str, actor: Reader, app: B12) -> Response:
    """Correct a dose or a result, or mark it entered in error (prescribers)."""
    kind, record = actions.record_to_correct(app, actor, code, record_id)
    return page(
        request, "correct.html",
        {"code": code, "kind": kind, "r": record, "fields": actions.CORRECTION_FIELDS[kind],
         **_helpers()},
    )  # fmt: skip


@router.post("/patients/{code:code}/records/{record_id}/correct", response_class=HTMLResponse)
def correct(
    request: Request, code: str, record_id: str, actor: Writer, app: B12, given_at: Field = "",
    dose_mcg: Field = "", volume_ml: Field = "", site: Field = "", lot: Field = "",
    expiry: Field = "", reading: Field = "", taken_on: Field = "", reason: Field = "",
) -> HTMLResponse:  # fmt: skip
    fields = {"given_at": given_at, "dose_mcg": dose_mcg, "volume_ml": volume_ml, "site": site,
              "lot": lot, "expiry": expiry, "reading": reading, "taken_on": taken_on}  # fmt: skip
    done = actions.correct_record(app, actor, code, record_id, dict(fields), reason)
    return page(request, "correct_done.html", {"code": code, "done": done, **_helpers()})


@router.post(
    "/patients/{code:code}/records/{record_id}/entered-in-error", response_class=HTMLResponse
)
def entered_in_error(
    request: Request, code: str, record_id: str, actor: Writer, app: B12, reason: Field = ""
) -> HTMLResponse:
    done = actions.void_record(app, actor, code, record_id, reason)
    return page(request, "correct_done.html", {"code": code, "done": done, **_helpers()})


# --- carers and the reactions reported ------------------------------------------------------------


@router.get("/patients/{code:code}/carers", response_class=HTMLResponse)
def carers(request: Request, code: str, actor: Reader, app: B12) -> HTMLResponse:
    """Who is linked to the patient; link or unlink a carer (the prescriber, or the patient)."""
    linked = actions.carers(app, actor, code)
    return page(request, "carers.html", {"code": code, "carers": linked, "message": None})


@router.post("/patients/{code:code}/carers", response_class=HTMLResponse)
def link(
    request: Request, code: str, actor: Writer, app: B12, username: Field = "",
    injects: Field = "",
) -> HTMLResponse:  # fmt: skip
    actions.link(app, actor, code, username, injects == "on")
    linked = actions.carers(app, actor, code)
    said = f"{username.strip()} is linked to {code}."
    return page(request, "carers.html", {"code": code, "carers": linked, "message": said})


@router.post("/patients/{code:code}/carers/unlink", response_class=HTMLResponse)
def unlink(
    request: Request, code: str, actor: Writer, app: B12, username: Field = ""
) -> HTMLResponse:
    actions.unlink(app, actor, code, username)
    linked = actions.carers(app, actor, code)
    said = f"{username.strip()} no longer reaches {code}."
    return page(request, "carers.html", {"code": code, "carers": linked, "message": said})


@router.get("/reactions", response_class=HTMLResponse)
def reactions(request: Request, actor: Reader, app: B12) -> HTMLResponse:
    """Reactions reported lately, by patients and carers as by staff (the prescriber's list)."""
    rows = actions.reactions(app, actor)
    return page(request, "reactions.html", {"rows": rows, "days": actions.REACTION_DAYS})
