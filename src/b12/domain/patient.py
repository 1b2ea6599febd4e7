"""The patient as screening and dosing see them: a profile, no identity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from b12.errors import InputError

Sex = Literal["female", "male"]
MONTHS_PER_YEAR = Decimal(12)
ADULT_MONTHS = Decimal(18 * 12)


#: Conditions that are states of the patient: a door that is given one as a condition (the CLI's
#: --condition, the CDS Hooks prefetch's Condition) sets the flag screening and dosing read, in
#: __post_init__ below, so that every door reads them alike. Names are compared case-, hyphen- and
#: space-insensitively. SNOMED CT 77386006 is "Patient currently pregnant (finding)".
STATE_NAMES: dict[str, frozenset[str]] = {
    "pregnant": frozenset(
        {"pregnancy", "pregnant", "currently pregnant", "patient currently pregnant",
         "pregnant finding", "patient currently pregnant finding", "pregnancy state"}
    ),
    "breastfeeding": frozenset(
        {"breastfeeding", "breastfeeding mother", "currently breastfeeding", "lactating",
         "lactation", "lactating mother"}
    ),
}  # fmt: skip
STATE_SNOMED = {"77386006": "pregnancy"}
_STATE_SPACE = re.compile(r"[\s\-_/,.()]+")


def state_of(condition: str) -> str | None:
    """The flag a condition name stands for ("pregnant", "breastfeeding"), else None."""
    key = _STATE_SPACE.sub(" ", condition.casefold()).strip()
    key = key.replace("breast feeding", "breastfeeding")
    return next((flag for flag, names in STATE_NAMES.items() if key in names), None)


@dataclass(frozen=True)
class Patient:
    """Age in months (None when not given), and what else matters for B12 therapy."""

    age_months: Decimal | None = None
    sex: Sex | None = None
    weight_kg: Decimal | None = None
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        states = {c: state_of(c) for c in self.conditions}
        if any(states.values()):  # pregnancy given as a condition is the pregnant flag
            flags = set(states.values())
            object.__setattr__(self, "pregnant", self.pregnant or "pregnant" in flags)
            object.__setattr__(
                self, "breastfeeding", self.breastfeeding or "breastfeeding" in flags
            )
            object.__setattr__(self, "conditions", tuple(c for c, s in states.items() if s is None))
        if (
            self.age_months is not None
            and not Decimal(0) <= self.age_months <= 130 * MONTHS_PER_YEAR
        ):
            raise InputError(
                f"age {self.age_months} months is not plausible; write an age of 0-130 years",
                field="age",
            )
        if self.weight_kg is not None and not Decimal("0.3") <= self.weight_kg <= 400:
            raise InputError(
                f"weight {self.weight_kg} kg is not plausible; write a weight of 0.3-400 kg",
                field="weight_kg",
            )

    @classmethod
    def of_age(
        cls, age_years: Decimal | None = None, age_months: Decimal | None = None, **rest: object
    ) -> Patient:
        """Build from the age in years or in months (not both)."""
        if age_years is not None and age_months is not None:
            raise InputError(
                "give the age in years or in months, not both",
                field="age",
                alternatives=("age_months",),
            )
        months = age_years * MONTHS_PER_YEAR if age_years is not None else age_months
        return cls(age_months=months, **rest)  # type: ignore[arg-type]

    @property
    def screenable(self) -> bool:
        """Whether any detail is given that screening can act on (age, pregnancy, names)."""
        return bool(
            self.age_months is not None
            or self.pregnant
            or self.breastfeeding
            or self.conditions
            or self.medications
            or self.allergies
        )

    @property
    def age_known(self) -> bool:
        return self.age_months is not None

    @property
    def age_years(self) -> Decimal | None:
        return None if self.age_months is None else self.age_months / MONTHS_PER_YEAR

    def describe_age(self) -> str:
        if self.age_months is None:
            return "not given"
        if self.age_months < 24:
            return f"{self.age_months.normalize():f} months"
        return f"{(self.age_months / MONTHS_PER_YEAR).quantize(Decimal('0.1')).normalize():f} years"
