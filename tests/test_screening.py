"""Patient screening: every rule fires on its golden profile and not on its near miss."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b12 import InputError, Level, Screening, ScreeningPolicy, check, load_knowledge
from b12.domain.patient import Patient
from b12.domain.screening import HARD_STOPS, NO_BYPASS, ORDER_STOPS
from b12.knowledge.rule_checks import claim_ceiling, most_trusted_claim
from b12.services.screening import screen_patient
from tests.profiles import patient_of

KB = load_knowledge()
CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "golden" / "screening_cases.yaml").read_text(encoding="utf-8")
)["cases"]
RANK = {"info": 1, "warning": 2, "stop": 3}


def screen(profile: dict[str, Any]) -> Screening:
    return screen_patient(
        KB,
        patient_of(profile),
        product=profile.get("product"),
        route=profile.get("route"),
        mix=tuple(profile.get("mix", ())),
        substance=profile.get("substance"),
        form=profile.get("form"),
    )


def from_rule(result: Screening, expect: dict[str, Any]) -> list[Any]:
    return [
        f
        for f in result.findings
        if f.code == expect["code"]
        and f.level.value == expect["level"]
        and list(f.basis.sources) == expect["sources"]
    ]


def test_every_rule_has_a_triggering_and_a_non_triggering_case() -> None:
    covered = {(c["rule"], c["fires"]) for c in CASES}
    rules = set(KB.all("rules"))
    assert covered == {(r, fires) for r in rules for fires in (True, False)}


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['rule']}-{'fires' if c['fires'] else 'quiet'}" for c in CASES]
)
def test_golden_case(case: dict[str, Any]) -> None:
    rule = KB.get("rules", case["rule"])
    assert (rule.code, rule.level, list(rule.sources)) == (
        case["expect"]["code"],
        case["expect"]["level"],
        case["expect"]["sources"],
    )
    result = screen(case["profile"])
    found = from_rule(result, case["expect"])
    if case["fires"]:
        assert len(found) >= 1
        assert found[0].conflict == rule.conflict
        assert found[0].basis.values  # the patient values it used
    else:
        assert found == []
    assert result.not_screened == ()


def test_each_rule_level_follows_its_most_trusted_claim() -> None:
    for rule in KB.all("rules").values():
        top = most_trusted_claim(KB, rule)
        if rule.code in ORDER_STOPS:
            continue  # the engine's own stops for an order that is never ordinary
        assert RANK[rule.level] <= RANK[claim_ceiling(KB, top)], rule.id
        if rule.level == "stop":
            assert rule.code in HARD_STOPS and rule.bypass


def test_hard_stops_are_the_listed_ones() -> None:
    stops = {r.code for r in KB.all("rules").values() if r.level == "stop"}
    assert (
        stops
        == HARD_STOPS
        == {
            "COBALAMIN_HYPERSENSITIVITY",
            "PRODUCT_CONTRAINDICATED",
            "ROUTE_INTRATHECAL",
            "ROUTE_INTRATHECAL_PRESERVED",
        }
    )
    # only the preserved product into the spinal canal has no bypass
    no_bypass = {r.code for r in KB.all("rules").values() if r.level == "stop" and not r.bypass}
    assert no_bypass == NO_BYPASS == {"ROUTE_INTRATHECAL_PRESERVED"}


def test_seed_only_rules_are_information() -> None:
    for rule in KB.all("rules").values():
        if any(ref.startswith("conflicts:") for ref in rule.claims):
            continue  # acts on the position b12 follows, which is the most trusted
        statuses = {KB.resolve(ref).status for ref in rule.claims}
        if statuses <= {"contradicted", "unsupported"}:
            assert rule.level == "info", rule.id


def test_names_match_through_synonyms_and_brands() -> None:
    result = check(
        Patient(
            age_months=Decimal(600),
            conditions=("Addison-Biermer anemia", "Leber hereditary optic neuropathy"),
            medications=("Glucophage", "NEXIUM"),
        )
    )
    codes = [f.code for f in result.findings]
    assert codes == [
        "LEBERS_DISEASE",
        "MEDICINE_CAUSES_DEFICIENCY",
        "MEDICINE_CAUSES_DEFICIENCY",
        "POTASSIUM_MONITORING",
    ]
    values = [f.basis.values for f in result.findings if f.code == "MEDICINE_CAUSES_DEFICIENCY"]
    assert [v["medicine"] for v in values] == ["Glucophage (metformin)", "NEXIUM (esomeprazole)"]


def test_unknown_names_are_not_screened_with_close_names() -> None:
    result = check(Patient(conditions=("Lebers disese",), medications=("metformn", "zzqx")))
    assert result.not_screened == ("Lebers disese", "metformn", "zzqx")
    unknown = [f for f in result.findings if f.code == "NOT_SCREENED"]
    assert [f.level for f in unknown] == [Level.WARNING] * 3
    first, second = (f.suggestion for f in unknown[:2])
    assert first is not None and first.action is not None
    assert first.action["field"] == "conditions" and first.action["replace"] == "Lebers disese"
    assert "lebers-disease" in first.action["with_one_of"]
    assert second is not None and second.action is not None
    assert second.action["field"] == "medications" and second.action["replace"] == "metformn"
    assert second.action["with_one_of"][0] == "metformin"
    assert second.says.startswith("write one of the close known names: metformin")
    assert unknown[2].suggestion is None
    assert unknown[2].message == (
        "Medicine 'zzqx' is not in the knowledge base and was NOT screened; check it by hand."
    )


def test_known_medicine_with_no_rule_is_quiet() -> None:
    result = check(Patient(age_months=Decimal(480), medications=("atorvastatin", "Zoloft")))
    assert result.findings == ()


def test_hypersensitivity_is_a_stop_that_interrupts() -> None:
    result = check(Patient(allergies=("cyanocobalamin",)), "cyanocobalamin-us-1000mcg-ml-1ml-vial")
    assert [f.code for f in result.interrupts] == ["COBALAMIN_HYPERSENSITIVITY"]
    assert result.stops[0].basis.sources == ("us-label-cyanocobalamin", "uk-hydroxocobalamin-smpc")


def test_a_bypass_needs_a_reason_and_is_reported() -> None:
    patient = Patient(allergies=("cobalt",))
    result = check(patient, bypass={"COBALAMIN_HYPERSENSITIVITY": "allergist cleared"})
    assert result.interrupts == ()
    assert result.bypassed == {"COBALAMIN_HYPERSENSITIVITY": "allergist cleared"}
    bypassed = next(f for f in result.findings if f.code == "STOP_BYPASSED")
    assert bypassed.basis.values["reason"] == "allergist cleared"
    with pytest.raises(InputError, match="the bypass of COBALAMIN_HYPERSENSITIVITY must say why"):
        check(patient, bypass={"COBALAMIN_HYPERSENSITIVITY": "  "})
    with pytest.raises(InputError, match="only a hard stop can be bypassed") as refused:
        check(patient, bypass={"LEBERS_DISEASE": "reason"})
    assert refused.value.field == "bypass"


def test_policy_decides_what_interrupts() -> None:
    patient = Patient(conditions=("polycythemia vera",))
    assert check(patient).interrupts == ()
    strict = check(patient, policy=ScreeningPolicy(Level.WARNING))
    assert [f.code for f in strict.interrupts] == ["POLYCYTHAEMIA_VERA"]


def test_absorption_interaction_is_info_for_injections_and_says_oral_matters() -> None:
    patient = Patient(medications=("colchicine",))
    injected = next(f for f in check(patient).findings if f.code == "ABSORPTION_INTERACTION")
    assert injected.level is Level.INFO
    assert "matters for oral B12, not for a IM injection" in injected.message
    oral = next(
        f for f in check(patient, route="oral").findings if f.code == "ABSORPTION_INTERACTION"
    )
    assert oral.level is Level.WARNING


def test_pregnancy_shows_the_conflict_and_product_specific_cautions() -> None:
    plain = check(Patient(pregnant=True), "hydroxocobalamin-uk-1mg-ml-ampoule")
    assert [(f.code, f.level) for f in plain.findings] == [("PREGNANCY", Level.INFO)]
    assert plain.findings[0].conflict == "conflict-pregnancy-lactation"
    assert "seed-000, seed-002: No: pregnancy and breastfeeding are contraindications" in (
        plain.findings[0].message
    )
    milgamma = check(Patient(pregnant=True), "Milgamma")
    assert [(f.code, f.level) for f in milgamma.findings] == [
        ("PRODUCT_CONTRAINDICATED", Level.STOP),
        ("PREGNANCY", Level.INFO),
    ]


def test_syringe_partner_without_data_is_information() -> None:
    result = check(Patient(), mix=("lidocaine",))
    assert [(f.code, f.level) for f in result.findings] == [
        ("MIX_NO_COMPATIBILITY_DATA", Level.INFO)
    ]


def test_unknown_product_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown product 'milgama'"):
        check(Patient(), "milgama")


def test_to_dict_carries_the_fingerprint() -> None:
    data = check(Patient(allergies=("cobalt",))).to_dict()
    assert data["fingerprint"] == KB.fingerprint
    assert data["interrupts"] == ["COBALAMIN_HYPERSENSITIVITY"]
    assert data["findings"][0]["basis"] == {
        "sources": ["us-label-cyanocobalamin", "uk-hydroxocobalamin-smpc"],
        "values": {"allergy": "cobalt"},
    }


def b12(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "b12", *args], capture_output=True, text=True, check=False
    )


def test_cli_check_json_and_exit_codes() -> None:
    quiet = b12("check", "--age-years", "50", "--medication", "Lipitor", "--json")
    assert quiet.returncode == 0
    data = json.loads(quiet.stdout)
    assert data["findings"] == [] and data["fingerprint"] == KB.fingerprint
    stop = b12("check", "--allergy", "cobalt", "--mix", "vitamin C", "--json")
    assert stop.returncode == 3
    assert [f["code"] for f in json.loads(stop.stdout)["findings"]] == [
        "COBALAMIN_HYPERSENSITIVITY",
        "SYRINGE_INCOMPATIBLE",
    ]
    bypassed = b12(
        "check", "--allergy", "cobalt", "--bypass", "COBALAMIN_HYPERSENSITIVITY=desensitised"
    )
    assert bypassed.returncode == 0
    warned = b12("check", "--condition", "polycythemia vera", "--interrupt-on", "warning")
    assert warned.returncode == 3
    bad = b12("check", "--bypass", "COBALAMIN_HYPERSENSITIVITY")
    assert bad.returncode == 2 and "CODE=REASON" in bad.stderr


def test_dose_carries_the_screening_findings() -> None:
    from b12.adapters.cli import read
    from b12.services.dosing import calculate_dose

    plain = calculate_dose(KB, read.dose_request(KB, "1 mg", product="milgamma"))
    assert all(f.code != "PRODUCT_CONTRAINDICATED" for f in plain.findings)
    pregnant = calculate_dose(
        KB, read.dose_request(KB, "1 mg", product="milgamma", patient=Patient(pregnant=True))
    )
    assert ("PRODUCT_CONTRAINDICATED", Level.STOP) in {(f.code, f.level) for f in pregnant.findings}
    # a dose check and a screening rule that say the same thing are shown once
    newborn = calculate_dose(
        KB,
        read.dose_request(
            KB,
            "100 mcg",
            product="cyanocobalamin-us-1000mcg-ml-10ml-vial",
            patient=Patient(age_months=Decimal("0.5")),
        ),
    )
    assert [f.code for f in newborn.findings].count("EXCIPIENT_NEONATE") == 1
