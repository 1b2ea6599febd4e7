"""Regimens and phases in plain words, e.g. "100 mcg daily, 6-7 doses"."""

from __future__ import annotations

from b12.domain.display import format_mass, format_number
from b12.knowledge.entries import Phase, Range


def _range(r: Range) -> str:
    return format_number(r.min) if r.is_single else f"{format_number(r.min)}-{format_number(r.max)}"


def _dose(r: Range) -> str:
    return format_mass(r.min) if r.is_single else f"{format_number(r.min)}-{format_mass(r.max)}"


def rhythm(phase: Phase) -> str:
    if phase.every_days is not None:
        if phase.every_days.is_single and phase.every_days.min == 1:
            return "daily"
        if phase.every_days.is_single and phase.every_days.min == 2:
            return "every 2 days (alternate days)"
        return f"every {_range(phase.every_days)} days"
    if phase.per_week is not None:
        return (
            "once a week" if phase.per_week.max == 1 else f"{_range(phase.per_week)} times a week"
        )
    if phase.per_month is not None:
        return "monthly" if phase.per_month.max == 1 else f"{_range(phase.per_month)} times a month"
    return phase.frequency_note or "frequency not given"


def length(phase: Phase) -> str:
    parts = []
    if phase.doses is not None:
        parts.append(f"{_range(phase.doses)} doses")
    if phase.duration_days is not None:
        parts.append(f"for {_range(phase.duration_days)} days")
    if phase.until:
        parts.append(f"until {phase.until}")
    if phase.lifelong:
        parts.append("for life")
    return ", ".join(parts)


def describe_phase(phase: Phase) -> str:
    dose = _dose(phase.dose_mcg)
    if phase.dose_to_mcg is not None:
        dose += f" rising to {_dose(phase.dose_to_mcg)}"
    text = f"{dose} {rhythm(phase)}, {length(phase)}"
    if phase.routes:
        text += f" ({', '.join(phase.routes)})"
    if phase.gate:
        text = f"if {phase.gate}: {text}"
    return text
