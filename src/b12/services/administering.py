"""Giving a dose (the five rights, the volume, the site) and recording a missed one.

Finding codes raised here (level):
  RECORD_NO_PRESCRIPTION (stop)    right patient: no active prescription for this patient
  RECORD_COURSE_COMPLETE (warning) every prescribed dose has been given
  RECORD_DOSE_DIFFERS (stop)       right dose: not the prescribed dose
  RECORD_WRONG_PRODUCT (stop)      right drug: another cobalamin than the prescription's
  RECORD_PRODUCT_SUBSTITUTED (warning) right drug: another product or strength of the same cobalamin
  RECORD_ROUTE_DIFFERS (warning)   right route: not the prescribed route
  RECORD_ALREADY_GIVEN_TODAY (stop) right time: a dose was already given that day (never doubled)
  RECORD_DOSE_HOURS_APART (stop)  right time: another dose given less than half the shortest gap
                                   any regimen keeps (12 h) before or after, across midnight too
  RECORD_TOO_EARLY (warning)       right time: sooner than the prescribed gap (in days, or in hours
                                   less the audit's tolerance), or before it is due
  RECORD_LATE (warning)            right time: after the due date; later doses re-flow
  RECORD_SITE_SUGGESTED (info)     the site to use: rotated away from recent sites, within limits
  RECORD_SITE_NOT_ROTATED (warning) the same site as the last injection
  RECORD_NOT_RECORDED (stop)       a stop was raised: nothing recorded without an override reason
  RECORD_REACTION_STOP (stop)      a hypersensitivity or severe reaction after an injection
                                   (domain/reactions.py); lifted by a dose given with an override reason
  RECORD_MISSED_REVIEW (warning)   a missed dose: never doubled, re-flowed, prescriber to review
  DOSE_*, VOLUME_*, SITE_*, PRODUCT_EXPIRED (stop) ... from the dosing service
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from b12.domain.course import CourseDose, next_owed
from b12.domain.dates import on_wall_clock
from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.dose_input import ParsedDose, parse_concentration
from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.jsonable import to_json
from b12.domain.quantity import Concentration, Mass
from b12.domain.reactions import open_reactions, reaction_stop
from b12.domain.reasons import meaningful_reason
from b12.domain.records import Administration, MissedDose, MissKind, current, voids
from b12.domain.screening import NO_BYPASS
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.services.audit_thresholds import interval_tolerance_hours, shortest_gap_any_regimen
from b12.services.dosing import DoseRequest, DoseResult, calculate_dose, cobalamin_strength
from b12.services.ports import Clock, UnitOfWork, opens_unit_of_work
from b12.services.record import (
    acted,
    active_prescription,
    audit,
    course_of,
    find_patient,
    new_id,
    patient_on,
)
from b12.services.site_rotation import choose_site, read_site
from b12.services.technique import NeedleAdvice, needle_for

ROTATION_SOURCES = ("nursing-references",)
MISSED_SOURCES = ("seed-003",)
#: How far ahead of the clock a dose may be recorded (clocks of two machines differ a little).
CLOCK_SKEW = timedelta(minutes=5)
OVERRIDE_EXAMPLE = "prescriber reviewed the reaction: give with adrenaline at hand"


class GiveTimeError(InputError):
    """A time of giving that cannot be true: in the future, or before the prescription starts."""


class NotAtHomeError(InputError):
    """A dose recorded at home (by the patient or a carer) under a prescription that does not
    say self-injection: only the prescriber can say the doses are given at home."""

    def __init__(self) -> None:
        super().__init__(
            "your prescription does not say that you inject at home, so a dose cannot be "
            "recorded here: ask your prescriber (the doctor or nurse who prescribed it)",
            field="self_injection",
        )


class NotActivePrescriptionError(InputError):
    """The dose names a prescription that is not the patient's active one."""

    def __init__(self, code: str, named: str, active: str | None) -> None:
        self.code, self.named, self.active = code, named, active
        super().__init__(
            f"prescription {named} is not patient {code!r}'s active prescription"
            + ("" if active is None else f" ({active})"),
            field="prescription",
        )


class NotOwedNextError(InputError):
    """The dose names a planned dose that is not the one the course owes next."""

    def __init__(self, named: int, owed: int | None) -> None:
        self.named, self.owed = named, owed
        super().__init__(
            f"planned dose {named} is not the dose owed next"
            + ("" if owed is None else f" ({owed})"),
            field="planned_number",
        )


@dataclass(frozen=True)
class GiveRequest:
    """A dose to record, read: the dose as a mass, the product and route as ids."""

    patient: str
    at: datetime
    dose: ParsedDose | None = None  # default: the prescribed dose
    product: str | None = None  # a product id; default: the prescribed product
    route: str | None = None  # a route id; default: the prescribed route
    site: str | None = None  # default: the suggested site
    lot: str | None = None
    expiry: date | None = None
    override: str | None = None  # the reason a stop is overridden
    scanned: bool | None = None  # the pack's barcode was read (None: not told)
    # recorded by the patient or a carer: only under a prescription that says self-injection
    at_home: bool = False
    # the medicine given, named without a product (a record sent from elsewhere): its cobalamin
    # and strength, checked against the prescription's as a product would be
    substance: str | None = None
    concentration: Concentration | None = None
    volume_ml: Decimal | None = None  # the volume given, as recorded elsewhere: checked, kept


@dataclass(frozen=True)
class Given:
    recorded: Administration | None
    planned: CourseDose | None
    dose: DoseResult | None
    site: str | None
    findings: tuple[Finding, ...]
    needle: NeedleAdvice | None = None  # the needle and angle (None when nothing is recorded)

    @property
    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.STOP)

    def to_dict(self) -> dict[str, Any]:
        p = self.planned
        return {
            "recorded": self.recorded is not None,
            "administration": None if self.recorded is None else to_json(vars(self.recorded)),
            "planned": None
            if p is None
            else {"number": p.planned.number, "due": p.due.isoformat(), **to_json(vars(p.planned))},
            "dose": None if self.dose is None else self.dose.to_dict(),
            "site": self.site,
            "technique": None if self.needle is None else self.needle.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }


@opens_unit_of_work
def give(
    uow: UnitOfWork,
    kb: Knowledge,
    request: GiveRequest,
    who: str,
    clock: Clock,
    *,
    may_lift_stop: bool = True,
    role: str | None = None,
    prescription: str | None = None,
    planned_number: int | None = None,
) -> Given:
    """Check the five rights against the active prescription, then record (unless a stop).

    A dose more than CLOCK_SKEW after the clock's time is refused; a time without a zone is the
    clinic's wall-clock time (the clock's zone), as records keep it. With ``may_lift_stop`` False
    (a role that may not bypass a stop) the override reason carries the dose past warnings only:
    a stop found under the patient's lock, in this same transaction, refuses it (NotLiftedError),
    so no stop recorded between a check and the give is ever lifted by that reason. ``role``: the
    recorder's, kept in the audit with the patient they acted for. ``prescription`` and
    ``planned_number``, when a record sent from elsewhere names them, must be the active
    prescription and the dose it owes next, checked under the same lock (b12 records a dose
    against its own course, never another)."""
    override = None
    if request.override is not None:
        override = meaningful_reason(
            request.override, "override_reason", "the override", OVERRIDE_EXAMPLE
        )
    now = clock.now()
    if now.tzinfo is None:  # a clock without a zone tells the machine's wall clock
        now = now.astimezone()
    if request.at.tzinfo is None:  # the clinic's wall clock
        assert now.tzinfo is not None
        request = replace(request, at=on_wall_clock(request.at, now.tzinfo))
    request = replace(request, at=request.at.astimezone(now.tzinfo))  # the clinic's day
    if request.at > now + CLOCK_SKEW:
        raise GiveTimeError(
            f"the time given, {request.at.isoformat()}, is in the future "
            f"(now {now.replace(microsecond=0).isoformat()}, "
            f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock difference allowed): "
            "record a dose after it is given, with the time it was given",
            field="at",
        )
    # One dose once: the "already given" check and the insert happen under the patient's lock.
    uow.patients.lock(request.patient.strip())
    record = find_patient(uow, request.patient)
    day = request.at.date()
    patient = patient_on(record, day)
    rx = active_prescription(uow, record.id)
    if prescription is not None and (rx is None or rx.id != prescription):
        raise NotActivePrescriptionError(
            request.patient, prescription, None if rx is None else rx.id
        )
    if planned_number is not None and rx is not None:
        expected = next_owed(course_of(uow, rx))
        if expected is None or expected.planned.number != planned_number:
            raise NotOwedNextError(
                planned_number, None if expected is None else expected.planned.number
            )
    if request.at_home and (rx is None or not rx.self_injection):
        raise NotAtHomeError()
    if rx is not None and day < rx.start:
        raise GiveTimeError(
            f"the time given, {request.at.isoformat()}, is before the prescription starts "
            f"({rx.start.isoformat()}): write the time the dose was given, on or after the start",
            field="at",
        )
    findings: list[Finding] = []
    owed: CourseDose | None = None
    if rx is None:
        findings.append(_no_prescription(request.patient))
        if request.dose is None:
            raise InputError(
                "no active prescription: give the dose (and the product) explicitly",
                field="dose",
                alternatives=("product",),
            )
    else:
        owed = next_owed(course_of(uow, rx))
        if owed is None:
            findings.append(_complete())
    history = current(uow.administrations.for_patient(record.id))
    events = current(uow.events.for_patient(record.id))
    findings += [reaction_stop(e, why) for e, why in open_reactions(events, history)]
    prescribed_product = None if rx is None else rx.product
    # a strength named without a product is another product unless it is the prescribed strength
    same_cobalamin = request.substance is None or request.substance in _prescribed_cobalamins(
        kb, rx
    )
    named = request.concentration if request.product is None else None
    if named is not None and same_cobalamin and named == _prescribed_strength(kb, rx):
        named = None
    # nothing named but the prescription's cobalamin (or nothing at all): the prescribed medicine
    as_prescribed = request.product is None and named is None and same_cobalamin
    product = request.product or (prescribed_product if as_prescribed else None)
    # the prescription keeps its strength as b12 showed it ('1,000 mcg/mL')
    kept = None if rx is None or product or not as_prescribed else rx.concentration
    concentration = named if kept is None else parse_concentration(kept)
    # a prescription's strength without a product still names its cobalamin (the regimen's)
    substance = None if product else (request.substance or (None if rx is None else rx.substance))
    if rx is not None and product is None and concentration is None and not as_prescribed:
        # another cobalamin than the prescription's, without a strength to make a volume from
        drug = right_drug(kb, rx, None, request.substance, None, measurable=False)
        if any(f.level is Level.STOP for f in drug):
            ordered = tuple(
                sorted([_not_recorded(), *findings, *drug], key=lambda f: -f.level.rank)
            )
            uow.audit.append(
                who, "give-refused", "Administration", "-", record.id,
                to_json({"request": _request_dict(request),
                         "findings": [f.to_dict() for f in ordered],
                         **acted(who, role, record.code)}),
            )  # fmt: skip
            uow.commit()
            return Given(None, owed, None, None, ordered)
    ordered_dose = request.dose
    if ordered_dose is None:
        if owed is None:  # the course is complete (no prescription was refused above)
            raise InputError(
                "every prescribed dose has been given: give the dose explicitly to record another"
            )
        ordered_dose = ParsedDose.of(Mass(owed.planned.dose_mcg))
    route = request.route or (owed.planned.route if owed else None)
    dose = calculate_dose(
        kb,
        DoseRequest(
            dose=ordered_dose, product=product, concentration=concentration, route=route,
            patient=patient, expiry=request.expiry, today=day, substance=substance,
        ),
    )  # fmt: skip
    if rx is not None:
        findings += right_drug(kb, rx, dose.product, request.substance, named)
    if owed is not None:
        findings += _five_rights(dose, owed)
    findings += _timing(kb, history, owed, request.at)
    volume = dose.measured.rounded_ml if dose.measured else None
    if request.volume_ml is not None:
        volume = _volume_given(request.volume_ml, dose)
    site, site_findings = _site(kb, request.site, dose.route, volume, patient, history)
    findings += site_findings
    findings += [f for f in dose.findings if f.code != "SITE_SUGGESTION"]
    stopped = any(f.level is Level.STOP for f in findings)
    # no reason lifts some stops (a preserved product into the spinal canal)
    unliftable = any(f.level is Level.STOP and f.code in NO_BYPASS for f in findings)
    if stopped and override and not may_lift_stop:
        refused = tuple(sorted(findings, key=lambda f: -f.level.rank))
        uow.audit.append(
            who, "give-refused", "Administration", "-", record.id,
            to_json({"request": _request_dict(request), "findings": [f.to_dict() for f in refused],
                     "refused": "a stop this account may not lift"}),
        )  # fmt: skip
        uow.commit()
        raise NotLiftedError([f.code for f in refused if f.level is Level.STOP])
    if stopped and (unliftable or not override):
        # Nothing that reads as an instruction when nothing is recorded: no site to inject.
        findings = [_not_recorded()] + [f for f in findings if f.code != "RECORD_SITE_SUGGESTED"]
        ordered = tuple(sorted(findings, key=lambda f: -f.level.rank))
        uow.audit.append(
            who, "give-refused", "Administration", "-", record.id,
            to_json({"request": _request_dict(request), "findings": [f.to_dict() for f in ordered],
                     **acted(who, role, record.code)}),
        )  # fmt: skip
        uow.commit()
        return Given(None, owed, dose, None, ordered)
    ordered = tuple(sorted(findings, key=lambda f: -f.level.rank))
    given = Administration(
        new_id(), record.id, None if rx is None else rx.id, request.at, dose.dose_mcg, volume,
        None if dose.product is None else dose.product.id, request.lot, request.expiry,
        dose.route, site, who, None if owed is None else owed.planned.number,
        tuple(to_json(f.to_dict()) for f in ordered), kb.fingerprint, override,
        _voided(uow, record.id, rx, owed), scanned=request.scanned,
    )  # fmt: skip
    uow.administrations.add(given)
    audit(uow, who, "give", given, record.id, **acted(who, role, record.code))
    uow.commit()
    return Given(given, owed, dose, site, ordered, needle_for(kb, dose.route, patient))


class VolumeGivenError(InputError):
    """A volume recorded beside a dose that the dose and the strength given do not make."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="volume")


def _volume_given(sent: Decimal, dose: DoseResult) -> Decimal:
    """The volume a record says was given, kept as given when the dose and the strength make it
    (the volume to draw, or the exact volume before rounding); else refused with both."""
    measured = dose.measured
    if measured is None:
        raise VolumeGivenError(
            f"the volume {format_volume(sent)} cannot be checked: b12 knows no strength of the "
            "medicine given to turn the dose into a volume; name the product or its strength "
            "(b12's product code, an NDC, or e.g. 1000 mcg/mL in the text), or leave the volume out"
        )
    if sent not in (measured.rounded_ml, measured.volume_ml):
        strength = "" if dose.concentration is None else f" at {dose.concentration}"
        raise VolumeGivenError(
            f"the volume {format_volume(sent)} is not the dose: {format_mass(dose.dose_mcg)}"
            f"{strength} is {format_volume(measured.rounded_ml)}; send the volume and the dose "
            "that were given (one of them is wrong)"
        )
    return sent


class NotLiftedError(InputError):
    """An override reason from a role that may lift no stop, given when a stop was found."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        super().__init__(
            f"not recorded: {', '.join(stops)} stops this dose and only a prescriber may lift a "
            "stop with a reason; ask the prescriber",
            field="override_reason",
        )


def _voided(uow: UnitOfWork, patient_id: str, rx: Any, owed: CourseDose | None) -> str | None:
    """The record a dose replaces: the current entered-in-error void of the same planned dose
    (one dose once keeps the first row's key; the dose given after a void corrects the void)."""
    if rx is None or owed is None:
        return None
    every = uow.administrations.for_patient(patient_id)
    corrected = {a.corrects_id for a in every if a.corrects_id is not None}
    return next(
        (
            a.id
            for a in every
            if voids(a) and a.id not in corrected and a.prescription_id == rx.id
            and a.planned_number == owed.planned.number
        ),
        None,
    )  # fmt: skip


def _request_dict(request: GiveRequest) -> dict[str, Any]:
    """The request as the audit keeps it: the dose as it was written."""
    return {
        **vars(request),
        "dose": None if request.dose is None else request.dose.text,
        "concentration": None if request.concentration is None else str(request.concentration),
    }


def _prescribed_strength(kb: Knowledge, rx: Any) -> Concentration | None:
    """The strength the prescription names: its product's cobalamin per mL, else the strength it
    keeps (None when it names neither)."""
    if rx is None:
        return None
    if rx.product:
        return cobalamin_strength(kb.get("products", rx.product))
    return None if not rx.concentration else parse_concentration(rx.concentration)


def _prescribed_cobalamins(kb: Knowledge, rx: Any) -> set[str]:
    """The cobalamin the prescription names: its product's, else its substance (empty without)."""
    if rx is None:
        return set()
    if rx.product:
        return _cobalamins(kb.get("products", rx.product))
    return {s for s in [rx.substance] if s}


def right_drug(
    kb: Knowledge,
    rx: Any,
    product: Any,
    substance: str | None = None,
    strength: Concentration | None = None,
    *,
    measurable: bool = True,
) -> list[Finding]:
    """Right drug: the medicine given (a product, else a cobalamin and maybe a strength named
    without one) against the prescription's. Another cobalamin is RECORD_WRONG_PRODUCT (stop);
    another product or strength of the same cobalamin is RECORD_PRODUCT_SUBSTITUTED (warning).
    The prescription's product, else its substance, says what was prescribed."""
    ours = kb.get("products", rx.product) if rx.product else None
    prescribed = _prescribed_cobalamins(kb, rx)
    given = _cobalamins(product) if product is not None else {s for s in [substance] if s}
    if not prescribed or not given:
        return []
    said = ours.name if ours is not None else str(rx.substance)
    if product is not None:
        what = product.name
    else:
        what = f"{substance}" + ("" if strength is None else f" {strength}")
    values = {
        "given": product.id if product is not None else what,
        "prescribed": ours.id if ours is not None else said,
    }
    if given != prescribed:
        return [
            finding(
                "RECORD_WRONG_PRODUCT",
                Level.STOP,
                f"{what} is not the prescribed {said}: another cobalamin."
                + (
                    ""
                    if measurable
                    else " Nothing is recorded without its strength: name the product given "
                    "(or its strength) for a prescriber to record it with a reason."
                ),
                (),
                values,
            )
        ]
    another = product is not None and ours is not None and product.id != ours.id
    if another or strength is not None:
        return [
            finding(
                "RECORD_PRODUCT_SUBSTITUTED",
                Level.WARNING,
                f"{what} is not the prescribed {said} (same cobalamin).",
                (),
                values,
            )
        ]
    return []


def _five_rights(dose: DoseResult, owed: CourseDose) -> list[Finding]:
    out: list[Finding] = []
    planned = owed.planned
    if dose.dose_mcg != planned.dose_mcg:
        out.append(
            finding(
                "RECORD_DOSE_DIFFERS",
                Level.STOP,
                f"{format_mass(dose.dose_mcg)} is not the prescribed dose: dose {planned.number} "
                f"is {format_mass(planned.dose_mcg)}.",
                (),
                {"given": format_mass(dose.dose_mcg), "prescribed": format_mass(planned.dose_mcg)},
                suggestion=suggest(
                    f"give the prescribed dose, {format_mass(planned.dose_mcg)}",
                    set="dose",
                    to=format_mass(planned.dose_mcg),
                ),
            )
        )
    if dose.route != planned.route:
        out.append(
            finding(
                "RECORD_ROUTE_DIFFERS",
                Level.WARNING,
                f"Route {dose.route} is not the prescribed {planned.route}.",
                (),
                {"given": dose.route, "prescribed": planned.route},
            )
        )
    return out


def _cobalamins(product: Any) -> set[str]:
    return {i.substance for i in product.ingredients if i.substance.endswith("cobalamin")}


def _timing(
    kb: Knowledge, history: list[Administration], owed: CourseDose | None, at: datetime
) -> list[Finding]:
    """Right time. A dose is never doubled: another dose the same clinic day, or nearer in time
    than half the shortest gap any regimen keeps (12 hours: two doses either side of midnight are
    not a day apart), stops it. Sooner than the prescribed gap warns, counted in days and in hours
    (the gap less the audit's tolerance, as the population audit counts it)."""
    day = at.date()
    out: list[Finding] = []
    that_day = [a for a in history if a.given_at.date() == day]
    if that_day:
        first = min(that_day, key=lambda a: a.given_at)
        at_ = first.given_at.isoformat(timespec="minutes")
        out.append(
            finding(
                "RECORD_ALREADY_GIVEN_TODAY",
                Level.STOP,
                f"A dose was already given on {day.isoformat()}, recorded by {first.given_by} "
                f"at {at_}: a second would double it.",
                MISSED_SOURCES,
                {"date": day.isoformat(), "recorded by": first.given_by, "given at": at_},
            )
        )
        return out
    shortest = shortest_gap_any_regimen(kb)
    near = timedelta(days=float(shortest)) / 2
    close = [a for a in history if abs(at - a.given_at) < near]
    if close:
        nearest = min(close, key=lambda a: abs(at - a.given_at))
        at_ = nearest.given_at.isoformat(timespec="minutes")
        apart = _hours(abs(at - nearest.given_at))
        side = "before" if nearest.given_at < at else "after"
        out.append(
            finding(
                "RECORD_DOSE_HOURS_APART",
                Level.STOP,
                f"A dose was given at {at_}, recorded by {nearest.given_by}, {apart} h {side} "
                f"this one: a second so soon would double it (no regimen keeps doses less than "
                f"{shortest} day(s) apart).",
                MISSED_SOURCES,
                {"given at": at_, "recorded by": nearest.given_by, "hours apart": apart},
            )
        )
        return out
    if owed is None:
        return out
    last = max((a.given_at.date() for a in history), default=None)
    previous = max((a.given_at for a in history if a.given_at <= at), default=None)
    values = {"due": owed.due.isoformat(), "given": day.isoformat()}
    allowed = timedelta(days=owed.min_gap_days) - timedelta(
        hours=float(interval_tolerance_hours(kb))
    )
    if last is not None and (day - last).days < owed.min_gap_days:
        out.append(
            finding(
                "RECORD_TOO_EARLY",
                Level.WARNING,
                f"Only {(day - last).days} day(s) since the last dose; the prescription keeps "
                f"{owed.min_gap_days} day(s) between these doses (due {owed.due.isoformat()}).",
                (),
                {**values, "last dose": last.isoformat()},
            )
        )
    elif previous is not None and at - previous < allowed:
        since = previous.isoformat(timespec="minutes")
        out.append(
            finding(
                "RECORD_TOO_EARLY",
                Level.WARNING,
                f"Only {_hours(at - previous)} h since the last dose ({since}); the prescription "
                f"keeps {owed.min_gap_days} day(s) between these doses "
                f"(due {owed.due.isoformat()}).",
                (),
                {**values, "last dose": since},
            )
        )
    elif day < owed.due:
        out.append(
            finding(
                "RECORD_TOO_EARLY",
                Level.WARNING,
                f"Dose {owed.planned.number} is due on {owed.due.isoformat()}, "
                f"{(owed.due - day).days} day(s) from now.",
                (),
                values,
            )
        )
    elif day > owed.due:
        out.append(
            finding(
                "RECORD_LATE",
                Level.WARNING,
                f"Dose {owed.planned.number} was due on {owed.due.isoformat()}: "
                f"{(day - owed.due).days} day(s) late. The later doses re-flow from today, "
                "keeping the prescribed intervals.",
                (),
                values,
            )
        )
    return out


def _hours(span: timedelta) -> str:
    """A span in hours as b12 shows it: one decimal, no trailing zero ("1.5", "13")."""
    return format_number(Decimal(span.total_seconds()) / 3600, places=1)


def _site(
    kb: Knowledge,
    given: str | None,
    route: str,
    volume: Decimal | None,
    patient: Any,
    history: list[Administration],
) -> tuple[str | None, list[Finding]]:
    recent = [a.site for a in sorted(history, key=lambda a: a.given_at) if a.site]
    if given is not None:
        site = read_site(kb, given)
        if recent and recent[-1] == site:
            return site, [
                finding(
                    "RECORD_SITE_NOT_ROTATED",
                    Level.WARNING,
                    f"The last injection was also given in the {site}: rotate sites.",
                    ROTATION_SOURCES,
                    {"site": site},
                )
            ]
        return site, []
    if volume is None:
        return None, []
    suggested = choose_site(kb, route, volume, patient, recent)
    if suggested is None:
        return None, []
    return suggested, [
        finding(
            "RECORD_SITE_SUGGESTED",
            Level.INFO,
            f"Inject in the {suggested}: it takes the volume at this age and is the site "
            "used least recently.",
            ROTATION_SOURCES,
            {"recent sites": ", ".join(recent[-3:]) or "none"},
        )
    ]


def _no_prescription(code: str) -> Finding:
    return finding(
        "RECORD_NO_PRESCRIPTION",
        Level.STOP,
        f"Patient {code} has no active prescription: check the patient and the order.",
        (),
        {"patient": code},
    )


def _complete() -> Finding:
    return finding(
        "RECORD_COURSE_COMPLETE",
        Level.WARNING,
        "Every dose of the prescription has been given; this one is not planned.",
        (),
    )


def _not_recorded() -> Finding:
    return finding(
        "RECORD_NOT_RECORDED",
        Level.STOP,
        "Not recorded: resolve the stop findings, or record with an override reason. "
        "The attempt and its findings are kept in the audit trail.",
        (),
        suggestion=suggest("record with an override reason", set="override_reason"),
    )


# --- missed doses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missed:
    recorded: MissedDose
    next_due: CourseDose | None
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        n = self.next_due
        return {
            "missed": to_json(vars(self.recorded)),
            "next_due": None
            if n is None
            else {
                "number": n.planned.number,
                "due": n.due.isoformat(),
                "planned": n.planned.date.isoformat(),
            },
            "findings": [f.to_dict() for f in self.findings],
        }


@opens_unit_of_work
def record_missed(
    uow: UnitOfWork,
    code: str,
    reason: str,
    on: date,
    who: str,
    now: datetime,
    *,
    refused: bool = False,
    held: bool = False,
    at_home: bool = False,
    role: str | None = None,
) -> Missed:
    """The next owed dose was missed (or refused, or held): kept owed, never doubled, the course
    re-flows. ``at_home``: told by the patient or a carer (only under a self-injection
    prescription)."""
    reason = meaningful_reason(reason, "reason", "the missed dose", "in hospital")
    uow.patients.lock(code.strip())
    record = find_patient(uow, code)
    rx = active_prescription(uow, record.id)
    if at_home and (rx is None or not rx.self_injection):
        raise NotAtHomeError()
    if rx is None:
        raise InputError(f"patient {code!r} has no active prescription")
    owed = next_owed(course_of(uow, rx))
    if owed is None:
        raise InputError("every dose of the prescription has been given; nothing can be missed")
    if refused and held:
        raise InputError("a dose is refused or held, not both", field="kind")
    kind: MissKind = "refused" if refused else "held" if held else "missed"
    missed = MissedDose(
        new_id(), record.id, rx.id, owed.planned.number, on, kind, reason.strip(), now, who
    )
    uow.missed.add(missed)
    audit(uow, who, "missed", missed, record.id, **acted(who, role, record.code))
    uow.commit()
    after = next_owed(course_of(uow, rx))
    shift = (
        ""
        if after is None
        else f" Dose {after.planned.number} is now due {after.due.isoformat()} (prescribed {after.planned.date.isoformat()})."
    )
    review = finding(
        "RECORD_MISSED_REVIEW",
        Level.WARNING,
        f"Dose {owed.planned.number} ({format_mass(owed.planned.dose_mcg)}, due "
        f"{owed.due.isoformat()}) was {kind}: a missed injection needs the prescriber's review. "
        "Never double the next dose; the rest of the course re-flows keeping the prescribed "
        f"intervals.{shift}",
        MISSED_SOURCES,
        {"reason": reason.strip(), "date": on.isoformat()},
    )
    return Missed(missed, after, (review,))
