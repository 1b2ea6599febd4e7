"""The volume to draw and how a syringe measures it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.domain.dose_input import parse_concentration, parse_dose
from b12.domain.quantity import Concentration, Mass, Volume
from b12.domain.volume import SYRINGES, choose_syringe, dose_in, draw, measure, volume_for
from b12.errors import InputError, UnmeasurableVolumeError

AT_1000 = Concentration(Decimal(1000))


@pytest.mark.parametrize(
    ("dose", "concentration", "ml"),
    [
        ("1000 mcg", "1000 mcg/mL", "1"),
        ("500 mcg", "1000 mcg/mL", "0.5"),
        ("2000 mcg", "1000 mcg/mL", "2"),
        ("1 mg", "1 mg/1 mL", "1"),
        ("0.5 mg", "1000 mcg/mL", "0.5"),
        ("250 mcg", "1000 mcg/mL", "0.25"),
        ("1000 mcg", "5000 mcg/2 mL", "0.4"),
        ("50 mg", "100 mg/2 mL", "1"),
        ("1000 mcg", "1 mg/3 mL", "3"),
        ("1 mcg", "1024 mcg/mL", "0.0009765625"),  # exact, though beyond 6 places
    ],
)
def test_volume_for_golden(dose: str, concentration: str, ml: str) -> None:
    volume = volume_for(parse_dose(dose).mass, parse_concentration(concentration))
    assert volume == Volume(Decimal(ml))
    assert volume.exact
    assert str(volume.ml) == ml


def test_a_quotient_that_does_not_terminate_is_kept_and_marked() -> None:
    volume = volume_for(Mass(Decimal(1000)), Concentration(Decimal(3000)))
    assert not volume.exact
    assert volume.ml == Decimal("0." + "3" * 60)
    assert str(volume) == "about 0.333333 mL"


@pytest.mark.parametrize(
    ("ml", "syringe_ml", "graduation_ml"),
    [
        ("0.001", "1", "0.01"),
        ("1", "1", "0.01"),
        ("1.01", "3", "0.1"),
        ("3", "3", "0.1"),
        ("3.5", "5", "0.2"),
        ("5", "5", "0.2"),
        ("5.01", "10", "0.5"),
        ("10", "10", "0.5"),
    ],
)
def test_the_smallest_syringe_that_holds_the_volume(
    ml: str, syringe_ml: str, graduation_ml: str
) -> None:
    syringe = choose_syringe(Volume(Decimal(ml)))
    assert (syringe.capacity_ml, syringe.graduation_ml) == (
        Decimal(syringe_ml),
        Decimal(graduation_ml),
    )


@pytest.mark.parametrize(
    ("ml", "rounded_ml"),
    [
        ("0.5", "0.5"),
        ("0.333", "0.33"),
        ("0.125", "0.13"),  # half-up: ROUND_HALF_EVEN would give 0.12
        ("0.135", "0.14"),
        ("0.995", "1"),
        ("1.25", "1.3"),  # half-even would give 1.2
        ("1.35", "1.4"),
        ("3.1", "3.2"),  # on a 5 mL syringe: 15.5 steps of 0.2 mL -> 16
        ("3.3", "3.4"),
        ("7.25", "7.5"),  # on a 10 mL syringe, steps of 0.5 mL
        ("7.24", "7"),
    ],
)
def test_rounding_is_half_up_to_the_graduation(ml: str, rounded_ml: str) -> None:
    measured = measure(Volume(Decimal(ml)), AT_1000)
    assert measured.rounded_ml == Decimal(rounded_ml)
    assert str(measured.rounded_ml) == rounded_ml
    assert measured.rounded == (ml != rounded_ml)
    assert measured.rounding == "half-up"
    assert measured.delivered_mcg == Decimal(rounded_ml) * 1000
    assert measured.intended_mcg == Decimal(ml) * 1000


def test_a_rounded_draw_states_the_rounding_and_the_dose_delivered() -> None:
    measured = draw(Mass(Decimal("333.3")), AT_1000)
    assert (measured.syringe_ml, measured.graduation_ml) == (Decimal(1), Decimal("0.01"))
    assert measured.volume_ml == Decimal("0.3333")
    assert measured.rounded_ml == Decimal("0.33")
    assert measured.delivered_mcg == Decimal(330)
    assert measured.intended_mcg == Decimal("333.3")
    assert measured.exact
    assert measured.describe() == (
        "about 0.333 mL rounded half-up to 0.33 mL on a 1 mL syringe graduated 0.01 mL "
        "(330 mcg instead of 333.3 mcg)"
    )


def test_an_unrounded_draw_says_what_to_draw() -> None:
    measured = draw(Mass(Decimal(500)), AT_1000)
    assert not measured.rounded
    assert measured.describe() == "0.5 mL on a 1 mL syringe graduated 0.01 mL (500 mcg)"


def test_draw_keeps_the_prescribed_dose_when_the_volume_does_not_terminate() -> None:
    measured = draw(Mass(Decimal(1000)), Concentration(Decimal(3000)))
    assert measured.intended_mcg == Decimal(1000)
    assert measured.rounded_ml == Decimal("0.33")
    assert measured.delivered_mcg == Decimal(990)
    assert not measured.exact
    assert "990 mcg instead of 1,000 mcg" in measured.describe()


def test_more_than_10_ml_fails_clearly() -> None:
    with pytest.raises(UnmeasurableVolumeError) as caught:
        draw(Mass(Decimal(12_000)), AT_1000)
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "12 mL: more than the largest standard syringe holds (10 mL); "
        "check the dose and the concentration, or split the dose over two injections"
    )


def test_a_volume_below_half_a_step_fails_clearly() -> None:
    with pytest.raises(UnmeasurableVolumeError, match="less than half the smallest step"):
        draw(Mass(Decimal(4)), AT_1000)
    assert draw(Mass(Decimal(5)), AT_1000).rounded_ml == Decimal("0.01")


def test_dose_in_is_the_inverse_of_volume_for() -> None:
    assert dose_in(Volume(Decimal("0.5")), AT_1000) == (Mass(Decimal(500)), True)
    assert SYRINGES[0].capacity_ml == 1
