"""Parts of a plan that are not the schedule: its JSON pieces, the baseline B12, screening."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from b12.domain.display import format_number
from b12.domain.findings import Finding, Level, finding
from b12.domain.lab_values import Measurement
from b12.domain.labs import Normalised, band_of, band_scale
from b12.domain.patient import Patient
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Conflict, Product, Regimen

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


def baseline_b12(kb: Knowledge, b12: Measurement, patient: Patient) -> Finding:
    """The baseline B12 level against the NICE bands (adults and young people aged 16 and over)."""
    analyte = kb.get("analytes", "b12")
    unit = next((u for u in analyte.units if u.unit == b12.unit), None)
    if b12.analyte != analyte.id or unit is None:
        raise InputError(
            f"the baseline B12 must be a b12 level in one of {', '.join(u.unit for u in analyte.units)}, "
            f"not {b12.analyte} in {b12.unit!r}",
            field="baseline_b12",
        )
    value = b12.value
    pmol = value * unit.to_canonical
    shown = {"B12": f"{format_number(value)} {unit.unit}", "pmol/L": format_number(pmol, places=1)}
    age = patient.age_years
    adult = [
        b for b in analyte.bands if b.min_age_years is None or age is None or age >= b.min_age_years
    ]
    # Banded in the unit NICE writes, with its boundaries as written (180 ng/L: indeterminate).
    scale = band_scale(analyte, adult, Normalised(unit, value, pmol, unit_assumed=False))
    band = band_of(scale.bands, scale.value)
    if band is not None:
        level = Level.WARNING if band.name == "sufficient" else Level.INFO
        extra = (
            " Deficiency is unlikely: confirm the indication before injecting."
            if level is Level.WARNING
            else ""
        )
        return finding(
            "PLAN_B12_BASELINE",
            level,
            f"Baseline B12 {shown['B12']} ({shown['pmol/L']} pmol/L): {band.name} (NICE NG239).{extra}",
            band.sources,
            shown,
        )
    return finding(
        "PLAN_B12_BASELINE",
        Level.INFO,
        f"Baseline B12 {shown['B12']}: the NICE bands are for ages 16 and over; read it against the laboratory's range.",
        analyte.sources,
        shown,
    )


def screening_findings(
    kb: Knowledge,
    patient: Patient,
    product: Product | None,
    routes: Iterable[str],
    *,
    substance: str,
    indication: str,
) -> list[Finding]:
    """The plan's own screening: its indication (as a condition), its substance (the product's
    ingredients, else the regimen's cobalamin) and the patient, once for every route its phases
    use; each finding once."""
    from b12.services.screening import screen_patient

    out: dict[tuple[str, str], Finding] = {}
    for route in dict.fromkeys(routes):
        result = screen_patient(
            kb,
            patient,
            product=product.id if product else None,
            route=route,
            substance=None if product else substance,
            indication=indication,
        )
        for f in result.findings:
            out.setdefault((f.code, f.message), f)
    return list(out.values())
