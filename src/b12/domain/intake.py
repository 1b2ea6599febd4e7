"""Daily requirement rows and food portions: which row fits a patient, and exact intake sums.

Readings (documented): age bands are half-open in months (a row covers ``age_from_months`` up
to, not including, ``age_to_months``); a pregnancy or lactation row applies at any age and wins
over the age row; a patient both pregnant and breastfeeding gets the larger of the two rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from b12.domain.lab_values import LabInputError, read_value
from b12.domain.quantity import canonical

if TYPE_CHECKING:
    from b12.domain.patient import Patient
    from b12.knowledge.entries import RequirementRow

MAX_GRAMS = Decimal(5000)  # b12's own sanity limit for one food in one day, not a clinical fact
GRAMS_EXAMPLE = "liver=100g"


def states(patient: Patient) -> tuple[str, ...]:
    """The row states that fit the patient, most specific first."""
    found: list[str] = []
    if patient.pregnant:
        found += ["pregnancy", "pregnancy-or-lactation"]
    if patient.breastfeeding:
        found += ["lactation", "pregnancy-or-lactation"]
    return tuple(dict.fromkeys(found))


def row_for(rows: Sequence[RequirementRow], patient: Patient) -> RequirementRow | None:
    """The table's row for this patient, or None when the table has none (EFSA for a child)."""
    wanted = states(patient)
    special = [r for r in rows if r.state in wanted]
    if special:
        return max(special, key=lambda r: (r.mcg_per_day.max, r.mcg_per_day.min))
    if patient.age_months is None:
        return None
    age = patient.age_months
    for row in rows:
        if row.state != "any":
            continue
        if age >= row.age_from_months and (row.age_to_months is None or age < row.age_to_months):
            return row
    return None


@dataclass(frozen=True)
class Portion:
    """One food eaten in a day: the food's id and the exact grams."""

    food: str
    grams: Decimal
    text: str = ""  # as written ('liver=100g'), shown back; empty: none was written


def parse_portion(text: str) -> tuple[str, Decimal]:
    """'liver=100g' or 'liver=100' -> ('liver', 100): the food as named, and grams only."""
    name, sep, rest = text.partition("=")
    name, rest = name.strip(), rest.strip()
    if not sep or not name or not rest:
        raise LabInputError(text, "not FOOD=GRAMS", f"write e.g. {GRAMS_EXAMPLE}")
    grams, unit = read_value(rest, text)
    if unit.strip().lower() not in ("", "g", "gram", "grams"):
        raise LabInputError(
            text, f"{unit!r} is not grams", f"write the amount in grams, e.g. {GRAMS_EXAMPLE}"
        )
    check_grams(grams, text)
    return name, canonical(grams)


def check_grams(grams: Decimal, text: str) -> None:
    """A day's portion is above 0 g and up to MAX_GRAMS."""
    if grams <= 0 or grams > MAX_GRAMS:
        raise LabInputError(
            text, f"{grams} g is not a day's portion", "write grams above 0 and up to 5000"
        )


def content_mcg(grams: Decimal, mcg_per_100g: Decimal) -> Decimal:
    """Exact B12 in a portion: grams x mcg per 100 g / 100."""
    return canonical(grams * mcg_per_100g / 100)
