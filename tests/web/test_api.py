"""The JSON API and the pages through FastAPI's TestClient: sessions, CSRF, roles, the give with a
scanned pack, the one error shape, and the audit trail of every read and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from b12.adapters.web import demo
from b12.adapters.web.app import create_app, route_table
from b12.errors import ERROR_STATUS, AlreadyRecordedError, B12Error
from b12.services import accounts as acc
from tests.web.conftest import NOW, OWN, USER_OF, MovableClock, Web, make_app

SCAN = "01095011015300031727123110LOT42\x1d21SERIAL9"


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    assert "Traceback" not in r.text
    return body["error"]


# --- sessions -------------------------------------------------------------------------------------


def test_a_session_cookie_is_httponly_and_samesite_strict(web: Web) -> None:
    client = web.client()
    r = client.post("/api/v1/session", json={"username": "nurse.bo", "password": demo.PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert r.json()["role"] == "nurse" and r.json()["csrf"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("nurse.bo", "wrong-password"), ("nobody", demo.PASSWORD), ("", ""), ("x" * 200, "y")],
)
def test_every_failed_login_says_the_same(web: Web, username: str, password: str) -> None:
    r = web.client().post("/api/v1/session", json={"username": username, "password": password})
    assert r.status_code == 401
    assert _error(r) == {"code": "login", "message": str(acc.LoginError()), "field": "password"}


def test_five_failures_lock_the_account_even_for_the_right_password(web: Web) -> None:
    client = web.client()
    for _ in range(acc.MAX_FAILURES):
        r = client.post("/api/v1/session", json={"username": "nurse.bo", "password": "nope-nope"})
        assert r.status_code == 401
    right = {"username": "nurse.bo", "password": demo.PASSWORD}
    assert client.post("/api/v1/session", json=right).status_code == 401
    assert (
        web.client().post("/api/v1/session", json={**right, "username": "dr.ames"}).status_code
        == 200
    )


def test_the_lock_lifts_after_its_time(clinic_db: Any) -> None:
    from fastapi.testclient import TestClient

    clock = MovableClock(NOW)
    app = make_app(clinic_db, clock)
    client = TestClient(create_app(app))
    for _ in range(acc.MAX_FAILURES):
        client.post("/api/v1/session", json={"username": "nurse.bo", "password": "nope-nope"})
    right = {"username": "nurse.bo", "password": demo.PASSWORD}
    clock.at = NOW + acc.LOCKOUT - timedelta(seconds=1)
    assert client.post("/api/v1/session", json=right).status_code == 401
    clock.at = NOW + acc.LOCKOUT + timedelta(seconds=1)
    assert client.post("/api/v1/session", json=right).status_code == 200
    app.close()


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_a_session_ends_after_its_idle_time_and_not_before(clinic_db: Any, role: str) -> None:
    from fastapi.testclient import TestClient

    clock = MovableClock(NOW)
    app = make_app(clinic_db, clock)
    client = TestClient(create_app(app))
    client.post("/api/v1/session", json={"username": USER_OF[role], "password": demo.PASSWORD})
    idle = acc.IDLE[role]
    assert idle == (timedelta(minutes=15) if role in acc.STAFF else timedelta(hours=12))
    clock.at = NOW + idle  # exactly the idle time: still open, and the use starts it again
    assert client.get("/api/v1/me").status_code == 200
    clock.at = NOW + idle + acc.TOUCH_EVERY - timedelta(seconds=1)  # not written again yet
    assert client.get("/api/v1/me").status_code == 200
    clock.at = NOW + idle + idle  # the idle time from the last written use: still open
    assert client.get("/api/v1/me").status_code == 200
    clock.at = NOW + idle + idle + idle + timedelta(seconds=1)
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and _error(r)["code"] == "session_expired"
    clock.at = NOW  # an ended session stays ended
    assert client.get("/api/v1/me").status_code == 401
    app.close()


def test_logging_out_ends_the_session(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_a_disabled_account_loses_its_sessions_and_its_login(web: Web) -> None:
    client, _ = web.as_role("nurse")
    acc.disable_account(web.app.accounts, "nurse.bo", "test")
    assert client.get("/api/v1/me").status_code == 401
    r = web.client().post(
        "/api/v1/session", json={"username": "nurse.bo", "password": demo.PASSWORD}
    )
    assert r.status_code == 401


# --- CSRF -----------------------------------------------------------------------------------------


def _changing_routes() -> list[tuple[str, str]]:
    from pathlib import Path

    app = create_app(make_app(Path("/nonexistent.db")))
    changing = [(m, p) for m, p in route_table(app) if m in ("POST", "PUT", "PATCH", "DELETE")]
    # the CDS Hooks service takes no session: a signed token on every call (tests/cds)
    return [r for r in changing if r not in NO_SESSION_YET and not r[1].startswith("/cds-services")]


#: Routes that change something without a session: logging in makes the session (its cookie is
#: SameSite=Strict, so another site's form cannot log a browser in).
NO_SESSION_YET = {("POST", "/api/v1/session"), ("POST", "/login")}


@pytest.mark.parametrize("route", _changing_routes())
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_state_changing_route_needs_the_sessions_csrf_token(
    web: Web, route: tuple[str, str], token: str | None
) -> None:
    method, path = route
    client, _ = web.as_role("prescriber")
    url = path.replace("{code}", "P-0001")
    headers = {} if token is None else {"X-CSRF-Token": token}
    if path.startswith("/api/"):
        r = client.request(method, url, json={}, headers=headers)
    else:
        r = client.request(method, url, data={} if token is None else {"csrf": token})
    assert r.status_code == 403
    assert "CSRF token" in r.text
    assert web.app.unit_of_work  # nothing below: the record is unchanged (checked next)
    with web.app.unit_of_work() as uow:
        actions = [e.action for e in uow.audit.entries()]
    assert actions[-1] == "login"


# --- roles ----------------------------------------------------------------------------------------

#: What each role may do to a patient it may see: action -> (method, path, json)
ACTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "give": ("POST", "/api/v1/patients/{code}/give/preview", {}),
    "missed": ("POST", "/api/v1/patients/{code}/not-given", {"kind": "missed", "reason": "asleep"}),
    "labs": ("POST", "/api/v1/patients/{code}/labs", {"readings": ["hb=12g/dL"], "taken_on": "2027-03-09"}),
    "prescribe": ("POST", "/api/v1/patients/{code}/prescriptions/preview",
                  {"indication": "pernicious-anaemia", "start": "2027-03-10"}),
    "review": ("GET", "/api/v1/overrides", {}),
    "stop": ("POST", "/api/v1/patients/{code}/prescriptions/stop", {"reason": "remission confirmed"}),
    "events": ("POST", "/api/v1/patients/{code}/events",
               {"on": "2027-03-09", "description": "sore arm at the site", "severity": "mild"}),
    "mar": ("GET", "/api/v1/mar", {}),
}  # fmt: skip
ALLOWED = {
    "prescriber": {"prescribe", "give", "stop", "mar"},
    "nurse": {"give", "missed", "labs", "events", "mar"},
    "pharmacist": {"review", "mar"},
    # the demo patients' prescriptions say self-injection; the demo carer is linked to inject
    "patient": {"give", "missed", "events"},
    "caregiver": {"give", "missed", "events"},
}


@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_may_do_what_its_permissions_list_and_nothing_else(
    web: Web, role: str, act: str
) -> None:
    client, csrf = web.as_role(role)
    method, path, body = ACTS[act]
    url = path.replace("{code}", OWN[role])
    r = client.request(
        method, url, json=body if method == "POST" else None, headers={"X-CSRF-Token": csrf}
    )
    if act in ALLOWED[role]:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403, r.text
        assert _error(r)["code"] == "forbidden"


def test_who_acted_comes_from_the_session_never_from_the_request(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    body = {"scan": SCAN, "who": "dr.ames", "given_by": "dr.ames"}
    r = client.post("/api/v1/patients/P-0001/give", json=body, headers=h)
    assert r.status_code == 422 and _error(r)["field"] in body  # no body takes them
    r = client.post("/api/v1/patients/P-0001/give", json={"scan": SCAN}, headers=h)
    assert r.status_code == 200 and r.json()["administration"]["given_by"] == "nurse.bo"


# --- giving ---------------------------------------------------------------------------------------


def test_a_nurse_gives_the_dose_due_with_a_scanned_pack_then_a_second_is_refused(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    preview = client.post("/api/v1/patients/P-0001/give/preview", json={"scan": SCAN}, headers=h)
    shown = preview.json()
    assert preview.status_code == 200 and shown["preview"] is True
    assert shown["scan"] == {
        "scanned": True,
        "gtin": "09501101530003",
        "lot": "LOT42",
        "expiry": "2027-12-31",
    }
    assert shown["dose"]["dose"] == "100 mcg" and shown["dose"]["volume"] == "0.1 mL"
    with web.app.unit_of_work() as uow:  # the preview recorded nothing
        record = __import__("b12.services.record", fromlist=["x"]).find_patient(uow, "P-0001")
        before = len(uow.administrations.for_patient(record.id))
    r = client.post("/api/v1/patients/P-0001/give", json={"scan": SCAN}, headers=h)
    done = r.json()
    assert r.status_code == 200 and done["recorded"] is True
    a = done["administration"]
    assert (a["lot"], a["expiry"], a["dose_mcg"], a["volume_ml"]) == (
        "LOT42",
        "2027-12-31",
        "100",
        "0.1",
    )
    assert a["site"] == shown["site"]  # the least recently used site suggested at the preview
    with web.app.unit_of_work() as uow:
        assert len(uow.administrations.for_patient(record.id)) == before + 1
    again = client.post("/api/v1/patients/P-0001/give", json={"scan": SCAN}, headers=h).json()
    assert again["recorded"] is False
    codes = [f["code"] for f in again["findings"]]
    assert codes[:2] == ["RECORD_NOT_RECORDED", "RECORD_ALREADY_GIVEN_TODAY"]
    said = next(
        f["message"] for f in again["findings"] if f["code"] == "RECORD_ALREADY_GIVEN_TODAY"
    )
    assert (
        said
        == "A dose was already given on 2027-03-10, recorded by nurse.bo at 2027-03-10T10:00+00:00: a second would double it."
    )


def test_a_scan_that_disagrees_with_the_typed_lot_is_refused(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    r = client.post(
        "/api/v1/patients/P-0001/give/preview", json={"scan": SCAN, "lot": "OTHER"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert r.status_code == 422 and _error(r)["field"] == "lot"


def test_a_nurse_cannot_lift_a_stop_with_a_reason_but_a_prescriber_can(web: Web) -> None:
    nurse, n_csrf = web.as_role("nurse")
    body = {
        "dose": "1000 mcg",
        "override_code": "prescriber-confirmed",
        "override_reason": "per dr",
    }
    r = nurse.post("/api/v1/patients/P-0001/give", json=body, headers={"X-CSRF-Token": n_csrf})
    assert r.status_code == 403 and _error(r)["code"] == "forbidden"
    doctor, d_csrf = web.as_role("prescriber")
    r = doctor.post(
        "/api/v1/patients/P-0001/give/preview", json=body, headers={"X-CSRF-Token": d_csrf}
    )
    assert r.status_code == 200 and r.json()["recorded"] is True
    assert "RECORD_DOSE_DIFFERS" in [f["code"] for f in r.json()["findings"]]


def test_a_prescriber_signs_past_a_stop_only_with_a_reason_and_the_reason_is_kept(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    h = {"X-CSRF-Token": csrf}
    # IV hydroxocobalamin is IM only: a plan with a warning at least; a stop needs the reason
    body = {"indication": "pernicious-anaemia", "start": "2027-03-11"}
    shown = client.post(
        "/api/v1/patients/P-0002/prescriptions/preview", json=body, headers=h
    ).json()
    assert shown["prescribed"] is True and shown["plan"]["administrations"]
    kept = {**body, "override_code": "benefit-outweighs-risk", "override_reason": "discussed"}
    r = client.post("/api/v1/patients/P-0002/prescriptions", json=kept, headers=h)
    assert r.status_code == 200
    assert r.json()["prescription"]["reason"] == "benefit outweighs the risk: discussed"


# --- the one error shape --------------------------------------------------------------------------


def _instance(kind: type[B12Error]) -> B12Error:
    try:
        return kind("a message")  # type: ignore[call-arg]
    except TypeError:
        if kind is AlreadyRecordedError:
            return AlreadyRecordedError("dose 3", "nurse.bo", "2027-03-10T10:00:00", "see it")
        error = kind.__new__(kind)
        Exception.__init__(error, "a message")
        error.field = None  # type: ignore[attr-defined]
        return error


@pytest.mark.parametrize("kind", sorted(ERROR_STATUS, key=lambda k: k.__name__))
def test_every_error_of_b12_is_one_body_with_its_status(
    web: Web, kind: type[B12Error], monkeypatch: pytest.MonkeyPatch
) -> None:
    from b12.adapters.web import actions

    error = _instance(kind)

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(actions, "visible_patients", fail)
    client, _ = web.as_role("nurse")
    r = client.get("/api/v1/patients")
    assert r.status_code == ERROR_STATUS[kind].http_status
    detail = _error(r)
    assert detail["message"] == str(error)
    page = client.get("/patients")
    assert page.status_code == ERROR_STATUS[kind].http_status
    assert "text/html" in page.headers["content-type"] and "Traceback" not in page.text


def test_an_unexpected_error_is_a_bare_500_without_its_trace(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    from b12.adapters.web import actions

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(actions, "visible_patients", fail)
    client, _ = web.as_role("nurse")
    for url in ("/api/v1/patients", "/patients"):
        r = client.get(url)
        assert r.status_code == 500
        assert "secret detail" not in r.text and "RuntimeError" not in r.text
    assert _error(client.get("/api/v1/patients"))["code"] == "internal"


def test_unknown_addresses_and_methods_answer_in_the_same_shape(web: Web) -> None:
    client, _ = web.as_role("nurse")
    assert _error(client.get("/api/v1/nothing-here"))["code"] == "not_found"
    assert _error(client.put("/api/v1/me"))["code"] == "method_not_allowed"
    bad = client.post("/api/v1/session", json={"username": 5})
    assert bad.status_code == 422 and _error(bad)["code"] == "invalid_input"


# --- the audit trail ------------------------------------------------------------------------------


def test_every_read_and_write_of_a_patient_leaves_an_audit_entry_with_the_sessions_name(
    web: Web,
) -> None:
    client, csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    with web.app.unit_of_work() as uow:
        start = sum(1 for _ in uow.audit.entries())
    client.get("/api/v1/patients/P-0001")
    client.get("/patients/P-0001")
    client.get("/api/v1/mar")
    client.post("/api/v1/patients/P-0001/give", json={"scan": SCAN}, headers=h)
    client.post(
        "/api/v1/patients/P-0002/not-given",
        json={"kind": "refused", "reason": "declined the injection today"},
        headers=h,
    )
    with web.app.unit_of_work() as uow:
        new = list(uow.audit.entries())[start:]
    assert [(e.who, e.action) for e in new] == [
        ("nurse.bo", "read-patient"),
        ("nurse.bo", "read-patient"),
        ("nurse.bo", "read-mar"),
        ("nurse.bo", "give"),
        ("nurse.bo", "missed"),
    ]
    assert list(new[2].payload["patients"]) == ["P-0003", "P-0004", "P-0001", "P-0002", "P-0005"]


def test_the_login_form_works_only_with_the_token_of_its_own_page(web: Web) -> None:
    form = {"username": "nurse.bo", "password": demo.PASSWORD}
    foreign = web.client().post(
        "/login", data={**form, "login_token": "made-up"}, follow_redirects=False
    )
    assert foreign.status_code == 403 and "session" not in foreign.headers.get("set-cookie", "")
    client = web.client()
    page = client.get("/login")
    token = page.text.split('name="login_token" value="')[1].split('"')[0]
    done = client.post("/login", data={**form, "login_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/mar"
    assert "b12_session=" in done.headers["set-cookie"]


def test_a_reaction_recorded_by_a_nurse_stops_the_next_dose_until_a_prescriber_lifts_it(
    web: Web,
) -> None:
    nurse, n_csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": n_csrf}
    reaction = {"on": "2027-03-04", "description": "hives and wheeze after the injection",
                "severity": "severe"}  # fmt: skip
    r = nurse.post("/api/v1/patients/P-0001/events", json=reaction, headers=h)
    assert r.status_code == 200 and r.json()["event"]["administration_id"]
    refused = nurse.post("/api/v1/patients/P-0001/give", json={}, headers=h).json()
    assert refused["recorded"] is False
    assert "RECORD_REACTION_STOP" in [f["code"] for f in refused["findings"]]
    mar = nurse.get("/api/v1/mar").json()["due"]
    assert next(d for d in mar if d["patient"] == "P-0001")["state"] == "stop"
    lift = {"override_code": "prescriber-confirmed", "override_reason": "adrenaline at hand"}
    assert nurse.post("/api/v1/patients/P-0001/give", json=lift, headers=h).status_code == 403
    doctor, d_csrf = web.as_role("prescriber")
    done = doctor.post("/api/v1/patients/P-0001/give", json=lift, headers={"X-CSRF-Token": d_csrf})
    assert done.json()["recorded"] is True
    assert (
        done.json()["administration"]["override_reason"]
        == "prescriber confirmed the order: adrenaline at hand"
    )


def test_a_prescriber_stops_a_prescription_and_the_patient_leaves_the_mar(web: Web) -> None:
    doctor, csrf = web.as_role("prescriber")
    r = doctor.post(
        "/api/v1/patients/P-0002/prescriptions/stop", json={"reason": "remission confirmed"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["prescription"]["status"] == "stopped"
    assert "P-0002" not in [d["patient"] for d in doctor.get("/api/v1/mar").json()["due"]]
