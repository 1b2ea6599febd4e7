"""Every date the web door reads (each date field of each JSON request model, the MAR's day, and
each date of each page form) is in the years b12 works in, refused in the command line's words
(b12.domain.dates.in_range) on both sides of each end of the range, and nothing is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

from b12.domain.dates import FIRST_YEAR, LAST_YEAR, in_range
from b12.errors import InputError
from tests.web.conftest import Web
from tests.web.test_unknown_fields import API_BODIES, ROUTES, form_fields

OUT = [
    "1800-01-01",
    "0001-01-01",
    "9999-12-31",
    f"{FIRST_YEAR - 1}-12-31",
    f"{LAST_YEAR + 1}-01-01",
]


def _cli_says(field: str, text: str) -> str:
    with pytest.raises(InputError) as refused:
        in_range(dt.date.fromisoformat(text), field)
    return str(refused.value)


def _is_date(annotation: Any) -> bool:
    """date, date | None, or either with metadata (Annotated[date, ...])."""
    return annotation is dt.date or any(_is_date(a) for a in get_args(annotation))


def _date_fields() -> list[tuple[type[BaseModel], str]]:
    models = {m for _, _, m in API_BODIES}
    return sorted(
        ((m, name) for m in models for name, f in m.model_fields.items() if _is_date(f.annotation)),
        key=lambda x: (x[0].__name__, x[1]),
    )


DATE_FIELDS = _date_fields()


def test_the_models_have_date_fields() -> None:
    named = {(m.__name__, f) for m, f in DATE_FIELDS}
    assert {("LabsIn", "taken_on"), ("EventIn", "on"), ("DispenseIn", "expiry"),
            ("GiveIn", "expiry"), ("PrescribeIn", "start")} <= named  # fmt: skip


@pytest.mark.parametrize("text", OUT)
@pytest.mark.parametrize(("model", "field"), DATE_FIELDS, ids=str)
def test_every_date_field_of_every_request_model_is_refused_out_of_range(
    model: type[BaseModel], field: str, text: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({field: text})
    (mine,) = [e for e in refused.value.errors() if e["loc"] == (field,)]
    assert str(mine["ctx"]["error"]) == _cli_says(field, text)


@pytest.mark.parametrize("text", [f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31"])
@pytest.mark.parametrize(("model", "field"), DATE_FIELDS, ids=str)
def test_every_date_field_takes_both_ends_of_the_range(
    model: type[BaseModel], field: str, text: str
) -> None:
    try:
        model.model_validate({field: text})
    except ValidationError as error:
        assert not [e for e in error.errors() if e["loc"] == (field,)]


#: A body each date-bearing route otherwise accepts, and the date field in it.
BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "/api/v1/patients/{code}/labs": ("taken_on", {"readings": ["hb=12g/dL"], "taken_on": ""}),
    "/api/v1/patients/{code}/events": (
        "on", {"on": "", "description": "rash", "severity": "mild"}),
    "/api/v1/patients/{code}/give/preview": ("expiry", {"expiry": ""}),
    "/api/v1/patients/{code}/give": ("expiry", {"expiry": ""}),
    "/api/v1/patients/{code}/prescriptions/preview": (
        "start", {"indication": "pernicious-anaemia", "start": ""}),
    "/api/v1/patients/{code}/prescriptions": (
        "start", {"indication": "pernicious-anaemia", "start": ""}),
    "/api/v1/patients/{code}/supply/dispense": ("expiry", {
        "product": "cyanocobalamin-us-1000mcg-ml-10ml-vial", "count": 1, "lot": "L1",
        "expiry": ""}),
}  # fmt: skip


def test_every_route_with_a_date_is_tried_through_the_app() -> None:
    with_dates = {p for _, p, m in API_BODIES if any(m is dm for dm, _ in DATE_FIELDS)}
    assert with_dates == set(BODIES)


def _audit(web: Web) -> list[str]:
    with web.app.unit_of_work() as uow:
        return [e.action for e in uow.audit.entries()]


@pytest.mark.parametrize("text", ["1800-01-01", "0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("path", sorted(BODIES))
def test_an_out_of_range_date_is_refused_through_the_api(web: Web, path: str, text: str) -> None:
    field, body = BODIES[path]
    client, csrf = web.as_role("prescriber")
    code = "P-0004" if "supply" in path or "give" in path else "P-0001"
    before = _audit(web)
    r = client.post(path.replace("{code}", code), json={**body, field: text},
                    headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {
        "code": "invalid_input", "message": _cli_says(field, text), "field": field
    }  # fmt: skip
    assert _audit(web) == before


def test_the_mar_of_a_day_out_of_range_is_refused(web: Web) -> None:
    client, _ = web.as_role("nurse")
    r = client.get("/api/v1/mar", params={"on": "1800-01-01"})
    assert r.status_code == 422 and r.json()["error"]["message"] == _cli_says("on", "1800-01-01")
    assert client.get("/api/v1/mar", params={"on": "2027-03-10"}).status_code == 200


# --- page forms -----------------------------------------------------------------------------------

#: The date fields of the page forms (form fields are text: which are dates is said here, and the
#: next test keeps the list whole against every form field named as a date of the JSON API).
FORM_DATES: dict[str, tuple[str, ...]] = {
    "/patients/{code}/give/check": ("expiry",),
    "/patients/{code}/give": ("expiry",),
    "/patients/{code}/events": ("on",),
    "/patients/{code}/labs": ("taken_on",),
    "/patients/{code}/prescribe/preview": ("start",),
    "/patients/{code}/prescribe": ("start",),
    "/patients/{code}/supply/dispense": ("expiry",),
    "/patients/{code}/records/{record_id}/correct": ("expiry", "taken_on", "given_at"),
}
DATE_NAMES = {f for _, f in DATE_FIELDS} | {"given_at"}


def test_every_form_field_named_as_a_date_is_tried() -> None:
    found = {
        (path, name)
        for path, route in ROUTES
        if "POST" in route.methods and not path.startswith(("/api", "/fhir", "/cds"))
        for name in form_fields(route.dependant)
        if name in DATE_NAMES
    }
    assert found == {(p, f) for p, fields in FORM_DATES.items() for f in fields}


def _record_id(web: Web, field: str) -> str:
    """A result's id to correct its day, an administration's for its time or expiry."""
    from b12.domain.records import current
    from b12.services.record import find_patient

    with web.app.unit_of_work() as uow:
        patient = find_patient(uow, "P-0001").id
        kept = uow.labs if field == "taken_on" else uow.administrations
        return str(current(kept.for_patient(patient))[-1].id)


@pytest.mark.parametrize("text", ["1800-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("path", "field"), [(p, f) for p, fields in FORM_DATES.items() for f in fields]
)
def test_an_out_of_range_date_is_refused_by_every_form(
    web: Web, path: str, field: str, text: str
) -> None:
    client, csrf = web.as_role("nurse" if "supply" in path else "prescriber")
    code = "P-0004" if "supply" in path or "give" in path else "P-0001"
    url = path.replace("{code}", code).replace("{record_id}", _record_id(web, field))
    data = {"csrf": csrf, field: text + ("T09:00" if field == "given_at" else "")}
    data |= {"readings": "hb=12g/dL"} if path.endswith("/labs") else {}
    data |= {"count": "1", "lot": "L1"} if path.endswith("/dispense") else {}
    data |= {"reason": "typed wrong"} if path.endswith("/correct") else {}
    before = _audit(web)
    r = client.post(url, data=data)
    assert r.status_code == 422, r.text[-400:]
    assert f"the year {text[:4].lstrip('0')} is out of range" in r.text
    after = [a for a in _audit(web)[len(before) :] if not a.startswith(("read", "open"))]
    assert after == []
