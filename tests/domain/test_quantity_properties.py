"""Properties of the quantity layer, over thousands of generated examples."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12.domain.display import format_concentration, format_mass, format_number, format_volume
from b12.domain.dose_input import parse_concentration, parse_dose, parse_volume
from b12.domain.quantity import Concentration, Mass, Volume
from b12.domain.volume import SYRINGES, dose_in, measure, volume_for
from b12.errors import InputError, UnmeasurableVolumeError

MANY = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decimals(low: str, high: str, places: int = 6) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places)


masses = _decimals("0.000001", "10000000").map(Mass)
volumes = _decimals("0.000001", "1000").map(Volume)
concentrations = st.builds(
    Concentration, _decimals("0.000001", "100000"), _decimals("0.01", "100")
)  # at most 10 g/mL, the largest concentration b12 reads
# Pieces of what people type, so that generated text reaches deep into the reader.
PIECES = [
    *"0123456789.,/ -+−",
    *("mcg", "mg", "g", "µg", "μg", "ug", "mL", "ml", "cc", "IU", "I.U.", "units", "U", "МЕ"),
    *("per", "nan", "inf", "e", "E", "micrograms", "\u00a0", "\u200b", "½", "٥", "'"),
]
typed = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
any_text = st.one_of(st.text(), typed)

# ISMP: no µg/ug/cc/IU, no trailing zero after a decimal point, no naked decimal, no exponent.
FORBIDDEN = re.compile(
    r"µg|μg|\bug\b|\bcc\b|\bIU\b|\.\d*0(?!\d)|(?<!\d)\.\d|\d\.(?!\d)|[eE][+-]?\d"
)


@MANY
@given(masses)
def test_a_formatted_mass_parses_back_to_itself(mass: Mass) -> None:
    assert parse_dose(format_mass(mass.mcg)).mass == mass
    assert parse_dose(str(mass)).normalised == format_mass(mass.mcg)


@MANY
@given(_decimals("0.001", "10000000", places=3))  # 3 places in mcg are 6 in mg
def test_a_mass_formatted_in_mg_parses_back(mcg: Decimal) -> None:
    assert parse_dose(format_mass(mcg, "mg")).mass == Mass(mcg)


@MANY
@given(volumes)
def test_a_formatted_volume_parses_back_to_itself(volume: Volume) -> None:
    assert parse_volume(format_volume(volume.ml)) == volume


@MANY
@given(concentrations)
def test_a_formatted_concentration_parses_back_to_itself(conc: Concentration) -> None:
    assert parse_concentration(str(conc)) == conc


@MANY
@given(masses, _decimals("0.000001", "1000"))
def test_volume_times_concentration_is_the_dose_exactly(dose: Mass, per_ml: Decimal) -> None:
    # A concentration that puts the dose in `per_ml` must give back exactly that volume.
    conc = Concentration(dose.mcg, per_ml)
    volume = volume_for(dose, conc)
    assert volume == Volume(per_ml) and volume.exact
    assert dose_in(volume, conc) == (dose, True)


@MANY
@given(masses, concentrations)
def test_volume_for_is_exact_or_says_it_is_not(dose: Mass, conc: Concentration) -> None:
    volume = volume_for(dose, conc)
    back, exact = dose_in(volume, conc)
    if volume.exact:
        assert exact and back == dose
    else:
        assert not exact and abs(back.mcg - dose.mcg) <= dose.mcg * Decimal("1E-55")


@MANY
@given(_decimals("0.005", "10"), concentrations)
def test_measure_rounds_half_up_on_the_smallest_syringe(ml: Decimal, conc: Concentration) -> None:
    measured = measure(Volume(ml), conc)
    syringe = next(s for s in SYRINGES if ml <= s.capacity_ml)
    assert (measured.syringe_ml, measured.graduation_ml) == (
        syringe.capacity_ml,
        syringe.graduation_ml,
    )
    step = measured.graduation_ml
    assert measured.rounded_ml % step == 0
    assert ml - step / 2 < measured.rounded_ml <= ml + step / 2  # half-up: ties go up
    assert 0 < measured.rounded_ml <= measured.syringe_ml
    assert measured.rounded == (measured.rounded_ml != ml)
    assert measured.delivered_mcg * conc.per_ml == measured.rounded_ml * conc.mcg or (
        not measured.exact
    )


@MANY
@given(_decimals("0.000001", "0.004999"))
def test_a_volume_below_half_a_step_is_refused(ml: Decimal) -> None:
    try:
        measure(Volume(ml), Concentration(Decimal(1000)))
    except UnmeasurableVolumeError:
        return
    raise AssertionError(f"{ml} mL was measured")


@MANY
@given(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.one_of(st.none(), st.integers(0, 8)),
)
def test_no_output_uses_an_error_prone_notation(value: Decimal, places: int | None) -> None:
    shown = [format_number(value, places=places)]
    if value >= 0:
        shown += [format_mass(value), format_volume(value), format_mass(value, "mg")]
    if value > 0:
        shown += [format_concentration(value), format_concentration(value, value)]
    for text in shown:
        assert not FORBIDDEN.search(text), text
        assert not text.startswith(".")


@MANY
@given(any_text, st.booleans())
def test_any_text_is_a_dose_or_an_input_error(text: str, assume: bool) -> None:
    try:
        dose = parse_dose(text, assume_iu_is_mcg=assume)
    except InputError as error:
        assert str(error)
    else:
        assert 0 < dose.mass.mcg <= 10_000_000
        assert parse_dose(dose.normalised).mass == dose.mass


@MANY
@given(any_text)
def test_any_text_is_a_volume_or_an_input_error(text: str) -> None:
    try:
        volume = parse_volume(text)
    except InputError as error:
        assert str(error)
    else:
        assert 0 < volume.ml <= 1000


@MANY
@given(any_text)
def test_any_text_is_a_concentration_or_an_input_error(text: str) -> None:
    try:
        conc = parse_concentration(text)
    except InputError as error:
        assert str(error)
    else:
        assert conc.mcg > 0 and conc.per_ml > 0
