"""The planner: published schedules reproduced date by date from a fixed start, then its parts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from b12 import InputError, UnknownNameError, load_knowledge
from b12.adapters.cli import read
from b12.domain.patient import Patient
from b12.domain.schedule import add_months
from b12.services.planning import Plan, plan_therapy

START = date(2026, 1, 5)  # a Monday


def run(**options: Any) -> Plan:
    kb = load_knowledge()
    return plan_therapy(kb, read.plan_request(kb, START, **options))


def days(first: date, count: int, step: int) -> list[date]:
    return [first + timedelta(days=step * i) for i in range(count)]


def dates(plan: Plan, phase: str | None = None) -> list[date]:
    return [a.date for a in plan.administrations if phase is None or a.phase == phase]


def codes(plan: Plan) -> set[str]:
    return {f.code for f in plan.findings}


# --- published schedules --------------------------------------------------------------------


def test_us_label_pernicious_anaemia_course_from_a_fixed_start() -> None:
    plan = run(indication="pernicious anemia", product="cyanocobalamin-us-1000mcg-ml-10ml-vial")
    assert plan.regimen.id == "us-label-pernicious-anaemia"
    assert dates(plan, "daily loading") == days(date(2026, 1, 5), 7, 1)  # daily x 7
    assert dates(plan, "alternate days") == days(date(2026, 1, 13), 7, 2)  # alternate days x 7
    assert dates(plan, "every 3-4 days") == days(date(2026, 1, 28), 7, 3)  # every 3 days, 3 weeks
    assert dates(plan, "monthly maintenance") == [date(2026, m, 15) for m in range(3, 13)]
    assert {(a.dose_mcg, a.volume_ml, a.route) for a in plan.administrations} == {
        (Decimal(100), Decimal("0.1"), "IM")
    }
    phases = plan.schedule.phases
    assert phases[0].length == "7 doses (source: 6-7)"
    assert phases[2].rhythm == "every 3 days (source: every 3-4 days)"
    assert phases[2].length == "21 days (source: 14-21 days)"
    assert phases[3].continues == "lifelong"
    gate = [c for c in plan.schedule.checkpoints if c.kind == "gate"]
    assert [(c.date, c.says) for c in gate] == [
        (
            date(2026, 1, 13),
            "Before this phase: clinical improvement and reticulocyte response.",
        )
    ]
    assert {"PLAN_REGIMEN_CHOSEN", "PLAN_RANGE_READ", "PLAN_CONTINUES"} <= codes(plan)


def test_uk_without_neurological_involvement_three_a_week_then_every_3_months() -> None:
    plan = run(indication="megaloblastic-anaemia", product="hydroxocobalamin-uk-1mg-ml-ampoule")
    assert plan.regimen.id == "nhs-scotland-anaemia-without-neuro"
    assert dates(plan) == [
        date(2026, 1, 5),
        date(2026, 1, 7),
        date(2026, 1, 9),
        date(2026, 1, 12),
        date(2026, 1, 14),
        date(2026, 1, 16),  # Mon/Wed/Fri for 2 weeks
        date(2026, 4, 16),
        date(2026, 7, 15),
        date(2026, 10, 13),  # every 90 days
    ]
    assert {(a.dose_mcg, a.volume_ml, a.route) for a in plan.administrations} == {
        (Decimal(1000), Decimal(1), "IM")
    }


def test_uk_with_neurological_involvement_alternate_days_then_every_2_months() -> None:
    plan = run(indication="megaloblastic-anaemia", neuro=True)
    assert plan.regimen.id == "nhs-scotland-anaemia-with-neuro"
    assert dates(plan, "alternate days") == days(START, 28, 2)  # planned 56 days, then review
    assert dates(plan, "maintenance every 2 months") == days(date(2026, 4, 29), 5, 60)
    review = [c for c in plan.schedule.checkpoints if c.kind == "review"]
    assert [c.date for c in review] == [date(2026, 3, 2)]
    assert "no further improvement" in review[0].says
    assert "PLAN_OPEN_PHASE_ASSUMED" in codes(plan)


def test_seed_000_escalating_course_rises_in_equal_steps() -> None:
    plan = run(regimen="seed-000-neurological-escalating", concentration="500mcg/mL")
    assert dates(plan) == days(START, 7, 2)
    assert [a.dose_mcg for a in plan.administrations] == [200, 250, 300, 350, 400, 450, 500]
    assert [a.volume_ml for a in plan.administrations] == [
        Decimal(v) for v in ("0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1")
    ]
    assert "PLAN_REGIMEN_NOT_DEFAULT" in codes(plan)


def test_seed_000_patients_account_tapering_course() -> None:
    plan = run(regimen="seed-000-account-very-low-b12")
    assert dates(plan) == [
        *days(START, 7, 1),
        *days(date(2026, 1, 13), 4, 2),
        *days(date(2026, 1, 22), 3, 3),
        date(2026, 2, 4),
        *days(date(2026, 5, 5), 3, 90),
    ]


def test_seed_001_peripheral_nerve_injury_every_other_day_for_45_days() -> None:
    plan = run(regimen="seed-001-peripheral-nerve-injury")
    assert dates(plan) == days(START, 23, 2)
    assert plan.administrations[-1].date == date(2026, 2, 18)
    assert {(a.dose_mcg, a.dose_range) for a in plan.administrations} == {(Decimal(200), "200-400")}


def test_seed_002_iu_regimen_is_daily_and_flagged_as_contradicted() -> None:
    plan = run(regimen="seed-002-pernicious-anaemia-iu", months=1)
    assert dates(plan) == days(START, 31, 1)
    weak = [f for f in plan.findings if f.code == "PLAN_REGIMEN_NOT_DEFAULT"]
    assert [f.conflict for f in weak] == ["conflict-b12-iu-doses"]


@pytest.mark.parametrize("regimen", ["seed-003-im", "seed-004-repletion-maintenance"])
def test_seed_regimens_without_a_rhythm_are_not_dated(regimen: str) -> None:
    plan = run(regimen=regimen)
    assert plan.administrations == ()
    assert "PLAN_PHASE_NOT_SCHEDULED" in codes(plan)


def test_monthly_doses_keep_the_day_and_clamp_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


# --- choosing the regimen -------------------------------------------------------------------


def test_hydroxocobalamin_product_selects_the_uk_smpc_for_pernicious_anaemia() -> None:
    plan = run(indication="pernicious-anaemia", product="hydroxocobalamin-uk-1mg-ml-ampoule")
    assert plan.regimen.id == "uk-smpc-hydroxocobalamin-anaemia"
    assert plan.administrations[0].dose_mcg == 250
    assert plan.administrations[0].dose_range == "250-1000"
    assert plan.administrations[0].volume_ml == Decimal("0.25")


@pytest.mark.parametrize(
    ("indication", "regimen", "how"),
    [
        ("funicular-myelosis", "nhs-scotland-anaemia-with-neuro", "conflict-default"),
        ("b12-deficiency-neuro", "nhs-scotland-anaemia-with-neuro", "related-indication"),
        ("gi-malabsorption", "us-hydroxocobalamin-deficiency", "related-indication"),
        ("fish tapeworm", "us-hydroxocobalamin-deficiency", "related-indication"),
    ],
)
def test_indications_without_an_authority_regimen_fall_back_and_say_so(
    indication: str, regimen: str, how: str
) -> None:
    plan = run(indication=indication)
    assert (plan.regimen.id, plan.choice.how) == (regimen, how)
    assert "PLAN_REGIMEN_FALLBACK" in codes(plan)


def test_asked_regimen_against_the_default_names_its_conflict() -> None:
    plan = run(regimen="seed-000-list-a-pernicious-anaemia")
    data = plan.to_dict()
    assert data["regimen"]["chosen"] == "asked"
    conflict = next(
        c for c in data["conflicts"] if c["id"] == "conflict-pernicious-anaemia-regimen"
    )
    assert conflict["plan_position"] == "seed-000-alternate-days"
    assert conflict["plan_follows_default"] is False
    assert conflict["default"]["id"] == "us-label"
    assert "us-label-pernicious-anaemia" in [a["id"] for a in data["alternatives"]]


def test_alternatives_and_conflicts_of_the_label_plan() -> None:
    data = run(indication="pernicious-anaemia").to_dict()
    alternatives = [a["id"] for a in data["alternatives"]]
    assert alternatives[0] == "uk-smpc-hydroxocobalamin-anaemia"
    assert "seed-000-list-a-pernicious-anaemia" in alternatives
    assert all(a["sources"] for a in data["alternatives"])
    conflict = next(
        c for c in data["conflicts"] if c["id"] == "conflict-pernicious-anaemia-regimen"
    )
    assert conflict["plan_follows_default"] is True
    assert any("100-200 mcg" in p["says"] for p in conflict["positions"])


def test_bad_requests_say_what_to_write() -> None:
    with pytest.raises(UnknownNameError):
        run(indication="perniciuos anaemia x")
    with pytest.raises(InputError, match="from 1 to 60"):
        run(indication="pernicious-anaemia", months=0)
    with pytest.raises(InputError, match="not both"):
        run(
            indication="pernicious-anaemia",
            product="hydroxocobalamin-uk-1mg-ml-ampoule",
            concentration="1mg/mL",
        )
    with pytest.raises(InputError, match="name an indication or a regimen") as refused:
        run()
    assert refused.value.fields == ("indication", "regimen")
    with pytest.raises(InputError, match=r"e\.g\. 150pg/mL"):
        run(indication="pernicious-anaemia", b12="150")


def test_baseline_b12_is_read_against_the_nice_bands() -> None:
    low = next(
        f
        for f in run(indication="pernicious-anaemia", b12="150pg/mL").findings
        if f.code == "PLAN_B12_BASELINE"
    )
    assert low.message == "Baseline B12 150 pg/mL (110.7 pmol/L): deficient (NICE NG239)."
    high = next(
        f
        for f in run(indication="pernicious-anaemia", b12="400 ng/L").findings
        if f.code == "PLAN_B12_BASELINE"
    )
    assert high.level.value == "warning"


# --- laboratory plan ------------------------------------------------------------------------


def test_label_plan_laboratory_checks() -> None:
    plan = run(indication="pernicious-anaemia")
    labs = {lab.day: lab for lab in plan.labs}
    # no day-90 review: NICE's review is of oral replacement, and this plan is injected
    assert sorted(labs) == [0, 1, 2, 5, 6, 7, 14, 21, 28, 35, 42, 49, 56, 176, 296]
    baseline = {t.analyte: t.loinc for t in labs[0].tests}
    assert baseline == {
        "haematocrit": "4544-3",
        "reticulocytes": "17849-1",
        "b12": "2132-9",
        "folate": "2284-8",
        "iron": "2498-4",
        "potassium": "2823-3",
    }
    assert [t.analyte for t in labs[1].tests] == ["potassium"]
    assert [t.analyte for t in labs[5].tests] == ["haematocrit", "reticulocytes", "iron"]
    assert [r.rule for r in labs[5].reasons] == [
        "us-label-days-5-7",
        "seed-000-reticulocytes-iron-day-5-8",
    ]
    assert [r.rule for r in labs[176].reasons] == ["seed-000-after-remission-4-6-months"]


def _with_oral_review(plan: Plan, *, pregnant: bool) -> Any:
    """The plan's lab checks as if the course also had oral replacement (IM then oral)."""
    from b12.services.lab_plan import LabContext, plan_labs

    injections = tuple(a.date for a in plan.administrations)
    ctx = LabContext(START, add_months(START, 12), injections, True, True,
                     pregnant_or_breastfeeding=pregnant, routes=frozenset({"IM", "oral"}))  # fmt: skip
    return plan_labs(load_knowledge(), ctx)


def test_review_at_one_month_in_pregnancy_keeps_b12_two_weeks_from_an_injection() -> None:
    plan = run(indication="pernicious-anaemia", patient=Patient(pregnant=True))
    checks, findings = _with_oral_review(plan, pregnant=True)
    by_date = {lab.date: [t.analyte for t in lab.tests] for lab in checks}
    assert by_date[date(2026, 2, 4)] == ["blood-count"]  # day 30: injection on 3 Feb
    assert by_date[date(2026, 3, 1)] == ["b12"]  # 14 days after the 15 Feb injection
    moved = next(f for f in findings if f.code == "LAB_B12_MOVED")
    assert moved.basis.sources == ("mayo-labs",)
    assert "moved to 2026-03-01" in moved.message


def test_b12_level_left_out_when_every_day_follows_an_injection_closely() -> None:
    plan = run(regimen="seed-002-pernicious-anaemia-iu")
    checks, findings = _with_oral_review(plan, pregnant=False)
    assert all("b12" not in [t.analyte for t in lab.tests] for lab in checks if lab.day > 0)
    assert any(f.code == "LAB_B12_MOVED" and "left out" in f.message for f in findings)


# --- supply ---------------------------------------------------------------------------------


def test_supply_counts_ampoules_packs_syringes_and_cost() -> None:
    plan = run(indication="pernicious-anaemia", product="cyanocobalamin-500mcg-ml-ampoule")
    first, whole = plan.supply_first_month, plan.supply_horizon
    assert (first.injections, first.containers, first.packs, first.needles) == (17, 17, 2, 17)
    assert first.syringes == {"1 mL": 17}
    assert [(c.amount, c.currency) for c in first.costs] == [
        (Decimal(46), "RUB"),
        (Decimal(80), "RUB"),
    ]
    assert (whole.injections, whole.containers, whole.packs) == (31, 31, 4)
    assert whole.volume_ml == Decimal("6.2")


def test_supply_of_a_multi_dose_vial_is_counted_by_volume() -> None:
    plan = run(indication="pernicious-anaemia", product="cyanocobalamin-us-1000mcg-ml-10ml-vial")
    assert (plan.supply_horizon.volume_ml, plan.supply_horizon.containers) == (Decimal("3.1"), 1)
    assert plan.supply_horizon.costs == ()


def test_public_api_plan_is_the_same_plan() -> None:
    import b12

    plan = b12.plan("pernicious anaemia", start=START, product="cyanocobalamin-500mcg-ml-ampoule")
    assert len(plan.administrations) == 31
    assert plan.fingerprint == load_knowledge().fingerprint
