"""The patient's own view of the course: what the prescription plans next, and where and how to
inject it. It shows the record and the prescriber's plan only: the dose, the volume, the route and
the dates are the prescription's; the site is the rotation rule's (least recently used among the
sites that take the planned volume at the patient's age); the needle is technique.py's.

    at_home(uow, kb, code, on) -> Home      one read of the patient's record
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from b12.domain.course import CourseDose
from b12.domain.findings import Level
from b12.domain.patient import ADULT_MONTHS
from b12.domain.records import Administration, AdverseEvent, Prescription, current
from b12.knowledge.base import Knowledge
from b12.services.dose_checks import site_limit
from b12.services.follow_up import Status, patient_status
from b12.services.ports import UnitOfWork
from b12.services.site_rotation import SIDES, choose_site
from b12.services.technique import NeedleAdvice, needle_for

#: How many doses after the next one the view lists.
FOLLOWING = 6


@dataclass(frozen=True)
class SiteUse:
    """One side of one site: its volume limit at the patient's age, when it was last used."""

    site: str  # "left deltoid"
    site_id: str
    side: str
    limit_ml: Decimal | None  # None: the sources give no limit at this age
    takes_dose: bool  # takes the next dose's volume by the planned route
    last_used: date | None


@dataclass(frozen=True)
class Home:
    status: Status
    next_dose: CourseDose | None
    following: tuple[CourseDose, ...]
    site: str | None  # where the next dose goes: least recently used among those that take it
    sites: tuple[SiteUse, ...]
    needle: NeedleAdvice | None
    at_home: bool  # the prescription says the doses are given at home
    stopped: bool  # a reaction after an injection stops the next dose until the prescriber acts
    moved: bool = False  # the next dose is late: ``following`` is dated as if it is given today

    @property
    def given(self) -> tuple[CourseDose, ...]:
        return tuple(c for c in self.status.course if c.given is not None)


def at_home(uow: UnitOfWork, kb: Knowledge, code: str, on: date) -> Home:
    """The course on ``on`` as the patient (or their carer) sees it."""
    status = _status(uow, code, on, kb)
    owed = [c for c in status.course if c.state != "given"]
    nxt = owed[0] if owed else None
    history = sorted(
        current(uow.administrations.for_patient(status.patient.id)), key=lambda a: a.given_at
    )
    recent = [a.site for a in history if a.site]
    last_used = {a.site: a.given_at.date() for a in history if a.site}
    from b12.services.record import patient_on

    patient = patient_on(status.patient, on)
    age = patient.age_months if patient.age_months is not None else ADULT_MONTHS
    route = None if nxt is None else nxt.planned.route
    volume = None if nxt is None else nxt.planned.volume_ml
    sites = []
    for site in kb.all("sites").values():
        if site.avoid:
            continue
        limit = site_limit(kb, site, age)
        takes = (
            route is not None
            and volume is not None
            and route in site.routes
            and limit is not None
            and volume <= limit[0]
        )
        for side in SIDES:
            name = f"{side} {site.id}"
            sites.append(
                SiteUse(name, str(site.id), side, None if limit is None else limit[0], takes,
                        last_used.get(name))
            )  # fmt: skip
    suggested = None
    if route is not None and volume is not None:
        suggested = choose_site(kb, route, volume, patient, recent)
    rx = status.prescription
    following, moved = tuple(owed[1 : 1 + FOLLOWING]), False
    if rx is not None and nxt is not None and nxt.due < on:
        following, moved = _if_given_on(uow, rx, nxt, on), True
    return Home(
        status,
        nxt,
        following,
        suggested,
        tuple(sites),
        None if route is None else needle_for(kb, route, patient),
        rx is not None and rx.self_injection,
        any(f.code == "RECORD_REACTION_STOP" and f.level is Level.STOP for f in status.findings),
        moved,
    )


def _if_given_on(
    uow: UnitOfWork, rx: Prescription, owed: CourseDose, on: date
) -> tuple[CourseDose, ...]:
    """The doses after a late one, as the course re-flows (domain/course.py) when it is given on
    ``on``: the prescription's gaps kept, nothing recorded."""
    from b12.services.record import course_among, replaced_by

    given = current(uow.administrations.for_patient(rx.patient_id))
    if_given = Administration(
        "if-given", rx.patient_id, rx.id, datetime.combine(on, time(12), tzinfo=UTC),
        owed.planned.dose_mcg, owed.planned.volume_ml, rx.product, None, None,
        owed.planned.route, None, "", owed.planned.number,
    )  # fmt: skip
    course = course_among(
        rx, replaced_by(uow, rx), [*given, if_given], current(uow.missed.for_patient(rx.patient_id))
    )
    after = [c for c in course if c.state != "given"]
    return tuple(after[:FOLLOWING])


def _status(uow: UnitOfWork, code: str, on: date, kb: Knowledge) -> Status:
    import inspect

    body = inspect.unwrap(patient_status)
    status: Status = body(uow, code, on, kb)
    return status


@dataclass(frozen=True)
class Reported:
    """A reaction (an adverse event) as the prescriber's list shows it."""

    patient: str  # the patient's code
    event: AdverseEvent
    stops_next_dose: bool  # an open reaction stop (domain/reactions.py)


def reactions_since(uow: UnitOfWork, since: date) -> list[Reported]:
    """Every adverse event on or after ``since``, newest first, whoever recorded it (the patient,
    a carer or staff): one read of each table."""
    from b12.domain.reactions import open_reactions
    from b12.services.record import by_patient

    every_row = uow.patients.all()
    code_of = {p.id: p.code for p in every_row}
    events = by_patient(uow.events.every(), code_of)
    given = by_patient(uow.administrations.every(), code_of)
    out = []
    for record in current(every_row):
        mine = current(events.get(record.code, []))
        if not mine:
            continue
        stopping = {e.id for e, _why in open_reactions(mine, current(given.get(record.code, [])))}
        out += [Reported(record.code, e, e.id in stopping) for e in mine if e.on >= since]
    return sorted(out, key=lambda r: (r.event.on, r.event.recorded_at), reverse=True)
