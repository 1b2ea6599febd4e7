"""Correct a dose or a result, or mark it entered in error, from the web door: prescribers only,
the original kept and shown struck through with the reason, who and when; a voided dose no longer
counts; another patient's record ids answer as absent ones."""

from __future__ import annotations

from typing import Any

import pytest

from b12.domain.records import current
from b12.services.record import find_patient
from tests.web.conftest import OWN, USER_OF, Web

ABSENT_ID = "00000000-0000-4000-8000-000000000000"


def _administrations(web: Web, code: str) -> list[Any]:
    with web.app.unit_of_work() as uow:
        return list(uow.administrations.for_patient(find_patient(uow, code).id))


def _last_given(web: Web, code: str) -> Any:
    return max(current(_administrations(web, code)), key=lambda a: a.given_at)


def _given_count(web: Web, client: Any, code: str) -> int:
    r = client.get(f"/api/v1/patients/{code}")
    assert r.status_code == 200, r.text
    return int(r.json()["given"])


def test_a_prescriber_corrects_a_dose_and_the_original_stays_struck_through(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    old = _last_given(web, "P-0001")
    r = client.post(
        f"/api/v1/patients/P-0001/records/{old.id}/correct",
        json={"dose_mcg": "500", "volume_ml": "0.5", "reason": "written as 1,000 mcg by mistake"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    assert r.json()["corrects"] == old.id
    every = _administrations(web, "P-0001")
    assert old in every  # nothing changed, nothing deleted
    (new,) = [a for a in every if a.corrects_id == old.id]
    assert (new.dose_mcg, new.correction_reason, new.corrected_by) == (
        500, "written as 1,000 mcg by mistake", "dr.ames",
    )  # fmt: skip
    assert new.given_by == old.given_by  # who gave it is still who gave it
    page = client.get("/patients/P-0001").text
    assert "<del>" in page and "written as 1,000 mcg by mistake (dr.ames, 2027-03-10 10:00)" in page
    shown = client.get("/api/v1/patients/P-0001").json()["corrections"]
    assert [(c["original"]["id"], c["by"]["id"], c["entered_in_error"]) for c in shown] == [
        (old.id, new.id, False)
    ]


def test_an_unchanged_form_corrects_nothing_and_says_so(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    old = _last_given(web, "P-0001")
    r = client.post(
        f"/api/v1/patients/P-0001/records/{old.id}/correct",
        json={"dose_mcg": str(old.dose_mcg), "lot": old.lot, "reason": "checking the entry"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422 and "nothing was given to correct" in r.text


def test_a_dose_entered_in_error_no_longer_counts_and_is_owed_again(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    before = _given_count(web, client, "P-0002")
    old = _last_given(web, "P-0002")
    r = client.post(
        f"/patients/P-0002/records/{old.id}/entered-in-error",
        data={"reason": "recorded for the wrong patient", "csrf": csrf},
    )
    assert r.status_code == 200, r.text
    assert "entered in error" in r.text and "<del>" in r.text
    assert _given_count(web, client, "P-0002") == before - 1
    assert old.id not in {a.id for a in current(_administrations(web, "P-0002"))}
    twice = client.post(f"/api/v1/patients/P-0002/records/{old.id}/entered-in-error",
                        json={"reason": "pressed again"}, headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert twice.status_code == 404, twice.text
    said = twice.json()["error"]["message"]
    assert "already marked entered in error by dr.ames ('recorded for the wrong patient')" in said
    mar = client.get("/mar").text  # due again, the void shown struck through beside it
    assert "recorded for the wrong patient (dr.ames, 2027-03-10 10:00)" in mar
    # the dose can be given again (it replaces the void; one dose once holds)
    nurse, n_csrf = web.as_role("nurse")
    again = nurse.post("/api/v1/patients/P-0002/give", json={"lot": "L9", "expiry": "2028-01-31"},
                       headers={"X-CSRF-Token": n_csrf})  # fmt: skip
    assert again.status_code == 200 and again.json()["recorded"] is True, again.text
    assert again.json()["administration"]["planned_number"] == old.planned_number
    assert _given_count(web, client, "P-0002") == before


def test_a_result_is_corrected_by_a_new_reading_and_can_be_voided(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    with web.app.unit_of_work() as uow:
        lab = current(uow.labs.for_patient(find_patient(uow, "P-0001").id))[-1]
    h = {"X-CSRF-Token": csrf}
    form = client.get(f"/patients/P-0001/records/{lab.id}/correct")
    assert form.status_code == 200 and "Reading, as written" in form.text
    r = client.post(f"/api/v1/patients/P-0001/records/{lab.id}/correct",
                    json={"reading": lab.text.replace(lab.text.split("=")[1], "999pg/mL")
                          if lab.analyte == "b12" else lab.text, "taken_on": "2027-03-01",
                          "reason": "the lab sent a corrected report"}, headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    new_id = r.json()["record"]["id"]
    v = client.post(f"/api/v1/patients/P-0001/records/{new_id}/entered-in-error",
                    json={"reason": "another patient's sample"}, headers=h)  # fmt: skip
    assert v.status_code == 200, v.text
    results = client.get("/api/v1/patients/P-0001").json()["results"]
    assert lab.id not in {x["id"] for x in results} and new_id not in {x["id"] for x in results}


@pytest.mark.parametrize("role", sorted(USER_OF))
@pytest.mark.parametrize("act", ["correct", "entered-in-error"])
def test_only_a_prescriber_corrects_or_voids(web: Web, role: str, act: str) -> None:
    code = OWN[role]
    old = _last_given(web, code)
    client, csrf = web.as_role(role)
    body = {"dose_mcg": str(old.dose_mcg * 2)} if act == "correct" else {}  # what each takes
    body["reason"] = "checking who may"
    r = client.post(f"/api/v1/patients/{code}/records/{old.id}/{act}", json=body,
                    headers={"X-CSRF-Token": csrf})  # fmt: skip
    if role == "prescriber":
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
        assert old in current(_administrations(web, code))


@pytest.mark.parametrize("route", ["correct", "entered-in-error"])
def test_another_patients_record_id_answers_as_an_absent_one(web: Web, route: str) -> None:
    client, csrf = web.as_role("prescriber")
    theirs = _last_given(web, "P-0002").id
    body = {"dose_mcg": "1"} if route == "correct" else {}  # what each route takes
    body["reason"] = "addressed under another patient"

    def ask(record_id: str) -> tuple[int, str]:
        r = client.post(f"/api/v1/patients/P-0001/records/{record_id}/{route}", json=body,
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
        return r.status_code, r.text.replace(record_id, "{id}")

    assert ask(theirs) == ask(ABSENT_ID)
    assert ask(ABSENT_ID)[0] == 404
    assert theirs in {a.id for a in current(_administrations(web, "P-0002"))}


def test_corrections_need_the_csrf_token_and_leave_audit_entries(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    old = _last_given(web, "P-0001")
    forged = client.post(f"/patients/P-0001/records/{old.id}/entered-in-error",
                         data={"reason": "no token", "csrf": "forged"})  # fmt: skip
    assert forged.status_code == 403
    with web.app.unit_of_work() as uow:
        start = sum(1 for _ in uow.audit.entries())
    client.get(f"/patients/P-0001/records/{old.id}/correct")
    client.post(f"/patients/P-0001/records/{old.id}/entered-in-error",
                data={"reason": "never given: the patient was away", "csrf": csrf})  # fmt: skip
    with web.app.unit_of_work() as uow:
        new = list(uow.audit.entries())[start:]
    assert [(e.who, e.action) for e in new] == [
        ("dr.ames", "open-correct-form"), ("dr.ames", "open-correct-form"),
        ("dr.ames", "void-administration"),
    ]  # fmt: skip
    assert new[-1].payload["reason"] == "never given: the patient was away"


def test_the_patient_page_prints_times_on_the_clinics_clock_as_the_command_line_does(
    web: Web,
) -> None:
    client, _ = web.as_role("nurse")
    page = client.get("/patients/P-0001").text
    given = _last_given(web, "P-0001").given_at
    assert f"{given:%Y-%m-%d %H:%M} by nurse.bo" in page
    assert given.isoformat(timespec="minutes") not in page


def test_a_stop_recorded_after_the_nurses_check_is_never_lifted_by_her_reason(web: Web) -> None:
    """The dry run and the give were two transactions: a reaction recorded between them was
    lifted by the nurse's reason. Now a second unit of work opened for the give records the
    reaction first; whatever the give records carries no stop."""
    from b12.adapters.web import actions, demo
    from b12.domain.findings import Level
    from b12.services import accounts as acc
    from b12.services.record import add_event

    app = web.app
    nurse = acc.log_in(app.accounts, app.passwords, "nurse.bo", demo.PASSWORD, app.clock).actor
    factory, opened = app.unit_of_work, []

    def meanwhile() -> Any:
        opened.append(1)
        if len(opened) == 2:  # a colleague records a reaction to the last injection
            add_event(factory, "P-0001", app.clock.now().date(), "anaphylaxis after the dose",
                      "severe", "dr.ames", app.clock.now())  # fmt: skip
        return factory()

    app.unit_of_work = meanwhile  # type: ignore[method-assign]
    form = actions.GiveForm(lot="L1", expiry=None, override_code="patient-informed")
    try:
        actions.give_dose(app, nurse, "P-0001", form, preview=False)
    except acc.ForbiddenError:
        pass
    finally:
        del app.unit_of_work
    mine = [a for a in _administrations(web, "P-0001") if a.override_reason]
    assert all(f["level"] != Level.STOP.value for a in mine for f in a.findings), mine
