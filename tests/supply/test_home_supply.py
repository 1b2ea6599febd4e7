"""Supply at home as the use cases keep and read it: dispensed packs, doses drawn by lot, waste, the
run-out day along the re-flowed course (a late and a missed dose move it), the day to ask for a new
prescription by (policy lead time), refusals that say what to write instead, and the audit links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from b12.errors import InputError
from b12.knowledge import load_knowledge
from b12.services.home_supply import dispense, home_supply, record_waste
from tests.fakes import FixedClock
from tests.services import steps

KB = load_knowledge()
AMPOULE = "cyanocobalamin-500mcg-ml-ampoule"
NOW = datetime(2026, 1, 4, 12, tzinfo=UTC)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC).replace(hour=hour)


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    app = steps.fake_app(KB, NOW)
    steps.add_patient(app)
    steps.prescribe(app)  # 31 doses of 0.1 mL from 2026-01-05, the US 10 mL vial
    return app


def give(app, day: date, lot: str = "A1") -> None:  # type: ignore[no-untyped-def]
    app.clock = FixedClock(at(day, 10))
    steps.give(app, at(day), lot=lot, expiry=date(2027, 9, 30))


def supply(app, on: date, lead: int = 14):  # type: ignore[no-untyped-def]
    return home_supply(app.unit_of_work, app.knowledge, "P-1", on, lead)


def test_a_pack_dispensed_covers_the_course_and_says_the_in_use_life_is_not_known(app) -> None:  # type: ignore[no-untyped-def]
    dispense(
        app.unit_of_work, KB, "P-1", steps.PRODUCT, 1, "C4471", date(2027, 9, 30), "ph Chen", NOW
    )
    shown = supply(app, date(2026, 1, 4))
    d = shown.to_dict()
    assert (d["containers_left"], d["volume_left_ml"]) == (1, Decimal(10))
    assert (d["doses_owed"], d["doses_covered"], d["runs_out_on"]) == (31, 31, None)
    assert d["in_use_days"] == {steps.PRODUCT: None}
    assert [f["code"] for f in d["findings"]] == ["SUPPLY_IN_USE_LIFE_UNKNOWN"]
    assert d["lead_days_is"] == "policy (a setting), not a clinical fact"


def test_doses_given_draw_from_the_pack_of_their_lot_and_bring_the_run_out_day(app) -> None:  # type: ignore[no-untyped-def]
    dispense(app.unit_of_work, KB, "P-1", AMPOULE, 10, "A1", date(2027, 9, 30), "ph Chen", NOW)
    steps.prescribe(app, product=AMPOULE)  # 100 mcg = 0.2 mL of 500 mcg/mL: one ampoule a dose
    before = supply(app, date(2026, 1, 5)).to_dict()
    assert before["runs_out_on"] == "2026-01-19"  # dose 11 (doses 1-10: one ampoule each)
    for day in range(5, 8):
        give(app, date(2026, 1, day))
    give(app, date(2026, 1, 8), lot="CLINIC-9")
    after = supply(app, date(2026, 1, 8)).to_dict()
    assert after["containers_left"] == 7
    assert len(after["drawn"]) == 3 and len(after["given_from_other_stock"]) == 1
    assert (
        after["runs_out_on"] == "2026-01-21"
    )  # dose 4 from clinic stock: 7 left cover 5-11, 12 not
    assert after["ask_for_prescription_by"] == "2026-01-07"  # 14 days before: already past
    assert after["ask_now"] is True
    short = supply(app, date(2026, 1, 8), lead=3).to_dict()
    assert short["ask_for_prescription_by"] == "2026-01-18" and short["ask_now"] is False


def test_a_late_dose_and_a_missed_dose_move_the_run_out_day(app) -> None:  # type: ignore[no-untyped-def]
    dispense(app.unit_of_work, KB, "P-1", AMPOULE, 3, "A1", date(2027, 9, 30), "ph Chen", NOW)
    steps.prescribe(app, product=AMPOULE)
    assert supply(app, date(2026, 1, 5)).to_dict()["runs_out_on"] == "2026-01-08"  # dose 4
    give(app, date(2026, 1, 7))  # dose 1, 2 days late
    late = supply(app, date(2026, 1, 7)).to_dict()
    assert late["runs_out_on"] == "2026-01-10"  # doses 2, 3 on the 8th, 9th; dose 4 on the 10th
    steps.missed(app, date(2026, 1, 8))  # dose 2 missed: owed from the 9th
    missed = supply(app, date(2026, 1, 8)).to_dict()
    assert missed["runs_out_on"] == "2026-01-11"


def test_waste_is_kept_with_its_reason_and_removes_what_it_says(app) -> None:  # type: ignore[no-untyped-def]
    dispense(
        app.unit_of_work, KB, "P-1", steps.PRODUCT, 2, "C4471", date(2027, 9, 30), "ph Chen", NOW
    )
    give(app, date(2026, 1, 5), lot="C4471")  # from the first vial
    record_waste(app.unit_of_work, KB, "P-1", "C4471", 0, "0.4", "drawn and not injected",
                 date(2026, 1, 5), "pat", at(date(2026, 1, 5), 18))  # fmt: skip
    d = supply(app, date(2026, 1, 5)).to_dict()
    assert d["volume_left_ml"] == Decimal("19.5")  # 20 - 0.1 given - 0.4 discarded, exactly
    record_waste(app.unit_of_work, KB, "P-1", "C4471", 1, None, "vial dropped and broken",
                 date(2026, 1, 5), "pat", at(date(2026, 1, 5), 19))  # fmt: skip
    d = supply(app, date(2026, 1, 5)).to_dict()
    assert d["volume_left_ml"] == Decimal(10)
    assert [w["reason"] for w in d["wastes"]] == [
        "drawn and not injected",
        "vial dropped and broken",
    ]
    assert steps.audit_actions(app)[-2:] == ["waste", "waste"]


def test_an_expiry_before_use_is_flagged(app) -> None:  # type: ignore[no-untyped-def]
    dispense(app.unit_of_work, KB, "P-1", AMPOULE, 30, "A1", date(2026, 1, 20), "ph Chen", NOW)
    steps.prescribe(app, product=AMPOULE)
    d = supply(app, date(2026, 1, 5)).to_dict()
    codes = [f["code"] for f in d["findings"]]
    assert "SUPPLY_EXPIRES_BEFORE_USE" in codes and "SUPPLY_RUNS_OUT" in codes
    assert d["runs_out_on"] == "2026-01-21"  # dose 12: after the 20th the lot is not used


@pytest.mark.parametrize(
    ("args", "field", "says"),
    [
        ((steps.PRODUCT, 0, "L", date(2027, 1, 1)), "count", "1-1000"),
        ((steps.PRODUCT, 1, " ", date(2027, 1, 1)), "lot", "lot number"),
        ((steps.PRODUCT, 1, "L", date(2026, 1, 3)), "expiry", "before today"),
        (("milgamma-2ml-ampoulez", 1, "L", date(2027, 1, 1)), None, "product"),
    ],
)
def test_a_dispensing_that_cannot_be_kept_is_refused_and_nothing_is_written(
    app,
    args: tuple,
    field: str | None,
    says: str,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    with pytest.raises(InputError, match=says) as refused:
        dispense(app.unit_of_work, KB, "P-1", *args, "ph Chen", NOW)
    if field:
        assert refused.value.field == field
    assert supply(app, date(2026, 1, 5)).to_dict()["dispensings"] == []


def test_a_waste_beyond_the_stock_or_of_an_unknown_lot_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    dispense(
        app.unit_of_work, KB, "P-1", steps.PRODUCT, 1, "C4471", date(2027, 9, 30), "ph Chen", NOW
    )
    day = date(2026, 1, 4)
    with pytest.raises(InputError, match="at most that many"):
        record_waste(app.unit_of_work, KB, "P-1", "C4471", 2, None, "dropped both", day, "pat", NOW)
    with pytest.raises(InputError, match="write one of C4471"):
        record_waste(app.unit_of_work, KB, "P-1", "X1", 1, None, "dropped it", day, "pat", NOW)
    with pytest.raises(InputError, match="must say why"):
        record_waste(app.unit_of_work, KB, "P-1", "C4471", 1, None, "-", day, "pat", NOW)
    with pytest.raises(InputError, match="holds 0 mL"):
        record_waste(app.unit_of_work, KB, "P-1", "C4471", 0, "1", "spilled it", day, "pat", NOW)
    assert supply(app, day).to_dict()["wastes"] == []


@pytest.mark.parametrize(
    ("product", "said"),
    [
        ("zzz", "write one of: "),  # nothing close: the products supply can count, every one
        ("cyanocobalamin-1000", "did you mean cyanocobalamin-500mcg-ml-ampoule"),
    ],
)
def test_an_unknown_product_is_answered_with_the_products_supply_counts(  # type: ignore[no-untyped-def]
    app, product: str, said: str
) -> None:
    from b12.services.home_supply import dispensable

    with pytest.raises(InputError) as refused:
        dispense(app.unit_of_work, KB, "P-1", product, 1, "L1", date(2027, 1, 1), "ph", NOW)
    message, counted = str(refused.value), {i for i, _ in dispensable(KB)}
    assert said in message and refused.value.field == "product"
    named = set(message.split(": ", 2)[-1].removeprefix("did you mean ").rstrip("?").split(", "))
    assert named <= counted  # never a tablet or drops, which supply cannot count
    if said == "write one of: ":
        assert named == counted
