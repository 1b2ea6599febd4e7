"""Fuzzing the laboratory value reader: any text reads, or raises InputError; never anything else."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12 import InputError, interpret_labs, load_knowledge
from b12.adapters.cli import read
from b12.domain.lab_values import parse_reading
from b12.domain.patient import Patient

MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = [
    *"0123456789.,=-+<> %/*^xe",
    *("b12", "hb", "rbc", "retic", "k", "mcv", "active b12", "pg/mL", "ng/L", "pmol/L", "g/dL"),
    *("10*6/uL", "x10^6/µL", "×10⁶/µL", "fL", "mmol/L", "mEq/L", "ug/L", "mcg/L", "nan", "inf"),
    *("\u00a0", "\u200b", "\t", "٥", "½", "µ", "=="),
]
texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(PIECES), max_size=10).map("".join),
)


@MANY
@given(texts)
def test_parse_reading_reads_or_raises_input_error(text: str) -> None:
    try:
        reading = parse_reading(text)
    except InputError:
        return
    assert reading.name
    assert reading.value.is_finite() and reading.value >= 0


@MANY
@given(texts)
def test_interpret_labs_reads_or_raises_input_error(text: str) -> None:
    kb = load_knowledge()
    try:
        report = interpret_labs(kb, [read.reading(kb, text)], Patient(sex="female"))
    except InputError:
        return
    (result,) = report.results
    assert result.band in {
        "deficient",
        "indeterminate",
        "sufficient",
        "low",
        "normal",
        "high",
        "unknown",
    }
    report.to_dict()


@MANY
@given(st.decimals(min_value=0, max_value=10_000, places=3), st.sampled_from(["pg/mL", "ng/L"]))
def test_mass_units_convert_exactly(value: Decimal, unit: str) -> None:
    kb = load_knowledge()
    report = interpret_labs(kb, [read.reading(kb, f"b12={value}{unit}")], Patient())
    assert report.results[0].value.canonical_value == value * Decimal("0.738")
