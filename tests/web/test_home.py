"""The patient's side: their own view and dose, carers linked and unlinked, who acted for whom.

The demo clinic: pat.p3 (patient, P-0003) and carer.dee (caregiver of P-0004 and P-0005, linked
to inject) under prescriptions that say self-injection; P-0001 and P-0002 are injected by the
ward's nurses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from b12.adapters.web import demo
from b12.services import accounts as acc
from tests.web.conftest import OWN, USER_OF, Web

#: A finding code (RECORD_LATE, PRODUCT_EXPIRED ...) as it would show in a page's words.
CODE = re.compile(r"\b[A-Z]{3,}(?:_[A-Z]+)+\b")


def _words(html: str) -> str:
    """The visible text of a page (tags, scripts' and the CSRF token's attributes left out)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _form(client: Any, csrf: str, url: str, **fields: str) -> Any:
    return client.post(url, data={**fields, "csrf": csrf})


def _audit(web: Web) -> list[Any]:
    return list(acc.entries_of(web.app.unit_of_work))


def _patient_id(web: Web, code: str) -> str:
    from b12.services.record import find_patient

    with web.app.unit_of_work() as uow:
        return find_patient(uow, code).id


def _account(web: Web, name: str, role: str, *codes: str, injects: bool = False) -> None:
    acc.add_account(
        web.app.accounts, web.app.passwords, name, demo.PASSWORD, role, "test", web.app.clock,
        patients=codes, self_injects=injects,
    )  # fmt: skip


# --- every role, every new route, on a patient it may see -----------------------------------------

#: route -> (method, path, form fields); {code} is the role's own patient (conftest.OWN)
ROUTES: dict[str, tuple[str, str, dict[str, str]]] = {
    "view": ("GET", "/patients/{code}", {}),
    "give form": ("GET", "/patients/{code}/give", {}),
    "missed form": ("GET", "/patients/{code}/not-given", {}),
    "event form": ("GET", "/patients/{code}/events", {}),
    "carers": ("GET", "/patients/{code}/carers", {}),
    "link": ("POST", "/patients/{code}/carers", {"username": "spare.carer"}),
    "unlink": ("POST", "/patients/{code}/carers/unlink", {"username": "spare.carer"}),
    "reactions": ("GET", "/reactions", {}),
}
STATUS: dict[str, dict[str, int]] = {
    "prescriber": {"view": 200, "give form": 200, "missed form": 403, "event form": 403,
                   "carers": 200, "link": 200, "unlink": 200, "reactions": 200},
    "nurse": {"view": 200, "give form": 200, "missed form": 200, "event form": 200,
              "carers": 403, "link": 403, "unlink": 403, "reactions": 200},
    "pharmacist": {"view": 200, "give form": 403, "missed form": 403, "event form": 403,
                   "carers": 403, "link": 403, "unlink": 403, "reactions": 200},
    "patient": {"view": 200, "give form": 200, "missed form": 200, "event form": 200,
                "carers": 200, "link": 200, "unlink": 200, "reactions": 403},
    "caregiver": {"view": 200, "give form": 200, "missed form": 200, "event form": 200,
                  "carers": 403, "link": 403, "unlink": 403, "reactions": 403},
}  # fmt: skip


def test_the_matrix_names_every_role_and_route() -> None:
    assert set(STATUS) == set(USER_OF)
    assert all(set(row) == set(ROUTES) for row in STATUS.values())


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_on_each_new_route(web: Web, role: str, route: str) -> None:
    # a spare caregiver to link and unlink, already linked to the patient so that unlink has one
    _account(web, "spare.carer", "caregiver", OWN[role])
    client, csrf = web.as_role(role)
    method, path, fields = ROUTES[route]
    url = path.replace("{code}", OWN[role])
    r = client.get(url) if method == "GET" else _form(client, csrf, url, **fields)
    assert r.status_code == STATUS[role][route], r.text[:400]


# --- the self-injection mark is the prescription's ------------------------------------------------


def test_a_patient_whose_prescription_is_not_self_injected_cannot_record(any_web: Web) -> None:
    web = any_web
    _account(web, "pat.p1", "patient", "P-0001")
    client, csrf = web.login("pat.p1")
    home = client.get("/patients/P-0001")
    assert home.status_code == 200
    assert 'id="record-dose"' not in home.text
    assert "a nurse or doctor gives the injections" in _words(home.text)
    for url, fields in (
        ("/patients/P-0001/give/check", {"site": "left deltoid"}),
        ("/patients/P-0001/give", {"site": "left deltoid"}),
        ("/patients/P-0001/not-given", {"kind": "missed", "reason": "away"}),
    ):
        r = _form(client, csrf, url, **fields)
        assert r.status_code == 403, r.text[:300]
        assert "ask your prescriber" in _words(r.text)
    given = client.post("/api/v1/patients/P-0001/give", json={}, headers={"X-CSRF-Token": csrf})
    assert given.status_code == 403
    # the prescriber prescribes again with the mark: the patient may now record
    doctor, dcsrf = web.as_role("prescriber")
    rx = doctor.post(
        "/api/v1/patients/P-0001/prescriptions",
        json={"indication": "pernicious-anaemia", "start": "2027-03-10", "product": demo.PRODUCT,
              "self_injection": True},
        headers={"X-CSRF-Token": dcsrf},
    )  # fmt: skip
    assert rx.status_code == 200 and rx.json()["prescription"]["self_injection"] is True
    done = _form(client, csrf, "/patients/P-0001/give", site="left deltoid")
    assert done.status_code == 200 and "Recorded" in done.text


def test_a_carer_not_linked_to_inject_cannot_record_but_reports_a_reaction(web: Web) -> None:
    _account(web, "gran", "caregiver", "P-0004")  # follows the schedule, does not inject
    client, csrf = web.login("gran")
    assert client.get("/patients/P-0004").status_code == 200
    assert _form(client, csrf, "/patients/P-0004/give", site="left deltoid").status_code == 403
    event = _form(client, csrf, "/patients/P-0004/events", on="2027-03-10",
                  description="red and warm at the site", severity="mild")  # fmt: skip
    assert event.status_code == 200


def test_the_prescriber_sets_self_injection_from_the_prescribe_form(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    fields = {"indication": "pernicious-anaemia", "start": "2027-03-11", "product": demo.PRODUCT}
    preview = _form(client, csrf, "/patients/P-0002/prescribe/preview", **fields,
                    self_injection="on")  # fmt: skip
    assert 'name="self_injection" value="on"' in preview.text
    signed = _form(client, csrf, "/patients/P-0002/prescribe", **fields, self_injection="on")
    assert signed.status_code == 200
    page = client.get("/patients/P-0002")
    assert "self-injection at home" in page.text


# --- a stop at home offers no way past it ---------------------------------------------------------


def test_a_stop_shown_at_home_offers_no_bypass_and_says_to_call_the_prescriber(web: Web) -> None:
    client, csrf = web.as_role("patient")
    assert _form(client, csrf, "/patients/P-0003/give", site="left deltoid").status_code == 200
    for r in (
        client.get("/patients/P-0003/give"),
        _form(client, csrf, "/patients/P-0003/give/check", site="right deltoid"),
        _form(client, csrf, "/patients/P-0003/give", site="right deltoid"),
    ):
        words = _words(r.text)
        assert "Do not inject" in words and "Call your prescriber" in words
        assert "never inject a second dose on the same day" in words.lower()
        for forbidden in ("override", "reason", 'id="record"', "bypass"):
            assert forbidden not in r.text.lower(), forbidden
        assert not CODE.search(words), CODE.search(words)
    # a reason sent anyway is refused, whatever it says
    r = _form(client, csrf, "/patients/P-0003/give", site="right deltoid",
              override_code="prescriber-confirmed", override_text="the doctor said so")  # fmt: skip
    assert r.status_code == 403


def test_a_severe_reaction_reported_by_the_patient_stops_the_next_dose_at_home(web: Web) -> None:
    client, csrf = web.as_role("patient")
    assert _form(client, csrf, "/patients/P-0003/give", site="left deltoid").status_code == 200
    sent = _form(client, csrf, "/patients/P-0003/events", on="2027-03-10",
                 description="hives and a swollen lip an hour after", severity="severe")  # fmt: skip
    assert sent.status_code == 200 and "prescriber sees it" in _words(sent.text)
    home = _words(client.get("/patients/P-0003").text)
    assert "Do not inject" in home and "Call your prescriber" in home
    assert "Record my injection" not in home
    # it reaches the prescriber: their list of reactions and the patient's page
    doctor, _ = web.as_role("prescriber")
    listed = _words(doctor.get("/reactions").text)
    assert "hives and a swollen lip" in listed and "pat.p3" in listed
    assert "stopped until reviewed" in listed
    assert "reported by pat.p3" in _words(doctor.get("/patients/P-0003").text)


def test_the_patients_pages_show_no_finding_code(web: Web) -> None:
    client, csrf = web.as_role("patient")
    pages = [
        client.get("/patients/P-0003"),
        client.get("/patients/P-0003/give"),
        _form(client, csrf, "/patients/P-0003/give/check", site="left deltoid"),
        _form(client, csrf, "/patients/P-0003/give", site="left deltoid"),
        client.get("/patients/P-0003/not-given"),
        client.get("/patients/P-0003/events"),
    ]
    for r in pages:
        assert r.status_code == 200
        words = _words(r.text)
        assert not CODE.search(words), (r.url, CODE.search(words))
        assert "basis" not in words


def test_a_missed_dose_at_home_keeps_its_reason_and_is_never_doubled(web: Web) -> None:
    client, csrf = web.as_role("patient")
    r = _form(client, csrf, "/patients/P-0003/not-given", kind="missed", reason="I was in hospital")
    assert r.status_code == 200
    words = _words(r.text)
    assert "I was in hospital" in words and "not doubled" in words
    held = _form(client, csrf, "/patients/P-0003/not-given", kind="held", reason="asleep")
    assert held.status_code == 422  # holding a dose is the ward's word


# --- caregivers -----------------------------------------------------------------------------------


def test_a_carer_records_for_each_patient_and_the_audit_says_who_for_whom(any_web: Web) -> None:
    web = any_web
    client, csrf = web.as_role("caregiver")
    for code in ("P-0004", "P-0005"):
        r = _form(client, csrf, f"/patients/{code}/give", site="left deltoid")
        assert r.status_code == 200 and "recorded by carer.dee" in _words(r.text)
    missed = _form(
        client, csrf, "/patients/P-0004/not-given", kind="missed", reason="she was in hospital"
    )
    assert missed.status_code == 200, missed.text[:300]
    event = _form(client, csrf, "/patients/P-0005/events", on="2027-03-10",
                  description="sore arm", severity="mild")  # fmt: skip
    assert event.status_code == 200
    entries = _audit(web)
    for code, action in (
        ("P-0004", "give"),
        ("P-0005", "give"),
        ("P-0004", "missed"),
        ("P-0005", "event-add"),
    ):
        (entry,) = [e for e in entries if e.action == action and e.patient == _patient_id(web, code)
                    and e.who == "carer.dee"]  # fmt: skip
        assert entry.payload["acted"] == {"by": "carer.dee", "role": "caregiver", "for": code}
        if action == "give":
            assert entry.payload["given_by"] == "carer.dee"
    # a nurse's give says the same of the nurse
    nurse, ncsrf = web.as_role("nurse")
    assert _form(nurse, ncsrf, "/patients/P-0001/give", site="left deltoid").status_code == 200
    last = [e for e in _audit(web) if e.action == "give"][-1]
    assert last.payload["acted"] == {"by": "nurse.bo", "role": "nurse", "for": "P-0001"}


def test_a_carer_sees_only_the_patients_linked(web: Web) -> None:
    client, _ = web.as_role("caregiver")
    assert client.get("/api/v1/me").json()["patients"] == ["P-0004", "P-0005"]
    listed = client.get("/patients").text
    assert "P-0004" in listed and "P-0005" in listed and "P-0001" not in listed
    home = client.get("/patients/P-0004").text
    assert 'href="/patients/P-0005"' in home  # the switcher
    for code in ("P-0001", "P-0002", "P-0003"):
        assert client.get(f"/patients/{code}").status_code == 404


def test_unlinking_ends_an_open_session_s_access_at_once(any_web: Web) -> None:
    web = any_web
    carer, _ = web.as_role("caregiver")
    assert carer.get("/patients/P-0004").status_code == 200
    doctor, dcsrf = web.as_role("prescriber")
    r = _form(doctor, dcsrf, "/patients/P-0004/carers/unlink", username="carer.dee")
    assert (
        r.status_code == 200 and "carer.dee" not in r.text.split("<tbody>")[1].split("</tbody>")[0]
    )
    # the same session, its very next request
    assert carer.get("/patients/P-0004").status_code == 404
    assert carer.get("/api/v1/patients/P-0004").status_code == 404
    assert carer.get("/patients/P-0005").status_code == 200
    (entry,) = [e for e in _audit(web) if e.action == "account-unlink"]
    assert entry.who == "dr.ames" and entry.patient == _patient_id(web, "P-0004")
    assert entry.payload["username"] == "carer.dee" and entry.payload["patient"] == "P-0004"
    # linked again: access is back, with the mark given now
    again = _form(doctor, dcsrf, "/patients/P-0004/carers", username="carer.dee", injects="on")
    assert again.status_code == 200
    assert carer.get("/patients/P-0004").status_code == 200


def test_the_patient_links_and_unlinks_a_carer_but_not_as_the_one_who_injects(web: Web) -> None:
    _account(web, "son.sam", "caregiver", "P-0001")
    patient, csrf = web.as_role("patient")
    sam, _ = web.login("son.sam")
    assert sam.get("/patients/P-0003").status_code == 404
    assert _form(patient, csrf, "/patients/P-0003/carers", username="son.sam",
                 injects="on").status_code == 403  # fmt: skip
    assert _form(patient, csrf, "/patients/P-0003/carers", username="son.sam").status_code == 200
    assert sam.get("/patients/P-0003").status_code == 200
    assert _form(sam, sam.get("/api/v1/me").json()["csrf"], "/patients/P-0003/give",
                 site="left deltoid").status_code == 403  # fmt: skip
    (entry,) = [e for e in _audit(web) if e.action == "account-link"]
    assert entry.who == "pat.p3" and entry.patient == _patient_id(web, "P-0003")
    assert (
        _form(patient, csrf, "/patients/P-0003/carers/unlink", username="son.sam").status_code
        == 200
    )
    assert sam.get("/patients/P-0003").status_code == 404
    # the patient's own account stays; a staff account is never linked
    assert _form(patient, csrf, "/patients/P-0003/carers/unlink",
                 username="pat.p3").status_code == 422  # fmt: skip
    assert _form(patient, csrf, "/patients/P-0003/carers", username="nurse.bo").status_code == 422


def test_user_link_and_unlink_from_the_command_line(tmp_path: Any, clinic_db: Any) -> None:
    from tests.web.test_doors import _b12

    db = str(clinic_db)
    linked = _b12("user", "link", "carer.dee", "P-0001", "--injects", "--db", db, "--json")
    assert linked.returncode == 0, linked.stderr
    assert json.loads(linked.stdout) == {"username": "carer.dee", "patient": "P-0001",
                                         "injects": True}  # fmt: skip
    assert _b12("user", "unlink", "carer.dee", "P-0001", "--db", db).returncode == 0
    twice = _b12("user", "unlink", "carer.dee", "P-0001", "--db", db)
    assert twice.returncode == 2 and "not linked to P-0001" in twice.stderr
    staff = _b12("user", "link", "nurse.bo", "P-0001", "--db", db)
    assert staff.returncode == 2 and "staff see every patient" in staff.stderr
    patient = _b12("user", "link", "pat.p3", "P-0001", "--db", db)
    assert patient.returncode == 2 and "exactly one patient" in patient.stderr
    injects = _b12("user", "add", "p9", "--role", "patient", "--patient", "P-0002", "--injects",
                   "--db", db, password="long enough pass")  # fmt: skip
    assert injects.returncode == 2 and "prescription says self-injection" in injects.stderr
    rx = _b12("prescribe", "P-0002", "--indication", "pernicious-anaemia", "--start",
              "2027-03-11", "--product", demo.PRODUCT, "--self-injection", "--db", db, "--json")  # fmt: skip
    assert rx.returncode == 0, rx.stderr
    assert json.loads(rx.stdout)["prescription"]["self_injection"] is True


def test_after_a_late_next_dose_what_follows_is_dated_as_if_it_is_given_today(web: Web) -> None:
    client, _ = web.as_role("patient")  # P-0003's next dose is weeks late in the demo clinic
    words = _words(client.get("/patients/P-0003").text)
    follows = words.split("What follows", 1)[1]
    assert "if it is given today" in follows
    # consolidation every 3 days: given today (2027-03-10), the next falls on 2027-03-12 or later,
    # never in the past
    dates = re.findall(r"\b2027-\d\d-\d\d\b", follows.split("Doses recorded", 1)[0])
    assert dates and min(dates) > "2027-03-10"
