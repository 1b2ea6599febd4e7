"""A prescription that replaces the active one counts the doses already given, phase by phase
(domain/course.py: carry_over), keeps them visible, and shows the prescription it replaced."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from b12.domain.course import PlannedDose, carry_over
from b12.domain.records import Administration
from tests.record.helpers import cli

US = ("--indication", "pernicious-anaemia", "--product", "cyanocobalamin-us-1000mcg-ml-10ml-vial")
UK = ("--regimen", "uk-smpc-hydroxocobalamin-anaemia", "--product",
      "hydroxocobalamin-uk-1mg-ml-ampoule")  # fmt: skip


def _course(db: str, given: int) -> str:
    """P-1 on the US label course from 2026-01-05 with ``given`` daily doses given; its id."""
    cli("patient", "add", "P-1", "--age-years", "60", "--at", "2026-01-02", "--db", db)
    _, out, _ = cli("prescribe", "P-1", *US, "--start", "2026-01-05", "--at", "2026-01-02T10:00",
                    "--db", db, "--json")  # fmt: skip
    for n in range(given):
        at = (datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=n)).isoformat()
        code, _, err = cli("give", "P-1", "--lot", "L", "--expiry", "2027-01-01", "--at", at,
                           "--db", db)  # fmt: skip
        assert code == 0, err
    return str(json.loads(out)["prescription"]["id"])


def _status(db: str, on: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("status", "P-1", "--at", on, "--db", db, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("given", [0, 1, 3, 6, 7])
def test_the_same_course_prescribed_again_goes_on_from_the_doses_given(
    sqlite_url: str, given: int
) -> None:
    first = _course(sqlite_url, given)
    code, out, _ = cli("prescribe", "P-1", *US, "--start", "2026-01-20", "--at", "2026-01-19T10:00",
                       "--db", sqlite_url, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["replaces"] == first
    status = _status(sqlite_url, "2026-01-20")
    assert [r["id"] for r in status["replaced"]] == [first]
    assert (status["given"], status["carried_over"]) == (given, given)
    assert status["next_due"] == "2026-01-20"
    shown = [e for e in status["timeline"] if e["kind"] == "given"]
    assert len(shown) == given
    assert all(e["says"].endswith("(given under the replaced prescription)") for e in shown)
    _, out, _ = cli("give", "P-1", "--lot", "L", "--expiry", "2027-01-01", "--at",
                    "2026-01-20T09:00", "--db", sqlite_url, "--json")  # fmt: skip
    done = json.loads(out)
    assert done["planned"]["number"] == given + 1
    assert done["planned"]["phase"] == ("daily loading" if given < 7 else "alternate days")
    assert _status(sqlite_url, "2026-01-21")["given"] == given + 1


def test_a_switch_to_a_larger_dose_gives_its_loading_whole(sqlite_url: str) -> None:
    # three 100 mcg doses of the US label, then the UK SmPC's 250 mcg alternate-day loading: the
    # smaller doses count for none of the larger ones (450 mcg of loading would go missing)
    first = _course(sqlite_url, 3)
    code, _, err = cli("prescribe", "P-1", *UK, "--start", "2026-01-09", "--at", "2026-01-07T18:00",
                       "--db", sqlite_url)  # fmt: skip
    assert code == 0, err
    status = _status(sqlite_url, "2026-01-09")
    assert (status["given"], status["carried_over"]) == (0, 0)
    assert [r["id"] for r in status["replaced"]] == [first]
    assert status["next_due"] == "2026-01-09"
    shown = [e for e in status["timeline"] if e["kind"] == "given"]
    assert len(shown) == 3 and all("not counted in this one" in e["says"] for e in shown)
    _, out, _ = cli("give", "P-1", "--lot", "L", "--expiry", "2027-01-01", "--at",
                    "2026-01-09T09:00", "--db", sqlite_url, "--json")  # fmt: skip
    done = json.loads(out)
    assert (done["planned"]["number"], done["planned"]["phase"]) == (1, "alternate days")
    assert done["administration"]["dose_mcg"] == "250"


def test_a_course_started_after_a_stop_starts_afresh(sqlite_url: str) -> None:
    _course(sqlite_url, 3)
    cli("prescribe", "P-1", "--stop", "--reason", "remission, switched to oral", "--at",
        "2026-01-08T10:00", "--db", sqlite_url)  # fmt: skip
    cli("prescribe", "P-1", *US, "--start", "2026-06-01", "--at", "2026-05-30T10:00", "--db",
        sqlite_url)  # fmt: skip
    status = _status(sqlite_url, "2026-06-01")
    assert (status["given"], status["carried_over"], status["replaced"]) == (0, 0, [])
    assert status["next_due"] == "2026-06-01"


def test_the_replaced_prescription_is_shown_in_words(sqlite_url: str) -> None:
    first = _course(sqlite_url, 2)
    cli("prescribe", "P-1", *US, "--start", "2026-01-07", "--at", "2026-01-06T18:00", "--db",
        sqlite_url)  # fmt: skip
    _, out, _ = cli("status", "P-1", "--at", "2026-01-07", "--db", sqlite_url)
    assert "2 of 31 doses given" in out
    assert "Replaces prescription(s) " + first in " ".join(out.split())
    assert "2 dose(s) given under them count toward this one." in " ".join(out.split())


def _dose(number: int, day: int, kind: str) -> PlannedDose:
    return PlannedDose(number, date(2026, 2, 1) + timedelta(days=day), Decimal(100), None, "IM",
                       kind, kind)  # fmt: skip


def _given(day: int) -> Administration:
    return Administration(str(day), "p", "old", datetime(2026, 1, day, 9), Decimal(100), None,
                          None, None, None, "IM", None, "n", 1)  # fmt: skip


def test_carry_over_counts_each_phase_kind_in_order_and_re_dates_the_rest() -> None:
    planned = [_dose(1, 0, "loading"), _dose(2, 1, "loading"), _dose(3, 3, "consolidation"),
               _dose(4, 5, "consolidation"), _dose(5, 30, "maintenance")]  # fmt: skip
    earlier = [("loading", _given(2)), ("loading", _given(1)), ("loading", _given(3)),
               ("consolidation", _given(4))]  # fmt: skip
    dated, counted = carry_over(planned, date(2026, 3, 1), earlier)
    # the two loading doses count the first two given (in time order); the third is not counted
    assert {n: a.id for n, a in counted.items()} == {1: "1", 2: "2", 3: "4"}
    # dose 4 (the first not counted) now falls on the start; every gap stays as prescribed
    assert [d.date for d in dated] == [date(2026, 2, 24), date(2026, 2, 25), date(2026, 2, 27),
                                       date(2026, 3, 1), date(2026, 3, 26)]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "counts"), [(Decimal("99.999"), False), (Decimal(100), True), (Decimal(1000), True)]
)
def test_a_dose_counts_only_toward_a_planned_dose_no_larger(given: Decimal, counts: bool) -> None:
    planned = [_dose(1, 0, "loading"), _dose(2, 1, "loading")]  # 100 mcg each
    earlier = [("loading", replace(_given(1), dose_mcg=given))]
    _dated, counted = carry_over(planned, date(2026, 3, 1), earlier)
    assert (1 in counted) is counts and 2 not in counted


def test_carry_over_with_nothing_given_changes_nothing() -> None:
    planned = [_dose(1, 0, "loading"), _dose(2, 1, "loading")]
    assert carry_over(planned, date(2026, 3, 1), []) == (tuple(planned), {})
