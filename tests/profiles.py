"""A patient profile as the golden files write it (tests/golden/*.yaml), as a Patient."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from b12.domain.patient import Patient


def patient_of(profile: dict[str, Any]) -> Patient:
    """age_years | age_months, sex, weight_kg, pregnant, breastfeeding, conditions, medications,
    allergies: each optional, as a person would write them."""

    def number(key: str) -> Decimal | None:
        return Decimal(str(profile[key])) if key in profile else None

    return Patient.of_age(
        number("age_years"),
        number("age_months"),
        sex=profile.get("sex"),
        weight_kg=number("weight_kg"),
        pregnant=profile.get("pregnant", False),
        breastfeeding=profile.get("breastfeeding", False),
        conditions=tuple(profile.get("conditions", ())),
        medications=tuple(profile.get("medications", ())),
        allergies=tuple(profile.get("allergies", ())),
    )
