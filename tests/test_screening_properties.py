"""Screening over many random plausible profiles (Hypothesis), and the false-alarm count."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12 import load_knowledge
from b12.domain.findings import Level
from b12.domain.patient import Patient
from b12.domain.routes import ROUTES
from b12.services.screening import screen_patient
from tests.profiles import patient_of

KB = load_knowledge()
ORDINARY: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "golden" / "ordinary_profiles.yaml").read_text(encoding="utf-8")
)["profiles"]


def names(*collections: str) -> list[str]:
    return sorted(
        {n for c in collections for e in KB.all(c).values() for n in (e.id, e.name, *e.synonyms)}
    )


def _rule_ids() -> set[str]:
    out: set[str] = set()
    for rule in KB.all("rules").values():
        t = rule.trigger
        out |= {*t.medicines, *t.conditions, *t.allergies, *t.mix}
    return out


def _quiet_medicines() -> list[str]:
    """Medicines that no rule names, through themselves or their classes."""
    named = _rule_ids()
    classes = KB.all("medicine-classes")
    quiet = []
    for medicine in KB.all("medicines").values():
        ids = {medicine.id, *medicine.classes}
        ids |= {p for c in medicine.classes for p in classes[c].parents}
        if not ids & named:
            quiet.append(medicine.name)
    return quiet


CONDITIONS = names("conditions", "indications")
MEDICINES = names("medicines", "medicine-classes")
ALLERGIES = names("allergens", "substances")
MIX = names("substances")
QUIET = _quiet_medicines()
UNKNOWN = st.text(alphabet="qxzjkvw", min_size=6, max_size=12).map(lambda s: f"zz{s}")


def known_or_unknown(pool: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(pool), UNKNOWN)


profiles = st.fixed_dictionaries(
    {
        "age_months": st.one_of(st.none(), st.decimals(0, 1200, places=1)),
        "pregnant": st.booleans(),
        "breastfeeding": st.booleans(),
        "conditions": st.lists(known_or_unknown(CONDITIONS), max_size=3),
        "medications": st.lists(known_or_unknown(MEDICINES), max_size=5),
        "allergies": st.lists(known_or_unknown(ALLERGIES), max_size=2),
        "mix": st.lists(known_or_unknown(MIX), max_size=2),
        "product": st.one_of(st.none(), st.sampled_from(sorted(KB.products))),
        "route": st.one_of(st.none(), st.sampled_from(ROUTES)),
    }
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles)
def test_random_profiles_screen_without_losing_a_name(p: dict[str, Any]) -> None:
    patient = Patient(
        age_months=p["age_months"],
        pregnant=p["pregnant"],
        breastfeeding=p["breastfeeding"],
        conditions=tuple(p["conditions"]),
        medications=tuple(p["medications"]),
        allergies=tuple(p["allergies"]),
    )
    result = screen_patient(
        KB, patient, product=p["product"], route=p["route"], mix=tuple(p["mix"])
    )
    for f in result.findings:
        if f.code != "NOT_SCREENED":  # b12's own finding: its basis is the name nobody knows
            assert f.basis.sources, f.code
            assert all(s in KB.sources for s in f.basis.sources)
    unknown = [
        n
        for kind in ("conditions", "medications", "allergies", "mix")
        for n in p[kind]
        if n.startswith("zz")
    ]
    assert sorted(result.not_screened) == sorted(unknown)
    flagged = [
        v for f in result.findings if f.code == "NOT_SCREENED" for v in f.basis.values.values()
    ]
    assert sorted(flagged) == sorted(unknown)
    assert result.fingerprint == KB.fingerprint


@settings(max_examples=300, deadline=None)
@given(
    st.integers(18 * 12, 90 * 12),
    st.lists(st.sampled_from(QUIET), max_size=6),
    st.sampled_from(
        [None, "hydroxocobalamin-uk-1mg-ml-ampoule", "cyanocobalamin-us-1000mcg-ml-1ml-vial"]
    ),
)
def test_nothing_notable_raises_nothing(
    months: int, medicines: list[str], product: str | None
) -> None:
    patient = Patient(age_months=Decimal(months), medications=tuple(medicines))
    result = screen_patient(KB, patient, product=product)
    assert result.findings == ()


def count_false_alarms(profiles: list[dict[str, Any]]) -> int:
    """Warnings and stops raised over ordinary adult profiles (the aim is none)."""
    alarms = 0
    for p in profiles:
        result = screen_patient(KB, patient_of(p), product="cyanocobalamin-us-1000mcg-ml-1ml-vial")
        alarms += sum(1 for f in result.findings if f.level is not Level.INFO)
    return alarms


def test_ordinary_adults_raise_no_warning() -> None:
    assert len(ORDINARY) >= 50
    assert len(QUIET) >= 250  # most of the vocabulary has no rule at all
    assert len(KB.all("medicines")) >= 300
    assert count_false_alarms(ORDINARY) == 0
