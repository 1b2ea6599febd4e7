"""`b12 missed --held`: a held dose is its own kind of not given, on SQLite and PostgreSQL; a held
dose kept by an older b12 (missed, "held: ...") still reads as held."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.record.conftest import db_url, empty_db_url, pg_server  # noqa: F401
from tests.record.helpers import run_main

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _b12(*argv: str) -> tuple[int, Any, str]:
    code, out, err = run_main([*argv, "--json"])
    return code, json.loads(out) if out.strip() else None, err


@pytest.fixture
def course(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_USER", "nurse")
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    _b12("patient", "add", "P-2", "--age-years", "62", "--sex", "female", "--at", "2026-01-02")
    _b12(
        "prescribe", "P-2", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02",
    )  # fmt: skip
    return db_url


def test_a_held_dose_is_kept_as_held_and_shown_so(course: str) -> None:
    code, done, err = _b12("missed", "P-2", "--reason", "potassium awaited", "--held",
                           "--at", "2026-01-05")  # fmt: skip
    assert code == 0, err
    assert (done["missed"]["kind"], done["missed"]["reason"]) == ("held", "potassium awaited")
    code, status, _ = _b12("status", "P-2", "--at", "2026-01-06")
    says = [e["says"] for e in status["timeline"] if e["kind"] == "missed"]
    assert says == ["dose 1 held: potassium awaited"]


def test_an_older_held_dose_reads_as_held(course: str) -> None:
    code, done, err = _b12("missed", "P-2", "--reason", "held: potassium awaited",
                           "--at", "2026-01-05")  # fmt: skip
    assert code == 0 and done["missed"]["kind"] == "missed", err  # as an older b12 kept it
    _code, status, _ = _b12("status", "P-2", "--at", "2026-01-06")
    says = [e["says"] for e in status["timeline"] if e["kind"] == "missed"]
    assert says == ["dose 1 held: potassium awaited"]


def test_refused_and_held_at_once_is_refused(course: str) -> None:
    code, _done, err = _b12("missed", "P-2", "--reason", "asleep", "--held", "--refused")
    assert code == 2 and "refused or held, not both" in err
