"""The web door: a FastAPI application over an App (pages under /, the JSON API under /api/v1).

    create_app(app) -> FastAPI      built once at start; every request uses the one App

Sessions are server-side (services.accounts): the cookie holds a random token, HttpOnly and
SameSite=Strict; the session's CSRF token must come back with every state-changing request (a
form's hidden ``csrf`` field, or the ``X-CSRF-Token`` header of an API call or an htmx request).
Every error is answered in one shape: ``{"error": {"code", "message", "field"}}`` for the API, one
error page for a page; the status is ``b12.errors.ERROR_STATUS``'s, and no stack trace ever
reaches a client (an unexpected error is logged here and answered with a bare 500).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException

from b12.adapters.cds.orders import PrefetchMissingError
from b12.adapters.cds.security import CdsAuthError
from b12.bootstrap import App
from b12.domain.display import format_instant
from b12.domain.findings import Finding
from b12.errors import B12Error, InputError, status_of
from b12.services import accounts as acc
from b12.services.accounts import Actor
from b12.services.administering import NotAtHomeError
from b12.services.decision_support import ReplayedTokenError
from b12.services.record import UnknownPatientError

HERE = Path(__file__).parent
COOKIE = "b12_session"
CSRF_HEADER = "X-CSRF-Token"
API = "/api/v1"
CDS = "/cds-services"
FHIR = "/fhir/r4"
log = logging.getLogger("b12.web")

#: Errors of the services beyond b12.errors' table, and the status the web gives them.
SERVICE_STATUS: dict[type[B12Error], int] = {
    UnknownPatientError: 404,
    acc.LoginError: 401,
    acc.SessionExpiredError: 401,
    acc.ForbiddenError: 403,
    NotAtHomeError: 403,
    CdsAuthError: 401,
    ReplayedTokenError: 401,
    PrefetchMissingError: 412,
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error the API answers, whatever its status."""

    error: ErrorDetail


#: The error statuses every API route documents (for the OpenAPI document and schemathesis).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": why}
    for status, why in (
        (401, "no session, or it ended: log in"),
        (403, "the role may not do this, or the CSRF token is missing"),
        (404, "no such patient, or one this account may not see (the same answer)"),
        (409, "recorded already by someone else"),
        (422, "the input could not be understood: the message says what to write instead"),
        (503, "the record cannot be used now"),
    )
}


class CsrfError(InputError):
    def __init__(self) -> None:
        super().__init__(
            "the form or request is missing its CSRF token, or it is not this session's: reload "
            "the page and try again",
            field="csrf",
        )


class NotFoundError(InputError):
    def __init__(self, what: str = "page") -> None:
        super().__init__(f"no such {what}", field=None)


def _code(error: BaseException) -> str:
    """UnknownPatientError -> unknown_patient."""
    name = type(error).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def status_for(error: B12Error) -> int:
    for kind in type(error).__mro__:
        if kind in SERVICE_STATUS:
            return SERVICE_STATUS[kind]
    if isinstance(error, CsrfError):
        return 403
    if isinstance(error, NotFoundError):
        return 404
    own = getattr(error, "http_status", None)
    if isinstance(own, int):
        return own
    return status_of(error).http_status


def message_of(error: B12Error) -> str:
    if isinstance(error, UnknownPatientError):
        # the command line's advice (`b12 patient add`) is not the web's, and the words must not
        # tell a foreign patient from an absent one
        return f"no patient {error.code!r} that this account can open"
    return str(error)


def wants_fhir(request: Request) -> bool:
    return request.url.path == FHIR or request.url.path.startswith(FHIR + "/")


#: OperationOutcome.issue.code for each HTTP status (FHIR's issue-type value set).
ISSUE_TYPE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
              409: "conflict", 415: "not-supported", 422: "invalid", 503: "transient"}  # fmt: skip


def operation_outcome(status: int, code: str, message: str, where: str | None) -> dict[str, Any]:
    """An error as FHIR says it: one issue, its type from the status, the element when known."""
    issue: dict[str, Any] = {
        "severity": "fatal" if status >= 500 else "error",
        "code": ISSUE_TYPE.get(status, "exception" if status >= 500 else "processing"),
        "details": {"text": code},
        "diagnostics": message,
    }
    if where:
        issue["expression"] = [where]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


@dataclass(frozen=True)
class FindingShown:
    """A finding as a page prints it: plain text only, so no template reads a Finding's fields
    (or a dict's methods) its own way."""

    level: str
    code: str
    message: str
    sources: tuple[str, ...]
    values: tuple[tuple[str, str], ...]
    suggestion: str | None


def findings_shown(findings: Iterable[Finding]) -> list[FindingShown]:
    """The findings of a use case's answer, for ``_findings.html``; anything but a Finding (its
    ``to_dict()``, say) is refused, so a page given the wrong shape fails in every test that
    renders it rather than with some findings only."""
    shown: list[FindingShown] = []
    for f in findings:
        if not isinstance(f, Finding):
            raise TypeError(f"a page shows Finding objects, not {type(f).__name__}")
        says = None if f.suggestion is None else f.suggestion.says
        values = tuple((k, str(v)) for k, v in f.basis.values.items())
        shown.append(FindingShown(f.level.value, f.code, f.message, f.basis.sources, values, says))
    return shown


def wants_html(request: Request) -> bool:
    if wants_fhir(request) or request.url.path.startswith(CDS):
        return False
    return not request.url.path.startswith(API) and request.url.path not in (
        "/openapi.json",
        "/docs",
    )


#: Where a patient's code in a path had an encoded slash (%2F): a character no code is written
#: with, that keeps the slash from being read as the path's own until the route is found.
SLASH = "\uffff"


class CodeConvertor(Convertor[str]):
    """A patient's code as one path segment (``{code:code}``): a code the record kept with a "/"
    (older codes could) reaches its routes written with %2F, as every link writes it."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value.replace(SLASH, "/")

    def to_string(self, value: str) -> str:
        return quote(value, safe="")


register_url_convertor("code", CodeConvertor())


def segment(value: object) -> str:
    """A value as one segment of a path: "/" and every reserved character percent-encoded."""
    return quote(str(value), safe="")


class EncodedSlashes:
    """Reads a path's encoded slashes as part of its segment (ASGI decodes %2F to "/" before the
    routes are matched, which would split a code into two segments)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = scope.get("raw_path") if scope["type"] in ("http", "websocket") else None
        if raw and b"%2f" in raw.lower():
            parts = re.split("%2[fF]", raw.decode("latin-1"))
            path = SLASH.join(unquote(p) for p in parts)
            scope = {**scope, "path": path}
        await self.inner(scope, receive, send)


def create_app(app: App, *, templates_dir: Path | None = None) -> FastAPI:
    """The web application of ``app`` (its knowledge, record and clock)."""
    web = FastAPI(
        title="b12",
        version="1",
        summary="Plan, check and record vitamin B12 injection therapy: the staff's JSON API.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    web.state.b12 = app
    templates = Jinja2Templates(directory=str(templates_dir or HERE / "templates"))
    web.state.templates = templates
    # one way to print a time of the record, on the clinic's clock, shared with the command line
    templates.env.globals["when"] = partial(format_instant, zone=app.settings.zone)
    templates.env.globals["findings_shown"] = findings_shown
    templates.env.filters["segment"] = segment
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def render_error(
        request: Request, status: int, code: str, message: str, field: str | None
    ) -> Response:
        if wants_html(request):
            return templates.TemplateResponse(
                request, "error.html",
                {"status": status, "code": code, "message": message, "field": field,
                 "actor": getattr(request.state, "actor", None)},
                status_code=status,
            )  # fmt: skip
        if wants_fhir(request):
            return JSONResponse(
                operation_outcome(status, code, message, field),
                status_code=status,
                media_type="application/fhir+json",
            )
        return JSONResponse(error_body(code, message, field), status_code=status)

    @web.exception_handler(B12Error)
    async def b12_error(request: Request, error: B12Error) -> Response:
        status = status_for(error)
        if status >= 500:
            log.error("b12 error on %s: %s", request.url.path, error)
        field = getattr(error, "field", None)
        if wants_fhir(request):
            field = getattr(error, "path", None) or field  # a FHIR element where one is known
        return render_error(request, status, _code(error), message_of(error), field)

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        errors = list(error.errors())
        # a field the request does not take is said first: it is what was meant to be sent
        unknown = [e for e in errors if e.get("type") == "extra_forbidden"]
        first = (unknown or errors or [{}])[0]
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = ".".join(where) or None
        message = str(first.get("msg", "not understood"))
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, InputError):  # a rule of b12's (a date's range): its own words
            message = str(cause)
        elif unknown:
            message = (
                "no such field in this request; leave it out (the OpenAPI document, "
                "/openapi.json, lists the fields each request takes)"
            )
        said = message if isinstance(cause, InputError) else f"{field or 'the request'}: {message}"
        return render_error(request, 422, "invalid_input", said, field)

    @web.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "session_expired"}
        code = codes.get(error.status_code, "http_error")
        message = {404: "no such page", 405: "this address does not take that method"}.get(
            error.status_code, str(error.detail)
        )
        return render_error(request, error.status_code, code, message, None)

    @web.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return render_error(
            request, 500, "internal", "something went wrong on the server; nothing was recorded "
            "by this request unless the page says so. Try again or tell the administrator.", None,
        )  # fmt: skip

    @web.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    from b12.adapters.web import api, fhir_api, pages, summary_pages, supply_pages

    web.include_router(api.router, prefix=API)
    web.include_router(fhir_api.router, prefix=FHIR, include_in_schema=False)
    web.include_router(pages.router)
    web.include_router(summary_pages.router)
    web.include_router(supply_pages.router)
    from b12.adapters.cds import mount

    mount(web)
    web.add_middleware(EncodedSlashes)
    return web


# --- dependencies -------------------------------------------------------------------------------


def the_app(request: Request) -> App:
    b12: App = request.app.state.b12
    return b12


def current_actor(request: Request) -> Actor:
    """The session's actor (401 without a live session)."""
    app = the_app(request)
    token = request.cookies.get(COOKIE, "")
    actor = acc.session_actor(app.accounts, token, app.clock)
    request.state.actor = actor
    return actor


async def checked_actor(request: Request) -> Actor:
    """The session's actor, for a request that changes something: its CSRF token must match."""
    from starlette.concurrency import run_in_threadpool

    actor = await run_in_threadpool(current_actor, request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    import hmac

    if not sent or not hmac.compare_digest(sent.encode(), actor.csrf.encode()):
        raise CsrfError()
    return actor


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnknownFormFieldError(InputError):
    """A page's form posted with a field its handler does not read (or a body that is no form)."""


def form_fields(dependant: Dependant) -> set[str]:
    """The form fields a route reads: its own and those of every dependency it uses."""
    names = {f.alias for f in dependant.body_params}
    for sub in dependant.dependencies:
        names |= form_fields(sub)
    return names


async def known_form_fields(request: Request) -> None:
    """A page's POST carries only the fields its handler reads, and the CSRF token: a field the
    form has not (``dose_mcg`` sent to the give) is refused, not ignored; so is a body that is not
    a form (its fields would be ignored too). The dependency of every page router."""
    if request.method != "POST":
        return
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        if await request.body():
            raise UnknownFormFieldError(
                "this page takes a form (application/x-www-form-urlencoded); the JSON API is "
                f"under {API}",
                field=None,
            )
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    declared = (form_fields(dependant) if dependant is not None else set()) | {"csrf"}
    unknown = sorted(set((await request.form()).keys()) - declared)
    if unknown:
        takes = ", ".join(sorted(declared - {"csrf"})) or "no field"
        raise UnknownFormFieldError(
            f"this form has no field {', '.join(unknown)[:200]}; leave it out (it takes {takes})",
            field=unknown[0][:64],
        )


Reader = Annotated[Actor, Depends(current_actor)]
Writer = Annotated[Actor, Depends(checked_actor)]
B12 = Annotated[App, Depends(the_app)]


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
        path="/",
    )  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    actor = getattr(request.state, "actor", None)
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {"actor": actor, **context}, status_code=status
    )
    return response


def route_table(web: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, routers' prefixes included (HEAD and static left out);
    the tests generate their matrices from it."""
    out: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI keeps an included router whole, with its prefix
                walk(included.routes, prefix + route.include_context.prefix)
                continue
            path = getattr(route, "path_format", None) or getattr(route, "path", None)
            methods = getattr(route, "methods", None)
            if path is not None and methods:
                out.update((m, prefix + path) for m in methods if m != "HEAD")

    walk(list(web.routes), "")
    return sorted(out)
