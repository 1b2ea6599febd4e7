"""Daily requirement (IOM by default, every table shown) and a day's intake from foods, exact."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from b12 import InputError, UnknownNameError, estimate_intake, load_knowledge
from b12.adapters.cli import read
from b12.domain.patient import Patient
from b12.services.intake import IntakeEstimate, requirement


def eaten(foods: list[str], patient: Patient) -> IntakeEstimate:
    """A day's foods as the command line reads them, estimated."""
    kb = load_knowledge()
    return estimate_intake(kb, read.foods(kb, foods), patient)


def years(n: str, **rest: bool) -> Patient:
    return Patient(age_months=Decimal(n) * 12, **rest)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("patient", "mcg"),
    [
        (Patient(age_months=Decimal(3)), "0.4"),
        (Patient(age_months=Decimal(6)), "0.5"),
        (Patient(age_months=Decimal(12)), "0.9"),
        (years("3.99"), "0.9"),
        (years("4"), "1.2"),
        (years("8"), "1.2"),
        (years("9"), "1.8"),
        (years("13.9"), "1.8"),
        (years("14"), "2.4"),
        (years("70"), "2.4"),
        (years("30", pregnant=True), "2.6"),
        (years("30", breastfeeding=True), "2.8"),
        (years("16", pregnant=True), "2.6"),
        (years("30", pregnant=True, breastfeeding=True), "2.8"),
        (Patient(pregnant=True), "2.6"),  # age not needed in pregnancy
    ],
)
def test_iom_requirement(patient: Patient, mcg: str) -> None:
    need = requirement(load_knowledge(), patient)
    assert need.chosen.table.id == "iom-rda"
    assert need.mcg_per_day.min == need.mcg_per_day.max == Decimal(mcg)


def test_tables_differ_and_are_shown() -> None:
    need = requirement(load_knowledge(), years("16"))
    shown = {t["table"]: t["mcg_per_day"] for t in need.to_dict()["tables"]}
    assert shown == {
        "iom-rda": Decimal("2.4"),
        "efsa-adequate-intake": None,  # adults only, from 18
        "seed-000-age-table-1": Decimal("2.6"),
        "seed-000-age-table-2": Decimal(3),
    }
    disagree = next(f for f in need.findings if f.code == "REQUIREMENT_TABLES_DISAGREE")
    assert disagree.conflict == "daily-requirement-by-age"
    assert disagree.message == (
        "iom-rda gives 2.4 mcg a day for this patient; other tables differ: "
        "seed-000-age-table-1 2.6 mcg; seed-000-age-table-2 3 mcg."
    )
    assert "REQUIREMENT_NOT_IN_TABLE" in {f.code for f in need.findings}


def test_seed_range_row_and_explicit_table() -> None:
    need = requirement(load_knowledge(), years("25", pregnant=True), "seed-000-age-table-1")
    assert need.to_dict()["requirement_mcg_per_day"] == {
        "min": Decimal("2.8"),
        "max": Decimal("3.2"),
    }


def test_requirement_needs_age_and_a_table_with_a_row() -> None:
    with pytest.raises(InputError, match="the requirement depends on age") as refused:
        requirement(load_knowledge(), Patient())
    assert refused.value.field == "age"
    with pytest.raises(InputError, match="efsa-adequate-intake gives no value"):
        requirement(load_knowledge(), years("10"), "efsa-adequate-intake")
    with pytest.raises(UnknownNameError):
        requirement(load_knowledge(), years("10"), "who")


def test_food_list_totals_exactly() -> None:
    kb = load_knowledge()
    foods = read.foods(kb, ["liver=100", "milk=250g", "trout=33.3", "egg=55", "salmon=120"])
    estimate = estimate_intake(kb, foods, years("40"))
    # 60 + 1 + 2.4975 + 0.275 = 63.7725; salmon has no amount and is not counted
    assert estimate.intake_mcg_per_day == Decimal("63.7725")
    data = estimate.to_dict()
    assert data["requirement_mcg_per_day"] == Decimal("2.4")
    assert [i["mcg"] for i in data["items"]] == [
        Decimal(60),
        Decimal(1),
        Decimal("2.4975"),
        Decimal("0.275"),
        None,
    ]
    unknown = next(f for f in estimate.findings if f.code == "INTAKE_AMOUNT_UNKNOWN")
    assert unknown.message == (
        "salmon: amount unknown (its sources name it as a B12 source without a figure); not counted."
    )
    assert "INTAKE_MEETS_REQUIREMENT" in {f["code"] for f in data["findings"]}


def test_low_intake_says_uncounted_foods_may_add() -> None:
    estimate = eaten(["butter=10", "spinach=100"], years("40"))
    assert estimate.intake_mcg_per_day == Decimal("0.01")
    below = next(f for f in estimate.findings if f.code == "INTAKE_BELOW_REQUIREMENT")
    assert below.message == (
        "Counted intake 0.01 mcg a day is below the requirement of 2.4 mcg (iom-rda); "
        "1 food(s) without an amount were not counted, so the real intake may be higher."
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("liver", "'liver': not FOOD=GRAMS; write e.g. liver=100g"),
        (
            "liver=100mg",
            "'liver=100mg': 'mg' is not grams; write the amount in grams, e.g. liver=100g",
        ),
        ("liver=0", "'liver=0': 0 g is not a day's portion; write grams above 0 and up to 5000"),
    ],
)
def test_intake_input_errors(item: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        eaten([item], years("40"))
    assert str(caught.value) == message


def test_cli_intake_and_requirement_json() -> None:
    run = [sys.executable, "-m", "b12"]
    done = subprocess.run(
        [*run, "intake", "liver=100", "milk=250", "--age-years", "40", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["requirement_mcg_per_day"], data["intake_mcg_per_day"]) == (2.4, 61)
    assert [i["food"] for i in data["items"]] == ["beef-liver", "cows-milk"]
    done = subprocess.run(
        [*run, "requirement", "--age-years", "30", "--breastfeeding", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    data = json.loads(done.stdout)
    assert data["requirement_mcg_per_day"] == 2.8
    assert {t["table"]: t["mcg_per_day"] for t in data["tables"]}["efsa-adequate-intake"] == 5
