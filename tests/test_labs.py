"""Laboratory interpretation: the CLI contract, exact banding at boundaries, unit errors, response rules."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from b12 import InputError, UnknownNameError, interpret_labs, load_knowledge
from b12.adapters.cli import read
from b12.domain import lab_response as rr
from b12.domain.findings import Level
from b12.domain.lab_values import LabUnitError, parse_reading, unit_key
from b12.domain.patient import Patient
from b12.services.labs import LabReport

ADULT = Patient(age_months=Decimal(40 * 12))


def b12(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "b12", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def labs(*readings: str, patient: Patient = ADULT, ranges: tuple[str, ...] = ()) -> LabReport:
    kb = load_knowledge()
    typed, given = read.labs(kb, readings, ranges)
    return interpret_labs(kb, typed, patient, given)


def one(reading: str, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = labs(reading, **options).to_dict()["results"][0]
    return result


def codes(report: LabReport) -> list[str]:
    return [f.code for f in report.findings]


# --- done-when, through the command line ------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "band", "canonical"),
    [
        ("b12=150pg/mL", "deficient", 110.7),
        ("b12=250pg/mL", "indeterminate", 184.5),
        ("b12=100pmol/L", "deficient", 100),
    ],
)
def test_cli_done_when(reading: str, band: str, canonical: float) -> None:
    done = b12("labs", reading, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    (result,) = data["results"]
    assert result["band"] == band
    assert result["canonical_value"] == canonical
    assert result["canonical_unit"] == "pmol/L"
    assert result["analyte"] == "b12"
    assert result["band_sources"] == ["nice-ng239"]
    assert data["fingerprint"] == load_knowledge().fingerprint
    assert "LAB_DEFICIENT" in {f["code"] for f in data["findings"]} or band != "deficient"


def test_cli_unreadable_unit_lists_the_units() -> None:
    done = b12("labs", "b12=150mg/dL", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (  # the unit is a reading's, so the error names READINGS too
        "b12: READINGS: 'b12=150mg/dL': b12 cannot be read in 'mg/dL'; "
        "write the value in one of: pmol/L, pg/mL, ng/L\n"
    )


def test_cli_unknown_analyte_suggests() -> None:
    done = b12("labs", "hemoglobn=12g/dL")
    assert done.returncode == 2
    assert (
        done.stderr
        == "b12: READINGS: unknown laboratory test 'hemoglobn': did you mean haemoglobin?\n"
    )


def test_cli_human_output_names_band_and_source() -> None:
    done = b12("labs", "b12=150pg/mL", "--age-years", "40")
    assert done.returncode == 0
    assert "deficient" in done.stdout and "nice-ng239" in done.stdout


# --- conversion and boundaries, exact ---------------------------------------------------------


def test_result_json_shape() -> None:
    r = one("Vitamin B12 = 150 ng/L")
    assert (r["name"], r["analyte"], r["loinc"]) == ("Vitamin B12", "b12", "2132-9")
    assert (r["value"], r["unit"], r["canonical_value"]) == (Decimal(150), "ng/L", Decimal("110.7"))
    assert r["conversion"] == "150 ng/L x 0.738 = 110.7 pmol/L"
    assert one("b12=100pmol/L")["loinc"] == "14685-2"  # molar unit -> the molar code


@pytest.mark.parametrize(
    ("reading", "band"),
    [
        ("b12=132.999999pmol/L", "deficient"),
        ("b12=133pmol/L", "indeterminate"),  # NICE: 133-258 pmol/L
        ("b12=258pmol/L", "indeterminate"),
        ("b12=258.000001pmol/L", "sufficient"),
        ("active-b12=24.9", "deficient"),
        ("holoTC=25pmol/L", "indeterminate"),
        ("active b12=70pmol/L", "indeterminate"),  # NICE: unlikely only above 70
        ("mcv=79.9fL", "low"),
        ("MCV=80", "normal"),
        ("mcv=100fL", "normal"),  # MedlinePlus: normal 80-100
        ("mcv=100.1fL", "high"),
    ],
)
def test_boundaries_are_exact(reading: str, band: str) -> None:
    assert one(reading)["band"] == band


def test_ng_per_l_is_banded_on_nices_ng_per_l_figures_not_the_converted_value() -> None:
    report = labs("b12=180ng/L")
    (result,) = report.results
    assert result.value.canonical_value == Decimal("132.84")  # stored and shown in pmol/L
    assert result.band == "indeterminate"  # NICE: 180 ng/L is indeterminate
    assert "LAB_NEAR_BAND_BOUNDARY" not in codes(report)  # no rounded factor was used to band


def test_unit_spellings() -> None:
    assert unit_key("×10⁶/µL") == unit_key("10*6/uL") == unit_key("x10^6/uL") == "10*6/ul"
    assert unit_key("mcg/L") == unit_key("ug/L") == unit_key("µg/L")
    for text in ("rbc=4.5x10^6/uL", "rbc=4.5 10*6/µL", "rbc=4.5x10^12/L", "rbc=4.5 million/uL"):
        assert one(text, patient=Patient(sex="female"))["canonical_value"] == Decimal("4.5")
    assert one("hb=112g/L")["canonical_value"] == Decimal("11.2")
    assert one("mma=350nmol/L")["canonical_value"] == Decimal("0.35")
    folate = one("folate=3.2mcg/L")
    assert (folate["unit"], folate["unit_ucum"]) == ("mcg/L", "ug/L")  # ISMP: mcg, never ug


def test_sex_specific_bands() -> None:
    assert one("rbc=5.8", patient=Patient(sex="female"))["band"] == "high"
    assert one("rbc=5.8", patient=Patient(sex="male"))["band"] == "normal"
    assert one("rbc=6.1", patient=Patient(sex="male"))["band"] == "normal"  # 4.7-6.1 inclusive
    assert one("rbc=6.11", patient=Patient(sex="male"))["band"] == "high"
    assert one("rbc=3.0")["band"] == "low"  # low for both sexes: banded without the sex
    report = labs("rbc=4.5")  # low for men, normal for women
    assert report.results[0].band == "unknown"
    assert "LAB_SEX_NEEDED" in codes(report)


def test_nice_bands_only_from_16() -> None:
    report = labs("b12=100pmol/L", patient=Patient(age_months=Decimal(120)))
    assert report.results[0].band == "unknown"
    assert "LAB_BAND_NOT_FOR_AGE" in codes(report)
    assert "LAB_BAND_AGE_ASSUMED" in codes(labs("b12=100pmol/L", patient=Patient()))


def test_no_reference_range_is_unknown_with_a_finding() -> None:
    report = labs("mma=0.3umol/L")
    assert report.results[0].band == "unknown"
    (note,) = report.findings
    assert note.code == "LAB_NO_REFERENCE_RANGE"
    assert note.message == (
        "methylmalonic acid, serum 0.3 umol/L: b12 holds no reference range (no listed source "
        "gives one); the lab's own range applies."
    )


def test_lab_range_overrides_default_but_not_nice() -> None:
    female = Patient(sex="female")
    assert one("rbc=5.5", patient=female)["band"] == "high"  # default 4.2-5.4
    overridden = one("rbc=5.5", patient=female, ranges=("rbc=4.0-5.5",))
    assert (overridden["band"], overridden["reference"]) == ("normal", [])  # lab: inclusive
    assert one("k=3.3", ranges=("potassium=3.5-5.1mmol/L",))["band"] == "low"
    nice = one("b12=300pg/mL", ranges=("b12=180-914pg/mL",))
    assert (nice["band"], nice["lab_band"]) == ("indeterminate", "normal")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "b12=150",
            "'b12=150': no unit given for b12; write the value in one of: pmol/L, pg/mL, ng/L",
        ),
        ("hb=12", "'hb=12': no unit given for haemoglobin; write the value in one of: g/dL, g/L"),
        ("b12", "'b12': not NAME=VALUE[UNIT]; write e.g. b12=150pg/mL"),
        ("b12=", "'b12=': no value after b12=; write e.g. b12=150pg/mL"),
        (
            "b12=-5pmol/L",
            "'b12=-5pmol/L': a signed value; write the value as a plain number, e.g. 4.5",
        ),
        (
            "b12=1,200pg/mL",
            "'b12=1,200pg/mL': 1, is not a plain number; write the value without commas or spaces, with a point for decimals: 1200, 4.5",
        ),
        (
            "b12=<50pmol/L",
            "'b12=<50pmol/L': < marks a value outside what the lab can measure, which b12 cannot band; write the number the lab reported and read the lab's comment",
        ),
        (
            "fbc=1",
            "'fbc=1': full blood count is a panel, not one value; write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
        ),
    ],
)
def test_input_errors_exact(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        labs(text)
    assert str(caught.value) == message


def test_unit_error_carries_the_units() -> None:
    with pytest.raises(LabUnitError) as caught:
        labs("iron=15umol/L")
    assert caught.value.units == ("mcg/dL",)
    assert caught.value.analyte == "iron"


def test_value_without_unit_only_when_it_cannot_mean_two_things() -> None:
    report = labs("mcv=104", "k=3.9")  # one unit; mmol/L = mEq/L
    assert [r.value.unit.unit for r in report.results] == ["fL", "mmol/L"]
    assert codes(report).count("LAB_UNIT_ASSUMED") == 2


def test_unknown_analyte_is_an_input_error() -> None:
    with pytest.raises(UnknownNameError):
        labs("vitamin d=30ng/mL")


def test_parse_reading_exact() -> None:
    reading = parse_reading("  Retic = 2.50 % ")
    assert (reading.name, reading.value, reading.unit) == ("Retic", Decimal("2.50"), "%")


def test_every_finding_has_sources_in_the_knowledge_base() -> None:
    kb = load_knowledge()
    report = labs("b12=180ng/L", "rbc=4.5", "mcv=104", "k=3", "hb=9g/dL", patient=Patient())
    for f in report.findings:
        assert f.basis.sources, f.code
        assert set(f.basis.sources) <= set(kb.sources), f.code


# --- response rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "value", "day", "status", "level"),
    [
        ("1", "1.5", 2, "too-early", Level.INFO),
        ("1", "1", 5, "awaited", Level.INFO),
        ("1", "1.1", 3, "rising", Level.INFO),
        ("1", "1", 10, "no-rise", Level.WARNING),
        ("1", "0.9", 14, "no-rise", Level.WARNING),
        ("1", "4", 12, "rising", Level.INFO),
    ],
)
def test_reticulocyte_response(
    baseline: str, value: str, day: int, status: str, level: Level
) -> None:
    check = rr.reticulocyte_response(Decimal(baseline), Decimal(value), day)
    assert check.status == status
    (note,) = check.findings
    assert note.level is level


def test_reticulocyte_no_rise_message() -> None:
    (note,) = rr.reticulocyte_response(Decimal("1.2"), Decimal("1.2"), 10).findings
    assert note.code == "RETIC_NO_RISE"
    assert note.message.startswith("No reticulocyte rise by day 10 (1.2% against 1.2% at baseline)")
    assert note.basis.sources == (
        "us-label-hydroxocobalamin",
        "us-label-cyanocobalamin",
        "seed-004",
    )


@pytest.mark.parametrize(
    ("rbc", "hct", "status"),
    [
        ("3.9", None, "not-reached"),
        ("4", None, "at-mark"),
        ("4.49", None, "at-mark"),
        ("4.5", None, "reached"),
        ("4.8", "34.9", "not-reached"),  # label: haematocrit below 35%
        ("4.8", "35", "reached"),
    ],
)
def test_in_remission(rbc: str, hct: str | None, status: str) -> None:
    check = rr.in_remission(Decimal(rbc), "female", None if hct is None else Decimal(hct))
    assert check.status == status


def test_non_response_triggers() -> None:
    found = rr.non_response_triggers(
        day=10,
        reticulocytes_baseline=Decimal(1),
        reticulocytes=Decimal(1),
        reticulocytes_normal=Decimal(1),
        haematocrit=Decimal(30),
        haemoglobin_previous=Decimal("9.5"),
        haemoglobin=Decimal("9.1"),
        potassium=Decimal("3.2"),
        potassium_low_limit=Decimal("3.5"),
        new_neurological_symptoms=True,
    )
    assert [f.code for f in found] == [
        "RETIC_NO_RISE",
        "RETIC_BELOW_TWICE_NORMAL",
        "HB_FALLING",
        "POTASSIUM_LOW",
        "NEURO_NEW_SYMPTOMS",
    ]
    assert all(f.level is Level.WARNING for f in found)
    kb = load_knowledge()
    for f in found:
        assert set(f.basis.sources) <= set(kb.sources)


def test_non_response_quiet_when_responding() -> None:
    assert (
        rr.non_response_triggers(
            day=7,
            reticulocytes_baseline=Decimal(1),
            reticulocytes=Decimal(5),
            reticulocytes_normal=Decimal(1),
            haematocrit=Decimal(30),
            haemoglobin_previous=Decimal(9),
            haemoglobin=Decimal(10),
            potassium=Decimal("4.0"),
            potassium_low_limit=Decimal("3.5"),
        )
        == ()
    )


def test_triggers_without_lab_normals_say_so() -> None:
    found = rr.non_response_triggers(
        reticulocytes=Decimal(2), haematocrit=Decimal(30), potassium=Decimal("3.2")
    )
    assert [f.code for f in found] == ["RETIC_TWICE_NORMAL_UNCHECKED", "POTASSIUM_UNJUDGED"]
    assert all(f.level is Level.INFO for f in found)
