"""The patient's screening profile through FHIR: every field of it exported as FHIR's own
resources and read back into the patient before the orders and doses (which are screened with
it); every element of those resources b12 does not read is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.fhir.bundle import bundle, read_all
from b12.adapters.fhir.jsonio import dumps, loads
from b12.adapters.fhir.profile import profile_resources
from b12.adapters.fhir.reading import FhirReadError
from b12.adapters.fhir.resources import PatientRead, patient
from b12.domain.patient import Patient
from b12.domain.records import PatientRecord
from b12.services.record import patient_on, profile_of
from tests.fhir.helpers import r4b_loads, schema_errors, through_text
from tests.record.helpers import run_main

KB = load_knowledge()
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
#: Every field of the profile, with names the knowledge knows and names it does not.
EVERY_FIELD = [
    "--age-years", "40", "--sex", "female", "--weight-kg", "61.50", "--pregnant",
    "--breastfeeding", "--allergy", "cobalt", "--allergy", "shellfish", "--condition",
    "leber's disease", "--condition", "gout", "--medication", "metformin", "--medication",
    "omeprazole", "--medication", "an unlisted tonic",
]  # fmt: skip
PROFILE = Patient(
    age_months=Decimal(480), sex="female", weight_kg=Decimal("61.50"), pregnant=True,
    breastfeeding=True, conditions=("leber's disease", "gout"),
    medications=("metformin", "omeprazole", "an unlisted tonic"),
    allergies=("cobalt", "shellfish"),
)  # fmt: skip
RECORD = PatientRecord(
    "rec-1", "P-0042", profile_of(PROFILE), datetime(2026, 1, 2, 9, 0, tzinfo=UTC), "nurse",
    age_months=PROFILE.age_months, age_given_on=date(2026, 1, 2),
)  # fmt: skip
PROFILE_KINDS = ("AllergyIntolerance", "Condition", "MedicationStatement", "Observation")


def exported() -> list[dict[str, Any]]:
    """The Patient and its profile, as another system receives them."""
    return [through_text(r) for r in [patient(RECORD), *profile_resources(RECORD, KB)]]


def read_bundle(resources: list[dict[str, Any]]) -> PatientRead:
    reads = read_all(loads(dumps(bundle(resources))), KB)
    assert [r.kind for r in reads] == ["Patient"]
    value: PatientRead = reads[0].value
    return value


# --- the round trip, through the command line ------------------------------------------------------


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """B1 with every profile field (an age, no birth date) and a course prescribed despite the
    cobalt allergy (the prescriber's reason kept)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    monkeypatch.setenv("B12_USER", "nurse")
    db = tmp_path / "a.db"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{db}")
    for argv in (
        ["db", "upgrade"],
        ["patient", "add", "B1", *EVERY_FIELD, "--at", "2026-01-02"],
        ["prescribe", "B1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-02", "--override", "allergist cleared"],
    ):  # fmt: skip
        code, _, err = run_main(argv)
        assert code in (0, 3), (argv, err)
    return db


def _shown(db: Path | None) -> dict[str, Any]:
    argv = ["patient", "show", "B1", "--json", *([] if db is None else ["--db", str(db)])]
    code, out, err = run_main(argv)
    assert code == 0, err
    kept: dict[str, Any] = json.loads(out)["patient"]
    return {k: kept[k] for k in ("code", "profile", "born", "age_months", "age_given_on")}


def _give(db: Path | None) -> tuple[int, str]:
    argv = ["give", "B1", "--at", "2026-01-05T09:30", "--json"]
    code, out, err = run_main([*argv, *([] if db is None else ["--db", str(db)])])
    return code, out + err


def test_every_profile_field_survives_export_and_import(record: Path, tmp_path: Path) -> None:
    code, out, err = run_main(["fhir", "export", "B1", "--out", "p.json", "--json"])
    assert code == 0, err
    assert json.loads(out)["resources"] == {
        "Patient": 1, "MedicationRequest": 1, "MedicationAdministration": 0,
        "DetectedIssue": 0, "Observation": 1, "AllergyIntolerance": 2, "Condition": 4,
        "MedicationStatement": 3,
    }  # fmt: skip
    copy_db = tmp_path / "b.db"
    assert run_main(["db", "upgrade", "--db", str(copy_db)])[0] == 0
    # imported months later: the age is still the one given on 2026-01-02
    code, out, err = run_main(
        ["fhir", "import", "p.json", "--db", str(copy_db), "--json", "--at", "2026-06-01",
         "--override", "allergist cleared"]
    )  # fmt: skip
    assert code == 0, err
    assert _shown(copy_db) == _shown(None)
    assert _shown(copy_db)["age_given_on"] == "2026-01-02"
    # the same screening answers: the dose stops on the cobalt allergy in both records
    first, second = _give(None), _give(copy_db)
    assert first[0] == second[0] == 3
    for answer in (first[1], second[1]):
        assert "COBALAMIN_HYPERSENSITIVITY" in answer and "LEBERS_DISEASE" in answer
    codes_of = [sorted(f["code"] for f in json.loads(a)["findings"]) for a in (first[1], second[1])]
    assert codes_of[0] == codes_of[1]
    # and the copy exports the same profile
    code, _, err = run_main(["fhir", "export", "B1", "--db", str(copy_db), "--out", "q.json"])
    assert code == 0, err

    def profile_of_bundle(name: str) -> list[Any]:
        entries = json.loads((tmp_path / name).read_text())["entry"]
        return [
            {k: v for k, v in e["resource"].items() if k not in ("id", "effectiveDateTime")}
            for e in entries
            if e["resource"]["resourceType"] in ("Patient", *PROFILE_KINDS)
        ]

    assert profile_of_bundle("p.json") == profile_of_bundle("q.json")


def test_an_order_imported_with_the_profile_is_screened_with_it(
    record: Path, tmp_path: Path
) -> None:
    """Without the prescriber's reason the copy stops the order on the allergy, as the original
    did: the profile is recorded before the order is read."""
    assert run_main(["fhir", "export", "B1", "--out", "p.json"])[0] == 0
    copy_db = tmp_path / "b.db"
    assert run_main(["db", "upgrade", "--db", str(copy_db)])[0] == 0
    code, out, err = run_main(["fhir", "import", "p.json", "--db", str(copy_db), "--json"])
    assert code == 3, err
    imported = json.loads(out)["imported"]
    assert [(i["resource"], i["outcome"]) for i in imported] == [
        ("Patient", "recorded"),
        ("MedicationRequest", "stopped"),
    ]
    assert "COBALAMIN_HYPERSENSITIVITY" in [f["code"] for f in imported[1]["findings"]]


def test_a_patient_sent_again_with_another_profile_is_refused(record: Path, tmp_path: Path) -> None:
    assert run_main(["fhir", "export", "B1", "--out", "p.json"])[0] == 0
    data = json.loads((tmp_path / "p.json").read_text())
    data["entry"] = [
        e
        for e in data["entry"]
        if not (
            e["resource"]["resourceType"] == "AllergyIntolerance"
            and e["resource"]["code"]["text"] == "cobalt"
        )
    ]
    (tmp_path / "less.json").write_text(json.dumps(data))
    code, out, err = run_main(["fhir", "import", "less.json"])
    assert (code, out) == (2, "")
    assert "another profile (allergies" in err and "--correct" in err
    # the same profile again is the patient the record keeps
    code, out, err = run_main(["fhir", "import", "p.json", "--json"])
    assert json.loads(out)["imported"][0]["outcome"] == "present", err


# --- read back exactly, in process -------------------------------------------------------------------


def test_the_profile_reads_back_identically() -> None:
    read = read_bundle(exported())
    assert (read.code, read.born, read.age_months, read.age_given_on) == (
        "P-0042", None, Decimal(480), date(2026, 1, 2),
    )  # fmt: skip
    from b12.adapters.fhir.profile import profile_with

    assert profile_with(Patient(age_months=read.age_months, sex=read.sex), read.facts) == PROFILE
    again = PatientRecord(
        "rec-2", read.code, profile_of(profile_with(Patient(sex=read.sex), read.facts)),
        datetime(2026, 6, 1, tzinfo=UTC), "nurse", age_months=read.age_months,
        age_given_on=read.age_given_on,
    )  # fmt: skip
    on = date(2027, 3, 1)
    assert patient_on(again, on) == patient_on(RECORD, on)


def test_a_birth_date_is_never_made_up_from_an_age() -> None:
    resource = patient(RECORD)
    assert "birthDate" not in resource
    born = PatientRecord("r", "P-1", {}, RECORD.recorded_at, "n", born=date(1980, 2, 3))
    assert "extension" not in patient(born) and patient(born)["birthDate"] == "1980-02-03"


def test_a_known_name_carries_b12_code_and_always_the_text() -> None:
    by_text = {
        r["code"]["text"] if "code" in r else r["medicationCodeableConcept"]["text"]: r
        for r in profile_resources(RECORD, KB)
    }
    assert by_text["cobalt"]["code"]["coding"][0]["code"] == "cobalt"
    assert "coding" not in by_text["an unlisted tonic"]["medicationCodeableConcept"]
    assert by_text["Pregnancy"]["code"]["coding"][0]["code"] == "pregnant"
    weight = by_text["Body weight"]
    assert weight["valueQuantity"] == {
        "value": Decimal("61.50"), "unit": "kg", "system": "http://unitsofmeasure.org",
        "code": "kg",
    }  # fmt: skip
    assert weight["code"]["coding"][0]["code"] == "29463-7"


@pytest.mark.parametrize("resource", exported(), ids=lambda r: r["resourceType"])
def test_every_profile_resource_validates_against_the_r4_json_schema(
    resource: dict[str, Any], schema_validator: Any
) -> None:
    assert schema_errors(schema_validator, resource) == []


@pytest.mark.parametrize("resource", exported(), ids=lambda r: r["resourceType"])
def test_every_profile_resource_loads_in_the_r4b_models(resource: dict[str, Any]) -> None:
    r4b_loads(resource)


def test_a_pregnancy_sent_as_snomed_is_read() -> None:
    resources = exported()
    for r in resources:
        if r["resourceType"] == "Condition" and r["code"]["text"] == "Pregnancy":
            r["code"]["coding"] = [{"system": "http://snomed.info/sct", "code": "77386006"}]
    assert read_bundle(resources).facts == read_bundle(exported()).facts


# --- refused -----------------------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    def change(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        at: Any = resource
        for key in parents:
            at = at[int(key)] if isinstance(at, list) else at[key]
        if isinstance(at, list):
            at[int(last)] = value
        elif value is None:
            del at[last]
        else:
            at[last] = value

    return change


REF = {
    "AllergyIntolerance": "patient",
    "Condition": "subject",
    "MedicationStatement": "subject",
    "Observation": "subject",
}
EVERY_RESOURCE: dict[str, list[tuple[str, Change, str]]] = {
    kind: [
        ("no patient", _set(REF[kind], None), f"{kind}.{REF[kind]}: missing"),
        (
            "another patient",
            _set(REF[kind], {"reference": "Patient/P-0099"}),
            "Patient/P-0099 is not the Bundle's Patient 'P-0042'",
        ),
        (
            "a reference to no patient",
            _set(REF[kind], {"reference": "Group/G1"}),
            "write a reference to a Patient",
        ),
        (
            "an element not read",
            _set("note", [{"text": "seen by GP"}]),
            f"{kind}.note: is not read by b12",
        ),
        (
            "an extension",
            _set("extension", [{"url": "http://x.org/e", "valueString": "y"}]),
            "extension 'http://x.org/e' is not read",
        ),
        (
            "a modifierExtension",
            _set("modifierExtension", [{"url": "http://x.org/m"}]),
            f"{kind}.modifierExtension",
        ),
    ]
    for kind in PROFILE_KINDS
}
SPECIFIC: list[tuple[str, str, Change, str]] = [
    ("AllergyIntolerance", "resolved", _set("clinicalStatus.coding.0.code", "resolved"),
     "b12 keeps what the patient has now (active)"),
    ("AllergyIntolerance", "no clinical status", _set("clinicalStatus", None),
     "AllergyIntolerance.clinicalStatus: missing"),
    ("AllergyIntolerance", "refuted", _set("verificationStatus", {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
         "code": "refuted"}]}), "b12 keeps confirmed facts"),
    ("AllergyIntolerance", "a SNOMED coding", _set("code.coding.0", {
        "system": "http://snomed.info/sct", "code": "1003755004"}),
     "of 'http://snomed.info/sct' is not read: send the name as AllergyIntolerance.code.text"),
    ("AllergyIntolerance", "a code the text does not name", _set("code.coding.0.code", "cobalamin"),
     "is not what the text 'cobalt' names"),
    ("AllergyIntolerance", "an unknown b12 code", _set("code.coding.0.code", "no-such-thing"),
     "'no-such-thing' is no code of b12's allergens"),
    ("AllergyIntolerance", "no name", _set("code", {}), "AllergyIntolerance.code: missing"),
    ("Condition", "inactive", _set("clinicalStatus.coding.0.code", "inactive"),
     "b12 keeps what the patient has now (active)"),
    ("Condition", "an ICD-10 coding", _set("code.coding.0", {
        "system": "http://hl7.org/fhir/sid/icd-10", "code": "H47.2"}),
     "of 'http://hl7.org/fhir/sid/icd-10' is not read"),
    ("MedicationStatement", "stopped", _set("status", "stopped"),
     "'stopped': b12 keeps the medicines a patient takes now (active)"),
    ("MedicationStatement", "an unknown status", _set("status", "taking"), "'taking'"),
    ("MedicationStatement", "no status", _set("status", None), "MedicationStatement.status: missing"),
    ("MedicationStatement", "a medicine by reference", _set("medicationReference", {"reference": "#m"}),
     "MedicationStatement.medicationReference: is not read"),
    ("Observation", "pounds", _set("valueQuantity", {"value": 135, "unit": "lb",
     "system": "http://unitsofmeasure.org", "code": "[lb_av]"}), "send the weight in kilograms"),
    ("Observation", "grams", _set("valueQuantity.code", "g"), "send the weight in kilograms"),
    ("Observation", "a unit that is not the code's", _set("valueQuantity.unit", "lb"), "'lb' is not kg"),
    ("Observation", "no unit system", _set("valueQuantity.system", None), "send the weight in kilograms"),
    ("Observation", "an implausible weight", _set("valueQuantity.value", 4000), "not plausible"),
    ("Observation", "a float-like string", _set("valueQuantity.value", "61.5"), "expected a JSON number"),
    ("Observation", "a preliminary weight", _set("status", "preliminary"), "b12 keeps a weight measured"),
    ("Observation", "another category", _set("category.0.coding.0.code", "laboratory"),
     "a body weight is a vital sign"),
    ("Observation", "a comparator", _set("valueQuantity.comparator", ">"),
     "Observation.valueQuantity.comparator: is not read"),
]  # fmt: skip


def _refused(kind: str, change: Change) -> str:
    resources = exported()
    target = next(r for r in resources if r["resourceType"] == kind)
    change(target)
    with pytest.raises(FhirReadError) as caught:
        read_bundle(resources)
    return str(caught.value)


@pytest.mark.parametrize(
    ("kind", "change", "words"),
    [(k, c, w) for k, cases in EVERY_RESOURCE.items() for _, c, w in cases]
    + [(k, c, w) for k, _, c, w in SPECIFIC],
    ids=[f"{k}-{n}" for k, cases in EVERY_RESOURCE.items() for n, _, _ in cases]
    + [f"{k}-{n}" for k, n, _, _ in SPECIFIC],
)
def test_each_profile_resource_is_refused_when_malformed(
    kind: str, change: Change, words: str
) -> None:
    message = _refused(kind, change)
    assert words in message, message
    assert message.startswith("Bundle.entry["), message


def test_a_profile_without_its_patient_is_refused() -> None:
    resources = exported()[1:]
    with pytest.raises(FhirReadError, match="read with its Patient"):
        read_all(loads(dumps(bundle(resources))), KB)


def test_two_weights_are_refused() -> None:
    resources = exported()
    resources.append(copy.deepcopy(resources[-1]))
    with pytest.raises(FhirReadError, match="a second body weight"):
        read_bundle(resources)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: p.update(birthDate="1986-01-02"), "an age given and a birth date"),
        (lambda p: p["extension"][0]["extension"].pop(), "the day it was given"),
        (lambda p: p["extension"][0]["extension"][0].update(valueDecimal=2000), "not plausible"),
        (
            lambda p: p["extension"][0]["extension"].append({"url": "years", "valueDecimal": 40}),
            "'years' is not read here",
        ),
        (
            lambda p: p["extension"].append({"url": "http://x.org/e", "valueString": "y"}),
            "extension 'http://x.org/e' is not read",
        ),
        (
            lambda p: p["extension"][0]["extension"][1].update(valueDate="2026-13-01"),
            "is not a full date",
        ),
    ],
    ids=["and-born", "no-day", "implausible", "unknown-part", "unknown-extension", "bad-day"],
)
def test_an_age_that_cannot_be_read_is_refused(
    change: Callable[[dict[str, Any]], None], words: str
) -> None:
    resources = exported()
    change(resources[0])
    with pytest.raises(FhirReadError) as caught:
        read_bundle(resources)
    assert words in str(caught.value)


def test_the_exported_bundle_with_the_profile_validates_against_the_r4_json_schema(
    record: Path, tmp_path: Path, schema_validator: Any
) -> None:
    assert run_main(["fhir", "export", "B1", "--out", "p.json"])[0] == 0
    data = loads((tmp_path / "p.json").read_bytes())
    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert set(PROFILE_KINDS) <= kinds
    assert schema_errors(schema_validator, data) == []
    for entry in data["entry"]:
        assert schema_errors(schema_validator, entry["resource"]) == []


@pytest.mark.parametrize(
    "element",
    [{"deceasedBoolean": True}, {"address": [{"city": "Leeds"}]}, {"multipleBirthInteger": 2}],
    ids=["deceased", "address", "multiple-birth"],
)
def test_a_patient_element_b12_does_not_read_is_refused(element: dict[str, Any]) -> None:
    resources = exported()
    resources[0].update(element)
    with pytest.raises(FhirReadError) as caught:
        read_bundle(resources)
    assert f"Patient.{next(iter(element))}: is not read by b12" in str(caught.value)
