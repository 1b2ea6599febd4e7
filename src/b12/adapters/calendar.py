"""A plan as an RFC 5545 calendar: every injection and laboratory check, each with a reminder.

Events are all-day (VALUE=DATE): the plan dates a dose, not an hour. The reminder fires at noon the
day before (TRIGGER -PT12H from the day's start), so there is time to fetch supplies or book blood.
UIDs and DTSTAMP derive from the plan, so the same plan writes the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from b12.domain.display import format_mass, format_volume

if TYPE_CHECKING:
    from b12.services.planning import Plan

REMINDER = timedelta(hours=-12)
PRODID = "-//b12//treatment plan//EN"


def to_ics(plan: Plan) -> bytes:
    """The plan as iCalendar bytes."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"B12 plan: {plan.regimen.id}")
    stamp = datetime.combine(plan.schedule.start, time(0), tzinfo=UTC)
    rows: list[tuple[str, str, str, object]] = []
    for a in plan.administrations:
        volume = "" if a.volume_ml is None else f" ({format_volume(a.volume_ml)})"
        summary = f"B12 injection {format_mass(a.dose_mcg)} {a.route}{volume}"
        detail = (
            f"Phase: {a.phase} (dose {a.number}). Regimen {plan.regimen.id}; "
            f"sources: {', '.join(plan.regimen.sources)}. Knowledge {plan.fingerprint}."
        )
        rows.append((f"{a.date.isoformat()}-dose-{a.phase}-{a.number}", summary, detail, a.date))
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
            )
        )
    for uid, summary, detail, day in rows:
        event = Event()
        event.add("uid", f"{uid.replace(' ', '-')}@{plan.regimen.id}.b12")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("summary", summary)
        event.add("description", detail)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Tomorrow: {summary}")
        alarm.add("trigger", REMINDER)
        event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())


def write_ics(plan: Plan, path: str | Path) -> Path:
    """Write the calendar file and return its path."""
    target = Path(path)
    target.write_bytes(to_ics(plan))
    return target
