"""The fast paths of the dose check give what the general paths they skip would give.

Each reference below is the plain implementation the fast path replaced (kept here as the oracle):
same values, same text, same exceptions, over generated numbers and typed text.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12.domain import dose_input
from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.findings import Finding, Level, finding
from b12.domain.patient import ADULT_MONTHS, Patient
from b12.domain.quantity import (
    PRECISION,
    Concentration,
    Mass,
    Volume,
    canonical,
    exact_divide,
    exact_multiply,
)
from b12.domain.routes import INJECTED
from b12.domain.volume import Measured, choose_syringe, draw
from b12.errors import QuantityTypeError, QuantityValueError
from b12.knowledge import load_knowledge
from b12.knowledge.base import Knowledge
from b12.services.dose_checks import (
    _no_limit_at_age,
    _younger_band,
    named_site_checks,
    site_checks,
    site_limits,
)

MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """What a call gives, compared by text: repr of the result, or the exception and message."""
    try:
        return "ok", repr(call(*args, **kwargs))
    except Exception as exc:  # the exception itself is what is compared
        return type(exc).__name__, str(exc)


# --- references: the general paths ----------------------------------------------------------

_WIDE = Context(prec=100_000)
_SHIFT = {"mcg": 0, "mg": -3, "g": -6}
_CONTEXT = Context(
    prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


def ref_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise QuantityTypeError(what, value)
    number = Decimal(value)
    if not number.is_finite():
        raise QuantityValueError(what, number, "is not a finite number")
    if not number.is_zero() and abs(number.adjusted()) > 1000:
        raise QuantityValueError(what, number, "needs more than 1000 digits to write out")
    return number


def ref_format_number(value: Any, places: int | None = None) -> str:
    number = ref_decimal(value, "format_number")
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP, _WIDE)
    if number.is_zero():
        number = Decimal(0)
    text = f"{number:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def ref_format_mass(mcg: Any, unit: str = "mcg", places: int | None = None) -> str:
    if unit not in _SHIFT:
        raise QuantityValueError("format_mass unit", unit, "is not one of mcg, mg, g")
    amount = ref_decimal(mcg, "format_mass").scaleb(_SHIFT[unit], _WIDE)
    return f"{ref_format_number(amount, places)} {unit}"


def ref_format_volume(ml: Any, places: int | None = None) -> str:
    return f"{ref_format_number(ref_decimal(ml, 'format_volume'), places)} mL"


def ref_canonical(number: Decimal) -> Decimal:
    if number == number.to_integral_value():
        return Decimal(int(number))
    digits = len(number.as_tuple().digits)
    return number.normalize(Context(prec=max(digits, PRECISION)))


def ref_exact(operation: str, left: Decimal, right: Decimal) -> tuple[Decimal, bool]:
    context = _CONTEXT.copy()
    context.clear_flags()
    result = getattr(context, operation)(left, right)
    return ref_canonical(result), not context.flags[Inexact]


def ref_draw(dose: Mass, conc: Concentration) -> Measured:
    held, exact_product = ref_exact("multiply", dose.mcg, conc.per_ml)
    ml, exact_quotient = ref_exact("divide", held, conc.mcg)
    volume = Volume(ml, exact=exact_product and exact_quotient)
    syringe = choose_syringe(volume)
    steps, _ = ref_exact("divide", volume.ml, syringe.graduation_ml)
    rounded_ml, _ = ref_exact(
        "multiply", steps.to_integral_value(rounding=ROUND_HALF_UP), syringe.graduation_ml
    )
    if rounded_ml == 0:
        raise ValueError("unmeasurable")
    held, exact_product = ref_exact("multiply", rounded_ml, conc.mcg)
    mcg, exact_quotient = ref_exact("divide", held, conc.per_ml)
    return Measured(
        volume_ml=volume.ml,
        syringe_ml=syringe.capacity_ml,
        graduation_ml=syringe.graduation_ml,
        rounded_ml=ref_canonical(rounded_ml),
        rounded=rounded_ml != volume.ml,
        intended_mcg=dose.mcg,
        delivered_mcg=Mass(mcg).mcg,
        exact=volume.exact and exact_product and exact_quotient,
    )


def ref_mass(part: str, assume: bool) -> tuple[Decimal, str, bool]:
    number, unit = dose_input._read(part, "dose", part)
    factor, assumed = dose_input._mass_factor(unit, "dose", part, assume_iu_is_mcg=assume)
    dose_input._check_size(number, dose_input.MAX_MCG / factor, "10 g", "dose", part)
    return exact_multiply(number, factor)[0], unit, assumed


# --- numbers ----------------------------------------------------------------------------------

wide_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-(10**7), max_value=10**7, places=8),
    st.builds(
        lambda digits, exponent, sign: Decimal((sign, tuple(int(d) for d in digits), exponent)),
        st.text("0123456789", min_size=1, max_size=90),
        st.integers(-1100, 1100),
        st.integers(0, 1),
    ),
)
numbers = st.one_of(wide_decimals, st.integers(-(10**12), 10**12), st.booleans(), st.floats())
places = st.one_of(st.none(), st.integers(-4, 14))


@MANY
@given(numbers, places)
def test_format_number_matches_the_reference(value: Any, shown_places: int | None) -> None:
    assert outcome(format_number, value, places=shown_places) == outcome(
        ref_format_number, value, shown_places
    )


@MANY
@given(numbers, st.sampled_from(["mcg", "mg", "g", "kg"]), places)
def test_format_mass_and_volume_match_the_reference(
    value: Any, unit: str, shown_places: int | None
) -> None:
    assert outcome(format_mass, value, unit, places=shown_places) == outcome(  # type: ignore[arg-type]
        ref_format_mass, value, unit, shown_places
    )
    assert outcome(format_volume, value, places=shown_places) == outcome(
        ref_format_volume, value, shown_places
    )


def test_format_mass_of_more_digits_than_the_display_context_keeps() -> None:
    long = Decimal("1." + "0" * 100_001 + "1")
    assert format_mass(long) == ref_format_mass(long) == "1 mcg"


@MANY
@given(wide_decimals)
def test_canonical_matches_the_reference(number: Decimal) -> None:
    assert outcome(canonical, number) == outcome(ref_canonical, number)


@MANY
@given(wide_decimals, wide_decimals)
def test_exact_arithmetic_matches_the_reference(left: Decimal, right: Decimal) -> None:
    assert outcome(exact_multiply, left, right) == outcome(ref_exact, "multiply", left, right)
    assert outcome(exact_divide, left, right) == outcome(ref_exact, "divide", left, right)


# --- reading what people type -----------------------------------------------------------------

simple_numbers = st.one_of(
    st.from_regex(r"[0-9]{1,9}(\.[0-9]{1,8})?", fullmatch=True),
    st.from_regex(r"\.[0-9]{1,8}", fullmatch=True),
    st.sampled_from(["1.000", "1.500", "1.250", "10.000", "0.000", "0", "00.5", "10000000"]),
)
units = st.sampled_from(
    [*dose_input.MASS_UNITS, *dose_input.IU_UNITS, "MCG", "Mg", "ML", "nan", "inf", "x", "ug."]
)
typed_doses = st.builds(
    lambda number, space, unit: f"{number}{space}{unit}",
    simple_numbers,
    st.sampled_from(["", " ", "  ", "\t", "\u00a0"]),
    units,
)


@MANY
@given(typed_doses, st.booleans())
def test_simple_doses_read_as_the_general_path_reads_them(text: str, assume: bool) -> None:
    fast = outcome(dose_input._mass, text, "dose", text, assume_iu_is_mcg=assume)
    general = outcome(ref_mass, text, assume)
    if fast[0] == "ok" and general[0] == "ok":
        mcg, unit, assumed = dose_input._mass(text, "dose", text, assume_iu_is_mcg=assume)
        ref_mcg, ref_unit, ref_assumed = ref_mass(text, assume)
        # Mass and Concentration make the mcg canonical; the value, unit and flag must agree.
        assert (str(canonical(mcg)), unit, assumed) == (str(ref_mcg), ref_unit, ref_assumed)
    else:
        assert fast[0] == general[0]
    parsed = outcome(dose_input.parse_dose, text, assume_iu_is_mcg=assume)
    assert parsed[0] == fast[0]


def test_a_concentration_read_again_is_the_same_and_an_error_is_raised_again() -> None:
    first = dose_input.parse_concentration("1000 mcg/mL")
    assert dose_input.parse_concentration("1000 mcg/mL") == first == Concentration(Decimal(1000))
    for _ in range(2):
        with pytest.raises(dose_input.UnreadableQuantityError):
            dose_input.parse_concentration("1000 mcg/mL/mL")


# --- drawing up and the injection site ----------------------------------------------------------

masses = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**7), places=3).map(Mass)
concentrations = st.builds(
    Concentration,
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10**7), places=1),
    st.sampled_from([Decimal(1), Decimal(2), Decimal(3), Decimal("0.333"), Decimal(7)]),
)


@MANY
@given(masses, concentrations)
def test_draw_matches_the_reference(dose: Mass, conc: Concentration) -> None:
    fast, general = outcome(draw, dose, conc), outcome(ref_draw, dose, conc)
    if general[0] == "ValueError":
        assert fast[0] == "UnmeasurableVolumeError"
    else:
        assert fast == general


KB = load_knowledge()
STEPS = (Decimal("-0.01"), Decimal(0), Decimal("0.01"))


def ref_site_checks(
    kb: Knowledge, site_name: str | None, route: str, volume_ml: Decimal, patient: Patient
) -> list[Finding]:
    if route not in INJECTED:
        return []
    age = patient.age_months if patient.age_months is not None else ADULT_MONTHS
    age_note = patient.describe_age() + ("" if patient.age_known else " (adult limits used)")
    table = site_limits(kb, age)
    sites = [s for s, _ in table]
    limits = {s.id: lim for s, lim in table}
    takers = [
        (s, lim)
        for s in sites
        if (lim := limits[s.id]) is not None
        and not s.avoid
        and route in s.routes
        and volume_ml <= lim[0]
    ]
    largest = max((lim.max_ml for s in sites for lim in s.limits), default=None)
    if largest is not None and volume_ml > largest:
        all_sources = tuple(
            dict.fromkeys(src for s in sites for lim in s.limits for src in lim.sources)
        )
        return [
            finding(
                "VOLUME_IMPLAUSIBLE",
                Level.STOP,
                f"No injection site takes {format_volume(volume_ml)} in one injection at any age (the "
                f"largest is {format_volume(largest)}). Check the dose and the strength.",
                all_sources,
                {"volume": format_volume(volume_ml)},
            )
        ]
    out: list[Finding] = []
    known_here = [
        (s, lim) for s in sites if (lim := limits[s.id]) is not None and route in s.routes
    ]
    if not takers and known_here:
        out.append(
            finding(
                "VOLUME_ABOVE_AGE_LIMITS",
                Level.WARNING,
                f"No {route} site takes {format_volume(volume_ml)} in one injection at age {age_note} "
                f"({', '.join(f'{s.name} up to {format_volume(lim[0])}' for s, lim in known_here)}); "
                "split the dose between sites or check the order.",
                tuple(dict.fromkeys(src for _, lim in known_here for src in lim[1])),
                {"volume": format_volume(volume_ml), "age": age_note},
            )
        )
    if not known_here:  # no limit at this age: the nearest younger band's (not a fast path)
        younger = _younger_band(tuple(sites), age, route)
        if younger is not None:
            out.append(_no_limit_at_age(younger, route, volume_ml, age_note))
    taker_names = (
        ", ".join(f"{s.name} (up to {format_volume(lim[0])})" for s, lim in takers) or "none"
    )
    if site_name is None:
        if not takers:
            return out
        return [
            finding(
                "SITE_SUGGESTION",
                Level.INFO,
                f"Sites that take {format_volume(volume_ml)} {route} at age {age_note}: {taker_names}.",
                tuple(dict.fromkeys(src for _, lim in takers for src in lim[1])),
                {"volume": format_volume(volume_ml), "age": age_note},
            )
        ]
    # The named site's own checks did not change: the production function serves the reference.
    return out + named_site_checks(kb, site_name, route, volume_ml, age, age_note, taker_names)


@MANY
@given(
    st.one_of(  # every limit, and either side of it
        st.sampled_from(
            [lim.max_ml + d for s in KB.all("sites").values() for lim in s.limits for d in STEPS]
        ),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(12), places=2),
    ),
    st.sampled_from(
        [
            None,
            Decimal(0),
            Decimal(6),
            Decimal(12),
            Decimal(24),
            Decimal(200),
            Decimal(216),
            Decimal(900),
        ]
    ),
    st.sampled_from(["IM", "SC", "deep-SC", "IV", "oral"]),
    st.sampled_from([None, *KB.all("sites")]),
)
def test_site_checks_match_the_reference(
    volume: Decimal, age: Decimal | None, route: str, site: str | None
) -> None:
    patient = Patient(age_months=age)
    fast = [f.to_dict() for f in site_checks(KB, site, route, volume, patient)]
    general = [f.to_dict() for f in ref_site_checks(KB, site, route, volume, patient)]
    assert fast == general
