"""The record's typed facts as the audit's layout, on SQLite and PostgreSQL: planned doses from
their rows with their phase's index in the regimen, amounts exact, times the UTC instants the
record keeps (whatever the clinic's zone), dates of birth given or implied by an age given on a
day, and only the rows no correction replaced."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from b12.adapters.population.record import birth_date, months_before
from tests.record.conftest import db_url, empty_db_url, pg_server  # noqa: F401
from tests.record.helpers import run_main

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    table = ds.dataset(folder / name, format="parquet", partitioning="hive").to_table()
    return table.to_pylist()


def _b12(*argv: str) -> dict[str, Any]:
    code, out, err = run_main([*argv, "--json"])
    assert code in (0, 3), (argv, err)
    return json.loads(out) if out.strip() else {}


@pytest.fixture
def exported(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """A record kept in Auckland's time (UTC+13 in January): a patient by date of birth, one
    by an age given on a day, a prescription, a dose given at 09:30 local, then corrected; a
    result and a reaction; exported."""
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_TIMEZONE", "Pacific/Auckland")
    monkeypatch.setenv("B12_USER", "nurse")
    _b12("patient", "add", "P-1", "--born", "1961-04-30", "--sex", "male", "--at", "2026-01-02")
    _b12("patient", "add", "P-2", "--age-years", "62", "--sex", "female", "--ward", "Ward 4",
         "--at", "2026-01-02")  # fmt: skip
    _b12(
        "prescribe", "P-2", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02",
    )  # fmt: skip
    given = _b12("give", "P-2", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-01-05T09:30")
    first = given["administration"]["id"]
    _b12("correct", "administration", "P-2", first, "site=right deltoid", "--reason", "side")
    _b12("lab", "add", "P-2", "reticulocytes=4.6%", "--at", "2026-01-10")
    _b12("event", "add", "P-2", "--description", "urticaria and wheeze", "--at", "2026-01-05")
    out = tmp_path / "layout"
    code, _, err = run_main(["export", "parquet", str(out)])
    assert code == 0, err
    return out


def test_the_record_maps_to_the_layout(exported: Path) -> None:
    patients = sorted(_rows(exported, "patients"), key=lambda r: r["birth_date"])
    assert [p["birth_date"] for p in patients] == [date(1961, 4, 30), date(1964, 1, 2)]

    (given,) = _rows(exported, "administrations")  # the correction replaces the first row
    assert given["given_at"] == datetime(2026, 1, 4, 20, 30)  # 09:30 in Auckland, in UTC
    assert given["dose_mcg"] == Decimal("100") and given["volume_ml"] == Decimal("0.1")
    assert given["planned_number"] == 1 and given["ward"] == "Ward 4"  # the patient's ward

    (prescription,) = _rows(exported, "prescriptions")
    assert prescription["regimen_id"] == "us-label-pernicious-anaemia"
    assert prescription["indication_id"] == "pernicious-anaemia"

    planned = sorted(_rows(exported, "planned_doses"), key=lambda r: r["planned_number"])
    assert [p["planned_number"] for p in planned] == list(range(1, len(planned) + 1))
    phases = [p["phase"] for p in planned]
    assert phases == sorted(phases) and phases[0] == 0  # phases in the regimen's order
    assert planned[0]["due_date"] == date(2026, 1, 5)
    assert given["phase"] == planned[0]["phase"] == 0  # the phase of the planned dose it fulfils

    (result,) = _rows(exported, "results")
    assert result["taken_at"] == datetime(2026, 1, 10) and result["value"] == 4.6
    (reaction,) = _rows(exported, "reactions")
    assert reaction["kind"] == "hypersensitivity"


def test_every_table_keys_an_id_the_same_way(exported: Path) -> None:
    """One numbering for the export: a patient's or a prescription's key is the same in every
    table that names it, each key stands for one id, and administration keys are unique."""
    from b12.adapters.population.layout import KEYS, TABLES

    seen: dict[str, dict[int, str]] = {kind: {} for kind in KEYS}
    for name, schema in TABLES.items():
        for row in _rows(exported, name):
            for kind, ident in KEYS.items():
                if kind in schema.names:
                    assert row[kind] is not None, (name, kind)
                    known = seen[kind].setdefault(row[kind], row[ident])
                    assert known == row[ident], (name, kind, row)
    patients = _rows(exported, "patients")
    assert sorted(seen["patient_key"]) == list(range(1, len(patients) + 1))
    keys = [a["administration_key"] for a in _rows(exported, "administrations")]
    assert len(keys) == len(set(keys)) == 1


def test_the_phase_index_is_the_regimens_own(exported: Path) -> None:
    from b12.bootstrap import Settings, build

    regimen = build(Settings()).knowledge.regimens["us-label-pernicious-anaemia"]
    planned = {p["planned_number"]: p["phase"] for p in _rows(exported, "planned_doses")}
    assert set(planned.values()) == set(range(len(regimen.phases)))


def test_a_regimen_the_knowledge_does_not_name_numbers_its_phases_as_they_first_appear(
    exported: Path,
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Without the regimen's phases (a regimen since taken out of the knowledge), each phase
    name's index is its order of first appearance in the prescription, on the planned doses and
    on the doses that fulfil them alike."""
    from b12.adapters.population.record import export

    out = tmp_path / "unknown"
    export(db_url, out, phases={})
    named = {p["planned_number"]: p["phase"] for p in _rows(exported, "planned_doses")}
    planned = {p["planned_number"]: p["phase"] for p in _rows(out, "planned_doses")}
    assert planned == named  # this regimen's phase names come in the regimen's order
    (given,) = _rows(out, "administrations")
    assert given["phase"] == planned[given["planned_number"]] == 0


@pytest.mark.parametrize(
    ("day", "months", "born"),
    [
        (date(2026, 1, 2), 744, date(1964, 1, 2)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
    ],
)
def test_an_age_given_on_a_day_implies_a_date_of_birth(day: date, months: int, born: date) -> None:
    assert months_before(day, months) == born
    assert birth_date(None, Decimal(months) + Decimal("0.5"), day, None) == born


def test_a_date_of_birth_wins_and_no_age_is_no_date() -> None:
    assert birth_date(date(1990, 5, 1), Decimal(12), date(2026, 1, 1), None) == date(1990, 5, 1)
    assert birth_date(None, None, None, datetime(2026, 1, 1)) is None
    # an age without its day: the day the patient was recorded
    assert birth_date(None, Decimal(24), None, "2026-01-05 08:00:00") == date(2024, 1, 5)


def test_a_dose_or_result_entered_in_error_is_not_exported(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC

    from b12.bootstrap import Settings, build
    from b12.services.corrections import void

    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_USER", "nurse")
    _b12("patient", "add", "P-2", "--age-years", "62", "--sex", "female", "--at", "2026-01-02")
    _b12(
        "prescribe", "P-2", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02",
    )  # fmt: skip
    kept = _b12("give", "P-2", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-01-05T09:30")
    wrong = _b12("give", "P-2", "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-01-06T09:30")
    lab = _b12("lab", "add", "P-2", "reticulocytes=4.6%", "--at", "2026-01-10")
    app = build(Settings(database_url=db_url))
    now = datetime(2026, 1, 11, 9, tzinfo=UTC)
    for kind, record_id in (
        ("administration", wrong["administration"]["id"]),
        ("lab", lab["results"][0]["id"]),
    ):
        void(app.unit_of_work, "P-2", kind, record_id, "recorded for the wrong patient", "dr", now)
    app.close()
    out = tmp_path / "layout"
    code, _, err = run_main(["export", "parquet", str(out)])
    assert code == 0, err
    (given,) = _rows(out, "administrations")
    assert given["planned_number"] == kept["administration"]["planned_number"] == 1
    assert _rows(out, "results") == []


def test_a_dose_keeps_the_ward_the_patient_was_on_when_it_was_given(
    db_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A patient moved to another ward by a correction: the dose given before the move counts
    for the ward it was given on; a patient on no ward gives an empty ward."""
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_USER", "nurse")
    for code, ward in (("P-1", ["--ward", "Ward 4"]), ("P-2", [])):
        _b12("patient", "add", code, "--age-years", "60", *ward, "--at", "2026-01-02")
        _b12(
            "prescribe", code, "--indication", "pernicious-anaemia", "--start", "2026-01-05",
            "--product", PRODUCT, "--at", "2026-01-02",
        )  # fmt: skip
        _b12("give", code, "--lot", "C1", "--expiry", "2027-09-30", "--at", "2026-01-05T09:30")
    moved = _b12("patient", "add", "P-1", "--correct", "--age-years", "60", "--ward", "Day unit",
                 "--at", "2026-01-06")  # fmt: skip
    assert moved["patient"]["ward"] == "Day unit"
    out = tmp_path / "layout"
    code, _, err = run_main(["export", "parquet", str(out)])
    assert code == 0, err
    wards = sorted((r["ward"] or "") for r in _rows(out, "administrations"))
    assert wards == ["", "Ward 4"]
