"""The plan's JSON pieces beside the schedule: its regimen, alternatives, conflicts and timeline."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from b12.knowledge.entries import Conflict, Regimen

if TYPE_CHECKING:
    from b12.domain.schedule import Schedule
    from b12.services.planning import Plan
    from b12.services.regimen_choice import Choice


def alternative_dict(r: Regimen) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "indication": r.indication,
        "substance": r.substance,
        "population": r.population,
        "neuro": r.neuro,
        "status": r.status,
        "conflict": r.conflict,
        "sources": list(r.sources),
    }


def timeline(plan: Plan) -> list[dict[str, Any]]:
    events: list[tuple[date, int, dict[str, Any]]] = []
    for a in plan.administrations:
        events.append(
            (
                a.date,
                1,
                {
                    "date": a.date.isoformat(),
                    "kind": "administration",
                    "phase": a.phase,
                    "dose_mcg": a.dose_mcg,
                    "volume_ml": a.volume_ml,
                    "route": a.route,
                },
            )
        )
    for lab in plan.labs:
        # Labs first on a shared day: blood is drawn before the dose.
        events.append(
            (
                lab.date,
                0,
                {
                    "date": lab.date.isoformat(),
                    "kind": "labs",
                    "tests": [t.analyte for t in lab.tests],
                },
            )
        )
    for c in plan.schedule.checkpoints:
        events.append(
            (c.date, 0, {"date": c.date.isoformat(), "kind": "checkpoint", "says": c.says})
        )
    return [e for _, _, e in sorted(events, key=lambda e: (e[0], e[1]))]


def regimen_dict(choice: Choice, schedule: Schedule) -> dict[str, Any]:
    return {
        **alternative_dict(choice.regimen),
        "chosen": choice.how,
        "why": choice.why,
        "phases": [
            {
                "name": p.name,
                "kind": p.kind,
                "rhythm": p.rhythm,
                "length": p.length,
                "first": None if p.first is None else p.first.isoformat(),
                "last": None if p.last is None else p.last.isoformat(),
                "doses": p.doses,
                "continues": p.continues,
                "gate": ph.gate,
                "source_dose_mcg": str(ph.dose_mcg),
            }
            for p, ph in zip(schedule.phases, choice.regimen.phases, strict=True)
        ],
    }


def conflict_dict(conflict: Conflict, regimen: Regimen) -> dict[str, Any]:
    ref = f"regimens:{regimen.id}"
    mine = next((p.id for p in conflict.positions if ref in p.entries), None)
    default = next(p for p in conflict.positions if p.id == conflict.default)
    return {
        "id": conflict.id,
        "claim": conflict.claim,
        "default": {"id": default.id, "says": default.says, "sources": list(default.sources)},
        "plan_position": mine,
        "plan_follows_default": mine == conflict.default if mine else None,
        "positions": [
            {"id": p.id, "says": p.says, "sources": list(p.sources)} for p in conflict.positions
        ],
        "reason": conflict.reason,
    }
