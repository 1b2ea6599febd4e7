"""Reading doses, volumes and concentrations as people write them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from b12.domain.dose_input import parse_concentration, parse_dose, parse_volume
from b12.domain.quantity import Concentration, Mass, Volume, parse_mass_mcg, parse_volume_ml
from b12.errors import (
    AmbiguousNumberError,
    B12Error,
    DoseUnitError,
    EmptyQuantityError,
    InputError,
    IUNotAUnitError,
    MissingNumberError,
    MissingUnitError,
    NegativeQuantityError,
    NotFiniteError,
    QuantityInputError,
    QuantityRangeError,
    QuantityTypeError,
    QuantityValueError,
    TooLargeError,
    TooManyNumbersError,
    TooPreciseError,
    UnknownUnitError,
    UnreadableQuantityError,
    WrongUnitKindError,
    ZeroQuantityError,
)

DOSES = [
    ("500mcg", "500"),
    ("500 mcg", "500"),
    ("0.5 mg", "500"),
    (".5mg", "500"),
    ("500 µg", "500"),  # micro sign U+00B5
    ("500 μg", "500"),  # Greek mu U+03BC
    ("500 ug", "500"),
    ("500 mcg.", "500"),
    ("500 MCG", "500"),
    ("1 g", "1000000"),
    ("1,000 mcg", "1000"),
    ("1,000,000.5 mcg", "1000000.5"),
    ("1000 micrograms", "1000"),
    ("2 milligrams", "2000"),
    ("2.5 mg", "2500"),
    ("0.000001 g", "1"),
    ("10 g", "10000000"),
    ("  1000\u00a0mcg ", "1000"),  # a pasted non-breaking space
    ("1000\u200b mcg", "1000"),  # a pasted zero-width space
    ("0.500 mg", "500"),  # a leading zero makes the dot a decimal point
    ("1.25 mg", "1250"),
    ("+500 mcg", "500"),
]


@pytest.mark.parametrize(("text", "mcg"), DOSES)
def test_parse_dose_golden(text: str, mcg: str) -> None:
    dose = parse_dose(text)
    assert dose.mass == Mass(Decimal(mcg))
    assert str(dose.mass.mcg) == mcg  # canonical: no "500.0", no "1E+6"
    assert dose.text == text
    assert not dose.assumed_iu_is_mcg
    assert dose.assumption is None


@pytest.mark.parametrize(
    ("text", "normalised", "unit"),
    [
        ("0.5 mg", "500 mcg", "mg"),
        ("500 µg", "500 mcg", "µg"),
        ("1 g", "1,000,000 mcg", "g"),
        ("2500mcg", "2,500 mcg", "mcg"),
    ],
)
def test_parse_dose_shows_back_the_normalised_text(text: str, normalised: str, unit: str) -> None:
    dose = parse_dose(text)
    assert dose.normalised == normalised == str(dose.mass)
    assert dose.unit_written == unit


@pytest.mark.parametrize(
    "text",
    [
        *("5000 iu", "5000 IU", "5000 I.U.", "5000 units", "5000 unit", "5000 U", "5000 ME"),
        *("5000 МЕ", "5000 UI", "5000 I.E."),  # Cyrillic ME; French UI; German I.E.
    ],
)
def test_iu_is_not_a_unit_for_b12(text: str) -> None:
    with pytest.raises(IUNotAUnitError):
        parse_dose(text)
    dose = parse_dose(text, assume_iu_is_mcg=True)
    assert dose.mass == Mass(Decimal(5000))
    assert dose.normalised == "5,000 mcg"
    assert dose.assumed_iu_is_mcg
    assert dose.assumption is not None and "1 IU taken as 1 mcg" in dose.assumption


def test_mass_units_are_never_marked_as_an_iu_assumption() -> None:
    assert not parse_dose("500 mcg", assume_iu_is_mcg=True).assumed_iu_is_mcg


PINNED = [
    (
        "5000 iu",
        IUNotAUnitError,
        "dose '5000 iu': vitamin B12 has no international unit, so 'iu' is not converted; "
        "write the dose in mcg (500 mcg), or accept the assumption 1 IU = 1 mcg",
    ),
    ("500", MissingUnitError, "dose '500': no unit; write the dose with a unit: 500 mcg, 0.5 mg"),
    (
        "",
        EmptyQuantityError,
        "dose '': nothing written; write the dose with a unit: 500 mcg, 0.5 mg",
    ),
    (
        "1.000 mcg",
        AmbiguousNumberError,
        "dose '1.000 mcg': the dot in 1.000 may separate thousands; "
        "write the number without a thousands dot or trailing zeros: 1,000 or 1",
    ),
    (
        "0 mcg",
        ZeroQuantityError,
        "dose '0 mcg': zero; write a dose greater than zero: 500 mcg, 0.5 mg",
    ),
    (
        "20 g",
        TooLargeError,
        "dose '20 g': more than 10 g (10,000,000 mcg); "
        "check the dose and its unit, then write it as: 500 mcg, 0.5 mg",
    ),
]


@pytest.mark.parametrize(("text", "error", "message"), PINNED)
def test_pinned_messages(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_dose(text)
    assert str(caught.value) == message


BAD_DOSES = [
    ("", EmptyQuantityError),
    ("   ", EmptyQuantityError),
    ("mcg", MissingNumberError),
    ("a lot", MissingNumberError),
    ("500", MissingUnitError),
    ("-500 mcg", NegativeQuantityError),
    ("−500 mcg", NegativeQuantityError),  # Unicode minus
    ("0 mcg", ZeroQuantityError),
    ("0.0 mg", ZeroQuantityError),
    ("500 gr", UnknownUnitError),
    ("500 gm", UnknownUnitError),  # ISMP: 'gm' is read as 'mg'
    ("500 ng", UnknownUnitError),
    ("500 mL", WrongUnitKindError),
    ("500 mcg/mL", WrongUnitKindError),
    ("500 1000 mcg", TooManyNumbersError),
    ("500-1000 mcg", TooManyNumbersError),
    ("1 000 mcg", TooManyNumbersError),
    ("1/2 mg", TooManyNumbersError),
    ("NaN mcg", NotFiniteError),
    ("Infinity mg", NotFiniteError),
    ("inf mcg", NotFiniteError),
    ("0.0000001 mg", TooPreciseError),
    ("10.000001 g", TooLargeError),
    ("10000001 mcg", TooLargeError),
    ("1" + "0" * 400 + " mcg", TooLargeError),
    ("1,5 mg", AmbiguousNumberError),
    ("0,5 mg", AmbiguousNumberError),
    ("1.000.000 mcg", AmbiguousNumberError),
    ("2.500 mcg", AmbiguousNumberError),
    ("5.0.0 mg", UnreadableQuantityError),
    ("mcg 500", UnreadableQuantityError),
    ("about 500 mcg", UnreadableQuantityError),
    ("٥٠٠ mcg", UnreadableQuantityError),  # Arabic-Indic digits
]


@pytest.mark.parametrize(("text", "error"), BAD_DOSES)
def test_malformed_doses_raise_a_specific_input_error(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse_dose(text)
    assert isinstance(caught.value, QuantityInputError)
    assert caught.value.text == text
    assert caught.value.kind == "dose"
    assert "write" in str(caught.value)  # every message says what to write instead


@pytest.mark.parametrize(
    ("text", "ml"),
    [
        *[("1 mL", "1"), ("1 ml", "1"), ("1 cc", "1"), ("0.5 mL", "0.5"), (".25 ML", "0.25")],
        *[("2 millilitres", "2"), ("1,000 mL", "1000")],
    ],
)
def test_parse_volume_golden(text: str, ml: str) -> None:
    assert parse_volume(text) == Volume(Decimal(ml))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1", MissingUnitError),
        ("1 mg", WrongUnitKindError),
        ("1 IU", WrongUnitKindError),
        ("1 L", UnknownUnitError),
        ("0 mL", ZeroQuantityError),
        ("-1 mL", NegativeQuantityError),
        ("1001 mL", TooLargeError),
    ],
)
def test_malformed_volumes(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_volume(text)


@pytest.mark.parametrize(
    ("text", "mcg", "per_ml"),
    [
        ("1000mcg/mL", "1000", "1"),
        ("1000 mcg / mL", "1000", "1"),
        ("0.5 mg/mL", "500", "1"),
        ("1 mg/1 mL", "1000", "1"),
        ("100 mg/2 mL", "100000", "2"),
        ("1000 mcg per mL", "1000", "1"),
        ("1,000 µg/ml", "1000", "1"),
        ("1 mg/3 mL", "1000", "3"),
        ("5 mg/1cc", "5000", "1"),
    ],
)
def test_parse_concentration_golden(text: str, mcg: str, per_ml: str) -> None:
    conc = parse_concentration(text)
    assert (conc.mcg, conc.per_ml) == (Decimal(mcg), Decimal(per_ml))


def test_concentrations_compare_by_their_ratio() -> None:
    assert parse_concentration("100 mg/2 mL") == parse_concentration("50 mg/mL")
    assert parse_concentration("100 mg/2 mL").mcg_per_ml == Decimal(50_000)
    assert hash(Concentration(Decimal(2000), Decimal(2))) == hash(Concentration(Decimal(1000)))
    assert parse_concentration("1 mg/3 mL") != parse_concentration("333.333333 mcg/mL")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", EmptyQuantityError),
        ("1000 mcg", MissingUnitError),
        ("/mL", MissingNumberError),
        ("1000 mcg/", MissingUnitError),
        ("1000 IU/mL", IUNotAUnitError),
        ("1000 mcg/0 mL", ZeroQuantityError),
        ("1000 mcg/g", WrongUnitKindError),
        ("1 mg/mL/day", UnreadableQuantityError),
        ("20 g/mL", TooLargeError),
        ("10 g/0.5 mL", TooLargeError),
    ],
)
def test_malformed_concentrations(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        parse_concentration(text)
    assert caught.value.kind == "concentration"  # type: ignore[attr-defined]


def test_iu_concentration_message_does_not_offer_the_dose_flag() -> None:
    with pytest.raises(IUNotAUnitError) as caught:
        parse_concentration("1000 IU/mL")
    assert str(caught.value) == (
        "concentration '1000 IU/mL': vitamin B12 has no international unit, so 'IU' is not "
        "converted; write the concentration in mcg: 1,000 mcg/mL, 1 mg/1 mL"
    )


@pytest.mark.parametrize("value", [0.5, 1.0, True])
def test_floats_and_bools_are_refused(value: object) -> None:
    for build in (Mass, Volume, Concentration):
        with pytest.raises(QuantityTypeError):
            build(value)  # type: ignore[arg-type]
    for parse in (parse_dose, parse_volume, parse_concentration):
        with pytest.raises(QuantityTypeError):
            parse(value)  # type: ignore[arg-type]


def test_a_float_error_says_why() -> None:
    with pytest.raises(QuantityTypeError, match=r"binary float 0\.1, which is not exact"):
        Mass(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal(-1)])
def test_impossible_quantities_are_refused(value: Decimal) -> None:
    with pytest.raises(QuantityValueError):
        Mass(value)
    with pytest.raises(QuantityValueError):
        Concentration(Decimal(0))


def test_quantities_are_canonical_and_frozen() -> None:
    assert str(Mass(Decimal("500.000")).mcg) == "500"
    assert str(Mass(Decimal("1E+3")).mcg) == "1000"
    assert str(Volume(Decimal("0.50")).ml) == "0.5"
    assert Mass(Decimal(500)) == Mass(Decimal("500.0"))
    with pytest.raises(AttributeError):
        Mass(Decimal(1)).mcg = Decimal(2)  # type: ignore[misc]


def test_error_tree() -> None:
    assert issubclass(IUNotAUnitError, DoseUnitError)
    assert issubclass(DoseUnitError, QuantityInputError)
    assert issubclass(TooLargeError, QuantityRangeError)
    assert issubclass(QuantityInputError, InputError)
    assert issubclass(InputError, ValueError)
    assert issubclass(QuantityTypeError, TypeError) and issubclass(QuantityTypeError, B12Error)


def test_strict_knowledge_readers_keep_their_behaviour() -> None:
    assert parse_mass_mcg("100 mg") == Decimal(100_000)
    assert parse_mass_mcg(".5 g") == Decimal(500_000)
    assert parse_volume_ml("2 mL") == Decimal(2)
    assert parse_volume_ml(Decimal("0.5")) == Decimal("0.5")
    for bad in ("500 µg", "500"):
        with pytest.raises(ValueError):
            parse_mass_mcg(bad)
    with pytest.raises(ValueError):
        parse_volume_ml("2 ml")
