"""`give` on the fake record: the owed dose, its audit link, the clock, stops and their bypass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from b12.bootstrap import App
from b12.domain.reasons import ReasonError
from b12.services.administering import CLOCK_SKEW, GiveTimeError
from tests.services import steps
from tests.services.steps import NOW, PRODUCT

SECOND = timedelta(seconds=1)


def test_the_owed_dose_is_recorded_with_its_volume_and_audit_link(course: App) -> None:
    done = steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC))
    a = done.recorded
    assert a is not None and done.stops == ()
    assert (a.planned_number, a.dose_mcg, a.volume_ml, a.product, a.route) == (
        1, Decimal(100), Decimal("0.1"), PRODUCT, "IM",
    )  # fmt: skip
    assert (a.lot, a.given_by, a.fingerprint) == ("C4471", "nurse Bo", course.knowledge.fingerprint)
    assert steps.given(course) == [a]  # committed: a later unit of work sees it
    with course.unit_of_work() as uow:
        last = list(uow.audit.entries())[-1]
    assert (last.action, last.entity, last.entity_id, last.who) == (
        "give", "Administration", a.id, "nurse Bo",
    )  # fmt: skip


def test_consecutive_doses_rotate_the_site(course: App) -> None:
    sites = [steps.give(course, datetime(2026, 1, 5 + n, 9)).site for n in range(4)]
    assert all(s is not None for s in sites)
    assert all(a != b for a, b in pairwise(sites))


@pytest.mark.parametrize("ahead", [-timedelta(days=10), timedelta(0), CLOCK_SKEW])
def test_a_time_up_to_the_clock_skew_ahead_is_recorded(course: App, ahead: timedelta) -> None:
    at = (NOW + ahead).replace(tzinfo=None)  # the clinic's wall-clock time, as records keep it
    assert steps.give(course, at).recorded is not None


@pytest.mark.parametrize("zone", [None, "UTC", "Pacific/Auckland", "America/Los_Angeles"])
@pytest.mark.parametrize("ahead", [CLOCK_SKEW + SECOND, timedelta(days=1)])
def test_a_time_beyond_the_clock_skew_is_refused_in_any_zone(
    course: App, ahead: timedelta, zone: str | None
) -> None:
    moment = NOW + ahead
    at = moment.replace(tzinfo=None) if zone is None else moment.astimezone(ZoneInfo(zone))
    before = steps.audit_actions(course)
    with pytest.raises(GiveTimeError, match=r"is in the future \(now 2026-01-20T12:00:00"):
        steps.give(course, at)
    assert steps.given(course) == [] and steps.audit_actions(course) == before


def test_the_clock_is_the_apps(kb: object) -> None:
    """The same dose time is refused or recorded by the clock the App was built with."""
    at = datetime(2026, 1, 6, 9, tzinfo=UTC)
    early, late = (
        steps.fake_app(kb, datetime(2026, 1, 5, 12, tzinfo=ZoneInfo("UTC"))),
        steps.fake_app(kb),
    )
    for app in (early, late):
        steps.add_patient(app)
        steps.prescribe(app)
    with pytest.raises(GiveTimeError):
        steps.give(early, at)
    assert steps.give(late, at).recorded is not None


def test_a_reaction_stops_the_next_dose_until_a_reasoned_bypass(course: App) -> None:
    first = steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC)).recorded
    assert first is not None
    steps.event(course, first.given_at.date(), "urticaria and wheeze", "severe")
    refused = steps.give(course, datetime(2026, 1, 6, 9, tzinfo=UTC))
    assert refused.recorded is None and refused.site is None
    assert [f.code for f in refused.stops] == ["RECORD_NOT_RECORDED", "RECORD_REACTION_STOP"]
    assert steps.given(course) == [first]
    assert steps.audit_actions(course)[-1] == "give-refused"  # the refusal is kept
    bypass = "prescriber reviewed: give with adrenaline at hand"
    done = steps.give(course, datetime(2026, 1, 6, 9, tzinfo=UTC), override=bypass)
    assert done.recorded is not None and done.recorded.override_reason == bypass
    assert "RECORD_REACTION_STOP" in [f.code for f in done.findings]


@pytest.mark.parametrize("reason", ["", " ", ".", "x", "ok", "..."])
def test_an_override_that_says_nothing_is_refused(course: App, reason: str) -> None:
    with pytest.raises(ReasonError):
        steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC), override=reason)
    assert steps.given(course) == []


# --- the right drug and the volume, named without a product ---------------------------------------

AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_another_cobalamin_than_a_strength_only_prescription_is_the_wrong_drug(kb: object) -> None:
    """A prescription by strength (no product) still names its cobalamin: a product of another
    one is the same stop as against a prescribed product."""
    from b12.domain.dose_input import parse_concentration

    app = steps.fake_app(kb)
    steps.add_patient(app)
    assert steps.prescribe(app, product=None, concentration=parse_concentration("1000mcg/mL"))
    done = steps.give(app, AT, product="hydroxocobalamin-uk-1mg-ml-ampoule")
    assert done.recorded is None
    assert "RECORD_WRONG_PRODUCT" in {f.code for f in done.stops}


@pytest.mark.parametrize(
    "options",
    [{"substance": "hydroxocobalamin"},
     {"substance": "hydroxocobalamin", "concentration": "1000mcg/mL"}],
)  # fmt: skip
def test_a_cobalamin_named_without_a_product_is_checked_as_a_product_is(
    course: App, options: dict[str, str]
) -> None:
    from b12.domain.dose_input import parse_concentration

    named = {k: parse_concentration(v) if k == "concentration" else v for k, v in options.items()}
    done = steps.give(course, AT, **named)
    assert done.recorded is None and steps.given(course) == []
    assert "RECORD_WRONG_PRODUCT" in {f.code for f in done.stops}


def test_another_strength_of_the_prescribed_cobalamin_is_a_substitute_drawn_at_its_strength(
    course: App,
) -> None:
    from b12.domain.dose_input import parse_concentration

    done = steps.give(
        course, AT, substance="cyanocobalamin", concentration=parse_concentration("500mcg/mL")
    )
    assert done.recorded is not None and done.recorded.volume_ml == Decimal("0.2")
    assert "RECORD_PRODUCT_SUBSTITUTED" in {f.code for f in done.findings}
    assert done.recorded.product is None  # not the prescribed product


@pytest.mark.parametrize(
    "sent, kept", [("1", None), ("0.2", None), ("0.1", "0.1"), ("0.10", "0.10")]
)
def test_a_volume_given_is_kept_when_the_dose_makes_it_else_refused_with_both(
    course: App, sent: str, kept: str | None
) -> None:
    from b12.services.administering import VolumeGivenError

    if kept is None:
        with pytest.raises(
            VolumeGivenError, match=rf"{sent} mL is not the dose: 100 mcg .* is 0.1 mL"
        ):
            steps.give(course, AT, volume_ml=Decimal(sent))
        assert steps.given(course) == []
    else:
        done = steps.give(course, AT, volume_ml=Decimal(sent))
        assert done.recorded is not None and str(done.recorded.volume_ml) == kept
