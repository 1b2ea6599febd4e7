"""The supply page and the calendar feed on the web: what each role may do on a patient it may see,
the feed served without a session by its token only (its events following a late dose), a revoked
or unknown token answered alike with 404, and no other patient in a feed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from b12.adapters.web import demo
from b12.adapters.web.app import create_app
from tests.web.conftest import NOW, OWN, USER_OF, MovableClock, Web, make_app
from tests.web.test_bola import DISPENSE

WASTE = {"lot": "H1", "count": "1", "reason": "dropped and broken"}
#: role -> (dispense, waste) statuses on a patient the role may see
MAY = {"prescriber": (403, 403), "nurse": (200, 200), "pharmacist": (200, 200),
       "patient": (403, 200), "caregiver": (403, 200)}  # fmt: skip


def post(client: TestClient, csrf: str, url: str, fields: dict[str, str]) -> Any:
    return client.post(url, data={**fields, "csrf": csrf})


def feed_url(page: str) -> str:
    found = re.search(r'<code id="feed-url">([^<]+)</code>', page)
    assert found, page
    return found.group(1)


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_does_on_its_patients_supply_what_its_role_allows(web: Web, role: str) -> None:
    code = OWN[role]
    nurse, nurse_csrf = web.as_role("nurse")
    assert post(nurse, nurse_csrf, f"/patients/{code}/supply/dispense", DISPENSE).status_code == 200
    client, csrf = web.as_role(role)
    page = client.get(f"/patients/{code}/supply")
    assert page.status_code == 200 and "Supply at home" in page.text
    dispensing, wasting = MAY[role]
    assert (
        post(client, csrf, f"/patients/{code}/supply/dispense", DISPENSE).status_code == dispensing
    )
    assert post(client, csrf, f"/patients/{code}/supply/waste", WASTE).status_code == wasting
    assert ('action="/patients/' + code + '/supply/dispense"' in page.text) == (dispensing == 200)
    made = post(client, csrf, f"/patients/{code}/calendar", {})
    assert made.status_code == 200
    feed = re.search(r'name="feed" value="([^"]+)"', made.text)
    assert feed is not None
    revoked = post(client, csrf, f"/patients/{code}/calendar/revoke", {"feed": feed.group(1)})
    assert revoked.status_code == 200 and "no longer works" in revoked.text
    with web.app.unit_of_work() as uow:
        mine = [(e.who, e.action) for e in uow.audit.entries() if e.action.startswith("calendar")]
    assert mine[-2:] == [
        (USER_OF[role], "calendar-feed-make"),
        (USER_OF[role], "calendar-feed-revoke"),
    ]


def test_a_patient_sees_no_finding_codes_and_staff_do(web: Web) -> None:
    nurse, csrf = web.as_role("nurse")
    few = {**DISPENSE, "count": "1"}
    post(nurse, csrf, "/patients/P-0003/supply/dispense", few)
    staff = nurse.get("/patients/P-0003/supply").text
    patient, _ = web.as_role("patient")
    lay = patient.get("/patients/P-0003/supply").text
    assert "SUPPLY_IN_USE_LIFE_UNKNOWN" in staff and "SUPPLY_" not in lay
    assert "not known to b12" in lay


@pytest.fixture
def moving(clinic_db: Path) -> Any:
    clock = MovableClock(NOW)
    app = make_app(clinic_db, clock)
    asgi = create_app(app)
    yield app, clock, lambda: TestClient(asgi, raise_server_exceptions=False)
    app.close()


def login(make: Any, username: str) -> tuple[TestClient, str]:
    client = make()
    r = client.post("/api/v1/session", json={"username": username, "password": demo.PASSWORD})
    assert r.status_code == 200
    return client, r.json()["csrf"]


def starts(body: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(body)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_the_feed_needs_no_session_follows_a_late_dose_and_a_revoked_token_is_404(
    moving: Any,
) -> None:
    _app, clock, make = moving
    carer, csrf = login(make, "carer.dee")
    url = feed_url(post(carer, csrf, "/patients/P-0005/calendar", {}).text)
    path = url.split("testserver", 1)[1]
    anonymous = make()
    served = anonymous.get(path)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/calendar")
    before = starts(served.content)
    second = next(k for k in before if k.endswith("-dose-2@b12"))
    assert before[second].decoded("dtstart") == (NOW + timedelta(days=1)).date()
    for e in before.values():
        assert e.walk("VALARM")
    assert any("rrule" in e for e in before.values())  # lifelong maintenance
    assert "P-0005" in served.text and "P-0004" not in served.text
    clock.at = NOW + timedelta(days=2)  # dose 1 (due today) given two days late
    nurse, nurse_csrf = login(make, "nurse.bo")
    given = nurse.post("/api/v1/patients/P-0005/give", json={"lot": "L1", "expiry": "2028-12-31"},
                       headers={"X-CSRF-Token": nurse_csrf})  # fmt: skip
    assert given.status_code == 200, given.text
    after = starts(anonymous.get(path).content)
    assert after[second].decoded("dtstart") == (NOW + timedelta(days=3)).date()
    carer, csrf = login(make, "carer.dee")
    page = carer.get("/patients/P-0005/supply").text
    feed = re.search(r'name="feed" value="([^"]+)"', page)
    assert feed is not None
    post(carer, csrf, "/patients/P-0005/calendar/revoke", {"feed": feed.group(1)})
    revoked = anonymous.get(path)
    unknown = anonymous.get("/calendar/" + "x" * 43 + ".ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.text == unknown.text


def test_the_supply_page_and_feed_answer_the_same_on_postgresql(any_web: Web) -> None:
    nurse, csrf = any_web.as_role("nurse")
    later = {**DISPENSE, "expiry": "2029-12-31"}  # past the course's last dose
    assert post(nurse, csrf, "/patients/P-0001/supply/dispense", later).status_code == 200
    page = nurse.get("/patients/P-0001/supply")
    assert page.status_code == 200 and "It covers the" in page.text
    url = feed_url(post(nurse, csrf, "/patients/P-0001/calendar", {}).text)
    assert any_web.client().get(url.split("testserver", 1)[1]).status_code == 200
