"""From a regimen's phases to dated administrations: pure, no knowledge base, no clock.

How a source's words become dates (each rule is shown in the plan beside the source's own words):

* Ranges. A count of doses takes its upper bound ("daily for 6-7 days" -> 7 doses) and so does a
  duration ("for 2-3 weeks" -> 21 days): the whole course the source allows. An interval takes its
  lower bound ("every 3-4 days" -> every 3 days, "every 2-3 months" -> every 60 days), and a
  frequency its upper bound ("2-3 times a week" -> 3): never a longer gap than the source allows.
  A dose takes its lower bound ("100-200 mcg" -> 100 mcg): a larger dose is the prescriber's choice.
  Every administration keeps the range the source gave.
* Rhythms. ``every_days n``: every n days from the phase's first dose. ``per_week n``: n doses a
  week at day offsets floor(7*i/n) from the phase's first dose (3 -> days 0, 2, 4: Mon/Wed/Fri from a
  Monday; 2 -> days 0 and 3: Mon/Thu). ``per_month 1``: the same day each month, clamped to the end
  of a shorter month (31 Jan -> 28 Feb -> 31 Mar); ``per_month n``: offsets floor(30*i/n) days
  from that same day.
* Phases follow each other: a phase's first dose comes one of its own intervals after the last dose
  of the phase before (daily then alternate days: the alternate days start 2 days after the last
  daily dose; then monthly: one month after the last dose).
* Length. ``doses`` counts doses; ``duration_days`` is a window from the phase's first dose (doses on
  days 0 .. duration-1). ``total_mcg`` ("to a total of 1000 mcg") counts the doses given so far and
  ends the phase with the dose that reaches the total (30 mcg a day to 1000 mcg: 34 doses, 1020 mcg);
  the next phase then starts one of its intervals later, with no review to assume. A phase that lasts ``until`` a condition and has a phase after it is planned
  for ``open_phase_days`` (default 56, the 8-week blood count of NHS Lothian) and ends in a review
  checkpoint; the last phase, or a lifelong one, runs to the horizon and says that it goes on.
* A gate ("if there is a reticulocyte response") is a checkpoint on the phase's first date.
* An escalating phase rises in equal steps (whole mcg, half-up) from its dose to ``dose_to_mcg``
  over the doses planned.
* A phase with no rhythm (only a frequency note) is one dose when the source says one dose;
  otherwise it is not dated: its window is skipped when it has a duration, and planning stops
  at it when it has none.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from b12.knowledge.entries import Phase, Range

#: How long an open-ended phase ("until no further improvement") is planned before its review.
OPEN_PHASE_DAYS = 56

CheckpointKind = Literal["gate", "review", "horizon", "not-scheduled"]


@dataclass(frozen=True)
class ScheduledDose:
    """One dated administration as the regimen gives it (no product yet)."""

    date: date
    day: int  # days after the start (day 0 = the first dose)
    dose_mcg: Decimal
    dose_range: str | None  # the source's range ("100-200") when it gave one
    route: str
    phase: str
    phase_kind: str
    number: int  # 1-based within the phase


@dataclass(frozen=True)
class Checkpoint:
    date: date
    kind: CheckpointKind
    phase: str
    says: str


@dataclass(frozen=True)
class PhasePlan:
    """How one phase was read, for the plan to show beside the source's words."""

    name: str
    kind: str
    rhythm: str  # "every 3 days (source: every 3-4 days)"
    length: str  # "7 doses (source: 6-7)"
    first: date | None
    last: date | None
    doses: int
    continues: str | None  # what goes on past the horizon, if anything


@dataclass(frozen=True)
class Schedule:
    start: date
    end: date  # the horizon, exclusive
    doses: tuple[ScheduledDose, ...]
    checkpoints: tuple[Checkpoint, ...]
    phases: tuple[PhasePlan, ...]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _low(value: Range) -> int:
    return max(1, int(value.min))


def _high(value: Range) -> int:
    return max(1, int(value.max))


def _shown(value: Range) -> str:
    return f"{value.min.normalize():f}" + ("" if value.is_single else f"-{value.max.normalize():f}")


def rhythm_of(phase: Phase) -> str | None:
    """The rhythm as planned, with the source's range when it gave one; None when there is none."""
    if phase.every_days is not None:
        n = _low(phase.every_days)
        said = (
            ""
            if phase.every_days.is_single
            else f" (source: every {_shown(phase.every_days)} days)"
        )
        return ("daily" if n == 1 else f"every {n} days") + said
    if phase.per_week is not None:
        n = _high(phase.per_week)
        said = "" if phase.per_week.is_single else f" (source: {_shown(phase.per_week)} a week)"
        return f"{n} a week" + said
    if phase.per_month is not None:
        n = _high(phase.per_month)
        said = "" if phase.per_month.is_single else f" (source: {_shown(phase.per_month)} a month)"
        return ("monthly, same day" if n == 1 else f"{n} a month") + said
    return None


def _dates(phase: Phase, first: date) -> Iterator[date]:
    """The phase's dates from its first dose on, without end."""
    k = 0
    while True:
        if phase.every_days is not None:
            yield first + timedelta(days=k * _low(phase.every_days))
        elif phase.per_week is not None:
            n = _high(phase.per_week)
            yield first + timedelta(days=7 * (k // n) + (7 * (k % n)) // n)
        elif phase.per_month is not None:
            n = _high(phase.per_month)
            yield add_months(first, k // n) + timedelta(days=(30 * (k % n)) // n)
        else:
            return
        k += 1


def _next_start(phase: Phase, last: date) -> date:
    """The first dose of ``phase`` when the phase before ended with a dose on ``last``."""
    if phase.every_days is not None:
        return last + timedelta(days=_low(phase.every_days))
    if phase.per_week is not None:
        return last + timedelta(days=max(1, 7 // _high(phase.per_week)))
    if phase.per_month is not None:
        n = _high(phase.per_month)
        return add_months(last, 1) if n == 1 else last + timedelta(days=30 // n)
    return last + timedelta(days=1)


def _escalated(phase: Phase, count: int) -> list[Decimal]:
    low = phase.dose_mcg.min
    if phase.dose_to_mcg is None or count < 2:
        return [low] * count
    top = phase.dose_to_mcg.min
    step = (top - low) / (count - 1)
    return [(low + step * i).quantize(Decimal(1), ROUND_HALF_UP) for i in range(count)]


def expand(
    phases: Sequence[Phase],
    start: date,
    end: date,
    routes: Sequence[str],
    *,
    open_phase_days: int = OPEN_PHASE_DAYS,
) -> Schedule:
    """Dated administrations from ``start`` until ``end`` (exclusive); ``routes[i]`` for phase i."""
    doses: list[ScheduledDose] = []
    checkpoints: list[Checkpoint] = []
    plans: list[PhasePlan] = []
    cursor: date | None = start
    for index, phase in enumerate(phases):
        if cursor is None or cursor >= end:
            reason = (
                "starts after the horizon"
                if cursor
                else "not reached: an earlier phase is not dated"
            )
            plans.append(
                PhasePlan(
                    phase.name, phase.kind, rhythm_of(phase) or "-", reason, None, None, 0, None
                )
            )
            continue
        first = cursor
        has_next = index + 1 < len(phases)
        if phase.gate:
            checkpoints.append(
                Checkpoint(first, "gate", phase.name, f"Before this phase: {phase.gate}.")
            )
        stop, length, continues = _window(phase, first, end, has_next, open_phase_days)
        rhythm = rhythm_of(phase)
        if rhythm is None:
            dates, cursor = _unrhythmic(phase, first, stop, checkpoints)
            rhythm = phase.frequency_note or "not stated"
        else:
            dates = _take(phase, first, stop, end)
            cursor = _next_start(phases[index + 1], dates[-1]) if has_next and dates else None
        if (
            phase.until
            and has_next
            and not phase.doses
            and not phase.duration_days
            and stop is not None
        ):
            checkpoints.append(
                Checkpoint(
                    stop,
                    "review",
                    phase.name,
                    f"Review: this phase goes on until {phase.until}; the plan assumed "
                    f"{open_phase_days} days, then moves to the next phase.",
                )
            )
        amounts = _escalated(phase, len(dates))
        shown = None if phase.dose_mcg.is_single else _shown(phase.dose_mcg)
        if phase.dose_to_mcg is not None:
            shown = f"{_shown(phase.dose_mcg)} rising to {_shown(phase.dose_to_mcg)}"
        for number, (day, amount) in enumerate(zip(dates, amounts, strict=True), start=1):
            doses.append(
                ScheduledDose(
                    day,
                    (day - start).days,
                    amount,
                    shown,
                    routes[index],
                    phase.name,
                    phase.kind,
                    number,
                )
            )
        plans.append(
            PhasePlan(
                phase.name,
                phase.kind,
                rhythm,
                length,
                dates[0] if dates else None,
                dates[-1] if dates else None,
                len(dates),
                continues,
            )
        )
    if plans and plans[-1].continues:
        checkpoints.append(
            Checkpoint(
                end,
                "horizon",
                plans[-1].name,
                f"The plan ends here; the phase goes on ({plans[-1].continues}).",
            )
        )
    return Schedule(
        start, end, tuple(doses), tuple(sorted(checkpoints, key=lambda c: c.date)), tuple(plans)
    )


def _window(
    phase: Phase, first: date, end: date, has_next: bool, open_days: int
) -> tuple[date | None, str, str | None]:
    """Where the phase stops (exclusive date, None = by dose count), how it was read, what goes on."""
    if phase.doses is not None:
        said = "" if phase.doses.is_single else f" (source: {_shown(phase.doses)})"
        return None, f"{_high(phase.doses)} doses{said}", None
    if phase.total_mcg is not None:
        count = _count(phase) or 0
        given = phase.dose_mcg.min * count
        return (
            None,
            f"to a total of {_shown(phase.total_mcg)} mcg: {count} doses of "
            f"{_shown(phase.dose_mcg)} mcg, {given.normalize():f} mcg given",
            None,
        )
    if phase.duration_days is not None:
        days = _high(phase.duration_days)
        said = (
            ""
            if phase.duration_days.is_single
            else f" (source: {_shown(phase.duration_days)} days)"
        )
        return first + timedelta(days=days), f"{days} days{said}", None
    if phase.lifelong:
        return end, "for life: to the end of the plan", "lifelong"
    if has_next:
        return (
            first + timedelta(days=open_days),
            f"until {phase.until} (planned as {open_days} days, then a review)",
            None,
        )
    return end, f"until {phase.until}: to the end of the plan", f"until {phase.until}"


def _count(phase: Phase) -> int | None:
    """How many doses the phase gives: its count, or the doses that reach its total."""
    if phase.doses is not None:
        return _high(phase.doses)
    if phase.total_mcg is None:
        return None
    # The lower dose (as everywhere) and the whole total: the dose that reaches it is the last.
    return max(1, int((phase.total_mcg.max / phase.dose_mcg.min).to_integral_value(ROUND_CEILING)))


def _take(phase: Phase, first: date, stop: date | None, end: date) -> list[date]:
    count = _count(phase)
    out: list[date] = []
    for day in _dates(phase, first):
        if (
            day >= end
            or (stop is not None and day >= stop)
            or (count is not None and len(out) >= count)
        ):
            break
        out.append(day)
    return out


def _unrhythmic(
    phase: Phase, first: date, stop: date | None, checkpoints: list[Checkpoint]
) -> tuple[list[date], date | None]:
    """A phase with no computable rhythm: one dose if the source says one, else no dates."""
    if phase.doses is not None and phase.doses.max == 1:
        return [first], first + timedelta(days=1)
    says = (
        f"Not dated: the source gives no rhythm ({phase.frequency_note}); the prescriber sets it."
    )
    checkpoints.append(Checkpoint(first, "not-scheduled", phase.name, says))
    if phase.duration_days is not None and stop is not None:
        return [], stop
    return [], None
