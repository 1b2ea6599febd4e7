"""Ordinary patients are quiet: common conditions and medicines are known, screened, with nothing to
say; unknown names are still reported, and a close-match suggestion never has the opposite sense."""

from __future__ import annotations

import difflib
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b12 import load_knowledge
from b12.domain.findings import Level
from b12.domain.patient import Patient
from b12.knowledge.names import NameIndex, normalise, opposed
from b12.services.screening import screen_patient
from tests.profiles import patient_of

KB = load_knowledge()
GOLDEN = Path(__file__).parent / "golden"
VOCABULARY: dict[str, Any] = yaml.safe_load(
    (GOLDEN / "common_vocabulary.yaml").read_text(encoding="utf-8")
)
ORDINARY: list[dict[str, Any]] = yaml.safe_load(
    (GOLDEN / "ordinary_profiles.yaml").read_text(encoding="utf-8")
)["profiles"]
PRODUCTS = [None, "cyanocobalamin-us-1000mcg-ml-1ml-vial", "hydroxocobalamin-uk-1mg-ml-ampoule"]
KINDS = {
    "conditions": ("conditions", "indications"),
    "medicines": ("medicines", "medicine-classes"),
}
VOCABULARY_SOURCE = {"conditions": "who-icd10", "medicines": "who-atc-ddd"}
SCREENED_AGAINST = {
    "conditions": {"us-label-cyanocobalamin", "uk-hydroxocobalamin-smpc", "nice-ng239"},
    "medicines": {"us-label-cyanocobalamin", "cobalin-smpc", "nice-ng239"},
}


def entry_of(kind: str, name: str) -> Any:
    return next(e for c in KINDS[kind] if (e := KB.match(c, name)) is not None)


def patient(kind: str, name: str) -> Patient:
    field = "conditions" if kind == "conditions" else "medications"
    return Patient(age_months=Decimal(70 * 12), **{field: (name,)})  # type: ignore[arg-type]


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind in ("conditions", "medicines") for name in VOCABULARY[kind]],
)
def test_common_name_is_screened_with_nothing_to_say(
    kind: str, name: str, product: str | None
) -> None:
    result = screen_patient(KB, patient(kind, name), product=product)
    assert result.not_screened == ()
    assert [f.code for f in result.findings if f.level is not Level.INFO] == []


def test_the_list_covers_the_commonest_conditions_and_medicines() -> None:
    conditions = {entry_of("conditions", n).id for n in VOCABULARY["conditions"]}
    medicines = {entry_of("medicines", n).id for n in VOCABULARY["medicines"]}
    assert len(conditions) >= 50
    assert len(medicines) >= 150
    for named in ("hypertension", "type 2 diabetes", "hypothyroidism", "atrial fibrillation"):
        assert named in VOCABULARY["conditions"]
    for named in ("asthma", "osteoarthritis", "depression"):
        assert named in VOCABULARY["conditions"]
    for named in ("statins", "antihypertensives", "levothyroxine"):
        assert named in VOCABULARY["medicines"]


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind in ("conditions", "medicines") for name in VOCABULARY[kind]],
)
def test_a_common_entry_names_its_basis(kind: str, name: str) -> None:
    entry = entry_of(kind, name)
    if not hasattr(entry, "classes") and kind == "medicines":
        return  # a class ("statins"): its members carry the basis
    assert VOCABULARY_SOURCE[kind] in entry.sources
    assert SCREENED_AGAINST[kind] <= set(entry.sources)


def _rule_ids() -> set[str]:
    out: set[str] = set()
    for rule in KB.all("rules").values():
        out |= {*rule.trigger.medicines, *rule.trigger.conditions}
    return out


def test_every_sourced_vocabulary_entry_cites_both_kinds_of_source() -> None:
    for kind, collection in (("conditions", "conditions"), ("medicines", "medicines")):
        sourced = [e for e in KB.all(collection).values() if e.sources]
        assert len(sourced) >= (50 if kind == "conditions" else 150)
        for entry in sourced:
            assert VOCABULARY_SOURCE[kind] in entry.sources, entry.id
            assert SCREENED_AGAINST[kind] <= set(entry.sources), entry.id


@pytest.mark.parametrize(("name", "code"), sorted(VOCABULARY["still_matter"].items()))
def test_medicines_that_matter_keep_their_finding(name: str, code: str) -> None:
    result = screen_patient(
        KB, patient("medicines", name), product="cyanocobalamin-us-1000mcg-ml-1ml-vial"
    )
    assert code in [f.code for f in result.findings]
    assert name not in VOCABULARY["medicines"]


@pytest.mark.parametrize(
    ("kind", "name"), [("conditions", "zzqx disease"), ("medicines", "zzqxamab")]
)
def test_an_unknown_name_is_still_not_screened(kind: str, name: str) -> None:
    result = screen_patient(KB, patient(kind, name))
    assert result.not_screened == (name,)
    [unknown] = [f for f in result.findings if f.code == "NOT_SCREENED"]
    assert unknown.level is Level.WARNING
    singular = "Condition" if kind == "conditions" else "Medicine"
    assert unknown.message.startswith(
        f"{singular} '{name}' is not in the knowledge base and was NOT screened; check it by hand."
    )


# --- suggestions never of the opposite sense -------------------------------------------------------

SWAPS = {
    "hyper": "hypo",
    "hypo": "hyper",
    "tachy": "brady",
    "brady": "tachy",
    "over": "under",
    "under": "over",
    "macro": "micro",
    "micro": "macro",
    "high": "low",
    "low": "high",
}


def _mirrors(name: str) -> set[str]:
    """The name with one word's sense turned around (hypertension -> hypotension)."""
    words = name.split()
    out = set()
    for i, word in enumerate(words):
        for prefix, other in SWAPS.items():
            if word.startswith(prefix) and (len(prefix) > 3 or word == prefix):
                out.add(" ".join([*words[:i], other + word[len(prefix) :], *words[i + 1 :]]))
    return out


def _opposite_pairs() -> list[tuple[str, str, str, str]]:
    """(group, name, its opposite's name, the opposite's id) for every such pair in the vocabulary."""
    pairs = []
    for group, collections in KINDS.items():
        names = {
            normalise(n): e
            for c in collections
            for e in KB.all(c).values()
            for n in (e.id, e.name, *e.synonyms)
        }
        for name, entry in sorted(names.items()):
            for mirror in sorted(_mirrors(name)):
                other = names.get(mirror)
                if other is not None and other.id != entry.id:
                    pairs.append((group, name, mirror, other.id))
    return pairs


PAIRS = _opposite_pairs()
INDEXES = {c: NameIndex(KB.all(c).values()) for cs in KINDS.values() for c in cs}


def _typos(name: str) -> list[str]:
    """Unknown spellings close to ``name``: a letter dropped, doubled, or two letters swapped."""
    cut = len(name) // 2 + 1
    return [
        name[:-1] + "x",
        name[:cut] + name[cut] + name[cut:],
        name[: cut - 1] + name[cut] + name[cut - 1] + name[cut + 1 :],
    ]


def test_the_vocabulary_holds_opposite_pairs_in_both_directions() -> None:
    found = {(a, b) for _, a, b, _ in PAIRS}
    for a, b in [
        ("hypertension", "hypotension"),
        ("hyperthyroidism", "hypothyroidism"),
        ("hyperkalaemia", "hypokalaemia"),
        ("hyperglycaemia", "hypoglycaemia"),
        ("high blood pressure", "low blood pressure"),
        ("overactive thyroid", "underactive thyroid"),
    ]:
        assert (a, b) in found and (b, a) in found


def test_without_the_rule_a_typo_would_suggest_the_opposite() -> None:
    """The rule matters: plain closeness puts hypotension next to a misspelt hypertension."""
    close = difflib.get_close_matches("hypertensoin", ["hypertension", "hypotension"], cutoff=0.6)
    assert "hypotension" in close


@pytest.mark.parametrize(("group", "name", "opposite", "opposite_id"), PAIRS)
def test_a_suggestion_is_never_the_opposite(
    group: str, name: str, opposite: str, opposite_id: str
) -> None:
    for typo in _typos(name):
        if any(KB.match(c, typo) for c in KINDS[group]):
            continue  # the typo is itself a known name
        suggested = {s for c in KINDS[group] for s in INDEXES[c].suggest(typo, n=10)}
        assert opposite_id not in suggested, (typo, opposite)


@pytest.mark.parametrize("name", ["hypertensoin", "hypotensoin", "overactive thyriod"])
def test_not_screened_suggests_the_same_sense_only(name: str) -> None:
    [unknown] = screen_patient(KB, patient("conditions", name)).findings
    wanted = {"hypertensoin": "hypertension", "hypotensoin": "hypotension"}
    expected = wanted.get(name, "hyperthyroidism")
    assert unknown.suggestion is not None and unknown.suggestion.action is not None
    suggested = list(unknown.suggestion.action["with_one_of"])
    assert suggested[0] == expected
    assert not any(opposed(name, s) for s in suggested)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (f"{x}{stem}", f"{y}{stem}")
        for (x, y), stem in itertools.product(
            [("hyper", "hypo"), ("tachy", "brady"), ("over", "under"), ("macro", "micro")],
            ["cardia", "tension", "active thyroid", "cytic anaemia"],
        )
    ]
    + [("high blood pressure", "low blood pressure"), ("raised potassium", "low potassium")],
)
def test_opposed_is_a_rule_of_word_beginnings_both_ways(a: str, b: str) -> None:
    assert opposed(a, b) and opposed(b, a)
    assert not opposed(a, a) and not opposed(b, b)
    index = NameIndex([_Entry(b)])
    assert index.suggest(a) == ()
    assert index.suggest(b + "x") == (normalise(b).replace(" ", "-"),)


class _Entry:
    def __init__(self, name: str) -> None:
        self.id = normalise(name).replace(" ", "-")
        self.name = name
        self.synonyms: tuple[str, ...] = ()


# --- ordinary profiles -----------------------------------------------------------------------------

OLDER = [p for p in ORDINARY if p["id"].startswith("older-")]


def test_older_profiles_carry_two_or_three_common_conditions() -> None:
    assert len(OLDER) >= 60
    for p in OLDER:
        assert 65 <= p["age_years"] <= 90
        assert 2 <= len(p["conditions"]) <= 3
        assert 2 <= len(p["medications"]) <= 3


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("profile", ORDINARY, ids=[p["id"] for p in ORDINARY])
def test_an_ordinary_profile_raises_no_warning(
    profile: dict[str, Any], product: str | None
) -> None:
    result = screen_patient(KB, patient_of(profile), product=product)
    assert result.not_screened == ()
    assert [f.code for f in result.findings if f.level is not Level.INFO] == []
