"""The safety knowledge: contraindications, cautions, interactions, incompatibilities,
adverse effects and overdose, with their sources, and the seed errors marked as such."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from b12.knowledge import load_knowledge
from b12.knowledge.loader import DEFAULT_PATH

KB = load_knowledge()
CAUTIONS = KB.all("cautions")
INTERACTIONS = KB.all("interactions")
INCOMPATIBILITIES = KB.all("incompatibilities")
ADVERSE = KB.all("adverse-effects")
OVERDOSE = KB.all("overdose")
CONFLICTS = KB.conflicts


def _position_of(conflict_id: str, ref: str) -> str:
    for position in CONFLICTS[conflict_id].positions:
        if ref in position.entries:
            return position.id
    raise AssertionError(f"{ref} is in no position of {conflict_id}")


# --- contraindications and label warnings -----------------------------------------------------


def test_the_label_has_exactly_one_contraindication_sensitivity_to_cobalt_or_b12() -> None:
    label = [
        c
        for c in CAUTIONS.values()
        if c.kind == "contraindication" and "us-label-cyanocobalamin" in c.sources
    ]
    assert [c.id for c in label] == ["label-sensitivity-cobalt-b12"]
    only = label[0]
    assert set(only.about.allergies) == {"cobalt", "cobalamin"}
    assert only.status == "supported"
    assert "uk-hydroxocobalamin-smpc" in only.sources


@pytest.mark.parametrize(
    ("caution_id", "kind"),
    [
        ("label-lebers-disease-optic-atrophy", "warning"),
        ("label-hypokalaemia-severe-megaloblastic", "warning"),
        ("label-anaphylaxis-test-dose", "warning"),
        ("label-benzyl-alcohol-premature-infants", "warning"),
        ("label-aluminium-renal-impairment", "warning"),
        ("label-deficiency-over-3-months", "precaution"),
        ("label-folic-acid-masks-b12-deficiency", "precaution"),
        ("label-b12-masks-folate-deficiency", "precaution"),
        ("label-polycythaemia-vera-unmasked", "precaution"),
    ],
)
def test_label_warnings_and_precautions_come_from_the_us_label(caution_id: str, kind: str) -> None:
    caution = CAUTIONS[caution_id]
    assert caution.kind == kind
    assert caution.sources[0] == "us-label-cyanocobalamin"
    assert caution.status == "supported"


def test_label_figures_are_exact() -> None:
    assert "0.1 mg (100 mcg)" in CAUTIONS["label-folic-acid-masks-b12-deficiency"].says
    assert "10 mcg a day" in CAUTIONS["label-b12-masks-folate-deficiency"].says
    assert "4-5 mcg/kg/day" in CAUTIONS["label-aluminium-renal-impairment"].says
    assert "more than 3 months" in CAUTIONS["label-deficiency-over-3-months"].says
    assert "48 hours" in CAUTIONS["label-hypokalaemia-severe-megaloblastic"].says


def test_safety_triggers_point_at_the_right_things() -> None:
    lebers = CAUTIONS["label-lebers-disease-optic-atrophy"].about
    assert set(lebers.conditions) == {"lebers-disease", "lebers-optic-atrophy"}
    assert lebers.ingredients == ("cyanocobalamin",)
    benzyl = CAUTIONS["label-benzyl-alcohol-premature-infants"].about
    assert benzyl.excipients == ("benzyl-alcohol",) and benzyl.conditions == ("prematurity",)
    pregnancy_anaemia = CAUTIONS["uk-smpc-megaloblastic-anaemia-of-pregnancy"]
    assert pregnancy_anaemia.about.pregnancy is True
    assert pregnancy_anaemia.sources == ("uk-hydroxocobalamin-smpc",)
    assert CAUTIONS["cobalin-hypokalaemic-arrhythmias"].sources == ("cobalin-smpc",)


# --- seed errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caution_id", "conflict_id", "seeds"),
    [
        (
            "seed-pregnancy-contraindicated",
            "conflict-pregnancy-lactation",
            {"seed-000", "seed-002"},
        ),
        (
            "seed-breastfeeding-contraindicated",
            "conflict-pregnancy-lactation",
            {"seed-000", "seed-002"},
        ),
        (
            "seed-000-pregnancy-doctor-discretion-teratogenic",
            "conflict-pregnancy-lactation",
            {"seed-000"},
        ),
        ("seed-002-children-contraindicated", "conflict-seed-002-contraindications", {"seed-002"}),
        (
            "seed-002-kidney-failure-contraindicated",
            "conflict-seed-002-contraindications",
            {"seed-002"},
        ),
        (
            "seed-002-liver-failure-contraindicated",
            "conflict-seed-002-contraindications",
            {"seed-002"},
        ),
        (
            "seed-002-folate-deficiency-contraindicated",
            "conflict-seed-002-contraindications",
            {"seed-002"},
        ),
        ("seed-002-lebers-contraindicated", "conflict-lebers-disease", {"seed-002"}),
        (
            "seed-000-erythremia-contraindicated",
            "conflict-seed-000-contraindications",
            {"seed-000"},
        ),
        (
            "seed-000-erythrocytosis-contraindicated",
            "conflict-seed-000-contraindications",
            {"seed-000"},
        ),
        (
            "seed-000-thromboembolism-contraindicated",
            "conflict-seed-000-contraindications",
            {"seed-000"},
        ),
        (
            "seed-000-b12-deficiency-limited-doses",
            "conflict-limited-doses-in-deficiency",
            {"seed-000"},
        ),
    ],
)
def test_seed_contraindications_are_contradicted(
    caution_id: str, conflict_id: str, seeds: set[str]
) -> None:
    caution = CAUTIONS[caution_id]
    assert caution.status == "contradicted"
    assert caution.conflict == conflict_id
    assert set(caution.sources) == seeds
    # The seed's position is not the one followed by default.
    assert _position_of(conflict_id, f"cautions:{caution_id}") != CONFLICTS[conflict_id].default


def test_pregnancy_conflict_follows_the_label() -> None:
    conflict = CONFLICTS["conflict-pregnancy-lactation"]
    assert conflict.default == "label-not-contraindicated"
    label = next(p for p in conflict.positions if p.id == conflict.default)
    assert {"us-label-cyanocobalamin", "nice-ng239", "cobalin-smpc"} <= set(label.sources)
    assert {p.id for p in conflict.positions} == {
        "seeds-contraindicated",
        "seed-003-generally-safe",
        "label-not-contraindicated",
    }
    assert CAUTIONS["seed-003-pregnancy-generally-safe"].status == "supported"
    assert CAUTIONS["label-pregnancy-category-c"].kind == "information"


def test_seed_002_children_means_under_18() -> None:
    assert CAUTIONS["seed-002-children-contraindicated"].about.age_below_years == Decimal(18)


def test_unsupported_seed_cautions_stay_unsupported() -> None:
    for caution_id in (
        "seed-002-vision-problems-contraindicated",
        "seed-002-systemic-infection-contraindicated",
        "seed-000-angina-caution",
        "seed-000-neoplasm-caution",
        "seed-003-liver-kidney-caution",
    ):
        assert CAUTIONS[caution_id].status == "unsupported", caution_id


# --- overdose ---------------------------------------------------------------------------------


def test_the_3_mg_overdose_threshold_is_contradicted() -> None:
    claim = OVERDOSE["seed-000-overdose-3-mg"]
    assert claim.threshold_mcg == Decimal(3000)
    assert claim.status == "contradicted"
    assert claim.conflict == "conflict-overdose-threshold"
    assert claim.sources == ("seed-000",)
    conflict = CONFLICTS["conflict-overdose-threshold"]
    assert conflict.default == "iom-no-upper-limit"
    no_limit = OVERDOSE["no-upper-limit"]
    assert no_limit.sources == ("iom-dri",) and no_limit.threshold_mcg is None
    assert "1-5 mg" in no_limit.says
    assert OVERDOSE["seed-000-excess-eliminated-with-water"].status == "unsupported"


# --- interactions -----------------------------------------------------------------------------


def test_absorption_interactions_matter_for_oral_only() -> None:
    absorption = [i for i in INTERACTIONS.values() if i.mechanism == "absorption"]
    assert len(absorption) >= 5
    for interaction in absorption:
        assert interaction.matters_for_routes == ("oral",), interaction.id


@pytest.mark.parametrize(
    ("interaction_id", "mechanism", "source"),
    [
        ("colchicine-malabsorption", "absorption", "us-label-cyanocobalamin"),
        ("pas-malabsorption", "absorption", "us-label-cyanocobalamin"),
        ("alcohol-malabsorption", "absorption", "us-label-cyanocobalamin"),
        ("chloramphenicol-blunts-response", "effect", "cobalin-smpc"),
        ("metformin-low-b12", "deficiency-risk", "mhra-2022-metformin"),
        ("ppi-low-b12", "deficiency-risk", "nice-ng239"),
        ("h2-blocker-low-b12", "deficiency-risk", "nice-ng239"),
        ("nitrous-oxide-inactivates-b12", "deficiency-risk", "nice-ng239"),
        ("antiepileptics-low-b12", "deficiency-risk", "nice-ng239"),
        ("oral-contraceptives-lower-serum-b12", "serum-level", "cobalin-smpc"),
        ("label-assay-interference", "assay-interference", "us-label-cyanocobalamin"),
    ],
)
def test_authoritative_interactions(interaction_id: str, mechanism: str, source: str) -> None:
    interaction = INTERACTIONS[interaction_id]
    assert interaction.mechanism == mechanism
    assert interaction.sources[0] == source
    assert interaction.status == "supported"


def test_interaction_figures() -> None:
    assert "2 years" in INTERACTIONS["h2-blocker-low-b12"].says
    assert "55%" in INTERACTIONS["pas-malabsorption"].says
    assert "2 weeks" in INTERACTIONS["alcohol-malabsorption"].says
    assert set(INTERACTIONS["label-assay-interference"].medicines) == {
        "antibiotic",
        "methotrexate",
        "pyrimethamine",
    }


def test_seed_interaction_claims() -> None:
    clotting = INTERACTIONS["seed-procoagulants-not-together"]
    assert clotting.mechanism == "clotting" and clotting.status == "unsupported"
    assert set(clotting.sources) == {"seed-000", "seed-001"}
    assert INTERACTIONS["thiamine-allergy-enhanced"].mechanism == "allergy"
    b1b6 = INTERACTIONS["seed-001-b1-b6-not-together"]
    assert b1b6.status == "contradicted" and b1b6.conflict == "conflict-b-vitamins-together"
    assert CONFLICTS["conflict-b-vitamins-together"].default == "licensed-combinations"


# --- incompatibilities ------------------------------------------------------------------------


def test_ascorbic_acid_is_a_confirmed_incompatibility() -> None:
    entry = INCOMPATIBILITIES["ascorbic-acid-bisulfite"]
    assert entry.evidence == "confirmed"
    assert entry.sources[0] == "yakugaku-zasshi-1980"
    assert set(entry.partners) == {"ascorbic-acid", "sodium-bisulfite"}


@pytest.mark.parametrize(
    "entry_id",
    ["thiamine-mix", "pyridoxine-mix", "niacinamide-mix", "oxidising-reducing-agents-mix"],
)
def test_reported_incompatibilities(entry_id: str) -> None:
    entry = INCOMPATIBILITIES[entry_id]
    assert entry.evidence == "reported"
    assert entry.sources[0] == "compatibility-references"


@pytest.mark.parametrize(
    "entry_id", ["riboflavin-mix", "heavy-metal-salts-mix", "thiamine-bromide-mix"]
)
def test_seed_only_incompatibilities_are_unconfirmed(entry_id: str) -> None:
    entry = INCOMPATIBILITIES[entry_id]
    assert entry.evidence == "unconfirmed"
    assert entry.status == "unsupported"
    assert entry.conflict == "conflict-unconfirmed-incompatibilities"
    assert not {"compatibility-references", "yakugaku-zasshi-1980"} & set(entry.sources)
    assert CONFLICTS["conflict-unconfirmed-incompatibilities"].default == "not-confirmed"


def test_the_cobalt_ion_rationale_is_contradicted() -> None:
    fact = KB.get("facts", "seed-000-cobalt-ion-destroys-partners")
    assert fact.status == "contradicted"
    assert CONFLICTS[fact.conflict].default == "partners-degrade-b12"


# --- adverse effects --------------------------------------------------------------------------


def test_every_label_adverse_reaction_is_present() -> None:
    label = {a.id for a in ADVERSE.values() if "us-label-cyanocobalamin" in a.sources}
    assert label == {
        "pulmonary-oedema-early",
        "heart-failure-early",
        "peripheral-vascular-thrombosis",
        "polycythaemia-vera",
        "diarrhoea",
        "itching",
        "exanthema",
        "whole-body-swelling",
        "anaphylaxis",
    }
    for effect_id in ("pulmonary-oedema-early", "heart-failure-early"):
        assert ADVERSE[effect_id].serious and ADVERSE[effect_id].timing == "early in treatment"


def test_the_account_is_anecdotal_and_unsupported() -> None:
    account = [a for a in ADVERSE.values() if "seed-000-account" in a.sources]
    assert {"tachycardia", "chest-pain-tightness", "breathing-pain-breathlessness"} <= {
        a.id for a in account
    }
    assert all(a.status == "unsupported" for a in account)
    assert KB.sources["seed-000-account"].kind == "anecdotal"


# --- vocabularies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "name", "entry_id"),
    [
        ("conditions", "Leber's disease", "lebers-disease"),
        ("conditions", "LHON", "lebers-disease"),
        ("conditions", "hereditary optic nerve atrophy", "lebers-disease"),
        ("conditions", "polycythemia vera", "polycythaemia-vera"),
        ("conditions", "angina pectoris", "angina"),
        ("medicines", "Glucophage", "metformin"),
        ("medicines", "PAS", "para-aminosalicylic-acid"),
        ("medicines", "Nexium", "esomeprazole"),
        ("medicine-classes", "PPI", "proton-pump-inhibitor"),
        ("medicine-classes", "H2 blockers", "h2-receptor-antagonist"),
        ("medicine-classes", "hormonal contraceptives", "oral-contraceptive"),
    ],
)
def test_names_and_synonyms_match(collection: str, name: str, entry_id: str) -> None:
    found = KB.match(collection, name)
    assert found is not None and found.id == entry_id


def test_condition_codes_and_class_tree() -> None:
    conditions = KB.all("conditions")
    assert conditions["lebers-disease"].icd10 == ("H47.2",)
    assert conditions["polycythaemia-vera"].icd10 == ("D45",)
    assert conditions["hypokalaemia"].icd10 == ("E87.6",)
    medicines = KB.all("medicines")
    classes = KB.all("medicine-classes")
    assert medicines["kanamycin"].classes == ("aminoglycoside",)
    assert classes["aminoglycoside"].parents == ("antibiotic",)
    assert set(medicines["omeprazole"].classes) == {"proton-pump-inhibitor"}
    for drug in ("phenobarbital", "primidone", "pregabalin", "topiramate"):
        assert "antiepileptic" in medicines[drug].classes


# --- the seed inventory -----------------------------------------------------------------------


def test_safety_inventory_covers_every_seed() -> None:
    document = yaml.safe_load(
        Path(DEFAULT_PATH, "inventory", "safety.yaml").read_text(encoding="utf-8")
    )
    assert set(document) == {
        "seed-000",
        "seed-000-account",
        "seed-001",
        "seed-002",
        "seed-003",
        "seed-004",
    }
    for seed, items in document.items():
        assert items, seed
        for item in items:
            KB.resolve(item["ref"])  # raises when the pointer is dangling
    refs = {item["ref"] for item in document["seed-000"]}
    assert "overdose:seed-000-overdose-3-mg" in refs
    assert "cautions:seed-000-erythremia-contraindicated" in refs


def test_contradicted_safety_entries_sit_in_their_conflict() -> None:
    for collection in (
        "cautions",
        "interactions",
        "incompatibilities",
        "adverse-effects",
        "overdose",
    ):
        for entry in KB.all(collection).values():
            if entry.status == "contradicted":
                _position_of(entry.conflict, f"{collection}:{entry.id}")
