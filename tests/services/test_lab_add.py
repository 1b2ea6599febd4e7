"""`lab add` on the fake record: each reading normalised, kept with its audit link, judged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from b12.bootstrap import App
from b12.errors import InputError
from tests.services import steps

READINGS = [
    ("b12=150pg/mL", "b12", Decimal("110.7"), "pmol/L"),
    ("hb=9.1g/dL", "haemoglobin", Decimal("9.1"), "g/dL"),
    ("k=3.0mmol/L", "potassium", Decimal(3), "mmol/L"),
    ("reticulocytes=4.6%", "reticulocytes", Decimal("4.6"), "%"),
]


@pytest.mark.parametrize(("text", "analyte", "value", "unit"), READINGS)
def test_a_reading_is_kept_as_written_and_normalised(
    course: App, text: str, analyte: str, value: Decimal, unit: str
) -> None:
    (kept,) = steps.labs(course, [text], date(2026, 1, 4)).results
    assert (kept.analyte, kept.normalised_value, kept.normalised_unit, kept.text) == (
        analyte, value, unit, text,
    )  # fmt: skip
    with course.unit_of_work() as uow:
        assert uow.labs.for_patient(kept.patient_id) == [kept]
        assert list(uow.audit.entries())[-1].entity_id == kept.id


def test_one_unreadable_reading_keeps_none_of_them(course: App) -> None:
    with pytest.raises(InputError):
        steps.labs(course, ["hb=9.1g/dL", "zinc=12umol/L"], date(2026, 1, 4))
    assert "lab-add" not in steps.audit_actions(course)


def test_low_potassium_after_the_first_injection_is_a_warning(course: App) -> None:
    steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC))
    done = steps.labs(course, ["k=3.0mmol/L"], date(2026, 1, 6))
    levels = {f.code: f.level.value for f in done.findings}
    assert levels["LAB_HYPOKALAEMIA"] == "warning"
