"""A plan as an RFC 5545 calendar: every injection, laboratory check and checkpoint, with a reminder.

Events are all-day (VALUE=DATE): the plan dates a dose, not an hour. The reminder fires at noon the
day before (TRIGGER -PT12H from the day's start), so there is time to fetch supplies or book blood.
UIDs and DTSTAMP derive from the plan, so the same plan writes the same file.

A last phase that goes on past the plan's horizon (lifelong, or maintenance or prophylaxis "until"
a condition with nothing after it) is one event with an RRULE at the phase's rhythm and no end (no
UNTIL, no COUNT), read as the schedule reads it (``b12.domain.schedule``): "every 3-4 days" is
every 3 days, "monthly" the same day each month, clamped to a shorter month's last day. A rhythm
no RRULE says exactly (an escalating dose, several doses a month late in the month) stays as dated
events to the horizon, with the horizon's checkpoint; so does an open-ended treatment or
diagnostic trial, which is reviewed rather than repeated without end. Checkpoints (a gate before
a phase, a review of an open phase, a phase the source gives no rhythm for) are all-day events of
their own on their date, the note in their description.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b12.domain.display import format_mass, format_volume

if TYPE_CHECKING:
    from b12.knowledge.entries import Phase
    from b12.services.planning import Plan, PlannedAdministration
    from b12.services.reminders import FeedCourse

REMINDER = timedelta(hours=-12)
PRODID = "-//b12//treatment plan//EN"
#: Kinds of open-ended last phase that repeat without end (besides any lifelong phase).
OPEN_ENDED_KINDS = ("maintenance", "prophylaxis")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CHECKPOINT_TITLES = {
    "gate": "B12 plan gate",
    "review": "B12 plan review",
    "not-scheduled": "B12 plan: phase not dated",
    "horizon": "B12 plan ends",
}


def recurrence(phase: Phase, first: date) -> dict[str, Any] | None:
    """The phase's rhythm from ``first`` on as RRULE parts (no end); None when no RRULE says it."""
    if phase.dose_to_mcg is not None:
        return None  # escalating: every dose differs
    if phase.every_days is not None:
        every = max(1, int(phase.every_days.min))
        if every % 7 == 0:
            return {"freq": "weekly", "interval": every // 7}
        return {"freq": "daily", "interval": every}
    if phase.per_week is not None:
        n = max(1, int(phase.per_week.max))
        if n == 1:
            return {"freq": "weekly", "interval": 1}
        weekdays = sorted({(first + timedelta(days=(7 * i) // n)).weekday() for i in range(n)})
        return {"freq": "weekly", "interval": 1, "byday": [WEEKDAYS[d] for d in weekdays]}
    if phase.per_month is not None:
        n = max(1, int(phase.per_month.max))
        if n == 1 and first.day <= 28:
            return {"freq": "monthly", "interval": 1}
        if n == 1:  # the 29th-31st: the last day of a shorter month, as the schedule clamps
            days = list(range(28, first.day + 1))
            return {"freq": "monthly", "interval": 1, "bymonthday": days, "bysetpos": -1}
        days = [first.day + (30 * i) // n for i in range(n)]
        if days[-1] <= 28:
            return {"freq": "monthly", "interval": 1, "bymonthday": days}
    return None


def to_ics(plan: Plan) -> bytes:
    """The plan as iCalendar bytes."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"B12 plan: {plan.regimen.id}")
    stamp = datetime.combine(plan.schedule.start, time(0), tzinfo=UTC)
    basis = f"Regimen {plan.regimen.id}; sources: {', '.join(plan.regimen.sources)}."
    repeating, rule = _repeating_phase(plan)
    rows: list[tuple[str, str, str, date, dict[str, Any] | None]] = []
    for a in plan.administrations:
        if a.phase == repeating and rule is not None:
            if a.number == 1:
                rows.append(_repeating_row(plan, a, rule, basis))
            continue
        detail = f"Phase: {a.phase} (dose {a.number}). {basis} Knowledge {plan.fingerprint}."
        rows.append(
            (f"{a.date.isoformat()}-dose-{a.phase}-{a.number}", _dose(a), detail, a.date, None)
        )
    for lab in plan.labs:
        tests = ", ".join(t.name for t in lab.tests)
        codes = "; ".join(f"{t.name}: LOINC {t.loinc or 'none'}" for t in lab.tests)
        rules = "; ".join(f"{r.rule} ({', '.join(r.sources)})" for r in lab.reasons)
        detail = f"{lab.reason} Tests: {codes}. Rules: {rules}."
        rows.append(
            (
                f"{lab.date.isoformat()}-labs",
                f"B12 plan laboratory check: {tests}",
                detail,
                lab.date,
                None,
            )
        )
    for c in plan.schedule.checkpoints:
        if c.kind == "horizon" and rule is not None:
            continue  # the phase goes on as a recurrence: the horizon is not an end
        summary = f"{CHECKPOINT_TITLES[c.kind]}: {c.phase}"
        detail = f"{c.says} Phase: {c.phase}. {basis}"
        rows.append((f"{c.date.isoformat()}-{c.kind}-{c.phase}", summary, detail, c.date, None))
    for uid, summary, detail, day, rrule in rows:
        event = Event()
        event.add("uid", f"{uid.replace(' ', '-')}@{plan.regimen.id}.b12")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        if rrule is not None:
            event.add("rrule", rrule)
        event.add("summary", summary)
        event.add("description", detail)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Tomorrow: {summary}")
        alarm.add("trigger", REMINDER)
        event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())


def _dose(a: PlannedAdministration) -> str:
    volume = "" if a.volume_ml is None else f" ({format_volume(a.volume_ml)})"
    return f"B12 injection {format_mass(a.dose_mcg)} {a.route}{volume}"


def _repeating_phase(plan: Plan) -> tuple[str | None, dict[str, Any] | None]:
    """The last phase, when it goes on past the horizon and one RRULE says its rhythm."""
    if not plan.schedule.phases:
        return None, None
    last = plan.schedule.phases[-1]
    phase = next((p for p in plan.regimen.phases if p.name == last.name), None)
    doses = [a for a in plan.administrations if a.phase == last.name]
    if last.continues is None or last.first is None or phase is None or not doses:
        return None, None
    if not (phase.lifelong or phase.kind in OPEN_ENDED_KINDS):
        return None, None  # an open treatment or trial is reviewed, not repeated without end
    if len({(a.dose_mcg, a.volume_ml, a.route) for a in doses}) != 1:
        return None, None
    return last.name, recurrence(phase, last.first)


def _repeating_row(
    plan: Plan, a: PlannedAdministration, rule: dict[str, Any], basis: str
) -> tuple[str, str, str, date, dict[str, Any] | None]:
    last = plan.schedule.phases[-1]
    goes_on = "for life" if last.continues == "lifelong" else f"{last.continues}"
    detail = (
        f"Phase: {a.phase}, {last.rhythm}, {goes_on}: repeats with no end date. {basis} "
        f"Knowledge {plan.fingerprint}."
    )
    return (f"{a.date.isoformat()}-dose-{a.phase}-repeating", _dose(a), detail, a.date, rule)


def write_ics(plan: Plan, path: str | Path) -> Path:
    """Write the calendar file and return its path."""
    target = Path(path)
    target.write_bytes(to_ics(plan))
    return target


# --- a patient's course as a private calendar feed ------------------------------------------------

COURSE_PRODID = "-//b12//course//EN"


def course_to_ics(feed: FeedCourse) -> bytes:
    """The course behind a calendar feed: each dose given, each dose still owed on its re-flowed
    date with a reminder, and a last phase that goes on without end as one event with an RRULE from
    its first dose still owed (so a late dose moves the whole series). All-day events; UIDs
    derive from the prescription and the dose, so a re-flowed dose updates its event."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", COURSE_PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"B12 injections: {feed.patient.code}")
    cal.add("x-published-ttl", "PT12H")
    rx = feed.prescription
    if rx is None:
        return bytes(cal.to_ical())
    stamp = feed.read_at.astimezone(UTC)
    owed = [c for c in feed.course if c.state != "given"]
    repeating = feed.repeating
    first_repeat = next(
        (c for c in owed if repeating is not None and c.planned.phase == repeating.name), None
    )
    rule = None
    if repeating is not None and first_repeat is not None:
        rule = recurrence(repeating, first_repeat.due)
    for c in feed.course:
        if (
            rule is not None
            and first_repeat is not None
            and c.state != "given"
            and c.planned.phase == first_repeat.planned.phase
            and c is not first_repeat
        ):
            continue  # the recurrence says these
        event = Event()
        event.add("uid", f"{rx.id}-dose-{c.planned.number}@b12")
        event.add("dtstamp", stamp)
        volume = "" if c.planned.volume_ml is None else f" ({format_volume(c.planned.volume_ml)})"
        what = f"B12 injection {format_mass(c.planned.dose_mcg)} {c.planned.route}{volume}"
        if c.state == "given" and c.given is not None:
            event.add("dtstart", c.given.given_at.date())
            event.add("summary", f"{what}: given")
            event.add("description", f"Dose {c.planned.number}, {c.planned.phase}: given.")
            cal.add_component(event)
            continue
        event.add("dtstart", c.due)
        moved = "" if c.due == c.planned.date else f" Moved from {c.planned.date.isoformat()}."
        if c is first_repeat and rule is not None:
            event["uid"] = f"{rx.id}-{c.planned.phase.replace(' ', '-')}-repeating@b12"
            event.add("rrule", rule)
            detail = (
                f"{c.planned.phase}: repeats with no end date, as prescribed. From dose "
                f"{c.planned.number}.{moved}"
            )
        else:
            detail = f"Dose {c.planned.number}, {c.planned.phase}.{moved}"
        event.add("summary", what)
        event.add("description", f"{detail} As prescribed; the record's status is the reference.")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Tomorrow: {what}")
        alarm.add("trigger", REMINDER)
        event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())
