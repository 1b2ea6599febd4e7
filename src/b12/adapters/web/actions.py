"""What a page or an API call asks, turned into use-case calls in the name of the session's actor.

The pages (pages.py) and the JSON API (api.py) both call these; neither holds a transaction or
repeats a rule. Who acts is always ``actor.username`` from the session. A preview (the give's five
rights, a plan before it is signed) is the use case itself run on a dry unit of work (services.previews):
exactly what it would record, then rolled back.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from b12.bootstrap import App
from b12.domain.dates import in_range
from b12.domain.dose_input import parse_dose
from b12.domain.findings import Finding
from b12.domain.lab_values import LabInputError, Measurement, no_reading, parse_reading
from b12.domain.labs import find_unit, is_panel
from b12.domain.records import current
from b12.errors import InputError, about
from b12.services import accounts as acc
from b12.services import previews
from b12.services.accounts import Actor
from b12.services.administering import (
    Given,
    GiveRequest,
    Missed,
    NotLiftedError,
    give,
    record_missed,
)
from b12.services.follow_up import Status, patient_status
from b12.services.overrides import OVERRIDE_CODES as OVERRIDE_CODES
from b12.services.ports import UnitOfWork
from b12.services.record import (
    Due,
    LabsAdded,
    Prescribed,
    add_labs,
    due_on,
    prescribe,
    wards,
)
from b12.services.site_rotation import read_site

MISS_KINDS = ("missed", "refused", "held")
#: At home a dose is missed; refusing and holding are the ward's words.
HOME_MISS_KINDS = ("missed",)


def _unwrapped(use_case: Any) -> Any:
    """The body of a use case decorated with ``opens_unit_of_work``: run on a unit of work we open."""
    return inspect.unwrap(use_case)


def override_reason(code: str | None, text: str | None) -> str | None:
    """A coded choice and free text -> the reason the record keeps (None when neither is given)."""
    code = (code or "").strip()
    text = (text or "").strip()
    if not code and not text:
        return None
    if code and code not in OVERRIDE_CODES:
        raise InputError(
            f"override reason {code!r}: choose one of {', '.join(OVERRIDE_CODES)}",
            field="override_code",
        )
    if code == "other" and not text:
        raise InputError("say why in words when the reason is 'other'", field="override_reason")
    if not code:
        return text
    return f"{OVERRIDE_CODES[code]}: {text}" if text else OVERRIDE_CODES[code]


# --- reads ----------------------------------------------------------------------------------------


def form_date(text: str, field: str) -> date | None:
    """A date typed in a form (YYYY-MM-DD) in the years b12 works in, None when left empty."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{field} {text[:40]!r} is not a date: write YYYY-MM-DD, e.g. 2027-09-30", field=field
        ) from None
    return in_range(day, field)


def today(app: App) -> date:
    return app.clock.now().date()


def _staff_reader(actor: Actor) -> None:
    acc.require_role(actor, "read")
    if not actor.staff:
        raise acc.ForbiddenError(actor.role, "see the ward's list")


def mar(app: App, actor: Actor, on: date | None = None, ward: str | None = None) -> list[Due]:
    """Everyone due or overdue on ``on``, on ``ward`` when given (staff only; one audit entry
    naming them). A ward no patient is on is refused (UnknownWardError, with the wards)."""
    _staff_reader(actor)
    day = on or today(app)
    body = _unwrapped(due_on)
    result: list[Due] = acc.audited_list(
        app.unit_of_work,
        actor,
        "read-mar",
        lambda uow: body(uow, day, ward),
        lambda d: [x.patient for x in d],
    )
    return result


def mar_wards(app: App, actor: Actor) -> list[str]:
    """The wards patients are on, to choose the MAR's list by (staff only; names no patient)."""
    _staff_reader(actor)
    return wards(app.unit_of_work)


def patient_view(app: App, actor: Actor, code: str) -> Status:
    body = _unwrapped(patient_status)
    day = today(app)
    kb = app.knowledge
    result: Status = acc.audited_read(
        app.unit_of_work, actor, code, "read-patient", lambda uow: body(uow, code, day, kb)
    )
    return result


def open_form(app: App, actor: Actor, code: str, permission: acc.Permission) -> None:
    """A form about patient ``code``: the patient exists, the actor may see it and act (audited)."""
    acc.require(actor, code, permission)
    acc.audited_read(app.unit_of_work, actor, code, f"open-{permission}-form", lambda uow: None)


def lab_chart(app: App, actor: Actor, code: str) -> bytes:
    """The patient's results over time with the injection dates, as SVG (the read is audited)."""
    import tempfile
    from pathlib import Path

    from b12.adapters.plot import plot_trends

    status = patient_view(app, actor, code)
    with tempfile.TemporaryDirectory(prefix="b12-chart-") as folder:
        path = Path(folder) / "chart.svg"
        plot_trends(str(path), status)
        return path.read_bytes()


# --- giving ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiveForm:
    """A give as typed: every field optional; the prescription supplies the rest."""

    dose: str | None = None
    site: str | None = None
    lot: str | None = None
    expiry: date | None = None
    scan: str | None = None  # a GS1 element string from a scanner
    override_code: str | None = None
    override_text: str | None = None


@dataclass(frozen=True)
class GiveOutcome:
    given: Given
    lot: str | None
    expiry: date | None
    gtin: str | None
    scanned: bool
    preview: bool

    @property
    def stops(self) -> tuple[Finding, ...]:
        return self.given.stops

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.given.to_dict(),
            "preview": self.preview,
            "scan": {"scanned": self.scanned, "gtin": self.gtin, "lot": self.lot,
                     "expiry": None if self.expiry is None else self.expiry.isoformat()},
        }  # fmt: skip


def _give_request(app: App, code: str, form: GiveForm) -> tuple[GiveRequest, str | None, bool]:
    from b12.adapters.web.scan import read_scan

    lot, expiry, gtin, scanned = form.lot or None, form.expiry, None, False
    if form.scan and form.scan.strip():
        pack = read_scan(form.scan)
        gtin, scanned = pack.gtin, True
        if lot and pack.lot and lot.strip() != pack.lot:
            raise InputError(
                f"the typed lot {lot!r} is not the scanned lot {pack.lot!r}: check the pack",
                field="lot",
            )
        if expiry and pack.expiry and expiry != pack.expiry:
            raise InputError(
                f"the typed expiry {expiry.isoformat()} is not the scanned expiry "
                f"{pack.expiry.isoformat()}: check the pack",
                field="expiry",
            )
        lot, expiry = lot or pack.lot, expiry or pack.expiry
    dose = None
    if form.dose and form.dose.strip():
        with about("dose"):
            dose = parse_dose(form.dose)
    site = form.site.strip() if form.site and form.site.strip() else None
    if site is not None:
        site = read_site(app.knowledge, site)
    at = app.clock.now().replace(microsecond=0)
    reason = override_reason(form.override_code, form.override_text)
    request = GiveRequest(
        code.strip(), at, dose, None, None, site, lot and lot.strip(), expiry, reason, scanned
    )
    return request, gtin, scanned


def give_dose(app: App, actor: Actor, code: str, form: GiveForm, *, preview: bool) -> GiveOutcome:
    """The five rights, the volume, the site and the needle; recorded unless ``preview``.

    A stop is lifted by a reason only for a role that may bypass one: for any other role the use
    case refuses the give when it finds a stop, under the patient's lock in the transaction that
    would record it (NotLiftedError, answered as forbidden)."""
    # the dose is recorded now (the form has no time): the same staff-only rules as /fhir/r4
    acc.require_may_give(
        actor, code, override=bool(form.override_code or form.override_text), at=None,
        now=app.clock.now(),
    )  # fmt: skip
    request, gtin, scanned = _give_request(app, code, form)
    request = replace(request, at_home=not actor.staff)
    kb, who, role = app.knowledge, actor.username, actor.role
    if preview:
        tried: Given = previews.preview(
            app.unit_of_work, give, kb, request, who, app.clock, role=role
        )
        return GiveOutcome(tried, request.lot, request.expiry, gtin, scanned, True)
    try:
        lifts = actor.may("bypass")
        done = give(app.unit_of_work, kb, request, who, app.clock, may_lift_stop=lifts, role=role)
    except NotLiftedError:
        raise acc.ForbiddenError(actor.role, "bypass a stop; a prescriber must") from None
    return GiveOutcome(done, request.lot, request.expiry, gtin, scanned, False)


def not_given(app: App, actor: Actor, code: str, kind: str, reason: str) -> Missed:
    """Missed, refused or held, and why (each its own kind of not given)."""
    acc.require(actor, code, "missed")
    kinds = MISS_KINDS if actor.staff else HOME_MISS_KINDS
    if kind not in kinds:
        raise InputError(f"kind {kind!r}: write one of {', '.join(kinds)}", field="kind")
    now = app.clock.now().replace(microsecond=0)
    return record_missed(
        app.unit_of_work, code.strip(), reason.strip(), now.date(), actor.username, now,
        refused=kind == "refused", held=kind == "held", at_home=not actor.staff, role=actor.role,
    )  # fmt: skip


def stop(app: App, actor: Actor, code: str, reason: str) -> Any:
    """Stop the active prescription (a new row replaces it; the old one is kept)."""
    from b12.services.record import stop_prescription

    acc.require(actor, code, "stop")
    now = app.clock.now().replace(microsecond=0)
    return stop_prescription(app.unit_of_work, code.strip(), reason, actor.username, now)


def event(
    app: App, actor: Actor, code: str, on: date, description: str, severity: str,
    neurological: bool,
) -> Any:  # fmt: skip
    """Something that happened to the patient (linked to that day's injection, if any)."""
    from b12.services.record import add_event

    acc.require(actor, code, "events")
    if on > today(app):
        raise InputError(
            f"on {on.isoformat()} is in the future: write the day it happened", field="on"
        )
    now = app.clock.now().replace(microsecond=0)
    return add_event(
        app.unit_of_work, code.strip(), on, description, severity, actor.username, now,
        neurological=neurological, role=actor.role,
    )  # fmt: skip


# --- labs -----------------------------------------------------------------------------------------


def reading(app: App, text: str) -> Measurement:
    """'hb=11.2 g/dL' -> the measurement (the analyte's unit as the knowledge declares it)."""
    kb = app.knowledge
    with about("readings"):
        written = parse_reading(text)
        test = kb.lookup("analytes", written.name, "laboratory test")
        if is_panel(test):
            raise LabInputError(
                text, f"{test.name} is a panel, not one value",
                "write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
            )  # fmt: skip
        unit = find_unit(test, written.unit, text)
    return Measurement(test.id, written.value, unit.unit, not written.unit, written.name, text)


def labs(app: App, actor: Actor, code: str, readings: Sequence[str], taken_on: date) -> LabsAdded:
    acc.require(actor, code, "labs")
    texts = [r for r in (x.strip() for x in readings) if r]
    if not texts:
        raise no_reading()
    if taken_on > today(app):
        raise InputError(
            f"taken on {taken_on.isoformat()} is in the future: write the day the sample was taken",
            field="taken_on",
        )
    read = [reading(app, t) for t in texts]
    now = app.clock.now().replace(microsecond=0)
    return add_labs(
        app.unit_of_work, app.knowledge, code.strip(), read, taken_on, actor.username, now
    )


# --- prescribing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrescribeForm:
    indication: str
    start: date
    product: str | None = None
    months: int = 12
    neuro: bool = False
    override_code: str | None = None
    override_text: str | None = None
    self_injection: bool = False  # the doses are given at home


def _plan_request(app: App, form: PrescribeForm) -> Any:
    from b12.services.planning import PlanRequest

    kb = app.knowledge
    with about("indication"):
        indication = kb.lookup("indications", form.indication, "indication").id
    product = None
    if form.product and form.product.strip():
        with about("product"):
            product = kb.lookup("products", form.product, "product").id
    if not 1 <= form.months <= 120:
        raise InputError("plan for 1 to 120 months", field="months")
    return PlanRequest(form.start, indication=indication, product=product, months=form.months,
                       neuro=form.neuro)  # fmt: skip


def prescribe_plan(
    app: App, actor: Actor, code: str, form: PrescribeForm, *, preview: bool
) -> Prescribed:
    """The plan with its findings (``preview``: nothing kept), or signed: kept, with the reason
    that carried it past a stop or a warning."""
    acc.require(actor, code, "prescribe")
    request = _plan_request(app, form)
    reason = override_reason(form.override_code, form.override_text)
    now = app.clock.now().replace(microsecond=0)
    if preview:
        shown: Prescribed = previews.preview(
            app.unit_of_work, prescribe, app.knowledge, code.strip(), request, actor.username,
            now, override=reason, self_injection=form.self_injection,
        )  # fmt: skip
        return shown
    return prescribe(
        app.unit_of_work, app.knowledge, code.strip(), request, actor.username, now,
        override=reason, self_injection=form.self_injection,
    )  # fmt: skip


# --- review -------------------------------------------------------------------------------------


def override_rates(app: App, actor: Actor) -> list[Any]:
    from b12.services.overrides import override_rates as rates

    acc.require_role(actor, "review")
    return rates(app.unit_of_work, actor.username)


def visible_patients(app: App, actor: Actor) -> list[str]:
    """The patient codes the actor may open (staff: all)."""
    from b12.services.record import list_patients

    if not actor.staff:
        return [link.patient_code for link in actor.links]
    codes: list[str] = []
    after: str | None = None
    while True:  # a page at a time, by code
        page = list_patients(app.unit_of_work, after, 10_000)
        codes += [p.code for p in page.patients]
        if page.after is None:
            return codes
        after = page.after


def given_history(uow: UnitOfWork, patient_id: str) -> list[Any]:
    return current(uow.administrations.for_patient(patient_id))


def course_summary(app: App, actor: Actor, code: str) -> Any:
    """The course on one page for anyone who may read the patient (the read is audited)."""
    from b12.services.summary import summarise

    body = _unwrapped(patient_status)
    now = app.clock.now().replace(microsecond=0)
    kb = app.knowledge
    return acc.audited_read(
        app.unit_of_work, actor, code, "read-summary",
        lambda uow: summarise(kb, body(uow, code, now.date(), kb), now),
    )  # fmt: skip


def store_chart(app: App, actor: Actor, code: str) -> bytes:
    """The body-store estimate over time, as SVG (the read is audited)."""
    import tempfile
    from pathlib import Path

    from b12.adapters.plot import plot_store

    found = course_summary(app, actor, code)
    with tempfile.TemporaryDirectory(prefix="b12-store-") as folder:
        path = Path(folder) / "store.svg"
        plot_store(str(path), found.store, code)
        return path.read_bytes()


def store_estimate(app: App, status: Status) -> Any:
    """The body-store estimate of a status already read (shown to staff beside the results)."""
    from b12.services.body_store import body_store

    return body_store(app.knowledge, status, app.clock.now().replace(microsecond=0))


# --- corrections ----------------------------------------------------------------------------------

#: What a correction form offers for each kind of record (a result is re-read from its reading).
CORRECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "administration": ("given_at", "dose_mcg", "volume_ml", "site", "lot", "expiry"),
    "lab": ("reading", "taken_on"),
}


@dataclass(frozen=True)
class PatientPage:
    status: Status
    amendments: list[Any]  # services.corrections.Amendment: what was corrected or voided


def patient_page(app: App, actor: Actor, code: str) -> PatientPage:
    """The patient's status and every corrected or voided record, in one audited read."""
    from b12.services.corrections import amendments

    body = _unwrapped(patient_status)
    day, kb = today(app), app.knowledge

    def read(uow: UnitOfWork) -> PatientPage:
        status: Status = body(uow, code, day, kb)
        return PatientPage(status, amendments(uow, status.patient.id))

    result: PatientPage = acc.audited_read(app.unit_of_work, actor, code, "read-patient", read)
    return result


def record_to_correct(app: App, actor: Actor, code: str, record_id: str) -> tuple[str, Any]:
    """The current administration or result ``record_id`` of patient ``code`` and its kind, for
    an actor who may correct (the read is audited)."""
    from b12.services.corrections import find_current

    acc.require(actor, code, "correct")
    found: tuple[str, Any] = acc.audited_read(
        app.unit_of_work, actor, code, "open-correct-form",
        lambda uow: find_current(uow, code, record_id),
    )  # fmt: skip
    return found


def correct_record(
    app: App, actor: Actor, code: str, record_id: str, fields: dict[str, str | None], reason: str
) -> Any:
    """A correction of what was typed: the fields given that differ from the record are changed;
    the original stays, struck through, with the reason, who and when."""
    from b12.services.corrections import correct

    kind, old = record_to_correct(app, actor, code, record_id)
    changes = _changes(app, code, kind, old, fields)
    now = app.clock.now().replace(microsecond=0)
    return correct(
        app.unit_of_work, code.strip(), kind, record_id, changes, reason, actor.username, now,
        kb=app.knowledge,
    )  # fmt: skip


def void_record(app: App, actor: Actor, code: str, record_id: str, reason: str) -> Any:
    """Mark a record entered in error, with the reason: it no longer counts; it stays visible."""
    from b12.services.corrections import void

    kind, _old = record_to_correct(app, actor, code, record_id)
    now = app.clock.now().replace(microsecond=0)
    return void(app.unit_of_work, code.strip(), kind, record_id, reason, actor.username, now)


def _changes(
    app: App, code: str, kind: str, old: Any, fields: dict[str, str | None]
) -> dict[str, Any]:
    from b12.domain.dates import on_wall_clock
    from b12.domain.display import format_instant
    from b12.services.corrections import lab_changes, parse_change

    given = {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}
    offered = CORRECTION_FIELDS[kind]
    if unknown := sorted(set(given) - set(offered)):
        raise InputError(
            f"a {kind} correction may set {', '.join(offered)}; not {', '.join(unknown)}",
            field=unknown[0],
        )
    zone = app.settings.zone
    changes: dict[str, Any] = {}
    for name, text in given.items():
        if name == "reading":
            continue
        with about(name):
            value = parse_change(name, text)
            if name == "site":
                value = read_site(app.knowledge, text)
        if isinstance(value, datetime):
            if value.tzinfo is None:  # the clinic's wall clock, as the form shows it
                value = on_wall_clock(value, zone, name) if zone else value.astimezone()
            if format_instant(value, zone) == format_instant(getattr(old, name), zone):
                continue
        elif value == getattr(old, name):
            continue
        changes[name] = value
    reading_text = given.get("reading")
    if reading_text is not None and reading_text != old.text:
        taken_on = changes.get("taken_on", old.taken_on)
        measured = reading(app, reading_text)
        read = lab_changes(app.knowledge, app.unit_of_work, code, measured, taken_on)
        changes.update(read)
    return changes


# --- the patient's side ---------------------------------------------------------------------------


def home_view(app: App, actor: Actor, code: str) -> Any:
    """The course as the patient or their carer sees it (the read is audited)."""
    from b12.services.home import at_home

    day, kb = today(app), app.knowledge
    return acc.audited_read(
        app.unit_of_work, actor, code, "read-patient", lambda uow: at_home(uow, kb, code, day)
    )


def carers(app: App, actor: Actor, code: str) -> list[acc.Carer]:
    """The accounts linked to the patient (the prescriber's or the patient's own page)."""
    open_form(app, actor, code, "link")
    return acc.carers_of(app.accounts, code)


def link(app: App, actor: Actor, code: str, username: str, injects: bool) -> None:
    """Link a carer's (or the patient's) account; only a prescriber says a carer injects."""
    acc.require(actor, code, "link")
    if injects and not actor.may("prescribe"):
        raise acc.ForbiddenError(actor.role, "say who injects; the prescriber does")
    acc.link_patient(
        app.accounts, username, code, actor.username, app.clock, injects=injects,
        precise=actor.staff,
    )  # fmt: skip


def unlink(app: App, actor: Actor, code: str, username: str) -> None:
    acc.require(actor, code, "link")
    if actor.role == "patient" and username.strip() == actor.username:
        raise InputError("your own account stays linked to you; unlink a carer", field="username")
    acc.unlink_patient(app.accounts, username, code, actor.username, app.clock, precise=actor.staff)


#: How far back the prescriber's list of reactions reaches.
REACTION_DAYS = 90


def reactions(app: App, actor: Actor) -> list[Any]:
    """Reactions reported in the last REACTION_DAYS days (staff; one audit entry naming them)."""
    from datetime import timedelta

    from b12.services.home import reactions_since

    acc.require_role(actor, "read")
    if not actor.staff:
        raise acc.ForbiddenError(actor.role, "see other patients' reports")
    since = today(app) - timedelta(days=REACTION_DAYS)
    found: list[Any] = acc.audited_list(
        app.unit_of_work, actor, "read-reactions",
        lambda uow: reactions_since(uow, since), lambda rows: [r.patient for r in rows],
    )  # fmt: skip
    return found


# --- supply at home and calendar feeds ------------------------------------------------------------


@dataclass(frozen=True)
class SupplyView:
    supply: Any  # services.home_supply.HomeSupply
    feeds: list[Any]  # the live CalendarFeeds, oldest first


def supply_view(app: App, actor: Actor, code: str) -> SupplyView:
    """The supply at home and the live calendar feeds, read in one audited read."""
    from b12.services.home_supply import home_supply
    from b12.services.reminders import live_feeds

    day, kb, lead = today(app), app.knowledge, app.settings.lead_days
    read_supply, read_feeds = _unwrapped(home_supply), _unwrapped(live_feeds)

    def both(uow: UnitOfWork) -> SupplyView:
        return SupplyView(read_supply(uow, kb, code, day, lead), read_feeds(uow, code))

    result: SupplyView = acc.audited_read(app.unit_of_work, actor, code, "read-supply", both)
    return result


def calendar_feeds(app: App, actor: Actor, code: str) -> list[Any]:
    """The patient's live calendar feeds, for an actor who may make and revoke them (audited)."""
    from b12.services.reminders import live_feeds

    acc.require(actor, code, "calendar")
    body = _unwrapped(live_feeds)
    found: list[Any] = acc.audited_read(
        app.unit_of_work, actor, code, "read-calendar-feeds", lambda uow: body(uow, code)
    )
    return found


def dispense(
    app: App, actor: Actor, code: str, product: str, count: int, lot: str, expiry: date
) -> Any:
    """Ampoules or vials of one lot handed over for use at home (nurse, pharmacist)."""
    from b12.services.home_supply import dispense as dispensed

    acc.require(actor, code, "dispense")
    return dispensed(
        app.unit_of_work, app.knowledge, code.strip(), product, count, lot, expiry,
        actor.username, app.clock.now(),
    )  # fmt: skip


def waste(
    app: App, actor: Actor, code: str, lot: str, count: int, volume: str | None, reason: str
) -> Any:
    """Ampoules, vials or a volume of a dispensed lot thrown away today, and why."""
    from b12.services.home_supply import record_waste

    acc.require(actor, code, "waste")
    now = app.clock.now()
    return record_waste(
        app.unit_of_work, app.knowledge, code.strip(), lot, count, volume or None, reason,
        now.date(), actor.username, now,
    )  # fmt: skip


def make_feed(app: App, actor: Actor, code: str) -> Any:
    """A new private calendar feed of the course; its token is in the answer only."""
    from b12.services.reminders import make_feed as made

    acc.require(actor, code, "calendar")
    return made(app.unit_of_work, code.strip(), actor.username, app.clock.now())


def revoke_feed(app: App, actor: Actor, code: str, feed_id: str) -> Any:
    """Revoke a live feed of the patient: its address answers 404 from now on."""
    from b12.services.reminders import revoke_feed as revoked

    acc.require(actor, code, "calendar")
    return revoked(app.unit_of_work, code.strip(), feed_id, actor.username, app.clock.now())
