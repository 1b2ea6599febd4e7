"""A correction is checked as the record it replaces was when first written: an administration
through the dose check, its volume against its dose, its site and time as `give` reads them; a
result only as a whole reading; an event's severity and words. Nothing is written when refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from b12.bootstrap import App
from b12.errors import InputError
from b12.services import corrections
from b12.services.corrections import CorrectionStoppedError
from tests.services import steps


@pytest.fixture
def dose(course: App) -> tuple[App, Any]:
    done = steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert done.recorded is not None
    return course, done.recorded  # 100 mcg = 0.1 mL of 1,000 mcg/mL, IM


def _fix(app: App, record: Any, override: str | None = None, **changes: Any) -> Any:
    return corrections.correct(
        app.unit_of_work, "P-1", "administration", record.id, changes, "written in the wrong row",
        "dr Ames", datetime(2026, 1, 20, 9, tzinfo=UTC), kb=app.knowledge, override=override,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dose_mcg": Decimal(0)}, "dose_mcg"),
        ({"volume_ml": Decimal(0)}, "volume_ml"),
        ({"route": "banana"}, "route"),
        ({"site": "left eyeball"}, "site"),
        ({"volume_ml": Decimal(5)}, "volume_ml"),  # 5 mL holds 5,000 mcg, not 100
        ({"dose_mcg": Decimal(200), "volume_ml": Decimal("0.1")}, "volume_ml"),
        ({"given_at": datetime(2026, 2, 1, 9, tzinfo=UTC)}, "given_at"),  # after the clock
    ],
)
def test_what_give_would_refuse_is_refused(
    dose: tuple[App, Any], changes: dict[str, Any], field: str
) -> None:
    app, record = dose
    with pytest.raises(InputError) as refused:
        _fix(app, record, **changes)
    assert refused.value.field == field, refused.value
    assert steps.given(app) == [record]  # nothing written


def test_a_probable_unit_slip_stops_unless_overridden(dose: tuple[App, Any]) -> None:
    app, record = dose
    with pytest.raises(CorrectionStoppedError, match="DOSE_UNIT_SLIP"):
        _fix(app, record, dose_mcg=Decimal(100_000))
    assert steps.given(app) == [record]
    with pytest.raises(InputError, match="volume_ml"):  # no volume is drawn past a stop
        _fix(app, record, "the pharmacy confirmed 100 mg was given", dose_mcg=Decimal(100_000))
    done = _fix(app, record, "the pharmacy confirmed 100 mg was given",
                dose_mcg=Decimal(100_000), volume_ml=Decimal(100))  # fmt: skip
    assert done.new.override_reason == "the pharmacy confirmed 100 mg was given"
    assert steps.given(app) == [done.new]


def test_a_corrected_dose_draws_its_volume_again(dose: tuple[App, Any]) -> None:
    app, record = dose
    done = _fix(app, record, dose_mcg=Decimal(500))
    assert (done.new.dose_mcg, done.new.volume_ml) == (Decimal(500), Decimal("0.5"))
    both = _fix(app, done.new, dose_mcg=Decimal(250), volume_ml=Decimal("0.25"))
    assert both.new.volume_ml == Decimal("0.25")


def test_a_site_and_a_route_are_named_as_give_names_them(dose: tuple[App, Any]) -> None:
    app, record = dose
    assert _fix(app, record, site="Left Vastus Lateralis").new.site == "left vastus-lateralis"
    assert _fix(app, steps.given(app)[0], route="deep sc").new.route == "deep-SC"


def _lab(app: App, **changes: Any) -> Any:
    (result,) = steps.labs(app, ["b12=150pg/mL"], steps.START).results
    return corrections.correct(
        app.unit_of_work, "P-1", "lab", result.id, changes, "the lab sent a corrected report",
        "dr Ames", datetime(2026, 1, 20, 9, tzinfo=UTC), kb=app.knowledge,
    )  # fmt: skip


@pytest.mark.parametrize("field", sorted(corrections.READING_FIELDS))
def test_a_result_is_not_corrected_one_field_at_a_time(course: App, field: str) -> None:
    with pytest.raises(InputError, match="whole reading"):
        _lab(course, **{field: Decimal(5) if "value" in field else "x"})


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"severity": "catastrophic"}, "severity"), ({"description": "  "}, "description")],
)
def test_an_event_is_checked_as_when_added(
    course: App, changes: dict[str, Any], field: str
) -> None:
    from datetime import date

    event = steps.event(course, date(2026, 1, 6), "sore arm")
    with pytest.raises(InputError) as refused:
        corrections.correct(
            course.unit_of_work, "P-1", "event", event.id, changes, "the wrong word was typed",
            "dr Ames", datetime(2026, 1, 20, 9, tzinfo=UTC), kb=course.knowledge,
        )  # fmt: skip
    assert refused.value.field == field
