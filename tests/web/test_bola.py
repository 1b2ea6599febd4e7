"""Broken object-level authorisation: every route addressed by a patient's id, for every role,
answers an absent id and an id the account may not see identically (404 for patients and
caregivers, whose foreign ids are the ones to hide). The routes come from the app's own route
table: a new id-addressed route without a request below fails the first test. On the patient it
may see, every role is allowed or refused each route of the supply at home, the calendar feeds
and the carers exactly as its permissions (services.accounts.PERMISSIONS) say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b12.adapters.web.app import create_app, route_table
from b12.services import accounts as acc
from tests.web.conftest import ABSENT, FOREIGN, OWN, USER_OF, Web

GIVE = {"lot": "L1", "expiry": "2027-12-31"}
PRESCRIBE = {"indication": "pernicious-anaemia", "start": "2027-03-10"}
STOP = {"reason": "remission confirmed by the haematologist"}
DISPENSE = {"product": "cyanocobalamin-us-1000mcg-ml-10ml-vial", "count": "2", "lot": "H1",
            "expiry": "2028-01-31"}  # fmt: skip
WASTE = {"lot": "H1", "count": "1", "reason": "dropped and broken"}
EVENT = {"on": "2027-03-09", "description": "sore arm at the site", "severity": "mild"}
CORRECT = {"dose_mcg": "500", "reason": "dose written in the wrong row"}
VOID = {"reason": "recorded for the wrong patient"}
#: (method, path) -> how to call it: ("json", body) or ("form", fields) or (None, None)
REQUESTS: dict[tuple[str, str], tuple[str | None, dict[str, Any] | None]] = {
    ("GET", "/api/v1/patients/{code}"): (None, None),
    ("POST", "/api/v1/patients/{code}/give/preview"): ("json", GIVE),
    ("POST", "/api/v1/patients/{code}/give"): ("json", GIVE),
    ("POST", "/api/v1/patients/{code}/not-given"): ("json", {"kind": "missed", "reason": "away"}),
    ("POST", "/api/v1/patients/{code}/labs"): ("json", {"readings": ["hb=12g/dL"], "taken_on": "2027-03-09"}),
    ("POST", "/api/v1/patients/{code}/prescriptions/preview"): ("json", PRESCRIBE),
    ("POST", "/api/v1/patients/{code}/prescriptions"): ("json", PRESCRIBE),
    ("POST", "/api/v1/patients/{code}/prescriptions/stop"): ("json", STOP),
    ("POST", "/api/v1/patients/{code}/events"): ("json", EVENT),
    ("GET", "/patients/{code}"): (None, None),
    ("GET", "/patients/{code}/chart.svg"): (None, None),
    ("GET", "/patients/{code}/store.svg"): (None, None),
    ("GET", "/patients/{code}/summary"): (None, None),
    ("GET", "/patients/{code}/summary.pdf"): (None, None),
    ("GET", "/patients/{code}/give"): (None, None),
    ("POST", "/patients/{code}/give/check"): ("form", GIVE),
    ("POST", "/patients/{code}/give"): ("form", GIVE),
    ("POST", "/patients/{code}/give/scan"): ("form", {"scan": "(01)09501101530003(17)271231(10)LOT42"}),
    ("GET", "/patients/{code}/not-given"): (None, None),
    ("POST", "/patients/{code}/not-given"): ("form", {"kind": "missed", "reason": "away"}),
    ("GET", "/patients/{code}/labs"): (None, None),
    ("POST", "/patients/{code}/labs"): ("form", {"readings": "hb=12g/dL", "taken_on": "2027-03-09"}),
    ("GET", "/patients/{code}/prescribe"): (None, None),
    ("POST", "/patients/{code}/prescribe/preview"): ("form", PRESCRIBE),
    ("POST", "/patients/{code}/prescribe"): ("form", PRESCRIBE),
    ("POST", "/patients/{code}/stop"): ("form", STOP),
    ("GET", "/patients/{code}/events"): (None, None),
    ("POST", "/patients/{code}/events"): ("form", EVENT),
    ("GET", "/fhir/r4/Patient/{code}"): (None, None),
    ("GET", "/fhir/r4/MedicationRequest/{id}"): (None, None),
    ("GET", "/fhir/r4/MedicationAdministration/{id}"): (None, None),
    ("GET", "/fhir/r4/Observation/{id}"): (None, None),
    ("POST", "/api/v1/patients/{code}/records/{record_id}/correct"): ("json", CORRECT),
    ("POST", "/api/v1/patients/{code}/records/{record_id}/entered-in-error"): ("json", VOID),
    ("GET", "/patients/{code}/records/{record_id}/correct"): (None, None),
    ("POST", "/patients/{code}/records/{record_id}/correct"): ("form", CORRECT),
    ("POST", "/patients/{code}/records/{record_id}/entered-in-error"): ("form", VOID),
    ("GET", "/api/v1/patients/{code}/supply"): (None, None),
    ("POST", "/api/v1/patients/{code}/supply/dispense"): ("json", {**DISPENSE, "count": 2}),
    ("POST", "/api/v1/patients/{code}/supply/waste"): ("json", {**WASTE, "count": 1}),
    ("GET", "/api/v1/patients/{code}/calendar"): (None, None),
    ("POST", "/api/v1/patients/{code}/calendar"): ("json", {}),
    ("POST", "/api/v1/patients/{code}/calendar/revoke"): ("json", {"feed": "{feed}"}),
    ("GET", "/api/v1/patients/{code}/carers"): (None, None),
    ("POST", "/api/v1/patients/{code}/carers"): ("json", {"username": "carer.dee"}),
    ("POST", "/api/v1/patients/{code}/carers/unlink"): ("json", {"username": "spare.carer"}),
    ("GET", "/patients/{code}/supply"): (None, None),
    ("POST", "/patients/{code}/supply/dispense"): ("form", DISPENSE),
    ("POST", "/patients/{code}/supply/waste"): ("form", WASTE),
    ("POST", "/patients/{code}/calendar"): ("form", {}),
    ("POST", "/patients/{code}/calendar/revoke"): ("form", {"feed": "{feed}"}),
    # the token is the credential, not a patient's id: tests/web/test_supply_pages.py tries tokens
    ("GET", "/calendar/{token}.ics"): (None, None),
    ("GET", "/patients/{code}/carers"): (None, None),
    ("POST", "/patients/{code}/carers"): ("form", {"username": "carer.dee"}),
    ("POST", "/patients/{code}/carers/unlink"): ("form", {"username": "spare.carer"}),
}  # fmt: skip
#: The record each FHIR {id} route reads, by its resource type.
RECORDS = {"MedicationRequest": "prescriptions", "MedicationAdministration": "administrations",
           "Observation": "labs"}  # fmt: skip


def resource_id(web: Web, path: str, code: str) -> str:
    """The id of patient ``code``'s first record of the path's type (an absent patient: an id no
    record has, shaped like one)."""
    from b12.domain.records import current
    from b12.services.record import UnknownPatientError, find_patient

    kind = path.split("/")[3]
    with web.app.unit_of_work() as uow:
        try:
            record = find_patient(uow, code)
        except UnknownPatientError:
            return "00000000-0000-4000-8000-000000000000"
        rows = current(getattr(uow, RECORDS[kind]).for_patient(record.id))
        return str(rows[0].id)


#: A record id no patient has (the tests of another patient's record ids are in test_corrections).
RECORD_ID = "00000000-0000-4000-8000-000000000000"


def id_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the app whose path holds an id, from its route table."""
    from tests.web.conftest import make_app

    app = create_app(make_app(Path("/nonexistent.db")))
    # the CDS Hooks service is addressed by service id, not patient (tests/cds)
    return {
        (m, path)
        for m, path in route_table(app)
        if "{" in path and not path.startswith("/cds-services")
    }


def test_every_id_addressed_route_has_a_row_in_the_matrix() -> None:
    assert id_routes() == set(REQUESTS)


def _call(
    web: Web, role: str, method: str, path: str, code: str, fill: dict[str, str] | None = None
) -> tuple[int, str]:
    """Call the route as ``role`` on patient ``code``; ``fill`` puts ids in the body's {slots}."""
    client, csrf = web.as_role(role)
    kind, body = REQUESTS[(method, path)]
    if body is not None:
        body = {k: (fill or {}).get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    if "{id}" in path:
        code = resource_id(web, path, code)
    url = path.replace("{code}", code).replace("{id}", code).replace("{record_id}", RECORD_ID)
    headers = {"X-CSRF-Token": csrf}
    if kind == "json":
        r = client.request(method, url, json=body, headers=headers)
    elif kind == "form":
        r = client.request(method, url, data={**(body or {}), "csrf": csrf})
    else:
        r = client.request(method, url)
    # the same answer but for the id echoed back (and the session's own token in a page)
    return r.status_code, r.text.replace(code, "{code}").replace(csrf, "{csrf}")


@pytest.mark.parametrize("route", sorted(REQUESTS))
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_an_absent_and_a_foreign_id_are_answered_alike(
    web: Web, role: str, route: tuple[str, str]
) -> None:
    method, path = route
    absent = _call(web, role, method, path, ABSENT)
    if FOREIGN[role] is None:  # staff see every patient: an absent one is not found, or forbidden
        assert absent[0] in (403, 404), absent
        return
    foreign = _call(web, role, method, path, FOREIGN[role])
    assert absent[0] == 404, absent
    assert foreign == absent


#: The reads every account that may see a patient is given (the others are role-bound actions).
READS = ("/api/v1/patients/{code}", "/patients/{code}", "/patients/{code}/chart.svg",
         "/patients/{code}/store.svg", "/patients/{code}/summary", "/patients/{code}/summary.pdf")  # fmt: skip


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_reads_the_patient_it_may_see(web: Web, role: str, path: str) -> None:
    status, _ = _call(web, role, "GET", path, OWN[role])
    assert status == 200


#: The permission (services.accounts.PERMISSIONS) each route of the supply at home, the calendar
#: feeds and the carers needs, pages and JSON alike: on a patient the role may see, the route
#: answers 200 when the role has it and 403 when it has not.
NEEDS: dict[tuple[str, str], acc.Permission] = {
    ("GET", "/api/v1/patients/{code}/supply"): "read",
    ("POST", "/api/v1/patients/{code}/supply/dispense"): "dispense",
    ("POST", "/api/v1/patients/{code}/supply/waste"): "waste",
    ("GET", "/api/v1/patients/{code}/calendar"): "calendar",
    ("POST", "/api/v1/patients/{code}/calendar"): "calendar",
    ("POST", "/api/v1/patients/{code}/calendar/revoke"): "calendar",
    ("GET", "/api/v1/patients/{code}/carers"): "link",
    ("POST", "/api/v1/patients/{code}/carers"): "link",
    ("POST", "/api/v1/patients/{code}/carers/unlink"): "link",
    ("GET", "/patients/{code}/supply"): "read",
    ("POST", "/patients/{code}/supply/dispense"): "dispense",
    ("POST", "/patients/{code}/supply/waste"): "waste",
    ("POST", "/patients/{code}/calendar"): "calendar",
    ("POST", "/patients/{code}/calendar/revoke"): "calendar",
    ("GET", "/patients/{code}/carers"): "link",
    ("POST", "/patients/{code}/carers"): "link",
    ("POST", "/patients/{code}/carers/unlink"): "link",
}


def test_every_supply_calendar_and_carers_route_names_its_permission() -> None:
    parts = ("/supply", "/calendar", "/carers")
    routed = {r for r in REQUESTS if r[1].startswith(("/api/v1/patients/", "/patients/"))}
    assert {r for r in routed if any(p in r[1] for p in parts)} == set(NEEDS)


def _ready(web: Web, code: str) -> dict[str, str]:
    """Patient ``code`` with lot H1 dispensed, a spare carer linked and a live feed: every route
    then has something to act on. The slots of REQUESTS' bodies that this fills."""
    from b12.adapters.web import demo

    nurse, csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    _kind, vials = REQUESTS[("POST", "/api/v1/patients/{code}/supply/dispense")]
    done = nurse.post(f"/api/v1/patients/{code}/supply/dispense", json=vials, headers=h)
    assert done.status_code == 200, done.text
    made = nurse.post(f"/api/v1/patients/{code}/calendar", headers=h)
    assert made.status_code == 200, made.text
    acc.add_account(
        web.app.accounts, web.app.passwords, "spare.carer", demo.PASSWORD, "caregiver", "test",
        web.app.clock, patients=(code,),
    )  # fmt: skip
    return {"{feed}": made.json()["feed"]["id"]}


@pytest.mark.parametrize("route", sorted(NEEDS))
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_on_its_own_patient_is_allowed_exactly_what_its_permissions_say(
    web: Web, role: str, route: tuple[str, str]
) -> None:
    fill = _ready(web, OWN[role])
    status, text = _call(web, role, *route, OWN[role], fill)
    allowed = NEEDS[route] in acc.PERMISSIONS[role]  # type: ignore[index]
    assert status == (200 if allowed else 403), text[:400]
