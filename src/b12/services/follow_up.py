"""Following a patient: the timeline, what is due or overdue, and the response to treatment.

The response rules are the labs module's (domain/lab_response.py): the reticulocyte rise by day
10 against the baseline (the last result on or before the first dose), remission at the red cell
mark, and the non-response triggers (falling haemoglobin, low potassium, new neurological
symptoms from the adverse events). Day 0 is the first dose given.

Finding codes raised here (level):
  RECORD_OVERDUE (warning)     a planned dose is past its (re-flowed) due date
  RECORD_DUE_TODAY (info)      a dose is due on the status date
  RECORD_NEXT_LABS (info)      the next planned laboratory checks (maintenance rhythm included)
  NO_POTASSIUM_48H, NO_RETICULOCYTES_DAY_10 (audit.yaml's level)  a test the monitoring rules ask
                               for early in an anaemia course, with no result in its window once
                               the window has passed: the population audit's rules, read from the
                               same knowledge (services/audit_thresholds.monitoring_windows)
  RECORD_REACTION_STOP (stop)  a reaction after an injection stops the next dose (domain/reactions.py)
  RECORD_KNOWN_DUPLICATE (info) a row an older b12 recorded twice (kept, marked by revision 0004)
  RETIC_*, REMISSION_*, HB_FALLING, NEURO_NEW_SYMPTOMS (lab_response.py)
  LAB_* (services/labs.py)     every stored result judged again, each with its date and the
                               range used (a low potassium: LAB_HYPOKALAEMIA, never only the latest)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from b12.domain import lab_response as rules
from b12.domain.course import CourseDose
from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.findings import Finding, Level, finding
from b12.domain.lab_values import Measurement, ReferenceRange
from b12.domain.reactions import open_reactions, reaction_stop
from b12.domain.records import (
    Administration,
    AdverseEvent,
    LabResult,
    PatientRecord,
    Prescription,
    current,
    missed_kind,
)
from b12.services.ports import UnitOfWork, opens_unit_of_work
from b12.services.record import (
    active_prescription,
    course_of,
    find_patient,
    patient_on,
    prescription_dict,
    replaced_by,
)

if TYPE_CHECKING:
    from b12.knowledge.base import Knowledge


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    kind: str  # planned, given, missed, lab, event
    says: str
    ref: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.on.isoformat(), "kind": self.kind, "says": self.says, "id": self.ref}


@dataclass(frozen=True)
class Status:
    patient: PatientRecord
    prescription: Prescription | None
    course: tuple[CourseDose, ...]
    labs: tuple[LabResult, ...]
    events: tuple[AdverseEvent, ...]
    timeline: tuple[TimelineEntry, ...]
    on: date
    findings: tuple[Finding, ...]
    replaced: tuple[Prescription, ...] = ()  # the prescriptions the active one replaced
    results: tuple[dict[str, Any], ...] = ()  # every stored result judged, oldest first

    @property
    def injection_dates(self) -> list[date]:
        return [c.given.given_at.date() for c in self.course if c.given is not None]

    def to_dict(self) -> dict[str, Any]:
        owed = [c for c in self.course if c.state != "given"]
        return {
            "patient": self.patient.code,
            "date": self.on.isoformat(),
            "prescription": None
            if self.prescription is None
            else prescription_dict(self.prescription),
            "replaced": [prescription_dict(rx) for rx in self.replaced],
            "given": sum(1 for c in self.course if c.state == "given"),
            "carried_over": sum(1 for c in self.course if c.carried),
            "planned": len(self.course),
            "next_due": None if not owed else owed[0].due.isoformat(),
            "overdue": [c.planned.number for c in owed if c.due < self.on],
            "timeline": [e.to_dict() for e in self.timeline],
            "results": list(self.results),
            "findings": [f.to_dict() for f in self.findings],
        }


@opens_unit_of_work
def patient_status(
    uow: UnitOfWork,
    code: str,
    on: date,
    kb: Knowledge | None = None,
    ranges: Sequence[ReferenceRange] = (),
) -> Status:
    """The record on ``on``; every stored result is judged (with the lab's ``ranges`` if given)."""
    if kb is None:
        from b12.knowledge.loader import load_knowledge

        kb = load_knowledge()
    record = find_patient(uow, code)
    rx = active_prescription(uow, record.id)
    course = course_of(uow, rx) if rx is not None else ()
    labs = tuple(current(uow.labs.for_patient(record.id)))
    events = tuple(current(uow.events.for_patient(record.id)))
    given = current(uow.administrations.for_patient(record.id))
    replaced = tuple(replaced_by(uow, rx)) if rx is not None else ()
    counted = {c.given.id for c in course if c.given is not None}
    before = {old.id for old in replaced}
    earlier = [a for a in given if a.prescription_id in before and a.id not in counted]
    timeline = _timeline(course, labs, events, earlier)
    findings = [reaction_stop(e, why) for e, why in open_reactions(events, given)]
    results, judged = _judge_every_result(kb, record, course, labs, ranges)
    findings += _due(course, on) + judged
    findings += response(course, labs, events, record.profile.get("sex"))
    if rx is not None:
        findings += monitoring_gaps(kb, rx, course, labs, on)
        findings += _next_labs(rx, on)
    findings += [
        finding(
            "RECORD_KNOWN_DUPLICATE",
            Level.INFO,
            f"{table} {row_id} was recorded twice by an older b12: it doubles {first} and is "
            "kept as it was; count it once.",
            (),
            {"table": table, "id": row_id, "duplicate_of": first},
        )
        for table, row_id, first in uow.patients.duplicates(record.code, record.id)
    ]
    return Status(
        record, rx, course, labs, events, timeline, on, tuple(findings), replaced, results
    )


#: Said when the result was added; repeated for every old result they would only be noise.
_SAID_AT_ADD = frozenset(
    {"LAB_UNIT_ASSUMED", "LAB_B12_TIMING", "LAB_BAND_AGE_ASSUMED", "LAB_BAND_CONVERTED"}
)


def _judge_every_result(
    kb: Knowledge,
    record: PatientRecord,
    course: tuple[CourseDose, ...],
    labs: tuple[LabResult, ...],
    ranges: Sequence[ReferenceRange],
) -> tuple[tuple[dict[str, Any], ...], list[Finding]]:
    """Each stored result judged as on the day it was taken, not only the latest of each test."""
    from b12.services.labs import interpret_labs, lab_ranges

    lab_ranges(kb, ranges)  # every range is checked, whether or not a result uses it
    given = [c.given.given_at.date() for c in course if c.given is not None]
    first = min(given) if given else None
    results: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for lab in sorted(labs, key=lambda x: (x.taken_on, x.recorded_at)):
        day = None if first is None or lab.taken_on < first else (lab.taken_on - first).days
        wanted = tuple(r for r in ranges if r.analyte == lab.analyte)
        # From the stored fields, not the text typed, so a correction's value is what is judged.
        report = interpret_labs(
            kb, [_stored(kb, lab)], patient_on(record, lab.taken_on), wanted, treatment_day=day
        )
        (judged,) = report.results
        results.append(
            {
                "id": lab.id,
                "date": lab.taken_on.isoformat(),
                "analyte": lab.analyte,
                "value": judged.value.canonical_value,
                "unit": judged.to_dict()["canonical_unit"],
                "band": judged.band,
                "range_used": judged.range_used,
            }
        )
        taken = lab.taken_on.isoformat()
        findings += [
            replace(
                f,
                message=f"{taken}: {f.message}",
                basis=replace(f.basis, values={**f.basis.values, "taken on": taken}),
            )
            for f in report.findings
            if f.code not in _SAID_AT_ADD
        ]
    return tuple(results), findings


def _stored(kb: Knowledge, lab: LabResult) -> Measurement:
    """A stored result as a reading: its unit, kept as b12 shows it ('mcg/L'), in UCUM."""
    from b12.domain.labs import find_unit

    unit = find_unit(kb.get("analytes", lab.analyte), lab.unit, lab.text)
    return Measurement(lab.analyte, lab.value, unit.unit, text=lab.text)


def _timeline(
    course: tuple[CourseDose, ...],
    labs: tuple[LabResult, ...],
    events: tuple[AdverseEvent, ...],
    earlier: list[Administration] | None = None,
) -> tuple[TimelineEntry, ...]:
    """``earlier``: doses given under replaced prescriptions that the course does not count."""
    out = []
    for g in earlier or ():
        vol = "" if g.volume_ml is None else f" = {format_volume(g.volume_ml)}"
        out.append(
            TimelineEntry(
                g.given_at.date(),
                "given",
                f"{format_mass(g.dose_mcg)}{vol} {g.route}, by {g.given_by} "
                "(replaced prescription; not counted in this one)",
                g.id,
            )
        )
    for c in course:
        p = c.planned
        dose = format_mass(p.dose_mcg) + (
            "" if p.volume_ml is None else f" ({format_volume(p.volume_ml)})"
        )
        if c.given is not None:
            g = c.given
            vol = "" if g.volume_ml is None else f" = {format_volume(g.volume_ml)}"
            where = f" {g.site}" if g.site else ""
            carried = " (given under the replaced prescription)" if c.carried else ""
            out.append(
                TimelineEntry(
                    g.given_at.date(),
                    "given",
                    f"dose {p.number}: {format_mass(g.dose_mcg)}{vol} {g.route}{where}, by {g.given_by}{carried}",
                    g.id,
                )
            )
        for m in c.misses:
            kind, why = missed_kind(m)
            out.append(TimelineEntry(m.on, "missed", f"dose {p.number} {kind}: {why}", m.id))
        if c.given is None:
            moved = f" (prescribed {p.date.isoformat()})" if c.due != p.date else ""
            out.append(
                TimelineEntry(c.due, "planned", f"dose {p.number}: {dose} {p.route}{moved}", None)
            )
    for lab in labs:
        value = lab.normalised_value if lab.normalised_value is not None else lab.value
        unit = lab.normalised_unit or lab.unit
        out.append(
            TimelineEntry(
                lab.taken_on, "lab", f"{lab.analyte} {format_number(value)} {unit}", lab.id
            )
        )
    for e in events:
        out.append(TimelineEntry(e.on, "event", f"{e.severity}: {e.description}", e.id))
    order = {"given": 0, "missed": 1, "planned": 2, "lab": 3, "event": 4}
    return tuple(sorted(out, key=lambda e: (e.on, order[e.kind])))


def _due(course: tuple[CourseDose, ...], on: date) -> list[Finding]:
    owed = [c for c in course if c.state != "given"]
    if not owed:
        return []
    first = owed[0]
    values = {"dose": first.planned.number, "due": first.due.isoformat(), "date": on.isoformat()}
    if first.due < on:
        return [
            finding(
                "RECORD_OVERDUE",
                Level.WARNING,
                f"Dose {first.planned.number} ({format_mass(first.planned.dose_mcg)}) was due on "
                f"{first.due.isoformat()}: {(on - first.due).days} day(s) overdue.",
                (),
                values,
            )
        ]
    if first.due == on:
        return [
            finding(
                "RECORD_DUE_TODAY",
                Level.INFO,
                f"Dose {first.planned.number} ({format_mass(first.planned.dose_mcg)}) is due today.",
                (),
                values,
            )
        ]
    return []


def _series(labs: tuple[LabResult, ...], analyte: str) -> list[tuple[date, Decimal]]:
    return [
        (lab.taken_on, lab.normalised_value if lab.normalised_value is not None else lab.value)
        for lab in sorted(labs, key=lambda x: x.taken_on)
        if lab.analyte == analyte
    ]


def response(
    course: tuple[CourseDose, ...],
    labs: tuple[LabResult, ...],
    events: tuple[AdverseEvent, ...],
    sex: str | None,
) -> list[Finding]:
    """The response rules on the results so far (day 0 = the first dose given)."""
    given = [c.given.given_at.date() for c in course if c.given is not None]
    if not given:
        return []
    start = min(given)
    out: list[Finding] = []
    retics = _series(labs, "reticulocytes")
    baseline = [v for d, v in retics if d <= start]
    after = [(d, v) for d, v in retics if d > start]
    if baseline and after:
        day, value = after[-1]
        out += rules.reticulocyte_response(baseline[-1], value, (day - start).days).findings
    hct = _series(labs, "haematocrit")
    rbc = [(d, v) for d, v in _series(labs, "rbc") if d > start]
    if rbc:
        out += rules.in_remission(rbc[-1][1], sex, hct[-1][1] if hct else None).findings
    hb = _series(labs, "haemoglobin")
    neuro = any(e.neurological and e.on >= start for e in events)
    # Potassium is not read here: every potassium result is judged against its range above.
    out += rules.non_response_triggers(
        haemoglobin_previous=hb[-2][1] if len(hb) > 1 else None,
        haemoglobin=hb[-1][1] if hb else None,
        new_neurological_symptoms=neuro,
    )
    seen: set[str] = set()
    return [f for f in out if not (f.code in seen or seen.add(f.code))]  # type: ignore[func-returns-value]


def monitoring_gaps(
    kb: Knowledge,
    rx: Prescription,
    course: tuple[CourseDose, ...],
    labs: tuple[LabResult, ...],
    on: date,
) -> list[Finding]:
    """Each monitoring window of the audit (a test between two days after the first dose given,
    day 0) that the course's indication has, that has passed by ``on``, with no result of the test
    taken in it. Results are known by their date: a window's days count whole, both ends in."""
    from b12.services.audit_thresholds import monitoring_windows

    given = [c.given.given_at.date() for c in course if c.given is not None]
    if not given or rx.indication is None:
        return []
    start = min(given)
    out = []
    for window in monitoring_windows(kb):
        first = start + timedelta(days=window.from_day)
        last = start + timedelta(days=window.to_day)
        if rx.indication not in window.indications or on <= last:
            continue
        if any(lab.analyte == window.analyte and first <= lab.taken_on <= last for lab in labs):
            continue
        name = kb.get("analytes", window.analyte).name
        out.append(
            finding(
                window.code,
                Level(window.level),
                f"No {name} result from {first.isoformat()} (day {window.from_day}) to "
                f"{last.isoformat()} (day {window.to_day}) after the first dose on "
                f"{start.isoformat()}: the monitoring rules ask for one in those days "
                f"({', '.join(window.monitoring)}).",
                window.sources,
                {
                    "test": window.analyte,
                    "first dose": start.isoformat(),
                    "from": first.isoformat(),
                    "to": last.isoformat(),
                    "indication": rx.indication,
                    "monitoring": ", ".join(window.monitoring),
                },
            )
        )
    return out


def _next_labs(rx: Prescription, on: date) -> list[Finding]:
    planned = [lab for lab in rx.labs if lab.date >= on]
    if not planned:
        return []
    shown = "; ".join(f"{lab.date.isoformat()}: {', '.join(lab.tests)}" for lab in planned[:3])
    return [
        finding(
            "RECORD_NEXT_LABS",
            Level.INFO,
            f"Next laboratory checks of the prescription: {shown}.",
            tuple(dict.fromkeys(s for lab in planned[:3] for s in lab.sources)),
        )
    ]
