"""Exact quantities: masses in micrograms and volumes in millilitres, as Decimal.

This module holds the strict readers the knowledge files use; user input goes through the
forgiving parser in ``b12.domain.dose_input``, which ends up here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MCG_PER: dict[str, Decimal] = {"mcg": Decimal(1), "mg": Decimal(1000), "g": Decimal(1_000_000)}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)\s*$")


def _split(text: str) -> tuple[Decimal, str]:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a quantity; write a number and a unit, e.g. '500 mcg'")
    try:
        return Decimal(match.group(1)), match.group(2)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r}: bad number") from exc


def parse_mass_mcg(text: str) -> Decimal:
    """'100 mg' -> Decimal('100000'); only mcg, mg and g are accepted here."""
    number, unit = _split(text)
    if unit not in MCG_PER:
        raise ValueError(f"{text!r}: mass unit must be one of mcg, mg, g")
    return number * MCG_PER[unit]


def parse_volume_ml(text: str | Decimal | int) -> Decimal:
    """'2 mL' -> Decimal('2'); only mL is accepted here."""
    if isinstance(text, Decimal | int):
        return Decimal(text)
    number, unit = _split(text)
    if unit != "mL":
        raise ValueError(f"{text!r}: volume unit must be mL")
    return number
