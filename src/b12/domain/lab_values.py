"""Read what people type for a laboratory result (``b12=150pg/mL``) exactly, or say what to write.

A reading is ``NAME=VALUE[UNIT]``: a plain decimal (no sign, exponent, comma or comparator) and
the unit as the lab prints it. Units are compared by a key that ignores case and spaces and reads
µ/μ as u, mcg as ug, and ``x10^6``, ``10*6``, ``×10⁶`` as one notation, so ``x10^6/uL`` matches the
UCUM ``10*6/uL`` the knowledge base declares.

Errors (all InputError, CLI exit 2):
    LabInputError          the reading as written: text, problem, instead
     +-- LabUnitError      the unit is missing or not one the analyte accepts: analyte, unit, units
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from b12.errors import InputError

EXAMPLE = "b12=150pg/mL"
MAX_PLACES = 6
MAX_DIGITS = 12  # digits before the point; no laboratory value needs more
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUPER_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_POWER = re.compile(r"^(?:x|\*)?10(?:\^|\*|e)?(?=\d)")
_NUMBER = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<unit>.*)", re.S)
_SPACES = re.compile(r"\s+")
_GROUPED = re.compile(r"\s[0-9]{3}(?![0-9*^e])")  # '1 200': thousands grouped by a space


class LabInputError(InputError):
    """A laboratory reading as written could not be read."""

    def __init__(self, text: str, problem: str, instead: str, *, field: str | None = None) -> None:
        self.text = text
        self.problem = problem
        self.instead = instead
        super().__init__(f"{text!r}: {problem}; {instead}", field=field)


class LabUnitError(LabInputError):
    """The unit is missing or is not one the analyte accepts; ``units`` lists those it does."""

    def __init__(self, text: str, analyte: str, unit: str, units: tuple[str, ...]) -> None:
        self.analyte = analyte
        self.unit = unit
        self.units = units
        shown = ", ".join(units)
        problem = (
            f"no unit given for {analyte}" if not unit else f"{analyte} cannot be read in {unit!r}"
        )
        super().__init__(text, problem, f"write the value in one of: {shown}")


@dataclass(frozen=True)
class Reading:
    """One result as written: the name, the exact value, and the unit (empty when none)."""

    text: str
    name: str
    value: Decimal
    unit: str


@dataclass(frozen=True)
class Measurement:
    """One result, read: the analyte's id, the exact value, and its unit as the knowledge declares
    it in UCUM ('pg/mL', '10*6/uL'). What a door hands the services, whatever it read it from."""

    analyte: str
    value: Decimal
    unit: str
    unit_assumed: bool = False  # no unit was written; the analyte's only meaning was taken
    name: str = ""  # the test as it was named ('Hb'), shown back; empty: the analyte id
    text: str = ""  # the reading as written ('Hb=11.2 g/dL'), kept; empty: none was written

    @property
    def shown_name(self) -> str:
        return self.name or self.analyte

    @property
    def shown(self) -> str:
        """The reading as written, else as b12 writes it: 'hb=11.2g/dL'."""
        return self.text or f"{self.shown_name}={self.value}{show_unit(self.unit)}"


@dataclass(frozen=True)
class ReferenceRange:
    """A laboratory's own reference range for one analyte, both ends inclusive, in a unit the
    knowledge declares for it (UCUM): what a door hands the services with the readings."""

    analyte: str
    low: Decimal
    high: Decimal
    unit: str
    text: str = ""  # the range as written ('4.2-5.4'), shown back; empty: none was written

    @property
    def shown(self) -> str:
        """'12-15 g/dL': as written, else from the values."""
        unit = show_unit(self.unit)
        return self.text or f"{self.low}-{self.high} {unit}".rstrip()


def no_reading() -> LabInputError:
    """An empty set of results: at least one is needed."""
    return LabInputError(
        "",
        "no result given",
        f"write at least one NAME=VALUE[UNIT], e.g. {EXAMPLE}",
        field="readings",
    )


def _clean(text: str) -> str:
    visible = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return _SPACES.sub(" ", visible).strip()


def parse_reading(text: str) -> Reading:
    """'b12=150pg/mL' -> Reading('b12', 150, 'pg/mL'); anything else raises LabInputError."""
    if not isinstance(text, str):
        raise LabInputError(repr(text), "not text", f"write NAME=VALUE[UNIT], e.g. {EXAMPLE}")
    cleaned = _clean(text)
    name, sep, rest = cleaned.partition("=")
    name, rest = name.strip(), rest.strip()
    if not sep or not name:
        raise LabInputError(text, "not NAME=VALUE[UNIT]", f"write e.g. {EXAMPLE}")
    if not rest:
        raise LabInputError(text, f"no value after {name}=", f"write e.g. {name}=150pg/mL")
    return Reading(text, name, *read_value(rest, text))


def read_value(rest: str, text: str) -> tuple[Decimal, str]:
    """'150 pg/mL' -> (150, 'pg/mL'): a plain, non-negative decimal, then the unit as written."""
    if rest[0] in "<>≤≥":
        raise LabInputError(
            text,
            f"{rest[0]} marks a value outside what the lab can measure, which b12 cannot band",
            "write the number the lab reported and read the lab's comment",
        )
    if rest[0] in "-−–+":
        raise LabInputError(text, "a signed value", "write the value as a plain number, e.g. 4.5")
    match = _NUMBER.fullmatch(rest)
    if match is None:
        raise LabInputError(text, f"{rest!r} does not start with a number", f"write e.g. {EXAMPLE}")
    number, unit = match["number"], match["unit"].strip()
    if match["unit"][:1] in (",", ".") or _GROUPED.match(match["unit"]):
        raise LabInputError(
            text,
            f"{number}{unit[:1]} is not a plain number",
            "write the value without commas or spaces, with a point for decimals: 1200, 4.5",
        )
    whole, _, places = number.partition(".")
    if len(places) > MAX_PLACES or len(whole.lstrip("0")) > MAX_DIGITS:
        raise LabInputError(
            text,
            f"{number} has more digits than any laboratory value",
            f"write at most {MAX_DIGITS} digits before the point and {MAX_PLACES} after it",
        )
    return Decimal(number.rstrip(".") or "0"), unit


def unit_key(unit: str) -> str:
    """'×10⁶/µL' and '10*6/uL' -> '10*6/ul'; 'mcg/L' -> 'ug/l': one key per unit notation."""
    text = _SUPER_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), unit)
    text = unicodedata.normalize("NFKC", text).replace("μ", "u").replace("×", "x")
    text = text.replace(" ", "").lower().replace("mcg", "ug")
    return _POWER.sub("10*", text)


def show_unit(ucum: str) -> str:
    """A UCUM unit as b12 prints it (ISMP: mcg, never ug): '10*6/uL' -> 'x10^6/uL'."""
    text = ucum.replace("ug", "mcg")
    text = re.sub(r"^10\*(\d+)", r"x10^\1", text)
    return "" if text == "1" else text
