"""Dose calculation: golden cases from published examples, then each check on its own."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b12 import InputError, load_knowledge
from b12.adapters.cli import read
from b12.domain.findings import Level
from b12.domain.patient import Patient
from b12.domain.quantity import Mass
from b12.services.audit_thresholds import audit_thresholds
from b12.services.dose_checks import plausibility, slip_factor
from b12.services.dosing import DoseResult, calculate_dose

CASES = yaml.safe_load((Path(__file__).parent / "golden" / "dose_cases.yaml").read_text())["cases"]


def run(dose: str, **options: Any) -> DoseResult:
    kb = load_knowledge()
    return calculate_dose(kb, read.dose_request(kb, dose, **options))


def codes(result: DoseResult) -> set[str]:
    return {f.code for f in result.findings}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case: dict[str, Any]) -> None:
    kb = load_knowledge()
    assert case["source"] in kb.sources
    options = {
        k: case[k]
        for k in ("product", "concentration", "assume_iu_is_mcg", "indication")
        if k in case
    }
    if "age_months" in case:
        options["patient"] = Patient(age_months=Decimal(case["age_months"]))
    result = run(case["dose"], **options)
    expect = case["expect"]
    assert not set(expect.get("absent", ())) & codes(result), codes(result)
    assert result.dose_mcg == expect["dose_mcg"]
    drawn = None if result.measured is None else result.measured.rounded_ml
    assert drawn == (None if expect["volume_ml"] is None else Decimal(expect["volume_ml"]))
    assert set(expect["codes"]) <= codes(result), codes(result)
    loudest = max((f.level for f in result.findings), key=lambda lv: lv.rank, default=None)
    assert (loudest.value if loudest else "none") == expect["level"]
    if "suggestion" in expect:
        slip = next(f for f in result.findings if f.code == "DOSE_UNIT_SLIP")
        assert slip.suggestion is not None
        assert slip.suggestion.action == {"set": "dose", "to": expect["suggestion"]}
    for f in result.findings:
        assert f.basis.sources or f.code == "VOLUME_ROUNDED", f.code


def test_iu_without_the_assumption_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no international unit"):
        run("5000 iu", concentration="1000 mcg/mL")


def test_slip_message_names_the_likely_dose() -> None:
    result = run("500 mg", concentration="500mcg/mL")
    (slip,) = result.stops
    assert slip.message == (
        "500,000 mcg is 500 times the largest single dose any trusted regimen injects (1,000 mcg): "
        "a mg/mcg slip? The likely intended dose is 500 mcg."
    )
    assert slip.basis.values["largest trusted single dose"] == "1,000 mcg"


def test_milgamma_gives_every_ingredient_in_the_volume() -> None:
    result = run("1000 mcg", product="milgamma-2ml-ampoule")
    shown = {i.substance: i.shown for i in result.ingredients}
    assert shown == {
        "thiamine": "100 mg",
        "pyridoxine": "100 mg",
        "cyanocobalamin": "1,000 mcg",
        "lidocaine": "20 mg",
    }
    (opened,) = result.containers
    assert (opened.kind, opened.count, opened.left_ml) == ("ampoule", 1, 0)


def test_single_use_ampoule_discards_the_rest() -> None:
    result = run("100 mcg", product="cyanocobalamin-500mcg-ml-ampoule")
    (opened,) = result.containers
    assert (opened.count, opened.use_ml, opened.left_ml) == (1, Decimal("0.2"), Decimal("0.8"))
    assert "discard the 0.8 mL left" in opened.note


def test_multi_dose_vial_tracks_what_remains() -> None:
    result = run("1000 mcg", product="cyanocobalamin-us-1000mcg-ml-30ml-vial")
    (opened,) = result.containers
    assert (opened.kind, opened.left_ml) == ("multi-dose-vial", Decimal(29))


def test_rounding_is_stated() -> None:
    result = run("333 mcg", concentration="1000mcg/mL")
    assert result.measured is not None and result.measured.rounded_ml == Decimal("0.33")
    rounded = next(f for f in result.findings if f.code == "VOLUME_ROUNDED")
    assert "330 mcg instead of 333 mcg" in rounded.message


def test_volume_over_the_site_limit_names_a_site_that_takes_it() -> None:
    result = run("3 mg", concentration="1000mcg/mL", site="deltoid")
    limit = next(f for f in result.findings if f.code == "SITE_VOLUME_LIMIT")
    assert limit.level is Level.WARNING
    assert "vastus lateralis" in limit.message


def test_infant_volume_limit() -> None:
    infant = Patient(age_months=Decimal(6))
    result = run("1500 mcg", concentration="1000mcg/mL", site="vastus lateralis", patient=infant)
    assert {"SITE_VOLUME_LIMIT", "VOLUME_ABOVE_AGE_LIMITS"} <= codes(result)
    assert not result.stops  # split between two sites: a warning, not a stop


def test_no_site_takes_a_huge_volume() -> None:
    result = run("900 mcg", concentration="100mcg/mL")
    assert "VOLUME_IMPLAUSIBLE" in codes(result)
    assert result.stops


def test_dorsogluteal_is_advised_against() -> None:
    result = run("1000 mcg", concentration="1000mcg/mL", site="dorsogluteal")
    assert "SITE_AVOID" in codes(result)


def test_iv_cyanocobalamin_is_advised_against() -> None:
    result = run("1000 mcg", product="cyanocobalamin-us-1000mcg-ml-1ml-vial", route="IV")
    avoid = next(f for f in result.findings if f.code in ("ROUTE_AVOID", "ROUTE_NOT_FOR_PRODUCT"))
    assert "us-label-cyanocobalamin" in avoid.basis.sources


def test_hydroxocobalamin_us_is_im_only() -> None:
    result = run("1000 mcg", product="hydroxocobalamin-us-1000mcg-ml-30ml-vial", route="SC")
    assert "ROUTE_NOT_FOR_PRODUCT" in codes(result)


def test_expired_product_is_a_stop() -> None:
    result = run(
        "1000 mcg",
        product="cyanocobalamin-us-1000mcg-ml-1ml-vial",
        expiry=date(2026, 1, 31),
        today=date(2026, 2, 1),
    )
    assert "PRODUCT_EXPIRED" in {f.code for f in result.stops}


def test_benzyl_alcohol_in_a_neonate() -> None:
    result = run(
        "100 mcg",
        product="cyanocobalamin-us-1000mcg-ml-10ml-vial",
        patient=Patient(age_months=Decimal("0.5")),
    )
    assert "EXCIPIENT_NEONATE" in codes(result)


def test_product_age_limit_is_the_labels_contraindication() -> None:
    result = run(
        "1000 mcg", product="neurobion-3ml-ampoule", patient=Patient(age_months=Decimal(96))
    )
    stop = next(f for f in result.findings if f.code == "PRODUCT_CONTRAINDICATED")
    assert stop.level is Level.STOP
    assert stop.basis.sources == ("neurobion-product-info",)
    assert stop.basis.values["age"] == "8 years"
    assert "PRODUCT_AGE_LIMIT" not in codes(result)  # one finding for the one fact


def test_dose_outside_indication_ranges() -> None:
    result = run("50 mcg", concentration="1000mcg/mL", indication="lebers optic atrophy")
    outside = next(f for f in result.findings if f.code == "DOSE_OUTSIDE_INDICATION")
    assert outside.level is Level.WARNING


def test_dose_inside_indication_range_is_quiet() -> None:
    result = run("100 mcg", concentration="1000mcg/mL", indication="Addison-Biermer anemia")
    assert "DOSE_OUTSIDE_INDICATION" not in codes(result)


def test_unknown_product_suggests_close_ids() -> None:
    with pytest.raises(InputError, match="unknown product 'milgama'"):
        run("1 mg", product="milgama")


def test_product_and_concentration_together_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not both"):
        run("1 mg", product="milgamma-2ml-ampoule", concentration="500mcg/mL")


def test_injecting_a_tablet_is_a_stop() -> None:
    result = run("1000 mcg", product="jarrow-methylcobalamin-1000mcg-tablet", route="IM")
    assert "ROUTE_NOT_FOR_PRODUCT" in {f.code for f in result.stops}


def test_tablet_dose_counts_whole_tablets() -> None:
    result = run("2000 mcg", product="jarrow methylcobalamin", route="sublingual")
    assert result.units == 2
    assert result.measured is None


def test_neurobion_ingredients_are_exact_per_three_ml() -> None:
    result = run("1 mg", product="neurobion")
    shown = {i.substance: i.shown for i in result.ingredients}
    assert shown["thiamine"] == "100 mg"
    assert shown["pyridoxine"] == "100 mg"
    assert shown["cyanocobalamin"] == "1,000 mcg"


def test_an_inexact_ingredient_amount_says_about() -> None:
    result = run("333 mcg", product="neurobion")  # 1 mL of a 3 mL ampoule
    shown = {i.substance: i.shown for i in result.ingredients}
    assert shown["thiamine"] == "about 33.3 mg"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "b12", "dose", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_dose_json_contract_and_exit_codes() -> None:
    done = _cli("500mcg", "--concentration", "1000mcg/mL", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["dose_mcg"], data["volume_ml"], data["volume"]) == (500, 0.5, "0.5 mL")
    assert data["containers"] == [] and data["fingerprint"] == load_knowledge().fingerprint
    slip = _cli("500 mg", "--product", "cyanocobalamin-500mcg-ml-ampoule", "--json")
    assert slip.returncode == 3
    assert json.loads(slip.stdout)["findings"][0]["code"] == "DOSE_UNIT_SLIP"
    iu = _cli("5000 iu", "--concentration", "1000mcg/mL")
    assert iu.returncode == 2 and "--assume-iu-is-mcg" in iu.stderr and iu.stdout == ""


CHILD_AGES = {"2 months": Decimal(2), "6 years": Decimal(72), "11 years": Decimal(132)}


@pytest.mark.parametrize(
    "indication", ["pernicious-anaemia", "b12-deficiency", "megaloblastic-anaemia"]
)
@pytest.mark.parametrize(
    ("dose", "inside"),
    [
        (29, False),
        (30, True),
        (40, True),
        (50, True),
        (51, False),
        (99, False),
        (100, True),
        (101, False),
        (250, False),
        (1000, False),
    ],
)
@pytest.mark.parametrize("age", CHILD_AGES, ids=list(CHILD_AGES))
def test_a_childs_dose_is_checked_against_the_childrens_regimen(
    age: str, dose: int, inside: bool, indication: str
) -> None:
    result = run(
        f"{dose} mcg",
        concentration="1000mcg/mL",
        indication=indication,
        patient=Patient(age_months=CHILD_AGES[age]),
    )
    assert ("DOSE_OUTSIDE_INDICATION" not in codes(result)) is inside


@pytest.mark.parametrize(
    ("dose", "inside"),
    [
        (30, False),
        (50, False),
        (99, False),
        (100, True),
        (101, False),
        (249, False),
        (250, True),
        (1000, True),
        (1001, False),
    ],
)
@pytest.mark.parametrize(
    "months", [Decimal(216), Decimal(480), None], ids=["18y", "40y", "age-not-given"]
)
def test_an_adults_dose_is_checked_against_the_adult_regimens(
    months: Decimal | None, dose: int, inside: bool
) -> None:
    # pernicious anaemia in adults: US label 100 mcg; UK SmPC 250-1000 mcg, 250 mcg and 1 mg
    result = run(
        f"{dose} mcg",
        concentration="1000mcg/mL",
        indication="pernicious-anaemia",
        patient=Patient(age_months=months),
    )
    assert ("DOSE_OUTSIDE_INDICATION" not in codes(result)) is inside


def test_an_adult_dose_for_an_infant_names_the_childrens_doses() -> None:
    result = run(
        "1 mg",
        concentration="1000mcg/mL",
        indication="pernicious anemia",
        patient=Patient(age_months=Decimal(2)),
    )
    [outside] = [f for f in result.findings if f.code == "DOSE_OUTSIDE_INDICATION"]
    assert outside.level is Level.WARNING
    assert outside.message == (
        "1,000 mcg is outside the doses the regimens for pernicious anaemia for an infant use "
        "(30-50 mcg, 100 mcg)."
    )
    assert outside.basis.sources == ("drugs-com-lexicomp",)


@pytest.mark.parametrize(
    ("dose", "code"),
    [("9999 mcg", "DOSE_ABOVE_TRUSTED_MAX"), ("10000 mcg", "DOSE_UNIT_SLIP")],
)
def test_slip_starts_at_the_knowledge_factor(dose: str, code: str) -> None:
    # the largest trusted injected dose is 1,000 mcg and audit.yaml's unit-slip factor is 10
    kb = load_knowledge()
    assert slip_factor(kb) == Decimal(10) == audit_thresholds(kb).slip_factor
    assert code in codes(run(dose, concentration="1000 mcg/mL"))


def test_the_order_check_reads_the_slip_factor_from_the_knowledge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kb = load_knowledge()
    knowledge = type(kb)
    halved = dataclasses.replace(kb.get("audit-rules", "unit-slip"), factor=Decimal(5))
    real_get = knowledge.get

    def get(self: Any, collection: str, entry_id: str) -> Any:
        if (collection, entry_id) == ("audit-rules", "unit-slip"):
            return halved
        return real_get(self, collection, entry_id)

    monkeypatch.setattr(knowledge, "get", get)
    findings = plausibility(kb, Mass(Decimal(5000)), slip_possible=True)
    assert [f.code for f in findings] == ["DOSE_UNIT_SLIP"]
    findings = plausibility(kb, Mass(Decimal(4999)), slip_possible=False)
    assert [f.code for f in findings] == ["DOSE_ABOVE_TRUSTED_MAX"]
