"""Option values read into b12's types (numbers, dates, the patient), with clear input errors.

Plain functions of text: every command and door that takes these options reads them here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from b12.domain.dates import in_range
from b12.domain.patient import Patient
from b12.errors import InputError


def decimal_option(text: str | None, option: str, example: str) -> Decimal | None:
    """An exact number from an option, or a clear input error."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(
            f"{option} {text!r} is not a number; write e.g. {option} {example}"
        ) from None
    if value.is_finite() and value.adjusted() > 9:  # 1e999999 would overflow the arithmetic
        raise InputError(f"{option} {text!r} is far out of range; write e.g. {option} {example}")
    if not value.is_finite() or value < 0:
        raise InputError(f"{option} {text!r} must be a positive number, e.g. {option} {example}")
    return value


def date_option(text: str | None, option: str) -> date | None:
    """A calendar date from an option (YYYY-MM-DD), or a clear input error."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-03-31"
        ) from None
    return in_range(day, option.removeprefix("--"))


def build_patient(
    age_years: str | None = None,
    age_months: str | None = None,
    sex: str | None = None,
    weight_kg: str | None = None,
    pregnant: bool = False,
    breastfeeding: bool = False,
    conditions: list[str] | None = None,
    medications: list[str] | None = None,
    allergies: list[str] | None = None,
) -> Patient:
    """The profile from the shared options; names stay as written (screening resolves them)."""
    if sex is not None and sex.strip().lower() not in ("female", "male", "f", "m"):
        raise InputError(f"--sex {sex!r}: write female or male")
    normalised_sex = (
        None if sex is None else ("female" if sex.strip().lower() in ("female", "f") else "male")
    )
    return Patient.of_age(
        decimal_option(age_years, "--age-years", "45"),
        decimal_option(age_months, "--age-months", "3"),
        sex=normalised_sex,
        weight_kg=decimal_option(weight_kg, "--weight-kg", "70"),
        pregnant=pregnant,
        breastfeeding=breastfeeding,
        conditions=tuple(conditions or ()),
        medications=tuple(medications or ()),
        allergies=tuple(allergies or ()),
    )
