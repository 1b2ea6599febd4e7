"""A dose given, sent as a MedicationAdministration: the medicine it names is the right drug or
nothing is recorded (never the prescribed product by default), the volume beside the dose is
checked against the dose and the strength and kept as given, and every Dosage element b12 does
not read is refused rather than dropped. P-0001 is prescribed cyanocobalamin 1000 mcg/mL and
owes 100 mcg (0.1 mL)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.fhir import codes
from b12.adapters.fhir.jsonio import dumps, loads
from b12.adapters.fhir.reading import FhirReadError
from b12.adapters.fhir.resources import read_administration
from tests.fhir.test_cli import record  # noqa: F401 (the fixture)
from tests.fhir.test_refusals import ADMINISTRATION
from tests.fhir.test_rest import _administration, _is_outcome, _post
from tests.record.helpers import run_main
from tests.web.conftest import Web

KB = load_knowledge()
UCUM = "http://unitsofmeasure.org"
CODE = "P-0001"
VOLUME_URL = f"{codes.B12}/StructureDefinition/volume"


def _gives(web: Web) -> int:
    from b12.services.accounts import entries_of

    return sum(e.action == "give" for e in entries_of(web.app.unit_of_work))


def _send(web: Web, role: str = "nurse", **change: Any) -> Any:
    body = _administration(web, CODE)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return _post(web, role, "/MedicationAdministration", body)


def _concept(*codings: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    if text is not None:
        out["text"] = text
    return out


def _volume(value: str, code: str = "mL") -> dict[str, Any]:
    return {
        "url": VOLUME_URL,
        "valueQuantity": {"value": Decimal(value), "unit": code, "system": UCUM, "code": code},
    }


# --- the right drug -------------------------------------------------------------------------------

NOT_READ = [
    ("another medicine's name", _concept(text="paracetamol"), "vitamin B12 only"),
    ("another medicine's RxNorm code", _concept((codes.RXNORM, "161")), "vitamin B12 only"),
    ("an RxNorm code beside the cobalamin's name",
     _concept((codes.RXNORM, "161"), text="cyanocobalamin"), "is not read"),
    ("an NDC b12 does not know", _concept((codes.NDC, "0000-0000-00")), "unknown code"),
    ("a b12 product that does not exist", _concept((codes.B12_PRODUCT, "paracetamol-500mg")), "paracetamol-500mg"),
    ("two cobalamins", _concept(text="cyanocobalamin and hydroxocobalamin"), "one cobalamin"),
]  # fmt: skip


@pytest.mark.parametrize("why, medicine, words", NOT_READ, ids=[n[0] for n in NOT_READ])
def test_a_medicine_b12_cannot_name_as_b12_is_refused_nothing_recorded(
    web: Web, why: str, medicine: dict[str, Any], words: str
) -> None:
    before = _gives(web)
    r = _send(web, medicationCodeableConcept=medicine)
    _is_outcome(r, 422)
    issue = r.json()["issue"][0]
    assert "medicationCodeableConcept" in issue["expression"][0], (why, issue)
    assert words in issue["diagnostics"], (why, issue)
    assert _gives(web) == before


def test_a_dose_given_without_a_medicine_is_refused(web: Web) -> None:
    """FHIR requires medication[x]; b12 never assumes the prescribed one."""
    before = _gives(web)
    r = _send(web, medicationCodeableConcept=None)
    _is_outcome(r, 422)
    assert "medication[x]" in r.json()["issue"][0]["expression"][0]
    assert _gives(web) == before


ANOTHER_COBALAMIN = [
    ("by name", _concept(text="hydroxocobalamin")),
    ("by b12's product code", _concept((codes.B12_PRODUCT, "hydroxocobalamin-uk-1mg-ml-ampoule"))),
    ("by NDC", _concept((codes.NDC, "00591-2888-30"))),
    ("by b12's substance code", _concept((codes.B12_SUBSTANCE, "hydroxocobalamin"))),
]  # fmt: skip


@pytest.mark.parametrize("why, medicine", ANOTHER_COBALAMIN, ids=[a[0] for a in ANOTHER_COBALAMIN])
def test_another_cobalamin_than_prescribed_is_the_wrong_drug_stop(
    web: Web, why: str, medicine: dict[str, Any]
) -> None:
    before = _gives(web)
    r = _send(web, medicationCodeableConcept=medicine)
    _is_outcome(r, 422)
    assert "RECORD_WRONG_PRODUCT" in {i["details"]["text"] for i in r.json()["issue"]}, why
    assert _gives(web) == before


def test_a_prescriber_who_lifts_the_wrong_drug_stop_records_what_was_given(web: Web) -> None:
    reason = {"url": codes.EXT_OVERRIDE,
              "valueString": "hydroxocobalamin given in error; prescriber informed and reviewed"}  # fmt: skip
    unmeasured = _send(
        web, "prescriber", medicationCodeableConcept=_concept(text="hydroxocobalamin"),
        extension=[reason],
    )  # fmt: skip
    _is_outcome(unmeasured, 422)  # no strength: no volume to record
    assert "name the product given" in unmeasured.text
    product = "hydroxocobalamin-uk-1mg-ml-ampoule"
    r = _send(
        web, "prescriber", medicationCodeableConcept=_concept((codes.B12_PRODUCT, product)),
        extension=[reason],
    )  # fmt: skip
    assert r.status_code == 201, r.text
    medicine = dumps(r.json()["contained"][0]["code"])
    assert product in medicine and "cyanocobalamin-us-1000mcg-ml-10ml-vial" not in medicine


SAME_MEDICINE = [
    ("by name", _concept(text="cyanocobalamin"), None),
    ("by b12's product code", _concept((codes.B12_PRODUCT, "cyanocobalamin-us-1000mcg-ml-10ml-vial")), None),
    ("by NDC of the same strength", _concept((codes.NDC, "0143-9621-25")), None),
    ("by UNII", _concept((codes.UNII, "P6YC3EG204")), None),
    ("another product of the same cobalamin", _concept((codes.B12_PRODUCT, "cyanocobalamin-500mcg-ml-ampoule")), "RECORD_PRODUCT_SUBSTITUTED"),
    ("another strength of the same cobalamin", _concept(text="cyanocobalamin 500 mcg/mL"), "RECORD_PRODUCT_SUBSTITUTED"),
]  # fmt: skip


@pytest.mark.parametrize("why, medicine, warning", SAME_MEDICINE, ids=[s[0] for s in SAME_MEDICINE])
def test_the_prescribed_cobalamin_is_recorded_a_substitute_with_its_warning(
    web: Web, why: str, medicine: dict[str, Any], warning: str | None
) -> None:
    r = _post(
        web, "nurse", "/MedicationAdministration",
        {**_administration(web, CODE), "medicationCodeableConcept": medicine},
        prefer="return=OperationOutcome",
    )  # fmt: skip
    assert r.status_code == 201, (why, r.text)
    said = {i["details"]["text"] for i in r.json()["issue"] if "details" in i}
    assert (
        (warning in said)
        if warning
        else not ({"RECORD_PRODUCT_SUBSTITUTED", "RECORD_WRONG_PRODUCT"} & said)
    ), (why, said)


def test_the_cli_import_refuses_another_medicine_nothing_recorded(
    record: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    sent = {**ADMINISTRATION, "subject": {"reference": "Patient/P-0042"},
            "effectiveDateTime": "2026-01-06T09:30:00+00:00",
            "medicationCodeableConcept": {"text": "paracetamol"}}  # fmt: skip
    path = tmp_path / "ma.json"
    path.write_text(dumps(sent))
    code, out, err = run_main(["fhir", "import", str(path)])
    assert (code, out) == (2, ""), err
    assert "medicationCodeableConcept" in err and "vitamin B12 only" in err
    _, said, _ = run_main(["fhir", "export", "P-0042", "--out", "after.json", "--json"])
    import json

    assert json.loads(said)["resources"]["MedicationAdministration"] == 1


# --- the volume -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["1", "0.2", "0.01", "1.1"])
def test_a_volume_the_dose_and_strength_do_not_make_is_refused_with_both(
    web: Web, sent: str
) -> None:
    before = _gives(web)
    r = _send(web, extension=[_volume(sent)])
    _is_outcome(r, 422)
    issue = r.json()["issue"][0]
    assert issue["expression"][0] == "MedicationAdministration.extension[0].valueQuantity"
    assert f"{sent} mL" in issue["diagnostics"] and "0.1 mL" in issue["diagnostics"]
    assert "100 mcg" in issue["diagnostics"]
    assert _gives(web) == before


@pytest.mark.parametrize("sent", ["0.1", "0.10"])
def test_a_volume_the_dose_makes_is_kept_as_given(web: Web, sent: str) -> None:
    r = _send(web, extension=[_volume(sent)])
    assert r.status_code == 201, r.text
    (volume,) = [e for e in r.json()["extension"] if e["url"] == VOLUME_URL]
    assert Decimal(str(volume["valueQuantity"]["value"])) == Decimal(sent)


def test_a_volume_is_checked_against_the_strength_given(web: Web) -> None:
    """Cyanocobalamin 500 mcg/mL: 100 mcg is 0.2 mL, so 0.1 mL is refused and 0.2 mL kept."""
    medicine = {"medicationCodeableConcept": _concept(text="cyanocobalamin 500 mcg/mL")}
    wrong = _send(web, extension=[_volume("0.1")], **medicine)
    _is_outcome(wrong, 422)
    assert "0.2 mL" in wrong.json()["issue"][0]["diagnostics"]
    right = _send(web, extension=[_volume("0.2")], **medicine)
    assert right.status_code == 201, right.text


def test_a_volume_in_another_unit_is_refused(web: Web) -> None:
    r = _send(web, extension=[_volume("0.0001", "L")])
    _is_outcome(r, 422)
    assert "mL" in r.json()["issue"][0]["diagnostics"]


#: Dosage elements of a MedicationAdministration (FHIR R4) that b12 does not read.
DOSAGE_NOT_READ = [
    ("rateQuantity", {"value": 1, "unit": "mL/min", "system": UCUM, "code": "mL/min"}),
    ("rateRatio", {"numerator": {"value": 1}, "denominator": {"value": 1}}),
    ("method", {"text": "slow push"}),
    ("text", "100 mcg IM"),
    ("extension", [{"url": "https://example.org/x", "valueString": "y"}]),
]


@pytest.mark.parametrize("key, value", DOSAGE_NOT_READ, ids=[d[0] for d in DOSAGE_NOT_READ])
def test_a_dosage_element_b12_does_not_read_is_refused(key: str, value: Any) -> None:
    sent = loads(dumps(ADMINISTRATION))
    sent["dosage"][key] = loads(dumps(value))
    with pytest.raises(FhirReadError) as caught:
        read_administration(sent, KB)
    assert caught.value.path.startswith(f"MedicationAdministration.dosage.{key}")


def test_a_rate_on_the_rest_door_is_refused_nothing_recorded(web: Web) -> None:
    body = _administration(web, CODE)
    body["dosage"]["rateQuantity"] = {
        "value": 1,
        "unit": "mL/min",
        "system": UCUM,
        "code": "mL/min",
    }
    before = _gives(web)
    r = _post(web, "nurse", "/MedicationAdministration", body)
    _is_outcome(r, 422)
    assert r.json()["issue"][0]["expression"][0] == "MedicationAdministration.dosage.rateQuantity"
    assert _gives(web) == before
