"""The clinical wordings of an allergy and the states given as conditions reach screening alike
from every door (the CLI's options, the CDS Hooks prefetch): one rule each, not per name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from b12 import load_knowledge
from b12.domain.patient import Patient, state_of
from b12.services.screening import LOOKUPS, screen_patient

KB = load_knowledge()
WORDINGS = (
    "Allergy to {}",
    "{} allergy",
    "Allergic to {}",
    "Hypersensitivity to {}",
    "{} hypersensitivity",
    "Allergy to {} (finding)",
    "allergic reaction to {}",
)
#: Every name an allergy is looked up by: the allergens, and each substance and medicine.
ALLERGY_NAMES = sorted({(c, e.id, e.name) for c in LOOKUPS["allergy"] for e in KB.all(c).values()})


def _ids(name: str) -> set[str]:
    found = screen_patient(KB, Patient(allergies=(name,)))
    assert "NOT_SCREENED" not in {f.code for f in found.findings}, name
    return {f.code for f in found.findings}


@pytest.mark.parametrize(("collection", "entry", "name"), ALLERGY_NAMES)
def test_every_allergen_is_matched_in_every_clinical_wording(
    collection: str, entry: str, name: str
) -> None:
    plain = _ids(name)
    for wording in WORDINGS:
        assert _ids(wording.format(name)) == plain, (wording, name)


@pytest.mark.parametrize("wording", WORDINGS)
def test_a_cobalt_allergy_in_any_wording_is_the_hard_stop(wording: str) -> None:
    found = screen_patient(KB, Patient(allergies=(wording.format("cobalt"),)))
    assert [f.code for f in found.stops] == ["COBALAMIN_HYPERSENSITIVITY"]


def test_a_wording_around_an_unknown_name_is_still_not_screened() -> None:
    found = screen_patient(KB, Patient(allergies=("Allergy to latex",)))
    assert [f.code for f in found.findings] == ["NOT_SCREENED"]
    assert "Allergy to latex" in found.findings[0].message


@pytest.mark.parametrize(
    "name", ["Pregnancy", "pregnant", "Patient currently pregnant (finding)", "PREGNANCY"]
)
def test_pregnancy_given_as_a_condition_is_the_pregnant_flag(name: str) -> None:
    patient = Patient(conditions=(name, "hypertension"))
    assert patient.pregnant and patient.conditions == ("hypertension",)
    by_flag = screen_patient(KB, Patient(pregnant=True), product="milgamma-2ml-ampoule")
    by_name = screen_patient(KB, patient, product="milgamma-2ml-ampoule")
    assert {f.code for f in by_name.stops} == {f.code for f in by_flag.stops}
    assert "PRODUCT_CONTRAINDICATED" in {f.code for f in by_name.stops}


@pytest.mark.parametrize("name", ["Breastfeeding", "breast-feeding", "Lactating"])
def test_breastfeeding_given_as_a_condition_is_the_breastfeeding_flag(name: str) -> None:
    assert Patient(conditions=(name,)).breastfeeding
    assert state_of(name) == "breastfeeding"


@pytest.mark.parametrize("name", ["pregnancy test", "megaloblastic anaemia of pregnancy"])
def test_a_condition_only_mentioning_pregnancy_is_not_the_flag(name: str) -> None:
    assert state_of(name) is None and not Patient(conditions=(name,)).pregnant


@pytest.mark.parametrize(
    "args",
    [
        ["--allergy", "Allergy to cobalt"],
        ["--allergy", "Hypersensitivity to cyanocobalamin"],
        ["--condition", "pregnancy"],
    ],
)
def test_the_cli_stops_on_the_wording_and_on_pregnancy_as_a_condition(args: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "b12", "check", "--product", "milgamma-2ml-ampoule", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert "NOT_SCREENED" not in run.stdout
