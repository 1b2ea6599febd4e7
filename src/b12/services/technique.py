"""The needle (gauge, length) and angle for an injection, from the route, the patient's age and size.

The facts are technique.yaml's `needles` (Australian Immunisation Handbook: IM 90 degrees, 22-25 G,
25 mm, 16 mm for preterm infants, 38 mm for large adults; SC 45 degrees, 25-27 G, 16 mm). Only
entries with a gauge and a length are used (the seeds' angle-only claims say nothing more), the
most trusted first. Each entry's `population` is read as an age and size band:

* ``preterm infant``: under NEWBORN_MONTHS months of age (the handbook's 16 mm for the preterm and
  very small infant; b12 cannot tell a preterm from a term newborn, so the shorter needle is shown
  for every infant that young, and the output says so);
* ``large adult``: an adult (18 years or more) weighing LARGE_ADULT_KG or more (the handbook
  writes "large"; the weight is b12's own cut and is shown with the answer);
* ``adult``: every other patient, children included (the handbook's 25 mm for infants, children
  and adults), and a patient whose age is not given;
* ``any``: everyone.

Routes with no needle facts (IV, intrathecal) and routes without a needle (oral, sublingual,
nasal) have no answer. The look-up runs once per knowledge, route and band (cached), so the
dose check's time budget is not spent on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from b12.domain.patient import ADULT_MONTHS, Patient
from b12.knowledge.base import Knowledge

NEWBORN_MONTHS = Decimal(2)
LARGE_ADULT_KG = Decimal(90)
#: The needle facts each route uses (deep SC is given with the SC needle at the SC angle).
ROUTE_NEEDLES = {"IM": "IM", "SC": "SC", "deep-SC": "SC"}
#: technique.yaml's populations as bands (None: every band).
POPULATION_BANDS: dict[str, str | None] = {
    "preterm infant": "newborn",
    "large adult": "large adult",
    "adult": "standard",
    "any": None,
}
BAND_SHOWN = {
    "newborn": "infant under 2 months (preterm or very small)",
    "large adult": "large adult",
    "standard": "infant from 2 months, child or adult",
    "any": "any age and size",
}


@dataclass(frozen=True)
class NeedleAdvice:
    """The needle and angle to use, with the entry it came from and the values that chose it."""

    route: str
    needle: str  # technique.yaml needles: id
    gauge: str  # e.g. "22-25"
    length_mm: Decimal
    angle_degrees: int
    band: str  # the band of the entry used: newborn, large adult, standard, or any
    sources: tuple[str, ...]
    values: tuple[tuple[str, str], ...]

    @property
    def line(self) -> str:
        return (
            f"{self.gauge} G, {self.length_mm.normalize():f} mm, at {self.angle_degrees} degrees "
            f"({self.route}; {BAND_SHOWN[self.band]})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "needle": self.needle,
            "gauge": self.gauge,
            "length_mm": self.length_mm,
            "angle_degrees": self.angle_degrees,
            "band": self.band,
            "says": self.line,
            "basis": {"sources": list(self.sources), "values": dict(self.values)},
        }


def band_of(patient: Patient) -> str:
    """The needle band of the patient: newborn, large adult or standard (see the module)."""
    age = patient.age_months
    if age is not None and age < NEWBORN_MONTHS:
        return "newborn"
    adult = age is None or age >= ADULT_MONTHS
    weight = patient.weight_kg
    if adult and weight is not None and weight >= LARGE_ADULT_KG:
        return "large adult"
    return "standard"


def needle_for(kb: Knowledge, route: str, patient: Patient) -> NeedleAdvice | None:
    """The needle and angle for ``route`` and this patient (None where no needle applies)."""
    if route not in ROUTE_NEEDLES:
        return None
    band = band_of(patient)
    found = _needle(kb, route, band)
    if found is None:
        return None
    values = [("route", route), ("age", patient.describe_age())]
    if patient.weight_kg is not None:
        values.append(("weight", f"{patient.weight_kg.normalize():f} kg"))
    if band == "large adult":
        values.append(("large adult from", f"{LARGE_ADULT_KG} kg (b12's cut)"))
    return replace(found, values=tuple(values))


def _needle(kb: Knowledge, route: str, band: str) -> NeedleAdvice | None:
    return kb.memo((_needle, route, band), lambda: _needle_computed(kb, route, band))


def _needle_computed(kb: Knowledge, route: str, band: str) -> NeedleAdvice | None:
    """The most trusted needle entry with a gauge and length for the route's needles and band."""
    wanted = ROUTE_NEEDLES[route]
    matching = [
        n
        for n in kb.all("needles").values()
        if n.route == wanted
        and n.gauge is not None
        and n.length_mm is not None
        and n.status != "contradicted"
        and POPULATION_BANDS[n.population] in (band, None)
    ]
    if not matching:
        return None
    best = max(matching, key=lambda n: kb.trust(tuple(n.sources)))
    return NeedleAdvice(
        route, best.id, str(best.gauge), Decimal(best.length_mm), int(best.angle_degrees),
        POPULATION_BANDS[best.population] or "any", tuple(best.sources), (),
    )  # fmt: skip
