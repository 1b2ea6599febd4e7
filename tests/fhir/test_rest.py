"""/fhir/r4 as an outside client calls it: every route for every role, the answers' shapes
(application/fhir+json; an OperationOutcome for every error), paging, creates through the
same use cases and five rights as the web's give, and the audit of every read."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from b12.adapters.fhir.jsonio import dumps
from tests.web.conftest import NOW, OWN, USER_OF, Web

FHIR = "/fhir/r4"
MEDIA = "application/fhir+json"
UCUM = "http://unitsofmeasure.org"


def _ids(web: Web, code: str) -> dict[str, str]:
    """The first record of each type of patient ``code`` (a result added when it has none)."""
    from tests.web.test_bola import resource_id

    try:
        resource_id(web, f"{FHIR}/Observation/{{id}}", code)
    except IndexError:
        assert _post(web, "nurse", "/Observation", _observation(code)).status_code == 201
    return {
        kind: resource_id(web, f"{FHIR}/{kind}/{{id}}", code)
        for kind in ("MedicationRequest", "MedicationAdministration", "Observation")
    }


def _observation(code: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": f"Patient/{code}"}, "effectiveDateTime": "2027-03-09",
        "valueQuantity": {"value": Decimal("11.5"), "unit": "g/dL", "system": UCUM, "code": "g/dL"},
    }  # fmt: skip


def _administration(web: Web, code: str, **extra: Any) -> dict[str, Any]:
    """The dose the course owes, as the give preview says it, given now."""
    client, csrf = web.as_role("prescriber")
    preview = client.post(
        f"/api/v1/patients/{code}/give/preview", json={}, headers={"X-CSRF-Token": csrf}
    ).json()
    planned = preview["planned"]
    return {
        "resourceType": "MedicationAdministration", "status": "completed",
        "medicationCodeableConcept": {"text": "cyanocobalamin"},
        "subject": {"reference": f"Patient/{code}"},
        "effectiveDateTime": NOW.isoformat(),
        "dosage": {"dose": {"value": Decimal(planned["dose_mcg"]), "unit": "mcg", "system": UCUM, "code": "ug"},
                   "route": {"text": planned["route"]}, "site": {"text": "left deltoid"}},
        **extra,
    }  # fmt: skip


def _post(web: Web, role: str, path: str, body: Any, **headers: str) -> Any:
    client, csrf = web.as_role(role)
    return client.post(
        FHIR + path,
        content=body if isinstance(body, str | bytes) else dumps(body),
        headers={"X-CSRF-Token": csrf, "content-type": MEDIA, **headers},
    )


def _is_outcome(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(MEDIA)
    body = r.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["severity"] in (
        "error",
        "fatal",
    )


# --- every route, every role ----------------------------------------------------------------------

READS = ["Patient/{code}", "MedicationRequest/{id}", "MedicationAdministration/{id}",
         "Observation/{id}", "Patient", "MedicationRequest?patient={code}",
         "MedicationAdministration?patient={code}", "Observation?patient={code}", "metadata"]  # fmt: skip


def test_every_fhir_route_is_in_this_matrix(web: Web) -> None:
    from b12.adapters.web.app import create_app, route_table

    routes = {(m, p) for m, p in route_table(create_app(web.app)) if p.startswith(FHIR)}
    covered = {("GET", FHIR + "/" + r.split("?")[0]) for r in READS} | {
        ("POST", f"{FHIR}/Observation"), ("POST", f"{FHIR}/MedicationAdministration"),
    }  # fmt: skip
    assert routes == covered


@pytest.mark.parametrize("route", READS)
@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_reads_its_own_patient_on_every_route(web: Web, role: str, route: str) -> None:
    code = OWN[role]
    kind = route.split("/")[0].split("?")[0]
    rid = _ids(web, code).get(kind, "")
    client, _ = web.as_role(role)
    r = client.get(f"{FHIR}/{route.format(code=code, id=rid)}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(MEDIA)
    body = r.json()
    if "?" in route or route == "Patient":
        assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
        owners = {e["resource"].get("subject", {}).get("reference") for e in body.get("entry", [])}
        if route != "Patient":
            assert owners <= {f"Patient/{code}"} and body["total"] >= 1
        else:
            shown = {e["resource"]["id"] for e in body["entry"]}
            assert code in shown
            assert shown == ({OWN[role]} if role == "patient" else shown)
    elif route == "metadata":
        assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    else:
        assert body["resourceType"] == kind and body["id"] in (code, rid)


@pytest.mark.parametrize("route", [r for r in READS if r != "metadata"])
def test_without_a_session_every_route_but_metadata_is_401(web: Web, route: str) -> None:
    ids = _ids(web, "P-0001")
    kind = route.split("/")[0].split("?")[0]
    r = web.client().get(f"{FHIR}/{route.format(code='P-0001', id=ids.get(kind, ''))}")
    _is_outcome(r, 401)
    assert r.json()["issue"][0]["code"] == "login"
    assert web.client().get(f"{FHIR}/metadata").status_code == 200


CREATE_STATUS = {
    "nurse": 201,
    "prescriber": 403,
    "pharmacist": 403,
    "patient": 403,
    "caregiver": 403,
}


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_results_are_created_by_the_roles_that_add_labs(web: Web, role: str) -> None:
    r = _post(web, role, "/Observation", _observation(OWN[role]))
    if CREATE_STATUS[role] == 201:
        assert r.status_code == 201, r.text
        body = r.json()
        assert r.headers["location"] == f"{FHIR}/Observation/{body['id']}"
        assert (
            body["valueQuantity"]["value"] == 11.5 and body["code"]["coding"][0]["code"] == "718-7"
        )
        again = web.as_role(role)[0].get(r.headers["location"])
        assert again.json() == body
    else:
        _is_outcome(r, 403)


#: The demo's caregiver is linked to inject P-0004 under a self-injection prescription.
GIVE_STATUS = {"nurse": 201, "prescriber": 201, "pharmacist": 403, "patient": 201, "caregiver": 201}


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_a_dose_given_goes_through_the_five_rights_for_the_roles_that_give(
    web: Web, role: str
) -> None:
    code = OWN[role]
    body = _administration(web, code)
    r = _post(web, role, "/MedicationAdministration", body)
    if GIVE_STATUS[role] != 201:
        _is_outcome(r, 403)
        return
    assert r.status_code == 201, r.text
    given = r.json()
    assert given["performer"][0]["actor"]["display"] == USER_OF[role]
    assert given["request"]["reference"].startswith("MedicationRequest/")
    # the same day again: the give's stop, nothing recorded, the findings as the outcome
    twice = _post(web, role, "/MedicationAdministration", body)
    _is_outcome(twice, 422)
    codes = {i["details"]["text"] for i in twice.json()["issue"]}
    assert "RECORD_ALREADY_GIVEN_TODAY" in codes


@pytest.mark.parametrize("role", ["nurse", "prescriber"])
def test_only_a_role_that_may_bypass_lifts_a_stop_with_a_reason(web: Web, role: str) -> None:
    from b12.services.accounts import entries_of

    def gives() -> int:
        return sum(e.action == "give" for e in entries_of(web.app.unit_of_work))

    body = _administration(web, "P-0001")
    assert _post(web, "nurse", "/MedicationAdministration", body).status_code == 201
    before = gives()
    reason = {"url": "https://b12.invalid/fhir/StructureDefinition/override-reason",
              "valueString": "second dose today confirmed with the prescriber"}  # fmt: skip
    again = _post(web, role, "/MedicationAdministration", {**body, "extension": [reason]})
    if role == "nurse":
        _is_outcome(again, 403)
        assert gives() == before  # the stop, found in the give's own transaction, kept it out
    else:
        assert again.status_code == 201, again.text
        assert gives() == before + 1


def test_a_patient_records_a_dose_only_under_a_self_injection_prescription(web: Web) -> None:
    from b12.adapters.web import demo
    from b12.services import accounts as acc
    from b12.services.accounts import entries_of

    acc.add_account(
        web.app.accounts, web.app.passwords, "pat.p1", demo.PASSWORD, "patient", "test",
        web.app.clock, patients=("P-0001",),
    )  # fmt: skip
    client, csrf = web.login("pat.p1")
    body = _administration(web, "P-0001")
    before = list(entries_of(web.app.unit_of_work))
    r = client.post(
        FHIR + "/MedicationAdministration",
        content=dumps(body),
        headers={"X-CSRF-Token": csrf, "content-type": MEDIA},
    )
    _is_outcome(r, 403)
    assert "ask your prescriber" in r.json()["issue"][0]["diagnostics"]
    assert [e.action for e in entries_of(web.app.unit_of_work)][len(before) :] == []


def test_a_performer_other_than_the_session_is_refused(web: Web) -> None:
    body = _administration(web, "P-0001", performer=[{"actor": {"display": "dr.ames"}}])
    r = _post(web, "nurse", "/MedicationAdministration", body)
    _is_outcome(r, 422)
    assert "performer" in r.json()["issue"][0]["expression"][0]


def test_a_prescription_not_the_active_one_is_refused(web: Web) -> None:
    body = _administration(web, "P-0001", request={"reference": "MedicationRequest/not-this-one"})
    r = _post(web, "nurse", "/MedicationAdministration", body)
    _is_outcome(r, 422)
    assert "active prescription" in r.json()["issue"][0]["diagnostics"]


def test_a_foreign_patient_is_not_found_on_create_as_on_read(web: Web) -> None:
    absent = _post(web, "patient", "/Observation", _observation("P-9999"))
    foreign = _post(web, "patient", "/Observation", _observation("P-0001"))
    _is_outcome(absent, 404)
    assert foreign.status_code == 404
    assert foreign.text.replace("P-0001", "X") == absent.text.replace("P-9999", "X")


# --- the answers' shapes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status, code",
    [
        ("/Observation?patient=P-0001&colour=red", 400, "invalid"),
        ("/Observation?patient=P-0001&_count=0", 400, "invalid"),
        ("/Observation?patient=P-0001&_count=101", 400, "invalid"),
        ("/Observation?patient=P-0001&_count=ten", 400, "invalid"),
        ("/Observation?patient=P-0001&_offset=-1", 400, "invalid"),
        ("/Observation", 400, "invalid"),
        ("/Observation?patient=P-9999", 404, "not-found"),
        ("/Observation/no-such-id", 404, "not-found"),
        ("/Patient/P-9999", 404, "not-found"),
        ("/Encounter/1", 404, "not-found"),
    ],
)
def test_every_read_error_is_an_operation_outcome(
    web: Web, path: str, status: int, code: str
) -> None:
    r = web.as_role("nurse")[0].get(FHIR + path)
    _is_outcome(r, status)
    assert r.json()["issue"][0]["code"] == code


@pytest.mark.parametrize(
    "body, headers, status",
    [
        ('{"resourceType": "Observation", "valueQuantity": {"value": NaN}}', {}, 422),
        ("not json", {}, 422),
        ('{"resourceType": "Patient", "id": "P-1"}', {}, 422),
        (
            json.dumps(
                {**_observation("P-0001"), "valueQuantity": {"value": "11.5", "code": "g/dL"}}
            ),
            {},
            422,
        ),
        (dumps(_observation("P-0001")), {"content-type": "text/plain"}, 415),
        (dumps(_observation("P-0001")), {"X-CSRF-Token": "wrong"}, 403),
    ],
)
def test_every_create_error_is_an_operation_outcome(
    web: Web, body: str, headers: dict[str, str], status: int
) -> None:
    _is_outcome(_post(web, "nurse", "/Observation", body, **headers), status)


def test_a_method_the_route_does_not_take_is_an_operation_outcome(web: Web) -> None:
    client, csrf = web.as_role("prescriber")
    _is_outcome(client.delete(f"{FHIR}/Patient/P-0001", headers={"X-CSRF-Token": csrf}), 405)


def test_paging_follows_next_links_to_every_result_once(web: Web) -> None:
    client, _ = web.as_role("nurse")
    url: str | None = f"{FHIR}/Observation?patient=P-0001&_count=2"
    seen: list[str] = []
    total = None
    while url:
        page = client.get(url).json()
        total = page["total"]
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        assert len(page.get("entry", [])) <= 2
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert total is not None and total > 2 and len(seen) == total == len(set(seen))


def test_prefer_operation_outcome_returns_the_findings_of_a_create(web: Web) -> None:
    body = {**_observation("P-0001"), "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
            "valueQuantity": {"value": 120, "unit": "pg/mL", "system": UCUM, "code": "pg/mL"}}  # fmt: skip
    r = _post(web, "nurse", "/Observation", body, Prefer="return=OperationOutcome")
    assert r.status_code == 201 and r.json()["resourceType"] == "OperationOutcome"
    assert "LAB_DEFICIENT" in {i["details"]["text"] for i in r.json()["issue"]}


def test_every_read_is_audited_with_who_and_the_patient(web: Web) -> None:
    from b12.services.accounts import entries_of

    before = len(list(entries_of(web.app.unit_of_work)))
    client, _ = web.as_role("pharmacist")
    rid = _ids(web, "P-0001")["Observation"]
    assert client.get(f"{FHIR}/Observation/{rid}").status_code == 200
    assert client.get(f"{FHIR}/MedicationRequest?patient=P-0001").status_code == 200
    entries = list(entries_of(web.app.unit_of_work))[before:]
    actions = [(e.who, e.action) for e in entries if e.action.startswith("fhir-")]
    assert actions == [
        ("ph.chen", "fhir-read-Observation"),
        ("ph.chen", "fhir-search-MedicationRequest"),
    ]
    assert all(e.patient for e in entries if e.action.startswith("fhir-"))


def test_the_capability_statement_says_what_the_server_does(
    web: Web, schema_validator: Any
) -> None:
    from b12.adapters.fhir.jsonio import loads
    from tests.fhir.helpers import r4b_loads, schema_errors

    body = loads(web.client().get(f"{FHIR}/metadata").text)
    types = {r["type"]: {i["code"] for i in r["interaction"]} for r in body["rest"][0]["resource"]}
    assert types["Observation"] == {"read", "search-type", "create"}
    assert types["Patient"] == {"read", "search-type"}
    assert "Bearer" in body["rest"][0]["security"]["description"]
    assert schema_errors(schema_validator, body) == []
    r4b_loads(body)


def test_every_answer_validates(web: Web, schema_validator: Any) -> None:
    """Searches, reads and errors: each a valid R4 resource."""
    from b12.adapters.fhir.jsonio import loads
    from tests.fhir.helpers import schema_errors

    client, _ = web.as_role("nurse")
    for path in ("/Patient", "/MedicationRequest?patient=P-0001", "/MedicationAdministration?patient=P-0001",
                 "/Observation?patient=P-0001&_count=3", "/Observation/nope", "/Patient?x=1"):  # fmt: skip
        body = loads(client.get(FHIR + path).text)
        assert schema_errors(schema_validator, body) == [], path


# --- what a resource says about itself ------------------------------------------------------------

MODIFIER = {"url": "https://example.org/fhir/StructureDefinition/not-really", "valueBoolean": True}


def _with_modifier(body: dict[str, Any], where: str) -> dict[str, Any]:
    out = json.loads(dumps(body), parse_float=Decimal)
    target = out
    for part in [p for p in where.split(".") if p]:
        target = target[int(part)] if part.isdigit() else target[part]
    target["modifierExtension"] = [MODIFIER]
    return out  # type: ignore[no-any-return]


def _recorded(web: Web) -> list[str]:
    from b12.services.accounts import entries_of

    return [e.action for e in entries_of(web.app.unit_of_work) if e.action in ("give", "labs")]


@pytest.mark.parametrize(
    "path, where",
    [("/Observation", ""), ("/Observation", "code"), ("/Observation", "valueQuantity"),
     ("/MedicationAdministration", ""), ("/MedicationAdministration", "dosage"),
     ("/MedicationAdministration", "dosage.dose"),
     ("/MedicationAdministration", "medicationCodeableConcept"),
     ("/MedicationAdministration", "contained.0")],
)  # fmt: skip
def test_a_modifier_extension_refuses_a_create_nothing_recorded(
    web: Web, path: str, where: str
) -> None:
    if path == "/Observation":
        body = _observation("P-0001")
    else:
        body = _administration(web, "P-0001")
        if where.startswith("contained"):
            del body["medicationCodeableConcept"]
            body["contained"] = [{"resourceType": "Medication", "id": "med",
                                  "code": {"text": "cyanocobalamin"}}]  # fmt: skip
            body["medicationReference"] = {"reference": "#med"}
    before = _recorded(web)
    r = _post(web, "nurse", path, _with_modifier(body, where))
    _is_outcome(r, 422)
    said = r.json()["issue"][0]
    assert said["expression"][0].endswith("modifierExtension"), said
    assert "b12 does not read it" in said["diagnostics"]
    assert _recorded(web) == before


# --- staff-only parts of a give: the same rule as the web's give ----------------------------------

OVERRIDE = {"url": "https://b12.invalid/fhir/StructureDefinition/override-reason",
            "valueString": "reviewed with the prescriber before giving"}  # fmt: skip
#: With an override reason: staff who give record it; a patient or a carer may not give a reason
#: (as on the web); a pharmacist does not give at all.
OVERRIDE_STATUS = {"nurse": 201, "prescriber": 201, "pharmacist": 403, "patient": 403,
                   "caregiver": 403}  # fmt: skip


def _gives(web: Web) -> int:
    from b12.services.accounts import entries_of

    return sum(e.action == "give" for e in entries_of(web.app.unit_of_work))


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_an_override_reason_is_staff_only_on_the_fhir_door_as_on_the_web(
    web: Web, role: str
) -> None:
    code = OWN[role]
    before = _gives(web)
    r = _post(web, role, "/MedicationAdministration",
              _administration(web, code, extension=[OVERRIDE]))  # fmt: skip
    if OVERRIDE_STATUS[role] == 403:
        _is_outcome(r, 403)
        assert _gives(web) == before
    else:
        assert r.status_code == 201, r.text
        kept = {e["url"]: e for e in r.json()["extension"]}
        assert kept[OVERRIDE["url"]]["valueString"] == OVERRIDE["valueString"]
    # the web's JSON give answers the same for the same role
    client, csrf = web.as_role(role)
    web_said = client.post(
        f"/api/v1/patients/{code}/give/preview",
        json={"override_code": "other", "override_reason": OVERRIDE["valueString"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert (web_said.status_code == 403) == (OVERRIDE_STATUS[role] == 403), web_said.text


@pytest.mark.parametrize("role", sorted(USER_OF))
@pytest.mark.parametrize("ago", [timedelta(days=22), timedelta(hours=2), timedelta(minutes=30)])
def test_a_dose_dated_long_before_now_is_a_late_entry_for_staff_only(
    web: Web, role: str, ago: timedelta
) -> None:
    from b12.services.accounts import AT_HOME_LATE

    code = OWN[role]
    before = _gives(web)
    body = _administration(web, code, effectiveDateTime=(NOW - ago).isoformat())
    r = _post(web, role, "/MedicationAdministration", body)
    if role == "pharmacist" or (role in ("patient", "caregiver") and ago > AT_HOME_LATE):
        _is_outcome(r, 403)
        assert _gives(web) == before
        if role != "pharmacist":
            assert "late entry" in r.json()["issue"][0]["diagnostics"]
    else:
        assert r.status_code != 403, r.text


def test_a_patient_cannot_backdate_past_a_stop_with_a_reason(web: Web) -> None:
    """The reported case: a patient's own dose, 22 days back, with an override reason."""
    code = OWN["patient"]
    before = _gives(web)
    body = _administration(
        web, code, extension=[OVERRIDE], effectiveDateTime=(NOW - timedelta(days=22)).isoformat()
    )
    _is_outcome(_post(web, "patient", "/MedicationAdministration", body), 403)
    assert _gives(web) == before


def test_a_body_weight_posted_as_a_result_is_refused_nothing_recorded(web: Web) -> None:
    """A weight is the patient's profile (read with the Patient by `b12 fhir import`), not a
    laboratory result: refused with where to send it."""
    body = _observation("P-0001")
    body["code"] = {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}
    body["valueQuantity"] = {"value": 70, "unit": "kg", "system": UCUM, "code": "kg"}
    before = _recorded(web)
    r = _post(web, "nurse", "/Observation", body)
    _is_outcome(r, 422)
    said = r.json()["issue"][0]
    assert "part of the patient's profile" in said["diagnostics"], said
    assert _recorded(web) == before
