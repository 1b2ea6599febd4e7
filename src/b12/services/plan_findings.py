"""The plan's own findings: the baseline B12 against the NICE bands, and screening for each route."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from b12.domain.display import format_number
from b12.domain.findings import Finding, Level, distinct, finding
from b12.domain.lab_values import Measurement
from b12.domain.labs import Normalised, band_of, band_scale
from b12.domain.patient import Patient
from b12.errors import InputError

if TYPE_CHECKING:
    from b12.knowledge.base import Knowledge
    from b12.knowledge.entries import Product


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

    out: list[Finding] = []
    for route in dict.fromkeys(routes):
        result = screen_patient(
            kb,
            patient,
            product=product.id if product else None,
            route=route,
            substance=None if product else substance,
            indication=indication,
        )
        out += result.findings
    return list(distinct(out))
