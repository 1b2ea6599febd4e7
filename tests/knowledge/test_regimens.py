"""Indications and regimens: authoritative schedules, synonyms, and the seed errors flagged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.knowledge import Knowledge, load_knowledge
from b12.knowledge.entries import Range

SEEDS = {"seed-000", "seed-000-account", "seed-001", "seed-002", "seed-003", "seed-004"}


@pytest.fixture(scope="module")
def kb() -> Knowledge:
    return load_knowledge()


def rng(low: int | str, high: int | str | None = None) -> Range:
    return Range(min=Decimal(str(low)), max=Decimal(str(high if high is not None else low)))


# --- indications ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Addison-Biermer anemia",
        "Addison-Birmer anemia",
        "pernicious anaemia",
        "Penicious anemia",
        "anemia Addison-Birmer",
    ],
)
def test_pernicious_anaemia_synonyms(kb: Knowledge, name: str) -> None:
    found = kb.match("indications", name)
    assert found is not None and found.id == "pernicious-anaemia"
    assert found.icd10 == ("D51.0",)
    assert found.status == "supported"
    assert "us-label-cyanocobalamin" in found.sources


def test_indication_codes_and_names(kb: Knowledge) -> None:
    ind = kb.indications
    assert ind["b12-deficiency"].icd10 == ("D51.9", "E53.8")
    assert ind["funicular-myelosis"].icd10 == ("G32.0",)
    assert kb.lookup("indications", "subacute combined degeneration").id == "funicular-myelosis"
    assert kb.lookup("indications", "Leber's disease").id == "lebers-optic-atrophy"
    assert kb.lookup("indications", "tobacco amblyopia").id == "lebers-optic-atrophy"
    assert kb.lookup("indications", "motor neuron disease").id == "amyotrophic-lateral-sclerosis"
    assert kb.lookup("indications", "posthemorrhagic anemia").id == "iron-deficiency-anaemia"
    assert kb.lookup("indications", "Down's disease").id == "childhood-developmental-disorders"


def test_label_indications_are_supported(kb: Knowledge) -> None:
    for iid in (
        "gi-malabsorption",
        "fish-tapeworm",
        "pancreatic-bowel-malignancy",
        "folate-deficiency",
        "schilling-test",
    ):
        entry = kb.indications[iid]
        assert entry.status == "supported", iid
        assert "us-label-cyanocobalamin" in entry.sources, iid
    assert kb.indications["diagnostic-trial"].sources == ("us-label-hydroxocobalamin",)
    for iid in ("prophylaxis", "lebers-optic-atrophy", "dietary-b12-deficiency"):
        assert "nhs-scotland-formulary" in kb.indications[iid].sources


@pytest.mark.parametrize(
    ("iid", "seeds"),
    [
        ("cellulite", {"seed-000-account"}),
        ("hair-loss", {"seed-000", "seed-001"}),
        ("liver-cirrhosis-hepatitis", {"seed-000", "seed-001"}),
        ("osteochondrosis", {"seed-001"}),
        ("herniated-disc", {"seed-002"}),
        ("sciatica-radiculitis", {"seed-000", "seed-001", "seed-002"}),
        ("radiation-sickness", {"seed-000", "seed-001"}),
    ],
)
def test_seed_only_indications_are_unsupported(kb: Knowledge, iid: str, seeds: set[str]) -> None:
    entry = kb.indications[iid]
    assert entry.status == "unsupported"
    assert set(entry.sources) == seeds


def test_anaemia_of_any_cause_is_contradicted_by_the_label(kb: Knowledge) -> None:
    entry = kb.indications["anaemia-unspecified"]
    assert entry.status == "contradicted" and entry.conflict is not None
    conflict = kb.conflicts[entry.conflict]
    default = next(p for p in conflict.positions if p.id == conflict.default)
    assert default.sources == ("us-label-cyanocobalamin",)


# --- authoritative regimens ----------------------------------------------------------------------


def test_us_label_pernicious_anaemia(kb: Knowledge) -> None:
    r = kb.regimens["us-label-pernicious-anaemia"]
    assert r.indication == "pernicious-anaemia" and r.substance == "cyanocobalamin"
    assert set(r.sources) >= {"us-label-cyanocobalamin"} and r.status == "supported"
    assert r.routes == ("IM", "deep-SC")
    p1, p2, p3, p4 = r.phases
    assert (p1.dose_mcg, p1.every_days, p1.doses) == (rng(100), rng(1), rng(6, 7))
    assert (p2.dose_mcg, p2.every_days, p2.doses) == (rng(100), rng(2), rng(7))
    assert p2.gate == "clinical improvement and reticulocyte response"
    assert (p3.dose_mcg, p3.every_days, p3.duration_days) == (rng(100), rng(3, 4), rng(14, 21))
    assert (p4.dose_mcg, p4.per_month, p4.lifelong) == (rng(100), rng(1), True)


def test_most_trusted_first_for_pernicious_anaemia(kb: Knowledge) -> None:
    regimens = kb.regimens_for("pernicious-anaemia")
    assert kb.trust(regimens[0].sources) == 5
    assert {"us-label-pernicious-anaemia", "uk-smpc-hydroxocobalamin-anaemia"} <= {
        r.id for r in regimens[:2]
    }


def test_us_paediatric_and_hydroxocobalamin(kb: Knowledge) -> None:
    child = kb.regimens["us-paediatric-pernicious-anaemia"]
    assert child.population == "child" and child.sources == ("drugs-com-lexicomp",)
    assert child.phases[0].dose_mcg == rng(30, 50) and child.phases[0].every_days == rng(1)
    assert "1000 mcg" in (child.phases[0].until or "")
    assert child.phases[1].dose_mcg == rng(100) and child.phases[1].per_month == rng(1)

    hydroxo = kb.regimens["us-hydroxocobalamin-deficiency"]
    assert hydroxo.substance == "hydroxocobalamin" and hydroxo.routes == ("IM",)
    assert hydroxo.phases[0].dose_mcg == rng(30) and hydroxo.phases[0].duration_days == rng(5, 10)
    assert hydroxo.phases[1].dose_mcg == rng(100, 200) and hydroxo.phases[1].per_month == rng(1)

    trial = kb.regimens["us-hydroxocobalamin-diagnostic-trial"]
    assert trial.indication == "diagnostic-trial" and trial.phases[0].dose_mcg == rng(1)
    assert trial.phases[0].kind == "diagnostic"

    schilling = kb.regimens["us-label-schilling-flushing-dose"]
    assert schilling.phases[0].dose_mcg == rng(1000) and schilling.phases[0].doses == rng(1)
    assert schilling.routes == ("IM",)


def test_uk_hydroxocobalamin_regimens(kb: Knowledge) -> None:
    r = kb.regimens
    no_neuro = r["nhs-scotland-anaemia-without-neuro"]
    assert no_neuro.neuro is False and no_neuro.sources == ("nhs-scotland-formulary",)
    assert (
        no_neuro.phases[0].dose_mcg,
        no_neuro.phases[0].per_week,
        no_neuro.phases[0].duration_days,
    ) == (rng(1000), rng(3), rng(14))
    assert no_neuro.phases[1].every_days == rng(90)

    neuro = r["nhs-scotland-anaemia-with-neuro"]
    assert neuro.neuro is True
    assert (
        neuro.phases[0].every_days == rng(2) and neuro.phases[0].until == "no further improvement"
    )
    assert neuro.phases[1].every_days == rng(60)

    assert r["nhs-scotland-prophylaxis"].phases[0].every_days == rng(90)
    assert r["nhs-scotland-prophylaxis"].indication == "prophylaxis"

    leber = r["nhs-scotland-lebers-tobacco-amblyopia"]
    assert [p.dose_mcg for p in leber.phases] == [rng(1000)] * 3
    assert leber.phases[0].duration_days == rng(14) and leber.phases[1].per_week == rng(2)
    assert leber.phases[2].every_days == rng(30, 90)

    smpc = r["uk-smpc-hydroxocobalamin-anaemia"]
    assert smpc.sources == ("uk-hydroxocobalamin-smpc",)
    assert smpc.phases[0].dose_mcg == rng(250, 1000) and smpc.phases[0].every_days == rng(2)
    assert smpc.phases[0].duration_days == rng(7, 14)
    assert smpc.phases[1].dose_mcg == rng(250) and smpc.phases[1].per_week == rng(1)
    assert smpc.phases[2].dose_mcg == rng(1000) and smpc.phases[2].every_days == rng(60, 90)


def test_oral_and_methylcobalamin_regimens(kb: Knowledge) -> None:
    r = kb.regimens
    assert r["uk-oral-cyanocobalamin-dietary"].phases[0].dose_mcg == rng(50, 150)
    assert r["uk-oral-cyanocobalamin-injections-not-tolerated"].phases[0].dose_mcg == rng(
        1000, 2000
    )
    nice = r["nice-oral-malabsorption"]
    assert nice.sources == ("nice-ng239",) and nice.routes == ("oral",)
    assert nice.phases[0].dose_mcg == rng(1000) and nice.phases[0].every_days == rng(1)
    methyl = r["methycobal-500-three-weekly"]
    assert methyl.substance == "methylcobalamin" and methyl.phases[0].dose_mcg == rng(500)
    assert methyl.phases[0].per_week == rng(3)


# --- seed errors ---------------------------------------------------------------------------


def _default_sources(kb: Knowledge, conflict_id: str) -> tuple[str, ...]:
    conflict = kb.conflicts[conflict_id]
    sources: tuple[str, ...] = next(
        p for p in conflict.positions if p.id == conflict.default
    ).sources
    return sources


def test_one_mcg_treatment_is_contradicted(kb: Knowledge) -> None:
    r = kb.regimens["seed-000-deficiency-1-mcg-daily"]
    assert r.sources == ("seed-000",) and r.status == "contradicted"
    assert r.conflict == "conflict-1-mcg-deficiency-treatment"
    assert r.phases[0].dose_mcg == rng(1) and r.phases[0].duration_days == rng(7, 14)
    assert "us-label-hydroxocobalamin" in _default_sources(kb, r.conflict)


def test_400_500_mg_slip(kb: Knowledge) -> None:
    r = kb.regimens["seed-000-list-b-funicular-myelosis"]
    assert r.phases[0].dose_mcg == rng(400, 500)  # kept in mcg, never 400,000
    assert all(p.dose_mcg.max <= 500 for p in r.phases)
    slip = kb.collections["facts"]["seed-000-funicular-400-500-mg"]
    assert slip.status == "contradicted" and slip.conflict == "conflict-funicular-myelosis-mg-slip"
    assert kb.conflicts[slip.conflict].default == "mcg"


@pytest.mark.parametrize(
    ("rid", "dose", "iu_text"),
    [
        ("seed-002-mild-nerve-pain-5000-iu", rng(5000), "5000 iu"),
        ("seed-002-intense-nerve-pain-15000-iu", rng(15000), "15000 iu"),
        ("seed-002-pernicious-anaemia-iu", rng(100, 1000), "100 to 1000 iu"),
    ],
)
def test_iu_doses_are_contradicted(kb: Knowledge, rid: str, dose: Range, iu_text: str) -> None:
    r = kb.regimens[rid]
    assert r.sources == ("seed-002",)
    assert r.status == "contradicted" and r.conflict == "conflict-b12-iu-doses"
    assert r.phases[0].dose_mcg == dose
    assert iu_text in r.title
    assert kb.conflicts["conflict-b12-iu-doses"].default == "mcg-only"


@pytest.mark.parametrize(
    ("conflict_id", "default_source"),
    [
        ("conflict-pernicious-anaemia-regimen", "us-label-cyanocobalamin"),
        ("conflict-funicular-myelosis-regimen", "nhs-scotland-formulary"),
        ("conflict-prophylaxis-regimen", "nhs-scotland-formulary"),
        ("conflict-maintenance-regimen", "us-label-cyanocobalamin"),
        ("conflict-childhood-anaemia-regimen", "drugs-com-lexicomp"),
        ("conflict-oral-regimen", "us-label-cyanocobalamin"),
        ("conflict-iron-deficiency-anaemia-regimen", "seed-000"),
        ("conflict-liver-disease-regimen", "seed-000"),
    ],
)
def test_regimen_conflict_defaults(kb: Knowledge, conflict_id: str, default_source: str) -> None:
    assert default_source in _default_sources(kb, conflict_id)


def test_every_seed_regimen_names_its_conflict(kb: Knowledge) -> None:
    seeds = {s for s, src in kb.sources.items() if src.file}
    for r in kb.regimens.values():
        if set(r.sources) <= seeds:
            assert r.status in ("contradicted", "unsupported"), r.id
            assert r.conflict is not None, r.id
            refs = {e for p in kb.conflicts[r.conflict].positions for e in p.entries}
            assert f"regimens:{r.id}" in refs, r.id


def test_seed_000_dosing_lists_are_all_present(kb: Knowledge) -> None:
    r = kb.regimens
    assert r["seed-000-list-a-pernicious-anaemia"].phases[0].dose_mcg == rng(100, 200)
    assert r["seed-000-list-b-pernicious-anaemia"].phases[0].dose_mcg == rng(150, 200)
    assert r["seed-000-table-pernicious-anaemia-neuro"].phases[0].dose_mcg == rng(500)
    assert r["seed-000-tablets-anaemia"].routes == ("oral",)
    assert r["seed-000-tablets-anaemia"].phases[0].dose_mcg == rng(30, 200)
    esc = r["seed-000-neurological-escalating"].phases[0]
    assert (esc.dose_mcg, esc.dose_to_mcg, esc.every_days) == (rng(200), rng(500), rng(2))
    assert r["seed-000-table-ms-als-intrathecal"].routes == ("intrathecal",)
    assert r["seed-000-prophylaxis-1-mcg-monthly"].status == "contradicted"


def test_inventory_covers_every_seed(kb: Knowledge) -> None:
    ours = {
        seed: [i for i in items if i.ref.partition(":")[0] in ("indications", "regimens")]
        for seed, items in kb.inventory.items()
    }
    for seed in sorted(SEEDS):
        assert ours.get(seed), seed
    refs = {i.ref for items in kb.inventory.values() for i in items}
    for rid, r in kb.regimens.items():
        if set(r.sources) & SEEDS:
            assert f"regimens:{rid}" in refs, rid
