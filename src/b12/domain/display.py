"""How every b12 output writes numbers, masses, volumes and concentrations.

One module so that every screen, report and message follows ISMP's list of error-prone notations:
"mcg" never "ug" or "µg", "mL" never "cc", no trailing zero ("1 mg", not "1.0 mg"), always a
leading zero ("0.5 mL", not ".5 mL"), thousands separated ("1,000 mcg"), no exponent ("1E+3").
B12 doses are always shown in mcg; mg and g are for other ingredients (thiamine 100 mg).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal

from b12.errors import QuantityTypeError, QuantityValueError

MassUnit = Literal["mcg", "mg", "g"]
_SHIFT: dict[str, int] = {"mcg": 0, "mg": -3, "g": -6}
# Display never loses digits to the context: quantize and scaleb round to `prec` significant digits.
_WIDE = Context(prec=100_000)
_MAX_DIGITS = 1000  # written out without an exponent, 1E+999999999 would never finish printing


# The quantum for `places`, for the places callers use (Decimal(1).scaleb(-places) is exact).
_QUANTA: dict[int, Decimal] = {places: Decimal(1).scaleb(-places) for places in range(-3, 13)}


def _decimal(value: Decimal | int, what: str) -> Decimal:
    # bool is an int subclass and float is inexact: neither is a quantity.
    if type(value) is Decimal:
        number = value
    elif isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise QuantityTypeError(what, value)
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise QuantityValueError(what, number, "is not a finite number")
    if not number.is_zero() and not -_MAX_DIGITS <= number.adjusted() <= _MAX_DIGITS:
        raise QuantityValueError(what, number, f"needs more than {_MAX_DIGITS} digits to write out")
    return number


def _text(number: Decimal, places: int | None) -> str:
    """format_number for a number _decimal accepted."""
    if places is not None:
        quantum = _QUANTA.get(places)
        if quantum is None:
            quantum = Decimal(1).scaleb(-places)
        number = number.quantize(quantum, ROUND_HALF_UP, _WIDE)
    if number.is_zero():
        return "0"  # no "-0" and no "0.000"
    if number.adjusted() < 3:
        # Below 1,000 nothing is grouped, and without an exponent str() writes what ",f" does.
        text = str(number)
        if "E" in text:
            text = f"{number:,f}"
    else:
        text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_number(value: Decimal | int, *, places: int | None = None) -> str:
    """1000 -> '1,000'; Decimal('0.50') -> '0.5'; places rounds half-up (the caller must say so)."""
    return _text(_decimal(value, "format_number"), places)


def format_mass(mcg: Decimal | int, unit: MassUnit = "mcg", *, places: int | None = None) -> str:
    """Decimal('1000') -> '1,000 mcg'; format_mass(100_000, unit='mg') -> '100 mg'."""
    if unit not in _SHIFT:
        raise QuantityValueError("format_mass unit", unit, "is not one of mcg, mg, g")
    number = _decimal(mcg, "format_mass")
    if unit == "mcg" and places is None:
        # scaleb(0) only cuts a number to _WIDE.prec digits; if the text ends within that many
        # characters, no non-zero digit lies beyond, the value is kept and so is the text.
        text = _text(number, None)
        if len(text) <= _WIDE.prec:
            return f"{text} mcg"
    amount = number.scaleb(_SHIFT[unit], _WIDE)
    return f"{_text(_decimal(amount, 'format_number'), places)} {unit}"


def format_planned_dose(mcg: Decimal | int, source_range: str | None) -> str:
    """A planned dose and the range its source gives, as every door prints a plan's row:
    (30, '30-50') -> '30 mcg (source 30-50 mcg)'; (1000, None) -> '1,000 mcg'."""
    shown = format_mass(mcg)
    return f"{shown} (source {source_range} mcg)" if source_range else shown


def format_volume(ml: Decimal | int, *, places: int | None = None) -> str:
    """Decimal('0.50') -> '0.5 mL'; never 'cc'."""
    return f"{_text(_decimal(ml, 'format_volume'), places)} mL"


def format_concentration(
    mcg: Decimal | int, per_ml: Decimal | int = 1, *, unit: MassUnit = "mcg"
) -> str:
    """(1000) -> '1,000 mcg/mL'; (100_000, 2, unit='mg') -> '100 mg/2 mL'."""
    volume = _decimal(per_ml, "format_concentration per_ml")
    mass = format_mass(mcg, unit)
    if volume == 1:
        return f"{mass}/mL"
    return f"{mass}/{format_volume(volume)}"


def format_instant(at: datetime, zone: tzinfo | None) -> str:
    """An instant on the clinic's clock, to the minute: '2027-03-01 09:00' (``zone`` is the
    clinic's, Settings.zone; None: the machine's). Every door prints a time of the record so."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
