"""The JSON doors of the supply at home, the calendar feeds and the carers: what each answers, the
input errors it explains, the audit entry of each write, and a revoked feed's address gone.

Which role may call which of these routes, and a foreign patient answered as an absent one, are in
tests/web/test_bola.py's matrices with every other route."""

from __future__ import annotations

from typing import Any

import pytest

from b12.services import accounts as acc
from tests.web.conftest import Web
from tests.web.test_bola import DISPENSE

API = "/api/v1/patients"
VIAL = {**DISPENSE, "count": 2}


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


def _audit(web: Web) -> list[Any]:
    return list(acc.entries_of(web.app.unit_of_work))


def _as(web: Web, role: str) -> tuple[Any, dict[str, str]]:
    client, csrf = web.as_role(role)
    return client, {"X-CSRF-Token": csrf}


# --- the supply at home ---------------------------------------------------------------------------


def test_a_nurse_dispenses_and_the_supply_says_what_is_left_and_how_far_it_goes(web: Web) -> None:
    nurse, h = _as(web, "nurse")
    r = nurse.post(f"{API}/P-0003/supply/dispense", json=VIAL, headers=h)
    assert r.status_code == 200, r.text
    row = r.json()["dispensing"]
    assert (row["product"], row["containers"], row["lot"], row["expiry"], row["dispensed_by"]) == (
        "cyanocobalamin-us-1000mcg-ml-10ml-vial", 2, "H1", "2028-01-31", "nurse.bo",
    )  # fmt: skip
    assert _audit(web)[-1].action == "dispense" and _audit(web)[-1].who == "nurse.bo"
    patient, _ = _as(web, "patient")
    shown = patient.get(f"{API}/P-0003/supply")
    assert shown.status_code == 200, shown.text
    d = shown.json()
    assert d["patient"] == "P-0003" and d["date"] == "2027-03-10"
    assert d["containers_left"] == 2 and d["volume_left_ml"] == "20"  # exact decimal text
    assert [c["state"] for c in d["containers"]] == ["unopened", "unopened"]
    assert d["doses_owed"] == d["doses_covered"] and d["runs_out_on"] is None
    assert d["ask_for_prescription_by"] is None and d["ask_now"] is False
    assert VIAL["product"] in [p["id"] for p in d["dispensable"]]
    last = _audit(web)[-1]
    assert (last.who, last.action) == ("pat.p3", "read-supply")


def test_a_short_supply_says_when_it_runs_out_and_to_ask_now(web: Web) -> None:
    nurse, h = _as(web, "nurse")
    one = {**VIAL, "product": "cyanocobalamin-us-1000mcg-ml-1ml-vial", "count": 1}
    assert nurse.post(f"{API}/P-0003/supply/dispense", json=one, headers=h).status_code == 200
    d = nurse.get(f"{API}/P-0003/supply").json()
    assert d["doses_covered"] < d["doses_owed"]
    assert (d["runs_out_on"], d["ask_for_prescription_by"], d["ask_now"], d["lead_days"]) == (
        "2027-03-10", "2027-02-24", True, 14,
    )  # fmt: skip
    assert "SUPPLY_RUNS_OUT" in [f["code"] for f in d["findings"]]


def test_the_patient_records_a_volume_thrown_away_from_the_open_vial(web: Web) -> None:
    nurse, h = _as(web, "nurse")
    nurse.post(f"{API}/P-0003/supply/dispense", json=VIAL, headers=h)
    patient, ph = _as(web, "patient")
    whole = {"lot": "H1", "count": 1, "reason": "vial dropped and broken"}
    r = patient.post(f"{API}/P-0003/supply/waste", json=whole, headers=ph)
    assert r.status_code == 200, r.text
    w = r.json()["waste"]
    assert (w["containers"], w["volume_ml"], w["reason"], w["on"], w["recorded_by"]) == (
        1, None, "vial dropped and broken", "2027-03-10", "pat.p3",
    )  # fmt: skip
    assert (_audit(web)[-1].who, _audit(web)[-1].action) == ("pat.p3", "waste")
    assert patient.get(f"{API}/P-0003/supply").json()["containers_left"] == 1


@pytest.mark.parametrize(
    ("route", "body", "field", "says"),
    [
        # an unknown name is 404 as everywhere in the API, with the names to choose from
        ("dispense", {**VIAL, "product": "aspirin"}, "product", "write one of"),
        ("dispense", {**VIAL, "count": 0}, "count", "greater than or equal to 1"),
        ("dispense", {**VIAL, "count": "two"}, "count", "valid integer"),
        ("dispense", {**VIAL, "expiry": "31/01/2028"}, "expiry", "valid date"),
        ("dispense", {**VIAL, "expiry": "2027-03-09"}, "expiry", "check the date on the pack"),
        ("dispense", {**VIAL, "lot": "  "}, "lot", "write the lot number"),
        ("dispense", {k: v for k, v in VIAL.items() if k != "lot"}, "lot", "Field required"),
        ("waste", {"lot": "H1", "reason": "dropped"}, "count", "say what was discarded"),
        ("waste", {"lot": "H1", "volume": "half", "reason": "spilt"}, "volume", "e.g. 0.5"),
        ("waste", {"lot": "H1", "volume": 0.5, "reason": "spilt"}, "volume", "valid string"),
        ("waste", {"lot": "Z9", "count": 1, "reason": "dropped"}, "lot", "write one of H1"),
        ("waste", {"lot": "H1", "count": 5, "reason": "dropped"}, "count", "at most that many"),
        ("waste", {"lot": "H1", "count": 1, "reason": "x"}, "reason", ""),
    ],
)
def test_a_supply_input_it_cannot_use_is_a_422_saying_what_to_write(
    web: Web, route: str, body: dict[str, Any], field: str, says: str
) -> None:
    nurse, h = _as(web, "nurse")
    assert nurse.post(f"{API}/P-0003/supply/dispense", json=VIAL, headers=h).status_code == 200
    before = len(_audit(web))
    status = 404 if body.get("product") == "aspirin" else 422
    error = _error(nurse.post(f"{API}/P-0003/supply/{route}", json=body, headers=h), status)
    assert error["field"] == field and says in error["message"], error
    assert len(_audit(web)) == before  # nothing recorded


# --- calendar feeds -------------------------------------------------------------------------------


def test_a_carer_makes_lists_and_revokes_a_feed_and_its_address_then_answers_404(web: Web) -> None:
    carer, h = _as(web, "caregiver")
    made = carer.post(f"{API}/P-0005/calendar", headers=h)
    assert made.status_code == 200, made.text
    body = made.json()
    feed, token, url = body["feed"], body["token"], body["url"]
    assert feed["made_by"] == "carer.dee" and feed["made_at"] == "2027-03-10T10:00:00+00:00"
    assert url == f"http://testserver/calendar/{token}.ics"
    assert (_audit(web)[-1].who, _audit(web)[-1].action) == ("carer.dee", "calendar-feed-make")
    anonymous = web.client()
    served = anonymous.get(f"/calendar/{token}.ics")
    assert served.status_code == 200 and "P-0005" in served.text
    listed = carer.get(f"{API}/P-0005/calendar")
    assert listed.status_code == 200 and listed.json() == {"feeds": [feed]}
    assert token not in listed.text  # the token is shown once, when made
    assert (_audit(web)[-1].who, _audit(web)[-1].action) == ("carer.dee", "read-calendar-feeds")
    gone = carer.post(f"{API}/P-0005/calendar/revoke", json={"feed": feed["id"]}, headers=h)
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"revoked": feed["id"], "at": feed["made_at"], "by": "carer.dee"}
    assert (_audit(web)[-1].who, _audit(web)[-1].action) == ("carer.dee", "calendar-feed-revoke")
    assert carer.get(f"{API}/P-0005/calendar").json() == {"feeds": []}
    revoked = anonymous.get(f"/calendar/{token}.ics")
    unknown = anonymous.get("/calendar/" + "x" * 43 + ".ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.text == unknown.text


def test_a_feed_not_live_is_a_422_naming_where_the_live_ones_are(web: Web) -> None:
    carer, h = _as(web, "caregiver")

    def revoke(body: dict[str, str]) -> dict[str, Any]:
        return _error(carer.post(f"{API}/P-0005/calendar/revoke", json=body, headers=h), 422)

    feed = carer.post(f"{API}/P-0005/calendar", headers=h).json()["feed"]["id"]
    carer.post(f"{API}/P-0005/calendar/revoke", json={"feed": feed}, headers=h)
    other = carer.post(f"{API}/P-0004/calendar", headers=h).json()["feed"]["id"]
    # revoked already, never made, another of the carer's patients' feed
    for sent in (feed, "f-none", other):
        error = revoke({"feed": sent})
        assert error["field"] == "feed" and "no live calendar feed" in error["message"], error
    assert revoke({})["field"] == "feed"


# --- carers ---------------------------------------------------------------------------------------


def test_a_prescriber_lists_links_as_the_one_who_injects_and_unlinks_a_carer(web: Web) -> None:
    doctor, h = _as(web, "prescriber")
    listed = doctor.get(f"{API}/P-0004/carers")
    assert listed.status_code == 200
    assert listed.json() == {"carers": [{"username": "carer.dee", "role": "caregiver",
                                         "injects": True}]}  # fmt: skip
    acc.add_account(
        web.app.accounts, web.app.passwords, "carer.eve", "a passphrase of words", "caregiver",
        "test", web.app.clock, patients=("P-0005",),
    )  # fmt: skip
    r = doctor.post(f"{API}/P-0004/carers", json={"username": "carer.eve", "injects": True},
                    headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert {"username": "carer.eve", "role": "caregiver", "injects": True} in r.json()["carers"]
    link = next(e for e in reversed(_audit(web)) if e.action == "account-link")
    assert link.who == "dr.ames" and link.payload["patient"] == "P-0004"
    assert link.payload["username"] == "carer.eve" and link.payload["injects"] is True
    r = doctor.post(f"{API}/P-0004/carers/unlink", json={"username": "carer.eve"}, headers=h)
    assert r.status_code == 200, r.text
    assert [c["username"] for c in r.json()["carers"]] == ["carer.dee"]
    unlink = next(e for e in reversed(_audit(web)) if e.action == "account-unlink")
    assert unlink.who == "dr.ames" and unlink.payload["username"] == "carer.eve"


def test_the_patient_links_a_carer_but_not_as_the_one_who_injects_nor_unlinks_self(
    web: Web,
) -> None:
    patient, h = _as(web, "patient")
    r = patient.post(f"{API}/P-0003/carers", json={"username": "carer.dee"}, headers=h)
    assert r.status_code == 200, r.text
    assert {"username": "carer.dee", "role": "caregiver", "injects": False} in r.json()["carers"]
    assert _error(patient.post(f"{API}/P-0003/carers",
                               json={"username": "carer.dee", "injects": True}, headers=h),
                  403)["code"] == "forbidden"  # fmt: skip
    own = _error(patient.post(f"{API}/P-0003/carers/unlink", json={"username": "pat.p3"},
                              headers=h), 422)  # fmt: skip
    assert own["field"] == "username" and "unlink a carer" in own["message"]


@pytest.mark.parametrize(
    ("route", "body", "says"),
    [
        ("carers", {"username": "nobody"}, "no account 'nobody'"),
        ("carers", {"username": "nurse.bo"}, "staff see every patient"),
        ("carers", {}, "Field required"),
        ("carers", {"username": "carer.dee", "injects": "maybe"}, "valid boolean"),
        ("carers/unlink", {"username": "carer.dee"}, "not linked to P-0001"),
    ],
)
def test_a_carer_input_it_cannot_use_is_a_422_saying_what_is_wrong(
    web: Web, route: str, body: dict[str, Any], says: str
) -> None:
    doctor, h = _as(web, "prescriber")
    error = _error(doctor.post(f"{API}/P-0001/{route}", json=body, headers=h), 422)
    assert error["field"] in ("username", "injects") and says in error["message"], error


def test_the_json_doors_answer_the_same_on_postgresql(any_web: Web) -> None:
    nurse, h = _as(any_web, "nurse")
    assert nurse.post(f"{API}/P-0001/supply/dispense", json=VIAL, headers=h).status_code == 200
    waste = {"lot": "H1", "count": 1, "reason": "vial dropped and broken"}
    assert nurse.post(f"{API}/P-0001/supply/waste", json=waste, headers=h).status_code == 200
    assert nurse.get(f"{API}/P-0001/supply").json()["containers_left"] == 1
    made = nurse.post(f"{API}/P-0001/calendar", headers=h).json()
    path = made["url"].split("testserver", 1)[1]
    assert any_web.client().get(path).status_code == 200
    feed = made["feed"]["id"]
    assert nurse.post(f"{API}/P-0001/calendar/revoke", json={"feed": feed}, headers=h).json()[
        "revoked"] == feed  # fmt: skip
    assert any_web.client().get(path).status_code == 404
    doctor, dh = _as(any_web, "prescriber")
    linked = doctor.post(f"{API}/P-0001/carers", json={"username": "carer.dee"}, headers=dh)
    assert [c["username"] for c in linked.json()["carers"]] == ["carer.dee"]
    gone = doctor.post(f"{API}/P-0001/carers/unlink", json={"username": "carer.dee"}, headers=dh)
    assert gone.json() == {"carers": []}
