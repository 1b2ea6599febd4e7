"""Laboratory truth: NICE bands in the unit NICE writes, sourced default ranges, the range used,
hypokalaemia as a warning (louder early in treatment), every stored result judged by `status`,
potassium within 48 h of the first dose, and monitoring rules that keep to their routes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.cli import read
from b12.domain.display import format_number
from b12.domain.findings import Level
from b12.domain.lab_values import Measurement
from b12.domain.labs import band_of, band_scale, normalise
from b12.domain.patient import Patient
from b12.domain.routes import ROUTES
from b12.services.labs import LabReport, interpret_labs, scale_conversion
from b12.services.plan_findings import baseline_b12

KB = load_knowledge()
ADULT = Patient(age_months=Decimal(40 * 12))
STEP = Decimal("0.01")

# NICE NG239's table as the reference facts give it (section 2): band below, at and above each
# stated boundary, in every unit NICE writes. pg/mL is the same quantity as ng/L.
NICE_BOUNDARIES = [
    # (analyte, unit, boundary, below, at, above)
    ("b12", "ng/L", Decimal(180), "deficient", "indeterminate", "indeterminate"),
    ("b12", "ng/L", Decimal(350), "indeterminate", "indeterminate", "sufficient"),
    ("b12", "pg/mL", Decimal(180), "deficient", "indeterminate", "indeterminate"),
    ("b12", "pg/mL", Decimal(350), "indeterminate", "indeterminate", "sufficient"),
    ("b12", "pmol/L", Decimal(133), "deficient", "indeterminate", "indeterminate"),
    ("b12", "pmol/L", Decimal(258), "indeterminate", "indeterminate", "sufficient"),
    ("active-b12", "pmol/L", Decimal(25), "deficient", "indeterminate", "indeterminate"),
    ("active-b12", "pmol/L", Decimal(70), "indeterminate", "indeterminate", "sufficient"),
]
SIDES = [("below", -STEP), ("at", Decimal(0)), ("above", STEP)]


def _labs(readings: list[str], patient: Patient, ranges: Any = (), **options: Any) -> LabReport:
    """The results as the command line reads them, interpreted."""
    typed, given = read.labs(KB, readings, ranges)
    return interpret_labs(KB, typed, patient, given, **options)


def _band(reading: str, patient: Patient = ADULT, **options: Any) -> str:
    band: str = _labs([reading], patient, **options).results[0].band
    return band


@pytest.mark.parametrize(("side", "offset"), SIDES, ids=[s for s, _ in SIDES])
@pytest.mark.parametrize(
    ("analyte", "unit", "boundary", "below", "at", "above"),
    NICE_BOUNDARIES,
    ids=[f"{a}-{b}{u}" for a, u, b, *_ in NICE_BOUNDARIES],
)
def test_nice_band_on_each_side_of_each_boundary_in_each_unit(
    analyte: str,
    unit: str,
    boundary: Decimal,
    below: str,
    at: str,
    above: str,
    side: str,
    offset: Decimal,
) -> None:
    expected = {"below": below, "at": at, "above": above}[side]
    value = boundary + offset
    report = _labs([f"{analyte}={value}{unit}"], ADULT)
    (result,) = report.results
    assert result.band == expected
    data = result.to_dict()
    assert data["banded_in"] == ("ng/L" if unit == "pg/mL" else unit)  # NICE's own unit
    assert data["band_conversion"] is None  # no rounded factor between the value and its band
    assert data["range_used"]["kind"] == "guideline"
    assert data["range_used"]["sources"] == ["nice-ng239"]
    assert "LAB_NEAR_BAND_BOUNDARY" not in [f.code for f in report.findings]
    if analyte == "b12":  # the plan's --b12 baseline bands the same way
        finding = baseline_b12(KB, read.b12_level(KB, f"{value}{unit}"), ADULT)
        assert f": {expected} (NICE NG239)" in finding.message


def test_range_used_names_nices_bands_as_written() -> None:
    used = _labs(["b12=180pg/mL"], ADULT).results[0].range_used
    assert used["text"] == (
        "nice-ng239 bands in ng/L: deficient < 180; indeterminate 180-350; sufficient > 350"
    )
    used = _labs(["b12=133pmol/L"], ADULT).results[0].range_used
    assert used["text"] == (
        "nice-ng239 bands in pmol/L: deficient < 133; indeterminate 133-258; sufficient > 258"
    )


@pytest.mark.parametrize(
    ("value", "band", "conversion"),
    [
        ("132.84", "indeterminate", "132.84 pmol/L / 0.738 = 180 ng/L"),
        ("132.8", "deficient", "132.8 pmol/L / 0.738 = 179.95 ng/L"),
        ("133", "indeterminate", "133 pmol/L / 0.738 = 180.22 ng/L"),
        ("258.3", "indeterminate", "258.3 pmol/L / 0.738 = 350 ng/L"),  # NICE: 350 indeterminate
        ("258.4", "sufficient", "258.4 pmol/L / 0.738 = 350.14 ng/L"),
    ],
)
def test_a_unit_without_a_stated_band_is_converted_and_says_so(
    value: str, band: str, conversion: str
) -> None:
    # Were NICE's pmol/L column missing, a pmol/L value would be converted to ng/L (x 1/0.738).
    b12 = KB.get("analytes", "b12")
    ng_only = dataclasses.replace(b12, bands=tuple(b for b in b12.bands if b.unit == "ng/L"))
    reading = normalise(ng_only, Measurement("b12", Decimal(value), "pmol/L"))
    scale = band_scale(ng_only, ng_only.bands, reading)
    assert (scale.converted, scale.unit, scale.rounded_factor) == (True, "ng/L", True)
    found = band_of(scale.bands, scale.value)
    assert found is not None and found.name == band
    assert scale_conversion(reading, scale) == conversion


def test_haemoglobin_in_g_per_l_is_converted_to_the_g_per_dl_range_and_says_so() -> None:
    report = _labs(["hb=120g/L"], Patient(sex="female"))
    (result,) = report.results
    assert result.band == "low"  # 12 g/dL below 12.1
    assert result.to_dict()["band_conversion"] == "120 g/L x 0.1 = 12 g/dL"
    converted = next(f for f in report.findings if f.code == "LAB_BAND_CONVERTED")
    assert converted.message == (
        "haemoglobin: no band is written in g/L; converted to g/dL, the unit of the bands: "
        "120 g/L x 0.1 = 12 g/dL."
    )


# --- default reference ranges ------------------------------------------------------------------

# (analyte, sex or None, low, high, unit as shown, source): MedlinePlus, both ends normal.
DEFAULTS = [
    ("haemoglobin", "male", "13.8", "17.2", "g/dL", "medlineplus-hemoglobin"),
    ("haemoglobin", "female", "12.1", "15.1", "g/dL", "medlineplus-hemoglobin"),
    ("rbc", "male", "4.7", "6.1", "x10^6/uL", "medlineplus"),
    ("rbc", "female", "4.2", "5.4", "x10^6/uL", "medlineplus"),
    ("haematocrit", "male", "40.7", "50.3", "%", "medlineplus-hematocrit"),
    ("haematocrit", "female", "36.1", "44.3", "%", "medlineplus-hematocrit"),
    ("mcv", None, "80", "100", "fL", "medlineplus"),
    ("reticulocytes", None, "0.5", "2.5", "%", "medlineplus-reticulocytes"),
    ("potassium", None, "3.7", "5.2", "mmol/L", "medlineplus-potassium"),
    ("folate", None, "2.7", "17", "ng/mL", "medlineplus-folate"),
    ("ferritin", "male", "24", "336", "ng/mL", "medlineplus-ferritin"),
    ("ferritin", "female", "11", "307", "ng/mL", "medlineplus-ferritin"),
]


def _reading(analyte: str, value: Decimal, unit: str) -> str:
    return f"{analyte}={value}{unit}"


@pytest.mark.parametrize(
    ("analyte", "sex", "low", "high", "unit", "source"),
    DEFAULTS,
    ids=[f"{a}-{s or 'any'}" for a, s, *_ in DEFAULTS],
)
def test_default_range_is_sourced_and_holds_both_its_ends(
    analyte: str, sex: str | None, low: str, high: str, unit: str, source: str
) -> None:
    patient = Patient(age_months=Decimal(480), sex=sex)  # type: ignore[arg-type]
    lo, hi = Decimal(low), Decimal(high)
    expected = {lo - STEP: "low", lo: "normal", hi: "normal", hi + STEP: "high"}
    for value, band in expected.items():
        report = _labs([_reading(analyte, value, unit)], patient)
        (result,) = report.results
        assert result.band == band, value
        used = result.to_dict()["range_used"]
        assert (used["kind"], used["low"], used["high"], used["unit"]) == (
            "default", lo, hi, unit)  # fmt: skip
        assert used["sources"] == [source]
        assert used.get("sex") == sex
        who = f"{sex}, " if sex else ""
        assert used["text"] == f"default range {low}-{high} {unit} ({who}{source})"
    assert KB.sources[source].kind == "reference"
    assert KB.sources[source].address.startswith("https://medlineplus.gov/")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("analyte", "sex", "low", "high", "unit", "source"),
    DEFAULTS,
    ids=[f"{a}-{s or 'any'}" for a, s, *_ in DEFAULTS],
)
def test_a_labs_own_range_overrides_the_default_and_is_reported(
    analyte: str, sex: str | None, low: str, high: str, unit: str, source: str
) -> None:
    patient = Patient(sex=sex)  # type: ignore[arg-type]
    value = Decimal(low) - STEP  # low by the default range
    lab = f"{analyte}={value}-{Decimal(high) * 2}{unit}"  # normal by the lab's
    (result,) = _labs([_reading(analyte, value, unit)], patient, (lab,)).results
    assert result.band == "normal"
    used = result.to_dict()["range_used"]
    assert (used["kind"], used["low"], used["high"]) == ("lab", value, Decimal(high) * 2)
    high_shown = format_number(Decimal(high) * 2)
    assert used["text"] == f"lab's own range {format_number(value)}-{high_shown} {unit}"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "240"}  # a wide table: each cell on one line
    return subprocess.run(
        [sys.executable, "-m", "b12", *args],
        capture_output=True, text=True, check=False, timeout=60, env=env,
    )  # fmt: skip


def test_labs_command_shows_the_range_used_in_json_and_in_words() -> None:
    readings = ("b12=180pg/mL", "k=3.6mmol/L", "hb=13g/dL", "ferritin=20ng/mL")
    done = _cli("labs", *readings, "--sex", "female", "--range", "ferritin=15-150ng/mL", "--json")
    assert done.returncode == 0, done.stderr
    used = [r["range_used"]["text"] for r in json.loads(done.stdout)["results"]]
    assert used == [
        "nice-ng239 bands in ng/L: deficient < 180; indeterminate 180-350; sufficient > 350",
        "default range 3.7-5.2 mmol/L (medlineplus-potassium)",
        "default range 12.1-15.1 g/dL (female, medlineplus-hemoglobin)",
        "lab's own range 15-150 ng/mL",
    ]
    shown = _cli("labs", "k=3.6mmol/L", "--range", "k=3.5-5.1mmol/L")
    assert shown.returncode == 0, shown.stderr
    assert "range used" in shown.stdout and "lab's own range 3.5-5.1" in shown.stdout


# --- hypokalaemia ------------------------------------------------------------------------------

LABEL_WORDS = "The US label warns of hypokalaemia and sudden death in intensely treated megaloblastic anaemia."


def _hypo(report: LabReport) -> Any:
    found = [f for f in report.findings if f.code == "LAB_HYPOKALAEMIA"]
    assert len(found) == 1
    assert "LAB_OUT_OF_RANGE" not in [f.code for f in report.findings]  # one finding per fact
    return found[0]


@pytest.mark.parametrize("day", [None, -1, *range(0, 10)])
def test_low_potassium_is_a_warning_and_louder_in_the_first_days(day: int | None) -> None:
    hypo = _hypo(_labs(["k=3.0mmol/L"], ADULT, treatment_day=day))
    assert hypo.level is Level.WARNING
    assert {"us-label-cyanocobalamin", "cobalin-smpc"} <= set(hypo.basis.sources)
    if day is not None and 0 <= day <= 7:
        assert hypo.message == (
            f"URGENT: potassium 3 mmol/L on day {day} after the first injection of the course is "
            "below the default range 3.7-5.2 mmol/L (medlineplus-potassium): hypokalaemia while "
            f"treatment is starting. {LABEL_WORDS} Potassium is to be watched closely in the "
            "first 48 hours and can fall at the reticulocyte peak (days 5-7): tell the prescriber "
            "today, to replace potassium and repeat the level."
        )
        assert hypo.basis.values["day of treatment"] == str(day)
    else:
        assert hypo.message == (
            "Potassium 3 mmol/L is below the default range 3.7-5.2 mmol/L (medlineplus-potassium): "
            f"hypokalaemia. {LABEL_WORDS} Tell the prescriber, who decides on potassium replacement."
        )


@pytest.mark.parametrize(
    ("reading", "ranges", "low"),
    [
        ("k=3.69mmol/L", (), True),
        ("k=3.7mmol/L", (), False),  # the range's own end is normal
        ("k=3.6mEq/L", (), True),
        ("k=3.6mmol/L", ("k=3.5-5.1mmol/L",), False),  # the lab's range is used instead
        ("k=3.4mmol/L", ("k=3.5-5.1mmol/L",), True),
    ],
)
def test_hypokalaemia_follows_the_range_used(
    reading: str, ranges: tuple[str, ...], low: bool
) -> None:
    report = _labs([reading], ADULT, ranges)
    assert ("LAB_HYPOKALAEMIA" in [f.code for f in report.findings]) is low
    if low and ranges:
        assert "lab's own range 3.5-5.1 mmol/L" in _hypo(report).message


# --- the laboratory plan -----------------------------------------------------------------------

START = date(2026, 1, 5)
ANAEMIA_OR_DEFICIENCY = sorted(
    i.id for i in KB.indications.values() if i.category in ("haematological", "deficiency")
)
PLANS = [(i, r.id) for i in ANAEMIA_OR_DEFICIENCY for r in KB.regimens_for(i)]


def test_the_anaemias_and_deficiencies_are_the_ones_meant() -> None:
    assert {"pernicious-anaemia", "megaloblastic-anaemia", "b12-deficiency",
            "folate-deficiency", "dietary-b12-deficiency"} <= set(ANAEMIA_OR_DEFICIENCY)  # fmt: skip


@pytest.mark.parametrize(
    ("indication", "regimen"), [(i, None) for i in ANAEMIA_OR_DEFICIENCY] + PLANS
)
def test_every_plan_for_a_deficiency_or_anaemia_checks_potassium_within_48_h(
    indication: str, regimen: str | None
) -> None:
    from b12.services.planning import PlanRequest, plan_therapy

    plan = plan_therapy(KB, PlanRequest(START, indication=indication, regimen=regimen))
    if not plan.administrations:  # a seed regimen with no dated dose: there is no first dose
        assert "PLAN_PHASE_NOT_SCHEDULED" in [f.code for f in plan.findings]
        return
    first = min(a.date for a in plan.administrations)
    potassium = [c.date for c in plan.labs if "potassium" in [t.analyte for t in c.tests]]
    assert any(first < d <= first + timedelta(days=2) for d in potassium), (first, potassium)


MONITORING = sorted(KB.all("monitoring"))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("rule_id", MONITORING)
def test_every_monitoring_rule_keeps_to_its_routes(rule_id: str, route: str) -> None:
    from b12.services.lab_plan import LabContext, plan_labs, rule_routes

    planned: set[str] = set()
    for pregnant in (False, True):
        for trial in (False, True):
            ctx = LabContext(START, START + timedelta(days=400), (START, START + timedelta(days=20)),
                             True, True, trial, pregnant, frozenset({route}))  # fmt: skip
            checks, _ = plan_labs(KB, ctx)
            planned |= {r.rule for c in checks for r in c.reasons}
    if rule_id in planned:
        assert route in rule_routes(KB.get("monitoring", rule_id))


@pytest.mark.parametrize(
    ("route", "reviewed"),
    [("IM", False), ("SC", False), ("deep-SC", False), ("oral", True), ("sublingual", True)],
)
def test_nices_review_of_oral_replacement_is_only_in_an_oral_plan(
    route: str, reviewed: bool
) -> None:
    from b12.services.lab_plan import LabContext, plan_labs

    ctx = LabContext(START, START + timedelta(days=400), (), True, True, routes=frozenset({route}))
    rules = {r.rule for c in plan_labs(KB, ctx)[0] for r in c.reasons}
    assert ("nice-review-3-months" in rules) is reviewed
    assert ("us-label-potassium-48h" in rules) is not reviewed  # the injection label's rule


def _plans() -> dict[str, Any]:
    """Every indication's plan, or the InputError it raises (an indication with no regimen)."""
    from b12.errors import InputError
    from b12.services.planning import PlanRequest, plan_therapy

    out: dict[str, Any] = {}
    for indication in sorted(KB.indications):
        try:
            out[indication] = plan_therapy(KB, PlanRequest(START, indication=indication))
        except InputError as exc:
            out[indication] = exc
    return out


PLANS = _plans()


def test_an_indication_without_a_plan_says_so() -> None:
    refused = {i: str(e) for i, e in PLANS.items() if isinstance(e, Exception)}
    assert refused  # diagnostic and seed-only entries have no regimen
    for indication, message in refused.items():
        assert "regimen" in message, indication


@pytest.mark.parametrize(
    "indication", [i for i, p in PLANS.items() if not isinstance(p, Exception)]
)
def test_no_plan_carries_a_rule_of_another_route(indication: str) -> None:
    from b12.services.lab_plan import rule_routes

    plan = PLANS[indication]
    routes = {a.route for a in plan.administrations}
    for check in plan.labs:
        for reason in check.reasons:
            assert rule_routes(KB.get("monitoring", reason.rule)) & routes, reason.rule
