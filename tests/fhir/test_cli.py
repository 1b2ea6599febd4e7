"""`b12 fhir export` and `b12 fhir import` through the entry point, and what a CLI start loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.record.helpers import run_main

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """P-0042 with a course, a dose given and two results, as the README builds it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    monkeypatch.setenv("B12_USER", "nurse")
    db = tmp_path / "b12.db"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{db}")
    for argv in (
        ["db", "upgrade"],
        ["patient", "add", "P-0042", "--born", "1961-04-30", "--sex", "female", "--at", "2026-01-02"],
        ["prescribe", "P-0042", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-02"],
        ["give", "P-0042", "--lot", "C4471", "--expiry", "2027-09-30", "--at", "2026-01-05T09:30"],
        ["lab", "add", "P-0042", "b12=150pg/mL", "k=3.9mmol/L", "--at", "2026-01-06"],
    ):  # fmt: skip
        code, _, err = run_main(argv)
        assert code == 0, (argv, err)
    return db


def _bundle(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _without_ids(value: Any) -> Any:
    """What does not depend on the record's ids and clock."""
    if isinstance(value, dict):
        return {
            k: _without_ids(v)
            for k, v in value.items()
            if k not in ("id", "fullUrl", "timestamp", "issued", "authoredOn", "identifiedDateTime")
            and not (k in ("reference", "value") and isinstance(v, str) and len(v) > 30)
        }
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_a_bundle_exported_then_imported_elsewhere_exports_the_same(
    record: Path, tmp_path: Path
) -> None:
    code, out, err = run_main(["fhir", "export", "P-0042", "--out", "first.json", "--json"])
    assert code == 0, err
    assert json.loads(out)["resources"] == {
        "Patient": 1, "MedicationRequest": 1, "MedicationAdministration": 1,
        "DetectedIssue": 1, "Observation": 2,
    }  # fmt: skip
    copy = tmp_path / "copy.db"
    assert run_main(["db", "upgrade", "--db", str(copy)])[0] == 0
    code, out, err = run_main(
        ["fhir", "import", "first.json", "--db", str(copy), "--json", "--at", "2026-01-02"]
    )
    assert code == 0, err
    outcomes = [(i["resource"], i["outcome"]) for i in json.loads(out)["imported"]]
    assert outcomes[:5] == [("Patient", "recorded"), ("MedicationRequest", "recorded"),
                            ("MedicationAdministration", "recorded"), ("Observation", "recorded"),
                            ("Observation", "recorded")]  # fmt: skip
    code, _, err = run_main(["fhir", "export", "P-0042", "--db", str(copy), "--out", "second.json"])
    assert code == 0, err
    first, second = _bundle(tmp_path / "first.json"), _bundle(tmp_path / "second.json")
    kinds = [e["resource"]["resourceType"] for e in first["entry"]]
    keep = [e for e, k in zip(first["entry"], kinds, strict=True) if k != "DetectedIssue"]
    again = [e for e in second["entry"] if e["resource"]["resourceType"] != "DetectedIssue"]

    def key(entry: Any) -> str:  # results of one moment come in the order of their ids
        return json.dumps(_without_ids(entry), sort_keys=True)

    assert sorted(again, key=key) and [key(e) for e in sorted(again, key=key)] == [
        key(e) for e in sorted(keep, key=key)
    ]


def test_export_prints_the_bundle_with_exact_decimals(record: Path) -> None:
    code, out, _ = run_main(["fhir", "export", "P-0042"])
    assert code == 0
    assert '"value": 3.9' in out and '"code": "ug"' in out and '"unit": "mcg"' in out
    assert json.loads(out)["type"] == "collection"


def _order(dose: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/P-0042"},
        "medicationCodeableConcept": {"text": "cyanocobalamin 1000 mcg/mL"},
        "reasonCode": [{"text": "pernicious anaemia"}],
        "dosageInstruction": [{
            "sequence": 1,
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo",
                                  "boundsPeriod": {"start": "2026-02-01"}}},
            "route": {"text": "intramuscular"},
            "doseAndRate": [{"doseQuantity": dose}],
        }],
    }  # fmt: skip


def test_an_order_in_mg_is_stopped_as_the_dose_command_stops_it(
    record: Path, tmp_path: Path
) -> None:
    path = tmp_path / "order.json"
    path.write_text(
        json.dumps(
            _order(
                {"value": 1000, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
            )
        )
    )
    code, out, err = run_main(["fhir", "import", str(path)])
    assert code == 3, err
    assert "STOP" in out and "DOSE_UNIT_SLIP" in out and "1,000 mcg" in out
    code, out, _ = run_main(["fhir", "import", str(path), "--json"])
    imported = json.loads(out)["imported"]
    assert imported[0]["outcome"] == "stopped" and imported[0]["id"] is None
    assert any(f["code"] == "DOSE_UNIT_SLIP" for f in imported[0]["findings"])


def test_an_order_unlike_the_regimen_is_refused_nothing_recorded(
    record: Path, tmp_path: Path
) -> None:
    path = tmp_path / "order.json"
    path.write_text(
        json.dumps(
            _order(
                {"value": 250, "unit": "mcg", "system": "http://unitsofmeasure.org", "code": "ug"}
            )
        )
    )
    code, out, err = run_main(["fhir", "import", str(path)])
    assert code == 2 and out == ""
    assert "MedicationRequest.dosageInstruction" in err and "not the plan's" in err
    _, said, _ = run_main(["patient", "show", "P-0042", "--json"])
    assert len(json.loads(said)["prescriptions"]) == 1


@pytest.mark.parametrize(
    "text, words",
    [
        (
            '{"resourceType": "Observation", "status": "final", "value": NaN}',
            "NaN is not a FHIR number",
        ),
        ('{"resourceType": "Encounter"}', "'Encounter': b12 reads Patient, MedicationRequest"),
        (
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
            '{"resourceType": "Observation", "status": "final"}}]}',
            "Bundle.entry[0].resource.Observation.subject: missing",
        ),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_what_b12_cannot_read_exits_2_naming_it(
    record: Path, tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    code, out, err = run_main(["fhir", "import", str(path)])
    assert (code, out) == (2, "")
    assert words in err and "Traceback" not in err


def test_a_missing_file_and_an_unknown_patient_exit_2(record: Path) -> None:
    code, _, err = run_main(["fhir", "import", "no-such.json"])
    assert code == 2 and "cannot be read" in err
    code, _, err = run_main(["fhir", "export", "P-9999"])
    assert code == 2 and "no patient 'P-9999'" in err


def _modules_after(argv: list[str], env: dict[str, str]) -> set[str]:
    script = (
        "import sys, json\n"
        "from b12.adapters.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write('\\n' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120, env=env
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["dose", "500mcg", "--concentration", "1000mcg/mL"], ["fhir", "--help"],
     ["fhir", "export", "--help"], ["fhir", "export", "P-0042"]],
)  # fmt: skip
def test_a_cli_start_never_imports_fhir_resources(argv: list[str], record: Path) -> None:
    import os

    loaded = _modules_after(argv, dict(os.environ))
    assert not {m for m in loaded if m == "fhir" or m.startswith(("fhir.", "jsonschema"))}
    if argv[0] != "fhir" or "--help" in argv:
        assert "b12.adapters.fhir" not in loaded
