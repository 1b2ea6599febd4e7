"""The course as it is going: the prescribed dates re-flowed around what was given and missed.

The re-flow rule (seed 003: a missed injection is never doubled):
* Doses keep their order and count. Each planned dose is due on the later of its prescribed
  date and the actual date of the dose before it plus the prescribed gap between the two, so the
  regimen's intervals are never shortened.
* A missed or refused dose stays owed: it becomes due the day after it was missed at the
  earliest, and every later dose moves with it. Nothing is ever given twice to catch up.
* A dose given late moves the doses after it the same way; a dose given early moves nothing.

A prescription that replaces the active one (a change of regimen, product or dose) does not start
the course again. The doses given under the prescriptions it replaces are carried over: each
counts toward the new prescription's first not-yet-counted dose of the same phase kind (loading,
consolidation, maintenance), in the order they were given, when it is at least that dose: a
smaller dose (100 mcg toward a 1,000 mcg loading dose) counts for none, so a switch to a larger
dose gives its loading whole rather than short. The first dose not counted then falls
on the new prescription's start date, every gap kept as prescribed (``carry_over``); the re-flow
may put it later, when the gap from the last dose given is longer. A
prescription started after a stop replaces nothing and starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from b12.domain.records import Administration, MissedDose, PlannedDose

DoseState = Literal["given", "missed", "planned"]
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CourseDose:
    """One planned dose with its date after re-flow, and what happened to it."""

    planned: PlannedDose
    due: date  # after re-flow
    state: DoseState
    given: Administration | None
    misses: tuple[MissedDose, ...]
    min_gap_days: int  # the prescribed gap from the dose before (0 for the first)
    carried: bool = False  # given under a prescription this one replaced

    @property
    def moved_days(self) -> int:
        return (self.due - self.planned.date).days


def carry_over(
    planned: Sequence[PlannedDose], start: date, earlier: Sequence[tuple[str, Administration]]
) -> tuple[tuple[PlannedDose, ...], dict[int, Administration]]:
    """The new prescription's doses re-dated, and which of them the earlier doses count as.

    ``earlier`` holds each dose given under a replaced prescription with its phase kind there.
    Each counts toward the first uncounted planned dose of the same phase kind if it is at least
    that dose (else toward none); every dose is then moved so that the first one not counted
    falls on ``start`` (the gaps stay as prescribed)."""
    free: dict[str, list[PlannedDose]] = {}
    for dose in planned:
        free.setdefault(dose.phase_kind, []).append(dose)
    counted: dict[int, Administration] = {}
    for kind, given in sorted(earlier, key=lambda pair: pair[1].given_at):
        waiting = free.get(kind)
        if waiting and given.dose_mcg >= waiting[0].dose_mcg:
            counted[waiting.pop(0).number] = given
    rest = [d for d in planned if d.number not in counted]
    if not counted or not rest:
        return tuple(planned), counted
    shift = rest[0].date - start  # every dose moves, so the gaps between them stay as prescribed
    return tuple(replace(d, date=d.date - shift) for d in planned), counted


def reflow(
    planned: Sequence[PlannedDose],
    given: Sequence[Administration],
    missed: Sequence[MissedDose],
    carried: Mapping[int, Administration] | None = None,
) -> tuple[CourseDose, ...]:
    """Every planned dose with its due date after re-flow (see the module's rule); ``carried``:
    the doses given under replaced prescriptions, by the planned number they count as."""
    carried = carried or {}
    own = {a.planned_number: a for a in given if a.planned_number is not None}
    by_number = {**carried, **own}
    misses: dict[int, list[MissedDose]] = {}
    for m in missed:
        misses.setdefault(m.planned_number, []).append(m)
    out: list[CourseDose] = []
    previous_actual: date | None = None
    previous_planned: date | None = None
    for dose in planned:
        gap = 0 if previous_planned is None else (dose.date - previous_planned).days
        due = dose.date
        if previous_actual is not None:
            due = max(due, previous_actual + timedelta(days=gap))
        owed = tuple(misses.get(dose.number, ()))
        if owed:
            due = max(due, max(m.on for m in owed) + ONE_DAY)
        administration = by_number.get(dose.number)
        if administration is not None:
            state: DoseState = "given"
            actual = administration.given_at.date()
        else:
            state = "missed" if owed else "planned"
            actual = due
        out.append(CourseDose(dose, due, state, administration, owed, gap, dose.number in carried))
        previous_actual, previous_planned = actual, dose.date
    return tuple(out)


def next_owed(course: Sequence[CourseDose]) -> CourseDose | None:
    """The first planned dose not yet given (None when the course is complete)."""
    return next((c for c in course if c.state != "given"), None)


def owed_before(course: Sequence[CourseDose], on: date) -> list[CourseDose]:
    """Doses not given whose due date is before ``on`` (overdue)."""
    return [c for c in course if c.state != "given" and c.due < on]
