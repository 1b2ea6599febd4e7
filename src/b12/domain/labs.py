"""Normalise a laboratory reading to its analyte's canonical unit and band it, exactly.

Bands are applied in the unit the source writes them, with its boundaries as written: a value in
ng/L (or pg/mL, the same quantity) is banded on NICE's ng/L figures and a value in pmol/L on its
pmol/L figures, each boundary in the band the source gives it (NICE: 180 ng/L and 350 ng/L are
both "indeterminate"). Only when no band is written in the reading's unit is the value converted
(exactly, with Decimal) to the unit of the bands, and the result states the conversion. A value
converted by a rounded factor (ng/L x 0.738) within ``NEAR_BOUNDARY`` of a boundary gets an info
finding, because the rounded factor could move it across.

Lab ranges given with a reading are inclusive at both ends, as labs print them (4.2-5.4 means
5.4 is normal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from b12.domain.lab_values import (
    LabInputError,
    LabUnitError,
    Measurement,
    ReferenceRange,
    read_value,
    show_unit,
    unit_key,
)
from b12.domain.quantity import canonical

if TYPE_CHECKING:
    from b12.knowledge.entries import Analyte, Band, LoincCode, UnitFactor

UNKNOWN = "unknown"
#: From laboratory.yaml's note on analytes:b12 ("within 1 pmol/L of a boundary").
NEAR_BOUNDARY = Decimal(1)


@dataclass(frozen=True)
class Normalised:
    """A reading in its unit as declared and in the analyte's canonical unit."""

    unit: UnitFactor
    value: Decimal
    canonical_value: Decimal
    unit_assumed: bool  # no unit written; the analyte's only unit was taken

    @property
    def converted(self) -> bool:
        return self.unit.to_canonical != 1


@dataclass(frozen=True)
class LabRange:
    """A lab's own reference range in the canonical unit, both ends inclusive."""

    analyte: str
    low: Decimal
    high: Decimal
    text: str

    def band(self, value: Decimal) -> str:
        return "low" if value < self.low else "high" if value > self.high else "normal"


def is_panel(analyte: Analyte) -> bool:
    return not analyte.units


def normalise(analyte: Analyte, reading: Measurement) -> Normalised:
    """The reading converted to the canonical unit; a unit the analyte does not declare (in
    UCUM, as the knowledge writes it) is an input error."""
    unit = declared_unit(analyte, reading.unit, reading.shown)
    value = canonical(reading.value * unit.to_canonical)
    return Normalised(unit, canonical(reading.value), value, reading.unit_assumed)


def declared_unit(analyte: Analyte, ucum: str, shown: str) -> UnitFactor:
    """The analyte's unit written exactly ``ucum`` ('pg/mL', '10*6/uL'); any other is refused:
    a typed reading carries the unit as declared, an adapter reads the lab's notation."""
    for unit in analyte.units:
        if unit.unit == ucum:
            return unit
    raise LabUnitError(shown, analyte.id, ucum, tuple(u.unit for u in analyte.units))


def find_unit(analyte: Analyte, written: str, text: str) -> UnitFactor:
    """The analyte's unit matching ``written``; a missing unit only where there is one unit."""
    declared = tuple(show_unit(u.unit) or u.unit for u in analyte.units)
    if not written:
        # b12 without a unit could be pg/mL or pmol/L, which band differently: never guessed.
        # Where every unit converts alike (rbc: 10*6/uL = 10*12/L), the number means one thing.
        if len({u.to_canonical for u in analyte.units}) == 1:
            return next(u for u in analyte.units if u.unit == analyte.canonical_unit)
        raise LabUnitError(text, analyte.id, "", declared)
    key = unit_key(written)
    for unit in analyte.units:
        if unit_key(unit.unit) == key:
            return unit
    raise LabUnitError(text, analyte.id, written, declared)


def applicable_bands(
    bands: Sequence[Band], sex: str | None, age_years: Decimal | None
) -> tuple[tuple[Band, ...], str | None]:
    """The bands for this patient, or none and the reason ('age' or 'sex')."""
    for_age = tuple(
        b
        for b in bands
        if b.min_age_years is None or age_years is None or age_years >= b.min_age_years
    )
    if bands and not for_age:
        return (), "age"
    if any(b.sex for b in for_age):
        if sex is None:
            return (), "sex"
        for_age = tuple(b for b in for_age if b.sex in (None, sex))
    return for_age, None


@dataclass(frozen=True)
class BandScale:
    """The bands a reading is judged on, and the reading's value in the bands' unit."""

    bands: tuple[Band, ...]
    unit: str  # UCUM unit of the bands
    value: Decimal  # the reading in that unit
    converted: bool  # the value had to be converted to the bands' unit
    times: Decimal = Decimal(1)  # value in the bands' unit = value as written x times / per
    per: Decimal = Decimal(1)

    @property
    def rounded_factor(self) -> bool:
        """True unless the factors are powers of ten (SI prefixes or identities)."""
        return any(f.normalize().as_tuple().digits != (1,) for f in (self.times, self.per))


def band_unit(analyte: Analyte, band: Band) -> str:
    return band.unit or analyte.canonical_unit


def band_scale(analyte: Analyte, bands: Sequence[Band], value: Normalised) -> BandScale:
    """The bands written in the reading's unit (or one of the same factor); else convert."""
    factors = {unit_key(u.unit): u.to_canonical for u in analyte.units}
    written = unit_key(value.unit.unit)

    def of_unit(key: str) -> tuple[Band, ...]:
        return tuple(b for b in bands if unit_key(band_unit(analyte, b)) == key)

    same = of_unit(written) or next(
        (
            of_unit(key)
            for key in dict.fromkeys(unit_key(band_unit(analyte, b)) for b in bands)
            if factors.get(key) == value.unit.to_canonical
        ),
        (),
    )
    if same or not bands:
        unit = band_unit(analyte, same[0]) if same else value.unit.unit
        return BandScale(same, unit, value.value, False)
    canonical_key = unit_key(analyte.canonical_unit)
    target = of_unit(canonical_key) or of_unit(unit_key(band_unit(analyte, bands[0])))
    unit = band_unit(analyte, target[0])
    times, per = value.unit.to_canonical, factors[unit_key(unit)]
    if times == per:  # same factor under another spelling
        return BandScale(target, unit, value.value, False)
    return BandScale(target, unit, canonical(value.value * times / per), True, times, per)


def band_of(bands: Sequence[Band], value: Decimal) -> Band | None:
    """The band holding ``value``, each boundary where the band says (low/high_inclusive)."""
    return next((b for b in bands if holds(b, value)), None)


def band_without_sex(bands: Sequence[Band], value: Decimal) -> str | None:
    """The band name when every sex's bands agree on it (RBC 3 is low for both), else None."""
    names = {
        b.name for sex in ("female", "male") for b in bands if b.sex == sex and holds(b, value)
    }
    return names.pop() if len(names) == 1 else None


def holds(band: Band, value: Decimal) -> bool:
    above = band.low is None or value > band.low or (band.low_inclusive and value == band.low)
    below = band.high is None or value < band.high or (band.high_inclusive and value == band.high)
    return above and below


def near_boundary(bands: Sequence[Band], value: Decimal) -> Decimal | None:
    """The boundary within NEAR_BOUNDARY of ``value`` (where a rounded factor can move the band)."""
    edges = sorted({e for b in bands for e in (b.low, b.high) if e is not None})
    return next((e for e in edges if abs(value - e) < NEAR_BOUNDARY), None)


def normal_range(bands: Sequence[Band], sex: str | None) -> Band | None:
    """The 'normal' band of a reference range for this sex (None when the sex is needed)."""
    normal = [b for b in bands if b.name == "normal" and (b.sex is None or b.sex == sex)]
    return normal[0] if len(normal) == 1 else None


def loinc_for(analyte: Analyte, unit: UnitFactor) -> LoincCode | None:
    """The code for the unit's property (a molar unit -> the molar code), else the first listed."""
    codes = [c for c in analyte.loinc if c.note is None or "not" not in c.note.lower()]
    molar = "mol" in unit.unit.lower()
    for code in codes:
        prop = code.property.lower()
        if ("molar" in prop) == molar and ("mass" in prop or "molar" in prop):
            return code
    return codes[0] if codes else (analyte.loinc[0] if analyte.loinc else None)


def loinc_unit_mismatch(analyte: Analyte, loinc: str, unit: UnitFactor, written: str) -> str | None:
    """Why a result in ``unit`` (as ``written``) cannot carry LOINC ``loinc`` (a mass unit with
    the molar code, or the reverse), else None: the one check of every door that reads a
    LOINC-coded result (the FHIR import, the CDS Hooks prefetch)."""
    expected = loinc_for(analyte, unit)
    sent = next((lc for lc in analyte.loinc if lc.code == loinc), None)
    if expected is None or sent is None or sent.property == expected.property:
        return None
    return (
        f"{written} does not measure what LOINC {loinc} measures ({sent.property}): send "
        f"{expected.code} ({expected.property}) with this unit, or a unit of {loinc}"
    )


def parse_range(analyte: Analyte, text: str, written: str) -> ReferenceRange:
    """'180-914pg/mL' -> the range in the unit written, as the knowledge declares it."""
    low_text, sep, rest = text.strip().partition("-")
    if not sep or not low_text.strip() or not rest.strip():
        raise LabInputError(
            written, "not a range LOW-HIGH", "write e.g. rbc=4.2-5.4", field="ranges"
        )
    low, low_unit = read_value(low_text.strip(), written)
    high, unit_text = read_value(rest.strip(), written)
    unit = find_unit(analyte, unit_text or low_unit, written)
    if low_unit and unit_key(low_unit) != unit_key(unit.unit):
        raise LabInputError(written, "two units in one range", "write the unit once, after HIGH")
    if high < low:
        raise LabInputError(written, "LOW is above HIGH", "write the range as LOW-HIGH")
    return ReferenceRange(analyte.id, low, high, unit.unit, text.strip())


def lab_range(analyte: Analyte, given: ReferenceRange) -> LabRange:
    """A lab's range in the analyte's canonical unit (a unit it does not declare, or LOW above
    HIGH, is an input error)."""
    shown = f"{given.analyte}={given.shown}"
    unit = declared_unit(analyte, given.unit, shown)
    if given.high < given.low:
        raise LabInputError(shown, "LOW is above HIGH", "write the range as LOW-HIGH")
    factor = unit.to_canonical
    low, high = canonical(given.low * factor), canonical(given.high * factor)
    return LabRange(analyte.id, low, high, given.shown)
