"""Interpret laboratory results: read, normalise, band against NICE or a reference range, explain.

Finding codes raised here (all info unless said):
  LAB_DEFICIENT (warning)     NICE: confirmed deficiency (total or active B12)
  LAB_INDETERMINATE           NICE: indeterminate; NICE's next step is in the message
  LAB_OUT_OF_RANGE            low or high against the default or the lab's range
  LAB_HYPOKALAEMIA (warning)  potassium below its range; louder (URGENT, with the day) in the
                              first days after the first injection of the course
  LAB_BAND_CONVERTED          no band is written in the unit given: converted to the bands' unit
  LAB_NO_REFERENCE_RANGE      no listed source gives a range: the lab's own range applies
  LAB_BAND_NOT_FOR_AGE        the bands are for older patients (NICE: 16 and over)
  LAB_BAND_AGE_ASSUMED        age not given; the bands' minimum age was assumed
  LAB_SEX_NEEDED              the range differs by sex and the sex is not given
  LAB_UNIT_ASSUMED            no unit written; the analyte's only unit was taken
  LAB_NEAR_BAND_BOUNDARY      a value converted by a rounded factor within 1 unit of a boundary
  LAB_B12_TIMING              a B12 level is valid only 14 days or more after an injection
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.domain.display import format_number
from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.lab_values import (
    LabInputError,
    Measurement,
    ReferenceRange,
    no_reading,
    show_unit,
)
from b12.domain.labs import (
    UNKNOWN,
    BandScale,
    LabRange,
    Normalised,
    applicable_bands,
    band_of,
    band_scale,
    band_without_sex,
    is_panel,
    lab_range,
    loinc_for,
    near_boundary,
    normal_range,
    normalise,
)
from b12.domain.patient import Patient
from b12.errors import about
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Analyte, Band

REFERENCE_BANDS = frozenset({"low", "normal", "high"})
B12_ANALYTES = frozenset({"b12", "active-b12"})
#: The first days of treatment in which a low potassium is most dangerous: the US label asks for
#: potassium closely for the first 48 hours, and hypokalaemia can come with the reticulocyte peak
#: on days 5-7 (facts:response-timeline). Day 0 is the first injection of the course.
HYPOKALAEMIA_EARLY_LAST_DAY = 7
HYPOKALAEMIA_SOURCES = ("us-label-cyanocobalamin", "cobalin-smpc")


@dataclass(frozen=True)
class InterpretedResult:
    """One reading judged against its bands; the stored one is ``domain.records.LabResult``."""

    name: str
    analyte: Analyte
    value: Normalised
    band: str
    bands: tuple[Band, ...]
    lab_range: LabRange | None
    lab_band: str | None
    scale: BandScale | None = None
    sex: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for b in self.bands for s in b.sources))

    @property
    def range_used(self) -> dict[str, Any]:
        """Which range or bands judged the value: the lab's, a default range, or a guideline's."""
        a = self.analyte
        if self.lab_range is not None and a.id not in B12_ANALYTES:
            r = self.lab_range
            unit = show_unit(a.canonical_unit)
            return {
                "kind": "lab",
                "text": f"lab's own range {format_number(r.low)}-{format_number(r.high)} {unit}".rstrip(),
                "low": r.low,
                "high": r.high,
                "unit": unit,
                "sources": [],
            }
        if not self.bands or self.scale is None:
            return {"kind": "none", "text": "no range: b12 holds none for this test", "sources": []}
        unit = show_unit(self.scale.unit)
        sources = list(self.sources)
        normal = normal_range(self.bands, self.sex)
        if normal is not None:
            who = f"{normal.sex}, " if normal.sex else ""
            return {
                "kind": "default",
                "text": f"default range {format_number(normal.low or 0)}-{format_number(normal.high or 0)} {unit} ({who}{', '.join(sources)})".replace(
                    " ()", ""
                ),
                "low": normal.low,
                "high": normal.high,
                "unit": unit,
                "sex": normal.sex,
                "sources": sources,
            }
        if set(b.name for b in self.bands) <= REFERENCE_BANDS:
            return {
                "kind": "default",
                "text": f"default ranges by sex in {unit} ({', '.join(sources)})",
                "unit": unit,
                "sources": sources,
            }
        shown = "; ".join(f"{b.name} {describe_band(b)}" for b in self.bands)
        return {
            "kind": "guideline",
            "text": f"{', '.join(sources)} bands in {unit}: {shown}",
            "unit": unit,
            "sources": sources,
            # each band's bounds, and the value in their unit (a chart draws them together)
            "bands": [{"name": b.name, "low": b.low, "high": b.high} for b in self.bands],
            "value_in_unit": self.scale.value,
        }

    def to_dict(self) -> dict[str, Any]:
        a, v = self.analyte, self.value
        code = loinc_for(a, v.unit)
        conversion = None
        if v.converted:
            conversion = f"{_show(v.value, v.unit.unit)} x {format_number(v.unit.to_canonical)} = {_show(v.canonical_value, a.canonical_unit)}"
        scale = self.scale
        return {
            "name": self.name,
            "analyte": a.id,
            "analyte_name": a.name,
            "loinc": None if code is None else code.code,
            "value": v.value,
            "unit": show_unit(v.unit.unit),
            "unit_ucum": v.unit.unit,
            "canonical_value": v.canonical_value,
            "canonical_unit": show_unit(a.canonical_unit),
            "canonical_unit_ucum": a.canonical_unit,
            "conversion": conversion,
            "band": self.band,
            "banded_in": None if scale is None or not scale.bands else show_unit(scale.unit),
            "band_conversion": None
            if scale is None or not scale.converted
            else scale_conversion(v, scale),
            "range_used": self.range_used,
            "reference": [_band_dict(b, a) for b in self.bands],
            "band_sources": list(self.sources),
            "lab_range": None
            if self.lab_range is None
            else {
                "low": self.lab_range.low,
                "high": self.lab_range.high,
                "unit": show_unit(a.canonical_unit),
                "inclusive": True,
            },
            "lab_band": self.lab_band,
            "analyte_sources": list(a.sources),
        }


@dataclass(frozen=True)
class LabReport:
    results: tuple[InterpretedResult, ...]
    findings: tuple[Finding, ...]
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [r.to_dict() for r in self.results],
            "findings": [f.to_dict() for f in self.findings],
            "fingerprint": self.fingerprint,
        }


def _show(value: Decimal, ucum: str) -> str:
    unit = show_unit(ucum)
    return f"{format_number(value)} {unit}".strip()


def _shown_value(value: Decimal, ucum: str) -> str:
    """A converted value, cut to 2 places (half-up) only when it has more."""
    places = 2 if -value.normalize().as_tuple().exponent > 2 else None  # type: ignore[operator]
    return f"{format_number(value, places=places)} {show_unit(ucum)}".strip()


def scale_conversion(value: Normalised, scale: BandScale) -> str:
    """'133 pmol/L / 0.738 = 180.22 ng/L': how a value reached the unit of its bands."""
    steps = "".join(
        f" {op} {format_number(f)}" for op, f in (("x", scale.times), ("/", scale.per)) if f != 1
    )
    return f"{_show(value.value, value.unit.unit)}{steps} = {_shown_value(scale.value, scale.unit)}"


def describe_band(band: Band) -> str:
    """A band as a reader writes it: '< 180', '180-350', '> 350' (boundaries as held)."""
    low = None if band.low is None else format_number(band.low)
    high = None if band.high is None else format_number(band.high)
    if low is None and high is None:
        return "any value"
    if low is None:
        return f"{'<=' if band.high_inclusive else '<'} {high}"
    if high is None:
        return f"{'>=' if band.low_inclusive else '>'} {low}"
    if band.low_inclusive and band.high_inclusive:
        return f"{low}-{high}"
    return f"{'>=' if band.low_inclusive else '>'} {low} and {'<=' if band.high_inclusive else '<'} {high}"


def _band_dict(band: Band, analyte: Analyte) -> dict[str, Any]:
    out: dict[str, Any] = {"name": band.name, "low": band.low, "high": band.high}
    out["low_inclusive"] = band.low_inclusive
    out["high_inclusive"] = band.high_inclusive
    out["unit"] = show_unit(band.unit or analyte.canonical_unit)
    if band.sex:
        out["sex"] = band.sex
    if band.min_age_years is not None:
        out["min_age_years"] = band.min_age_years
    out["sources"] = list(band.sources)
    return out


def lab_ranges(kb: Knowledge, ranges: Iterable[ReferenceRange]) -> dict[str, LabRange]:
    """The lab's own ranges in each analyte's canonical unit, by analyte id (errors name
    ``ranges``): one range for each test, none for a panel."""
    out: dict[str, LabRange] = {}
    with about("ranges"):
        for given in ranges:
            analyte: Analyte = kb.get("analytes", given.analyte)
            shown = f"{given.analyte}={given.shown}"
            if is_panel(analyte):
                raise LabInputError(
                    shown,
                    f"{analyte.id} is a panel, not one value",
                    "give a range for one of its tests",
                )
            if analyte.id in out:
                raise LabInputError(
                    shown, f"a second range for {analyte.id}", "give one range for each test"
                )
            out[analyte.id] = lab_range(analyte, given)
    return out


def interpret_labs(
    kb: Knowledge,
    readings: Sequence[Measurement],
    patient: Patient,
    ranges: Sequence[ReferenceRange] = (),
    *,
    treatment_day: int | None = None,
) -> LabReport:
    """Each reading (analyte id, exact value, UCUM unit as declared) converted and banded,
    with the findings that explain it; ``ranges``: the lab's own.

    ``treatment_day`` is the day the sample was taken counted from the first injection of the
    course (day 0); a low potassium in the first days is said louder.
    """
    if not readings:
        raise no_reading()
    judged_by = lab_ranges(kb, ranges)
    results: list[InterpretedResult] = []
    findings: list[Finding] = []
    for reading in readings:
        with about("readings"):
            analyte: Analyte = kb.get("analytes", reading.analyte)
            if is_panel(analyte):
                raise LabInputError(
                    reading.shown,
                    f"{analyte.name} is a panel, not one value",
                    "write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
                )
            value = normalise(analyte, reading)
        result, notes = _interpret(
            analyte,
            reading.shown_name,
            value,
            patient,
            judged_by.get(analyte.id),
            treatment_day,
        )
        results.append(result)
        findings.extend(notes)
    return LabReport(tuple(results), tuple(findings), kb.fingerprint)


def _interpret(
    analyte: Analyte,
    name: str,
    value: Normalised,
    patient: Patient,
    lab_range: LabRange | None,
    treatment_day: int | None,
) -> tuple[InterpretedResult, list[Finding]]:
    shown = _show(value.canonical_value, analyte.canonical_unit)
    values: dict[str, object] = {"test": analyte.id, "value": shown}
    if value.converted:
        values["as written"] = _show(value.value, value.unit.unit)
    notes: list[Finding] = []
    if value.unit_assumed:
        notes.append(
            finding(
                "LAB_UNIT_ASSUMED",
                Level.INFO,
                f"{name}: no unit written; read as {shown}, the only unit b12 reads for {analyte.name}.",
                analyte.sources,
                values,
            )
        )
    bands: tuple[Band, ...]
    band: Band | None
    scale: BandScale | None = None
    if lab_range is not None and analyte.id not in B12_ANALYTES:
        # A lab's own range replaces a default reference range; NICE's diagnostic bands stay.
        lab_band: str | None = lab_range.band(value.canonical_value)
        name_of_band, bands, band = lab_range.band(value.canonical_value), (), None
    else:
        lab_band = None if lab_range is None else lab_range.band(value.canonical_value)
        name_of_band, bands, band, scale = _default_band(analyte, value, patient, values, notes)
    if not analyte.bands and lab_range is None:
        notes.append(
            finding(
                "LAB_NO_REFERENCE_RANGE",
                Level.INFO,
                f"{analyte.name} {shown}: b12 holds no reference range (no listed source gives one); the lab's own range applies.",
                analyte.sources,
                values,
            )
        )
    result = InterpretedResult(
        name, analyte, value, name_of_band, bands, lab_range, lab_band, scale, patient.sex
    )
    values["range used"] = result.range_used["text"]
    notes.extend(_band_notes(analyte, name_of_band, band, value, scale, values, lab_range))
    if analyte.id == "potassium" and name_of_band == "low":
        notes.append(_hypokalaemia(shown, result, values, treatment_day))
    return result, notes


def _default_band(
    analyte: Analyte,
    value: Normalised,
    patient: Patient,
    values: dict[str, object],
    notes: list[Finding],
) -> tuple[str, tuple[Band, ...], Band | None, BandScale | None]:
    """The band from the knowledge base's bands for this patient's sex and age."""
    shown = values["value"]
    bands, missing = applicable_bands(analyte.bands, patient.sex, patient.age_years)
    if missing == "sex":
        sexed = band_scale(analyte, tuple(b for b in analyte.bands if b.sex), value)
        agreed = band_without_sex(sexed.bands, sexed.value)
        if agreed is None:
            notes.append(
                finding(
                    "LAB_SEX_NEEDED",
                    Level.INFO,
                    f"{analyte.name}: the range differs for women and men and {shown} falls differently in them; give the sex.",
                    _sources(analyte.bands),
                    values,
                    suggestion=suggest("give the patient's sex", set="sex"),
                )
            )
        return agreed or UNKNOWN, sexed.bands, None, sexed
    if missing == "age":
        youngest = min(b.min_age_years or 0 for b in analyte.bands)
        notes.append(
            finding(
                "LAB_BAND_NOT_FOR_AGE",
                Level.INFO,
                f"{analyte.name}: the bands are for age {youngest} and over (patient: {patient.describe_age()}); not banded.",
                _sources(analyte.bands),
                {**values, "age": patient.describe_age()},
            )
        )
        return UNKNOWN, (), None, None
    scale = band_scale(analyte, bands, value)
    band = band_of(scale.bands, scale.value)
    if patient.age_years is None and any(b.min_age_years for b in scale.bands):
        youngest = min(b.min_age_years or 0 for b in scale.bands)
        notes.append(
            finding(
                "LAB_BAND_AGE_ASSUMED",
                Level.INFO,
                f"{analyte.name}: the bands are for age {youngest} and over; age not given, so assumed.",
                _sources(scale.bands),
                values,
            )
        )
    return (band.name if band else UNKNOWN), scale.bands, band, scale


def _band_notes(
    analyte: Analyte,
    name: str,
    band: Band | None,
    value: Normalised,
    scale: BandScale | None,
    values: dict[str, object],
    lab_range: LabRange | None,
) -> list[Finding]:
    shown = values["value"]
    bands = scale.bands if scale is not None else ()
    sources = band.sources if band else analyte.sources
    notes: list[Finding] = []
    in_unit = ""
    if scale is not None and scale.bands and scale.unit != analyte.canonical_unit:
        in_unit = f" ({_shown_value(scale.value, scale.unit)} against the bands in {show_unit(scale.unit)})"
    if scale is not None and scale.converted and scale.bands:
        notes.append(
            finding(
                "LAB_BAND_CONVERTED",
                Level.INFO,
                f"{analyte.name}: no band is written in {show_unit(value.unit.unit)}; converted to {show_unit(scale.unit)}, the unit of the bands: {scale_conversion(value, scale)}.",
                _sources(bands),
                values,
            )
        )
    if name == "deficient":
        notes.append(
            finding(
                "LAB_DEFICIENT",
                Level.WARNING,
                f"{analyte.name} {shown}{in_unit}: deficiency confirmed (NICE NG239).",
                sources,
                values,
            )
        )
    elif name == "indeterminate":
        advice = f" {band.note}" if band and band.note else ""
        notes.append(
            finding(
                "LAB_INDETERMINATE",
                Level.INFO,
                f"{analyte.name} {shown}{in_unit}: indeterminate (NICE NG239).{advice}",
                sources,
                values,
            )
        )
    elif name in ("low", "high") and not (analyte.id == "potassium" and name == "low"):
        where = (
            f"the lab's range {lab_range.text}"
            if lab_range and not bands
            else f"the {values['range used']}"
        )
        notes.append(
            finding(
                "LAB_OUT_OF_RANGE",
                Level.INFO,
                f"{analyte.name} {shown} is {name} against {where}.",
                sources if bands else (),
                values,
            )
        )
    if scale is not None and scale.converted and scale.rounded_factor:
        edge = near_boundary(bands, scale.value)
        if edge is not None:
            notes.append(
                finding(
                    "LAB_NEAR_BAND_BOUNDARY",
                    Level.INFO,
                    f"{analyte.name} {scale_conversion(value, scale)} is within 1 {show_unit(scale.unit)} of the {format_number(edge)} boundary; the conversion factor is rounded, so the band may differ from the lab's.",
                    _sources(bands),
                    values,
                )
            )
    if analyte.id in B12_ANALYTES:
        notes.append(
            finding(
                "LAB_B12_TIMING",
                Level.INFO,
                f"{analyte.name}: valid only if drawn 14 days or more after the last B12 injection, and some assays are disturbed by biotin.",
                ("mayo-labs",),
                values,
            )
        )
    return notes


def _hypokalaemia(
    shown: str, result: InterpretedResult, values: dict[str, object], treatment_day: int | None
) -> Finding:
    """Low potassium: a warning always (US label), said louder in the first days of treatment."""
    used = result.range_used
    sources = tuple(dict.fromkeys((*HYPOKALAEMIA_SOURCES, *used["sources"])))
    label = "The US label warns of hypokalaemia and sudden death in intensely treated megaloblastic anaemia."
    if treatment_day is not None and 0 <= treatment_day <= HYPOKALAEMIA_EARLY_LAST_DAY:
        return finding(
            "LAB_HYPOKALAEMIA",
            Level.WARNING,
            f"URGENT: potassium {shown} on day {treatment_day} after the first injection of the course is below the {used['text']}: hypokalaemia while treatment is starting. {label} Potassium is to be watched closely in the first 48 hours and can fall at the reticulocyte peak (days 5-7): tell the prescriber today, to replace potassium and repeat the level.",
            sources,
            {**values, "day of treatment": treatment_day},
        )
    return finding(
        "LAB_HYPOKALAEMIA",
        Level.WARNING,
        f"Potassium {shown} is below the {used['text']}: hypokalaemia. {label} Tell the prescriber, who decides on potassium replacement.",
        sources,
        values,
    )


def _sources(bands: Iterable[Band]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for b in bands for s in b.sources))
