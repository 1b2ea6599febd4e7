"""The products area of the knowledge base: strengths, packs, excipients, routes, storage, prices,
age limits, and the seed errors about products (mg slips, IV and intralumbar as usual routes,
Neurobion's age limit).

Each test pins an authoritative figure to its source, or a seed error to its conflict.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.knowledge import entries as s
from b12.knowledge import load_knowledge

PRODUCT_IDS = (
    "cyanocobalamin-200mcg-ml-ampoule",
    "cyanocobalamin-500mcg-ml-ampoule",
    "cyanocobalamin-us-1000mcg-ml-1ml-vial",
    "cyanocobalamin-us-1000mcg-ml-10ml-vial",
    "cyanocobalamin-us-1000mcg-ml-30ml-vial",
    "hydroxocobalamin-us-1000mcg-ml-30ml-vial",
    "hydroxocobalamin-uk-1mg-ml-ampoule",
    "methylcobalamin-500mcg-ampoule",
    "milgamma-2ml-ampoule",
    "neurobion-3ml-ampoule",
    "neurorubin-ampoule",
    "vitagamma-ampoule",
    "ankerman-b12-ampoule",
    "vitamin-b12-ampoule",
    "dodex-ampoule",
    "cyanocobalamin-darnitsa-ampoule",
    "medivitan",
    "cyanocobalamin-bufus-ampoule",
    "cyanocobalamin-vial-ampoule",
    "jarrow-methylcobalamin-1000mcg-tablet",
    "cyanocobalamin-tablet",
    "cyanocobalamin-folic-acid-tablet",
    "nowfoods-b12-tablet",
    "solgar-b12-tablet",
    "neurovitan-tablet",
    "b12-spray",
    "b12-drops",
)
US_CYANO = (
    "cyanocobalamin-us-1000mcg-ml-1ml-vial",
    "cyanocobalamin-us-1000mcg-ml-10ml-vial",
    "cyanocobalamin-us-1000mcg-ml-30ml-vial",
)
CIS_CYANO = ("cyanocobalamin-200mcg-ml-ampoule", "cyanocobalamin-500mcg-ml-ampoule")


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


def _ingredients(product: s.Product) -> dict[str, Decimal | None]:
    return {i.substance: i.mcg_per_ml for i in product.ingredients}


def _prices(product: s.Product) -> list[tuple[Decimal, str, str, tuple[str, ...]]]:
    return [(p.amount, p.currency, p.pack, p.sources) for p in product.prices]


def _advice(product: s.Product) -> dict[tuple[str, str], s.RouteAdvice]:
    return {(a.route, a.status): a for a in product.route_advice}


# --- every product the other areas name ------------------------------------------------------


def test_every_agreed_product_id_exists(kb) -> None:  # type: ignore[no-untyped-def]
    missing = [p for p in PRODUCT_IDS if p not in kb.products]
    assert missing == []
    assert set(kb.products) == set(PRODUCT_IDS)


# --- US cyanocobalamin label -------------------------------------------------------------------


@pytest.mark.parametrize("pid", US_CYANO)
def test_us_cyanocobalamin_strength_and_excipients(kb, pid: str) -> None:  # type: ignore[no-untyped-def]
    p = kb.products[pid]
    assert _ingredients(p) == {"cyanocobalamin": Decimal(1000)}
    excipients = {e.substance: (e.amount, e.sources) for e in p.excipients}
    assert excipients["benzyl-alcohol"] == ("1.5% (preservative)", ("us-label-cyanocobalamin",))
    assert excipients["sodium-chloride"] == ("0.9%", ("us-label-cyanocobalamin",))
    assert "aluminium" in excipients
    assert p.routes == ("IM", "deep-SC")
    assert "us-label-cyanocobalamin" in p.sources
    assert p.status == "supported"


def test_us_cyanocobalamin_vial_sizes(kb) -> None:  # type: ignore[no-untyped-def]
    sizes = {
        pid: (kb.products[pid].container.kind, kb.products[pid].container.volume_ml)
        for pid in US_CYANO
    }
    assert sizes == {
        "cyanocobalamin-us-1000mcg-ml-1ml-vial": ("single-dose-vial", Decimal(1)),
        "cyanocobalamin-us-1000mcg-ml-10ml-vial": ("multi-dose-vial", Decimal(10)),
        "cyanocobalamin-us-1000mcg-ml-30ml-vial": ("multi-dose-vial", Decimal(30)),
    }


@pytest.mark.parametrize("pid", US_CYANO)
def test_us_cyanocobalamin_storage_and_iv_advice(kb, pid: str) -> None:  # type: ignore[no-untyped-def]
    p = kb.products[pid]
    (storage,) = p.storage
    assert (storage.temperature_c.min, storage.temperature_c.max) == (Decimal(20), Decimal(25))
    assert storage.protect_from_light is True
    assert storage.sources == ("us-label-cyanocobalamin",)
    iv = _advice(p)[("IV", "supported")]
    assert iv.advice == "avoid"
    assert "us-label-cyanocobalamin" in iv.sources
    assert _advice(p)[("IM", "supported")].advice == "preferred"


def test_hydroxocobalamin_products(kb) -> None:  # type: ignore[no-untyped-def]
    us = kb.products["hydroxocobalamin-us-1000mcg-ml-30ml-vial"]
    assert _ingredients(us) == {"hydroxocobalamin": Decimal(1000)}
    assert (us.container.kind, us.container.volume_ml) == ("multi-dose-vial", Decimal(30))
    assert us.routes == ("IM",)
    assert us.sources == ("us-label-hydroxocobalamin",)
    uk = kb.products["hydroxocobalamin-uk-1mg-ml-ampoule"]
    assert _ingredients(uk) == {"hydroxocobalamin": Decimal(1000)}
    assert (uk.container.kind, uk.container.volume_ml) == ("ampoule", Decimal(1))
    assert uk.routes == ("IM",)
    assert "uk-hydroxocobalamin-smpc" in uk.sources


def test_methycobal(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["methylcobalamin-500mcg-ampoule"]
    assert _ingredients(p) == {"methylcobalamin": Decimal(500)}
    assert p.container.volume_ml == Decimal(1)
    assert p.sources == ("methycobal-product-info",)


# --- combination ampoules ----------------------------------------------------------------------


def test_milgamma_composition_per_2_ml(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["milgamma-2ml-ampoule"]
    amounts = {i.substance: (i.amount_mcg, i.per_ml) for i in p.ingredients}
    assert amounts == {
        "thiamine": (Decimal(100_000), Decimal(2)),
        "pyridoxine": (Decimal(100_000), Decimal(2)),
        "cyanocobalamin": (Decimal(1000), Decimal(2)),
        "lidocaine": (Decimal(20_000), Decimal(2)),
    }
    assert p.routes == ("IM",)
    assert p.route_advice[0].says == "Deep intramuscular injection."
    assert p.sources == ("milgamma-product-info",)
    assert "pregnancy" in p.note and "lactation" in p.note and "neonates" in p.note


def test_neurobion_composition_per_3_ml(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["neurobion-3ml-ampoule"]
    amounts = {i.substance: (i.amount_mcg, i.per_ml) for i in p.ingredients}
    assert amounts == {
        "thiamine": (Decimal(100_000), Decimal(3)),
        "pyridoxine": (Decimal(100_000), Decimal(3)),
        "cyanocobalamin": (Decimal(1000), Decimal(3)),
    }
    assert p.routes == ("IM",)
    assert "levodopa" in p.note


def test_neurobion_age_limits_most_trusted_first(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["neurobion-3ml-ampoule"]
    limits = [(a.min_years, a.sources) for a in p.age_limits]
    assert limits == [
        (Decimal(14), ("neurobion-product-info",)),
        (Decimal(18), ("neurobion-product-info",)),
        (Decimal(12), ("seed-000",)),
    ]


def test_neurobion_seed_age_is_contradicted(kb) -> None:  # type: ignore[no-untyped-def]
    fact = kb.get("facts", "seed-000-neurobion-not-under-12")
    assert (fact.status, fact.conflict, fact.sources) == (
        "contradicted",
        "neurobion-age-limit",
        ("seed-000",),
    )
    conflict = kb.conflicts["neurobion-age-limit"]
    assert conflict.default == "national-14-or-18"
    default = next(p for p in conflict.positions if p.id == conflict.default)
    assert default.sources == ("neurobion-product-info",)


def test_vitagamma_lidocaine_and_children(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["vitagamma-ampoule"]
    assert {i.substance for i in p.ingredients} == {
        "thiamine",
        "pyridoxine",
        "cyanocobalamin",
        "lidocaine",
    }
    assert all(i.amount_mcg is None for i in p.ingredients)
    assert [(a.min_years, a.sources) for a in p.age_limits] == [(Decimal(18), ("seed-000",))]
    assert "pregnancy" in p.note
    assert p.status == "unsupported"


# --- CIS ampoules, the mg slips, storage, prices ---------------------------------------------


def test_cis_ampoule_strengths_in_mcg(kb) -> None:  # type: ignore[no-untyped-def]
    assert _ingredients(kb.products["cyanocobalamin-200mcg-ml-ampoule"]) == {
        "cyanocobalamin": Decimal(200)
    }
    assert _ingredients(kb.products["cyanocobalamin-500mcg-ml-ampoule"]) == {
        "cyanocobalamin": Decimal(500)
    }
    for pid in CIS_CYANO:
        c = kb.products[pid].container
        assert (c.kind, c.volume_ml, c.pack_count) == ("ampoule", Decimal(1), 10)


def test_mg_slips_are_contradicted_with_mcg_default(kb) -> None:  # type: ignore[no-untyped-def]
    fact = kb.get("facts", "product-strength-mg-slips")
    assert fact.topic == "units"
    assert (fact.status, fact.conflict) == ("contradicted", "product-strength-slips")
    assert set(fact.sources) == {"seed-000", "seed-000-account"}
    conflict = kb.conflicts["product-strength-slips"]
    assert conflict.default == "mcg-per-ml"
    default = next(p for p in conflict.positions if p.id == "mcg-per-ml")
    assert "us-label-cyanocobalamin" in default.sources
    assert "products:cyanocobalamin-500mcg-ml-ampoule" in default.entries


@pytest.mark.parametrize("pid", CIS_CYANO)
def test_cis_shelf_life_and_storage(kb, pid: str) -> None:  # type: ignore[no-untyped-def]
    (storage,) = kb.products[pid].storage
    assert storage.shelf_life_months == 24
    assert storage.protect_from_light is True
    assert storage.temperature_c is None  # "room temperature", no figure in the seed
    assert storage.sources == ("seed-000",)
    assert kb.products[pid].prescription_only is True


def test_prices_with_currency_pack_and_source(kb) -> None:  # type: ignore[no-untyped-def]
    d = Decimal
    assert _prices(kb.products["cyanocobalamin-500mcg-ml-ampoule"]) == [
        (d(23), "RUB", "10 ampoules of 500 mcg", ("seed-000",)),
        (d(40), "RUB", "10 ampoules (pharmacy price paid in the account)", ("seed-000-account",)),
    ]
    assert _prices(kb.products["ankerman-b12-ampoule"]) == [
        (d(191), "RUB", "10 ampoules", ("seed-000",))
    ]
    assert _prices(kb.products["vitamin-b12-ampoule"]) == [
        (d(30), "RUB", "10 ampoules", ("seed-000",))
    ]
    assert _prices(kb.products["cyanocobalamin-darnitsa-ampoule"]) == [
        (d(82), "RUB", "10 ampoules", ("seed-000",))
    ]
    (dodex,) = _prices(kb.products["dodex-ampoule"])
    assert dodex[:2] == (d(475), "RUB") and dodex[3] == ("seed-000",)
    assert _prices(kb.products["jarrow-methylcobalamin-1000mcg-tablet"]) == [
        (d("6.29"), "USD", "100 tablets", ("seed-000-account",))
    ]
    syringes = kb.get("facts", "account-syringes-price")
    assert "50 RUB" in syringes.says and syringes.sources == ("seed-000-account",)


def test_priced_packs_match_the_pack_count(kb) -> None:  # type: ignore[no-untyped-def]
    # The supply plan multiplies the price by packs of `pack_count` containers.
    for pid in (
        "cyanocobalamin-500mcg-ml-ampoule",
        "ankerman-b12-ampoule",
        "vitamin-b12-ampoule",
        "cyanocobalamin-darnitsa-ampoule",
    ):
        assert kb.products[pid].container.pack_count == 10, pid


# --- routes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", CIS_CYANO)
def test_cis_route_advice(kb, pid: str) -> None:  # type: ignore[no-untyped-def]
    advice = _advice(kb.products[pid])
    assert advice[("IV", "supported")].advice == "avoid"
    assert advice[("IV", "supported")].sources == ("us-label-cyanocobalamin",)
    assert advice[("IV", "contradicted")].sources == ("seed-000", "seed-001")
    intrathecal = advice[("intrathecal", "unsupported")]
    assert intrathecal.advice == "specialist-only"


def test_seed_routes_are_contradicted_by_the_label(kb) -> None:  # type: ignore[no-untyped-def]
    for fid, sources in (
        ("seed-routes-iv-intralumbar-usual", ("seed-000", "seed-001")),
        ("seed-003-iv-in-severe-cases", ("seed-003",)),
    ):
        fact = kb.get("facts", fid)
        assert (fact.status, fact.conflict, fact.sources) == (
            "contradicted",
            "cyanocobalamin-injection-routes",
            sources,
        )
    conflict = kb.conflicts["cyanocobalamin-injection-routes"]
    assert conflict.default == "label-im-deep-sc"
    default = next(p for p in conflict.positions if p.id == conflict.default)
    assert "us-label-cyanocobalamin" in default.sources


def test_every_cyanocobalamin_injection_warns_on_iv(kb) -> None:  # type: ignore[no-untyped-def]
    for p in kb.products.values():
        if p.form != "injection" or "IV" not in p.routes:
            continue
        if {i.substance for i in p.ingredients} != {"cyanocobalamin"}:
            continue
        avoid = [
            a
            for a in p.route_advice
            if a.route == "IV" and a.advice == "avoid" and a.status != "contradicted"
        ]
        assert avoid, p.id


# --- tablets, sprays and drops -------------------------------------------------------------------


def test_jarrow_sublingual_tablet(kb) -> None:  # type: ignore[no-untyped-def]
    p = kb.products["jarrow-methylcobalamin-1000mcg-tablet"]
    (ing,) = p.ingredients
    assert (ing.substance, ing.amount_mcg, ing.per_unit) == (
        "methylcobalamin",
        Decimal(1000),
        "tablet",
    )
    assert (p.form, p.routes) == ("sublingual-tablet", ("sublingual",))
    assert p.container.units == 100
    assert [e.substance for e in p.excipients] == ["xylitol"]
    assert kb.match("products", "Jarrow") is p


def test_forms_without_strength_have_no_amount(kb) -> None:  # type: ignore[no-untyped-def]
    for pid in ("b12-spray", "b12-drops", "cyanocobalamin-tablet", "dodex-ampoule", "medivitan"):
        assert all(i.amount_mcg is None for i in kb.products[pid].ingredients), pid


def test_seed_only_products_are_unsupported(kb) -> None:  # type: ignore[no-untyped-def]
    trusted = {sid for sid, src in kb.sources.items() if src.file is None}
    for p in kb.products.values():
        if not set(p.sources) & trusted:
            assert p.status in ("unsupported", "unverified", "contradicted"), p.id


# --- the seed inventory ----------------------------------------------------------------------------


def test_inventory_covers_every_seed(kb) -> None:  # type: ignore[no-untyped-def]
    for seed in ("seed-000", "seed-000-account", "seed-001", "seed-002", "seed-003", "seed-004"):
        refs = {item.ref for item in kb.inventory[seed]}
        assert refs, seed
    refs_000 = {item.ref for item in kb.inventory["seed-000"]}
    for pid in (
        "neurobion-3ml-ampoule",
        "neurorubin-ampoule",
        "vitagamma-ampoule",
        "ankerman-b12-ampoule",
        "vitamin-b12-ampoule",
        "dodex-ampoule",
        "cyanocobalamin-darnitsa-ampoule",
    ):
        assert f"products:{pid}" in refs_000
    refs_001 = {item.ref for item in kb.inventory["seed-001"]}
    for pid in (
        "cyanocobalamin-bufus-ampoule",
        "cyanocobalamin-vial-ampoule",
        "medivitan",
        "cyanocobalamin-folic-acid-tablet",
        "nowfoods-b12-tablet",
        "solgar-b12-tablet",
        "neurovitan-tablet",
    ):
        assert f"products:{pid}" in refs_001
