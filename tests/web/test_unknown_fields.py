"""A field a request does not take is refused, never ignored: every request model of the JSON
API (found from the app's routes, not listed here) and every page form."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from b12.adapters.web.app import API, create_app, form_fields, route_table
from tests.web.conftest import Web, make_app

EXTRA = "dose_mcg_extra"


def _app() -> Any:
    return create_app(make_app(":memory:"))  # no record is opened to list the routes


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(full path, route) of every route, routers' prefixes included (as route_table walks)."""
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += _routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            out.append((prefix + route.path_format, route))
    return out


ROUTES = _routes(list(_app().routes))


def _api_bodies() -> list[tuple[str, str, type[BaseModel]]]:
    """(method, path, body model) of every API route that reads a body."""
    out: list[tuple[str, str, type[BaseModel]]] = []
    for path, route in ROUTES:
        if not path.startswith(API):
            continue
        field = route.body_field
        if field is None:
            continue
        model = field.field_info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel), route.path
        out += [(m, path, model) for m in sorted(route.methods)]
    return out


API_BODIES = _api_bodies()


def test_the_api_has_request_models() -> None:
    assert {m.__name__ for _, _, m in API_BODIES} >= {"Login", "GiveIn", "LabsIn", "EventIn"}


def test_every_request_body_of_the_openapi_document_refuses_other_fields(web: Web) -> None:
    doc = web.client().get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    bodies = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "requestBody" not in op:
                continue
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[1]]
            assert schema.get("additionalProperties") is False, (method, path)
            bodies += 1
    assert bodies == len(API_BODIES)


@pytest.mark.parametrize(("method", "path", "model"), API_BODIES, ids=lambda x: str(x))
def test_every_request_model_refuses_a_field_it_does_not_take(
    web: Web, method: str, path: str, model: type[BaseModel]
) -> None:
    client, csrf = web.as_role("prescriber")
    url = path.replace("{code}", "P-0001").replace("{record_id}", "0" * 36)
    r = client.request(method, url, json={EXTRA: "50"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == EXTRA and EXTRA in error["message"]
    assert "leave it out" in error["message"]


def test_a_dose_sent_to_the_give_preview_under_another_name_is_refused(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    h = {"X-CSRF-Token": csrf}
    r = client.post("/api/v1/patients/P-0004/give/preview", json={"dose_mcg": "50"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "dose_mcg"
    body = {"on": "2027-03-09", "description": "tingling", "severity": "mild", "neuro": True}
    r = client.post("/api/v1/patients/P-0001/events", json=body, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "neuro"


# --- page forms -----------------------------------------------------------------------------------


def _form_routes() -> list[str]:
    skip = (API, "/fhir", "/cds-services")
    return [p for m, p in route_table(_app()) if m == "POST" and not p.startswith(skip)]


FORM_ROUTES = _form_routes()


def _audit(web: Web) -> list[str]:
    with web.app.unit_of_work() as uow:
        return [e.action for e in uow.audit.entries()]


def test_the_pages_have_form_routes() -> None:
    assert {"/login", "/patients/{code}/give", "/patients/{code}/labs"} <= set(FORM_ROUTES)


@pytest.mark.parametrize("path", FORM_ROUTES)
def test_every_page_form_refuses_a_field_it_does_not_have(web: Web, path: str) -> None:
    client, csrf = web.as_role("prescriber")
    url = path.replace("{code}", "P-0001").replace("{record_id}", "0" * 36)
    before = _audit(web)
    r = client.post(url, data={"csrf": csrf, EXTRA: "50"})
    assert r.status_code == 422, r.text[-400:]
    assert f"this form has no field {EXTRA}" in r.text and "Traceback" not in r.text
    assert _audit(web) == before  # nothing read or written


@pytest.mark.parametrize("path", FORM_ROUTES)
def test_every_page_form_refuses_a_body_that_is_not_a_form(web: Web, path: str) -> None:
    client, csrf = web.as_role("prescriber")
    url = path.replace("{code}", "P-0001").replace("{record_id}", "0" * 36)
    before = _audit(web)
    r = client.post(url, json={"dose": "50 mcg"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422, r.text[-400:]
    assert "this page takes a form" in r.text
    assert _audit(web) == before


def test_the_give_form_with_a_dose_in_mcg_is_refused_and_nothing_is_given(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    r = client.post("/patients/P-0001/give", data={"csrf": csrf, "dose_mcg": "50"})
    assert r.status_code == 422 and "dose_mcg" in r.text
    r = client.post("/patients/P-0001/give", data={"csrf": csrf, "dose": "", "site": ""})
    assert r.status_code != 422  # the form's own fields, even empty, are read


def test_the_fields_a_page_reads_include_its_dependencies() -> None:
    give = next(r for p, r in ROUTES if p == "/patients/{code}/give" and "POST" in r.methods)
    fields = form_fields(give.dependant)
    assert {"dose", "site", "lot", "expiry", "scan", "override_code", "override_text"} <= fields
