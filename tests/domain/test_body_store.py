"""The body-store estimate against the sourced figures: the US label's 50-98% of a 100 or 1000 mcg
cyanocobalamin injection in the urine within 48 h (2-50% kept), and Blood 1961's 72-h losses
(cyanocobalamin 60% of 500 mcg and 69% of 1000 mcg; hydroxocobalamin 16% and 27%). Both sides of
each boundary; exact Decimals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from b12.domain.body_store import Injection, estimate
from b12.knowledge.loader import load_knowledge
from b12.services.body_store import retention_figures

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)
FIGURES = retention_figures(load_knowledge())


def shot(
    mcg: int, substance: str | None = "cyanocobalamin", route: str = "IM", at: datetime = T0
) -> Injection:
    return Injection(at, Decimal(mcg), substance, route)


def test_the_figures_are_the_sourced_ones() -> None:
    by_id = {f.id: f for f in FIGURES}
    label = by_id["label-cyanocobalamin-48h"]
    assert (label.hours, label.excreted_low_percent, label.excreted_high_percent) == (48, 50, 98)
    assert (label.dose_low_mcg, label.dose_high_mcg) == (100, 1000)
    assert "us-label-cyanocobalamin" in label.sources
    losses = {
        (f.substance, f.dose_low_mcg): f.excreted_low_percent for f in FIGURES if f.hours == 72
    }
    assert losses == {
        ("cyanocobalamin", 500): 60, ("cyanocobalamin", 1000): 69,
        ("hydroxocobalamin", 500): 16, ("hydroxocobalamin", 1000): 27,
    }  # fmt: skip
    assert all("blood-1961" in f.sources for f in FIGURES if f.hours == 72)


def test_one_1000_mcg_cyanocobalamin_dose_keeps_2_to_50_percent_from_48_hours() -> None:
    found = estimate([shot(1000)], FIGURES)
    assert found.at(T0 - TICK) == (0, 0)  # nothing before the dose
    assert found.at(T0) == (Decimal(20), Decimal(1000))  # the urine has not yet taken its share
    assert found.at(T0 + timedelta(hours=48) - TICK) == (Decimal(20), Decimal(1000))
    assert found.at(T0 + timedelta(hours=48)) == (Decimal(20), Decimal(500))  # 2% .. 50%
    # The 72-h figures (31% and 40% kept) lie inside the label's band: it stays 2-50%.
    assert found.at(T0 + timedelta(hours=72)) == (Decimal(20), Decimal(500))
    assert found.at(T0 + timedelta(days=400)) == (Decimal(20), Decimal(500))


def test_a_100_mcg_dose_keeps_2_to_50_mcg() -> None:
    assert estimate([shot(100)], FIGURES).at(T0 + timedelta(days=3)) == (Decimal(2), Decimal(50))


def test_hydroxocobalamin_is_kept_better_as_blood_1961_says() -> None:
    later = T0 + timedelta(hours=72)
    cyano = estimate([shot(1000)], FIGURES).at(later)
    hydroxo = estimate([shot(1000, "hydroxocobalamin")], FIGURES).at(later)
    assert hydroxo == (Decimal(730), Decimal(840))  # 27% and 16% lost
    assert hydroxo[0] > cyano[1]  # its lowest is above cyanocobalamin's highest
    # Its only figures are at 72 h: until then the high is the whole dose.
    before = estimate([shot(1000, "hydroxocobalamin")], FIGURES).at(later - TICK)
    assert before == (Decimal(730), Decimal(1000))


def test_doses_add_up_and_the_series_steps_where_the_band_changes() -> None:
    week = T0 + timedelta(days=7)
    found = estimate([shot(1000), shot(1000, at=week)], FIGURES)
    assert found.at(week) == (Decimal(40), Decimal(1500))
    assert found.at(week + timedelta(hours=48)) == (Decimal(40), Decimal(1000))
    steps = found.series(week + timedelta(days=3))
    assert [m for m, _, _ in steps] == [
        T0, T0 + timedelta(hours=48), T0 + timedelta(hours=72),
        week, week + timedelta(hours=48), week + timedelta(hours=72),  # = the day asked
    ]  # fmt: skip
    assert all(lo <= hi for _, lo, hi in steps)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (shot(1000, "methylcobalamin"), "no sourced urinary-loss figure for methylcobalamin"),
        (shot(1000, route="IV"), "given IV: the cyanocobalamin figures are for IM, SC, deep-SC only"),
        (shot(1000, "hydroxocobalamin", route="SC"), "given SC: the hydroxocobalamin figures are for IM only"),
        (shot(1000, None), "the record does not say which cobalamin was given"),
    ],
)  # fmt: skip
def test_a_dose_without_a_figure_is_listed_not_counted(given: Injection, why: str) -> None:
    found = estimate([given, shot(100, at=T0 + TICK)], FIGURES)
    assert [n.why for n in found.not_estimated] == [why]
    assert found.at(T0 + timedelta(days=3)) == (Decimal(2), Decimal(50))


def test_a_dose_outside_the_measured_doses_is_marked() -> None:
    (inside,) = estimate([shot(1000)], FIGURES).kept
    (outside,) = estimate([shot(5000)], FIGURES).kept
    (below,) = estimate([shot(99)], FIGURES).kept
    assert inside.measured_dose and not outside.measured_dose and not below.measured_dose
