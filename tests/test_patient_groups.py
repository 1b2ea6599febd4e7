"""Plans for a patient group: neurological involvement keeps a regimen written for it; a child gets
the children's regimen, its repletion ends at its stated total, and its volumes follow the age."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest

from b12 import load_knowledge
from b12.domain.findings import Level
from b12.domain.patient import Patient
from b12.domain.schedule import add_months, expand
from b12.knowledge.schema import Phase
from b12.services.dose_checks import site_limits
from b12.services.patient_groups import DEFICIENCY_CATEGORIES, written_for_neuro
from b12.services.planning import Plan, PlanRequest, plan_therapy
from b12.services.regimen_choice import substance_of

START = date(2026, 1, 5)
KB = load_knowledge()
PRODUCTS = sorted(KB.products)
#: Every supported indication of B12 deficiency, its causes and its neurological forms.
INDICATIONS = sorted(
    i.id
    for i in KB.indications.values()
    if i.status == "supported" and i.category in DEFICIENCY_CATEGORIES
)
#: Substances an authority writes a regimen with neurological involvement for.
WRITTEN_FOR_NEURO = {r.substance for r in KB.regimens.values() if written_for_neuro(KB, r)}
UK_NEURO = "nhs-scotland-anaemia-with-neuro"
PAEDIATRIC = "us-paediatric-pernicious-anaemia"
CHILD_AGES = {"2 months": Decimal(2), "6 years": Decimal(72), "11 years": Decimal(132)}
CHILD_INDICATIONS = [
    "pernicious-anaemia",
    "b12-deficiency",
    "megaloblastic-anaemia",
    "gi-malabsorption",
]
NEURO_CODES = {"PLAN_NEURO_NOT_ADDRESSED", "PLAN_NEURO_NO_SUBSTANCE_REGIMEN"}


def run(**options: Any) -> Plan:
    return plan_therapy(KB, PlanRequest(START, **options))


def found(plan: Plan, code: str) -> list[str]:
    return [f.message for f in plan.findings if f.code == code]


def codes(plan: Plan) -> set[str]:
    return {f.code for f in plan.findings}


# --- neurological involvement ---------------------------------------------------------------


def test_the_knowledge_base_writes_a_neurological_regimen_for_hydroxocobalamin_only() -> None:
    # The class below depends on this split; if a source adds one, both sides stay tested.
    assert {"hydroxocobalamin"} == WRITTEN_FOR_NEURO
    assert {substance_of(KB.products[p]) for p in PRODUCTS} - WRITTEN_FOR_NEURO


@pytest.mark.parametrize("indication", INDICATIONS)
@pytest.mark.parametrize("product", PRODUCTS)
def test_neuro_plan_keeps_a_regimen_written_for_it_of_the_products_substance(
    product: str, indication: str
) -> None:
    plan = run(indication=indication, product=product, neuro=True)
    substance = substance_of(KB.products[product])
    regimen = plan.regimen
    if substance in WRITTEN_FOR_NEURO:
        assert written_for_neuro(KB, regimen)
        assert regimen.substance == substance
        assert not codes(plan) & NEURO_CODES
        return
    # None of its substance: said, with a warning; another substance's regimen only when written
    # for neurological involvement (never a lower-dose one silent on it).
    [warning] = [f for f in plan.findings if f.code == "PLAN_NEURO_NO_SUBSTANCE_REGIMEN"]
    assert warning.level is Level.WARNING
    assert warning.message.startswith(
        f"Neurological involvement was given, but no {substance} regimen in the knowledge base "
        f"is written for it. This plan follows regimens:{regimen.id}, "
    )
    assert "PLAN_NEURO_NOT_ADDRESSED" not in codes(plan)  # one finding for the fact
    if regimen.substance != substance:
        assert written_for_neuro(KB, regimen)


@pytest.mark.parametrize("indication", ["pernicious-anaemia", "b12-deficiency", "gi-malabsorption"])
def test_uk_hydroxocobalamin_with_neuro_is_1_mg_alternate_days_then_every_2_months(
    indication: str,
) -> None:
    plan = run(indication=indication, product="hydroxocobalamin-uk-1mg-ml-ampoule", neuro=True)
    assert plan.regimen.id == UK_NEURO
    assert {a.dose_mcg for a in plan.administrations} == {Decimal(1000)}
    assert [p.rhythm for p in plan.schedule.phases] == ["every 2 days", "every 60 days"]


def test_cyanocobalamin_with_neuro_says_it_has_no_regimen_and_follows_the_uk_one() -> None:
    plan = run(
        indication="pernicious-anaemia",
        product="cyanocobalamin-us-1000mcg-ml-10ml-vial",
        neuro=True,
    )
    assert plan.regimen.id == UK_NEURO
    assert plan.choice.how == "patient-group"
    assert found(plan, "PLAN_NEURO_NO_SUBSTANCE_REGIMEN") == [
        "Neurological involvement was given, but no cyanocobalamin regimen in the knowledge base is "
        "written for it. This plan follows regimens:nhs-scotland-anaemia-with-neuro, written for it "
        "with hydroxocobalamin."
    ]
    assert "PLAN_SUBSTANCE_DIFFERS" in codes(plan)


@pytest.mark.parametrize("indication", [None, "pernicious-anaemia"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_asked_neurological_regimen_is_kept_and_its_substance_checked(
    product: str, indication: str | None
) -> None:
    plan = run(indication=indication, regimen=UK_NEURO, product=product, neuro=True)
    assert (plan.regimen.id, plan.choice.how) == (UK_NEURO, "asked")
    substance = substance_of(KB.products[product])
    expected = set() if substance in WRITTEN_FOR_NEURO else {"PLAN_NEURO_NO_SUBSTANCE_REGIMEN"}
    assert codes(plan) & NEURO_CODES == expected


@pytest.mark.parametrize("indication", [None, "pernicious-anaemia"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_asked_regimen_silent_on_neuro_is_kept_and_warned(
    product: str, indication: str | None
) -> None:
    plan = run(
        indication=indication, regimen="us-label-pernicious-anaemia", product=product, neuro=True
    )
    assert plan.regimen.id == "us-label-pernicious-anaemia"
    substance = substance_of(KB.products[product])
    if substance in WRITTEN_FOR_NEURO:
        assert found(plan, "PLAN_NEURO_NOT_ADDRESSED") == [
            "Neurological involvement was given, but this regimen does not speak to it. The "
            f"{substance} regimen written for it is regimens:{UK_NEURO}."
        ]
    else:
        assert found(plan, "PLAN_NEURO_NO_SUBSTANCE_REGIMEN") == [
            f"Neurological involvement was given, but no {substance} regimen in the knowledge base "
            "is written for it. This plan follows regimens:us-label-pernicious-anaemia, which does "
            f"not speak to it. The most trusted regimen written for it is regimens:{UK_NEURO} "
            "(hydroxocobalamin)."
        ]
    assert all(f.level is Level.WARNING for f in plan.findings if f.code in NEURO_CODES)


def test_without_a_product_neuro_follows_the_regimen_written_for_it() -> None:
    plan = run(indication="pernicious-anaemia", neuro=True)
    assert plan.regimen.id == UK_NEURO
    assert not codes(plan) & NEURO_CODES


def test_without_neuro_the_defaults_are_unchanged() -> None:
    assert run(indication="pernicious-anaemia").regimen.id == "us-label-pernicious-anaemia"
    hydroxo = run(indication="pernicious-anaemia", product="hydroxocobalamin-uk-1mg-ml-ampoule")
    assert hydroxo.regimen.id == "uk-smpc-hydroxocobalamin-anaemia"
    assert run(indication="b12-deficiency").regimen.id == "us-hydroxocobalamin-deficiency"


# --- children -------------------------------------------------------------------------------


@pytest.mark.parametrize("dose", [1, 29, 30, 40, 50, 999, 1000, 1001])
def test_a_phase_to_a_total_ends_with_the_dose_that_reaches_it(dose: int) -> None:
    phase = Phase.model_validate(
        {"name": "daily", "kind": "loading", "dose_mcg": dose, "every_days": 1, "total_mcg": 1000}
    )
    after = Phase.model_validate(
        {
            "name": "monthly",
            "kind": "maintenance",
            "dose_mcg": 100,
            "per_month": 1,
            "lifelong": True,
        }
    )
    schedule = expand((phase, after), START, add_months(START, 60), ("IM", "IM"))
    given = [d.dose_mcg for d in schedule.doses if d.phase == "daily"]
    count = int((Decimal(1000) / dose).to_integral_value(ROUND_CEILING))
    assert len(given) == count
    assert sum(given[:-1]) < 1000 <= sum(given)
    monthly = [d.date for d in schedule.doses if d.phase == "monthly"]
    last_daily = max(d.date for d in schedule.doses if d.phase == "daily")
    assert monthly[0] == add_months(last_daily, 1)
    assert not [c for c in schedule.checkpoints if c.kind == "review"]


@pytest.mark.parametrize(
    "product", [None, "cyanocobalamin-us-1000mcg-ml-1ml-vial", "cyanocobalamin-200mcg-ml-ampoule"]
)
@pytest.mark.parametrize("indication", CHILD_INDICATIONS)
@pytest.mark.parametrize("age", CHILD_AGES, ids=list(CHILD_AGES))
def test_a_child_gets_the_childrens_regimen_to_its_total_then_monthly(
    age: str, indication: str, product: str | None
) -> None:
    plan = run(
        indication=indication,
        product=product,
        patient=Patient(age_months=CHILD_AGES[age]),
        months=6,
    )
    assert plan.regimen.id == PAEDIATRIC
    assert "PLAN_POPULATION_DIFFERS" not in codes(plan)
    assert "PLAN_OPEN_PHASE_ASSUMED" not in codes(plan)
    repletion = [a for a in plan.administrations if a.phase == "daily repletion"]
    monthly = [a for a in plan.administrations if a.phase == "monthly maintenance"]
    assert {(a.dose_mcg, a.dose_range) for a in repletion} == {(Decimal(30), "30-50")}
    assert sum(a.dose_mcg for a in repletion[:-1]) < 1000 <= sum(a.dose_mcg for a in repletion)
    assert len(repletion) == 34 and repletion[-1].day == 33  # at least 14 days
    assert monthly[0].date == add_months(repletion[-1].date, 1)
    assert {a.dose_mcg for a in monthly} == {Decimal(100)}
    assert (
        plan.schedule.phases[0].length
        == "to a total of 1000 mcg: 34 doses of 30-50 mcg, 1020 mcg given"
    )


@pytest.mark.parametrize(
    "product", ["cyanocobalamin-us-1000mcg-ml-1ml-vial", "cyanocobalamin-200mcg-ml-ampoule"]
)
@pytest.mark.parametrize("age", CHILD_AGES, ids=list(CHILD_AGES))
def test_a_childs_plan_volumes_keep_to_the_age_site_limits(age: str, product: str) -> None:
    months = CHILD_AGES[age]
    plan = run(indication="pernicious-anaemia", product=product, patient=Patient(age_months=months))
    limits = [lim[0] for site, lim in site_limits(KB, months) if lim and "IM" in site.routes]
    volumes = [a.volume_ml for a in plan.administrations if a.volume_ml is not None]
    assert len(volumes) == len(plan.administrations)
    if limits:  # the sources give limits for infants and toddlers only
        assert max(volumes) <= max(limits)
    assert not codes(plan) & {"VOLUME_ABOVE_AGE_LIMITS", "SITE_VOLUME_LIMIT", "VOLUME_IMPLAUSIBLE"}


def test_an_infants_plan_checks_volumes_at_the_infants_age() -> None:
    infant = Patient(age_months=Decimal(2))
    plan = run(
        indication="pernicious-anaemia", product="cyanocobalamin-200mcg-ml-ampoule", patient=infant
    )
    assert "Sites that take 0.5 mL IM at age 2 months: vastus lateralis (up to 1 mL)." in found(
        plan, "SITE_SUGGESTION"
    )
    adult_dose = run(
        regimen=UK_NEURO, product="cyanocobalamin-500mcg-ml-ampoule", patient=infant, months=1
    )
    assert found(adult_dose, "VOLUME_ABOVE_AGE_LIMITS") == [
        "No IM site takes 2 mL in one injection at age 2 months (vastus lateralis up to 1 mL); "
        "split the dose between sites or check the order."
    ]
    assert found(adult_dose, "PLAN_POPULATION_DIFFERS") == [
        "The regimen is for the adult population; the patient is infant."
    ]


@pytest.mark.parametrize("months", [Decimal(216), Decimal(480), Decimal(900), None])
@pytest.mark.parametrize("indication", CHILD_INDICATIONS)
def test_adults_and_unknown_ages_never_get_the_childrens_regimen(
    indication: str, months: Decimal | None
) -> None:
    plan = run(indication=indication, patient=Patient(age_months=months))
    assert plan.regimen.population != "child"
    assert "PLAN_POPULATION_DIFFERS" not in codes(plan)


def test_seventeen_years_and_eleven_months_is_still_a_child() -> None:
    plan = run(indication="pernicious-anaemia", patient=Patient(age_months=Decimal(215)))
    assert plan.regimen.id == PAEDIATRIC


@pytest.mark.parametrize(
    ("regimen", "months", "message"),
    [
        (
            PAEDIATRIC,
            Decimal(480),
            "The regimen is for the child population; the patient is adult.",
        ),
        (
            "us-label-pernicious-anaemia",
            Decimal(72),
            "The regimen is for the adult population; the patient is child.",
        ),
        (
            "us-label-pernicious-anaemia",
            Decimal(2),
            "The regimen is for the adult population; the patient is infant.",
        ),
        (PAEDIATRIC, Decimal(2), None),
        (PAEDIATRIC, Decimal(132), None),
        ("us-label-pernicious-anaemia", Decimal(216), None),
    ],
)
def test_asked_regimen_for_another_age_group_says_so(
    regimen: str, months: Decimal, message: str | None
) -> None:
    plan = run(regimen=regimen, patient=Patient(age_months=months), months=2)
    assert found(plan, "PLAN_POPULATION_DIFFERS") == ([message] if message else [])
