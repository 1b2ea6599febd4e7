"""The general area of the knowledge base: requirements, foods, monitoring, technique, lab, facts.

Each test pins an authoritative figure to its source, or a seed error to its conflict.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.knowledge import entries as s
from b12.knowledge import load_knowledge

SEEDS = ("seed-000", "seed-000-account", "seed-001", "seed-002", "seed-003", "seed-004")


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


def _rows(table: s.RequirementTable) -> list[tuple[int, int | None, str, Decimal, Decimal, str]]:
    return [
        (r.age_from_months, r.age_to_months, r.state, r.mcg_per_day.min, r.mcg_per_day.max, r.basis)
        for r in table.rows
    ]


# --- requirements ------------------------------------------------------------------------------


def test_iom_table_exact(kb) -> None:  # type: ignore[no-untyped-def]
    iom = kb.get("requirements", "iom-rda")
    assert iom.sources == ("iom-dri",)
    assert iom.status == "supported"
    d = Decimal
    assert _rows(iom) == [
        (0, 6, "any", d("0.4"), d("0.4"), "AI"),
        (6, 12, "any", d("0.5"), d("0.5"), "AI"),
        (12, 48, "any", d("0.9"), d("0.9"), "RDA"),
        (48, 108, "any", d("1.2"), d("1.2"), "RDA"),
        (108, 168, "any", d("1.8"), d("1.8"), "RDA"),
        (168, None, "any", d("2.4"), d("2.4"), "RDA"),
        (0, None, "pregnancy", d("2.6"), d("2.6"), "RDA"),
        (0, None, "lactation", d("2.8"), d("2.8"), "RDA"),
    ]


def test_efsa_only_adult_pregnancy_lactation(kb) -> None:  # type: ignore[no-untyped-def]
    efsa = kb.get("requirements", "efsa-adequate-intake")
    assert efsa.sources == ("efsa-2015",)
    assert [(r.state, r.mcg_per_day.min) for r in efsa.rows] == [
        ("any", Decimal(4)),
        ("pregnancy", Decimal("4.5")),
        ("lactation", Decimal(5)),
    ]
    assert efsa.rows[0].age_from_months == 216


def test_seed_000_tables_contradicted_with_their_figures(kb) -> None:  # type: ignore[no-untyped-def]
    one = kb.get("requirements", "seed-000-age-table-1")
    two = kb.get("requirements", "seed-000-age-table-2")
    for table in (one, two):
        assert table.sources == ("seed-000",)
        assert table.status == "contradicted"
        assert table.conflict == "daily-requirement-by-age"
    # 4-10 years 1.2; 15-17 years 2.6; 18+ 2.8; pregnancy/lactation 2.8-3.2
    assert (48, 132, "any", Decimal("1.2"), Decimal("1.2"), "norm") in _rows(one)
    assert (180, 216, "any", Decimal("2.6"), Decimal("2.6"), "norm") in _rows(one)
    assert (216, None, "any", Decimal("2.8"), Decimal("2.8"), "norm") in _rows(one)
    assert (0, None, "pregnancy-or-lactation", Decimal("2.8"), Decimal("3.2"), "norm") in _rows(one)
    # 4-6 years 1.5; 7-10 years 2; 11-17 and adults 3; pregnant and lactating 4
    assert (48, 84, "any", Decimal("1.5"), Decimal("1.5"), "norm") in _rows(two)
    assert (84, 132, "any", Decimal(2), Decimal(2), "norm") in _rows(two)
    assert (132, None, "any", Decimal(3), Decimal(3), "norm") in _rows(two)
    assert (0, None, "pregnancy-or-lactation", Decimal(4), Decimal(4), "norm") in _rows(two)


def test_requirement_conflict_defaults_to_iom(kb) -> None:  # type: ignore[no-untyped-def]
    conflict = kb.conflicts["daily-requirement-by-age"]
    assert conflict.default == "iom"
    positions = {p.id: p for p in conflict.positions}
    assert set(positions) == {"iom", "efsa", "seed-000-first-table", "seed-000-second-table"}
    assert positions["iom"].entries == ("requirements:iom-rda",)
    assert positions["seed-000-second-table"].sources == ("seed-000",)


def test_iom_no_upper_limit(kb) -> None:  # type: ignore[no-untyped-def]
    fact = kb.get("facts", "iom-no-upper-limit")
    assert fact.sources == ("iom-dri",)
    assert "1-5 mg" in fact.says


# --- foods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "food_id", "mcg"),
    [
        ("beef liver", "beef-liver", "60"),
        ("liver", "beef-liver", "60"),
        ("heart", "heart", "25"),
        ("oysters", "oysters", "18"),
        ("trout", "trout", "7.5"),
        ("herring", "herring", "13"),
        ("Russian cheese", "russian-cheese", "1.5"),
        ("sardines in oil", "sardines-in-oil", "8.5"),
        ("rabbit", "rabbit", "4.3"),
        ("beef", "beef", "3.0"),
        ("sea bass", "sea-bass", "2.4"),
        ("cod", "cod", "1.6"),
        ("Dutch cheese", "dutch-cheese", "1.1"),
        ("Poshekhonsky cheese", "poshekhonsky-cheese", "1.4"),
        ("cottage cheese", "curd", "1.0"),
        ("egg", "chicken-egg", "0.5"),
        ("milk", "cows-milk", "0.4"),
        ("kefir", "kefir", "0.4"),
        ("butter", "butter", "0.1"),
    ],
)
def test_food_table(kb, name: str, food_id: str, mcg: str) -> None:  # type: ignore[no-untyped-def]
    food = kb.match("foods", name)
    assert food is not None and food.id == food_id
    assert food.mcg_per_100g == Decimal(mcg)
    assert "seed-000" in food.sources


@pytest.mark.parametrize(
    "food_id",
    [
        "kidneys",
        "crabs",
        "scallops",
        "lobsters",
        "salmon",
        "flounder",
        "haddock",
        "non-fat-dry-milk",
        "camembert",
        "limburger",
        "cheddar",
        "egg-yolk",
        "lamb",
        "shrimp",
        "tofu",
        "kelp",
        "soybeans",
        "hops",
        "spinach",
        "green-salad",
    ],
)
def test_foods_without_amount(kb, food_id: str) -> None:  # type: ignore[no-untyped-def]
    assert kb.get("foods", food_id).mcg_per_100g is None


def test_seed_001_foods_attributed(kb) -> None:  # type: ignore[no-untyped-def]
    for food_id in (
        "salmon",
        "beef-liver",
        "lamb",
        "shrimp",
        "sardines-in-oil",
        "cod",
        "tofu",
        "kelp",
    ):
        assert "seed-001" in kb.get("foods", food_id).sources


# --- monitoring ----------------------------------------------------------------------------------


def test_us_label_monitoring(kb) -> None:  # type: ignore[no-untyped-def]
    k48 = kb.get("monitoring", "us-label-potassium-48h")
    assert (k48.tests, k48.start_day, k48.end_day) == (("potassium",), 0, 2)
    assert k48.sources == ("us-label-cyanocobalamin",)
    baseline = kb.get("monitoring", "us-label-baseline")
    assert set(baseline.tests) == {"haematocrit", "reticulocytes", "b12", "folate", "iron"}
    daily = kb.get("monitoring", "us-label-days-5-7")
    assert (daily.start_day, daily.end_day, daily.every_days.min) == (5, 7, Decimal(1))
    assert set(daily.tests) == {"haematocrit", "reticulocytes"}
    assert "35%" in kb.get("monitoring", "us-label-non-response").says


def test_uk_and_lab_monitoring(kb) -> None:  # type: ignore[no-untyped-def]
    assert kb.get("monitoring", "nice-review-3-months").start_day == 90
    assert kb.get("monitoring", "nice-review-1-month-pregnancy").start_day == 30
    retic = kb.get("monitoring", "nhs-lothian-reticulocytes-7-10")
    assert (retic.start_day, retic.end_day, retic.sources) == (7, 10, ("nhs-lothian",))
    assert kb.get("monitoring", "nhs-lothian-fbc-8-weeks").start_day == 56
    assert kb.get("monitoring", "mayo-no-b12-after-injection").sources == ("mayo-labs",)
    assert kb.get("monitoring", "cobalin-potassium-early").tests == ("potassium",)


def test_seed_000_monitoring_two_versions(kb) -> None:  # type: ignore[no-untyped-def]
    v1 = kb.get("monitoring", "seed-000-reticulocytes-iron-day-5-8")
    v2 = kb.get("monitoring", "seed-000-reticulocytes-iron-day-6-8")
    assert (v1.start_day, v1.end_day, v2.start_day, v2.end_day) == (5, 8, 6, 8)
    assert kb.get("monitoring", "seed-000-blood-every-1-2-weeks").every_days == s.Range(
        min=7, max=14
    )
    assert kb.get("monitoring", "seed-000-after-remission-4-6-months").every_days == s.Range(
        min=120, max=180
    )
    assert kb.get("monitoring", "seed-000-after-remission-5-6-months").every_days == s.Range(
        min=150, max=180
    )


def test_monitoring_tests_are_analytes(kb) -> None:  # type: ignore[no-untyped-def]
    analytes = kb.all("analytes")
    for rule in kb.all("monitoring").values():
        assert all(t in analytes for t in rule.tests), rule.id


# --- laboratory ----------------------------------------------------------------------------------


def test_b12_loinc_units_and_nice_bands(kb) -> None:  # type: ignore[no-untyped-def]
    b12 = kb.get("analytes", "b12")
    assert [c.code for c in b12.loinc] == ["2132-9", "14685-2", "16695-9"]
    assert "whole blood" in b12.loinc[2].property.lower()
    assert b12.canonical_unit == "pmol/L"
    factors = {u.unit: u.to_canonical for u in b12.units}
    assert factors == {"pmol/L": Decimal(1), "pg/mL": Decimal("0.738"), "ng/L": Decimal("0.738")}
    bands = {(b.unit, b.name): (b.low, b.high, b.min_age_years, b.sources) for b in b12.bands}
    assert len(bands) == len(b12.bands)
    nice = ("nice-ng239",)
    assert bands == {  # NICE NG239's own figures, in each unit it writes
        ("ng/L", "deficient"): (None, Decimal(180), 16, nice),
        ("ng/L", "indeterminate"): (Decimal(180), Decimal(350), 16, nice),
        ("ng/L", "sufficient"): (Decimal(350), None, 16, nice),
        ("pmol/L", "deficient"): (None, Decimal(133), 16, nice),
        ("pmol/L", "indeterminate"): (Decimal(133), Decimal(258), 16, nice),
        ("pmol/L", "sufficient"): (Decimal(258), None, 16, nice),
    }
    # NICE's ng/L thresholds convert to its pmol/L ones within rounding
    assert round(Decimal(180) * factors["ng/L"]) == 133
    assert round(Decimal(350) * factors["ng/L"]) == 258


def test_active_b12_bands(kb) -> None:  # type: ignore[no-untyped-def]
    active = kb.get("analytes", "active-b12")
    assert [c.code for c in active.loinc] == ["72160-5"]
    assert [(b.name, b.low, b.high) for b in active.bands] == [
        ("deficient", None, Decimal(25)),
        ("indeterminate", Decimal(25), Decimal(70)),
        ("sufficient", Decimal(70), None),
    ]


@pytest.mark.parametrize(
    ("analyte", "codes"),
    [
        ("haemoglobin", ["718-7"]),
        ("rbc", ["789-8"]),
        ("reticulocytes", ["17849-1", "4679-7", "60474-4"]),
        ("mcv", ["787-2"]),
        ("iron", ["2498-4"]),
        ("ferritin", ["2276-4"]),
        ("folate", ["2284-8"]),
        ("potassium", ["2823-3"]),
        ("mma", ["13964-2"]),
        ("homocysteine", ["13965-9"]),
    ],
)
def test_loinc_codes(kb, analyte: str, codes: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert [c.code for c in kb.get("analytes", analyte).loinc] == codes


def test_rbc_and_mcv_bands(kb) -> None:  # type: ignore[no-untyped-def]
    rbc = kb.get("analytes", "rbc")
    normal = {b.sex: (b.low, b.high) for b in rbc.bands if b.name == "normal"}
    assert normal == {
        "male": (Decimal("4.7"), Decimal("6.1")),
        "female": (Decimal("4.2"), Decimal("5.4")),
    }
    assert all(b.sources == ("medlineplus",) for b in rbc.bands)
    mcv = kb.get("analytes", "mcv")
    assert [(b.name, b.low, b.high) for b in mcv.bands] == [
        ("low", None, Decimal(80)),
        ("normal", Decimal(80), Decimal(100)),
        ("high", Decimal(100), None),
    ]


def test_no_unsourced_bands(kb) -> None:  # type: ignore[no-untyped-def]
    for analyte in ("mma", "homocysteine", "iron", "colour-index"):
        assert kb.get("analytes", analyte).bands == ()


def test_lab_facts(kb) -> None:  # type: ignore[no-untyped-def]
    assert "148 pmol/L" in kb.get("facts", "bsh-2014-b12-cutoff").says
    arup = kb.get("facts", "arup-b12-reference-interval")
    assert arup.sources == ("arup-labs",) and "180-914 pg/mL" in arup.says
    assert kb.get("facts", "biotin-assay-interference").sources == ("mayo-labs",)


# --- technique ------------------------------------------------------------------------------------


def _limits(site: s.InjectionSite) -> list[tuple[int, int | None, Decimal]]:
    return [(lim.age_from_months, lim.age_to_months, lim.max_ml) for lim in site.limits]


def test_site_volume_limits(kb) -> None:  # type: ignore[no-untyped-def]
    deltoid = kb.get("sites", "deltoid")
    assert deltoid.limits[0].typical_ml == s.Range(min=Decimal("0.5"), max=1)
    assert (216, None, Decimal(2)) in _limits(deltoid)
    assert (216, None, Decimal(1)) in _limits(deltoid)  # seed 000: over 1 mL a day, another site
    assert deltoid.limits[1].sources == ("seed-000",)
    vastus = kb.get("sites", "vastus-lateralis")
    assert _limits(vastus) == [(0, 12, Decimal(1)), (12, 36, Decimal(2)), (216, None, Decimal(5))]
    assert _limits(kb.get("sites", "ventrogluteal")) == [(216, None, Decimal(3))]
    dorso = kb.get("sites", "dorsogluteal")
    assert dorso.avoid is True and dorso.conflict == "dorsogluteal-site"
    assert kb.get("sites", "upper-arm-subcutaneous").limits == ()


def test_site_names(kb) -> None:  # type: ignore[no-untyped-def]
    assert kb.match("sites", "thigh").id == "vastus-lateralis"
    assert kb.match("sites", "external thigh").id == "ventrogluteal"
    assert kb.match("sites", "buttock").id == "dorsogluteal"


def test_needles(kb) -> None:  # type: ignore[no-untyped-def]
    im = kb.get("needles", "im-adult")
    assert (im.route, im.angle_degrees, im.gauge, im.length_mm) == (
        "IM",
        90,
        s.Range(min=22, max=25),
        Decimal(25),
    )
    assert kb.get("needles", "im-preterm").length_mm == 16
    assert kb.get("needles", "im-large-adult").length_mm == 38
    sc = kb.get("needles", "sc-any")
    assert (sc.route, sc.angle_degrees, sc.gauge, sc.length_mm) == (
        "SC",
        45,
        s.Range(min=25, max=27),
        Decimal(16),
    )
    assert sc.sources == ("australian-immunisation-handbook",)
    assert kb.get("needles", "seed-000-sc-45").angle_degrees == 45


def test_seed_000_procedure_complete(kb) -> None:  # type: ignore[no-untyped-def]
    steps = [t for t in kb.all("technique-steps").values() if t.id.startswith("seed-000-")]
    supplies = [t for t in steps if t.kind == "supply"]
    assert len(supplies) == 6
    kinds = {t.kind for t in steps}
    assert {"preparation", "supply", "site", "injection", "aftercare", "disposal"} <= kinds
    orders = [t.order for t in steps]
    assert len(orders) == len(set(orders))
    assert kb.get("technique-steps", "rotate-sites").sources == ("nursing-references",)
    assert "2.5 cm" in kb.get("technique-steps", "rotate-sites").says
    assert kb.get("technique-steps", "record-mcg-and-ml").sources == ("seed-004",)


def test_gluteal_and_iv_claims_contradicted(kb) -> None:  # type: ignore[no-untyped-def]
    gluteal = kb.get("technique-steps", "gluteal-by-professional")
    assert gluteal.status == "contradicted" and gluteal.conflict == "dorsogluteal-site"
    assert kb.conflicts["dorsogluteal-site"].default == "avoid-dorsogluteal"
    iv = kb.get("technique-steps", "self-injection-im-and-iv")
    assert iv.status == "contradicted" and iv.conflict == "self-injection-intravenous"
    assert kb.conflicts["self-injection-intravenous"].default == "avoid-iv"


# --- facts ---------------------------------------------------------------------------------


def test_label_pharmacokinetics(kb) -> None:  # type: ignore[no-untyped-def]
    assert "1 hour" in kb.get("facts", "label-peak-1h-im").says
    urine = kb.get("facts", "label-urinary-loss-48h")
    assert "50-98%" in urine.says and "48 hours" in urine.says
    blood = kb.get("facts", "blood-1961-cyano-vs-hydroxo")
    assert "blood-1961" in blood.sources
    for figure in ("60%", "69%", "16%", "27%"):
        assert figure in blood.says


def test_iu_claim_contradicted(kb) -> None:  # type: ignore[no-untyped-def]
    iu = kb.get("facts", "seed-000-iu-equals-mcg")
    assert iu.topic == "units" and iu.sources == ("seed-000",)
    assert iu.status == "contradicted" and iu.conflict == "b12-international-unit"
    conflict = kb.conflicts["b12-international-unit"]
    assert conflict.default == "mcg-only"
    default = next(p for p in conflict.positions if p.id == conflict.default)
    assert set(default.sources) == {"us-label-cyanocobalamin", "nih-ods"}


@pytest.mark.parametrize(
    ("fact_id", "conflict_id"),
    [
        ("seed-000-stable-light-heat", "cyanocobalamin-light-stability"),
        ("seed-002-low-b12-causes-pernicious-anaemia", "pernicious-anaemia-direction"),
    ],
)
def test_other_contradicted_facts(kb, fact_id: str, conflict_id: str) -> None:  # type: ignore[no-untyped-def]
    fact = kb.get("facts", fact_id)
    assert fact.status == "contradicted" and fact.conflict == conflict_id
    conflict = kb.conflicts[conflict_id]
    trust = {p.id: kb.trust(p.sources) for p in conflict.positions}
    assert trust[conflict.default] == max(trust.values())


@pytest.mark.parametrize(
    "fact_id",
    [
        "seed-000-homeopathic-effect",
        "seed-cholesterol-lowering",
        "seed-prothrombin-clotting",
        "seed-000-sperm",
        "seed-000-melatonin-sleep",
        "seed-hair",
        "account-cellulite",
        "seed-000-potassium-speeds-deficiency",
        "account-methyl-bile-excretion",
        "account-sublingual-like-injection",
    ],
)
def test_unsupported_seed_claims(kb, fact_id: str) -> None:  # type: ignore[no-untyped-def]
    fact = kb.get("facts", fact_id)
    assert fact.status == "unsupported"
    assert set(fact.sources) <= set(SEEDS)


def test_response_and_account(kb) -> None:  # type: ignore[no-untyped-def]
    retic = kb.get("facts", "response-reticulocytosis-days-3-10")
    assert retic.sources == ("us-label-hydroxocobalamin",)
    levels = kb.get("facts", "account-levels-after-injections")
    assert levels.sources == ("seed-000-account",)
    for figure in ("43", "645", "46", "497", "9", "12"):
        assert figure in levels.says
    assert kb.get("facts", "missed-dose-never-double").sources == ("seed-003",)


def test_inventory_covers_every_seed(kb) -> None:  # type: ignore[no-untyped-def]
    for seed in SEEDS:
        assert kb.inventory.get(seed), seed
    refs = {item.ref for items in kb.inventory.values() for item in items}
    assert "facts:seed-000-iu-equals-mcg" in refs
    assert "requirements:seed-000-age-table-2" in refs
    assert "technique-steps:seed-000-coffee-jar-disposal" in refs
