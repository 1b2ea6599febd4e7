"""A patient's profile corrected (a new patient row) keeps their course, doses, results and
reactions: every door reads a patient's records under every row of their code.

Before, a correction of the weight made the course vanish from `status`, the MAR and `give`
(looked up under the newest row only), and a dose given before it was not seen by the next give's
"already given today" stop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.record.conftest import db_url, empty_db_url, pg_server  # noqa: F401
from tests.record.helpers import run_main

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _b12(*argv: str, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    code, out, err = run_main([*argv, "--json"])
    assert code in ok, (argv, code, err)
    return json.loads(out) if out.strip() else {}


@pytest.fixture
def corrected(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """P-1 prescribed, the first dose given, then the profile corrected (weight added) and a
    reaction reported: records on both of the patient's rows."""
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    monkeypatch.setenv("B12_USER", "nurse")
    _b12("patient", "add", "P-1", "--age-years", "60", "--sex", "female", "--at", "2026-03-01")
    _b12(
        "prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-03-02",
        "--product", PRODUCT, "--at", "2026-03-01",
    )  # fmt: skip
    _b12("give", "P-1", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-03-02T09:00")
    _b12(
        "patient", "add", "P-1", "--correct", "--age-years", "60", "--sex", "female",
        "--weight-kg", "70", "--at", "2026-03-02T10:00",
    )  # fmt: skip
    return db_url


def test_the_course_and_the_dose_given_stay_after_a_profile_correction(corrected: str) -> None:
    status = _b12("status", "P-1", "--at", "2026-03-02T12:00")
    given = [e for e in status["timeline"] if e.get("kind") == "given"]
    assert len(given) == 1, status["timeline"]
    assert status["given"] == 1 and status["planned"] > 1


def test_a_second_dose_the_same_day_is_still_refused(corrected: str) -> None:
    again = _b12(
        "give", "P-1", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-03-02T15:00", ok=(3,)
    )
    assert "RECORD_ALREADY_GIVEN_TODAY" in {f["code"] for f in again["findings"]}


def test_the_patient_stays_on_the_mar(corrected: str) -> None:
    due = _b12("due", "--date", "2026-03-03")
    assert [d["patient"] for d in due["due"]] == ["P-1"]
    assert due["due"][0]["dose_number"] == 2


def test_the_next_dose_is_given_against_the_same_course(corrected: str) -> None:
    given = _b12("give", "P-1", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-03-03T09:00")
    assert given["administration"]["planned_number"] == 2


def test_the_export_keeps_one_patient(corrected: str, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pyarrow.dataset as ds

    out = tmp_path / "layout"
    code, _, err = run_main(["export", "parquet", str(out)])
    assert code == 0, err

    def rows(name: str) -> list[dict[str, Any]]:
        return ds.dataset(out / name, format="parquet", partitioning="hive").to_table().to_pylist()

    (patient,) = rows("patients")
    (rx,) = rows("prescriptions")
    (dose,) = rows("administrations")
    assert rx["patient_id"] == dose["patient_id"] == patient["patient_id"]
    assert rx["patient_key"] == dose["patient_key"] == patient["patient_key"]
