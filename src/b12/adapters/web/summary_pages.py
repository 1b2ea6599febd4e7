"""The course on one page (its HTML, with a print stylesheet, and the same document as PDF) and
the body-store estimate's chart, for every account that may read the patient."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from b12.adapters.web import actions
from b12.adapters.web.app import B12, Reader

router = APIRouter(include_in_schema=False)
STYLESHEET = "/summary.css"


@router.get("/summary.css")
def summary_stylesheet() -> Response:
    """The summary's one stylesheet (screen and print), as the PDF uses it."""
    from b12.adapters.summary import stylesheet

    return Response(stylesheet(), media_type="text/css")


@router.get("/patients/{code:code}/summary", response_class=HTMLResponse)
def summary_page(code: str, actor: Reader, app: B12) -> HTMLResponse:
    from urllib.parse import quote

    from b12.adapters.summary import render_html

    found = actions.course_summary(app, actor, code)
    here = f"/patients/{quote(code, safe='')}"
    html = render_html(
        found,
        stylesheet_href=STYLESHEET,
        back_href=here,
        pdf_href=f"{here}/summary.pdf",
        lay=not actor.staff,
    )
    return HTMLResponse(html)


@router.get("/patients/{code:code}/summary.pdf")
def summary_pdf(code: str, actor: Reader, app: B12) -> Response:
    from b12.adapters.summary import render_pdf

    found = actions.course_summary(app, actor, code)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in code)[:64]
    return Response(
        render_pdf(found, lay=not actor.staff),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="b12-summary-{name}.pdf"'},
    )


@router.get("/patients/{code:code}/store.svg")
def store_chart(code: str, actor: Reader, app: B12) -> Response:
    """The body-store estimate over time (an image the staff's patient page shows)."""
    return Response(actions.store_chart(app, actor, code), media_type="image/svg+xml")
