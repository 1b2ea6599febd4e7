"""A patient's ward (revision 0012), on SQLite and PostgreSQL: set when the patient is added,
moved by a correction (kept when the correction names none), checked like any text the record
keeps; `b12 due --ward` lists one ward, and a ward no patient is on is refused with the wards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from b12.domain.records import WARD_LIMIT, ward_name
from b12.errors import InputError
from tests.record.conftest import db_url, empty_db_url, pg_server  # noqa: F401
from tests.record.helpers import run_main

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _b12(*argv: str) -> tuple[int, Any, str]:
    code, out, err = run_main([*argv, "--json"])
    return code, json.loads(out) if out.strip() else None, err


def _patient(code: str, *more: str) -> tuple[int, Any, str]:
    return _b12("patient", "add", code, "--age-years", "62", *more, "--at", "2026-01-02")


def _course(code: str, *more: str) -> None:
    assert _patient(code, *more)[0] == 0
    done = _b12(
        "prescribe", code, "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02",
    )  # fmt: skip
    assert done[0] == 0, done[2]


@pytest.fixture
def record(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_USER", "nurse")
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    return db_url


def _due(*more: str) -> tuple[int, Any, str]:
    return _b12("due", "--date", "2026-01-06", *more)


def test_the_ward_is_kept_moved_by_a_correction_and_kept_when_a_correction_names_none(
    record: str,
) -> None:
    code, added, err = _patient("P-1", "--ward", "  Ward 4 ")
    assert code == 0, err
    assert added["patient"]["ward"] == "Ward 4"  # trimmed
    _, kept, _ = _b12("patient", "add", "P-1", "--correct", "--weight-kg", "70")
    assert kept["patient"]["ward"] == "Ward 4"
    _, moved, _ = _b12("patient", "add", "P-1", "--correct", "--ward", "Day unit")
    assert moved["patient"]["ward"] == "Day unit"
    _, shown, _ = _b12("patient", "show", "P-1")
    assert shown["patient"]["ward"] == "Day unit"
    assert _patient("P-2")[1]["patient"]["ward"] is None  # no ward: none recorded
    code, words, _ = run_main(["patient", "show", "P-1"])
    assert code == 0 and "ward         Day unit" in words
    assert "ward" not in run_main(["patient", "show", "P-2"])[1]
    _, check, _ = _b12("audit-log", "verify")
    assert check["intact"] is True


@pytest.mark.parametrize(
    ("ward", "says"),
    [
        ("Ward\t4", "control character (U+0009)"),
        ("Ward\n4", "control character (U+000A)"),
        ("Ward\x1b[31m4", "control character (U+001B)"),
        ("Ward\x004", "NUL character"),  # the command line refuses it first
        ("   ", "the ward is empty"),
        ("W" * (WARD_LIMIT + 1), f"{WARD_LIMIT + 1} characters long; the record keeps at most"),
    ],
)
def test_a_ward_the_record_cannot_keep_is_refused_and_nothing_is_written(
    record: str, ward: str, says: str
) -> None:
    code, out, err = _patient("P-1", "--ward", ward)
    assert code == 2 and out is None and says in err, err
    assert "Traceback" not in err
    assert _b12("patient", "list")[1]["patients"] == []
    assert _patient("P-1")[0] == 0  # nothing half-written: the code is still free
    code, _, err = _b12("patient", "add", "P-1", "--correct", "--ward", ward)
    assert code == 2 and says in err


def test_the_longest_ward_and_any_script_are_kept(record: str) -> None:
    for code, ward in (("P-1", "W" * WARD_LIMIT), ("P-2", "Station Süd · 病棟 3")):
        done, added, err = _patient(code, "--ward", ward)
        assert done == 0, err
        assert added["patient"]["ward"] == ward
        assert _b12("patient", "show", code)[1]["patient"]["ward"] == ward


def test_due_lists_one_ward_and_refuses_a_ward_no_patient_is_on(record: str) -> None:
    _course("P-1", "--ward", "Ward 4")
    _course("P-2", "--ward", "Day unit")
    _course("P-3")
    _, every, _ = _due()
    assert [(d["patient"], d.get("ward")) for d in every["due"]] == [
        ("P-1", "Ward 4"), ("P-2", "Day unit"), ("P-3", None)
    ]  # fmt: skip
    assert "ward" not in every  # every ward: the answer earlier releases gave
    for asked in ("Ward 4", "ward 4", " WARD 4 "):  # a ward's name in any case
        code, one, err = _due("--ward", asked)
        assert code == 0, err
        assert [d["patient"] for d in one["due"]] == ["P-1"]
    code, _, err = _due("--ward", "Ward 5")
    assert code == 2
    assert "no patient on ward 'Ward 5'; the wards are: Day unit, Ward 4" in err
    code, _, err = _due("--ward", "Ward\t4")
    assert code == 2 and "control character" in err
    code, words, _ = run_main(["due", "--date", "2026-01-06", "--ward", "Day unit"])
    assert code == 0 and "P-2" in words and "P-1" not in words and "on ward Day unit" in words
    assert "on ward Ward 4" in run_main(["due", "--date", "2026-01-06", "--ward", "WARD 4"])[1]


def test_a_ward_with_nobody_due_lists_nobody_and_no_ward_at_all_says_so(record: str) -> None:
    _course("P-1", "--ward", "Ward 4")
    assert _patient("P-2", "--ward", "Day unit")[0] == 0  # no prescription: never due
    code, one, err = _due("--ward", "Day unit")
    assert (code, one["due"]) == (0, []), err
    _b12("patient", "add", "P-1", "--correct", "--age-years", "62", "--ward", "Ward 5")
    _b12("patient", "add", "P-2", "--correct", "--age-years", "62", "--ward", "Ward 5")
    code, _, err = _due("--ward", "Ward 4")  # nobody is on it any more
    assert code == 2 and "the wards are: Ward 5" in err


def test_with_no_ward_recorded_the_refusal_says_how_to_record_one(record: str) -> None:
    _course("P-1")
    code, _, err = _due("--ward", "Ward 4")
    assert code == 2 and "no patient has a ward yet" in err and "--ward" in err


@pytest.mark.parametrize("text", ["Ward\u20284", "Ward\u20294", "Ward\x7f4", "Ward\x854", "\x00"])
def test_a_line_break_or_control_character_anywhere_is_refused_by_the_rule_itself(
    text: str,
) -> None:
    with pytest.raises(InputError, match="control character") as refused:
        ward_name(text)
    assert refused.value.field == "ward"


def test_the_ward_limit_from_both_sides() -> None:
    assert ward_name(" " + "W" * WARD_LIMIT + " ") == "W" * WARD_LIMIT
    with pytest.raises(InputError, match=f"at most {WARD_LIMIT}"):
        ward_name("W" * (WARD_LIMIT + 1))
