"""Route, indication and ingredient safety: the checks follow what is ordered, whatever names it.

Each test covers a whole class: every route x every cobalamin (or none given) x every command
(dose with a bare strength, dose with a product, plan, give); every product x every rule about an
ingredient; every separator of a combination medicine's name.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b12.adapters.cli import read
from b12.domain.findings import Finding, Level
from b12.domain.patient import Patient
from b12.domain.routes import INJECTED, ROUTES
from b12.domain.screening import HARD_STOPS, NO_BYPASS
from b12.errors import InputError
from b12.knowledge import load_knowledge
from b12.services.dosing import calculate_dose
from b12.services.planning import PlanRequest, plan_therapy
from b12.services.screening import screen_patient
from tests.profiles import patient_of

KB = load_knowledge()
COBALAMINS = ("cyanocobalamin", "hydroxocobalamin", "methylcobalamin")
NOT_INJECTED = tuple(r for r in ROUTES if r not in INJECTED)
ROUTE_CODES = {
    "ROUTE_AVOID",
    "ROUTE_NOT_FOR_SUBSTANCE",
    "ROUTE_INTRATHECAL",
    "ROUTE_INTRATHECAL_PRESERVED",
    "ROUTE_NOT_FOR_FORM",
    "ROUTE_SPECIALIST_ONLY",
}


def expected(route: str, substance: str | None, preserved: bool = False) -> dict[str, Level]:
    """The route findings the facts call for (clinical-facts.md sections 1, 2 and 7)."""
    out: dict[str, Level] = {}
    if route == "intrathecal":
        out["ROUTE_INTRATHECAL"] = Level.STOP  # no label gives it, for any cobalamin
        if preserved:
            out["ROUTE_INTRATHECAL_PRESERVED"] = Level.STOP
    if route == "IV" and substance in ("cyanocobalamin", None):
        out["ROUTE_AVOID"] = Level.WARNING  # most of an IV dose is lost in the urine
    if route in ("IV", "SC", "deep-SC") and substance == "hydroxocobalamin":
        out["ROUTE_NOT_FOR_SUBSTANCE"] = Level.WARNING  # IM only
    return out


def route_findings(findings: tuple[Finding, ...] | list[Finding]) -> dict[str, Level]:
    return {f.code: f.level for f in findings if f.code in ROUTE_CODES}


@pytest.mark.parametrize("substance", [*COBALAMINS, None])
@pytest.mark.parametrize("route", ROUTES)
def test_dose_with_a_bare_strength(route: str, substance: str | None) -> None:
    result = calculate_dose(
        KB,
        read.dose_request(
            KB, "500 mcg", concentration="1000mcg/mL", route=route, substance=substance
        ),
    )
    want = expected(route, substance)
    if route in NOT_INJECTED:
        want["ROUTE_NOT_FOR_FORM"] = Level.WARNING  # a solution in mcg/mL is not an oral form
    assert route_findings(result.findings) == want


INJECTIONS = [
    p for p in KB.products.values() if p.form == "injection" and p.ingredients[0].amount_mcg
]


def _cobalamin(product: Any) -> str:
    return next(i.substance for i in product.ingredients if i.substance.endswith("cobalamin"))


def _preserved(product: Any) -> bool:
    return any(e.substance == "benzyl-alcohol" for e in product.excipients)


@pytest.mark.parametrize("route", INJECTED)
@pytest.mark.parametrize("product", INJECTIONS, ids=lambda p: p.id)
def test_dose_with_every_injection_product(product: Any, route: str) -> None:
    result = calculate_dose(KB, read.dose_request(KB, "500 mcg", product=product.id, route=route))
    found = route_findings(result.findings)
    want = expected(route, _cobalamin(product), _preserved(product))
    # The substance's rule is the one finding for its fact; the product's own advice adds only
    # where the substance rules are silent (a route the product's label advises against).
    for code, level in want.items():
        assert found.pop(code) is level, code
    assert set(found) <= {"ROUTE_AVOID", "ROUTE_SPECIALIST_ONLY"}
    if want:
        assert not found  # no second wording of the same route fact
    stops = {f.code for f in result.findings if f.level is Level.STOP}
    assert ("ROUTE_INTRATHECAL" in stops) is (route == "intrathecal")


def test_every_route_stop_is_bypassable_except_the_preserved_product() -> None:
    patient = Patient(age_months=Decimal(600))
    lifted = screen_patient(
        KB,
        patient,
        product="cyanocobalamin-500mcg-ml-ampoule",
        route="intrathecal",
        bypass={"ROUTE_INTRATHECAL": "neurologist's decision, documented"},
    )
    assert lifted.interrupts == ()
    assert "STOP_BYPASSED" in {f.code for f in lifted.findings}
    with pytest.raises(InputError, match="no reason lifts"):
        screen_patient(
            KB,
            patient,
            product="cyanocobalamin-us-1000mcg-ml-1ml-vial",
            route="intrathecal",
            bypass={"ROUTE_INTRATHECAL_PRESERVED": "specialist decision"},
        )
    assert NO_BYPASS <= HARD_STOPS


# --- plan: every regimen, every phase's route ----------------------------------------------------


@pytest.mark.parametrize("regimen", list(KB.regimens.values()), ids=lambda r: r.id)
def test_plan_screens_every_phase_route_of_every_regimen(regimen: Any) -> None:
    plan = plan_therapy(KB, PlanRequest(start=date(2027, 1, 4), regimen=regimen.id, months=3))
    routes = {a.route for a in plan.administrations} or {
        (ph.routes or regimen.routes)[0] for ph in regimen.phases
    }
    want: dict[str, Level] = {}
    for route in routes:
        want |= expected(route, regimen.substance)
    found = route_findings(plan.findings)
    assert {c: lv for c, lv in found.items() if c in want} == want
    assert set(found) - set(want) <= {"ROUTE_NOT_FOR_FORM"}  # only in an oral plan's doses
    if "intrathecal" in routes:
        assert plan.stops  # a course into the spinal canal is never planned quietly


def test_leber_plan_with_cyanocobalamin_warns_and_offers_hydroxocobalamin() -> None:
    plan = plan_therapy(
        KB,
        PlanRequest(
            start=date(2027, 1, 4),
            indication="Leber's optic atrophy",
            product="cyanocobalamin-us-1000mcg-ml-10ml-vial",
        ),
    )
    lebers = next(f for f in plan.findings if f.code == "LEBERS_DISEASE")
    assert lebers.level is Level.WARNING
    assert lebers.basis.sources == ("us-label-cyanocobalamin",)
    offer = next(f for f in plan.findings if f.code == "PLAN_SUBSTANCE_ADVISED_AGAINST")
    assert offer.suggestion is not None and offer.suggestion.action == {
        "set": "regimen",
        "to": "nhs-scotland-lebers-tobacco-amblyopia",
    }
    assert "hydroxocobalamin-uk-1mg-ml-ampoule" in offer.message


@pytest.mark.parametrize("substance", COBALAMINS)
def test_leber_plan_warns_only_for_cyanocobalamin(substance: str) -> None:
    product = next(p for p in INJECTIONS if _cobalamin(p) == substance)
    plan = plan_therapy(
        KB, PlanRequest(start=date(2027, 1, 4), indication="tobacco amblyopia", product=product.id)
    )
    levels = {f.level for f in plan.findings if f.code == "LEBERS_DISEASE"}
    assert levels == ({Level.WARNING} if substance == "cyanocobalamin" else {Level.INFO})
    offered = any(f.code == "PLAN_SUBSTANCE_ADVISED_AGAINST" for f in plan.findings)
    assert offered is (substance == "cyanocobalamin")


@pytest.mark.parametrize(
    "indication",
    [i.id for i in KB.indications.values() if KB.regimens_for(i.id)],
)
def test_every_indication_reaches_the_plans_screening(indication: str) -> None:
    """The plan's indication is screened as a condition: every rule about it fires in the plan."""
    rules = [r for r in KB.all("rules").values() if indication in r.trigger.conditions]
    plan = plan_therapy(KB, PlanRequest(start=date(2027, 1, 4), indication=indication, months=2))
    codes = {f.code for f in plan.findings}
    for rule in rules:
        only_condition = dataclasses.replace(rule.trigger, conditions=()) == type(
            rule.trigger
        )() and not (rule.without_product or rule.without_substance)
        if only_condition:
            assert rule.code in codes, rule.id


# --- ingredients: every product x every rule about an ingredient ------------------------------


def _patient_for(trigger: Any) -> Patient:
    def name(collection: str, ident: str) -> str:
        return str(KB.all(collection)[ident].name)

    return Patient(
        age_months=Decimal(600),
        conditions=tuple(name("conditions", c) for c in trigger.conditions[:1])
        if trigger.conditions and trigger.conditions[0] in KB.all("conditions")
        else tuple(name("indications", c) for c in trigger.conditions[:1]),
        medications=tuple(
            name("medicines", m) if m in KB.all("medicines") else name("medicine-classes", m)
            for m in trigger.medicines[:1]
        ),
        allergies=tuple(
            name("allergens", a) if a in KB.all("allergens") else name("substances", a)
            for a in trigger.allergies[:1]
        ),
    )


INGREDIENT_RULES = [
    r
    for r in KB.all("rules").values()
    if r.trigger.ingredients
    and (r.trigger.conditions or r.trigger.medicines or r.trigger.allergies)
    and not r.trigger.routes
]


@pytest.mark.parametrize("rule", INGREDIENT_RULES, ids=lambda r: r.id)
@pytest.mark.parametrize("product", list(KB.products.values()), ids=lambda p: p.id)
def test_every_product_holding_the_ingredient_triggers_the_rule(product: Any, rule: Any) -> None:
    holds = bool({i.substance for i in product.ingredients} & set(rule.trigger.ingredients))
    result = screen_patient(
        KB, _patient_for(rule.trigger), product=product.id, route=product.routes[0]
    )
    fired = [
        f
        for f in result.findings
        if f.code == rule.code and f.level.value == rule.level and f.basis.sources == rule.sources
    ]
    assert bool(fired) is holds


@pytest.mark.parametrize(
    "rule",
    [r for r in KB.all("rules").values() if r.code == "PRODUCT_CONTRAINDICATED"],
    ids=lambda r: r.id,
)
def test_label_contraindications_of_a_product_are_bypassable_stops(rule: Any) -> None:
    assert rule.level == "stop" and rule.bypass
    assert all(KB.resolve(c).kind == "contraindication" for c in rule.claims if "cautions:" in c)


@pytest.mark.parametrize(
    "written",
    [
        "carbidopa/levodopa",
        "carbidopa / levodopa",
        "levodopa+carbidopa",
        "levodopa & benserazide",
        "levodopa and benserazide",
        "levodopa with carbidopa",
        "Sinemet",
        "Madopar",
        "co-careldopa",
    ],
)
def test_combination_medicine_names_are_read_as_their_ingredients(written: str) -> None:
    result = screen_patient(
        KB,
        Patient(age_months=Decimal(600), medications=(written,)),
        product="milgamma-2ml-ampoule",
    )
    assert result.not_screened == ()
    assert "PRODUCT_INTERACTION" in {f.code for f in result.findings}


def test_a_combination_with_an_unknown_part_is_not_screened_at_all() -> None:
    result = screen_patient(
        KB, Patient(medications=("carbidopa/unknownium",)), product="milgamma-2ml-ampoule"
    )
    assert result.not_screened == ("carbidopa/unknownium",)


def test_substance_must_be_a_cobalamin_and_not_beside_a_product() -> None:
    with pytest.raises(InputError, match="not a form of vitamin B12"):
        calculate_dose(
            KB, read.dose_request(KB, "500 mcg", concentration="1000mcg/mL", substance="thiamine")
        )
    with pytest.raises(InputError, match="fixes the substance"):
        calculate_dose(
            KB,
            read.dose_request(
                KB,
                "500 mcg",
                product="cyanocobalamin-500mcg-ml-ampoule",
                substance="cyanocobalamin",
            ),
        )


# --- give: the same route checks, and a stop no reason lifts ------------------------------------


@pytest.fixture
def record(tmp_path: Path) -> Any:
    from b12.bootstrap import Settings, upgrade
    from b12.services.record import add_patient, prescribe
    from tests.record.helpers import open_app

    url = f"sqlite:///{tmp_path / 'route.db'}"
    upgrade(Settings(database_url=url))
    rec = open_app(url)
    add_patient(
        rec.unit_of_work,
        "P-1",
        Patient(age_months=Decimal(600)),
        "dr",
        datetime(2027, 1, 1, 9, tzinfo=UTC),
    )
    prescribe(
        rec.unit_of_work,
        KB,
        "P-1",
        PlanRequest(
            start=date(2027, 1, 4),
            indication="pernicious-anaemia",
            concentration=read.concentration("1000mcg/mL"),
        ),
        "dr",
        datetime(2027, 1, 1, 10, tzinfo=UTC),
    )
    yield rec
    rec.close()


@pytest.mark.parametrize("route", ROUTES)
def test_give_checks_the_route_against_the_prescribed_substance(record: Any, route: str) -> None:
    from b12.services.administering import GiveRequest, give

    given = give(
        record.unit_of_work,
        KB,
        GiveRequest("P-1", datetime(2027, 1, 4, 9, tzinfo=UTC), route=route, lot="L1",
                    expiry=date(2028, 1, 1)),
        "nurse",
        record.clock,
    )  # fmt: skip
    want = expected(route, "cyanocobalamin")  # the regimen's cobalamin, with a bare strength
    if route in NOT_INJECTED:
        want["ROUTE_NOT_FOR_FORM"] = Level.WARNING
    assert route_findings(given.findings) == want
    assert (given.recorded is None) is (route == "intrathecal")


def test_give_never_records_a_preserved_product_into_the_spinal_canal(record: Any) -> None:
    from b12.services.administering import GiveRequest, give

    given = give(
        record.unit_of_work,
        KB,
        GiveRequest("P-1", datetime(2027, 1, 4, 9, tzinfo=UTC), dose=read.dose("100mcg"),
                    product="cyanocobalamin-us-1000mcg-ml-10ml-vial", route="intrathecal",
                    lot="L1", expiry=date(2028, 1, 1), override="specialist decision"),
        "dr",
        record.clock,
    )  # fmt: skip
    assert given.recorded is None
    assert "ROUTE_INTRATHECAL_PRESERVED" in {f.code for f in given.stops}


# --- one finding per fact ------------------------------------------------------------------------

GOLDEN = yaml.safe_load(
    (Path(__file__).parent / "golden" / "screening_cases.yaml").read_text(encoding="utf-8")
)["cases"]


#: Findings a plan raises once per distinct dose, volume or phase: one fact each.
PER_DOSE = {
    "SITE_SUGGESTION",
    "COMBINATION_INGREDIENTS",
    "VOLUME_ROUNDED",
    "PLAN_VOLUME_NOT_MEASURABLE",
    "PLAN_OPEN_PHASE_ASSUMED",
    "PLAN_PHASE_NOT_SCHEDULED",
    "PLAN_CONTINUES",
}


def _same_fact_twice(findings: tuple[Finding, ...]) -> list[str]:
    """Two findings of one code in other words about one fact: on the same sources (one rule
    reached twice), or about the same subject (two rules saying the same of one medicine)."""
    seen: dict[tuple[str, object], str] = {}
    twice = []
    for f in findings:
        if f.code in PER_DOSE:
            continue
        for key in ((f.code, f.basis.sources), (f.code, tuple(sorted(f.basis.values.items())))):
            if key in seen and seen[key] != f.message:
                twice.append(f"{f.code}: {seen[key]!r} / {f.message!r}")
            seen[key] = f.message
    return twice


@pytest.mark.parametrize(
    "case", GOLDEN, ids=[f"{c['rule']}-{'fires' if c['fires'] else 'quiet'}" for c in GOLDEN]
)
def test_one_finding_per_fact_in_dose_and_plan(case: dict[str, Any]) -> None:
    p = case["profile"]
    product = p.get("product")
    patient = patient_of(p)
    if product and not KB.products[product].ingredients[0].amount_mcg:
        product = None  # no strength to dose from (the plan still screens it below)
    dose = calculate_dose(
        KB,
        read.dose_request(
            KB, "1000 mcg", product=product, concentration=None if product else "1000mcg/mL",
            route=p.get("route"), patient=patient, mix=tuple(p.get("mix", ())),
            substance=p.get("substance"),
        ),
    )  # fmt: skip
    assert _same_fact_twice(dose.findings) == []
    for indication in ("pernicious-anaemia", "lebers-optic-atrophy"):
        plan = plan_therapy(
            KB,
            PlanRequest(start=date(2027, 1, 4), indication=indication,
                        product=p.get("product"), patient=patient, months=2),
        )  # fmt: skip
        assert _same_fact_twice(plan.findings) == []


@pytest.mark.parametrize(
    ("dose", "options"),
    [
        ("500 mg", {"product": "cyanocobalamin-500mcg-ml-ampoule"}),  # a mg/mcg slip
        ("500 mcg", {"concentration": "1000mcg/mL", "route": "intrathecal"}),
        ("1 mg", {"product": "cyanocobalamin-us-1000mcg-ml-1ml-vial", "route": "intrathecal"}),
        ("1 mg", {"product": "milgamma-2ml-ampoule", "patient": Patient(pregnant=True)}),
        ("1 mg", {"product": "neurobion-3ml-ampoule", "patient": Patient(age_months=Decimal(96))}),
        ("500 mcg", {"concentration": "1000mcg/mL", "expiry": date(2020, 1, 1),
                     "today": date(2027, 1, 4)}),
    ],
)  # fmt: skip
def test_a_stopped_dose_prints_the_stop_first_and_nothing_to_draw(
    dose: str, options: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from b12.adapters.cli.dose_view import respond

    result = calculate_dose(KB, read.dose_request(KB, dose, **options))
    assert respond(result, as_json=False) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("STOP    do not draw or give this order")
    assert not [line for line in lines if line.startswith(("DRAW", "OPEN", "NEEDLE", "GIVE"))]


# --- children between the sourced age bands -----------------------------------------------------


@pytest.mark.parametrize("years", range(3, 18))
@pytest.mark.parametrize(("volume_mcg", "level"), [(2000, Level.INFO), (2100, Level.WARNING)])
def test_a_child_between_the_sourced_bands_is_judged_by_the_younger_limit(
    years: int, volume_mcg: int, level: Level
) -> None:
    """No source gives a site limit from 3 to 17 years: the toddlers' (up to 2 mL in the vastus
    lateralis) is the bound, never silence."""
    result = calculate_dose(
        KB,
        read.dose_request(
            KB, f"{volume_mcg} mcg", concentration="1000mcg/mL",
            patient=Patient(age_months=Decimal(years * 12)),
        ),
    )  # fmt: skip
    found = [f for f in result.findings if f.code == "SITE_NO_LIMIT_AT_AGE"]
    assert [f.level for f in found] == [level]
    assert "ages 1 year to 3 years: vastus lateralis up to 2 mL" in found[0].message


@pytest.mark.parametrize("months", [0, 6, 12, 35, 216, 600])
def test_ages_with_sourced_limits_need_no_younger_band(months: int) -> None:
    result = calculate_dose(
        KB,
        read.dose_request(KB, "100 mcg", concentration="1000mcg/mL",
                          patient=Patient(age_months=Decimal(months))),
    )  # fmt: skip
    assert "SITE_NO_LIMIT_AT_AGE" not in {f.code for f in result.findings}
