"""The CDS Hooks service under /cds-services: discovery, order-select, order-sign, feedback.

Every call carries a Bearer JWT (security.verify); its jti is claimed, the cards issued kept and
the call audited (who: the issuer and the EHR's user) in one transaction at the end of the call.
A call refused after its token verified (412 without prefetch, 422 for an order b12 cannot read)
is audited too. Bodies are read as exact JSON (every decimal a Decimal) and answered the same way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response

from b12.adapters.cds import cards as c
from b12.adapters.cds.orders import PREFETCH, PrefetchMissingError, missing_prefetch, read_chart
from b12.adapters.cds.security import Trust, bearer, verify
from b12.bootstrap import App
from b12.domain.findings import Finding
from b12.errors import B12Error, InputError
from b12.services import decision_support as ds

log = logging.getLogger("b12.cds")
router = APIRouter(prefix="/cds-services", include_in_schema=False)

SERVICES: dict[str, dict[str, Any]] = {
    "order-select": {
        "hook": "order-select",
        "id": "order-select",
        "title": "b12: vitamin B12 order check",
        "description": "Checks a vitamin B12 (cobalamin) injection order as it is selected: the "
        "dose and its unit, the route, the indication's regimens and the patient's screening, "
        "each card with its sources.",
        "prefetch": PREFETCH,
    },
    "order-sign": {
        "hook": "order-sign",
        "id": "order-sign",
        "title": "b12: vitamin B12 order check at signing",
        "description": "Checks vitamin B12 (cobalamin) injection orders before they are signed: "
        "the dose and its unit, the route, the indication's regimens and the patient's "
        "screening, each card with its sources.",
        "prefetch": PREFETCH,
    },
}


class UnknownServiceError(InputError):
    def __init__(self, service: str) -> None:
        super().__init__(
            f"no CDS service {service[:64]!r}: call one of {', '.join(SERVICES)}", field=None
        )


class HookRequestError(InputError):
    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}", field=where)


def _json(body: Any, status: int = 200) -> Response:
    from b12.adapters.fhir.jsonio import dumps

    return Response(dumps(body), status_code=status, media_type="application/json")


def _app(request: Request) -> App:
    app: App = request.app.state.b12
    return app


def _trust(request: Request) -> Trust:
    trust: Trust | None = getattr(request.app.state, "cds_trust", None)
    if trust is None:
        trust = Trust.read(_app(request).settings.cds_issuers)
        request.app.state.cds_trust = trust
    return trust


def _caller(request: Request, path: str) -> ds.Caller:
    trust = _trust(request)
    base = trust.audience or str(request.base_url).rstrip("/")
    token = bearer(request.headers.get("authorization"))
    return verify(token, base + path, trust, _app(request).clock.now())


def _now(app: App) -> datetime:
    return app.clock.now()


def _keep(request: Request, call: ds.Call) -> None:
    """Keep the call (its token claimed, its cards, its audit entry) with the others arriving now."""
    from b12.adapters.cds.writer import CallWriter

    writer: CallWriter | None = getattr(request.app.state, "cds_writer", None)
    if writer is None:
        writer = CallWriter(_app(request).unit_of_work)  # type: ignore[arg-type]
        request.app.state.cds_writer = writer
    writer.keep(call)


@router.get("")
def discovery(request: Request) -> Response:
    app = _app(request)
    caller = _caller(request, "/cds-services")
    _keep(request, ds.Call(caller, "cds-discovery", "-", _now(app)))
    return _json({"services": list(SERVICES.values())})


def _body(raw: bytes) -> dict[str, Any]:
    from b12.adapters.fhir.jsonio import loads

    body = loads(raw)
    if not isinstance(body, dict):
        raise HookRequestError("body", "send the hook request as one JSON object")
    return body


def _text(value: Any, where: str, limit: int = 255) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise HookRequestError(where, f"write a text of 1 to {limit} characters")
    return value


async def _threaded(
    handler: Callable[[str, Request, bytes], Response], service: str, request: Request
) -> Response:
    """``handler`` on the request's body, in a worker thread (it reads and writes the record)."""
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    return await run_in_threadpool(handler, service, request, raw)


def _served(request: Request, service: str, path: str) -> tuple[App, ds.Caller]:
    """The App and the verified caller of a call to ``service`` at ``path``: the token first, so
    that no unknown service is named to a caller who is not trusted."""
    app = _app(request)
    caller = _caller(request, path)
    if service not in SERVICES:
        raise UnknownServiceError(service)
    return app, caller


@router.post("/{service}")
async def call(service: str, request: Request) -> Response:
    return await _threaded(_call, service, request)


def _call(service: str, request: Request, raw: bytes) -> Response:
    app, caller = _served(request, service, f"/cds-services/{service}")
    try:
        body = _body(raw)
        hook = body.get("hook")
        if hook != SERVICES[service]["hook"]:
            raise HookRequestError("hook", f"this service answers {SERVICES[service]['hook']!r}")
        instance = _text(body.get("hookInstance"), "hookInstance", 64)
        context = body.get("context")
        if not isinstance(context, dict):
            raise HookRequestError("context", "send the hook's context (an object)")
        user = _text(context.get("userId"), "context.userId")
        patient = _text(context.get("patientId"), "context.patientId")
        caller = ds.Caller(caller.issuer, caller.jti, caller.expires_at, user)
        prefetch = body.get("prefetch")
        if prefetch is not None and not isinstance(prefetch, dict):
            raise HookRequestError("prefetch", "send the prefetch as an object of resources")
        missing = missing_prefetch(prefetch)
        if missing:
            raise PrefetchMissingError(missing, body.get("fhirServer") is not None)
        assert prefetch is not None
        drafts = _drafts(context, service == "order-select")
        found = _cards(app, drafts, prefetch)
    except B12Error as error:
        _keep(request, ds.Call(caller, "cds-refused", service, _now(app),
                               details=(("refused", type(error).__name__),)))  # fmt: skip
        raise
    now = _now(app)
    issued = [
        ds.IssuedCard(card["uuid"], service, instance, f.code, f.level.value, patient, user,
                      caller.issuer, app.knowledge.fingerprint[:64], now)
        for f, card in found
    ]  # fmt: skip
    details = (("patient", patient), ("hookInstance", instance))
    _keep(request, ds.Call(caller, "cds-call", service, now, tuple(issued), details))
    return _json({"cards": [card for _f, card in found]})


def _drafts(context: Mapping[str, Any], selected_only: bool) -> list[tuple[str, dict[str, Any]]]:
    """The draft MedicationRequests (each with its path) the hook asks about."""
    from b12.adapters.fhir.reading import items, mapping, optional_text

    where = "context.draftOrders"
    bundle = context.get("draftOrders")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise HookRequestError(where, "send the draft orders as a FHIR Bundle")
    orders = []
    for i, entry in enumerate(items(bundle.get("entry"), f"{where}.entry")):
        at = f"{where}.entry[{i}].resource"
        resource = mapping(mapping(entry, f"{where}.entry[{i}]").get("resource"), at)
        if optional_text(resource.get("resourceType"), f"{at}.resourceType") == "MedicationRequest":
            orders.append((at, dict(resource)))
    if not selected_only:
        return orders
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise HookRequestError(
            "context.selections", 'list the selected orders, e.g. "MedicationRequest/103"'
        )
    chosen = set(selections)
    return [(at, o) for at, o in orders if f"MedicationRequest/{o.get('id')}" in chosen]


def is_b12(resource: Mapping[str, Any], path: str = "MedicationRequest") -> bool:
    """Whether the order names a cobalamin (by b12's codes, a code b12 reads, or its words):
    other orders are not b12's to check."""
    from b12.adapters.cds.orders import concept_names
    from b12.adapters.fhir import codes
    from b12.adapters.fhir.reading import items, mapping

    concepts = [(resource.get("medicationCodeableConcept"), f"{path}.medicationCodeableConcept")]
    for i, m in enumerate(items(resource.get("contained"), f"{path}.contained")):
        m = mapping(m, f"{path}.contained[{i}]")
        if m.get("resourceType") == "Medication":
            concepts.append((m.get("code"), f"{path}.contained[{i}].code"))
    known = codes.systems(codes.MEDICATION_CODES) | {codes.B12_PRODUCT, codes.B12_SUBSTANCE}
    for concept, at in concepts:
        words = " ".join(concept_names(concept, at)).casefold()  # type-checks the concept
        if concept is None:
            continue
        for coding in concept.get("coding") or []:
            if coding.get("system") in known:
                if coding.get("system") not in (codes.NDC, codes.UNII):
                    return True
                if codes.by_system(
                    codes.MEDICATION_CODES, coding["system"], str(coding.get("code"))
                ):
                    return True
        if "cobalamin" in words or "b12" in words.replace(" ", "").replace("-", ""):
            return True
    return False


def _cards(
    app: App, drafts: list[tuple[str, dict[str, Any]]], prefetch: Mapping[str, Any]
) -> list[tuple[Finding, dict[str, Any]]]:
    """Cards for each B12 order: its findings for the patient (at each age a partial birth date
    allows: a finding at any is shown), and one for each thing in the prefetch not read."""
    from b12.adapters.fhir.medication_request import read_medication_request
    from b12.services.order_review import OrderToReview, review_order, volume_for
    from b12.services.overrides import OVERRIDE_CODES

    kb = app.knowledge
    orders = [d for at, d in drafts if is_b12(d, at)]
    if not orders:
        return []
    chart = read_chart(kb, prefetch, app.clock.now().date())
    out = [(f, c.card(kb, f, [], OVERRIDE_CODES)) for f in chart.unread]
    for draft in orders:
        order = read_medication_request(draft, kb)
        seen: set[tuple[str, str]] = set()
        for phase in order.phases:
            codes: set[str] = set()
            for patient in chart.patients:
                review = OrderToReview(
                    phase.dose, order.substance, order.product,
                    None if order.product else order.concentration, phase.route,
                    order.indication, patient, chart.b12,
                )  # fmt: skip
                fixes = [
                    c.dose_fix(draft, phase.dose.mass, partial(volume_for, kb, review)),
                    c.regimen_fix(kb, draft),
                ]
                found = review_order(kb, review).findings
                for f in found:
                    if f.level not in c.CARD_LEVELS or (f.code, f.message) in seen:
                        continue
                    if f.code in codes:  # said at the youngest age already
                        continue
                    seen.add((f.code, f.message))
                    out.append((f, c.card(kb, f, fixes, OVERRIDE_CODES)))
                codes |= {f.code for f in found}
    out.sort(key=lambda x: -x[0].level.rank)
    return out


@router.post("/{service}/feedback")
async def feedback(service: str, request: Request) -> Response:
    return await _threaded(_feedback, service, request)


def _feedback(service: str, request: Request, raw: bytes) -> Response:
    app, caller = _served(request, service, f"/cds-services/{service}/feedback")
    body = _body(raw)
    items = body.get("feedback")
    if not isinstance(items, list) or not items or len(items) > 100:
        raise HookRequestError("feedback", "send a list of 1 to 100 feedback items")
    now = app.clock.now()
    read = [_one_feedback(item, i, caller.issuer, now) for i, item in enumerate(items)]
    kept = ds.record_feedback(app.unit_of_work, caller, service, read, now)  # type: ignore[arg-type]
    return _json({"received": len(read), "kept": kept})


def _one_feedback(item: Any, i: int, issuer: str, now: datetime) -> ds.CardFeedback:
    where = f"feedback[{i}]"
    if not isinstance(item, dict):
        raise HookRequestError(where, "each feedback is an object")
    card = _text(item.get("card"), f"{where}.card", 36)
    try:
        uuid.UUID(card)
    except ValueError:
        raise HookRequestError(f"{where}.card", "the card's uuid, as the service gave it") from None
    outcome = item.get("outcome")
    if outcome not in ds.OUTCOMES:
        raise HookRequestError(f"{where}.outcome", "write accepted or overridden")
    accepted = item.get("acceptedSuggestions") or []
    if not isinstance(accepted, list) or not all(
        isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted
    ):
        raise HookRequestError(f"{where}.acceptedSuggestions", 'a list of {"id": uuid}')
    reason = item.get("overrideReason")
    system = code = display = comment = None
    if reason is not None:
        if outcome != "overridden" or not isinstance(reason, dict):
            raise HookRequestError(f"{where}.overrideReason", "only with outcome overridden")
        coding = reason.get("reason")
        if coding is not None:
            if not isinstance(coding, dict):
                raise HookRequestError(f"{where}.overrideReason.reason", "a Coding")
            system, code, display = (
                coding.get(k) if isinstance(coding.get(k), str) else None
                for k in ("system", "code", "display")
            )
            from b12.services.overrides import OVERRIDE_CODES

            if system == c.OVERRIDE_SYSTEM and code not in OVERRIDE_CODES:
                raise HookRequestError(
                    f"{where}.overrideReason.reason.code",
                    f"write one of {', '.join(OVERRIDE_CODES)}",
                )
            if system == c.OVERRIDE_SYSTEM and code is not None and display is None:
                display = OVERRIDE_CODES[code]
        text = reason.get("userComment")
        comment = text if isinstance(text, str) and text.strip() else None
    when = item.get("outcomeTimestamp")
    try:
        at = datetime.fromisoformat(str(when))
    except ValueError:
        raise HookRequestError(
            f"{where}.outcomeTimestamp", "an ISO 8601 instant with its offset"
        ) from None
    if at.tzinfo is None:
        raise HookRequestError(f"{where}.outcomeTimestamp", "an ISO 8601 instant with its offset")
    return ds.CardFeedback(
        card, outcome, tuple(a["id"] for a in accepted), system, code, display, comment, at, now,
        issuer,
    )  # fmt: skip
