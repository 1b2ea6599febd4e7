"""The private calendar feed: made with an unguessable token kept hashed, the course served as
iCalendar (parsed back with `icalendar`) with alarms and the lifelong maintenance as an RRULE, its
events following a late dose, a revoked or unknown token refused alike, and the audit links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from icalendar import Calendar

from b12.adapters.calendar import course_to_ics
from b12.domain.calendar_feed import token_hash
from b12.errors import InputError
from b12.knowledge import load_knowledge
from b12.services.reminders import UnknownFeedError, make_feed, read_feed, revoke_feed
from tests.fakes import FixedClock
from tests.services import steps

KB = load_knowledge()
NOW = datetime(2026, 1, 4, 12, tzinfo=UTC)


@pytest.fixture
def app() -> Any:
    app = steps.fake_app(KB, NOW)
    steps.add_patient(app)
    steps.prescribe(
        app
    )  # US label: 7 daily, 7 alternate days, 7 every 3 days, then monthly for life
    return app


def events(app: Any, token: str) -> list[Any]:
    feed = read_feed(app.unit_of_work, app.knowledge, token, app.clock.now())
    cal = Calendar.from_ical(course_to_ics(feed))
    return list(cal.walk("VEVENT"))


def starts(found: list[Any]) -> dict[str, date]:
    return {str(e["uid"]): e.decoded("dtstart") for e in found}


def test_the_feed_is_the_course_with_alarms_and_a_lifelong_recurrence(app: Any) -> None:
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    assert len(made.token) >= 43 and made.feed.token_hash == token_hash(made.token)
    assert made.token not in str(made.feed)
    found = events(app, made.token)
    assert len(found) == 22  # 21 dated doses, then one recurring event for the maintenance
    repeating = [e for e in found if "rrule" in e]
    assert len(repeating) == 1
    rule = repeating[0]["rrule"]
    assert rule["FREQ"] == ["MONTHLY"] and "UNTIL" not in rule and "COUNT" not in rule
    assert repeating[0].decoded("dtstart") == date(2026, 3, 15)
    for e in found:
        (alarm,) = e.walk("VALARM")
        assert str(alarm["action"]) == "DISPLAY"


def test_a_late_dose_moves_the_events_after_it(app: Any) -> None:
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    before = starts(events(app, made.token))
    app.clock = FixedClock(datetime(2026, 1, 8, 10, tzinfo=UTC))
    steps.give(app, datetime(2026, 1, 8, 9, tzinfo=UTC))  # dose 1, three days late
    after_events = events(app, made.token)
    after = starts(after_events)
    dose = lambda n: next(k for k in after if k.endswith(f"-dose-{n}@b12"))  # noqa: E731
    assert after[dose(1)] == date(2026, 1, 8)  # given
    assert "given" in str(next(e for e in after_events if e["uid"] == dose(1))["summary"])
    assert before[dose(2)] == date(2026, 1, 6) and after[dose(2)] == date(2026, 1, 9)
    assert after[dose(21)] == date(2026, 2, 18)  # every gap kept after the late dose
    repeating = next(e for e in after_events if "rrule" in e)
    assert repeating.decoded("dtstart") == date(2026, 3, 18)  # the series re-anchored
    assert "Moved from 2026-03-15" in str(repeating["description"])


def test_a_revoked_or_unknown_token_is_refused_alike(app: Any) -> None:
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    other = make_feed(app.unit_of_work, "P-1", "nurse Bo", NOW)
    revoke_feed(app.unit_of_work, "P-1", made.feed.id, "pat", NOW)
    messages = []
    for token in (made.token, "not-a-token", "", made.feed.token_hash or ""):
        with pytest.raises(UnknownFeedError) as refused:
            read_feed(app.unit_of_work, KB, token, NOW)
        messages.append(str(refused.value))
    assert len(set(messages)) == 1
    assert events(app, other.token)  # the other feed stays live
    with pytest.raises(InputError, match="no live calendar feed"):
        revoke_feed(app.unit_of_work, "P-1", made.feed.id, "pat", NOW)  # once only


def test_making_revoking_and_reading_a_feed_are_audited(app: Any) -> None:
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    events(app, made.token)
    revoke_feed(app.unit_of_work, "P-1", made.feed.id, "carer Dee", NOW)
    with app.unit_of_work() as uow:
        links = [(e.who, e.action) for e in uow.audit.entries() if e.action != "bind"]
    assert links[-3:] == [("pat", "calendar-feed-make"),
                          (f"calendar-feed:{made.feed.id}", "read-calendar-feed"),
                          ("carer Dee", "calendar-feed-revoke")]  # fmt: skip
    from b12.services.record import verify_audit

    assert verify_audit(app.unit_of_work).intact


def test_a_feed_serves_only_its_own_patient(app: Any) -> None:
    steps.add_patient(app, "P-2")
    steps.prescribe(app, "P-2", start=date(2026, 2, 2))
    mine = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    theirs = make_feed(app.unit_of_work, "P-2", "pat2", NOW)
    feed = read_feed(app.unit_of_work, KB, theirs.token, NOW)
    assert feed.patient.code == "P-2"
    body = course_to_ics(feed).decode()
    assert "P-1" not in body and "P-2" in body
    assert read_feed(app.unit_of_work, KB, mine.token, NOW).patient.code == "P-1"
