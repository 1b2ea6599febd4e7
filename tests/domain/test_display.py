"""Every output writes quantities the ISMP way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.domain.display import format_concentration, format_mass, format_number, format_volume
from b12.errors import QuantityTypeError, QuantityValueError


@pytest.mark.parametrize(
    ("mcg", "shown"),
    [
        (Decimal(500), "500 mcg"),
        (Decimal(1000), "1,000 mcg"),
        (Decimal(2500), "2,500 mcg"),
        (Decimal("1E+6"), "1,000,000 mcg"),
        (Decimal("500.0"), "500 mcg"),
        (Decimal("2.5"), "2.5 mcg"),
        (1000, "1,000 mcg"),
    ],
)
def test_format_mass_is_always_mcg(mcg: Decimal, shown: str) -> None:
    assert format_mass(mcg) == shown


@pytest.mark.parametrize(
    ("mcg", "unit", "shown"),
    [
        (Decimal(100_000), "mg", "100 mg"),
        (Decimal(500), "mg", "0.5 mg"),
        (Decimal(1_500_000), "g", "1.5 g"),
        (Decimal(1_000_000_000), "mg", "1,000,000 mg"),
    ],
)
def test_format_mass_in_other_units(mcg: Decimal, unit: str, shown: str) -> None:
    assert format_mass(mcg, unit) == shown  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ml", "shown"),
    [
        (Decimal("0.5"), "0.5 mL"),
        (Decimal("0.50"), "0.5 mL"),
        (Decimal(1), "1 mL"),
        (Decimal("1.0"), "1 mL"),
        (Decimal(2), "2 mL"),
        (Decimal("0.25"), "0.25 mL"),
        (Decimal(1000), "1,000 mL"),
    ],
)
def test_format_volume(ml: Decimal, shown: str) -> None:
    assert format_volume(ml) == shown


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ((Decimal(1000),), "1,000 mcg/mL"),
        ((Decimal(1000), Decimal(1)), "1,000 mcg/mL"),
        ((Decimal(100_000), Decimal(2)), "100,000 mcg/2 mL"),
        ((Decimal(500), Decimal("0.5")), "500 mcg/0.5 mL"),
    ],
)
def test_format_concentration(args: tuple[Decimal, ...], shown: str) -> None:
    assert format_concentration(*args) == shown


def test_format_concentration_of_a_non_b12_ingredient() -> None:
    assert format_concentration(Decimal(100_000), unit="mg") == "100 mg/mL"


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (Decimal("1234567.25"), None, "1,234,567.25"),
        (Decimal("0.000001"), None, "0.000001"),
        (Decimal("-0"), None, "0"),
        (Decimal("0E-7"), None, "0"),
        (Decimal("-1.50"), None, "-1.5"),
        (Decimal("333.333"), 1, "333.3"),
        (Decimal("0.125"), 2, "0.13"),  # half-up, not half-even
        (Decimal("0.135"), 2, "0.14"),
        (Decimal("1.96"), 1, "2"),
        (Decimal("-0.04"), 1, "0"),
    ],
)
def test_format_number(value: Decimal, places: int | None, shown: str) -> None:
    assert format_number(value, places=places) == shown


@pytest.mark.parametrize("value", [0.5, True])
def test_display_refuses_floats_and_bools(value: object) -> None:
    with pytest.raises(QuantityTypeError):
        format_number(value)  # type: ignore[arg-type]
    with pytest.raises(QuantityTypeError):
        format_mass(value)  # type: ignore[arg-type]


def test_display_refuses_nan_and_unknown_units() -> None:
    with pytest.raises(QuantityValueError):
        format_volume(Decimal("NaN"))
    with pytest.raises(QuantityValueError):
        format_mass(Decimal(1), "ug")  # type: ignore[arg-type]
