"""The supply arithmetic (b12.domain.home_supply): draws, an opened vial's in-use life on both sides
of its last day, waste, expiry before use on both sides, and the run-out day, in exact Decimals.

The in-use life here is a parameter of the arithmetic (the knowledge base has none for any product):
the 28 days below test the rule, they are not a fact about a product."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from b12.domain.home_supply import Dispensing, Dose, Pack, Waste, forecast, replay

D = Decimal
VIAL = Pack("multi-dose-vial", D("10"), in_use_days=28)
VIAL_UNKNOWN = Pack("multi-dose-vial", D("10"), in_use_days=None)
AMPOULE = Pack("ampoule", D("1"))
DAY0 = date(2027, 1, 4)


def dispensing(n: int, lot: str = "L1", expiry: date = date(2028, 1, 31), did: str = "d1",
               day: date = DAY0, product: str = "p") -> Dispensing:  # fmt: skip
    at = datetime.combine(day, datetime.min.time(), UTC)
    return Dispensing(did, "pt", product, n, lot, expiry, at, "ph")


def waste(containers: int, volume: Decimal | None, on: date, did: str = "d1") -> Waste:
    at = datetime.combine(on, datetime.min.time(), UTC)
    return Waste(f"w{on}", "pt", did, containers, volume, "dropped", on, at, "pt")


def dose(day: date, ml: str = "1", lot: str | None = None, ref: str = "") -> Dose:
    return Dose(day, D(ml), lot, None, ref or f"a{day}")


def test_doses_drawn_from_a_multi_dose_vial_leave_an_exact_volume() -> None:
    given = [dose(DAY0 + timedelta(days=i), "0.1") for i in range(3)]
    stock = replay([(dispensing(1), VIAL)], given, [], DAY0 + timedelta(days=3))
    (vial,) = stock.containers
    assert vial.remaining_ml == D("9.7")  # 10 - 3 x 0.1, exactly (not 9.700000000000001)
    assert vial.state == "open" and vial.opened_on == DAY0
    assert stock.volume_left() == D("9.7")
    assert [d.containers for d in stock.drawn] == [1, 0, 0]


def test_the_in_use_life_holds_on_its_last_day_and_ends_the_day_after() -> None:
    last = DAY0 + timedelta(days=28)
    on_last = replay([(dispensing(2), VIAL)], [dose(DAY0), dose(last)], [], last)
    assert [c.remaining_ml for c in on_last.containers] == [D(8), D(10)]  # same vial
    after = replay(
        [(dispensing(2), VIAL)],
        [dose(DAY0), dose(last + timedelta(days=1))],
        [],
        last + timedelta(days=1),
    )
    first, second = after.containers
    assert first.state == "in-use life ended" and first.remaining_ml == D(9)
    assert second.state == "open" and second.remaining_ml == D(9)
    assert [f.code for f in after.flags] == ["SUPPLY_IN_USE_LIFE_ENDED"]


def test_an_unknown_in_use_life_keeps_an_opened_vial_until_it_is_empty() -> None:
    late = DAY0 + timedelta(days=200)
    stock = replay([(dispensing(1), VIAL_UNKNOWN)], [dose(DAY0), dose(late)], [], late)
    assert stock.containers[0].remaining_ml == D(8)
    assert stock.containers[0].in_use_until is None
    assert stock.flags == []


def test_a_dose_never_comes_from_two_vials() -> None:
    given = [dose(DAY0 + timedelta(days=i), "3") for i in range(4)]  # 3 + 3 + 3 from the first
    stock = replay([(dispensing(2), VIAL_UNKNOWN)], given, [], DAY0 + timedelta(days=4))
    assert [c.remaining_ml for c in stock.containers] == [D(1), D(7)]


def test_ampoules_are_single_use_and_a_dose_takes_as_many_as_its_volume_needs() -> None:
    given = [dose(DAY0, "0.5"), dose(DAY0 + timedelta(days=1), "1.5")]
    stock = replay([(dispensing(5), AMPOULE)], given, [], DAY0 + timedelta(days=1))
    assert [c.state for c in stock.containers] == [
        "empty",
        "empty",
        "empty",
        "unopened",
        "unopened",
    ]
    assert [d.containers for d in stock.drawn] == [1, 2]


def test_a_dose_of_another_lot_is_from_other_stock_and_a_lot_picks_its_pack() -> None:
    packs = [(dispensing(2, "L1", did="d1"), AMPOULE),
             (dispensing(2, "L2", did="d2", expiry=date(2027, 6, 30)), AMPOULE)]  # fmt: skip
    given = [dose(DAY0, lot="L1"), dose(DAY0, lot="CLINIC", ref="clinic"), dose(DAY0)]
    stock = replay(packs, given, [], DAY0)
    assert [d.lot for d in stock.drawn] == ["L1", "L2"]  # no lot: the first-expiring pack
    assert stock.elsewhere == ["clinic"]


def test_waste_removes_the_open_vial_first_then_whole_containers() -> None:
    given = [dose(DAY0, "1")]
    spilled = replay([(dispensing(3), VIAL_UNKNOWN)], given, [waste(0, D("0.5"), DAY0)], DAY0)
    assert [c.remaining_ml for c in spilled.containers] == [D("8.5"), D(10), D(10)]
    dropped = replay([(dispensing(3), VIAL_UNKNOWN)], given, [waste(2, None, DAY0)], DAY0)
    assert [c.state for c in dropped.containers] == ["discarded", "unopened", "discarded"]
    assert dropped.volume_left() == D(10)


def test_runs_out_on_the_first_dose_nothing_covers() -> None:
    stock = replay([(dispensing(3), AMPOULE)], [], [], DAY0)
    owed = [dose(DAY0 + timedelta(days=7 * i), ref=f"dose {i}") for i in range(5)]
    ahead = forecast(stock, owed, DAY0)
    assert (ahead.covered, ahead.owed) == (3, 5)
    assert ahead.covered_until == DAY0 + timedelta(days=14)
    assert ahead.runs_out_on == DAY0 + timedelta(days=21)
    assert [c.state for c in stock.containers] == ["unopened"] * 3  # the forecast changes nothing


def test_an_overdue_dose_is_drawn_today_not_on_its_past_day() -> None:
    stock = replay([(dispensing(1), AMPOULE)], [], [], DAY0 + timedelta(days=10))
    ahead = forecast(
        stock, [dose(DAY0), dose(DAY0 + timedelta(days=30))], DAY0 + timedelta(days=10)
    )
    assert ahead.draws[0].on == DAY0 + timedelta(days=10)
    assert ahead.runs_out_on == DAY0 + timedelta(days=30)


def test_all_covered_has_no_run_out_day() -> None:
    stock = replay([(dispensing(1), VIAL_UNKNOWN)], [], [], DAY0)
    ahead = forecast(stock, [dose(DAY0 + timedelta(days=i), "0.1") for i in range(100)], DAY0)
    assert ahead.runs_out_on is None and ahead.covered == 100


def test_an_expiry_before_use_is_flagged_the_day_after_it_not_on_it() -> None:
    expiry = DAY0 + timedelta(days=7)
    stock = replay([(dispensing(3, expiry=expiry), AMPOULE)], [], [], DAY0)
    on_expiry = forecast(stock, [dose(DAY0), dose(expiry)], DAY0)
    assert on_expiry.runs_out_on is None and on_expiry.flags == ()
    after = forecast(stock, [dose(DAY0), dose(expiry + timedelta(days=1))], DAY0)
    assert after.runs_out_on == expiry + timedelta(days=1)
    assert [f.code for f in after.flags] == ["SUPPLY_EXPIRES_BEFORE_USE"]
    assert after.flags[0].lot == "L1"


def test_an_expired_pack_is_passed_over_for_one_still_in_date() -> None:
    soon = (dispensing(1, "OLD", expiry=DAY0 + timedelta(days=3), did="d1"), AMPOULE)
    later = (dispensing(1, "NEW", did="d2"), AMPOULE)
    stock = replay([soon, later], [], [], DAY0)
    ahead = forecast(stock, [dose(DAY0 + timedelta(days=10))], DAY0)
    assert [d.lot for d in ahead.draws] == ["NEW"]
    assert [f.lot for f in ahead.flags] == ["OLD"]


def test_the_in_use_life_ends_in_the_forecast_too() -> None:
    stock = replay([(dispensing(1), VIAL)], [dose(DAY0, "0.1")], [], DAY0)
    owed = [dose(DAY0 + timedelta(days=28), "0.1"), dose(DAY0 + timedelta(days=29), "0.1")]
    ahead = forecast(stock, owed, DAY0)
    assert ahead.covered == 1 and ahead.runs_out_on == DAY0 + timedelta(days=29)
    assert "SUPPLY_IN_USE_LIFE_ENDED" in [f.code for f in ahead.flags]
