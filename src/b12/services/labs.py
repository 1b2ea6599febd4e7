"""Interpret laboratory results: read, normalise, band against NICE or a reference range, explain.

Finding codes raised here (all info unless said):
  LAB_DEFICIENT (warning)     NICE: confirmed deficiency (total or active B12)
  LAB_INDETERMINATE           NICE: indeterminate; NICE's next step is in the message
  LAB_OUT_OF_RANGE            low or high against the default or the lab's range
  LAB_NO_REFERENCE_RANGE      no listed source gives a range: the lab's own range applies
  LAB_BAND_NOT_FOR_AGE        the bands are for older patients (NICE: 16 and over)
  LAB_BAND_AGE_ASSUMED        age not given; the bands' minimum age was assumed
  LAB_SEX_NEEDED              the range differs by sex and the sex is not given
  LAB_UNIT_ASSUMED            no unit written; the analyte's only unit was taken
  LAB_NEAR_BAND_BOUNDARY      a converted value within 1 canonical unit of a boundary
  LAB_B12_TIMING              a B12 level is valid only 14 days or more after an injection
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.domain.display import format_number
from b12.domain.findings import Finding, Level, finding
from b12.domain.lab_values import LabInputError, parse_reading, show_unit
from b12.domain.labs import (
    UNKNOWN,
    LabRange,
    Normalised,
    applicable_bands,
    band_of,
    band_without_sex,
    is_panel,
    loinc_for,
    near_boundary,
    normalise,
    parse_range,
)
from b12.domain.patient import Patient
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Analyte, Band

REFERENCE_BANDS = frozenset({"low", "normal", "high"})
B12_ANALYTES = frozenset({"b12", "active-b12"})


@dataclass(frozen=True)
class LabResult:
    name: str
    analyte: Analyte
    value: Normalised
    band: str
    bands: tuple[Band, ...]
    lab_range: LabRange | None
    lab_band: str | None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for b in self.bands for s in b.sources))

    def to_dict(self) -> dict[str, Any]:
        a, v = self.analyte, self.value
        code = loinc_for(a, v.unit)
        conversion = None
        if v.converted:
            conversion = f"{_show(v.value, v.unit.unit)} x {format_number(v.unit.to_canonical)} = {_show(v.canonical_value, a.canonical_unit)}"
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
            "reference": [_band_dict(b, a.canonical_unit) for b in self.bands],
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
    results: tuple[LabResult, ...]
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


def _band_dict(band: Band, ucum: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": band.name, "low": band.low, "high": band.high}
    out["unit"] = show_unit(ucum)
    if band.sex:
        out["sex"] = band.sex
    if band.min_age_years is not None:
        out["min_age_years"] = band.min_age_years
    out["sources"] = list(band.sources)
    return out


def analyte_named(kb: Knowledge, name: str) -> Analyte:
    """The analyte for a name or synonym (b12, Hb, retic ...); unknown names list close ones."""
    analyte: Analyte = kb.lookup("analytes", name, "laboratory test")
    return analyte


def read_ranges(kb: Knowledge, ranges: Iterable[str]) -> dict[str, LabRange]:
    """``--range NAME=LOW-HIGH[UNIT]`` options, by analyte id."""
    out: dict[str, LabRange] = {}
    for text in ranges:
        name, sep, rest = text.partition("=")
        if not sep or not name.strip():
            raise LabInputError(text, "not NAME=LOW-HIGH", "write e.g. --range rbc=4.2-5.4")
        analyte = analyte_named(kb, name.strip())
        if is_panel(analyte):
            raise LabInputError(
                text, f"{analyte.id} is a panel, not one value", "give a range for one of its tests"
            )
        out[analyte.id] = parse_range(analyte, rest, text)
    return out


def interpret_labs(
    kb: Knowledge, readings: Sequence[str], patient: Patient, ranges: Sequence[str] = ()
) -> LabReport:
    """Each reading normalised, converted and banded, with the findings that explain it."""
    if not readings:
        raise LabInputError(
            "", "no result given", "write at least one NAME=VALUE[UNIT], e.g. b12=150pg/mL"
        )
    lab_ranges = read_ranges(kb, ranges)
    results: list[LabResult] = []
    findings: list[Finding] = []
    for text in readings:
        reading = parse_reading(text)
        analyte = analyte_named(kb, reading.name)
        if is_panel(analyte):
            raise LabInputError(
                text,
                f"{analyte.name} is a panel, not one value",
                "write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
            )
        value = normalise(analyte, reading)
        result, notes = _interpret(
            analyte, reading.name, value, patient, lab_ranges.get(analyte.id)
        )
        results.append(result)
        findings.extend(notes)
    return LabReport(tuple(results), tuple(findings), kb.fingerprint)


def _interpret(
    analyte: Analyte, name: str, value: Normalised, patient: Patient, lab_range: LabRange | None
) -> tuple[LabResult, list[Finding]]:
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
    if lab_range is not None and analyte.id not in B12_ANALYTES:
        # A lab's own range replaces a default reference range; NICE's diagnostic bands stay.
        lab_band: str | None = lab_range.band(value.canonical_value)
        name_of_band, bands, band = lab_range.band(value.canonical_value), (), None
    else:
        lab_band = None if lab_range is None else lab_range.band(value.canonical_value)
        name_of_band, bands, band = _default_band(analyte, value, patient, values, notes)
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
    notes.extend(_band_notes(analyte, name_of_band, band, value, bands, values, lab_range))
    result = LabResult(name, analyte, value, name_of_band, bands, lab_range, lab_band)
    return result, notes


def _default_band(
    analyte: Analyte,
    value: Normalised,
    patient: Patient,
    values: dict[str, object],
    notes: list[Finding],
) -> tuple[str, tuple[Band, ...], Band | None]:
    """The band from the knowledge base's bands for this patient's sex and age."""
    shown = values["value"]
    bands, missing = applicable_bands(analyte.bands, patient.sex, patient.age_years)
    band = band_of(bands, value.canonical_value)
    if missing == "sex":
        agreed = band_without_sex(analyte.bands, value.canonical_value)
        if agreed is None:
            notes.append(
                finding(
                    "LAB_SEX_NEEDED",
                    Level.INFO,
                    f"{analyte.name}: the range differs for women and men and {shown} falls differently in them; give --sex.",
                    _sources(analyte.bands),
                    values,
                )
            )
        return agreed or UNKNOWN, tuple(b for b in analyte.bands if b.sex), None
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
        return UNKNOWN, (), None
    if patient.age_years is None and any(b.min_age_years for b in bands):
        youngest = min(b.min_age_years or 0 for b in bands)
        notes.append(
            finding(
                "LAB_BAND_AGE_ASSUMED",
                Level.INFO,
                f"{analyte.name}: the bands are for age {youngest} and over; age not given, so assumed.",
                _sources(bands),
                values,
            )
        )
    return (band.name if band else UNKNOWN), bands, band


def _band_notes(
    analyte: Analyte,
    name: str,
    band: Band | None,
    value: Normalised,
    bands: Sequence[Band],
    values: dict[str, object],
    lab_range: LabRange | None,
) -> list[Finding]:
    shown = values["value"]
    sources = band.sources if band else analyte.sources
    notes: list[Finding] = []
    if name == "deficient":
        notes.append(
            finding(
                "LAB_DEFICIENT",
                Level.WARNING,
                f"{analyte.name} {shown}: deficiency confirmed (NICE NG239).",
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
                f"{analyte.name} {shown}: indeterminate (NICE NG239).{advice}",
                sources,
                values,
            )
        )
    elif name in ("low", "high"):
        where = (
            f"the lab's range {lab_range.text}"
            if lab_range and not bands
            else "the default reference range"
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
    edge = near_boundary(bands, value.canonical_value) if value.converted else None
    if edge is not None:
        notes.append(
            finding(
                "LAB_NEAR_BAND_BOUNDARY",
                Level.INFO,
                f"{analyte.name} {shown} ({values['as written']} x {format_number(value.unit.to_canonical)}) is within 1 {show_unit(analyte.canonical_unit)} of the {format_number(edge)} boundary; the factor and NICE's paired figures are rounded, so the band may differ from the lab's or NICE's table in the unit written.",
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


def _sources(bands: Iterable[Band]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for b in bands for s in b.sources))
