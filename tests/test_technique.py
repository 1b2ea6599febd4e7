"""`dose` and `give` show the needle (gauge, length) and angle for the route, the patient's age and
size, from technique.yaml's needles (services/technique.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b12.domain.patient import Patient
from b12.domain.routes import INJECTED, ROUTES
from b12.knowledge import load_knowledge
from b12.knowledge.base import DEFAULT_PATH
from b12.services.technique import (
    LARGE_ADULT_KG,
    NEWBORN_MONTHS,
    POPULATION_BANDS,
    needle_for,
)
from tests.record.helpers import cli, run_main

AGES = {"0 years": Decimal(0), "6 years": Decimal(72), "11 years": Decimal(132),
        "adult": Decimal(480)}  # fmt: skip
WEIGHTS = {"weight not given": None, "large adult weight": Decimal(120)}
HANDBOOK = ["australian-immunisation-handbook"]
IM, SC = ("22-25", 90), ("25-27", 45)
#: The needle each injected route takes (None: the knowledge has no needle facts for it).
NEEDLES: dict[str, tuple[str, int] | None] = {
    "IM": IM, "SC": SC, "deep-SC": SC, "IV": None, "intrathecal": None,
}  # fmt: skip


def _length(route: str, age: str, weight: str) -> int:
    if route != "IM":
        return 16
    if age == "0 years":
        return 16
    return 38 if age == "adult" and weight == "large adult weight" else 25


@pytest.fixture(scope="module", params=["artifact", "yaml"])
def kb(request: pytest.FixtureRequest) -> Any:
    """The shipped artifact, and the same folder's YAML validated (the --kb path)."""
    return load_knowledge() if request.param == "artifact" else load_knowledge(DEFAULT_PATH)


def test_every_injected_route_is_listed_here() -> None:
    assert set(NEEDLES) == set(INJECTED)


@pytest.mark.parametrize("weight", WEIGHTS)
@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize("route", sorted(INJECTED))
def test_the_needle_follows_route_age_and_size(kb: Any, route: str, age: str, weight: str) -> None:
    needle = needle_for(kb, route, Patient(age_months=AGES[age], weight_kg=WEIGHTS[weight]))
    expected = NEEDLES[route]
    if expected is None:
        assert needle is None
        return
    assert needle is not None
    gauge, angle = expected
    assert (needle.gauge, needle.length_mm, needle.angle_degrees) == (
        gauge, _length(route, age, weight), angle)  # fmt: skip
    assert list(needle.sources) == HANDBOOK
    assert needle.to_dict()["says"] == needle.line


@pytest.mark.parametrize("route", sorted(set(ROUTES) - INJECTED))
def test_no_needle_for_a_route_without_one(kb: Any, route: str) -> None:
    assert needle_for(kb, route, Patient(age_months=Decimal(480))) is None


@pytest.mark.parametrize(
    ("age_months", "weight_kg", "length"),
    [
        (NEWBORN_MONTHS - Decimal("0.1"), None, 16),
        (NEWBORN_MONTHS, None, 25),
        (Decimal(215), Decimal(120), 25),  # not yet an adult
        (Decimal(216), Decimal(120), 38),
        (Decimal(480), LARGE_ADULT_KG - Decimal("0.1"), 25),
        (Decimal(480), LARGE_ADULT_KG, 38),
        (None, LARGE_ADULT_KG, 38),  # age not given: read as an adult
        (None, None, 25),
    ],
)
def test_both_sides_of_each_band_boundary(
    kb: Any, age_months: Decimal | None, weight_kg: Decimal | None, length: int
) -> None:
    needle = needle_for(kb, "IM", Patient(age_months=age_months, weight_kg=weight_kg))
    assert needle is not None and needle.length_mm == length


def test_every_needle_population_in_the_knowledge_has_a_band() -> None:
    populations = {n.population for n in load_knowledge().all("needles").values()}
    assert populations <= set(POPULATION_BANDS)


def _dose(argv: list[str], capsys: Any) -> str:
    code, out, err = run_main(argv)
    assert code == 0, err
    return out


DOSE = ["dose", "1000mcg", "--concentration", "1000mcg/mL"]


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--age-years", "40", "--weight-kg", "120"],
         "NEEDLE  22-25 G, 38 mm, at 90 degrees (IM; large adult)"),
        (["--age-years", "40"], "NEEDLE  22-25 G, 25 mm, at 90 degrees (IM; infant from 2 months, child or adult)"),
        (["--route", "SC", "--age-years", "6"], "NEEDLE  25-27 G, 16 mm, at 45 degrees (SC; any age and size)"),
    ],
)  # fmt: skip
def test_dose_prints_the_needle_on_dose(options: list[str], line: str, capsys: Any) -> None:
    out = _dose(DOSE + options, capsys)
    assert line in out.splitlines()
    assert "basis: australian-immunisation-handbook" in out
    technique = json.loads(_dose([*DOSE, *options, "--json"], capsys))["technique"]
    assert technique["says"] == line.removeprefix("NEEDLE  ")
    assert technique["basis"]["sources"] == HANDBOOK


@pytest.mark.parametrize("route", ["oral", "nasal", "sublingual"])
def test_dose_prints_no_needle_for_a_route_without_one(route: str, capsys: Any) -> None:
    out = _dose([*DOSE, "--route", route], capsys)
    assert "NEEDLE" not in out
    assert json.loads(_dose([*DOSE, "--route", route, "--json"], capsys))["technique"] is None


def test_give_prints_the_needle_for_the_patient(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'record.db'}"
    assert cli("db", "upgrade", "--db", sqlite_url)[0] == 0
    cli("patient", "add", "P-1", "--age-years", "50", "--weight-kg", "130", "--db", sqlite_url)
    cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", "cyanocobalamin-us-1000mcg-ml-10ml-vial", "--db", sqlite_url)  # fmt: skip
    code, out, err = cli("give", "P-1", "--lot", "L", "--expiry", "2027-01-01", "--at",
                         "2026-01-05T09:00", "--db", sqlite_url)  # fmt: skip
    assert code == 0, err
    assert "Needle 22-25 G, 38 mm, at 90 degrees (IM; large adult)" in " ".join(out.split())
    _, out, _ = cli("give", "P-1", "--lot", "L", "--expiry", "2027-01-01", "--at",
                    "2026-01-06T09:00", "--db", sqlite_url, "--json")  # fmt: skip
    technique = json.loads(out)["technique"]
    assert (technique["gauge"], technique["length_mm"], technique["angle_degrees"]) == (
        "22-25",
        38,
        90,
    )
