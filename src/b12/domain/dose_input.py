"""Read quantities as people type them: ``.5mg``, ``1,000 µg``, ``1 mg/1 mL``, ``5000 iu``.

``parse_dose``, ``parse_volume`` and ``parse_concentration`` normalise to exact mcg and mL and raise
a ``b12.errors.QuantityInputError`` subclass that says what to write instead; IU is refused unless
the caller accepts the 1 IU = 1 mcg assumption, which the result then records.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from b12.domain.display import format_mass, format_number
from b12.domain.quantity import EXACT, MAX_PLACES, Concentration, Mass, Volume, exact_multiply
from b12.errors import (
    AmbiguousNumberError,
    DoseUnitError,
    EmptyQuantityError,
    IUNotAUnitError,
    MissingNumberError,
    MissingUnitError,
    NegativeQuantityError,
    NotFiniteError,
    QuantityTypeError,
    TooLargeError,
    TooManyNumbersError,
    TooPreciseError,
    UnknownUnitError,
    UnreadableQuantityError,
    WrongUnitKindError,
    ZeroQuantityError,
)


@dataclass(frozen=True)
class ParsedDose:
    """A dose as the user wrote it and as b12 read it."""

    mass: Mass
    text: str  # as typed
    unit_written: str  # 'µg', 'IU', 'milligrams'
    normalised: str  # how b12 shows it back: '500 mcg'
    assumed_iu_is_mcg: bool = False

    @classmethod
    def of(cls, mass: Mass) -> ParsedDose:
        """A dose given as a quantity (a plan's dose, a FHIR Quantity), not typed: no text was
        read, so it is 'written' as b12 shows it, in mcg."""
        shown = format_mass(mass.mcg)
        return cls(mass, shown, "mcg", shown)

    @property
    def assumption(self) -> str | None:
        """The recorded assumption, or None when the dose was written in a mass unit."""
        if not self.assumed_iu_is_mcg:
            return None
        return (
            f"{self.unit_written!r} read as mcg (1 IU taken as 1 mcg, on request): "
            "vitamin B12 has no international unit"
        )


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

_MCG, _MG, _G = Decimal(1), Decimal(1000), Decimal(1_000_000)
# Keys are casefolded with spaces and dots removed: 'µg' (micro sign) casefolds to 'μg' (mu).
MASS_UNITS: dict[str, Decimal] = {
    **dict.fromkeys(
        ("mcg", "mcgs", "μg", "ug", "microgram", "micrograms", "microgramme", "microgrammes"), _MCG
    ),
    **dict.fromkeys(("mg", "milligram", "milligrams", "milligramme", "milligrammes"), _MG),
    **dict.fromkeys(("g", "gram", "grams", "gramme", "grammes"), _G),
}
VOLUME_UNITS = frozenset(
    ("ml", "mls", "cc", "milliliter", "milliliters", "millilitre", "millilitres")
)
# 'IU', 'I.U.', 'units', 'U', French/Spanish 'UI', German 'I.E.', Russian 'МЕ' and 'ЕД'.
IU_UNITS = frozenset(
    {"iu", "ui", "ie", "u", "unit", "units", "internationalunit", "internationalunits", "me"}
    | {"ме", "ед"}  # Cyrillic
)

MAX_MCG = Decimal(10_000_000)  # 10 g: no B12 (or co-ingredient) dose comes near it
MAX_ML = Decimal(1000)
MAX_MCG_PER_ML = Decimal(10_000_000)  # 10 g/mL
_EXAMPLES = {
    "dose": "500 mcg, 0.5 mg",
    "volume": "0.5 mL, 1 mL",
    "concentration": "1,000 mcg/mL, 1 mg/1 mL",
}
_UNITS_IN = {"dose": "mcg, mg or g", "volume": "mL", "concentration": "mcg/mL or mg/mL"}


def _unit_key(unit: str) -> str:
    return "".join(unit.casefold().split()).replace(".", "")


# ---------------------------------------------------------------------------------------------
# Reading what people write
# ---------------------------------------------------------------------------------------------

_SHAPE = re.compile(r"(?P<sign>[+\-−–—]?)\s*(?P<number>[0-9.,]*[0-9][0-9.,]*)\s*(?P<unit>.*)", re.S)
_NOT_FINITE = re.compile(r"(?<![a-z])(?:s?nan|inf(?:inity)?)(?![a-z])|∞", re.I)
_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DOT_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_DIGIT = re.compile("[0-9]")
_SEPARATOR = re.compile(r"/|(?<![^\s0-9])per(?![^\s0-9])", re.I)


def _clean(text: str) -> str:
    # Pasted text brings zero-width and bidi marks (category Cf) and non-breaking spaces;
    # plain ASCII (what is typed) has neither, so it skips the per-character scan.
    if text.isascii():
        return " ".join(text.split())
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


def _example(kind: str) -> str:
    return _EXAMPLES[kind]


def _number(number: str, kind: str, text: str) -> Decimal:
    """Read '1,000.5' or '.5' exactly, refusing decimal commas and dots that may group thousands."""
    if "," in number:
        if not _THOUSANDS.fullmatch(number):
            raise AmbiguousNumberError(
                kind,
                text,
                f"the comma in {number} is not a thousands separator",
                "write decimals with a point and thousands in groups of three: 1.5 mg, 1,000 mcg",
            )
        number = number.replace(",", "")
    elif _DOT_THOUSANDS.fullmatch(number) and (number.count(".") > 1 or number.endswith("0")):
        # '1.000 mcg' is 1,000 mcg in much of Europe and 1 mcg in the US: a 1000x slip.
        grouped = number.replace(".", "")
        decimal = format_number(Decimal(number)) if number.count(".") == 1 else None
        either = f"{format_number(Decimal(grouped))} or {decimal}" if decimal else grouped
        raise AmbiguousNumberError(
            kind,
            text,
            f"the dot in {number} may separate thousands",
            f"write the number without a thousands dot or trailing zeros: {either}",
        )
    if not _PLAIN.fullmatch(number):
        raise UnreadableQuantityError(
            kind, text, f"{number} is not a number", f"write the {kind} as: {_example(kind)}"
        )
    places = len(number.partition(".")[2])
    if places > MAX_PLACES:
        raise TooPreciseError(
            kind,
            text,
            f"{places} decimal places",
            f"write at most {MAX_PLACES} decimal places: {_example(kind)}",
        )
    return Decimal(number)


def _read(part: str, kind: str, text: str) -> tuple[Decimal, str]:
    """Split 'number unit' into an exact, non-negative number and the unit as written."""
    cleaned = _clean(part)
    if not cleaned:
        raise EmptyQuantityError(
            kind, text, "nothing written", f"write the {kind} with a unit: {_example(kind)}"
        )
    if _NOT_FINITE.search(cleaned):
        raise NotFiniteError(
            kind, text, "not a finite number", f"write the {kind} as: {_example(kind)}"
        )
    match = _SHAPE.fullmatch(cleaned)
    if match is None:
        if any(ch.isnumeric() for ch in cleaned) and not _DIGIT.search(cleaned):
            problem = "a number not written with the digits 0-9"
        elif any(ch.isnumeric() for ch in cleaned):
            problem = "the number must come first"
        else:
            raise MissingNumberError(
                kind,
                text,
                "no number",
                f"write the {kind} as a number and a unit: {_example(kind)}",
            )
        raise UnreadableQuantityError(
            kind, text, problem, f"write the {kind} as a number and then a unit: {_example(kind)}"
        )
    sign, number, unit = match.group("sign", "number", "unit")
    if any(ch.isnumeric() for ch in unit):
        raise TooManyNumbersError(
            kind,
            text,
            "more than one number",
            f"write one {kind} with one number and no space inside it: {_example(kind)}",
        )
    value = _number(number, kind, text)
    if sign not in ("", "+"):
        raise NegativeQuantityError(
            kind,
            text,
            "a negative number",
            f"write the {kind} as a positive number: {_example(kind)}",
        )
    return value, unit.strip()


def _check_size(value: Decimal, limit: Decimal, shown_limit: str, kind: str, text: str) -> None:
    if value == 0:
        raise ZeroQuantityError(
            kind, text, "zero", f"write a {kind} greater than zero: {_example(kind)}"
        )
    if value > limit:
        raise TooLargeError(
            kind,
            text,
            f"more than {shown_limit}",
            f"check the {kind} and its unit, then write it as: {_example(kind)}",
        )


def _mass_factor(
    unit: str, kind: str, text: str, *, assume_iu_is_mcg: bool
) -> tuple[Decimal, bool]:
    """The mcg per unit written, and whether the 1 IU = 1 mcg assumption was applied."""
    key = _unit_key(unit)
    if not key:
        raise MissingUnitError(
            kind, text, unit, "no unit", f"write the {kind} with a unit: {_example(kind)}"
        )
    if key in MASS_UNITS:
        return MASS_UNITS[key], False
    if key in IU_UNITS:
        if assume_iu_is_mcg:
            return _MCG, True
        instead = f"write the {kind} in mcg: {_example(kind)}"
        if kind == "dose":
            instead = "write the dose in mcg (500 mcg), or accept the assumption 1 IU = 1 mcg"
        refused = IUNotAUnitError(
            kind,
            text,
            unit,
            f"vitamin B12 has no international unit, so {unit!r} is not converted",
            instead,
        )
        if kind == "dose":  # accepting the assumption settles it too
            refused.alternatives = ("assume_iu_is_mcg",)
        raise refused
    if key in VOLUME_UNITS:
        problem = f"{unit!r} is a volume, not a mass"
    elif "/" in key or key.startswith("per"):
        problem = f"{unit!r} is a ratio, not a mass"
    else:
        raise UnknownUnitError(
            kind,
            text,
            unit,
            f"unknown unit {unit!r}",
            f"write the {kind} in {_UNITS_IN[kind]}: {_example(kind)}",
        )
    raise WrongUnitKindError(
        kind, text, unit, problem, f"write the {kind} in {_UNITS_IN[kind]}: {_example(kind)}"
    )


def _volume_unit(unit: str, kind: str, text: str) -> None:
    key = _unit_key(unit)
    if key in VOLUME_UNITS:
        return
    if not key:
        raise MissingUnitError(
            kind, text, unit, "no unit", f"write the {kind} with a unit: {_example(kind)}"
        )
    error: type[DoseUnitError]
    if key in MASS_UNITS or key in IU_UNITS:
        problem, error = f"{unit!r} is not a volume", WrongUnitKindError
    else:
        problem, error = f"unknown unit {unit!r}", UnknownUnitError
    raise error(kind, text, unit, problem, f"write the volume in mL: {_EXAMPLES['volume']}")


def _require_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise QuantityTypeError(f"{what} takes text such as '500 mcg'", text)
    return text


# The shape nearly every order has: an ASCII number without sign or comma, then at most one space
# and a unit of ASCII letters ('500 mcg', '0.5mg', '.5 mg'). _simple_mass reads it; anything else,
# and anything the general path would refuse, goes through _read and _mass_factor.
_SIMPLE = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+) ?([A-Za-z]+)")
# Unit key -> (mcg per unit, the largest number _check_size lets through in that unit).
_SIMPLE_UNITS = {key: (factor, MAX_MCG / factor) for key, factor in MASS_UNITS.items()}
_SIMPLE_IU = (_MCG, MAX_MCG / _MCG)


def _simple_mass(part: str, assume_iu_is_mcg: bool) -> tuple[Decimal, str, bool] | None:
    """_mass for the common shape, or None when the general path must read it (or refuse it).

    Text of this shape is already clean, has no 'nan'/'inf' (the unit must be a mass or IU unit)
    and splits into the same number and unit as _SHAPE; its unit key is the unit lower-cased.
    The mcg are exact; Mass and Concentration make them canonical.
    """
    match = _SIMPLE.fullmatch(part)
    if match is None:
        return None
    number, unit = match.groups()
    if "." in number and (
        len(number.partition(".")[2]) > MAX_PLACES
        or (number.endswith("0") and _DOT_THOUSANDS.fullmatch(number))
    ):
        return None  # too precise, or a dot that may group thousands ('1.000')
    key = unit.lower()
    known = _SIMPLE_UNITS.get(key)
    assumed = False
    if known is None:
        if not (assume_iu_is_mcg and key in IU_UNITS):
            return None
        known, assumed = _SIMPLE_IU, True
    value = Decimal(number)
    if not value or value > known[1]:
        return None  # zero or too large: the general path says so
    # At most 13 digits times a power of ten: exact, so EXACT never raises here.
    return EXACT.multiply(value, known[0]), unit, assumed


def _mass(part: str, kind: str, text: str, *, assume_iu_is_mcg: bool) -> tuple[Decimal, str, bool]:
    simple = _simple_mass(part, assume_iu_is_mcg)
    if simple is not None:
        return simple
    number, unit = _read(part, kind, text)
    factor, assumed = _mass_factor(unit, kind, text, assume_iu_is_mcg=assume_iu_is_mcg)
    _check_size(number, MAX_MCG / factor, "10 g (10,000,000 mcg)", kind, text)
    return exact_multiply(number, factor)[0], unit, assumed


def parse_dose(text: str, *, assume_iu_is_mcg: bool = False) -> ParsedDose:
    """'0.5 mg', '.5mg', '1,000 µg', '500 mcg.' -> the exact dose in mcg, as written and read."""
    text = _require_text(text, "parse_dose")
    mcg, unit, assumed = _mass(text, "dose", text, assume_iu_is_mcg=assume_iu_is_mcg)
    mass = Mass(mcg)
    return ParsedDose(mass, text, unit, format_mass(mass.mcg), assumed)


def parse_volume(text: str) -> Volume:
    """'0.5 mL', '1 ml', '1 cc' -> the exact volume in mL."""
    text = _require_text(text, "parse_volume")
    number, unit = _read(text, "volume", text)
    _volume_unit(unit, "volume", text)
    _check_size(number, MAX_ML, "1,000 mL", "volume", text)
    return Volume(number)


# A ward uses a few strengths, typed the same way again and again: what they were read as (only
# concentrations that were read; an error is raised anew each time). Concentration is frozen.
_CONCENTRATIONS: dict[str, Concentration] = {}
_CONCENTRATIONS_KEPT = 256


def parse_concentration(text: str) -> Concentration:
    """'1000 mcg/mL', '0.5 mg/mL', '100 mg/2 mL', '1000 mcg per mL' -> the exact concentration."""
    if type(text) is not str:  # a str subclass may compare or hash as it likes: never cached
        return _parse_concentration(_require_text(text, "parse_concentration"))
    concentration = _CONCENTRATIONS.get(text)
    if concentration is None:
        concentration = _parse_concentration(text)
        if len(_CONCENTRATIONS) >= _CONCENTRATIONS_KEPT:
            _CONCENTRATIONS.clear()
        _CONCENTRATIONS[text] = concentration
    return concentration


def _parse_concentration(text: str) -> Concentration:
    kind = "concentration"
    parts = _SEPARATOR.split(text)
    instead = f"write the concentration as mass per volume: {_example(kind)}"
    if len(parts) > 2:
        raise UnreadableQuantityError(kind, text, "more than one '/' or 'per'", instead)
    if len(parts) == 2 and not _clean(parts[0]):
        raise MissingNumberError(kind, text, "no mass before the '/'", instead)
    mcg, _, _ = _mass(parts[0], kind, text, assume_iu_is_mcg=False)
    if len(parts) == 1:
        raise MissingUnitError(kind, text, "", "no volume", instead)
    volume_part = parts[1]
    volume = _clean(volume_part)
    if not _DIGIT.search(volume):
        # 'mcg/mL' means per one millilitre.
        _volume_unit(volume, kind, text)
        per_ml = Decimal(1)
    else:
        per_ml, unit = _read(volume, kind, text)
        _volume_unit(unit, kind, text)
        _check_size(per_ml, MAX_ML, "1,000 mL", kind, text)
    if mcg > MAX_MCG_PER_ML * per_ml:
        raise TooLargeError(
            kind,
            text,
            "more than 10 g/mL",
            f"check the {kind} and its units, then write it as: {_example(kind)}",
        )
    return Concentration(mcg, per_ml)
