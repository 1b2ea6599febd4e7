"""Exact quantities: masses in mcg, volumes in mL, concentrations as mass per volume.

The strict readers here (``parse_mass_mcg``, ``parse_volume_ml``) serve the reviewed knowledge
files; what people type is read by ``b12.domain.dose_input``. Every value is a Decimal; a binary
float is refused wherever it could enter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
)
from fractions import Fraction

from b12.domain.display import format_concentration, format_mass, format_volume
from b12.errors import (
    IUNotAUnitError,
    QuantityTypeError,
    QuantityValueError,
    UnknownUnitError,
)

# ---------------------------------------------------------------------------------------------
# Exact arithmetic
# ---------------------------------------------------------------------------------------------

# Inputs are at most 14 significant digits (10 g in mcg with 6 decimals), so 60 digits leave every
# product and every terminating quotient exact; `Inexact` tells when a quotient did not terminate.
PRECISION = 60
_MAX_MAGNITUDE = 30  # 1E+30 mcg is a billion tonnes
MAX_PLACES = 6  # decimals a typed quantity may carry; more is a slip, not precision
_CONTEXT = Context(
    prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


# _CONTEXT, but an inexact result raises: an exact one (the common case) needs no context copy and
# no flags to read. On any signal, redo the operation in a copy of _CONTEXT: same precision and
# rounding, so the same result and the same exceptions, and its flags say whether it was cut.
# Shared and never read for its flags; do not change it.
EXACT = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)


def _exactly(operation: str, left: Decimal, right: Decimal) -> tuple[Decimal, bool]:
    """``operation`` ("divide" or "multiply") of the two, canonical, and whether it is exact."""
    try:
        result = getattr(EXACT, operation)(left, right)
    except ArithmeticError:
        context = _CONTEXT.copy()
        context.clear_flags()
        result = getattr(context, operation)(left, right)
        return canonical(result), not context.flags[Inexact]
    return canonical(result), True


def exact_divide(dividend: Decimal, divisor: Decimal) -> tuple[Decimal, bool]:
    """The quotient and whether it is exact (False: cut at 60 significant digits, e.g. 1/3)."""
    return _exactly("divide", dividend, divisor)


def exact_multiply(left: Decimal, right: Decimal) -> tuple[Decimal, bool]:
    """The product and whether it is exact."""
    return _exactly("multiply", left, right)


def exact_scale(value: Decimal, times: Decimal, over: Decimal) -> tuple[Decimal, bool]:
    """``value`` x ``times`` / ``over`` and whether both steps were exact (as exact_multiply then
    exact_divide: a cut step keeps its cut value). Not made canonical: Mass and Volume do that."""
    try:
        return EXACT.divide(EXACT.multiply(value, times), over), True
    except ArithmeticError:
        held, exact_product = exact_multiply(value, times)
        result, exact_quotient = exact_divide(held, over)
        return result, exact_product and exact_quotient


_NORMAL = Context(prec=PRECISION)
# Like _NORMAL, but any rounding raises: more than 60 digits goes to the path that keeps them all.
_NORMAL_EXACT = Context(
    prec=PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact, Rounded]
)


def canonical(number: Decimal) -> Decimal:
    """The same value without trailing zeros or exponent: 500.0 -> 500, 1E+3 -> 1000."""
    whole = number.to_integral_value()
    if number == whole:
        # to_integral_value keeps a positive exponent (1E+3), the sign of zero (-0) and infinity;
        # any other whole number it returns has exponent 0, as Decimal(int(number)) would.
        text = str(whole)
        if "E" in text or text == "-0" or not whole.is_finite():
            return Decimal(int(number))
        return whole
    try:
        return number.normalize(_NORMAL_EXACT)
    except ArithmeticError:  # normalizing would round: keep every digit
        digits = len(number.as_tuple().digits)
        # A context is costly to build; the shared one serves every number of <= 60 digits.
        return number.normalize(_NORMAL if digits <= PRECISION else Context(prec=digits))


def checked_decimal(value: object, what: str, *, positive: bool = False) -> Decimal:
    """``value`` as a quantity holds it: an exact, finite, non-negative (``positive``: > 0) Decimal
    of plausible size, canonical; anything else is a clear error naming ``what``."""
    # bool is an int subclass and float is inexact: neither may become a quantity.
    if type(value) is Decimal:
        number = value
    elif isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise QuantityTypeError(what, value)
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise QuantityValueError(what, number, "is not a finite number")
    if not number.is_zero() and not -PRECISION <= number.adjusted() <= _MAX_MAGNITUDE:
        # Writing 1E+999999999 out without an exponent would take a billion digits.
        raise QuantityValueError(what, number, "is out of any plausible range")
    if number < 0 or (positive and number == 0):
        raise QuantityValueError(what, number, "must be greater than zero" if positive else ">= 0")
    return canonical(number)


# ---------------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Mass:
    """An exact mass in micrograms."""

    mcg: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "mcg", checked_decimal(self.mcg, "Mass.mcg"))

    @classmethod
    def of(cls, value: Decimal, ucum: str) -> Mass:
        """A mass from a number and its UCUM code (a FHIR Quantity's value and code): ug, mg, g.

        No text is read: the code must be one of the three exactly. An international unit
        ('[iU]', '[IU]', 'IU') is refused, as it is when typed: vitamin B12 has none."""
        factor = UCUM_MCG_PER.get(ucum)
        number = checked_decimal(value, "Mass.of value")
        if factor is None:
            written = f"{value} {ucum}"
            if ucum in UCUM_IU:
                raise IUNotAUnitError(
                    "mass",
                    written,
                    ucum,
                    f"vitamin B12 has no international unit, so {ucum!r} is not converted",
                    "give the mass in ug, mg or g",
                )
            raise UnknownUnitError(
                "mass", written, ucum, f"{ucum!r} is not a UCUM mass code", "use ug, mg or g"
            )
        return cls(exact_multiply(number, factor)[0])

    def __str__(self) -> str:
        return format_mass(self.mcg)


#: Micrograms per unit, by UCUM code (case-sensitive, as UCUM is); the codes of a FHIR Quantity.
UCUM_MCG_PER: dict[str, Decimal] = {"ug": Decimal(1), "mg": Decimal(1000), "g": Decimal(1_000_000)}
#: The international unit as UCUM and senders write it: refused for B12.
UCUM_IU = frozenset({"[iU]", "[IU]", "IU", "iU"})


@dataclass(frozen=True, order=True)
class Volume:
    """A volume in millilitres; `exact` is False only for a quotient cut at 60 digits (1/3 mL)."""

    ml: Decimal
    exact: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ml", checked_decimal(self.ml, "Volume.ml"))

    def __str__(self) -> str:
        if self.exact:
            return format_volume(self.ml)
        return f"about {format_volume(self.ml, places=MAX_PLACES)}"


@dataclass(frozen=True, eq=False)
class Concentration:
    """`mcg` micrograms in `per_ml` millilitres, kept as written so 1 mg/3 mL stays exact."""

    mcg: Decimal
    per_ml: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mcg", checked_decimal(self.mcg, "Concentration.mcg", positive=True)
        )
        object.__setattr__(
            self, "per_ml", checked_decimal(self.per_ml, "Concentration.per_ml", positive=True)
        )

    @property
    def mcg_per_ml(self) -> Decimal:
        """Micrograms in 1 mL (cut at 60 digits when the ratio does not terminate)."""
        return exact_divide(self.mcg, self.per_ml)[0]

    def _ratio(self) -> Fraction:
        return Fraction(self.mcg) / Fraction(self.per_ml)

    def __eq__(self, other: object) -> bool:
        # 2,000 mcg/2 mL is the same concentration as 1,000 mcg/mL.
        if not isinstance(other, Concentration):
            return NotImplemented
        return self._ratio() == other._ratio()

    def __hash__(self) -> int:
        return hash(self._ratio())

    def __str__(self) -> str:
        return format_concentration(self.mcg, self.per_ml)


# ---------------------------------------------------------------------------------------------
# Strict readers for the knowledge files (their behaviour is part of the schema: keep it)
# ---------------------------------------------------------------------------------------------

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
