"""FHIR R4 REST under /fhir/r4: the same accounts, roles, BOLA rules and audit as /api/v1.

    GET  /metadata                               the CapabilityStatement
    GET  /Patient/{code}, /Patient               read; search (_count, _offset)
    GET  /MedicationRequest/{id}, ?patient=      read; search (patient, _count, _offset)
    GET  /MedicationAdministration/{id}, ?patient=
    GET  /Observation/{id}, ?patient=
    POST /Observation                            a result, through the labs use case
    POST /MedicationAdministration               a dose given, through the five rights

Who acts is the session's account (the cookie of POST /api/v1/session; a POST carries the
X-CSRF-Token header). A resource of a patient the account may not see is answered exactly as
one that does not exist (404). Every read leaves an audit entry naming the patient, in the
transaction of the read. Every error is an OperationOutcome (app.py). Bearer tokens (SMART on
FHIR) are not read: docs/fhir.md says what that leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from b12.adapters.fhir import jsonio
from b12.adapters.fhir.bundle import (
    PatientResources,
    as_sent,
    bundle,
    named_prescription,
    patient_resources,
)
from b12.adapters.fhir.reading import FhirReadError
from b12.adapters.fhir.resources import (
    AdministrationRead,
    medication_administration,
    observation,
    patient,
    read_administration,
    read_observation,
)
from b12.adapters.web.app import B12, NotFoundError, Reader, Writer
from b12.bootstrap import App
from b12.domain.findings import Finding, Level
from b12.errors import InputError
from b12.services import accounts as acc
from b12.services.accounts import Actor
from b12.services.exchange import RecordKind, owner_of, records_of, substance_of
from b12.services.record import find_patient

FHIR = "/fhir/r4"
MEDIA = "application/fhir+json"
router = APIRouter()

COUNT_DEFAULT, COUNT_MAX = 20, 100
#: The search parameters of each type (anything else is refused, never ignored).
SEARCH = {
    "Patient": ("_count", "_offset"),
    "MedicationRequest": ("patient", "_count", "_offset"),
    "MedicationAdministration": ("patient", "_count", "_offset"),
    "Observation": ("patient", "_count", "_offset"),
}


class FhirResponse(Response):
    media_type = MEDIA

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content).encode("utf-8")


class ResourceNotFoundError(NotFoundError):
    """No resource of this id that the account may see (absent and foreign alike)."""

    def __init__(self, kind: str, rid: str) -> None:
        InputError.__init__(self, f"no {kind} {rid!r} that this account can open", field="id")


class SearchError(FhirReadError):
    """A search parameter b12 does not read, or a value it cannot (400, as FHIR answers it)."""

    http_status = 400


class UnsupportedMediaError(InputError):
    http_status = 415

    def __init__(self, sent: str) -> None:
        super().__init__(
            f"content type {sent!r}: send the resource as {MEDIA} (or application/json)",
            field="content-type",
        )


# --- the CapabilityStatement ----------------------------------------------------------------------


@router.get("/metadata", response_class=FhirResponse)
def metadata(request: Request, app: B12) -> FhirResponse:
    """What this server does: read and search four types, create two; JSON only."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("b12")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        release = "0"

    def resource(kind: str, create: bool) -> dict[str, Any]:
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if create:
            interactions.append({"code": "create"})
        params = [
            {"name": "patient", "type": "reference", "documentation": "Patient/CODE or CODE"},
            {
                "name": "_count",
                "type": "number",
                "documentation": f"1-{COUNT_MAX}, default {COUNT_DEFAULT}",
            },
            {"name": "_offset", "type": "number", "documentation": "entries to skip (paging)"},
        ]
        return {
            "type": kind,
            "interaction": interactions,
            "searchParam": [p for p in params if p["name"] in SEARCH[kind]],
        }

    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": app.clock.now().date().isoformat(),
        "publisher": "b12",
        "kind": "instance",
        "software": {"name": "b12", "version": release},
        "implementation": {
            "description": "b12: vitamin B12 injection therapy, its record as FHIR R4",
            "url": str(request.base_url).rstrip("/") + FHIR,
        },
        "fhirVersion": "4.0.1",
        "format": [MEDIA, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "A b12 session: POST /api/v1/session sets the cookie; every "
                    "POST carries the session's X-CSRF-Token. Bearer (SMART) tokens are not read."
                },
                "resource": [
                    resource("Patient", False),
                    resource("MedicationRequest", False),
                    resource("MedicationAdministration", True),
                    resource("Observation", True),
                ],
            }
        ],
    }
    return FhirResponse(body)


# --- reads ----------------------------------------------------------------------------------------


#: The kind of b12 record each FHIR resource type is.
KINDS: dict[str, RecordKind] = {
    "MedicationRequest": "prescription",
    "MedicationAdministration": "administration",
    "Observation": "lab",
}


def _resources(app: App, actor: Actor, code: str, action: str) -> PatientResources:
    """The resources of a patient the actor may read, the read audited as ``action`` in its own
    transaction (the records use case's)."""
    found = acc.audited_read(
        app.unit_of_work, actor, code, action, lambda uow: records_of(uow, code)
    )
    return patient_resources(app.knowledge, found)


def _of_kind(found: PatientResources, kind: str) -> list[dict[str, Any]]:
    return {
        "MedicationRequest": found.medication_requests,
        "MedicationAdministration": found.administrations,
        "Observation": found.observations,
    }[kind]


def _owner(app: App, actor: Actor, kind: str, rid: str) -> str:
    """The code of the patient whose resource ``rid`` is, when the actor may read it; else the
    same 404 as for an id that does not exist."""
    owner = owner_of(app.unit_of_work, KINDS[kind], rid)
    if owner is None or not actor.can_see(owner):
        raise ResourceNotFoundError(kind, rid)
    return owner


def _read_one(app: App, actor: Actor, kind: str, rid: str) -> FhirResponse:
    code = _owner(app, actor, kind, rid)
    listed = _of_kind(_resources(app, actor, code, f"fhir-read-{kind}"), kind)
    resource = next((r for r in listed if r["id"] == rid), None)
    if resource is None:
        raise ResourceNotFoundError(kind, rid)
    return FhirResponse(resource)


@router.get("/Patient/{code}", response_class=FhirResponse)
def read_patient(code: str, actor: Reader, app: B12) -> FhirResponse:
    record = acc.audited_read(
        app.unit_of_work, actor, code, "fhir-read-Patient", lambda uow: find_patient(uow, code)
    )
    return FhirResponse(patient(record))


@router.get("/MedicationRequest/{id}", response_class=FhirResponse)
def read_medication_request(id: str, actor: Reader, app: B12) -> FhirResponse:
    return _read_one(app, actor, "MedicationRequest", id)


@router.get("/MedicationAdministration/{id}", response_class=FhirResponse)
def read_medication_administration(id: str, actor: Reader, app: B12) -> FhirResponse:
    return _read_one(app, actor, "MedicationAdministration", id)


@router.get("/Observation/{id}", response_class=FhirResponse)
def read_observation_resource(id: str, actor: Reader, app: B12) -> FhirResponse:
    return _read_one(app, actor, "Observation", id)


# --- searches -------------------------------------------------------------------------------------


def _params(request: Request, kind: str) -> tuple[str | None, int, int]:
    allowed = SEARCH[kind]
    for name in request.query_params:
        if name not in allowed:
            raise SearchError(
                f"{kind}?{name}",
                f"unknown search parameter: b12 reads {', '.join(allowed)}",
                field=name,
            )
    for name in allowed:
        if len(request.query_params.getlist(name)) > 1:
            raise SearchError(f"{kind}?{name}", "given twice: give it once", field=name)
    count = _number(request, kind, "_count", COUNT_DEFAULT, 1, COUNT_MAX)
    offset = _number(request, kind, "_offset", 0, 0, 1_000_000)
    who = request.query_params.get("patient")
    if who is not None:
        who = who.removeprefix("Patient/").strip()
        if not who:
            raise SearchError(f"{kind}?patient", "empty: write the patient's code", field="patient")
    return who, count, offset


def _number(request: Request, kind: str, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise SearchError(
            f"{kind}?{name}", f"{raw!r}: write a whole number from {low} to {high}", field=name
        )
    return int(raw)


def _page(
    request: Request,
    kind: str,
    shown: Sequence[dict[str, Any]],
    total: int,
    count: int,
    offset: int,
) -> FhirResponse:
    base = str(request.base_url).rstrip("/") + FHIR
    here = {k: v for k, v in request.query_params.items() if k not in ("_count", "_offset")}

    def url(at: int) -> str:
        return f"{base}/{kind}?" + urlencode({**here, "_count": count, "_offset": at})

    links = [("self", url(offset))]
    if offset + count < total:
        links.append(("next", url(offset + count)))
    if offset > 0:
        links.append(("previous", url(max(offset - count, 0))))
    return FhirResponse(bundle(shown, "searchset", base=base, total=total, links=links))


def _search(request: Request, actor: Actor, app: App, kind: str) -> FhirResponse:
    code, count, offset = _params(request, kind)
    if code is None:
        raise SearchError(
            f"{kind}?patient",
            "missing: search one patient's resources (patient=CODE)",
            field="patient",
        )

    found = _of_kind(_resources(app, actor, code, f"fhir-search-{kind}"), kind)
    return _page(request, kind, found[offset : offset + count], len(found), count, offset)


@router.get("/Patient", response_class=FhirResponse)
def search_patients(request: Request, actor: Reader, app: B12) -> FhirResponse:
    """The patients this account may open, by code, a page at a time."""
    from b12.adapters.web.actions import visible_patients

    _, count, offset = _params(request, "Patient")
    codes = visible_patients(app, actor)
    shown = codes[offset : offset + count]
    records = acc.audited_list(
        app.unit_of_work, actor, "fhir-search-Patient",
        lambda uow: [find_patient(uow, c) for c in shown], lambda _: shown,
    )  # fmt: skip
    return _page(request, "Patient", [patient(r) for r in records], len(codes), count, offset)


@router.get("/MedicationRequest", response_class=FhirResponse)
def search_medication_requests(request: Request, actor: Reader, app: B12) -> FhirResponse:
    return _search(request, actor, app, "MedicationRequest")


@router.get("/MedicationAdministration", response_class=FhirResponse)
def search_medication_administrations(request: Request, actor: Reader, app: B12) -> FhirResponse:
    return _search(request, actor, app, "MedicationAdministration")


@router.get("/Observation", response_class=FhirResponse)
def search_observations(request: Request, actor: Reader, app: B12) -> FhirResponse:
    return _search(request, actor, app, "Observation")


# --- creates --------------------------------------------------------------------------------------


async def _body(request: Request) -> Any:
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent not in (MEDIA, "application/json"):
        raise UnsupportedMediaError(sent)
    return jsonio.loads(await request.body())


def outcome(findings: Sequence[Finding], *, stopped: bool) -> dict[str, Any]:
    """Findings as an OperationOutcome: a stop an error when it kept the record from being made."""
    severity = {
        Level.STOP: "error" if stopped else "warning",
        Level.WARNING: "warning",
        Level.INFO: "information",
    }
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity[f.level],
                "code": "business-rule" if f.level is Level.STOP else "informational",
                "details": {
                    "coding": [
                        {"system": "https://b12.invalid/fhir/CodeSystem/finding", "code": f.code}
                    ],
                    "text": f.code,
                },
                "diagnostics": f.message,
            }
            for f in findings
        ]
        or [{"severity": "information", "code": "informational", "diagnostics": "no findings"}],
    }


def _created(
    request: Request, kind: str, resource: dict[str, Any], findings: Sequence[Finding]
) -> FhirResponse:
    prefer = request.headers.get("prefer", "")
    body = outcome(findings, stopped=False) if "return=OperationOutcome" in prefer else resource
    return FhirResponse(
        body, status_code=201, headers={"Location": f"{FHIR}/{kind}/{resource['id']}"}
    )


@router.post("/Observation", response_class=FhirResponse, status_code=201)
async def create_observation(request: Request, actor: Writer, app: B12) -> FhirResponse:
    """A result: read, judged and kept by the labs use case (the nurse's permission)."""
    from starlette.concurrency import run_in_threadpool

    data = await _body(request)
    return await run_in_threadpool(_create_observation, request, actor, app, data)


def _create_observation(request: Request, actor: Actor, app: App, data: Any) -> FhirResponse:
    from b12.adapters.web.actions import today
    from b12.services.record import add_labs

    read = read_observation(data, app.knowledge)
    acc.require(actor, read.patient, "labs")
    if read.taken_on > today(app):
        raise FhirReadError(
            "Observation.effectiveDateTime",
            f"{read.taken_on.isoformat()} is in the future: write the day the sample was taken",
            field="taken_on",
        )
    now = app.clock.now().replace(microsecond=0)
    added = add_labs(
        app.unit_of_work,
        app.knowledge,
        read.patient,
        [read.measurement],
        read.taken_on,
        actor.username,
        now,
    )
    return _created(
        request,
        "Observation",
        observation(added.results[0], read.patient, app.knowledge),
        added.findings,
    )


@router.post("/MedicationAdministration", response_class=FhirResponse, status_code=201)
async def create_medication_administration(
    request: Request, actor: Writer, app: B12
) -> FhirResponse:
    """A dose given: the five rights of the give use case; a stop records nothing (422, with
    the findings), and only a role that may bypass lifts one with a reason."""
    from starlette.concurrency import run_in_threadpool

    data = await _body(request)
    return await run_in_threadpool(_create_administration, request, actor, app, data)


def _create_administration(request: Request, actor: Actor, app: App, data: Any) -> FhirResponse:
    from dataclasses import replace

    from b12.services.administering import NotLiftedError, give

    read: AdministrationRead = read_administration(data, app.knowledge)
    code = read.request.patient
    # the same staff-only rules as the web's give: an override reason, a time long before now
    acc.require_may_give(
        actor, code, override=read.request.override is not None, at=read.request.at,
        now=app.clock.now(),
    )  # fmt: skip
    if read.performer not in (None, actor.username):
        raise FhirReadError(
            "MedicationAdministration.performer",
            f"{read.performer!r}: the dose is recorded as given by the account that sends it ({actor.username}); leave the performer out or name that account",
            field="who",
        )
    kb, who, path = app.knowledge, actor.username, "MedicationAdministration"
    # a patient or carer records a dose given at home: only under a self-injection prescription
    sent = replace(read.request, at_home=not actor.staff)
    try:
        with as_sent(read, path):
            given = give(
                app.unit_of_work, kb, sent, who, app.clock,
                may_lift_stop=actor.may("bypass"), role=actor.role,
                prescription=named_prescription(read), planned_number=read.planned_number,
            )  # fmt: skip
    except NotLiftedError:
        raise acc.ForbiddenError(actor.role, "bypass a stop; a prescriber must") from None
    if given.recorded is None:
        return FhirResponse(outcome(given.findings, stopped=True), status_code=422)
    substance = substance_of(app.unit_of_work, given.recorded.prescription_id)
    resource = medication_administration(given.recorded, code, kb, substance)
    return _created(request, "MedicationAdministration", resource, given.findings)
